//! Memory of one big fabric (issue 15's goal: 50,000 live + 50,000 desired objects under
//! 300 MiB RSS in the dashboard, `hhdash diff` of the same under 150 MiB peak), against a real
//! control plane (testenv: kube-apiserver + etcd on 127.0.0.1, no webhooks) holding N objects
//! of realistic shapes (testenv::fixtures::generated_objects) in one namespace, and a real Git
//! repository holding the same objects (testenv::fixtures::generated_fabric, namespace left to
//! the fabric's default), so every object is a desired + live pair. Prints one Markdown table.
//!
//! Each measurement runs in a child process of its own (this binary again), so its RSS is its
//! own. The dashboard child runs what `hhdash` runs in process: `serve::Server` (engines, hub)
//! and its local subscriber folded into the real `ui::App`, from a new store, until the fabric
//! is live, synced and every row has its verdict; then, steady, VmRSS, VmHWM and the bytes the
//! heap holds (a counting global allocator: what the program keeps, without the allocator's
//! own overhead and fragmentation); then the UI's model is dropped and the heap measured again
//! (the engine's share and the UI's). The `diff` row is the real binary (`hhdash diff`, after
//! an untimed `hhdash sync`), its peak RSS from wait4.
//!
//! Run: `cargo bench --bench memory`. Knobs: HHDASH_BENCH_MEMORY_OBJECTS ("10000,50000").
//! Numbers: docs/benchmarks.md.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hhdash::config::Config;
use hhdash::serve::{Server, ServerSetup, protocol::ServerKind};
use hhdash::status::SyncState;
use hhdash::store::Store;
use hhdash::ui::model::Liveness;
use hhdash::ui::{App, Options};
use testenv::{ControlPlane, Identity};

#[path = "shared/mod.rs"]
mod shared;

/// Counts the bytes the program holds on the heap (System is glibc's malloc, as in `hhdash`).
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to System unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        HELD.fetch_add(new_size, Ordering::Relaxed);
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const NAMESPACE: &str = "memory";
const FABRIC: &str = "big";
const NOW: i64 = 1_795_629_370;

fn mib(bytes: f64) -> String {
    format!("{:.0} MiB", bytes / (1024.0 * 1024.0))
}

fn main() {
    match std::env::var("HHDASH_MEMORY_CHILD").ok().as_deref() {
        Some(_) => child(),
        None => parent(),
    }
}

// ---------------------------------------------------------------------------------------------
// The parent: the plane, the objects, the repository; children measure.

fn parent() {
    let sizes: Vec<usize> = std::env::var("HHDASH_BENCH_MEMORY_OBJECTS")
        .unwrap_or_else(|_| "10000,50000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let _inside = runtime.enter();
    let plane = runtime.block_on(shared::start_plane(vec![NAMESPACE.to_string()]));
    println!(
        "Control plane {} (Kubernetes {}, no webhooks); hhdash {} build.\n",
        plane.server_url(),
        testenv::KUBERNETES_VERSION,
        if cfg!(debug_assertions) {
            "DEBUG"
        } else {
            "release"
        }
    );
    let mut table = Vec::new();
    for &size in &sizes {
        let temp = tempfile::tempdir().expect("a temp dir");
        let admin = plane.client(Identity::Admin);
        let t = Instant::now();
        runtime.block_on(shared::create_all(
            &admin,
            NAMESPACE,
            &testenv::fixtures::generated_objects(size, NAMESPACE),
        ));
        println!(
            "{size} objects present in `{NAMESPACE}` ({} to create)",
            secs(t.elapsed())
        );
        let repo = temp.path().join("repo");
        write_repo(&repo, size);
        let config = write_config(&plane, &repo, temp.path());
        let dashboard = run_child(&config, &temp.path().join("dashboard.redb"));
        let diff = run_diff(&config, temp.path());
        table.push((size, dashboard, diff));
    }
    println!(
        "\n| objects (live + desired) | all live + synced | RSS steady | RSS peak | heap held: all | heap: engines + hub (UI dropped) | heap per object pair | `hhdash diff` peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (size, d, diff) in &table {
        println!(
            "| {size} + {size} | {} | {} | {} | {} | {} | {:.1} KiB | {} |",
            secs(Duration::from_secs_f64(d["live_s"])),
            mib(d["rss"]),
            mib(d["hwm"]),
            mib(d["heap_all"]),
            mib(d["heap_engines"]),
            d["heap_all"] / *size as f64 / 1024.0,
            mib(*diff),
        );
    }
    drop(plane);
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// A Git repository holding the first `size` generated objects, 500 to a file, in `fabric/`.
fn write_repo(repo: &Path, size: usize) {
    let files: Vec<(String, String)> = testenv::fixtures::generated_fabric(size, 500)
        .into_iter()
        // The sample's objects name namespace `default`; the cluster has them in NAMESPACE.
        .map(|(path, text)| {
            let text = text.replace(
                "\n  namespace: default\n",
                &format!("\n  namespace: {NAMESPACE}\n"),
            );
            (path, text)
        })
        .collect();
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(path, text)| (path.as_str(), text.as_bytes()))
        .collect();
    testenv::support::repo_with(repo, &files);
}

fn write_config(plane: &ControlPlane, repo: &Path, dir: &Path) -> PathBuf {
    let text = format!(
        "[[fabric]]\nname = {FABRIC:?}\nnamespace = {NAMESPACE:?}\n[fabric.kubernetes]\nserver = {:?}\ntoken_file = {:?}\nca_cert_file = {:?}\n[fabric.git]\nurl = {:?}\nbranch = \"main\"\ndirectory = \"fabric\"\n",
        plane.server_url(),
        plane.token_file(Identity::Operator).display().to_string(),
        plane.ca_file().display().to_string(),
        repo.display().to_string(),
    );
    let path = dir.join("memory.toml");
    std::fs::write(&path, &text).expect("writing the config");
    Config::load(&path).unwrap_or_else(|e| panic!("the bench's config is invalid: {e}"));
    path
}

/// Runs this binary as the measuring child; its `RESULT key=value…` line.
fn run_child(config: &Path, store: &Path) -> BTreeMap<String, f64> {
    let output = Process::new(std::env::current_exe().expect("the bench's own path"))
        .env("HHDASH_MEMORY_CHILD", "dashboard")
        .env("HHDASH_MEMORY_CONFIG", config)
        .env("HHDASH_MEMORY_STORE", store)
        // Its progress lines show as it runs.
        .stderr(Stdio::inherit())
        .output()
        .expect("running the measuring child");
    shared::child_result("dashboard", &output)
}

/// `hhdash sync` (untimed), then `hhdash diff` of the fabric: its peak RSS in bytes.
fn run_diff(config: &Path, dir: &Path) -> f64 {
    let command = |args: &[&str]| {
        let mut command = Process::new(env!("CARGO_BIN_EXE_hhdash"));
        command
            .arg("--config")
            .arg(config)
            .arg("--store")
            .arg(dir.join("diff.redb"))
            .args(args)
            .env("HOME", dir.join("home"))
            .env("XDG_RUNTIME_DIR", dir.join("run"))
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    };
    std::fs::create_dir_all(dir.join("run")).expect("a runtime dir");
    let sync = command(&["sync", FABRIC])
        .output()
        .expect("running hhdash sync");
    assert!(
        sync.status.success(),
        "hhdash sync failed: {}",
        String::from_utf8_lossy(&sync.stderr)
    );
    let child = command(&["diff", FABRIC])
        .spawn()
        .expect("running hhdash diff");
    let (status, usage) = shared::wait_with_usage(child.id() as libc::pid_t);
    // Reaped by wait4 above (std's wait would drop the rusage).
    drop(child);
    // 0: in sync; 1: drift found (both a whole answer).
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "hhdash diff ended with {status}"
    );
    println!("  diff: peak RSS {} KiB", usage.ru_maxrss);
    usage.ru_maxrss as f64 * 1024.0
}

// ---------------------------------------------------------------------------------------------
// The child: the dashboard's engines, hub and model, as `hhdash` runs them.

fn child() {
    let config_path = PathBuf::from(std::env::var("HHDASH_MEMORY_CONFIG").expect("config"));
    let store_path = PathBuf::from(std::env::var("HHDASH_MEMORY_STORE").expect("store"));
    let config = Config::load(&config_path).expect("the config");
    let dir = config_path.parent().expect("a directory").to_path_buf();
    // SAFETY: set before any other thread starts.
    unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir.join("run")) };
    std::fs::create_dir_all(dir.join("run")).expect("a runtime dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut result = BTreeMap::new();
    runtime.block_on(async {
        let options = Options::default().with_namespaces_of(&config.fabrics);
        let mut app = App::new(config.fabrics.iter().map(|f| f.name.clone()), options, NOW);
        let setup = ServerSetup {
            kind: ServerKind::Dashboard,
            git_cache_dir: dir.join("git-cache"),
            store_path: store_path.clone(),
            store: Arc::new(Store::open(&store_path).expect("the store")),
            key_file: dir.join("key"),
            config,
        };
        let started = Instant::now();
        let server = Server::start(setup).await;
        let (_engines, mut events) = server.local(None).await.expect("the local subscriber");
        let deadline = started + Duration::from_secs(900);
        let mut checked = Instant::now();
        let mut reported = Instant::now();
        loop {
            let tick = (Instant::now() + Duration::from_millis(500)).min(deadline);
            if let Ok(event) = tokio::time::timeout_at(tick.into(), events.recv()).await {
                app.fold(event.expect("the engines stopped"));
            }
            // Counts are derived per frame (`settle`, O(rows)): twice a second here.
            if checked.elapsed() < Duration::from_millis(500) {
                continue;
            }
            checked = Instant::now();
            let fabric = &mut app.fabrics[0];
            fabric.settle();
            let counts = fabric.counts();
            if fabric.liveness() == Liveness::Live
                && fabric.status.sync.state == SyncState::Synced
                && counts.rows > 0
                && counts.verdicts.unknown == 0
            {
                result.insert("live_s", started.elapsed().as_secs_f64());
                result.insert("rows", counts.rows as f64);
                result.insert("in_sync", counts.verdicts.in_sync as f64);
                break;
            }
            if reported.elapsed() > Duration::from_secs(10) {
                reported = Instant::now();
                assert!(
                    Instant::now() < deadline,
                    "the fabric was not live and synced within 900 s"
                );
                eprintln!(
                    "  {:.0} s: {:?}, sync {:?}, {} rows, {:?}",
                    started.elapsed().as_secs_f64(),
                    fabric.liveness(),
                    fabric.status.sync.state,
                    counts.rows,
                    counts.verdicts
                );
            }
        }
        // Steady: fold what still arrives, long enough for the server to have handed freed
        // memory back (`memory::TRIM_EVERY`) twice.
        let until = Instant::now() + 2 * hhdash::memory::TRIM_EVERY + Duration::from_secs(1);
        while let Ok(Some(event)) = tokio::time::timeout_at(until.into(), events.recv()).await {
            app.fold(event);
        }
        result.insert("heap_all", HELD.load(Ordering::Relaxed) as f64);
        result.insert("rss", shared::proc_status_kib("VmRSS:") as f64 * 1024.0);
        result.insert("hwm", shared::proc_status_kib("VmHWM:") as f64 * 1024.0);
        drop(app);
        result.insert("heap_engines", HELD.load(Ordering::Relaxed) as f64);
    });
    let line: Vec<String> = result.iter().map(|(k, v)| format!("{k}={v:.1}")).collect();
    println!("RESULT {}", line.join(" "));
    // The engines' tasks need not wind down: the process ends here.
    std::process::exit(0);
}
