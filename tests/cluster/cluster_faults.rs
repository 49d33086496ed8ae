//! Faults against a private control plane: the API server dies during a watch (status goes
//! Error, then Active by itself), changes made while the watch was away are not lost and
//! deleted objects leave no ghosts (the store's live set equals a fresh list), including after
//! a 410 Gone that forces a re-list. Also: switch health from real Agent objects.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hhdash::config::Config;
use hhdash::engine::{EngineContext, EngineEvent};
use hhdash::health::SwitchState;
use hhdash::status::WatchState;
use hhdash::store::Store;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use testenv::{ControlPlane, Identity, Options};

fn is_watch(state: WatchState) -> impl FnMut(&EngineEvent) -> bool {
    move |e| matches!(e, EngineEvent::Status { status, .. } if status.watch.state == state)
}

fn api(plane: &ControlPlane, kind: &str, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        plane.client(Identity::Admin),
        ns,
        &hhdash::cluster::api_resource(hhdash::kinds::by_kind(kind).unwrap()),
    )
}

fn vpc(name: &str, ns: &str, vlan: u32) -> DynamicObject {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"subnets": {"default": {"subnet": "10.1.0.0/24", "vlan": vlan}}}
    }))
    .unwrap()
}

/// The store's live VPCs (name → vlan) against a fresh list from the server.
async fn assert_live_matches_server(store: &Store, fabric: &str, vpcs: &Api<DynamicObject>) {
    let fresh: BTreeMap<String, serde_json::Value> = vpcs
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|o| (o.metadata.name.clone().unwrap(), o.data["spec"].clone()))
        .collect();
    let stored: BTreeMap<String, serde_json::Value> = store
        .live(fabric)
        .unwrap()
        .into_iter()
        .filter(|(k, _)| k.kind == "VPC")
        .map(|(k, v)| (k.name, v["spec"].clone()))
        .collect();
    assert_eq!(stored, fresh, "the store's live set equals a fresh list");
}

struct Running {
    _temp: tempfile::TempDir,
    store: Arc<Store>,
    rx: tokio::sync::mpsc::Receiver<EngineEvent>,
    commands: tokio::sync::mpsc::Sender<hhdash::engine::Command>,
}

async fn start_engine(plane: &ControlPlane, ns: &str) -> Running {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    common::repo_with(&repo, &[("f/empty.yaml", b"# nothing yet\n")]);
    let config = common::cluster_config(
        temp.path(),
        "faults",
        ns,
        &plane.server_url(),
        &plane.token_file(Identity::Operator),
        plane.ca_file(),
        &repo,
        "f",
    );
    let config = Config::load(&config).unwrap();
    let store = Arc::new(Store::open(&temp.path().join("s.redb")).unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    let ctx = EngineContext {
        store: store.clone(),
        key_file: temp.path().join("k"),
        git_cache_dir: temp.path().join("cache"),
    };
    let commands = hhdash::engine::start_all(&config.fabrics, ctx, tx)
        .remove(0)
        .1;
    common::wait_for_event(&mut rx, 30, "watch Active", is_watch(WatchState::Active)).await;
    Running {
        _temp: temp,
        store,
        rx,
        commands,
    }
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
    // What the VPCs refer to, which the admission webhook requires first.
    plane
        .apply_objects(&testenv::fixtures::vpc_prerequisites("faults"))
        .await
        .unwrap();
    let vpcs = api(&plane, "VPC", "faults");
    for (name, vlan) in [("keep", 1001), ("change", 1002), ("remove", 1003)] {
        vpcs.create(&PostParams::default(), &vpc(name, "faults", vlan))
            .await
            .unwrap();
    }
    let mut engine = start_engine(&plane, "faults").await;
    assert_live_matches_server(&engine.store, "faults", &vpcs).await;

    // The API server dies: the watch reports Error with a reason.
    plane.kill_apiserver();
    let event = common::wait_for_event(
        &mut engine.rx,
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
    let vpcs = api(&plane, "VPC", "faults");
    let patch = serde_json::json!({"spec": {"subnets": {"default": {"vlan": 1999}}}});
    vpcs.patch("change", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    vpcs.delete("remove", &Default::default()).await.unwrap();
    vpcs.create(&PostParams::default(), &vpc("added", "faults", 1004))
        .await
        .unwrap();

    // The engine recovers by itself and its live set equals the server's: nothing lost, no ghosts.
    common::wait_for_event(
        &mut engine.rx,
        60,
        "watch Active again",
        is_watch(WatchState::Active),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let names: Vec<String> = engine
            .store
            .live("faults")
            .unwrap()
            .into_iter()
            .filter(|(k, _)| k.kind == "VPC")
            .map(|(k, _)| k.name)
            .collect();
        if names == ["added", "change", "keep"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "live set never converged: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    let vpcs = api(&plane, "VPC", "faults");
    vpcs.delete("keep", &Default::default()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let names: Vec<String> = engine
            .store
            .live("faults")
            .unwrap()
            .into_iter()
            .filter(|(k, _)| k.kind == "VPC")
            .map(|(k, _)| k.name)
            .collect();
        if names == ["added", "change"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the delete after the 410 never arrived: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    let agents = api(plane, "Agent", ns);
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
    let mut engine = start_engine(plane, "health").await;
    let event = common::wait_for_event(
        &mut engine.rx,
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
