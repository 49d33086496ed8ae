//! 100 fabrics on one dashboard against a real control plane (testenv: kube-apiserver + etcd
//! on 127.0.0.1), one namespace per fabric, 100 and then 1,000 objects in each (realistic
//! shapes: testenv::fixtures::generated_fabric). Prints one Markdown table.
//!
//! Each measurement runs in a child process of its own (this binary again), so its RSS is its
//! own: the engines as `hhdash` starts them (`engine::start_all`, the dashboard's channel
//! size), every event folded into the real `ui::App`, frames drawn into a TestBackend.
//! * cold: a new store. Time from engine start until every fabric's watch is Active (the
//!   fabric list shows it live); then, steady, the established TCP connections to the API
//!   server's port (/proc/self/net/tcp{,6}: one client per fabric means one each), VmRSS, and
//!   the frame time at 160x40 (200 frames, scrolling the table).
//! * warm: the same store again. Engine start → all 100 `Snapshot`s (each from the store,
//!   before any network I/O) folded → the first frame drawn; then until all are live again.
//!
//! Git is not configured (the URL is a directory that is no repository): the rows are the
//! live objects, whose verdict stays Unknown. Run: `cargo bench --bench fleet`.
//! Knobs: HHDASH_BENCH_FLEET_FABRICS (100), HHDASH_BENCH_FLEET_OBJECTS ("100,1000"),
//! HHDASH_BENCH_FLEET_RUNS (warm runs per size, 3). Numbers: docs/benchmarks.md.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hhdash::config::Config;
use hhdash::engine::{EngineContext, EngineEvent};
use hhdash::store::Store;
use hhdash::ui::model::Liveness;
use hhdash::ui::{Action, App, Options, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use testenv::{ControlPlane, Identity};

#[path = "shared/mod.rs"]
mod shared;

/// The dashboard's own channel size (`cli::dashboard`).
const ENGINE_CHANNEL: usize = 1024;
const NOW: i64 = 1_795_629_370;

use shared::{env_usize, ms};

fn main() {
    match std::env::var("HHDASH_FLEET_CHILD").ok().as_deref() {
        Some(mode) => child(mode),
        None => parent(),
    }
}

// ---------------------------------------------------------------------------------------------
// The parent: the plane, the objects, the config; children measure.

fn parent() {
    let fabrics = env_usize("HHDASH_BENCH_FLEET_FABRICS", 100);
    let runs = env_usize("HHDASH_BENCH_FLEET_RUNS", 3);
    let sizes: Vec<usize> = std::env::var("HHDASH_BENCH_FLEET_OBJECTS")
        .unwrap_or_else(|_| "100,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    // Clients spawn their buffer task on the runtime they are made in.
    let _inside = runtime.enter();
    let namespaces: Vec<String> = (1..=fabrics).map(|i| format!("fleet-{i:03}")).collect();
    let t = Instant::now();
    let plane = runtime.block_on(shared::start_plane(namespaces.clone()));
    println!(
        "Control plane {} up in {} with {fabrics} namespaces (Kubernetes {}, watch cache on, no webhooks).\n",
        plane.server_url(),
        ms(t.elapsed()),
        testenv::KUBERNETES_VERSION
    );
    let temp = tempfile::tempdir().expect("a temp dir");
    let config = write_config(&plane, &namespaces, temp.path());
    let mut table = Vec::new();
    for &size in &sizes {
        let admin = plane.client(Identity::Admin);
        let t = Instant::now();
        runtime.block_on(async {
            for ns in &namespaces {
                shared::create_all(&admin, ns, &testenv::fixtures::generated_objects(size, ns))
                    .await;
            }
        });
        println!(
            "{size} objects in each of {fabrics} namespaces created in {}",
            ms(t.elapsed())
        );
        let store = temp.path().join(format!("store-{size}.redb"));
        let cold = run_child("cold", &config, &store, plane.port());
        let mut warm = Vec::new();
        for _ in 0..runs {
            warm.push(run_child("warm", &config, &store, plane.port()));
        }
        table.push((size, cold, warm));
    }
    println!(
        "\n| fabrics × objects | cold: all live | TCP conns to API | RSS steady | frame p50 / p99 / max (160x40) | warm: 100 snapshots folded | warm: first frame | warm: all live |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (size, cold, warm) in &table {
        let spread = |key: &str| {
            let mut v: Vec<f64> = warm.iter().map(|w| w[key]).collect();
            v.sort_by(f64::total_cmp);
            format!(
                "{:.0}–{:.0} ms",
                v.first().unwrap_or(&0.0),
                v.last().unwrap_or(&0.0)
            )
        };
        println!(
            "| {fabrics} × {size} | {:.0} ms | {:.0} | {:.0} MiB | {:.2} / {:.2} / {:.2} ms | {} | {} | {} |",
            cold["live_ms"],
            cold["connections"],
            cold["rss_mib"],
            cold["frame_p50_ms"],
            cold["frame_p99_ms"],
            cold["frame_max_ms"],
            spread("snapshots_ms"),
            spread("first_frame_ms"),
            spread("live_ms"),
        );
    }
    drop(plane);
}

/// A config with one fabric per namespace, each with its own kubernetes client (the operator's
/// token) and a Git URL that is no repository.
fn write_config(plane: &ControlPlane, namespaces: &[String], dir: &Path) -> PathBuf {
    let no_repo = dir.join("no-repo");
    std::fs::create_dir_all(&no_repo).expect("a directory");
    let mut text = String::new();
    for ns in namespaces {
        text.push_str(&format!(
            "[[fabric]]\nname = {ns:?}\nnamespace = {ns:?}\n[fabric.kubernetes]\nserver = {:?}\ntoken_file = {:?}\nca_cert_file = {:?}\n[fabric.git]\nurl = {:?}\nbranch = \"main\"\n\n",
            plane.server_url(),
            plane.token_file(Identity::Operator).display().to_string(),
            plane.ca_file().display().to_string(),
            no_repo.display().to_string(),
        ));
    }
    let path = dir.join("fleet.toml");
    std::fs::write(&path, &text).expect("writing the config");
    Config::load(&path).unwrap_or_else(|e| panic!("the bench's config is invalid: {e}"));
    path
}

/// Runs this binary as a child measuring `mode`; its `RESULT key=value…` line.
fn run_child(mode: &str, config: &Path, store: &Path, port: u16) -> BTreeMap<String, f64> {
    let output = Process::new(std::env::current_exe().expect("the bench's own path"))
        .env("HHDASH_FLEET_CHILD", mode)
        .env("HHDASH_FLEET_CONFIG", config)
        .env("HHDASH_FLEET_STORE", store)
        .env("HHDASH_FLEET_PORT", port.to_string())
        .output()
        .expect("running the measuring child");
    shared::child_result(mode, &output)
}

// ---------------------------------------------------------------------------------------------
// The child: engines and the dashboard model, as `hhdash` runs them.

fn child(mode: &str) {
    let config_path = PathBuf::from(std::env::var("HHDASH_FLEET_CONFIG").expect("config"));
    let store_path = PathBuf::from(std::env::var("HHDASH_FLEET_STORE").expect("store"));
    let port: u16 = std::env::var("HHDASH_FLEET_PORT")
        .expect("port")
        .parse()
        .expect("a port");
    let config = Config::load(&config_path).expect("the config");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut result = BTreeMap::new();
    runtime.block_on(async {
        let store = Arc::new(Store::open(&store_path).expect("the store"));
        let dir = config_path.parent().expect("a directory");
        let ctx = EngineContext {
            store,
            key_file: dir.join("key"),
            git_cache_dir: dir.join("git-cache"),
        };
        let options = Options {
            theme: Theme { color: true },
            ..Options::default()
        }
        .with_namespaces_of(&config.fabrics);
        let mut app = App::new(config.fabrics.iter().map(|f| f.name.clone()), options, NOW);
        let mut terminal = Terminal::new(TestBackend::new(160, 40)).expect("a test terminal");
        let (tx, mut rx) = tokio::sync::mpsc::channel(ENGINE_CHANNEL);
        let started = Instant::now();
        let engines = hhdash::engine::start_all(&config.fabrics, ctx, tx);
        let total = engines.len();
        let mut snapshots = HashSet::new();
        let mut folding = Duration::ZERO;
        let deadline = started + Duration::from_secs(300);
        loop {
            let event = tokio::time::timeout_at(deadline.into(), rx.recv())
                .await
                .expect("not every fabric became live within 300 s")
                .expect("the engines stopped");
            if let EngineEvent::Snapshot { fabric, .. } = &event {
                snapshots.insert(fabric.clone());
            }
            let status = matches!(event, EngineEvent::Status { .. });
            let fold = Instant::now();
            app.fold(event);
            folding += fold.elapsed();
            if snapshots.len() == total && !result.contains_key("snapshots_ms") {
                result.insert("snapshots_ms", started.elapsed().as_secs_f64() * 1000.0);
                // Of that, the time the UI spent folding (the rest is the engines).
                result.insert("ui_fold_ms", folding.as_secs_f64() * 1000.0);
                terminal
                    .draw(|frame| hhdash::ui::draw(frame, &mut app))
                    .expect("a frame");
                result.insert("first_frame_ms", started.elapsed().as_secs_f64() * 1000.0);
            }
            if status && app.fabrics.iter().all(|f| f.liveness() == Liveness::Live) {
                result.insert("live_ms", started.elapsed().as_secs_f64() * 1000.0);
                break;
            }
        }
        if mode == "cold" {
            // Steady: let the watches settle, folding what arrives.
            let until = Instant::now() + Duration::from_secs(5);
            while let Ok(Some(event)) = tokio::time::timeout_at(until.into(), rx.recv()).await {
                app.fold(event);
            }
            result.insert(
                "connections",
                testenv::support::sockets::established_to(std::process::id(), port) as f64,
            );
            result.insert("rss_mib", shared::proc_status_kib("VmRSS:") as f64 / 1024.0);
            let mut frames = Vec::new();
            for i in 0..200 {
                let t = Instant::now();
                app.update(if i % 50 < 25 {
                    Action::Down
                } else {
                    Action::Up
                });
                terminal
                    .draw(|frame| hhdash::ui::draw(frame, &mut app))
                    .expect("a frame");
                frames.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            frames.sort_by(f64::total_cmp);
            result.insert("frame_p50_ms", frames[frames.len() / 2]);
            result.insert("frame_p99_ms", frames[frames.len() * 99 / 100]);
            result.insert("frame_max_ms", frames[frames.len() - 1]);
        }
        drop(engines);
    });
    let line: Vec<String> = result.iter().map(|(k, v)| format!("{k}={v:.2}")).collect();
    println!("RESULT {}", line.join(" "));
    // The engines' tasks need not wind down: the process ends here.
    std::process::exit(0);
}
