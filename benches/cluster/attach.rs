//! `attach`: a real `hhdash serve` (the release binary beside this bench) over 10,000 objects,
//! live and the same in Git; a client of this process attaches again and again and times
//! connect + handshake, the first frame (the fabric's `Snapshot`) received and decoded, and the
//! dashboard's first frame (`App::fold` + a full draw to a 160×45 `TestBackend`). Then the API
//! server's open watches (`apiserver_longrunning_requests{verb="WATCH"}`) before the server, with 1 attached
//! client and with 3.

use super::*;

use hhdash::serve::client;

const ATTACH_NS: &str = "bench-attach";

fn attach_objects() -> usize {
    env_or("HHDASH_BENCH_ATTACH_OBJECTS", 10_000)
}

fn attach_runs() -> usize {
    env_or("HHDASH_BENCH_ATTACH_RUNS", 10)
}

/// Watch requests the API server serves now (`apiserver_longrunning_requests{verb="WATCH"}`,
/// by `kubectl get --raw /metrics`).
fn watch_requests(plane: &ControlPlane) -> u64 {
    let output = plane
        .kubectl(Identity::Admin)
        .args(["get", "--raw", "/metrics"])
        .stdin(Stdio::null())
        .output()
        .expect("kubectl runs");
    assert!(output.status.success(), "kubectl get --raw /metrics failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| {
            l.starts_with("apiserver_longrunning_requests{") && l.contains("verb=\"WATCH\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// The watcher count once it has held still for 2 s (watches open and close as clients come).
async fn settled_watchers(plane: &ControlPlane) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = watch_requests(plane);
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = watch_requests(plane);
        if now != last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() >= Duration::from_secs(2) {
            return now;
        }
        assert!(Instant::now() < deadline, "the watcher count never settled");
    }
}

struct FirstFrame {
    handshake: Duration,
    snapshot: Duration,
    drawn: Duration,
    rows: usize,
}

/// One attach: connect, handshake, the first `Snapshot`, folded and drawn.
async fn attach_once(socket: &Path) -> FirstFrame {
    let t = Instant::now();
    let mut attached = client::subscribe(socket, Vec::new(), true)
        .await
        .unwrap_or_else(|e| panic!("attaching: {e}"));
    let handshake = t.elapsed();
    let event = tokio::time::timeout(Duration::from_secs(30), attached.events.recv())
        .await
        .expect("a first frame within 30 s")
        .expect("the server sends a snapshot");
    let snapshot = t.elapsed();
    let rows = match &event {
        EngineEvent::Snapshot { rows, .. } => rows.len(),
        other => panic!("the first frame is not a Snapshot: {other:?}"),
    };
    let options = hhdash::ui::Options::from_config(&Default::default(), true);
    let mut app = hhdash::ui::App::new([FABRIC.to_string()], options, hhdash::status::now());
    app.fold(event);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 45))
        .expect("a test terminal");
    terminal
        .draw(|frame| hhdash::ui::draw(frame, &mut app))
        .expect("drawing");
    FirstFrame {
        handshake,
        snapshot,
        drawn: t.elapsed(),
        rows,
    }
}

pub async fn attach_scenario(_s: &Settings) {
    let count = attach_objects();
    println!("\n## `attach`: a dashboard attaching to `hhdash serve` with {count} objects\n");
    let plane = start_plane(ATTACH_NS).await;
    let objects = fixture_objects(count, ATTACH_NS);
    let created_in = create_all(
        &plane.client(Identity::Admin),
        ATTACH_NS,
        &objects,
        CREATE_CONCURRENCY,
    )
    .await;
    println!("{count} objects created in {}.\n", fmt_dur(created_in));
    let temp = tempfile::tempdir().expect("creating a temp dir");
    let repo = git_repo(temp.path(), count, ATTACH_NS);
    let config = temp.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[fabric]]\nname = {FABRIC:?}\nnamespace = {ATTACH_NS:?}\n[fabric.kubernetes]\nserver = {:?}\ntoken_file = {:?}\nca_cert_file = {:?}\n[fabric.git]\nurl = {:?}\nbranch = \"main\"\ndirectory = \"fabric\"\n",
            plane.server_url(),
            plane.token_file(Identity::Operator).display().to_string(),
            plane.ca_file().display().to_string(),
            repo.display().to_string(),
        ),
    )
    .expect("writing the config");
    let store = temp.path().join("store.redb");
    let watchers_before = settled_watchers(&plane).await;
    let home = temp.path().join("home");
    let mut serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_hhdash"))
        .arg("--config")
        .arg(&config)
        .arg("--store")
        .arg(&store)
        .arg("--log-file")
        .arg(temp.path().join("serve.log"))
        .arg("serve")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("hhdash serve starts");
    let socket = hhdash::serve::paths::socket_for(&store).expect("the socket directory");

    // Loaded: every object live and InSync with Git, the watch Active.
    let t = Instant::now();
    let deadline = t + Duration::from_secs(180);
    let mut watcher = loop {
        match client::subscribe(&socket, Vec::new(), true).await {
            Ok(attached) => break attached,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("hhdash serve never answered: {e}"),
        }
    };
    let mut rows: HashMap<ObjectKey, bool> = HashMap::new();
    let mut active = false;
    while !(active && rows.len() == count && rows.values().all(|in_sync| *in_sync)) {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, watcher.events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "after 180 s: {} rows, {} InSync, watch active {active}",
                    rows.len(),
                    rows.values().filter(|v| **v).count()
                )
            })
            .expect("the server keeps serving");
        match event {
            EngineEvent::Snapshot {
                rows: all, status, ..
            } => {
                active = status.watch.state == WatchState::Active;
                rows = all
                    .iter()
                    .map(|r| (r.key.clone(), matches!(r.drift, Drift::InSync)))
                    .collect();
            }
            EngineEvent::Status { status, .. } => active = status.watch.state == WatchState::Active,
            EngineEvent::Rows {
                upserts, removed, ..
            } => {
                for key in removed {
                    rows.remove(&key);
                }
                for row in upserts {
                    rows.insert(row.key.clone(), matches!(row.drift, Drift::InSync));
                }
            }
            _ => {}
        }
    }
    println!(
        "hhdash serve loaded and watching {count} objects (all InSync) in {}.\n",
        fmt_dur(t.elapsed())
    );
    // The loading subscriber stays: it is the "1 client" of the watch count.
    let watchers_one = settled_watchers(&plane).await;

    let mut runs = Vec::new();
    for _ in 0..attach_runs() {
        let run = attach_once(&socket).await;
        assert_eq!(run.rows, count, "the snapshot holds every object");
        runs.push(run);
        settle().await;
    }
    let column = |pick: fn(&FirstFrame) -> Duration| -> Vec<Duration> {
        let mut v: Vec<Duration> = runs.iter().map(pick).collect();
        v.sort();
        v
    };
    println!(
        "| step (from connect, {} runs) | median | min | max |",
        runs.len()
    );
    println!("|---|---|---|---|");
    for (name, pick) in [
        (
            "connect + handshake",
            (|r: &FirstFrame| r.handshake) as fn(&FirstFrame) -> Duration,
        ),
        ("first frame (Snapshot) received", |r| r.snapshot),
        ("first dashboard frame drawn", |r| r.drawn),
    ] {
        let v = column(pick);
        println!(
            "| {name} | {} | {} | {} |",
            fmt_dur(median(&v)),
            fmt_dur(min(&v)),
            fmt_dur(*v.last().expect("runs"))
        );
    }
    let drawn = median(&column(|r| r.drawn));
    println!(
        "\nGoal: first frame drawn < 300 ms — {} (median {}).",
        if drawn < Duration::from_millis(300) {
            "met"
        } else {
            "NOT met"
        },
        fmt_dur(drawn)
    );

    let mut more = Vec::new();
    for _ in 0..2 {
        more.push(
            client::subscribe(&socket, Vec::new(), true)
                .await
                .expect("attaching"),
        );
    }
    let watchers_three = settled_watchers(&plane).await;
    println!("\n| API server watches (apiserver_longrunning_requests, verb WATCH) | count |");
    println!("|---|---|");
    println!("| before `hhdash serve` | {watchers_before} |");
    println!("| `hhdash serve` + 1 attached client | {watchers_one} |");
    println!("| `hhdash serve` + 3 attached clients | {watchers_three} |");
    println!(
        "\nGoal: 3 clients open no more watches than 1 — {}.",
        if watchers_three == watchers_one {
            "met"
        } else {
            "NOT met"
        }
    );
    drop(more);
    drop(watcher);
    let _ = serve.start_kill();
    let _ = serve.wait().await;
}
