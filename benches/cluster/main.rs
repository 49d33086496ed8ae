//! Cluster benchmarks against a real control plane (testenv: kube-apiserver v1.34 + etcd on
//! 127.0.0.1), long scenarios rather than micro-benchmarks, so a plain `main` prints one
//! Markdown table per scenario:
//!
//! * `list`: 10,000 objects of realistic shapes (benches/fixture.rs) in one namespace; hhdash
//!   lists every registry kind and writes them to the store in one transaction, beside the same
//!   list without the store and `kubectl get <13 plurals> -o json` to /dev/null.
//! * `watch`: an hhdash engine (the same objects in Git, so all InSync) watches ~1,000 objects
//!   while a writer merge-patches them at a target of 1,000 changes/s for 30 s; every change
//!   must become visible in the engine's `Rows` events, and the lag from the server's
//!   acknowledgement to the `Rows` event is measured and split, with a plain kube watcher
//!   beside the engine, into the API server's delivery and the engine's own delay.
//!
//! Run: `cargo bench --bench cluster` (both), `cargo bench --bench cluster -- list` (one).
//! Knobs for quick runs: HHDASH_BENCH_LIST_OBJECTS, HHDASH_BENCH_LIST_RUNS,
//! HHDASH_BENCH_STORM_OBJECTS, HHDASH_BENCH_STORM_RATE, HHDASH_BENCH_STORM_SECS.
//! Each scenario starts (and drops) its own control plane, with testenv's imitation of the
//! Hedgehog admission webhooks in front of it as on a real fabric (every write is defaulted and
//! checked; objects are created in dependency order); HHDASH_BENCH_BARE=1 runs without it.
//! Numbers: docs/benchmarks.md.

#[path = "fixture.rs"]
mod fixture;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hhdash::cluster::{self, FabricClient};
use hhdash::config::{Config, FabricConfig};
use hhdash::desired::ObjectKey;
use hhdash::drift::Drift;
use hhdash::engine::{Command, EngineContext, EngineEvent, JobKind, JobPhase};
use hhdash::kinds::{self, KindInfo};
use hhdash::secret::Secret;
use hhdash::status::{KubernetesState, ResourceStatus, WatchState};
use hhdash::store::{Event, EventKind, LiveChange, Store};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::{Value, json};
use testenv::{ControlPlane, Identity, Options};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

const FABRIC: &str = "bench";
const SEQ_ANNOTATION: &str = "bench.hhdash/seq";
/// Creates in flight while populating a namespace.
const CREATE_CONCURRENCY: usize = 32;
/// Patches in flight during the watch storm (the rate limiter is the schedule, not this).
const STORM_CONCURRENCY: usize = 64;
const PATCH_TIMEOUT: Duration = Duration::from_secs(15);
const LIST_TIMEOUT: Duration = Duration::from_secs(120);
const KUBECTL_TIMEOUT: Duration = Duration::from_secs(180);
/// Engine event channel, as big as the headless CLI's.
const ENGINE_CHANNEL: usize = 1024;
/// A storm below this share of its target rate counts as "not sustained".
const SUSTAINED_SHARE: f64 = 0.95;

struct Settings {
    list_objects: usize,
    list_runs: usize,
    storm_objects: usize,
    storm_rate: f64,
    storm_secs: f64,
}

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a valid number")),
        Err(_) => default,
    }
}

impl Settings {
    fn from_env() -> Settings {
        Settings {
            list_objects: env_or("HHDASH_BENCH_LIST_OBJECTS", 10_000),
            list_runs: env_or("HHDASH_BENCH_LIST_RUNS", 5),
            storm_objects: env_or("HHDASH_BENCH_STORM_OBJECTS", 1_000),
            storm_rate: env_or("HHDASH_BENCH_STORM_RATE", 1_000.0),
            storm_secs: env_or("HHDASH_BENCH_STORM_SECS", 30.0),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo test --all-targets` runs bench binaries without `--bench`: skip the minutes of work.
    if !args.iter().any(|a| a == "--bench") {
        println!("cluster benchmarks: run with `cargo bench --bench cluster [-- list|watch]`");
        return;
    }
    let filters: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let scenarios = ["list", "watch"];
    let wanted: Vec<&str> = scenarios
        .into_iter()
        .filter(|name| filters.is_empty() || filters.iter().any(|f| name.contains(f)))
        .collect();
    if wanted.is_empty() {
        eprintln!("no scenario matches {filters:?}; the scenarios are: list, watch");
        std::process::exit(2);
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // kube logs every failed request; the control plane's readiness polls are many.
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("warn,kube_client::client::builder=off")
                }),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building the tokio runtime");
    let started = Instant::now();
    println!("# hhdash cluster benchmarks\n");
    println!("{}", machine_note());
    for name in wanted {
        let t = Instant::now();
        match name {
            "list" => runtime.block_on(list_scenario(&settings)),
            _ => runtime.block_on(watch_scenario(&settings)),
        }
        println!("\nscenario `{name}` took {}", fmt_dur(t.elapsed()));
    }
    println!("\nwhole bench: {}", fmt_dur(started.elapsed()));
}

// ---------------------------------------------------------------------------------------------
// Scenario 1: live list of 10,000 objects into the store.

async fn list_scenario(s: &Settings) {
    let ns = "bench-list";
    println!(
        "\n## `list`: live list of {} objects into the store\n",
        s.list_objects
    );
    let plane = start_plane(ns).await;
    let cpu_start = CpuSample::take(&plane);
    let objects = fixture_objects(s.list_objects, ns);
    let expected = count_kinds(
        objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap_or_default()),
    );
    let admin = plane.client(Identity::Admin);
    let created_in = create_all(&admin, ns, &objects, CREATE_CONCURRENCY).await;
    drop(objects);

    let temp = tempfile::tempdir().expect("creating a temp dir");
    let fabric = fabric_config(&plane, ns, temp.path(), None);
    let token = Secret::new(
        std::fs::read_to_string(plane.token_file(Identity::Operator))
            .expect("reading the operator token file"),
    );
    let client =
        FabricClient::new(&fabric, &token).unwrap_or_else(|e| panic!("hhdash's client: {e}"));
    tokio::time::timeout(Duration::from_secs(60), client.check(false))
        .await
        .expect("hhdash's connection check took over 60 s")
        .unwrap_or_else(|e| panic!("hhdash's connection check: {e}"));
    let store = Store::open(&temp.path().join("bench.redb"))
        .unwrap_or_else(|e| panic!("opening the store: {e}"));

    // Untimed warm-up, and the proof that hhdash lists exactly what was created.
    let warm = list_sequential(&client).await;
    let listed = count_kinds(warm.iter().map(|(k, _)| k.kind.as_str()));
    assert_eq!(listed, expected, "hhdash lists every created object");
    let bytes: usize = warm
        .iter()
        .map(|(_, v)| serde_json::to_vec(v).map(|b| b.len()).unwrap_or(0))
        .sum();
    drop(warm);
    let total = s.list_objects;

    let resources: Vec<&str> = kinds::KINDS.iter().map(|k| k.plural).collect();
    let resources = resources.join(",");
    // kubectl's first run fills its discovery cache (--cache-dir in the plane's temp dir).
    let (kubectl_cold, _) = kubectl_get(&plane, ns, &resources, false).await;

    let mut full = Vec::new();
    let mut full_list = Vec::new();
    let mut full_store = Vec::new();
    let mut list_only = Vec::new();
    let mut list_concurrent = Vec::new();
    let mut kubectl_warm = Vec::new();
    // Interleaved, so a load spike from elsewhere hits every contender alike.
    for _ in 0..s.list_runs {
        settle().await;
        let t = Instant::now();
        let entries = list_sequential(&client).await;
        let listed_in = t.elapsed();
        assert_eq!(entries.len(), total, "hhdash listed every object");
        let written = write_store(&store, entries);
        let took = t.elapsed();
        drop(written);
        full.push(took);
        full_list.push(listed_in);
        full_store.push(took - listed_in);

        settle().await;
        let t = Instant::now();
        let entries = list_sequential(&client).await;
        list_only.push(t.elapsed());
        assert_eq!(entries.len(), total, "hhdash listed every object");
        drop(entries);

        settle().await;
        let t = Instant::now();
        let entries = list_concurrent_all(&client).await;
        list_concurrent.push(t.elapsed());
        assert_eq!(entries.len(), total, "hhdash listed every object");
        drop(entries);

        settle().await;
        kubectl_warm.push(kubectl_get(&plane, ns, &resources, false).await.0);
    }

    // kubectl really returns all of them (checked outside the timed runs).
    let (_, output) = kubectl_get(&plane, ns, &resources, true).await;
    let output = output.unwrap_or_default();
    let kubectl_bytes = output.len();
    let output: Value = serde_json::from_slice(&output).expect("kubectl -o json prints JSON");
    let kubectl_items = output["items"].as_array().map_or(0, Vec::len);
    assert_eq!(kubectl_items, total, "kubectl lists every object");
    let stored = store
        .live(FABRIC)
        .unwrap_or_else(|e| panic!("reading the store: {e}"));
    assert_eq!(stored.len(), total, "the store holds every object");
    let cpu = CpuSample::take(&plane).since(&cpu_start);

    let rate = |d: Duration| format!("{:.0}/s", total as f64 / d.as_secs_f64());
    let kinds_line = expected
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!("Reproduce: `cargo bench --bench cluster -- list`\n");
    println!(
        "Objects: {kinds_line}; {} KiB as hhdash stores them (managedFields stripped), {} KiB as kubectl prints them.\n",
        bytes / 1024,
        kubectl_bytes / 1024
    );
    println!(
        "kubectl command (c): `kubectl --kubeconfig=<admin kubeconfig> --cache-dir=<plane dir> get {resources} -n {ns} -o json --request-timeout=60s >/dev/null`; runs are interleaved a, b, b', c with 1 s pauses.\n"
    );
    println!("| step | runs | median | min | objects/s (median) |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| create {total} objects (admin client, {CREATE_CONCURRENCY} in flight) | 1 | {} | | {} |",
        fmt_dur(created_in),
        rate(created_in)
    );
    let row = |what: &str, runs: &[Duration]| {
        println!(
            "| {what} | {} | {} | {} | {} |",
            runs.len(),
            fmt_dur(median(runs)),
            fmt_dur(min(runs)),
            rate(median(runs))
        );
    };
    row(
        "**(a) hhdash: `FabricClient::list` × 13 kinds + `Store::write_live` (one transaction)**",
        &full,
    );
    row("  (a) of which: list", &full_list);
    row("  (a) of which: store write", &full_store);
    row(
        "(b) hhdash: `FabricClient::list` × 13 kinds, sequential, no store",
        &list_only,
    );
    row(
        "(b') hhdash: the 13 lists concurrently (as the engine's watchers start), no store",
        &list_concurrent,
    );
    row(
        "(c) `kubectl get <13 plurals> -n NS -o json >/dev/null`, run 1 (cold discovery cache)",
        &[kubectl_cold],
    );
    row(
        "**(c) `kubectl get <13 plurals> -n NS -o json >/dev/null`, warm discovery cache**",
        &kubectl_warm,
    );
    let (ours, theirs) = (median(&full), median(&kubectl_warm));
    println!(
        "\nTarget hhdash (a) no slower than kubectl (c, warm): {} vs {} → {} ({:.2}×).",
        fmt_dur(ours),
        fmt_dur(theirs),
        if ours <= theirs { "met" } else { "NOT met" },
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
    println!("{}", cpu.describe());
    println!(
        "Bench process peak RSS (hhdash's lists + store, kubectl excluded): {}.",
        peak_rss()
    );
}

/// A pause between contenders, so one's aftermath (the API server's garbage collection after
/// a 10,000-object response) does not land on the next one's clock.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Every registry kind, one after another (as `hhdash diff` does).
async fn list_sequential(client: &FabricClient) -> Vec<(ObjectKey, Value)> {
    let mut all = Vec::new();
    for info in kinds::KINDS {
        all.extend(list_kind(client, info).await);
    }
    all
}

async fn list_concurrent_all(client: &FabricClient) -> Vec<(ObjectKey, Value)> {
    futures::future::join_all(kinds::KINDS.iter().map(|info| list_kind(client, info)))
        .await
        .into_iter()
        .flatten()
        .collect()
}

async fn list_kind(client: &FabricClient, info: &KindInfo) -> Vec<(ObjectKey, Value)> {
    tokio::time::timeout(LIST_TIMEOUT, client.list(info))
        .await
        .unwrap_or_else(|_| panic!("listing {} took over {LIST_TIMEOUT:?}", info.plural))
        .unwrap_or_else(|e| panic!("listing {}: {e}", info.plural))
}

/// What the engine stores for a re-listed kind: each object and its resource status.
fn write_store(
    store: &Store,
    entries: Vec<(ObjectKey, Value)>,
) -> (Vec<LiveChange>, Vec<(ObjectKey, ResourceStatus)>) {
    let now = hhdash::status::now();
    let mut changes = Vec::with_capacity(entries.len());
    let mut statuses = Vec::with_capacity(entries.len());
    for (key, object) in entries {
        let text = |field: &str| {
            object
                .get("metadata")
                .and_then(|m| m.get(field))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let status = ResourceStatus {
            state: KubernetesState::Live,
            uid: text("uid"),
            resource_version: text("resourceVersion"),
            created: text("creationTimestamp"),
            last_synced: Some(now),
            ..Default::default()
        };
        statuses.push((key.clone(), status));
        changes.push(LiveChange::Upsert { key, object });
    }
    store
        .write_live(FABRIC, &changes, &statuses, &[])
        .unwrap_or_else(|e| panic!("writing {} live objects: {e}", changes.len()));
    (changes, statuses)
}

/// `kubectl get RESOURCES -n NS -o json`, one process, stdout to /dev/null unless `capture`.
async fn kubectl_get(
    plane: &ControlPlane,
    ns: &str,
    resources: &str,
    capture: bool,
) -> (Duration, Option<Vec<u8>>) {
    let mut cmd = plane.kubectl(Identity::Admin);
    cmd.args([
        "get",
        resources,
        "-n",
        ns,
        "-o",
        "json",
        "--request-timeout=60s",
    ])
    .stdin(Stdio::null())
    .stdout(if capture {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stderr(Stdio::piped());
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    let t = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting kubectl: {e}"));
    let out = tokio::time::timeout(KUBECTL_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("kubectl get {resources} took over {KUBECTL_TIMEOUT:?}"))
        .expect("waiting for kubectl");
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "kubectl get {resources} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (took, capture.then_some(out.stdout))
}

// ---------------------------------------------------------------------------------------------
// Scenario 2: watch storm.

struct Target {
    key: ObjectKey,
    api: Api<DynamicObject>,
}

/// What the consumer of the engine's events saw.
struct Seen {
    /// Per target: every (seq, when) a `Rows` event carried, in arrival order.
    observed: Vec<Vec<(u64, Instant)>>,
    /// Per target: whether a `Rows` event carried it with a live object.
    live: Vec<bool>,
    /// Per target: whether the last `Rows` event with it said InSync.
    in_sync: Vec<bool>,
    syncs_started: u32,
    syncs_done: u32,
    sync_failures: Vec<String>,
    /// Per target: every (seq, when) the reference watcher (plain kube, no engine) received.
    raw: Vec<Vec<(u64, Instant)>>,
    /// Kinds whose reference watcher finished its initial list.
    raw_ready: usize,
    raw_errors: Vec<String>,
    rows_events: u64,
    /// When each `Rows` event arrived and how many upserts it carried.
    rows_at: Vec<(Instant, usize)>,
    upserts: u64,
    max_upserts: usize,
    removed: u64,
    log_events: u64,
    status_events: u64,
    other_events: u64,
    watch_active: bool,
    watch_errors: Vec<String>,
}

impl Seen {
    fn new(targets: usize) -> Seen {
        Seen {
            observed: vec![Vec::new(); targets],
            live: vec![false; targets],
            in_sync: vec![false; targets],
            syncs_started: 0,
            syncs_done: 0,
            sync_failures: Vec::new(),
            raw: vec![Vec::new(); targets],
            raw_ready: 0,
            raw_errors: Vec::new(),
            rows_events: 0,
            rows_at: Vec::new(),
            upserts: 0,
            max_upserts: 0,
            removed: 0,
            log_events: 0,
            status_events: 0,
            other_events: 0,
            watch_active: false,
            watch_errors: Vec::new(),
        }
    }

    /// The counters, to subtract one moment from another.
    fn counters(&self) -> [u64; 4] {
        [
            self.rows_events,
            self.upserts,
            self.log_events,
            self.status_events,
        ]
    }
}

fn seq_of(object: &Value) -> Option<u64> {
    object
        .get("metadata")?
        .get("annotations")?
        .get(SEQ_ANNOTATION)?
        .as_str()?
        .parse()
        .ok()
}

/// Drains the engine's events as fast as they come (a slow listener would throttle the engine).
async fn consume(
    mut rx: mpsc::Receiver<EngineEvent>,
    index: Arc<HashMap<ObjectKey, usize>>,
    seen: Arc<Mutex<Seen>>,
) {
    while let Some(event) = rx.recv().await {
        let now = Instant::now();
        match event {
            EngineEvent::Rows {
                upserts, removed, ..
            } => {
                let found: Vec<(usize, bool, bool, Option<u64>)> = upserts
                    .iter()
                    .filter_map(|row| {
                        let i = *index.get(&row.key)?;
                        let seq = row.live.as_deref().and_then(seq_of);
                        Some((i, row.live.is_some(), row.drift == Drift::InSync, seq))
                    })
                    .collect();
                let mut s = seen.lock().expect("seen lock");
                s.rows_events += 1;
                s.rows_at.push((now, upserts.len()));
                s.upserts += upserts.len() as u64;
                s.max_upserts = s.max_upserts.max(upserts.len());
                s.removed += removed.len() as u64;
                for (i, live, in_sync, seq) in found {
                    s.live[i] |= live;
                    s.in_sync[i] = in_sync;
                    if let Some(seq) = seq {
                        s.observed[i].push((seq, now));
                    }
                }
            }
            EngineEvent::Status { status, .. } => {
                let mut s = seen.lock().expect("seen lock");
                s.status_events += 1;
                match status.watch.state {
                    WatchState::Active => s.watch_active = true,
                    WatchState::Error => {
                        s.watch_active = false;
                        s.watch_errors
                            .push(status.watch.error.unwrap_or_else(|| "?".into()));
                    }
                    _ => {}
                }
            }
            EngineEvent::Log { .. } => seen.lock().expect("seen lock").log_events += 1,
            EngineEvent::Job {
                job: JobKind::Sync,
                phase,
                ..
            } => {
                let mut s = seen.lock().expect("seen lock");
                match phase {
                    JobPhase::Started { .. } => s.syncs_started += 1,
                    JobPhase::Succeeded { .. } => s.syncs_done += 1,
                    JobPhase::Failed { message } => {
                        s.syncs_done += 1;
                        s.sync_failures.push(message);
                    }
                    JobPhase::Progress { .. } => {}
                }
                s.other_events += 1;
            }
            _ => seen.lock().expect("seen lock").other_events += 1,
        }
    }
}

/// A plain kube watcher per kind beside the engine (same library, its own connection, nothing
/// done per event but a timestamp): when the API server delivered each change. The engine's
/// lag minus this one is the engine's own delay.
fn spawn_reference_watchers(
    client: &kube::Client,
    ns: &str,
    targets: &[Target],
    index: &Arc<HashMap<ObjectKey, usize>>,
    seen: &Arc<Mutex<Seen>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let kinds: std::collections::BTreeSet<&str> =
        targets.iter().map(|t| t.key.kind.as_str()).collect();
    kinds
        .into_iter()
        .map(|kind| {
            let info = kinds::by_kind(kind).expect("target kinds are registered");
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), ns, &cluster::api_resource(info));
            let (index, seen, ns) = (index.clone(), seen.clone(), ns.to_string());
            tokio::spawn(async move {
                let mut stream = watcher::watcher(api, watcher::Config::default()).boxed();
                while let Some(event) = stream.next().await {
                    let now = Instant::now();
                    match event {
                        Ok(watcher::Event::Apply(object)) => {
                            let seq = object
                                .metadata
                                .annotations
                                .as_ref()
                                .and_then(|a| a.get(SEQ_ANNOTATION))
                                .and_then(|s| s.parse().ok());
                            let key = ObjectKey {
                                kind: info.kind.to_string(),
                                namespace: ns.clone(),
                                name: object.metadata.name.unwrap_or_default(),
                            };
                            if let (Some(seq), Some(&i)) = (seq, index.get(&key)) {
                                seen.lock().expect("seen lock").raw[i].push((seq, now));
                            }
                        }
                        Ok(watcher::Event::InitDone) => {
                            seen.lock().expect("seen lock").raw_ready += 1;
                        }
                        Ok(_) => {}
                        Err(error) => seen
                            .lock()
                            .expect("seen lock")
                            .raw_errors
                            .push(format!("{}: {error}", info.plural)),
                    }
                }
            })
        })
        .collect()
}

/// One acknowledged patch.
#[derive(Clone, Copy)]
struct Write {
    seq: u64,
    target: usize,
    sent: Instant,
    ack: Instant,
    /// The object's resourceVersion in the answer: the server's order of writes to it.
    rv: u64,
}

struct Storm {
    rate: f64,
    secs: f64,
    start: Instant,
    planned: u64,
    issued: u64,
    writes: Vec<Write>,
    failures: Vec<String>,
    max_behind: Duration,
    cpu: CpuDelta,
    engine: [u64; 4],
}

async fn watch_scenario(s: &Settings) {
    let ns = "bench-watch";
    println!(
        "\n## `watch`: storm of merge patches on {} watched objects\n",
        s.storm_objects
    );
    let plane = start_plane(ns).await;
    let objects = fixture_objects(s.storm_objects, ns);
    let admin = plane.client(Identity::Admin);
    let created_in = create_all(&admin, ns, &objects, CREATE_CONCURRENCY).await;
    let targets: Vec<Target> = objects
        .iter()
        .map(|object| {
            let kind = object["kind"].as_str().unwrap_or_default();
            let info = kinds::by_kind(kind).expect("fixture kinds are registered");
            Target {
                key: ObjectKey {
                    kind: kind.to_string(),
                    namespace: ns.to_string(),
                    name: object["metadata"]["name"]
                        .as_str()
                        .expect("fixture objects have names")
                        .to_string(),
                },
                api: Api::namespaced_with(admin.clone(), ns, &cluster::api_resource(info)),
            }
        })
        .collect();
    let targets = Arc::new(targets);
    let index: Arc<HashMap<ObjectKey, usize>> = Arc::new(
        targets
            .iter()
            .enumerate()
            .map(|(i, t)| (t.key.clone(), i))
            .collect(),
    );

    // The engine, as `hhdash` starts it, with the operator's token and the same objects in Git
    // (so every change is compared with its desired object, as in real use).
    let temp = tempfile::tempdir().expect("creating a temp dir");
    let repo = git_repo(temp.path(), s.storm_objects, ns);
    let fabric = fabric_config(&plane, ns, temp.path(), Some((&repo, "fabric")));
    let store = Arc::new(
        Store::open(&temp.path().join("engine.redb"))
            .unwrap_or_else(|e| panic!("opening the store: {e}")),
    );
    let (tx, rx) = mpsc::channel(ENGINE_CHANNEL);
    let ctx = EngineContext {
        store: store.clone(),
        key_file: temp.path().join("key"),
        git_cache_dir: temp.path().join("cache"),
    };
    let engine_started = Instant::now();
    let commands = hhdash::engine::start_all(std::slice::from_ref(&fabric), ctx, tx)
        .remove(0)
        .1;
    // The engine may also sync by itself on start (Git polling); requests coalesce.
    commands
        .send(Command::Sync)
        .await
        .expect("the engine takes commands");
    let seen = Arc::new(Mutex::new(Seen::new(targets.len())));
    let consumer = tokio::spawn(consume(rx, index.clone(), seen.clone()));
    let reference =
        spawn_reference_watchers(&plane.client(Identity::Admin), ns, &targets, &index, &seen);
    let reference_kinds = reference.len();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        {
            let s = seen.lock().expect("seen lock");
            let visible = s.live.iter().filter(|v| **v).count();
            let in_sync = s.in_sync.iter().filter(|v| **v).count();
            assert!(
                s.sync_failures.is_empty(),
                "the engine's Git sync failed: {:?}",
                s.sync_failures
            );
            let synced = s.syncs_done > 0 && s.syncs_done == s.syncs_started;
            if s.watch_active
                && synced
                && visible == targets.len()
                && in_sync == targets.len()
                && s.raw_ready >= reference_kinds
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "after 90 s the engine's watch is {} with {visible}/{} objects live in Rows events, {in_sync} InSync, {}/{} syncs done; watch errors: {:?}",
                if s.watch_active {
                    "Active"
                } else {
                    "not Active"
                },
                targets.len(),
                s.syncs_done,
                s.syncs_started,
                s.watch_errors
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready_in = engine_started.elapsed();

    let mut rv_of: HashMap<u64, u64> = HashMap::new();
    let mut storms = Vec::new();
    let mut next_seq = 1;
    let first = storm(
        &plane,
        &targets,
        &seen,
        s.storm_rate,
        s.storm_secs,
        next_seq,
    )
    .await;
    next_seq += first.issued;
    let achieved = first.writes.len() as f64 / first.secs;
    storms.push(first);
    if achieved < SUSTAINED_SHARE * s.storm_rate {
        // Not sustained: measure again at a rate the server keeps up with, so the lag is not
        // just the writer's queue.
        let sustainable = ((achieved * 0.8 / 50.0).floor() * 50.0).max(50.0);
        storms.push(storm(&plane, &targets, &seen, sustainable, s.storm_secs, next_seq).await);
    }
    for storm in &storms {
        for w in &storm.writes {
            rv_of.insert(w.seq, w.rv);
        }
    }

    // The server's final state is the truth every change must reach.
    let settle_start = Instant::now();
    let server = server_seqs(&targets).await;
    let last_ack = storms
        .iter()
        .flat_map(|s| s.writes.iter().map(|w| w.ack))
        .max()
        .unwrap_or(settle_start);
    let deadline = Instant::now() + Duration::from_secs(60);
    let (engine_final, drained_at) = loop {
        let last: Vec<Option<u64>> = {
            let s = seen.lock().expect("seen lock");
            s.observed
                .iter()
                .map(|o| o.last().map(|(seq, _)| *seq))
                .collect()
        };
        let matching = last.iter().zip(&server).filter(|(a, b)| a == b).count();
        if matching == targets.len() {
            break (last, Some(Instant::now()));
        }
        if Instant::now() > deadline {
            break (last, None);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let engine_matches = engine_final
        .iter()
        .zip(&server)
        .filter(|(a, b)| a == b)
        .count();
    let stored: HashMap<ObjectKey, Option<u64>> = store
        .live(FABRIC)
        .unwrap_or_else(|e| panic!("reading the store: {e}"))
        .into_iter()
        .map(|(k, v)| (k, seq_of(&v)))
        .collect();
    let store_matches = targets
        .iter()
        .zip(&server)
        .filter(|(t, seq)| stored.get(&t.key) == Some(*seq))
        .count();
    // The last acknowledged write per object (in the server's order) is what the server holds.
    let mut last_written: Vec<Option<(u64, u64)>> = vec![None; targets.len()];
    for w in storms.iter().flat_map(|s| &s.writes) {
        let slot = &mut last_written[w.target];
        if slot.is_none_or(|(rv, _)| w.rv > rv) {
            *slot = Some((w.rv, w.seq));
        }
    }
    let server_is_last_write = last_written
        .iter()
        .zip(&server)
        .filter(|(w, seq)| w.map(|(_, s)| s) == **seq)
        .count();

    commands
        .send(Command::Shutdown)
        .await
        .expect("the engine takes commands");
    if tokio::time::timeout(Duration::from_secs(10), consumer)
        .await
        .is_err()
    {
        eprintln!("the engine did not close its event channel within 10 s of Shutdown");
    }
    for handle in reference {
        handle.abort();
    }
    // What the fabric's bounded event log holds after the storm.
    let log = store
        .events(FABRIC, 10 * hhdash::store::EVENTS_PER_FABRIC as usize)
        .unwrap_or_else(|e| panic!("reading the event log: {e}"));
    let log_names: Vec<String> = log.iter().map(|e| format!("{:?}", e.what)).collect();
    let log_kinds = count_kinds(log_names.iter().map(String::as_str));
    let log_errors: Vec<String> = log
        .iter()
        .filter(|e| e.what == EventKind::Error)
        .map(|e| e.message.clone())
        .collect();
    let burst = burst_commit_cost(temp.path(), &store);

    let seen = seen.lock().expect("seen lock");
    println!("Reproduce: `cargo bench --bench cluster -- watch`\n");
    println!(
        "Setup: {} objects created in {}; the engine (operator token, all 13 kinds watched) showed all of them {} after it started.\n",
        targets.len(),
        fmt_dur(created_in),
        fmt_dur(ready_in)
    );
    let mut problems = Vec::new();
    for (n, storm) in storms.iter().enumerate() {
        print_storm(n + 1, storm, &seen, &rv_of, &mut problems);
    }
    let all_writes: usize = storms.iter().map(|s| s.writes.len()).sum();
    println!(
        "\nAfter the storm{}:\n",
        if storms.len() > 1 { "s" } else { "" }
    );
    println!("| check | result |");
    println!("|---|---|");
    println!(
        "| last ack → every object's final value in a Rows event | {} |",
        match drained_at {
            Some(at) => fmt_dur(at.saturating_duration_since(last_ack)),
            None => "never (60 s)".into(),
        }
    );
    println!(
        "| engine's final live annotation = server's = last acknowledged write | {engine_matches}/{n} objects (server = last write: {server_is_last_write}/{n}) |",
        n = targets.len()
    );
    println!(
        "| store's live annotation = server's | {store_matches}/{} objects |",
        targets.len()
    );
    let in_sync = seen.in_sync.iter().filter(|v| **v).count();
    println!(
        "| drift verdicts after the storms (the annotation is not in Git, so not drift) | InSync {in_sync}/{} |",
        targets.len()
    );
    println!(
        "| writes acknowledged, all storms | {all_writes} |\n| engine events, whole scenario | {} Rows ({} upserts, max {} per event, {} removed), {} Log, {} Status, {} other |",
        seen.rows_events,
        seen.upserts,
        seen.max_upserts,
        seen.removed,
        seen.log_events,
        seen.status_events,
        seen.other_events
    );
    println!(
        "| fabric event log after the storms ({} kept) | {} |",
        hhdash::store::EVENTS_PER_FABRIC,
        log_kinds
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !log_errors.is_empty() {
        println!(
            "| Error entries in the event log | {} |",
            log_errors.join("; ").replace('|', "\\|")
        );
    }
    println!(
        "| `Store::write_live` of one engine-sized burst (5 objects + 5 statuses + 5 log events, log full), separate store file | {burst} |"
    );
    println!(
        "| reference watcher errors | {} |",
        if seen.raw_errors.is_empty() {
            "none".to_string()
        } else {
            seen.raw_errors.join("; ")
        }
    );
    println!(
        "| watch errors | {} |",
        if seen.watch_errors.is_empty() {
            "none".to_string()
        } else {
            seen.watch_errors.join("; ")
        }
    );
    if engine_matches != targets.len() {
        problems.push(format!(
            "the engine's final value differs from the server's for {} objects",
            targets.len() - engine_matches
        ));
    }
    if store_matches != targets.len() {
        problems.push(format!(
            "the store's final value differs from the server's for {} objects",
            targets.len() - store_matches
        ));
    }
    if !seen.watch_errors.is_empty() {
        problems.push(format!("watch errors: {:?}", seen.watch_errors));
    }
    if in_sync != targets.len() {
        problems.push(format!(
            "{} objects are not InSync after the storm",
            targets.len() - in_sync
        ));
    }
    drop(seen);
    drop(plane);
    assert!(problems.is_empty(), "watch storm: {}", problems.join("; "));
}

/// What one engine burst costs in the store, in steady state (event log already full, so each
/// append also trims): 5 upserts, their statuses and 5 log events, as a storm's mean burst.
fn burst_commit_cost(dir: &Path, engine_store: &Store) -> String {
    let store = Store::open(&dir.join("burst.redb"))
        .unwrap_or_else(|e| panic!("opening the burst store: {e}"));
    let live = engine_store
        .live(FABRIC)
        .unwrap_or_else(|e| panic!("reading the store: {e}"));
    assert!(!live.is_empty(), "the engine stored live objects");
    let entries: Vec<(ObjectKey, Value)> = live.into_iter().collect();
    drop(write_store(&store, entries.clone()));
    let per_burst = 5;
    let rounds = 2 * hhdash::store::EVENTS_PER_FABRIC as usize / per_burst;
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let slice: Vec<(ObjectKey, Value)> = (0..per_burst)
            .map(|i| entries[(round * per_burst + i) % entries.len()].clone())
            .collect();
        let events: Vec<Event> = slice
            .iter()
            .map(|(key, _)| Event {
                time: hhdash::status::now(),
                what: EventKind::Modified,
                object: Some(format!("{}/{}", key.kind, key.name)),
                message: "modified in the cluster".into(),
            })
            .collect();
        let changes: Vec<LiveChange> = slice
            .iter()
            .map(|(key, object)| LiveChange::Upsert {
                key: key.clone(),
                object: object.clone(),
            })
            .collect();
        let statuses: Vec<(ObjectKey, ResourceStatus)> = slice
            .iter()
            .map(|(key, _)| (key.clone(), ResourceStatus::default()))
            .collect();
        let t = Instant::now();
        store
            .write_live(FABRIC, &changes, &statuses, &events)
            .unwrap_or_else(|e| panic!("writing a burst: {e}"));
        times.push(t.elapsed());
    }
    // The second half: the log is full, every append trims.
    let mut steady = times[rounds / 2..].to_vec();
    steady.sort();
    format!(
        "median {} / p99 {} per transaction ({} transactions)",
        fmt_dur(median(&steady)),
        fmt_dur(pct(&steady, 99.0)),
        steady.len()
    )
}

/// Merge-patches `SEQ_ANNOTATION` on round-robin targets at `rate` per second for `secs`.
async fn storm(
    plane: &ControlPlane,
    targets: &Arc<Vec<Target>>,
    seen: &Arc<Mutex<Seen>>,
    rate: f64,
    secs: f64,
    first_seq: u64,
) -> Storm {
    let cpu_start = CpuSample::take(plane);
    let engine_start = seen.lock().expect("seen lock").counters();
    let planned = (rate * secs).round() as u64;
    let semaphore = Arc::new(Semaphore::new(STORM_CONCURRENCY));
    let mut tasks = JoinSet::new();
    let mut writes = Vec::with_capacity(planned as usize);
    let mut failures = Vec::new();
    let mut collect = |done: Result<Result<Write, String>, tokio::task::JoinError>| match done {
        Ok(Ok(write)) => writes.push(write),
        Ok(Err(error)) => failures.push(error),
        Err(error) => failures.push(format!("a patch task failed: {error}")),
    };
    let start = Instant::now() + Duration::from_millis(20);
    let end = start + Duration::from_secs_f64(secs);
    let mut issued = 0;
    let mut max_behind = Duration::ZERO;
    while issued < planned {
        let due = start + Duration::from_secs_f64(issued as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore stays open");
        let now = Instant::now();
        if now >= end {
            break; // what did not go out within the window was not sustained
        }
        max_behind = max_behind.max(now - due);
        let seq = first_seq + issued;
        let target = (seq % targets.len() as u64) as usize;
        let targets = targets.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let t = &targets[target];
            let patch = json!({"metadata": {"annotations": {SEQ_ANNOTATION: seq.to_string()}}});
            let sent = Instant::now();
            let answer = tokio::time::timeout(
                PATCH_TIMEOUT,
                t.api
                    .patch(&t.key.name, &PatchParams::default(), &Patch::Merge(&patch)),
            )
            .await;
            let ack = Instant::now();
            match answer {
                Ok(Ok(object)) => Ok(Write {
                    seq,
                    target,
                    sent,
                    ack,
                    rv: object
                        .metadata
                        .resource_version
                        .as_deref()
                        .and_then(|rv| rv.parse().ok())
                        .ok_or_else(|| format!("patching {}: no numeric resourceVersion", t.key))?,
                }),
                Ok(Err(error)) => Err(format!("patching {}: {error}", t.key)),
                Err(_) => Err(format!(
                    "patching {}: no answer in {PATCH_TIMEOUT:?}",
                    t.key
                )),
            }
        });
        issued += 1;
        while let Some(done) = tasks.try_join_next() {
            collect(done);
        }
    }
    let deadline = tokio::time::Instant::now() + PATCH_TIMEOUT + Duration::from_secs(5);
    while let Some(done) = tokio::time::timeout_at(deadline, tasks.join_next())
        .await
        .expect("patches still unanswered long after the storm")
    {
        collect(done);
    }
    writes.sort_by_key(|w| w.seq);
    let engine_end = seen.lock().expect("seen lock").counters();
    let mut engine = [0; 4];
    for (i, slot) in engine.iter_mut().enumerate() {
        *slot = engine_end[i] - engine_start[i];
    }
    Storm {
        rate,
        secs,
        start,
        planned,
        issued,
        writes,
        failures,
        max_behind,
        cpu: CpuSample::take(plane).since(&cpu_start),
        engine,
    }
}

/// The `SEQ_ANNOTATION` of every target as the server has it now.
async fn server_seqs(targets: &[Target]) -> Vec<Option<u64>> {
    let mut by_kind: BTreeMap<&str, &Api<DynamicObject>> = BTreeMap::new();
    for t in targets {
        by_kind.entry(t.key.kind.as_str()).or_insert(&t.api);
    }
    let mut seqs: HashMap<(String, String), Option<u64>> = HashMap::new();
    for (kind, api) in by_kind {
        let list = tokio::time::timeout(LIST_TIMEOUT, api.list(&ListParams::default()))
            .await
            .unwrap_or_else(|_| panic!("listing {kind} took over {LIST_TIMEOUT:?}"))
            .unwrap_or_else(|e| panic!("listing {kind} as admin: {e}"));
        for object in list.items {
            let seq = object
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(SEQ_ANNOTATION))
                .and_then(|s| s.parse().ok());
            let name = object.metadata.name.unwrap_or_default();
            seqs.insert((kind.to_string(), name), seq);
        }
    }
    targets
        .iter()
        .map(|t| {
            *seqs
                .get(&(t.key.kind.clone(), t.key.name.clone()))
                .unwrap_or_else(|| panic!("{} is gone from the server", t.key))
        })
        .collect()
}

/// When each write became visible: the first `Rows` event carrying that write or a later one
/// (in the server's order) of the same object.
fn visible_at(
    writes: &[Write],
    observed: &[Vec<(u64, Instant)>],
    rv_of: &HashMap<u64, u64>,
) -> Vec<Option<Instant>> {
    writes
        .iter()
        .map(|w| {
            observed[w.target]
                .iter()
                .find(|(seq, _)| rv_of.get(seq).is_some_and(|rv| *rv >= w.rv))
                .map(|(_, at)| *at)
        })
        .collect()
}

fn print_storm(
    n: usize,
    storm: &Storm,
    seen: &Seen,
    rv_of: &HashMap<u64, u64>,
    problems: &mut Vec<String>,
) {
    let writes = &storm.writes;
    let visible = visible_at(writes, &seen.observed, rv_of);
    let observed_seqs: std::collections::HashSet<u64> = seen
        .observed
        .iter()
        .flat_map(|o| o.iter().map(|(seq, _)| *seq))
        .collect();
    let exact = writes
        .iter()
        .filter(|w| observed_seqs.contains(&w.seq))
        .count();
    let reflected = visible.iter().filter(|v| v.is_some()).count();
    let mut early = 0;
    let mut lags: Vec<Duration> = writes
        .iter()
        .zip(&visible)
        .filter_map(|(w, v)| {
            let v = (*v)?;
            if v < w.ack {
                early += 1;
            }
            Some(v.saturating_duration_since(w.ack))
        })
        .collect();
    lags.sort();
    let raw_visible = visible_at(writes, &seen.raw, rv_of);
    let mut raw_lags: Vec<Duration> = writes
        .iter()
        .zip(&raw_visible)
        .filter_map(|(w, v)| Some(v.as_ref()?.saturating_duration_since(w.ack)))
        .collect();
    raw_lags.sort();
    let mut engine_delay: Vec<Duration> = raw_visible
        .iter()
        .zip(&visible)
        .filter_map(|(raw, rows)| Some(rows.as_ref()?.saturating_duration_since(*raw.as_ref()?)))
        .collect();
    engine_delay.sort();
    let mut upper: Vec<Duration> = writes
        .iter()
        .zip(&visible)
        .filter_map(|(w, v)| Some(v.as_ref()?.saturating_duration_since(w.sent)))
        .collect();
    upper.sort();
    let four = |d: &[Duration]| {
        format!(
            "{} / {} / {} / {}",
            fmt_dur(pct(d, 50.0)),
            fmt_dur(pct(d, 90.0)),
            fmt_dur(pct(d, 99.0)),
            fmt_dur(pct(d, 100.0))
        )
    };
    let mut latencies: Vec<Duration> = writes.iter().map(|w| w.ack - w.sent).collect();
    latencies.sort();
    let last_ack = writes.iter().map(|w| w.ack).max().unwrap_or(storm.start);
    let span = last_ack
        .saturating_duration_since(storm.start)
        .as_secs_f64();
    let achieved = writes.len() as f64 / span.max(f64::EPSILON);
    // Objects patched again while an earlier patch of theirs was still in flight.
    let reordered = {
        let mut by_target: HashMap<usize, Vec<&Write>> = HashMap::new();
        for w in writes {
            by_target.entry(w.target).or_default().push(w);
        }
        by_target
            .values()
            .map(|ws| ws.windows(2).filter(|p| p[1].rv < p[0].rv).count())
            .sum::<usize>()
    };
    let [rows, upserts, logs, _] = storm.engine;
    println!(
        "### storm {n}: target {:.0} changes/s for {:.0} s{}\n",
        storm.rate,
        storm.secs,
        if n > 1 {
            " (the rate the first storm showed this machine sustains, with margin)"
        } else {
            ""
        }
    );
    println!("| metric | value |");
    println!("|---|---|");
    println!(
        "| writes planned / issued / acknowledged / failed | {} / {} / {} / {} |",
        storm.planned,
        storm.issued,
        writes.len(),
        storm.failures.len()
    );
    println!(
        "| **achieved write rate** | **{achieved:.0}/s** ({} acknowledged in {span:.1} s; writer at most {} behind schedule, {STORM_CONCURRENCY} in flight max) |",
        writes.len(),
        fmt_dur(storm.max_behind)
    );
    println!(
        "| patch latency, send → ack, p50 / p99 / max | {} / {} / {} |",
        fmt_dur(pct(&latencies, 50.0)),
        fmt_dur(pct(&latencies, 99.0)),
        fmt_dur(pct(&latencies, 100.0))
    );
    println!(
        "| **changes reflected** in Rows events (the write or a later one of its object) | **{reflected} / {}** |",
        writes.len()
    );
    println!(
        "| seqs observed exactly (the rest coalesced into a later value in the same burst) | {exact} ({:.1}%) |",
        100.0 * exact as f64 / writes.len().max(1) as f64
    );
    println!(
        "| **lag, ack → visible in Rows, p50 / p90 / p99 / max** | **{} / {} / {} / {}** |",
        fmt_dur(pct(&lags, 50.0)),
        fmt_dur(pct(&lags, 90.0)),
        fmt_dur(pct(&lags, 99.0)),
        fmt_dur(pct(&lags, 100.0))
    );
    println!("| visible before the writer had the ack (counted as 0) | {early} |");
    println!(
        "| of which API server: ack → reference kube watcher event, p50 / p90 / p99 / max | {} ({} of {} seen) |",
        four(&raw_lags),
        raw_lags.len(),
        writes.len()
    );
    println!(
        "| of which engine: reference watcher event → Rows event, p50 / p90 / p99 / max | {} |",
        four(&engine_delay)
    );
    println!(
        "| send → visible in Rows (upper bound: includes the patch round trip), p50 / p90 / p99 / max | {} |",
        four(&upper)
    );
    println!(
        "| engine during the storm: Rows events / upserts / Log events | {rows} / {upserts} / {logs} (mean {:.1} upserts per Rows event) |",
        upserts as f64 / rows.max(1) as f64
    );
    // Gaps between Rows events while changes kept coming: the engine's stalls.
    let during: Vec<(Instant, usize)> = seen
        .rows_at
        .iter()
        .copied()
        .filter(|(at, _)| *at >= storm.start && *at <= last_ack)
        .collect();
    let gaps: Vec<Duration> = during.windows(2).map(|p| p[1].0 - p[0].0).collect();
    let max_gap = gaps.iter().max().copied().unwrap_or_default();
    let long_gaps = gaps
        .iter()
        .filter(|g| **g >= Duration::from_millis(100))
        .count();
    let max_burst = during.iter().map(|(_, n)| *n).max().unwrap_or(0);
    println!(
        "| engine stalls: longest gap between Rows events / gaps ≥ 100 ms / largest Rows event | {} / {long_gaps} / {max_burst} upserts |",
        fmt_dur(max_gap)
    );
    println!("| same object patched out of order (concurrent patches) | {reordered} |");
    println!("| CPU during the storm | {} |", storm.cpu.describe_short());
    let p99 = pct(&lags, 99.0);
    println!(
        "\nTarget p99 < 1 s: {} (p99 {}). Rate {:.0}/s {}.\n",
        if p99 < Duration::from_secs(1) {
            "met"
        } else {
            "NOT met"
        },
        fmt_dur(p99),
        storm.rate,
        if achieved >= SUSTAINED_SHARE * storm.rate {
            "sustained"
        } else {
            "NOT sustained"
        }
    );
    // Lag over time: does it grow?
    println!(
        "| window (by ack time) | acked | rate | lag p50 | lag p99 | lag max | API server p99 | engine p99 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let window = 5.0;
    let windows = (storm.secs / window).ceil() as usize + 1;
    for i in 0..windows {
        let (from, to) = (i as f64 * window, (i + 1) as f64 * window);
        let in_window: Vec<usize> = (0..writes.len())
            .filter(|&i| {
                let at = writes[i]
                    .ack
                    .saturating_duration_since(storm.start)
                    .as_secs_f64();
                at >= from && at < to
            })
            .collect();
        if in_window.is_empty() {
            continue;
        }
        let sorted = |f: &dyn Fn(usize) -> Option<Duration>| {
            let mut d: Vec<Duration> = in_window.iter().filter_map(|&i| f(i)).collect();
            d.sort();
            d
        };
        let lags = sorted(&|i| Some(visible[i]?.saturating_duration_since(writes[i].ack)));
        let raw = sorted(&|i| Some(raw_visible[i]?.saturating_duration_since(writes[i].ack)));
        let engine = sorted(&|i| Some(visible[i]?.saturating_duration_since(raw_visible[i]?)));
        println!(
            "| {from:.0}–{to:.0} s | {} | {:.0}/s | {} | {} | {} | {} | {} |",
            in_window.len(),
            in_window.len() as f64 / window,
            fmt_dur(pct(&lags, 50.0)),
            fmt_dur(pct(&lags, 99.0)),
            fmt_dur(pct(&lags, 100.0)),
            fmt_dur(pct(&raw, 99.0)),
            fmt_dur(pct(&engine, 99.0))
        );
    }
    if !storm.failures.is_empty() {
        println!(
            "\nFailed patches ({}), first: {}",
            storm.failures.len(),
            storm.failures[0]
        );
    }
    println!();
    if reflected != writes.len() {
        problems.push(format!(
            "storm {n}: {} acknowledged changes never became visible",
            writes.len() - reflected
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers.

async fn start_plane(ns: &str) -> ControlPlane {
    let t = Instant::now();
    let plane = tokio::time::timeout(
        Duration::from_secs(120),
        ControlPlane::start_with(Options {
            namespaces: vec![ns.to_string()],
            webhook: std::env::var_os("HHDASH_BENCH_BARE").is_none(),
            ..Default::default()
        }),
    )
    .await
    .expect("the control plane did not start within 120 s")
    .unwrap_or_else(|e| {
        panic!("starting the control plane (scripts/build-control-plane builds it): {e}")
    });
    plane
        .grant(ns)
        .await
        .unwrap_or_else(|e| panic!("granting {ns}: {e}"));
    println!(
        "Control plane {} up in {} (Kubernetes {}, watch cache on, {}).\n",
        plane.server_url(),
        fmt_dur(t.elapsed()),
        testenv::KUBERNETES_VERSION,
        if plane.has_webhook() {
            "Hedgehog admission webhooks imitated"
        } else {
            "bare: no admission webhooks"
        }
    );
    plane
}

/// `count` documents of the fixture (renamed copies of nvidia-air-demo), moved to `ns`.
fn fixture_objects(count: usize, ns: &str) -> Vec<Value> {
    let mut objects = Vec::with_capacity(count);
    for (path, text) in fixture::generated_fabric(count, count.max(1)) {
        for document in serde_yaml::Deserializer::from_str(&text) {
            let mut value: Value = serde::Deserialize::deserialize(document)
                .unwrap_or_else(|e| panic!("fixture {path}: {e}"));
            if value.is_null() {
                continue;
            }
            let kind = value["kind"].as_str().unwrap_or_default();
            assert!(
                kinds::by_kind(kind).is_some(),
                "fixture kind {kind:?} is not in hhdash's registry"
            );
            value["metadata"]["namespace"] = json!(ns);
            objects.push(value);
        }
    }
    assert_eq!(objects.len(), count, "the fixture makes {count} objects");
    objects
}

fn count_kinds<'a>(kinds: impl Iterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for kind in kinds {
        *counts.entry(kind.to_string()).or_insert(0) += 1;
    }
    counts
}

/// Creates `objects` with bounded concurrency, one apply rank after the other (the admission
/// webhook refuses an object before what it refers to); retries a create that failed for want
/// of an answer (a 409 on a retry means the first attempt got through). Returns the wall time.
async fn create_all(
    client: &kube::Client,
    ns: &str,
    objects: &[Value],
    concurrency: usize,
) -> Duration {
    let t = Instant::now();
    let mut ranks: BTreeMap<Option<u8>, Vec<&Value>> = BTreeMap::new();
    for object in objects {
        let rank =
            kinds::by_kind(object["kind"].as_str().unwrap_or_default()).and_then(|k| k.apply_rank);
        ranks.entry(rank).or_default().push(object);
    }
    let results: Vec<Result<(), String>> = tokio::time::timeout(
        Duration::from_secs(600),
        futures::stream::iter(ranks.into_values())
            .then(|group| create_group(client, ns, group, concurrency))
            .flat_map(futures::stream::iter)
            .collect(),
    )
    .await
    .expect("creating the objects took over 10 minutes");
    let errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        errors.is_empty(),
        "{} of {} creates failed; first: {}",
        errors.len(),
        objects.len(),
        errors[0]
    );
    t.elapsed()
}

/// Creates one rank's objects, `concurrency` at a time; one result per object.
async fn create_group(
    client: &kube::Client,
    ns: &str,
    objects: Vec<&Value>,
    concurrency: usize,
) -> Vec<Result<(), String>> {
    futures::stream::iter(objects)
        .map(|object| {
            let client = client.clone();
            async move {
                let kind = object["kind"].as_str().unwrap_or_default();
                let name = object["metadata"]["name"].as_str().unwrap_or_default();
                let info = kinds::by_kind(kind).expect("fixture kinds are registered");
                let api: Api<DynamicObject> =
                    Api::namespaced_with(client, ns, &cluster::api_resource(info));
                let object: DynamicObject = serde_json::from_value(object.clone())
                    .map_err(|e| format!("{kind}/{name} is not an object: {e}"))?;
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let answer = tokio::time::timeout(
                        Duration::from_secs(30),
                        api.create(&PostParams::default(), &object),
                    )
                    .await;
                    let error = match answer {
                        Ok(Ok(_)) => return Ok(()),
                        Ok(Err(kube::Error::Api(s))) if s.code == 409 && attempt > 1 => {
                            return Ok(());
                        }
                        Ok(Err(kube::Error::Api(s))) if s.code < 500 && s.code != 429 => {
                            return Err(format!(
                                "creating {kind}/{name}: {} {}: {}",
                                s.code, s.reason, s.message
                            ));
                        }
                        Ok(Err(e)) => e.to_string(),
                        Err(_) => "no answer within 30 s".to_string(),
                    };
                    if attempt == 3 {
                        return Err(format!("creating {kind}/{name}: {error} (3 attempts)"));
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// A Git repository whose `fabric/` holds the same `count` fixture objects, in `ns`.
fn git_repo(dir: &Path, count: usize, ns: &str) -> std::path::PathBuf {
    let repo = dir.join("repo");
    for (path, text) in fixture::generated_fabric(count, 100) {
        let path = repo.join(path);
        std::fs::create_dir_all(path.parent().expect("fixture paths have a directory"))
            .expect("creating the repository's directories");
        let text = text.replace(
            "\n  namespace: default\n",
            &format!("\n  namespace: {ns}\n"),
        );
        std::fs::write(&path, text).expect("writing a fixture file");
    }
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &["commit", "-q", "-m", "fabric"],
    ] {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "init.defaultBranch=main",
                "-c",
                "commit.gpgsign=false",
            ])
            .args([
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@hhdash.invalid",
            ])
            .args(args)
            .current_dir(&repo)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    repo
}

/// A fabric as `hhdash` would read it from its config: the plane's URL, the operator's token
/// file and the CA file; Git is `git` (repository, directory) or a path that is not one.
fn fabric_config(
    plane: &ControlPlane,
    ns: &str,
    dir: &Path,
    git: Option<(&Path, &str)>,
) -> FabricConfig {
    let no_repo = dir.join("no-repo");
    let (repo, directory) = git.unwrap_or((&no_repo, ""));
    let text = format!(
        "[[fabric]]\nname = {FABRIC:?}\nnamespace = {ns:?}\n[fabric.kubernetes]\nserver = {:?}\ntoken_file = {:?}\nca_cert_file = {:?}\n[fabric.git]\nurl = {:?}\nbranch = \"main\"\ndirectory = {directory:?}\n",
        plane.server_url(),
        plane.token_file(Identity::Operator).display().to_string(),
        plane.ca_file().display().to_string(),
        repo.display().to_string(),
    );
    let mut config = Config::parse(&text, &dir.join("bench.toml"))
        .unwrap_or_else(|e| panic!("the bench's fabric config is invalid: {e}\n{text}"));
    config.fabrics.remove(0)
}

fn median(runs: &[Duration]) -> Duration {
    let mut sorted = runs.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

fn min(runs: &[Duration]) -> Duration {
    runs.iter().min().copied().unwrap_or_default()
}

/// Nearest-rank percentile of sorted durations.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn fmt_dur(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc: ours (this process and the children it reaped, i.e. kubectl;
// the plane's kube-apiserver and etcd) against the whole machine, so a run tells whether
// something else was competing.

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime (+ cutime + cstime with `children`) of a process, in ticks.
fn proc_ticks(pid: &str, children: bool) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0;
    };
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // After the comm field: state is 0, utime 11, stime 12, cutime 13, cstime 14.
    let own = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    let reaped = fields.get(13).copied().unwrap_or(0) + fields.get(14).copied().unwrap_or(0);
    own + if children { reaped } else { 0 }
}

/// Busy and total ticks of all CPUs.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return (0, 0);
    };
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

struct CpuSample {
    at: Instant,
    bench: u64,
    etcd: u64,
    apiserver: u64,
    machine_busy: u64,
    machine_total: u64,
}

struct CpuDelta {
    wall: Duration,
    bench: f64,
    etcd: f64,
    apiserver: f64,
    others: f64,
    capacity: f64,
}

impl CpuSample {
    fn take(plane: &ControlPlane) -> CpuSample {
        let pids = plane.pids();
        let pid = |i: usize| pids.get(i).map(u32::to_string).unwrap_or_default();
        let (machine_busy, machine_total) = machine_ticks();
        CpuSample {
            at: Instant::now(),
            bench: proc_ticks("self", true),
            etcd: proc_ticks(&pid(0), false),
            apiserver: proc_ticks(&pid(1), false),
            machine_busy,
            machine_total,
        }
    }

    fn since(&self, before: &CpuSample) -> CpuDelta {
        let tick = clock_ticks();
        let secs = |a: u64, b: u64| a.saturating_sub(b) as f64 / tick;
        let bench = secs(self.bench, before.bench);
        let etcd = secs(self.etcd, before.etcd);
        let apiserver = secs(self.apiserver, before.apiserver);
        let busy = secs(self.machine_busy, before.machine_busy);
        CpuDelta {
            wall: self.at - before.at,
            bench,
            etcd,
            apiserver,
            others: (busy - bench - etcd - apiserver).max(0.0),
            capacity: secs(self.machine_total, before.machine_total),
        }
    }
}

impl CpuDelta {
    fn describe_short(&self) -> String {
        let wall = self.wall.as_secs_f64().max(f64::EPSILON);
        format!(
            "kube-apiserver {:.2} cores, etcd {:.2}, bench process (engine + writer) {:.2}, everything else on the machine {:.2} (of {:.0})",
            self.apiserver / wall,
            self.etcd / wall,
            self.bench / wall,
            self.others / wall,
            self.capacity / wall
        )
    }

    fn describe(&self) -> String {
        format!(
            "CPU over the scenario ({}): {}.",
            fmt_dur(self.wall),
            self.describe_short().replace(
                "bench process (engine + writer)",
                "bench process (hhdash + kubectl)"
            )
        )
    }
}

/// This process's peak resident set (VmHWM).
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
            let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.0} MiB", kb / 1024.0))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Cores, CPU model, memory, load and other busy compilers or control planes right now.
fn machine_note() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_string(), |(_, m)| m.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let mut busy: BTreeMap<String, usize> = BTreeMap::new();
    let me = std::process::id().to_string();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let pid = entry.file_name().to_string_lossy().to_string();
            if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            let comm = comm.trim();
            if [
                "rustc",
                "cc1",
                "ld",
                "cargo",
                "kube-apiserver",
                "etcd",
                "go",
            ]
            .contains(&comm)
            {
                *busy.entry(comm.to_string()).or_insert(0) += 1;
            }
        }
    }
    let busy = if busy.is_empty() {
        "none".to_string()
    } else {
        busy.iter()
            .map(|(name, n)| format!("{name} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "Machine: {cores} cores ({model}), {mem_gib:.0} GiB RAM; load average {} at start; other compilers / control planes running at start: {busy} (cargo ×1 is the one running this bench).",
        load.join(" ")
    )
}
