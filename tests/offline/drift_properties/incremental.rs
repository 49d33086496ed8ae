//! (c): the incremental `DriftIndex`, fed any sequence of operations, equals classifying every
//! object from scratch, and its transitions replay to the same state.

use std::collections::{BTreeMap, BTreeSet};

use hhdash::drift::{DriftIndex, DriftKindTag, classify, compare};
use hhdash::kinds::{self, ObjectKey};
use hhdash::status::{DriftState, DriftStatus};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The objects of the model fabric, which spans two namespaces: two wiring Switches, two VPCs
/// and one IPv4Namespace in `default`, and a VPC of the same name in `fab`.
const UNIVERSE: &[(&str, &str, &str)] = &[
    ("Switch", "default", "leaf-01"),
    ("Switch", "default", "spine-01"),
    ("VPC", "default", "vpc-1"),
    ("VPC", "default", "vpc-2"),
    ("VPC", "fab", "vpc-1"),
    ("IPv4Namespace", "default", "default"),
];
const UNIVERSE_KINDS: &[&str] = &["Switch", "VPC", "IPv4Namespace"];
const NAMESPACES: &[&str] = &["default", "fab"];

fn object_key(index: usize) -> ObjectKey {
    let (kind, namespace, name) = UNIVERSE[index];
    ObjectKey {
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

/// Variant `v` of an object. Desired variants and live variants with the same `v` agree
/// (live adds server fields and reorders its set list), different ones differ.
fn variant(index: usize, v: u8, live: bool) -> Value {
    let (kind, _, name) = UNIVERSE[index];
    let mut list = vec![format!("g{v}"), "common".into()];
    let mut object = json!({"apiVersion": "x/v1", "kind": kind, "metadata": {"name": name},
        "spec": {"value": v}});
    if live {
        list.reverse();
        object["metadata"]["uid"] = json!(format!("uid-{index}"));
        object["spec"]["default"] = json!(v);
        object["spec"]["value"] = json!(f64::from(v));
    }
    let set_path = match kind {
        "Switch" => "groups",
        _ => "subnets",
    };
    if kind != "VPC" {
        object["spec"][set_path] = json!(list);
    }
    object
}

#[derive(Debug, Clone)]
enum Op {
    SetDesiredAll(Vec<(usize, u8)>),
    SetLive(usize, Option<u8>),
    SetLiveKnown(usize, usize, bool),
    ReplaceLiveKind(usize, usize, Vec<(usize, u8)>),
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..UNIVERSE.len();
    let kind = 0..UNIVERSE_KINDS.len();
    let namespace = 0..NAMESPACES.len();
    let v = 0u8..3;
    prop_oneof![
        2 => prop::collection::vec((key.clone(), v.clone()), 0..7).prop_map(Op::SetDesiredAll),
        4 => (key.clone(), prop::option::of(v.clone())).prop_map(|(k, v)| Op::SetLive(k, v)),
        2 => (kind.clone(), namespace.clone(), any::<bool>())
            .prop_map(|(k, n, b)| Op::SetLiveKnown(k, n, b)),
        2 => (kind, namespace, prop::collection::vec((key, v), 0..5))
            .prop_map(|(k, n, objects)| Op::ReplaceLiveKind(k, n, objects)),
    ]
}

/// The plain model: what Git and the cluster hold, and what is known.
#[derive(Default)]
struct Model {
    desired_known: bool,
    desired: BTreeMap<ObjectKey, Value>,
    live: BTreeMap<ObjectKey, Value>,
    /// (kind, namespace)s whose live view is known.
    live_known: BTreeSet<(String, String)>,
}

impl Model {
    /// The verdict of one key from scratch; `None` when neither side has it.
    fn verdict(&self, key: &ObjectKey) -> Option<hhdash::drift::Drift> {
        let desired = self.desired.get(key);
        let live = self.live.get(key);
        match (desired, live) {
            (None, None) => None,
            // Before the first Git sync nobody knows whether a live object is an orphan.
            (None, Some(_)) if !self.desired_known => Some(hhdash::drift::Drift::Unknown),
            _ => Some(classify(
                kinds::by_kind(&key.kind).unwrap(),
                desired,
                live,
                self.live_known
                    .contains(&(key.kind.clone(), key.namespace.clone())),
            )),
        }
    }

    fn fabric_status(&self, threshold: Option<usize>) -> DriftStatus {
        let mut count = 0;
        let mut critical = false;
        for index in 0..UNIVERSE.len() {
            let key = object_key(index);
            let Some(verdict) = self.verdict(&key) else {
                continue;
            };
            let tag = verdict.tag();
            if matches!(
                tag,
                DriftKindTag::Drifted | DriftKindTag::Missing | DriftKindTag::Orphan
            ) {
                count += 1;
            }
            if kinds::by_kind(&key.kind).unwrap().wiring
                && matches!(tag, DriftKindTag::Drifted | DriftKindTag::Missing)
            {
                critical = true;
            }
        }
        let state = if critical || threshold.is_some_and(|t| count > 0 && count >= t) {
            DriftState::Critical
        } else if count > 0 {
            DriftState::DriftDetected
        } else {
            DriftState::InSync
        };
        DriftStatus { state, count }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn incremental_index_equals_full_recompute(
        ops in prop::collection::vec(op(), 0..40),
        threshold in prop::option::of(1usize..4),
    ) {
        let mut index = DriftIndex::new(threshold);
        let mut model = Model::default();
        // Verdicts as replayed from the transitions alone.
        let mut replayed: BTreeMap<ObjectKey, hhdash::drift::Drift> = BTreeMap::new();

        for op in ops {
            let transitions = match op {
                Op::SetDesiredAll(objects) => {
                    let objects: Vec<(ObjectKey, Value)> = objects
                        .into_iter()
                        .map(|(k, v)| (object_key(k), variant(k, v, false)))
                        .collect();
                    model.desired_known = true;
                    // Later duplicates win, as in the index.
                    model.desired = objects.iter().cloned().collect();
                    index.set_desired_all(objects)
                }
                Op::SetLive(k, v) => {
                    let value = v.map(|v| variant(k, v, true));
                    match &value {
                        Some(value) => model.live.insert(object_key(k), value.clone()),
                        None => model.live.remove(&object_key(k)),
                    };
                    index.set_live(object_key(k), value).into_iter().collect()
                }
                Op::SetLiveKnown(kind, namespace, known) => {
                    let (kind, namespace) = (UNIVERSE_KINDS[kind], NAMESPACES[namespace]);
                    let set = (kind.to_string(), namespace.to_string());
                    if known {
                        model.live_known.insert(set);
                    } else {
                        model.live_known.remove(&set);
                    }
                    index.set_live_known(kind, namespace, known)
                }
                Op::ReplaceLiveKind(kind, namespace, objects) => {
                    let (kind, namespace) = (UNIVERSE_KINDS[kind], NAMESPACES[namespace]);
                    let objects: Vec<(ObjectKey, Value)> = objects
                        .into_iter()
                        .filter(|(k, _)| UNIVERSE[*k].0 == kind && UNIVERSE[*k].1 == namespace)
                        .map(|(k, v)| (object_key(k), variant(k, v, true)))
                        .collect();
                    // Only that kind in that namespace is replaced.
                    model
                        .live
                        .retain(|key, _| key.kind != kind || key.namespace != namespace);
                    model.live.extend(objects.iter().cloned());
                    model
                        .live_known
                        .insert((kind.to_string(), namespace.to_string()));
                    index.replace_live_kind(kind, namespace, objects)
                }
            };

            for t in transitions {
                let before = replayed.get(&t.key).map_or(DriftKindTag::Absent, |d| d.tag());
                prop_assert_eq!(t.from, before, "transition {} starts where the last ended", t);
                prop_assert_eq!(t.to, if t.to == DriftKindTag::Absent { t.to } else { t.drift.tag() });
                if t.to == DriftKindTag::Absent {
                    replayed.remove(&t.key);
                } else {
                    replayed.insert(t.key.clone(), t.drift.clone());
                }
            }

            for i in 0..UNIVERSE.len() {
                let key = object_key(i);
                let expected = model.verdict(&key);
                prop_assert_eq!(index.get(&key), expected.as_ref(), "verdict of {}", key);
                prop_assert_eq!(replayed.get(&key), expected.as_ref(), "replayed verdict of {}", key);
                let desired = index.desired(&key).map(|o| o.value());
                let live = index.live(&key).map(|o| o.value());
                prop_assert_eq!(desired.as_ref(), model.desired.get(&key));
                prop_assert_eq!(live.as_ref(), model.live.get(&key));
            }
            prop_assert_eq!(index.len(), replayed.len());
            prop_assert_eq!(index.fabric_status(), model.fabric_status(threshold));

            for kind in UNIVERSE_KINDS {
                let counts = index.counts(kind);
                let of_kind: Vec<ObjectKey> =
                    (0..UNIVERSE.len()).map(object_key).filter(|k| k.kind == *kind).collect();
                let tally = |tag: DriftKindTag| {
                    of_kind.iter().filter(|k| model.verdict(k).map(|d| d.tag()) == Some(tag)).count()
                };
                prop_assert_eq!(counts.desired, of_kind.iter().filter(|k| model.desired.contains_key(*k)).count());
                prop_assert_eq!(counts.live, of_kind.iter().filter(|k| model.live.contains_key(*k)).count());
                prop_assert_eq!(counts.in_sync, tally(DriftKindTag::InSync));
                prop_assert_eq!(counts.drifted, tally(DriftKindTag::Drifted));
                prop_assert_eq!(counts.missing, tally(DriftKindTag::Missing));
                prop_assert_eq!(counts.orphan, tally(DriftKindTag::Orphan));
                prop_assert_eq!(counts.unknown, tally(DriftKindTag::Unknown));
            }
        }
    }
}

#[test]
fn variants_agree_only_with_themselves() {
    // Guards the model above: same variant in sync, different variant drifted.
    for (index, (kind, _, _)) in UNIVERSE.iter().enumerate() {
        let info = kinds::by_kind(kind).unwrap();
        for d in 0..3 {
            for l in 0..3 {
                let diffs = compare(info, &variant(index, d, false), &variant(index, l, true));
                assert_eq!(diffs.is_empty(), d == l, "{index} {d} {l}: {diffs:?}");
            }
        }
    }
}
