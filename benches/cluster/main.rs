//! Cluster benchmarks against a real control plane (testenv: kube-apiserver v1.34 + etcd on
//! 127.0.0.1), long scenarios rather than micro-benchmarks, so a plain `main` prints one
//! Markdown table per scenario:
//!
//! * `list`: 10,000 objects of realistic shapes (testenv::fixtures::generated_fabric) in one namespace; hhdash
//!   lists every registry kind and writes them to the store in one transaction, beside the same
//!   list without the store and `kubectl get <13 plurals> -o json` to /dev/null.
//! * `watch`: an hhdash engine (the same objects in Git, so all InSync) watches ~1,000 objects
//!   while a writer merge-patches them at a target of 1,000 changes/s for 30 s; every change
//!   must become visible in the engine's `Rows` events, and the lag from the server's
//!   acknowledgement to the `Rows` event is measured and split, with a plain kube watcher
//!   beside the engine, into the API server's delivery and the engine's own delay.
//!
//! * `apply`: 10,000 new objects applied by the real `hhdash apply` beside `kubectl apply
//!   --server-side -f` of the same files (wall time, peak RSS, the API server's CPU), after a
//!   sweep of the apply core's concurrency bound (`hhdash::apply::CONCURRENCY`).
//!
//! Run: `cargo bench --bench cluster` (all), `cargo bench --bench cluster -- list` (one).
//! Knobs for quick runs: HHDASH_BENCH_LIST_OBJECTS, HHDASH_BENCH_LIST_RUNS,
//! HHDASH_BENCH_STORM_OBJECTS, HHDASH_BENCH_STORM_RATE, HHDASH_BENCH_STORM_SECS,
//! HHDASH_BENCH_APPLY_OBJECTS, HHDASH_BENCH_APPLY_RUNS, HHDASH_BENCH_APPLY_SWEEP (bounds, comma
//! separated; empty skips the sweep), HHDASH_BENCH_APPLY_SWEEP_OBJECTS.
//! Each scenario starts (and drops) its own control plane, with testenv's imitation of the
//! Hedgehog admission webhooks in front of it as on a real fabric (every write is defaulted and
//! checked; objects are created in dependency order); HHDASH_BENCH_BARE=1 runs without it.
//! Numbers: docs/benchmarks.md.
//!
//! Modules: the scenarios `list`, `apply`, `attach` and `watch` (its writer and report in `storm`), `setup` (plane,
//! objects, Git repository, config), `measure` (statistics, CPU accounting) and `store_write`
//! (the engine's store writes, re-created to time the store alone).

mod apply;
mod attach;
mod list;
mod measure;
mod setup;
#[path = "../shared/mod.rs"]
mod shared;
mod store_write;
mod storm;
mod watch;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hhdash::cluster::{self, FabricClient};
use hhdash::config::{Config, FabricConfig};
use hhdash::drift::Drift;
use hhdash::engine::{Command, EngineContext, EngineEvent, JobKind, JobPhase};
use hhdash::kinds::{self, KindInfo, ObjectKey};
use hhdash::secret::Secret;
use hhdash::status::WatchState;
use hhdash::store::{LogKind, Store};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::{Value, json};
use testenv::{ControlPlane, Identity, Options};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

// The modules share these imports and each other's items through `use super::*`.
use apply::*;
use attach::*;
use list::*;
use measure::*;
use setup::*;
use store_write::*;
use storm::*;
use watch::*;

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
    apply_objects: usize,
    apply_runs: usize,
    apply_sweep: Vec<usize>,
    apply_sweep_objects: usize,
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
            apply_objects: env_or("HHDASH_BENCH_APPLY_OBJECTS", 10_000),
            apply_runs: env_or("HHDASH_BENCH_APPLY_RUNS", 3),
            apply_sweep: std::env::var("HHDASH_BENCH_APPLY_SWEEP")
                .unwrap_or_else(|_| "1,4,8,16,32".into())
                .split(',')
                .filter(|b| !b.trim().is_empty())
                .map(|b| {
                    b.trim().parse().unwrap_or_else(|_| {
                        panic!("HHDASH_BENCH_APPLY_SWEEP: {b:?} is not a number")
                    })
                })
                .collect(),
            apply_sweep_objects: env_or("HHDASH_BENCH_APPLY_SWEEP_OBJECTS", 2_000),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo test --all-targets` runs bench binaries without `--bench`: skip the minutes of work.
    if !args.iter().any(|a| a == "--bench") {
        println!(
            "cluster benchmarks: run with `cargo bench --bench cluster [-- list|watch|apply|attach]`"
        );
        return;
    }
    let filters: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let scenarios = ["list", "watch", "apply", "attach"];
    let wanted: Vec<&str> = scenarios
        .into_iter()
        .filter(|name| filters.is_empty() || filters.iter().any(|f| name.contains(f)))
        .collect();
    if wanted.is_empty() {
        eprintln!("no scenario matches {filters:?}; the scenarios are: list, watch, apply, attach");
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
            "apply" => runtime.block_on(apply_scenario(&settings)),
            "attach" => runtime.block_on(attach_scenario(&settings)),
            _ => runtime.block_on(watch_scenario(&settings)),
        }
        println!("\nscenario `{name}` took {}", fmt_dur(t.elapsed()));
    }
    println!("\nwhole bench: {}", fmt_dur(started.elapsed()));
}
