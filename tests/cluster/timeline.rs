//! The fabric timeline against a real control plane: the first listing gives one first-verdict
//! summary line (not one "→ InSync" line per object); a storm of thousands of object
//! modifications in a few seconds is thinned to a few lines per window plus a summary, and the
//! drift and the sync that happen during it are still in the timeline afterwards, where
//! `hhdash history --json` (a new process on the same store) finds them.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hhdash::engine::{Command, EngineEvent, JobKind, JobPhase};
use hhdash::store::LogKind;
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use serde_json::json;

const VPCS: usize = 40;
const MODIFICATIONS: usize = 3000;

fn vpc(name: &str, ns: &str, vlan: usize) -> serde_json::Value {
    json!({
        "apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"subnets": {"default": {"subnet": format!("10.9.{vlan}.0/24"), "vlan": 1000 + vlan}}}
    })
}

/// Every event the engine sends, kept for the test to look at while the engine runs.
type Seen = Arc<Mutex<Vec<EngineEvent>>>;

async fn wait_until(seen: &Seen, secs: u64, what: &str, done: impl Fn(&[EngineEvent]) -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if done(&seen.lock().unwrap()) {
            return;
        }
        if Instant::now() >= end {
            let lines: Vec<String> = seen
                .lock()
                .unwrap()
                .iter()
                .filter_map(|e| match e {
                    EngineEvent::Log { entry, .. } => {
                        Some(format!("{:?} {}", entry.what, entry.message))
                    }
                    _ => None,
                })
                .collect();
            panic!(
                "no {what} within {secs}s; log so far:\n{}",
                lines.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn logged(events: &[EngineEvent], want: impl Fn(&hhdash::store::LogEntry) -> bool) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, EngineEvent::Log { entry, .. } if want(entry)))
        .count()
}

fn syncs_succeeded(events: &[EngineEvent]) -> usize {
    events
        .iter()
        .filter(|e| {
            matches!(
                e,
                EngineEvent::Job {
                    job: JobKind::Sync,
                    phase: JobPhase::Succeeded { .. },
                    ..
                }
            )
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_and_sync_survive_a_watch_storm_and_first_verdicts_are_one_line() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "timeline-storm";
    plane.grant(ns).await.unwrap();
    let prerequisites = testenv::fixtures::vpc_prerequisites(ns);
    plane.apply_objects(&prerequisites).await.unwrap();
    let vpcs = common::admin_api(plane, "VPC", ns);
    futures::stream::iter(0..VPCS)
        .map(|i| {
            let vpcs = vpcs.clone();
            async move {
                let object: DynamicObject =
                    serde_json::from_value(vpc(&format!("vpc-{i}"), ns, i)).unwrap();
                vpcs.create(&PostParams::default(), &object).await.unwrap();
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    // Git holds exactly what the cluster holds: every first verdict is InSync.
    let yaml: Vec<String> = prerequisites
        .iter()
        .cloned()
        .chain((0..VPCS).map(|i| vpc(&format!("vpc-{i}"), ns, i)))
        .map(|object| serde_yaml::to_string(&object).unwrap())
        .collect();
    let yaml = yaml.join("---\n");
    let (temp, config) =
        common::git_fabric(plane, ns, "tl", &[("f/all.yaml", yaml.as_bytes())], "f");
    let store = Arc::new(hhdash::store::Store::open(&temp.path().join("store.redb")).unwrap());
    let engine = common::start_engine_with_store(temp.path(), &config, store);
    let commands = engine.commands.clone();
    let seen: Seen = Arc::default();
    let mut events = engine.events;
    let collector = {
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                seen.lock().unwrap().push(event);
            }
        })
    };

    // Start-up: one summary line for the first verdicts, no line per in-sync object.
    let first_summary = |e: &hhdash::store::LogEntry| {
        let in_sync = e
            .message
            .strip_prefix("first verdicts: ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.replace(',', "").parse::<usize>().ok());
        in_sync.is_some_and(|n| n >= VPCS)
    };
    wait_until(&seen, 90, "first-verdict summary", |events| {
        logged(events, first_summary) == 1 && syncs_succeeded(events) >= 1
    })
    .await;
    {
        let events = seen.lock().unwrap();
        let per_object = logged(events.as_slice(), |e| {
            e.what == LogKind::Drift && e.key.is_some() && e.message.contains("→ InSync")
        });
        assert_eq!(per_object, 0, "no line per object that starts in sync");
        let summaries = logged(events.as_slice(), |e| {
            e.message.starts_with("first verdicts: ")
        });
        assert_eq!(summaries, 1, "one summary for every kind's first verdicts");
    }

    // The storm: thousands of annotation changes (not in Git, so no drift) in a few seconds;
    // during it one VPC drifts and a sync runs.
    let storm = {
        let vpcs = vpcs.clone();
        tokio::spawn(async move {
            futures::stream::iter(0..MODIFICATIONS)
                .map(|i| {
                    let vpcs = vpcs.clone();
                    async move {
                        let patch = json!({"metadata": {"annotations": {"storm": i.to_string()}}});
                        vpcs.patch(
                            &format!("vpc-{}", i % VPCS),
                            &PatchParams::default(),
                            &Patch::Merge(&patch),
                        )
                        .await
                        .unwrap();
                    }
                })
                .buffer_unordered(32)
                .collect::<Vec<()>>()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let drift = json!({"spec": {"subnets": {"default": {"vlan": 2999}}}});
    vpcs.patch("vpc-0", &PatchParams::default(), &Patch::Merge(&drift))
        .await
        .unwrap();
    let syncs_before = syncs_succeeded(&seen.lock().unwrap());
    commands.send(Command::Sync).await.unwrap();
    tokio::time::timeout(Duration::from_secs(120), storm)
        .await
        .expect("the storm ends within 120 s")
        .unwrap();
    wait_until(
        &seen,
        60,
        "drift of vpc-0, the sync and the storm summary",
        |events| {
            logged(events, |e| {
                e.what == LogKind::Drift
                    && e.object.as_deref() == Some("VPC/vpc-0")
                    && e.message.contains("Drifted")
            }) >= 1
                && syncs_succeeded(events) > syncs_before
                && logged(events, |e| e.message.contains("more objects modified")) >= 1
        },
    )
    .await;
    commands.send(Command::Shutdown).await.unwrap();
    drop(commands);
    tokio::time::timeout(Duration::from_secs(30), collector)
        .await
        .expect("the engine stops within 30 s of Shutdown")
        .unwrap();
    drop(engine.commands);
    // The store file is free once the engine and this test let go of it.
    drop(engine.store);

    let output = common::hhdash(temp.path(), &config, &["history", "tl", "--json"]);
    assert!(output.status.success(), "{}", common::output_text(&output));
    let timeline: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let count = |what: &str, text: &str| {
        timeline
            .iter()
            .filter(|e| e["what"] == what && e["message"].as_str().unwrap().contains(text))
            .count()
    };
    assert!(
        timeline.iter().any(|e| e["what"] == "Drift"
            && e["object"] == "VPC/vpc-0"
            && e["message"].as_str().unwrap().contains("Drifted")),
        "the drift is kept through the storm"
    );
    assert!(count("Sync", "synced") >= 2, "both syncs are kept");
    assert!(count("Drift", "first verdicts:") >= 1);
    let modified = count("Modified", "");
    assert!(
        (1..300).contains(&modified),
        "{MODIFICATIONS} modifications are thinned to a few lines per window: {modified}"
    );
    assert!(count("Modified", "more objects modified in the cluster") >= 1);
    // The same drift through the object filter.
    let output = common::hhdash(
        temp.path(),
        &config,
        &[
            "history",
            "tl",
            "--json",
            "--object",
            "VPC/vpc-0",
            "--kind",
            "drift",
        ],
    );
    let lines: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        lines
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains("Drifted")),
        "{lines:?}"
    );
}
