//! Faults against a private control plane: the API server dies during a watch (status goes
//! Error, then Active by itself), changes made while the watch was away are not lost and
//! deleted objects leave no ghosts (the store's live set equals a fresh list), including after
//! a 410 Gone that forces a re-list. Also: switch health from real Agent objects.

use crate::common::{self, RunningEngine, live_vpcs};

use std::time::Duration;

use hhdash::engine::EngineEvent;
use hhdash::health::SwitchState;
use hhdash::status::WatchState;
use hhdash::store::Store;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use testenv::{ControlPlane, Options};

fn is_watch(state: WatchState) -> impl FnMut(&EngineEvent) -> bool {
    move |e| matches!(e, EngineEvent::Status { status, .. } if status.watch.state == state)
}

/// The store's live VPCs (name → spec) against a fresh list from the server.
async fn assert_live_matches_server(store: &Store, fabric: &str, vpcs: &Api<DynamicObject>) {
    assert_eq!(
        live_vpcs::stored(store, fabric),
        live_vpcs::fresh(vpcs).await,
        "the store's live set equals a fresh list"
    );
}

/// An engine watching `ns` of `plane` (nothing in Git), once its watch is Active.
async fn start_engine(plane: &ControlPlane, ns: &str) -> (tempfile::TempDir, RunningEngine) {
    let temp = tempfile::tempdir().unwrap();
    let config = live_vpcs::empty_git_config(temp.path(), plane, &plane.server_url(), ns, "faults");
    let mut engine = common::start_engine(temp.path(), &config);
    common::wait_for_event(
        &mut engine.events,
        30,
        "watch Active",
        is_watch(WatchState::Active),
    )
    .await;
    (temp, engine)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_survives_an_api_server_restart_and_a_410() {
    let mut plane = ControlPlane::start_with(Options {
        namespaces: vec!["faults".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    plane.grant("faults").await.unwrap();
    let vpcs = live_vpcs::three_vpcs(&plane, "faults").await;
    let (_temp, mut engine) = start_engine(&plane, "faults").await;
    assert_live_matches_server(&engine.store, "faults", &vpcs).await;

    // The API server dies: the watch reports Error with a reason.
    plane.kill_apiserver();
    let event = common::wait_for_event(
        &mut engine.events,
        30,
        "watch Error",
        is_watch(WatchState::Error),
    )
    .await;
    let EngineEvent::Status { status, .. } = event else {
        unreachable!()
    };
    assert!(
        status.watch.error.unwrap().contains("faults"),
        "the error names the fabric"
    );

    // It comes back; right away, before the watcher has reconnected, things change.
    plane.start_apiserver().await.unwrap();
    let vpcs = common::admin_api(&plane, "VPC", "faults");
    live_vpcs::change_while_away(&vpcs, "faults").await;

    // The engine recovers by itself and its live set equals the server's: nothing lost, no ghosts.
    common::wait_for_event(
        &mut engine.events,
        60,
        "watch Active again",
        is_watch(WatchState::Active),
    )
    .await;
    live_vpcs::wait_for_stored(
        &engine.store,
        "faults",
        Duration::from_secs(20),
        "live set never converged",
        |live| live.keys().eq(["added", "change", "keep"]),
    )
    .await;
    assert_live_matches_server(&engine.store, "faults", &vpcs).await;
    let events = engine.store.log("faults", 200).unwrap();
    assert!(
        events.iter().any(|e| e.message.contains("watch recovered")),
        "the recovery is logged"
    );

    // 410 Gone: the API server goes down, and etcd's history is compacted past every
    // resourceVersion the watchers hold (a plain restart is not enough: a watcher whose last
    // bookmark is as new as the restart simply resumes). Resuming gets 410, so the watcher must
    // re-list; a change made after the outage must still arrive and no ghost may stay.
    let relists = |store: &Store| {
        store
            .log("faults", 2000)
            .unwrap()
            .iter()
            .filter(|e| e.object.as_deref() == Some("VPC") && e.message.starts_with("listed"))
            .count()
    };
    let relists_before = relists(&engine.store);
    plane.kill_apiserver();
    plane.expire_resource_versions().await.unwrap();
    plane.start_apiserver().await.unwrap();
    let vpcs = common::admin_api(&plane, "VPC", "faults");
    vpcs.delete("keep", &Default::default()).await.unwrap();
    live_vpcs::wait_for_stored(
        &engine.store,
        "faults",
        Duration::from_secs(30),
        "the delete after the 410 never arrived",
        |live| live.keys().eq(["added", "change"]),
    )
    .await;
    assert_live_matches_server(&engine.store, "faults", &vpcs).await;
    // kube's watcher re-lists only after a 410 (or a fresh start), which the expired history
    // forces: this proves the re-list path ran, not just a resume.
    assert!(
        relists(&engine.store) > relists_before,
        "the watcher re-listed after the 410"
    );
    engine
        .commands
        .send(hhdash::engine::Command::Shutdown)
        .await
        .unwrap();
}

/// An Agent as the controller writes it, with a status as the switch agent reports it.
async fn agent(
    plane: &ControlPlane,
    ns: &str,
    name: &str,
    heartbeat_age: i64,
    applied: i64,
    attempted: i64,
) {
    let agents = common::admin_api(plane, "Agent", ns);
    let object: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "agent.githedgehog.com/v1beta1", "kind": "Agent",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"role": "server-leaf", "description": name}
    }))
    .unwrap();
    agents
        .create(&PostParams::default(), &object)
        .await
        .unwrap();
    let heartbeat = hhdash::time::format_rfc3339(hhdash::time::now() - heartbeat_age);
    let status = serde_json::json!({"status": {
        "lastHeartbeat": heartbeat, "lastAppliedGen": applied, "lastAttemptGen": attempted,
        "version": "v0.87.0", "conditions": []
    }});
    agents
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_health_comes_from_agent_heartbeats_and_generations() {
    let plane = testenv::shared().await.unwrap();
    plane.grant("health").await.unwrap();
    // metadata.generation is 1 for a fresh object.
    agent(plane, "health", "leaf-01", 5, 1, 1).await; // fresh, applied → Ready
    agent(plane, "health", "leaf-02", 600, 1, 1).await; // heartbeat 10 min old → Stale
    agent(plane, "health", "leaf-03", 5, 0, 0).await; // newer generation not tried yet → Pending
    agent(plane, "health", "leaf-04", 5, 0, 1).await; // tried, not applied → Stuck
    let (_temp, mut engine) = start_engine(plane, "health").await;
    let event = common::wait_for_event(
        &mut engine.events,
        20,
        "health of 4 switches",
        |e| matches!(e, EngineEvent::Health { switches, .. } if switches.len() == 4),
    )
    .await;
    let EngineEvent::Health { switches, .. } = event else {
        unreachable!()
    };
    let states: Vec<(&str, SwitchState)> = switches
        .iter()
        .map(|s| (s.name.as_str(), s.state))
        .collect();
    assert_eq!(
        states,
        [
            ("leaf-01", SwitchState::Ready),
            ("leaf-02", SwitchState::Stale),
            ("leaf-03", SwitchState::Pending),
            ("leaf-04", SwitchState::Stuck),
        ]
    );
    assert_eq!(
        hhdash::health::summarize(&switches).to_string(),
        "Ready 1/4"
    );
    assert_eq!(switches[0].version.as_deref(), Some("v0.87.0"));
    engine
        .commands
        .send(hhdash::engine::Command::Shutdown)
        .await
        .unwrap();
}
