//! One engine shared by every hhdash (`hhdash serve` and the clients that attach to it), with
//! real processes against the real control plane: the server records while nobody watches; two
//! dashboards see a change together; a client that never reads its socket does not hold up
//! another and is resynchronised instead of buffered without end; a killed server is said so
//! by its dashboard, which continues in-process on `R`; a crashed server's socket is replaced
//! and a second server refused; a client of another protocol version, and a read-only
//! client's apply, are refused; three dashboards cost the API server no more watches than one;
//! an attached `watch` prints the server's events.

use crate::common::{self, KillOnDrop, StdoutLines};

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use hhdash::drift::Drift;
use hhdash::engine::{ApplyRequest, ApplyScope, Command, EngineEvent, JobPhase};
use hhdash::serve::protocol::{
    self, ClientFrame, HHDASH_VERSION, Hello, PROTOCOL_VERSION, Role, ServerFrame, Welcome,
};
use hhdash::status::WatchState;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use testenv::support::Tmux;
use tokio::net::UnixStream;

/// The most any one wait of these tests takes.
const DEADLINE: Duration = Duration::from_secs(45);

/// A namespace with the VPCs `keep`, `change` and `remove` live and the same in Git, and a
/// config for fabric `name` over it; the store is `store.redb` in the temp dir.
struct Fabric {
    temp: tempfile::TempDir,
    config: PathBuf,
    name: String,
    vpcs: Api<DynamicObject>,
}

impl Fabric {
    async fn new(namespace: &str, name: &str) -> Fabric {
        let plane = testenv::shared().await.expect("control plane");
        plane.grant(namespace).await.unwrap();
        let vpcs = common::live_vpcs::three_vpcs(plane, namespace).await;
        let objects: Vec<serde_json::Value> = testenv::fixtures::vpc_prerequisites(namespace)
            .into_iter()
            .chain(
                [("keep", 1001), ("change", 1002), ("remove", 1003)]
                    .into_iter()
                    .map(|(vpc, vlan)| {
                        serde_json::to_value(common::live_vpcs::vpc(vpc, namespace, vlan)).unwrap()
                    }),
            )
            .collect();
        let yaml: Vec<String> = objects
            .iter()
            .map(|o| serde_yaml::to_string(o).unwrap())
            .collect();
        let yaml = yaml.join("---\n");
        let (temp, config) = common::git_fabric(
            plane,
            namespace,
            name,
            &[("f/all.yaml", yaml.as_bytes())],
            "f",
        );
        std::fs::create_dir_all(temp.path().join("home")).unwrap();
        Fabric {
            temp,
            config,
            name: name.to_string(),
            vpcs,
        }
    }

    fn dir(&self) -> &Path {
        self.temp.path()
    }

    fn store(&self) -> PathBuf {
        self.dir().join("store.redb")
    }

    fn socket(&self) -> PathBuf {
        hhdash::serve::paths::socket_for(&self.store()).unwrap()
    }

    /// `hhdash serve` on this fabric's store, once it says it serves.
    fn serve(&self, log: &str) -> (KillOnDrop, StdoutLines) {
        let mut child = common::hhdash_command(
            self.dir(),
            &self.config,
            &[
                "--log-file",
                self.dir().join(log).to_str().unwrap(),
                "serve",
            ],
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hhdash serve starts");
        let mut lines = StdoutLines::of(&mut child);
        let serving = lines.read_until(DEADLINE, |l| l.iter().any(|l| l.contains("serving")));
        assert!(
            serving,
            "hhdash serve did not say it serves: {:?}",
            lines.drain()
        );
        (KillOnDrop::new(child), lines)
    }

    /// The dashboard (`hhdash [global]`) in a 160×45 tmux terminal with this fabric's store.
    fn dashboard(&self, global: &str, log: &str) -> Tmux {
        let command = format!(
            "{} {global} --config {} --store {} --log-file {}; echo \"hhdash exited $?\"; sleep 120",
            env!("CARGO_BIN_EXE_hhdash"),
            self.config.display(),
            self.store().display(),
            self.dir().join(log).display()
        );
        let env = [
            format!("HOME={}", self.dir().join("home").display()),
            "TERM=xterm-256color".to_string(),
        ];
        Tmux::start("serve", (160, 45), &env, &command)
    }

    async fn set_vlan(&self, vpc: &str, vlan: u32) {
        let patch = serde_json::json!({"spec": {"subnets": {"default": {"vlan": vlan}}}});
        self.vpcs
            .patch(vpc, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }
}

/// The next event from `events` that `want` takes, within the deadline.
async fn next_event(
    events: &mut tokio::sync::mpsc::Receiver<EngineEvent>,
    what: &str,
    mut want: impl FnMut(&EngineEvent) -> bool,
) -> EngineEvent {
    let end = Instant::now() + DEADLINE;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some(event)) if want(&event) => return event,
            Ok(Some(_)) => {}
            Ok(None) => panic!("{what}: the event stream ended"),
            Err(_) => panic!("{what}: not within {DEADLINE:?}"),
        }
    }
}

fn row_is(event: &EngineEvent, name: &str, want: fn(&Drift) -> bool) -> bool {
    let rows = match event {
        EngineEvent::Snapshot { rows, .. } => rows,
        EngineEvent::Rows { upserts, .. } => upserts,
        _ => return false,
    };
    rows.iter()
        .any(|r| r.key.kind == "VPC" && r.key.name == name && want(&r.drift))
}

/// Subscribes with the library's client and waits until the fabric watches with `change` in
/// sync: the server's engine is up.
async fn wait_until_watching(socket: &Path) {
    let mut attached = hhdash::serve::client::subscribe(socket, Vec::new(), true)
        .await
        .expect("attach");
    let mut active = false;
    let mut in_sync = false;
    next_event(
        &mut attached.events,
        "the fabric watching, change InSync",
        |e| {
            if let EngineEvent::Status { status, .. } | EngineEvent::Snapshot { status, .. } = e {
                active = status.watch.state == WatchState::Active;
            }
            in_sync |= row_is(e, "change", |d| matches!(d, Drift::InSync));
            active && in_sync
        },
    )
    .await;
}

/// A raw client: connects, says `hello`, returns the stream and the server's first frame.
async fn raw_hello(socket: &Path, hello: &impl serde::Serialize) -> (UnixStream, Vec<u8>) {
    let mut stream = UnixStream::connect(socket).await.expect("connect");
    protocol::write_frame(&mut stream, hello).await.unwrap();
    let first = tokio::time::timeout(DEADLINE, protocol::read_bytes(&mut stream))
        .await
        .expect("the server answers the handshake")
        .unwrap()
        .expect("a Welcome frame");
    (stream, first)
}

fn accepted(first: &[u8]) {
    let welcome: Welcome = serde_json::from_slice(first).unwrap();
    assert!(
        matches!(welcome, Welcome::Accepted { .. }),
        "refused: {welcome:?}"
    );
}

/// The dashboard shows the fabric watched, its five objects live and none drifted.
fn attached_in_sync(screen: &str) -> bool {
    screen.contains("watch ● Active") && screen.contains("desired 5 live 5 drifted 0")
}

/// The first line of `screen` containing every one of `words`.
fn line_with<'a>(screen: &'a str, words: &[&str]) -> Option<&'a str> {
    screen
        .lines()
        .find(|line| words.iter().all(|w| line.contains(w)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_records_while_no_client_is_attached_and_a_later_dashboard_shows_it() {
    let fabric = Fabric::new("serve-record", "rec").await;
    let (_serve, _out) = fabric.serve("serve.log");
    wait_until_watching(&fabric.socket()).await;
    // Nothing attached from here (the subscriber above is dropped): the drift happens unseen.
    fabric.set_vlan("change", 1999).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let opened = hhdash::status::format_utc(hhdash::status::now());
    let tmux = fabric.dashboard("", "dashboard.log");
    tmux.wait(30, "the attached dashboard with change Drifted", |s| {
        line_with(s, &["change", "Drifted"]).is_some()
    });
    tmux.keys(&["H"]);
    let screen = tmux.wait(15, "the History view with the drift of change", |s| {
        s.contains("History") && line_with(s, &["change", "1999"]).is_some()
    });
    // The server saw it before this dashboard existed: the entry is older than the dashboard.
    let entry = line_with(&screen, &["change", "1999"]).unwrap();
    let time = entry
        .split_whitespace()
        .find(|w| w.len() >= 8 && w.as_bytes()[2] == b':')
        .unwrap_or_else(|| panic!("no time on the entry {entry:?}"));
    let opened_time = opened.split_whitespace().last().unwrap();
    assert!(
        time.trim_end_matches('Z') < opened_time.trim_end_matches('Z'),
        "the drift entry at {time} is not older than the dashboard opened at {opened}:\n{screen}"
    );
    tmux.keys(&["q"]);
    tmux.wait(10, "the dashboard to quit", |s| {
        s.contains("hhdash exited 0")
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dashboards_see_the_same_drift_within_the_same_second() {
    let fabric = Fabric::new("serve-two", "two").await;
    let (_serve, _out) = fabric.serve("serve.log");
    wait_until_watching(&fabric.socket()).await;
    let first = fabric.dashboard("", "first.log");
    let second = fabric.dashboard("", "second.log");
    for tmux in [&first, &second] {
        tmux.wait(
            30,
            "the dashboard attached, nothing drifted",
            attached_in_sync,
        );
    }
    fabric.set_vlan("change", 1998).await;
    let start = Instant::now();
    let mut seen: [Option<Instant>; 2] = [None, None];
    while seen.iter().any(Option::is_none) {
        assert!(
            start.elapsed() < DEADLINE,
            "the drift not on both dashboards: first {seen:?}\n{}\nsecond\n{}",
            first.screen(),
            second.screen()
        );
        for (at, tmux) in seen.iter_mut().zip([&first, &second]) {
            if at.is_none() && line_with(&tmux.screen(), &["change", "Drifted"]).is_some() {
                *at = Some(Instant::now());
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let [a, b] = seen.map(Option::unwrap);
    let apart = if a > b { a - b } else { b - a };
    assert!(
        apart < Duration::from_secs(1),
        "the dashboards saw the drift {apart:?} apart"
    );
    // `hhdash diff` in a third pane, at the same time, attached: the same verdicts as the
    // dashboards show (their Drift view lists exactly the one drift, on the same path).
    let diff = common::hhdash(
        fabric.dir(),
        &fabric.config,
        &["diff", &fabric.name, "--json"],
    );
    let text = common::output_text(&diff);
    assert_eq!(diff.status.code(), Some(1), "{text}");
    let review: serde_json::Value = serde_json::from_slice(&diff.stdout).expect("diff --json");
    let out_of_sync: Vec<String> = review["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["drift"] != "InSync")
        .map(|o| format!("{} {}", o["key"]["kind"], o["key"]["name"]))
        .collect();
    assert_eq!(out_of_sync, ["\"VPC\" \"change\""], "{text}");
    assert!(text.contains("spec.subnets.default.vlan"), "{text}");
    for tmux in [&first, &second] {
        let screen = tmux.screen();
        assert!(
            screen.contains("Drift · two · 1 row")
                && line_with(&screen, &["change", "Drifted", "spec.subnets.default.vlan"])
                    .is_some(),
            "the dashboard's drift is the diff's:\n{screen}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_neither_delays_another_nor_piles_up_on_the_server() {
    let fabric = Fabric::new("serve-slow", "slow").await;
    let (serve, _out) = fabric.serve("serve.log");
    let socket = fabric.socket();
    wait_until_watching(&socket).await;
    // The slow client: subscribes, then never reads its socket.
    let (mut slow, first) = raw_hello(
        &socket,
        &Hello::new(Role::Subscribe { fabrics: vec![] }, true),
    )
    .await;
    accepted(&first);
    let mut other = hhdash::serve::client::subscribe(&socket, Vec::new(), true)
        .await
        .unwrap();
    // A storm of drift and back: every patch is a Rows event and a timeline line, several
    // thousand events, far more than the slow client's queue and socket buffer hold.
    let rss_before = rss_kib(serve.id());
    let storm = 1500;
    for round in 0..storm {
        let vlan = if round % 2 == 0 { 1500 } else { 1002 };
        fabric.set_vlan("change", vlan).await;
        while other.events.try_recv().is_ok() {}
    }
    // The other client still hears a change at once (a deadline, not a timing).
    fabric.set_vlan("keep", 1777).await;
    next_event(&mut other.events, "the other client sees keep drift", |e| {
        row_is(e, "keep", |d| matches!(d, Drift::Drifted(_)))
    })
    .await;
    let rss_after = rss_kib(serve.id());
    // Now the slow client reads: a Resync marker (its backlog was dropped), then a snapshot.
    let mut resynced = false;
    let end = Instant::now() + DEADLINE;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let frame: ServerFrame = tokio::time::timeout(left, protocol::read_frame(&mut slow))
            .await
            .expect("the slow client's frames within the deadline")
            .unwrap()
            .expect("the server keeps the slow client connected");
        match frame {
            ServerFrame::Resync => resynced = true,
            ServerFrame::Event(event)
                if resynced && matches!(*event, EngineEvent::Snapshot { .. }) =>
            {
                assert!(
                    row_is(&event, "keep", |d| matches!(d, Drift::Drifted(_))),
                    "the fresh snapshot is current"
                );
                break;
            }
            _ => {}
        }
    }
    assert!(
        rss_after < rss_before + 256 * 1024,
        "the server grew from {rss_before} KiB to {rss_after} KiB with a client not reading"
    );
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_is_said_so_and_r_continues_in_process() {
    let fabric = Fabric::new("serve-kill", "kill").await;
    let (serve, _out) = fabric.serve("serve.log");
    wait_until_watching(&fabric.socket()).await;
    let pid = serve.id();
    let tmux = fabric.dashboard("", "dashboard.log");
    tmux.wait(30, "the dashboard attached", attached_in_sync);
    common::send_signal(pid, 9);
    drop(serve);
    let gone = format!("the hhdash server (pid {pid}) has gone away");
    tmux.wait(15, "the dashboard says the server has gone", |s| {
        s.contains(&gone) && s.contains("press R to continue in-process")
    });
    tmux.keys(&["R"]);
    // In-process now: it owns the store and runs the engine, so it sees a new change itself.
    tmux.wait(30, "the fabric again, in-process", |s| {
        !s.contains(&gone) && attached_in_sync(s)
    });
    fabric.set_vlan("change", 1997).await;
    tmux.wait(30, "the drift seen in-process", |s| {
        line_with(s, &["change", "Drifted"]).is_some()
    });
    // And it serves: a client attaching now reaches this dashboard.
    let attached = hhdash::serve::client::subscribe(&fabric.socket(), Vec::new(), true)
        .await
        .expect("the dashboard serves");
    assert_eq!(
        attached.server_kind,
        hhdash::serve::protocol::ServerKind::Dashboard
    );
    assert_ne!(attached.server_pid, pid);
    tmux.keys(&["q"]);
    tmux.wait(10, "the dashboard to quit", |s| {
        s.contains("hhdash exited 0")
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_servers_socket_is_replaced_and_a_second_server_is_refused() {
    let fabric = Fabric::new("serve-stale", "stale").await;
    let (serve, _out) = fabric.serve("first.log");
    common::send_signal(serve.id(), 9);
    drop(serve);
    assert!(fabric.socket().exists(), "SIGKILL leaves the socket file");
    assert!(
        std::os::unix::net::UnixStream::connect(fabric.socket()).is_err(),
        "nobody listens on the stale socket"
    );
    let (_second, _out) = fabric.serve("second.log");
    wait_until_watching(&fabric.socket()).await;
    let third = common::hhdash(
        fabric.dir(),
        &fabric.config,
        &[
            "--log-file",
            fabric.dir().join("third.log").to_str().unwrap(),
            "serve",
        ],
    );
    let text = common::output_text(&third);
    assert_eq!(third.status.code(), Some(2), "{text}");
    assert!(
        text.contains("another hhdash already serves the store") && text.contains("stop it first"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_another_protocol_version_is_refused_naming_both() {
    let fabric = Fabric::new("serve-version", "ver").await;
    let (_serve, _out) = fabric.serve("serve.log");
    let mut hello =
        serde_json::to_value(Hello::new(Role::Subscribe { fabrics: vec![] }, true)).unwrap();
    hello["protocol"] = 99.into();
    hello["version"] = "9.9.9".into();
    let (_stream, first) = raw_hello(&fabric.socket(), &hello).await;
    let welcome: Welcome = serde_json::from_slice(&first).unwrap();
    let Welcome::Refused { reason, .. } = welcome else {
        panic!("a protocol 99 client was accepted: {welcome:?}")
    };
    for part in [
        "hhdash 9.9.9 (protocol 99)".to_string(),
        format!("hhdash {HHDASH_VERSION} (protocol {PROTOCOL_VERSION})"),
        "restart the server".to_string(),
    ] {
        assert!(reason.contains(&part), "{part:?} not in {reason:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_clients_apply_is_refused_and_nothing_is_applied() {
    let fabric = Fabric::new("serve-readonly", "ro").await;
    let (_serve, _out) = fabric.serve("serve.log");
    let socket = fabric.socket();
    wait_until_watching(&socket).await;
    fabric.set_vlan("change", 1996).await;
    let mut attached = hhdash::serve::client::subscribe(&socket, Vec::new(), true)
        .await
        .unwrap();
    next_event(&mut attached.events, "change Drifted", |e| {
        row_is(e, "change", |d| matches!(d, Drift::Drifted(_)))
    })
    .await;
    // Straight on the wire, so the refusal is the server's and not the client library's.
    let (mut raw, first) = raw_hello(
        &socket,
        &Hello::new(Role::Subscribe { fabrics: vec![] }, true),
    )
    .await;
    accepted(&first);
    let apply = Command::Apply(ApplyRequest {
        scope: ApplyScope::OutOfSync,
        dry_run: false,
        force_conflicts: true,
    });
    protocol::write_frame(
        &mut raw,
        &ClientFrame::Command {
            fabric: fabric.name.clone(),
            command: apply.clone(),
        },
    )
    .await
    .unwrap();
    let end = Instant::now() + DEADLINE;
    let message = loop {
        let left = end.saturating_duration_since(Instant::now());
        let frame: ServerFrame = tokio::time::timeout(left, protocol::read_frame(&mut raw))
            .await
            .expect("a refusal within the deadline")
            .unwrap()
            .expect("the connection stays");
        if let ServerFrame::Refused { fabric: f, message } = frame {
            assert_eq!(f, fabric.name);
            break message;
        }
    };
    assert!(message.contains("read-only"), "{message}");
    // Through the library, the refusal is the apply failing on the dashboard's fabric.
    let apply_sender = &attached.engines[0].1;
    apply_sender.send(apply).await.unwrap();
    next_event(&mut attached.events, "the refused apply as a failed job", |e| {
        matches!(e, EngineEvent::Job { phase: JobPhase::Failed { message }, .. } if message.contains("read-only"))
    })
    .await;
    // Nothing was applied: the cluster keeps the drifted VLAN.
    let live = fabric.vpcs.get("change").await.unwrap();
    assert_eq!(live.data["spec"]["subnets"]["default"]["vlan"], 1996);
}

/// Watches the API server serves now (`apiserver_longrunning_requests{verb="WATCH"}` summed).
fn watch_requests(plane: &testenv::ControlPlane) -> u64 {
    let metrics = common::kubectl(plane, &["get", "--raw", "/metrics"], "");
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("apiserver_longrunning_requests{") && l.contains("verb=\"WATCH\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Waits until the watcher count has held one value for 2 s, and returns it.
fn settled_watchers(plane: &testenv::ControlPlane) -> u64 {
    let end = Instant::now() + DEADLINE;
    let mut last = watch_requests(plane);
    let mut since = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let now = watch_requests(plane);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= Duration::from_secs(2) {
            return now;
        }
        assert!(Instant::now() < end, "the watcher count never settled");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_dashboards_cost_the_api_server_the_watches_of_one() {
    // A private plane: the shared one's watcher count moves with every other test.
    let plane = testenv::ControlPlane::start()
        .await
        .expect("a private control plane");
    let plane = &plane;
    let namespace = "serve-watches";
    plane.grant(namespace).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, namespace, "w");
    std::fs::create_dir_all(temp.path().join("home")).unwrap();
    let fabric = Fabric {
        config,
        name: "w".into(),
        vpcs: common::admin_api(plane, "VPC", namespace),
        temp,
    };
    let before = settled_watchers(plane);
    let (_serve, _out) = fabric.serve("serve.log");
    let first = fabric.dashboard("", "1.log");
    first.wait(30, "the first dashboard attached", |s| s.contains("Active"));
    let one = settled_watchers(plane);
    assert!(
        one > before,
        "the server opened no watch ({before} → {one})"
    );
    let others: Vec<Tmux> = ["2.log", "3.log"]
        .iter()
        .map(|log| fabric.dashboard("", log))
        .collect();
    for tmux in &others {
        tmux.wait(30, "another dashboard attached", |s| s.contains("Active"));
    }
    let three = settled_watchers(plane);
    assert_eq!(
        three, one,
        "3 dashboards: {three} watches, 1 dashboard: {one} (before: {before})"
    );
}

/// `hhdash watch` attached to a serve prints the server's engine events (a kubectl drift) as it
/// would in-process, without a watch of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attached_watch_prints_the_servers_events() {
    let fabric = Fabric::new("serve-watch", "watchit").await;
    let (serve, _out) = fabric.serve("serve.log");
    let socket = fabric.socket();
    wait_until_watching(&socket).await;
    let mut watch = common::spawn_watch(
        fabric.dir(),
        &fabric.config,
        &fabric.store(),
        &fabric.name,
        false,
    );
    // An attached watch prints nothing until something happens: the server's log says when
    // it has attached (the drift must come after, or the watch only hears it in its snapshot).
    let attached = format!("a client attached pid={}", watch.child.id());
    let end = Instant::now() + DEADLINE;
    while !std::fs::read_to_string(fabric.dir().join("serve.log"))
        .unwrap_or_default()
        .contains(&attached)
    {
        assert!(
            Instant::now() < end,
            "the watch never attached to the server"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fabric.set_vlan("change", 1555).await;
    watch
        .wait_for_line(DEADLINE, "the drift, from the server's engine", |line| {
            line.contains("VPC/change") && line.contains("Drifted")
        })
        .await;
    drop(serve);
}
