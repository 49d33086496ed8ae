//! A dead link against a private control plane: kube-apiserver frozen with SIGSTOP keeps its
//! port and connections open and answers nothing — what a dropped VPN or a hung load balancer
//! looks like. The engine and `hhdash watch` say "no answer since" within 20 s and keep the last
//! known state; after SIGCONT they recover by themselves and the live set equals a fresh list,
//! changes made right after the thaw included. One-shot commands (`diff`, `check`, `apply`)
//! give up with exit 2 and a message naming the fabric and the server instead of hanging.
//!
//! Each test freezes its own control plane: a frozen shared one would stall every other test.

use crate::common::{self, RunningEngine, live_vpcs};

use std::sync::Arc;
use std::time::{Duration, Instant};

use hhdash::engine::EngineEvent;
use hhdash::status::{ConnectionState, WatchState};
use hhdash::store::Store;
use testenv::{ControlPlane, Identity, Options};

/// The bound: a silent server is reported within this long.
const DETECTED_WITHIN: Duration = Duration::from_secs(20);

async fn private_plane(namespace: &str) -> ControlPlane {
    ControlPlane::start_with(Options {
        namespaces: vec![namespace.into()],
        ..Default::default()
    })
    .await
    .expect("control plane")
}

/// Receives engine events until `done` says the wanted ones were all seen, or the deadline
/// passes (then fails with the last events seen). `done` sees every event.
async fn events_until(
    rx: &mut tokio::sync::mpsc::Receiver<EngineEvent>,
    deadline: Instant,
    what: &str,
    mut done: impl FnMut(&EngineEvent) -> bool,
) {
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(event)) => {
                let finished = done(&event);
                seen.push(format!("{event:?}").chars().take(300).collect::<String>());
                if finished {
                    return;
                }
            }
            _ => panic!(
                "{what}: not in time; last events:\n{}",
                seen[seen.len().saturating_sub(15)..].join("\n")
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_api_server_reads_no_answer_then_recovers_with_nothing_lost() {
    let ns = "deadlink";
    let plane = private_plane(ns).await;
    let vpcs = live_vpcs::three_vpcs(&plane, ns).await;
    let temp = tempfile::tempdir().unwrap();
    let config_path =
        live_vpcs::empty_git_config(temp.path(), &plane, &plane.server_url(), ns, "dead");

    // The engine (as the dashboard runs it) and `hhdash watch`, side by side, each its own store.
    let RunningEngine {
        store,
        events: mut rx,
        commands,
    } = common::start_engine(temp.path(), &config_path);
    let watch_store = temp.path().join("watch.redb");
    let mut watch = common::spawn_watch(temp.path(), &config_path, &watch_store, "dead", false);
    let active = Instant::now() + Duration::from_secs(30);
    events_until(&mut rx, active, "engine watch Active", |e| {
        matches!(e, EngineEvent::Status { status, .. } if status.watch.state == WatchState::Active)
    })
    .await;
    watch
        .wait_for_line(Duration::from_secs(30), "hhdash watch active", |l| {
            l.contains("watch active")
        })
        .await;
    let before = live_vpcs::stored(&store, "dead");
    assert_eq!(before, live_vpcs::fresh(&vpcs).await);

    // Freeze: within 20 s the engine says "no answer since" in its status and its event log,
    // and removes nothing (the rows stay as last known).
    plane.freeze_apiserver().unwrap();
    let frozen_at = hhdash::status::now();
    let detected_by = Instant::now() + DETECTED_WITHIN;
    let (mut status_seen, mut log_seen) = (None, None);
    events_until(
        &mut rx,
        detected_by,
        "no answer reported by the engine",
        |e| {
            match e {
                EngineEvent::Status { status, .. }
                    if status.connection.state == ConnectionState::NoAnswer =>
                {
                    status_seen = Some(status.clone())
                }
                EngineEvent::Log { entry, .. } if entry.message.contains("no answer since") => {
                    log_seen = Some(entry.message.clone())
                }
                EngineEvent::Rows { removed, .. } => {
                    assert!(
                        removed.is_empty(),
                        "a silent server removed rows: {removed:?}"
                    )
                }
                _ => {}
            }
            status_seen.is_some() && log_seen.is_some()
        },
    )
    .await;
    eprintln!(
        "engine reported no answer {} s after the freeze",
        hhdash::status::now() - frozen_at
    );
    let status = status_seen.unwrap();
    let since = status.connection.no_answer_since.expect("since when");
    assert!(
        since >= frozen_at - 10 && since <= hhdash::status::now(),
        "no answer since {since}, frozen at {frozen_at}"
    );
    assert_ne!(
        status.watch.state,
        WatchState::Active,
        "the watch is not live"
    );
    let message = log_seen.unwrap();
    assert!(
        message.contains(&hhdash::status::no_answer_since(since))
            && message.contains(&plane.server_url()),
        "the event names the time and the server: {message}"
    );
    assert_eq!(
        live_vpcs::stored(&store, "dead"),
        before,
        "the last known state stays"
    );
    // `hhdash watch` prints both: an event line and a status line.
    let left = detected_by.saturating_duration_since(Instant::now());
    let (mut event_line, mut status_line) = (false, false);
    watch
        .wait_for_line(left, "hhdash watch prints no answer", |l| {
            if l.contains("no answer since") {
                if l.contains(" Status ") {
                    status_line |= l.contains("stale");
                } else {
                    event_line |= l.contains(" Error ") && l.contains(&plane.server_url());
                }
            }
            event_line && status_line
        })
        .await;

    // Thaw, and change things at once: nothing of it may be lost.
    plane.thaw_apiserver().unwrap();
    live_vpcs::change_while_away(&vpcs, ns).await;

    // Recovery: the server answers again, the watchers list afresh ("watch recovered"), and
    // the connection is back to Connected.
    let recovered_by = Instant::now() + Duration::from_secs(60);
    let (mut answered, mut relisted, mut connected) = (false, false, false);
    events_until(&mut rx, recovered_by, "recovery", |e| {
        match e {
            EngineEvent::Log { entry, .. } if entry.message.contains("answers again") => {
                answered = true
            }
            EngineEvent::Log { entry, .. } if entry.message.contains("watch recovered") => {
                relisted = answered
            }
            EngineEvent::Status { status, .. } => {
                connected = status.connection.state == ConnectionState::Connected
                    && status.connection.no_answer_since.is_none()
            }
            _ => {}
        }
        answered && relisted && connected
    })
    .await;
    let fresh = live_vpcs::fresh(&vpcs).await;
    assert_eq!(
        fresh.keys().collect::<Vec<_>>(),
        ["added", "change", "keep"]
    );
    live_vpcs::wait_for_stored(
        &store,
        "dead",
        Duration::from_secs(20),
        "the engine's live set never matched a fresh list",
        |live| *live == fresh,
    )
    .await;

    // `hhdash watch` recovered by itself too, and its store matches the server.
    watch
        .wait_for_line(Duration::from_secs(60), "hhdash watch recovers", |l| {
            l.contains("answers again")
        })
        .await;
    watch
        .wait_for_line(Duration::from_secs(60), "hhdash watch live again", |l| {
            l.contains("watch recovered")
        })
        .await;
    // Its engine may still be storing the last burst: converge, then stop it and read.
    tokio::time::sleep(Duration::from_secs(1)).await;
    watch.signal(common::SIGINT);
    let out = watch
        .wait(Duration::from_secs(30), "hhdash watch after SIGINT")
        .await;
    assert!(out.status.success(), "{}", common::output_text(&out));
    let watch_store = Store::open(&watch_store).unwrap();
    assert_eq!(
        live_vpcs::stored(&watch_store, "dead"),
        live_vpcs::fresh(&vpcs).await,
        "hhdash watch's live set equals a fresh list"
    );
    commands
        .send(hhdash::engine::Command::Shutdown)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shot_commands_exit_2_naming_fabric_and_server_against_a_frozen_api_server() {
    let ns = "frozen";
    let plane = private_plane(ns).await;
    let (temp, config) = common::demo_fabric(&plane, ns, "frozen");
    let out = common::hhdash(temp.path(), &config, &["sync"]);
    assert!(out.status.success(), "{}", common::output_text(&out));

    plane.freeze_apiserver().unwrap();
    for args in [
        &["diff", "frozen"][..],
        &["diff", "frozen", "--server-side"],
        &["check"],
        &["apply", "frozen"],
    ] {
        // A deadline, not a speed test: a command that hangs fails here with what it printed.
        let out = common::run_with_deadline(
            &mut common::hhdash_command(temp.path(), &config, args),
            Duration::from_secs(90),
        );
        let text = common::output_text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {text}");
        assert!(
            text.contains(&format!(
                "fabric frozen: no answer from {}",
                plane.server_url()
            )),
            "{args:?} names the fabric and the server: {text}"
        );
    }
    let status = Store::open(&temp.path().join("store.redb"))
        .unwrap()
        .fabric_status("frozen")
        .unwrap();
    assert!(
        status
            .connection
            .error
            .is_some_and(|e| e.contains("no answer from")),
        "check records why"
    );
    assert_eq!(
        Store::open(&temp.path().join("store.redb"))
            .unwrap()
            .desired("frozen")
            .unwrap()
            .len(),
        common::DEMO_OBJECTS,
        "the desired set survives"
    );

    // Once it answers again, the same command works.
    plane.thaw_apiserver().unwrap();
    let out = common::hhdash(temp.path(), &config, &["diff", "frozen"]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let missing = format!("{} missing", common::DEMO_OBJECTS);
    assert!(text.contains(&missing), "{text}");

    // The server goes silent in the middle of an apply, on a connection that was answering:
    // the request in flight times out and the apply stops there (exit 2), instead of waiting
    // minutes for it and then again for every object after it.
    let repo = temp.path().join("bulk-repo");
    let documents: String = (0..BULK)
        .map(|i| {
            format!(
                "---\napiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: bulk-{i:03}\n  namespace: {ns}\nspec:\n  subnets:\n    default:\n      subnet: 10.5.0.0/24\n      vlan: {}\n",
                1000 + i
            )
        })
        .collect();
    common::repo_with(&repo, &[("bulk/vpcs.yaml", documents.as_bytes())]);
    plane
        .apply_objects(&testenv::fixtures::vpc_prerequisites(ns))
        .await
        .unwrap();
    let bulk = common::cluster_config(
        temp.path(),
        "bulk",
        ns,
        &plane.server_url(),
        &plane.token_file(Identity::Operator),
        plane.ca_file(),
        &repo,
        "bulk",
    );
    let out = common::hhdash(temp.path(), &bulk, &["sync"]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    let mut child = common::hhdash_command(temp.path(), &bulk, &["apply", "bulk"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.contains("apply  ok"), "the apply started: {first}");
    plane.freeze_apiserver().unwrap();
    let mut printed = first;
    let reader = std::thread::spawn(move || {
        let _ = std::io::Read::read_to_string(&mut stdout, &mut printed);
        printed
    });
    let out = common::wait_with_deadline(child, Duration::from_secs(90), "apply frozen midway");
    let text = format!(
        "{}{}",
        reader.join().unwrap(),
        String::from_utf8_lossy(&out.stderr)
    );
    plane.thaw_apiserver().unwrap();
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("apply of fabric bulk stopped at VPC/bulk-")
            && text.contains(&format!(
                "fabric bulk: no answer from {}",
                plane.server_url()
            )),
        "{text}"
    );
    let applied = text.matches("apply  ok").count();
    assert!(applied < BULK, "it stopped before the end: {text}");
}

/// Objects in the apply that the server stops answering during.
const BULK: usize = 400;

/// A TCP relay in front of the API server that can go silent the way a hung load balancer or a
/// dropped VPN does: `stall` stops relaying on every connection (they stay open; nothing is
/// refused or reset), and `recover` relays new connections again while every connection from
/// before stays a black hole — the middlebox lost its state, the peers were never told.
struct Relay {
    port: u16,
    stalled: Arc<std::sync::atomic::AtomicBool>,
    /// Connections numbered below this are dead for good.
    live_from: Arc<std::sync::atomic::AtomicU64>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(upstream: u16) -> Relay {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stalled = Arc::new(AtomicBool::new(false));
        let live_from = Arc::new(AtomicU64::new(0));
        let next_id = Arc::new(AtomicU64::new(0));
        let (s, l, n) = (stalled.clone(), live_from.clone(), next_id.clone());
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let id = n.fetch_add(1, Ordering::SeqCst);
                let (s, l) = (s.clone(), l.clone());
                connections.spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    let pass = move || !s.load(Ordering::SeqCst) && id >= l.load(Ordering::SeqCst);
                    let pass2 = pass.clone();
                    tokio::join!(
                        relay_one_way(client_read, server_write, pass),
                        relay_one_way(server_read, client_write, pass2),
                    );
                });
            }
        });
        Relay {
            port,
            stalled,
            live_from,
            next_id,
            task,
        }
    }

    fn stall(&self) {
        self.stalled
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn recover(&self) {
        use std::sync::atomic::Ordering;
        self.live_from
            .store(self.next_id.load(Ordering::SeqCst), Ordering::SeqCst);
        self.stalled.store(false, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies bytes while `pass` allows; otherwise holds them (and stops reading) until it does.
async fn relay_one_way(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    pass: impl Fn() -> bool,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while !pass() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_hung_load_balancer_recovers_the_watch_relists_over_fresh_connections() {
    let ns = "blackhole";
    let plane = private_plane(ns).await;
    let vpcs = live_vpcs::three_vpcs(&plane, ns).await;
    let relay = Relay::start(plane.port()).await;
    let temp = tempfile::tempdir().unwrap();
    // hhdash reaches the API server only through the relay (same CA: the certificate is for
    // 127.0.0.1, whatever the port).
    let relay_url = format!("https://127.0.0.1:{}", relay.port);
    let config_path = live_vpcs::empty_git_config(temp.path(), &plane, &relay_url, ns, "lb");
    let RunningEngine {
        store,
        events: mut rx,
        commands,
    } = common::start_engine(temp.path(), &config_path);
    events_until(
        &mut rx,
        Instant::now() + Duration::from_secs(30),
        "watch Active",
        |e| matches!(e, EngineEvent::Status { status, .. } if status.watch.state == WatchState::Active),
    )
    .await;

    relay.stall();
    events_until(
        &mut rx,
        Instant::now() + DETECTED_WITHIN,
        "no answer through the stalled relay",
        |e| matches!(e, EngineEvent::Status { status, .. } if status.connection.state == ConnectionState::NoAnswer),
    )
    .await;

    // The middlebox comes back without its state: the watch connections from before stay
    // silent forever. Changes made now reach hhdash only if it lists again over new ones.
    relay.recover();
    live_vpcs::change_while_away(&vpcs, ns).await;
    let fresh = live_vpcs::fresh(&vpcs).await;
    // Far below the 295 s after which kube's watcher would give up on a silent stream itself.
    live_vpcs::wait_for_stored(
        &store,
        "lb",
        Duration::from_secs(60),
        "the live set never matched a fresh list after recovery",
        |live| *live == fresh,
    )
    .await;
    // Over HTTP/2 the pings close the dead connection and the watchers may list again over a
    // new one before the next liveness probe logs the recovery.
    let logged_by = Instant::now() + Duration::from_secs(30);
    while !store
        .log("lb", 500)
        .unwrap()
        .iter()
        .any(|e| e.message.contains("answers again"))
    {
        assert!(Instant::now() < logged_by, "the recovery is logged");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    commands
        .send(hhdash::engine::Command::Shutdown)
        .await
        .unwrap();
}
