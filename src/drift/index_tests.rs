//! Unit tests of the drift index (`index.rs`): live and desired objects in, per-object drift
//! and the kind counts out.

use serde_json::json;

use super::*;
use crate::drift::test_support::{VPC, key, yaml};

fn vpc_named(name: &str, vlan: i64) -> Value {
    let mut object = yaml(VPC);
    object["metadata"]["name"] = json!(name);
    object["spec"]["subnets"]["default"]["vlan"] = json!(vlan);
    object
}

fn switch_named(name: &str) -> Value {
    json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "Switch",
        "metadata": {"name": name}, "spec": {"role": "spine", "asn": 65100}})
}

#[test]
fn live_only_objects_are_orphans_only_while_the_desired_set_is_trusted() {
    let mut index = DriftIndex::new(None);
    let vpc = json!({"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
        "metadata": {"name": "left", "namespace": "default"}, "spec": {}});
    index.replace_live_kind("VPC", "default", vec![(key("VPC", "left"), vpc)]);
    let untrusted = index.set_orphans_trusted(false);
    assert!(untrusted.is_empty(), "Unknown before any sync either way");
    index.set_desired_all(Vec::<(ObjectKey, Value)>::new());
    assert_eq!(index.get(&key("VPC", "left")), Some(&Drift::Unknown));
    assert_eq!(index.totals().orphan, 0);
    let trusted = index.set_orphans_trusted(true);
    assert_eq!(trusted.len(), 1);
    assert_eq!(trusted[0].to, DriftKindTag::Orphan);
    assert_eq!(index.totals().orphan, 1);
    let again = index.set_orphans_trusted(false);
    assert_eq!(again[0].to, DriftKindTag::Unknown);
    assert_eq!(index.fabric_status().count, 0);
}

#[test]
fn index_follows_git_and_watch_events() {
    let mut index = DriftIndex::new(None);
    let vpc1 = key("VPC", "vpc-1");

    let transitions = index.set_desired_all([(vpc1.clone(), vpc_named("vpc-1", 1001))]);
    assert_eq!(transitions.len(), 1);
    assert_eq!(transitions[0].to_string(), "VPC/vpc-1 Absent → Unknown");
    assert_eq!(index.fabric_status(), DriftStatus::default());

    let transitions = index.set_live_known("VPC", "default", true);
    assert_eq!(transitions[0].to_string(), "VPC/vpc-1 Unknown → Missing");
    assert_eq!(
        index.fabric_status(),
        DriftStatus {
            state: DriftState::DriftDetected,
            count: 1
        }
    );

    let t = index
        .set_live(vpc1.clone(), Some(vpc_named("vpc-1", 1001)))
        .unwrap();
    assert_eq!(
        (t.from, t.to),
        (DriftKindTag::Missing, DriftKindTag::InSync)
    );
    assert_eq!(index.fabric_status().state, DriftState::InSync);
    // The same live value again (a resync) changes nothing.
    assert_eq!(
        index.set_live(vpc1.clone(), Some(vpc_named("vpc-1", 1001))),
        None
    );

    let t = index
        .set_live(vpc1.clone(), Some(vpc_named("vpc-1", 1999)))
        .unwrap();
    assert_eq!(
        t.to_string(),
        "VPC/vpc-1 InSync → Drifted (spec.subnets.default.vlan: 1001 → 1999)"
    );
    let t = index
        .set_live(vpc1.clone(), Some(vpc_named("vpc-1", 2000)))
        .unwrap();
    assert_eq!(
        (t.from, t.to),
        (DriftKindTag::Drifted, DriftKindTag::Drifted)
    );
    assert_eq!(
        index.counts("VPC"),
        KindCounts {
            desired: 1,
            live: 1,
            drifted: 1,
            ..KindCounts::default()
        }
    );

    // Git drops it: the live object is now an orphan; the cluster deletes it: gone.
    let t = index.set_desired_all(Vec::<(ObjectKey, Value)>::new());
    assert_eq!(
        (t[0].from, t[0].to),
        (DriftKindTag::Drifted, DriftKindTag::Orphan)
    );
    let t = index.set_live(vpc1.clone(), None).unwrap();
    assert_eq!(t.to_string(), "VPC/vpc-1 Orphan → Absent");
    assert!(index.is_empty());
    assert_eq!(index.get(&vpc1), None);
    assert_eq!(index.totals(), KindCounts::default());
}

#[test]
fn live_objects_before_the_first_git_sync_are_unknown_not_orphans() {
    let mut index = DriftIndex::new(Some(1));
    index.set_live_known("VPC", "default", true);
    index.set_live(key("VPC", "vpc-1"), Some(vpc_named("vpc-1", 1)));
    assert_eq!(index.get(&key("VPC", "vpc-1")), Some(&Drift::Unknown));
    assert_eq!(index.fabric_status().state, DriftState::InSync);
    let t = index.set_desired_all(Vec::<(ObjectKey, Value)>::new());
    assert_eq!(
        (t[0].from, t[0].to),
        (DriftKindTag::Unknown, DriftKindTag::Orphan)
    );
    assert_eq!(index.fabric_status().state, DriftState::Critical);
}

#[test]
fn wiring_missing_or_drifted_is_critical_orphan_is_not() {
    let mut index = DriftIndex::new(None);
    let sw = key("Switch", "spine-01");
    index.set_desired_all([(sw.clone(), switch_named("spine-01"))]);
    index.replace_live_kind("Switch", "default", []);
    assert_eq!(
        index.fabric_status(),
        DriftStatus {
            state: DriftState::Critical,
            count: 1
        }
    );
    let mut changed = switch_named("spine-01");
    changed["spec"]["asn"] = json!(65999);
    index.set_live(sw.clone(), Some(changed));
    assert_eq!(index.fabric_status().state, DriftState::Critical);
    index.set_live(sw.clone(), Some(switch_named("spine-01")));
    assert_eq!(index.fabric_status().state, DriftState::InSync);
    index.set_live(key("Switch", "stray"), Some(switch_named("stray")));
    assert_eq!(
        index.fabric_status(),
        DriftStatus {
            state: DriftState::DriftDetected,
            count: 1
        }
    );
}

#[test]
fn threshold_makes_many_drifted_objects_critical() {
    let mut index = DriftIndex::new(Some(2));
    index.set_desired_all((1..=3).map(|i| {
        let name = format!("vpc-{i}");
        (key("VPC", &name), vpc_named(&name, 1000 + i))
    }));
    index.replace_live_kind(
        "VPC",
        "default",
        [
            (key("VPC", "vpc-1"), vpc_named("vpc-1", 1001)),
            (key("VPC", "vpc-2"), vpc_named("vpc-2", 1002)),
        ],
    );
    assert_eq!(
        index.fabric_status(),
        DriftStatus {
            state: DriftState::DriftDetected,
            count: 1
        }
    );
    index.set_live(key("VPC", "vpc-2"), Some(vpc_named("vpc-2", 5)));
    assert_eq!(
        index.fabric_status(),
        DriftStatus {
            state: DriftState::Critical,
            count: 2
        }
    );
}

#[test]
fn relist_changes_each_object_once_and_marks_the_kind_known() {
    let mut index = DriftIndex::new(None);
    index.set_desired_all([
        (key("VPC", "a"), vpc_named("a", 1)),
        (key("VPC", "b"), vpc_named("b", 2)),
        (key("Switch", "s"), switch_named("s")),
    ]);
    index.set_live(key("VPC", "c"), Some(vpc_named("c", 3)));
    let transitions =
        index.replace_live_kind("VPC", "default", [(key("VPC", "a"), vpc_named("a", 1))]);
    let summary: Vec<String> = transitions.iter().map(ToString::to_string).collect();
    assert_eq!(
        summary,
        [
            "VPC/a Unknown → InSync",
            "VPC/c Orphan → Absent",
            "VPC/b Unknown → Missing"
        ]
    );
    assert!(index.live_known("VPC", "default"));
    assert!(!index.live_known("Switch", "default"));
    assert_eq!(index.get(&key("Switch", "s")), Some(&Drift::Unknown));

    // The watch stops: what was never seen is Unknown again; what was seen stays compared.
    let transitions = index.set_live_known("VPC", "default", false);
    assert_eq!(transitions.len(), 1);
    assert_eq!(transitions[0].to_string(), "VPC/b Missing → Unknown");
    assert_eq!(index.get(&key("VPC", "a")), Some(&Drift::InSync));
}

#[test]
fn unchanged_git_sync_recomputes_nothing() {
    let mut index = DriftIndex::new(None);
    let objects = vec![
        (key("VPC", "a"), vpc_named("a", 1)),
        (key("VPC", "b"), vpc_named("b", 2)),
    ];
    index.set_desired_all(objects.clone());
    index.replace_live_kind("VPC", "default", objects.clone());
    assert_eq!(index.set_desired_all(objects.clone()), vec![]);
    let mut edited = objects;
    edited[1].1 = vpc_named("b", 7);
    let t = index.set_desired_all(edited);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].key, key("VPC", "b"));
    assert_eq!(
        index.desired(&key("VPC", "b")).map(Object::value),
        Some(vpc_named("b", 7))
    );
    assert_eq!(
        index.live(&key("VPC", "b")).map(Object::value),
        Some(vpc_named("b", 2))
    );
}

#[test]
fn kinds_outside_the_registry_are_still_compared() {
    let mut index = DriftIndex::new(None);
    let odd = key("Gateway", "gw");
    index.set_desired_all([(odd.clone(), json!({"spec": {"a": [1, 2]}}))]);
    index.set_live(odd.clone(), Some(json!({"spec": {"a": [2, 1]}})));
    assert!(matches!(index.get(&odd), Some(Drift::Drifted(_))));
    assert_eq!(index.kind_counts().count(), 1);
}

#[test]
fn a_relist_in_one_namespace_leaves_the_other_namespaces_objects_alone() {
    let mut index = DriftIndex::new(None);
    let in_ns = |namespace: &str, name: &str| ObjectKey {
        namespace: namespace.into(),
        ..key("VPC", name)
    };
    index.set_desired_all([
        (in_ns("default", "a"), vpc_named("a", 1)),
        (in_ns("fab", "a"), vpc_named("a", 1)),
        (in_ns("fab", "b"), vpc_named("b", 2)),
    ]);
    index.replace_live_kind("VPC", "fab", [(in_ns("fab", "a"), vpc_named("a", 1))]);
    // Only fab's view is known: its b is Missing, default's a is still Unknown.
    assert_eq!(index.get(&in_ns("fab", "b")), Some(&Drift::Missing));
    assert_eq!(index.get(&in_ns("default", "a")), Some(&Drift::Unknown));
    assert!(index.live_known("VPC", "fab") && !index.live_known("VPC", "default"));

    index.replace_live_kind(
        "VPC",
        "default",
        [(in_ns("default", "a"), vpc_named("a", 1))],
    );
    // default's list does not have fab's a, which must stay live.
    let replaced = index.replace_live_kind_shared("VPC", "default", []);
    assert_eq!(replaced.gone, [in_ns("default", "a")]);
    assert!(index.live(&in_ns("fab", "a")).is_some());
    assert_eq!(index.get(&in_ns("fab", "a")), Some(&Drift::InSync));
    assert_eq!(index.get(&in_ns("default", "a")), Some(&Drift::Missing));
}
