//! Out-of-band drift edits (field manager `sim-drift`, exactly the decided change) and the
//! seeded decisions that repeat per seed.

use serde_json::Value;
use std::time::Duration;
use testenv::Identity;
use testenv::sim::Action;
use testenv::sim::DRIFT_MANAGER;
use testenv::sim::Director;
use testenv::sim::SimConfig;

use super::{common, config, eventually, example_objects, fabric_namespace, of_kind, start_sim};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_edits_carry_the_sim_drift_field_manager() {
    let ns = "sim-drift";
    let plane = fabric_namespace(ns).await;
    let mut sim = start_sim(
        plane,
        SimConfig {
            drift_every: Duration::from_secs(1),
            ..config(ns)
        },
    )
    .await;
    let edit = eventually(15, "a drift edit", || {
        let drift = sim
            .drain()
            .iter()
            .find(|e| e.action == Action::Drift)
            .cloned();
        async move { drift.ok_or_else(|| "none yet".to_string()) }
    })
    .await;
    sim.stop().await;

    // The first edit of seed 7, as the Director decides it from the example's objects.
    let objects = example_objects();
    let expected = Director::new(7)
        .drift_edit(&of_kind(&objects, "VPC"), &of_kind(&objects, "Server"))
        .unwrap();
    assert_eq!(edit.object, format!("{}/{}", expected.kind, expected.name));
    let live = common::api(&plane.client(Identity::Admin), plane, expected.kind, ns)
        .get(&expected.name)
        .await
        .unwrap();
    let managers: Vec<&str> = live
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.as_deref())
        .collect();
    assert!(managers.contains(&DRIFT_MANAGER), "{managers:?}");
    let live = serde_json::to_value(&live).unwrap();
    let original = objects
        .iter()
        .find(|o| o["kind"] == expected.kind && o["metadata"]["name"] == expected.name.as_str())
        .unwrap();
    assert_ne!(
        live["spec"], original["spec"],
        "the edit changed the object"
    );
    let mut patched = original["spec"].clone();
    merge(&mut patched, &expected.patch["spec"]);
    assert_eq!(live["spec"], patched, "exactly the decided edit");
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[test]
fn the_same_seed_makes_the_same_decisions() {
    let objects = example_objects();
    let (vpcs, servers) = (of_kind(&objects, "VPC"), of_kind(&objects, "Server"));
    let switches = ["leaf-1", "leaf-2", "leaf-3", "leaf-4", "spine-1", "spine-2"];
    let decide = |seed: u64, interleave_lags: bool| {
        let mut director = Director::new(seed);
        let mut log = Vec::new();
        for i in 0..60 {
            log.push(format!(
                "stale {:?}",
                director.pick_stale(&switches[..6 - i % 3])
            ));
            if interleave_lags || i % 2 == 0 {
                log.push(format!("lag {}", director.lags(0.3)));
            }
            let edit = director.drift_edit(&vpcs, &servers).unwrap();
            log.push(format!(
                "drift {}/{} {}",
                edit.kind, edit.name, edit.summary
            ));
        }
        log
    };
    assert_eq!(decide(42, true), decide(42, true));
    assert_ne!(decide(42, true), decide(43, true));
    // Streams are independent: asking lag questions more often changes no drift or stale pick.
    let without_lags = |log: Vec<String>| -> Vec<String> {
        log.into_iter().filter(|l| !l.starts_with("lag")).collect()
    };
    assert_eq!(
        without_lags(decide(42, true)),
        without_lags(decide(42, false))
    );
    // Sixty edits over the example touch both kinds and several objects.
    let log = decide(42, true);
    assert!(log.iter().any(|l| l.starts_with("drift VPC/")));
    assert!(log.iter().any(|l| l.starts_with("drift Server/")));
}
