//! Properties of drift detection, through the public API only:
//! (a) live = what Git sets plus anything a server adds (defaults, metadata, webhook labels,
//!     reordered set lists, integers as floats, empty values materialised or dropped) is InSync;
//! (b) changing or removing any single leaf Git sets (user annotations included; webhook-owned
//!     ones never count) is Drifted at exactly that path, and so is a map Git sets missing
//!     from live or a plain list of another length;
//! (c) the incremental `DriftIndex`, fed any sequence of operations, holds the same verdicts,
//!     counts and fabric status as classifying every object from scratch, and its transitions
//!     replay to the same state;
//! (d) real Git (every sample and example document) and short forms people write, stored the
//!     way testenv's imitation of the Hedgehog webhooks stores them, is InSync.

use std::collections::{BTreeMap, BTreeSet};

use hhdash::drift::{DriftIndex, DriftKindTag, classify, compare, compare_exact};
use hhdash::kinds::ObjectKey;
use hhdash::kinds::{self, KindInfo};
use hhdash::status::{DriftState, DriftStatus};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// Paths, as the test understands the documented rules.

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The documented path form: bare keys of `[A-Za-z0-9_/-]`, any other key as a JSON string,
/// list indices as `[i]` without a dot.
fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for (i, seg) in path.iter().enumerate() {
        match seg {
            Seg::Key(key) => {
                if i > 0 {
                    out.push('.');
                }
                let bare = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_/".contains(c));
                if bare {
                    out.push_str(key);
                } else {
                    out.push_str(&Value::from(key.as_str()).to_string());
                }
            }
            Seg::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    out
}

/// Whether `path` is one of the kind's set lists (registry patterns, `*` = any segment).
fn is_set_list(info: &KindInfo, path: &[Seg]) -> bool {
    info.set_lists.iter().any(|pattern| {
        let parts: Vec<&str> = pattern.split('.').collect();
        parts.len() == path.len()
            && parts.iter().zip(path).all(|(part, seg)| match seg {
                _ if *part == "*" => true,
                Seg::Key(key) => key == part,
                Seg::Index(_) => false,
            })
    })
}

/// The ignore rules of the module doc, restated: fields Git may write that never count.
fn ignored(path: &[Seg], key: &str) -> bool {
    const METADATA: &[&str] = &[
        "resourceVersion",
        "uid",
        "generation",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "ownerReferences",
        "finalizers",
        "namespace",
    ];
    match path {
        [] => ["status", "apiVersion", "kind"].contains(&key),
        [Seg::Key(m)] if m == "metadata" => METADATA.contains(&key),
        [Seg::Key(m), Seg::Key(l)] if m == "metadata" && (l == "labels" || l == "annotations") => {
            key.contains("fabric.githedgehog.com/")
                || key == "kubectl.kubernetes.io/last-applied-configuration"
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Generators.

/// A small deterministic RNG, so one proptest seed drives every server-side decoration.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn leaf(&mut self) -> Value {
        match self.below(4) {
            0 => json!(format!("srv{}", self.below(100))),
            1 => json!(self.below(10_000)),
            2 => json!(self.below(2) == 0),
            _ => json!({"srvField": self.below(5)}),
        }
    }
}

fn key_name() -> impl Strategy<Value = String> {
    // Plain keys and keys with dots/slashes (quoted in paths). Never longer than five letters
    // per part, so they cannot spell a registry set-list name; never containing `-`, which
    // the server-added keys use.
    prop_oneof![
        3 => "[a-z]{1,5}",
        1 => "[a-z]{1,3}\\.[a-z]{1,3}(/[a-z]{1,3})?",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z0-9 ]{0,6}".prop_map(Value::from),
        (-5000i64..5000).prop_map(Value::from),
        (-1000.0f64..1000.0).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key_name(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

const KINDS: &[&str] = &["VPC", "Switch", "IPv4Namespace", "Connection"];

/// A Git object of a real kind: name, user and webhook-owned labels, an arbitrary spec, and
/// the kind's set lists (strings, the way the webhooks sort them).
fn desired_object() -> impl Strategy<Value = (&'static str, Value)> {
    (
        prop::sample::select(KINDS),
        "[a-z][a-z0-9-]{0,8}",
        prop::collection::btree_map(
            "[a-z]{1,3}(\\.[a-z]{1,3})?(/[a-z]{1,4})?",
            "[a-z]{0,5}",
            0..3,
        ),
        prop::collection::btree_map("[a-z]{1,5}", "[a-z]{0,5}", 0..3),
        prop::collection::btree_map(key_name(), tree(), 0..5),
        prop::collection::vec("[a-z]{1,4}", 0..4),
        any::<bool>(),
        (
            prop::collection::btree_map(
                "[a-z]{1,3}(\\.[a-z]{1,3})?(/[a-z]{1,4})?",
                "[a-z]{0,5}",
                0..3,
            ),
            prop::collection::btree_map("[a-z]{1,5}", "[a-z]{0,5}", 0..2),
        ),
    )
        .prop_map(|(kind, name, labels, owned, spec, set, with_ns, (notes, owned_notes))| {
            let mut labels: Map<String, Value> =
                labels.into_iter().map(|(k, v)| (k, v.into())).collect();
            for (k, v) in owned {
                labels.insert(format!("fabric.githedgehog.com/{k}"), v.into());
            }
            // Annotations as Git may write them: the user's own (compared like any field) and
            // webhook-owned ones (ignored).
            let mut annotations: Map<String, Value> =
                notes.into_iter().map(|(k, v)| (k, v.into())).collect();
            for (k, v) in owned_notes {
                annotations.insert(format!("fabric.githedgehog.com/{k}"), v.into());
            }
            let mut spec: Map<String, Value> = spec.into_iter().collect();
            let set = Value::from(set);
            match kind {
                "Switch" => {
                    spec.insert("groups".into(), set);
                }
                "IPv4Namespace" => {
                    spec.insert("subnets".into(), set);
                }
                "VPC" => {
                    spec.insert(
                        "subnets".into(),
                        json!({"default": {"vlan": 1001, "dhcp": {"options": {"dnsServers": set}}}}),
                    );
                }
                _ => {}
            }
            let info = kinds::by_kind(kind).unwrap();
            let mut metadata = json!({"name": name, "labels": labels});
            if !annotations.is_empty() {
                metadata["annotations"] = Value::Object(annotations);
            }
            if with_ns {
                metadata["namespace"] = json!("default");
            }
            let object = json!({
                "apiVersion": info.api_version(),
                "kind": kind,
                "metadata": metadata,
                "spec": spec,
            });
            (kind, object)
        })
}

/// Whether Git sets nothing at `path`: null, an empty list, or a map of only such values and
/// ignored keys (an empty map included).
fn sets_nothing(path: &mut Vec<Seg>, value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.iter().all(|(key, child)| {
            if ignored(path, key) {
                return true;
            }
            path.push(Seg::Key(key.clone()));
            let nothing = sets_nothing(path, child);
            path.pop();
            nothing
        }),
        _ => false,
    }
}

/// What a server may do to `value` at `path` without contradicting Git: fill nulls and empty
/// values, drop them, add fields to maps, reorder and repeat set-list items, write integers as
/// floats. `None`: leave the field out (only where Git sets nothing).
fn decorate(info: &KindInfo, path: &mut Vec<Seg>, value: &Value, rng: &mut Rng) -> Option<Value> {
    if sets_nothing(path, value) {
        return match rng.below(3) {
            0 => None,
            1 => Some(value.clone()),
            _ => Some(rng.leaf()),
        };
    }
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                path.push(Seg::Key(key.clone()));
                if let Some(child) = decorate(info, path, child, rng) {
                    out.insert(key.clone(), child);
                }
                path.pop();
            }
            for n in 0..rng.below(3) {
                out.insert(format!("srv-{n}"), rng.leaf());
            }
            Some(Value::Object(out))
        }
        Value::Array(items) if is_set_list(info, path) => {
            let mut items = items.clone();
            if rng.below(2) == 0 {
                let repeat = items[rng.below(items.len() as u64) as usize].clone();
                items.push(repeat);
            }
            for i in (1..items.len()).rev() {
                items.swap(i, rng.below(i as u64 + 1) as usize);
            }
            Some(Value::Array(items))
        }
        Value::Array(items) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                // A list keeps its length: an element Git leaves empty stays, filled or not.
                out.push(decorate(info, path, item, rng).unwrap_or(Value::Null));
                path.pop();
            }
            Some(Value::Array(out))
        }
        Value::Number(n) if n.is_i64() && rng.below(2) == 0 => {
            Some(json!(n.as_i64().unwrap() as f64))
        }
        other => Some(other.clone()),
    }
}

/// The live object for Git's `desired`: decorated everywhere, plus server metadata, status and
/// the webhook's own labels in place of Git's.
fn serverside(info: &KindInfo, desired: &Value, seed: u64) -> Value {
    let mut rng = Rng(seed);
    let mut live = decorate(info, &mut Vec::new(), desired, &mut rng).unwrap();
    live["kind"] = json!("Renamed");
    live["status"] = json!({"vni": rng.below(100)});
    let metadata = live["metadata"].as_object_mut().unwrap();
    metadata.insert("namespace".into(), json!("default"));
    metadata.insert("uid".into(), json!(format!("uid-{}", rng.below(1000))));
    metadata.insert("resourceVersion".into(), json!(rng.below(1000).to_string()));
    metadata.insert("generation".into(), json!(rng.below(9) + 1));
    metadata.insert("managedFields".into(), json!([{"manager": "hhdash"}]));
    if let Some(Value::Object(labels)) = metadata.get_mut("labels") {
        labels.retain(|key, _| !key.contains("fabric.githedgehog.com/"));
        labels.insert(
            "fabric.githedgehog.com/ipv4ns".into(),
            json!(format!("ns{}", rng.below(3))),
        );
    }
    // The webhook rewrites its own annotations too, whether Git set any or not.
    let annotations = metadata.entry("annotations").or_insert_with(|| json!({}));
    if !annotations.is_object() {
        // Git set only webhook-owned annotations, which decoration may have replaced.
        *annotations = json!({});
    }
    let annotations = annotations.as_object_mut().unwrap();
    annotations.retain(|key, _| !key.contains("fabric.githedgehog.com/"));
    annotations.insert(
        "fabric.githedgehog.com/route-summ".into(),
        json!(format!("vpc-{}", rng.below(3))),
    );
    live
}

/// Every leaf Git sets (non-null scalars outside the ignore rules), with its path.
fn leaves(path: &mut Vec<Seg>, value: &Value, out: &mut Vec<(Vec<Seg>, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if ignored(path, key) {
                    continue;
                }
                path.push(Seg::Key(key.clone()));
                leaves(path, child, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                leaves(path, item, out);
                path.pop();
            }
        }
        Value::Null => {}
        scalar => out.push((path.clone(), scalar.clone())),
    }
}

/// Every map and list Git sets something in, outside set lists, with its path.
fn containers(info: &KindInfo, path: &mut Vec<Seg>, value: &Value, out: &mut Vec<Vec<Seg>>) {
    if path.len() > 1 && (1..path.len()).any(|n| is_set_list(info, &path[..n])) {
        return;
    }
    if (value.is_object() || value.is_array()) && !path.is_empty() && !sets_nothing(path, value) {
        out.push(path.clone());
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if ignored(path, key) {
                    continue;
                }
                path.push(Seg::Key(key.clone()));
                containers(info, path, child, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                containers(info, path, item, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'v>(value: &'v mut Value, path: &[Seg]) -> &'v mut Value {
    path.iter().fold(value, |node, seg| match seg {
        Seg::Key(key) => &mut node[key.as_str()],
        Seg::Index(i) => &mut node[*i],
    })
}

fn at<'v>(value: &'v Value, path: &[Seg]) -> &'v Value {
    path.iter().fold(value, |node, seg| match seg {
        Seg::Key(key) => &node[key.as_str()],
        Seg::Index(i) => &node[*i],
    })
}

/// A value that differs from `leaf` by every rule (strings never contain `~` in Git here).
fn changed(leaf: &Value, how: u64) -> Value {
    if how == 0 {
        return json!({"replacedBy": "server"});
    }
    match leaf {
        Value::String(s) => json!(format!("{s}~")),
        Value::Bool(b) => json!(!b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => json!(i + 1),
            None => json!(n.as_f64().unwrap() + 1.5),
        },
        other => unreachable!("not a leaf: {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// (a) and (b)

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn server_additions_never_read_as_drift((kind, desired) in desired_object(), seed in any::<u64>()) {
        let info = kinds::by_kind(kind).unwrap();
        let live = serverside(info, &desired, seed);
        prop_assert_eq!(compare(info, &desired, &live), vec![]);
        prop_assert_eq!(
            classify(info, Some(&desired), Some(&live), true),
            hhdash::drift::Drift::InSync
        );
    }

    #[test]
    fn one_changed_leaf_drifts_at_exactly_its_path(
        (kind, desired) in desired_object(),
        seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
        how in 0u64..3,
    ) {
        let info = kinds::by_kind(kind).unwrap();
        let mut candidates = Vec::new();
        leaves(&mut Vec::new(), &desired, &mut candidates);
        // metadata.name is always there, so there is always a leaf to change.
        let (path, old) = pick.get(&candidates).clone();

        // Inside a set list the whole list is the unit; otherwise the leaf itself.
        let set_list = (1..path.len()).find(|&n| is_set_list(info, &path[..n]));
        let (expected_path, expected_desired) = match set_list {
            Some(n) => (render(&path[..n]), at(&desired, &path[..n]).clone()),
            None => (render(&path), old.clone()),
        };
        let parent_is_map = matches!(path.last(), Some(Seg::Key(_)));
        let remove = how == 2 && parent_is_map && set_list.is_none();

        // Decorate first, then edit, so the edit is the one thing the server did not do.
        let mut live = serverside(info, &desired, seed);
        match set_list {
            // Set lists are reordered live; replacing every copy of the old item makes the
            // sets differ however they were shuffled.
            Some(n) => {
                for item in at_mut(&mut live, &path[..n]).as_array_mut().unwrap() {
                    if *item == old {
                        *item = changed(&old, how);
                    }
                }
            }
            None if remove => {
                let Some(Seg::Key(key)) = path.last() else { unreachable!() };
                at_mut(&mut live, &path[..path.len() - 1])
                    .as_object_mut()
                    .unwrap()
                    .remove(key);
            }
            None => *at_mut(&mut live, &path) = changed(&old, how),
        }

        let diffs = compare(info, &desired, &live);
        prop_assert_eq!(diffs.len(), 1, "diffs: {:?}", diffs);
        prop_assert_eq!(&diffs[0].path, &expected_path);
        prop_assert_eq!(diffs[0].desired.as_ref(), Some(&expected_desired));
        prop_assert_eq!(diffs[0].live.is_none(), remove);
        let verdict = classify(info, Some(&desired), Some(&live), true);
        prop_assert_eq!(verdict.tag(), DriftKindTag::Drifted);
    }

    #[test]
    fn missing_map_or_resized_list_drifts_at_exactly_its_path(
        (kind, desired) in desired_object(),
        seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
        grow in any::<bool>(),
    ) {
        let info = kinds::by_kind(kind).unwrap();
        let mut candidates = Vec::new();
        containers(info, &mut Vec::new(), &desired, &mut candidates);
        // `metadata` always holds the name, so there is always a map to lose.
        let path = pick.get(&candidates).clone();
        let mut live = serverside(info, &desired, seed);
        let list = at(&desired, &path).is_array() && !is_set_list(info, &path);
        let removed = !list && matches!(path.last(), Some(Seg::Key(_)));
        if list {
            // A plain list is compared item by item: one more or one fewer is drift.
            let items = at_mut(&mut live, &path).as_array_mut().unwrap();
            if grow || items.len() == 1 {
                items.push(json!("extra"));
            } else {
                items.pop();
            }
        } else if removed {
            let Some(Seg::Key(key)) = path.last() else { unreachable!() };
            at_mut(&mut live, &path[..path.len() - 1])
                .as_object_mut()
                .unwrap()
                .remove(key);
        } else {
            // A map inside a plain list, or a set list: nothing to remove without resizing.
            return Ok(());
        }

        let diffs = compare(info, &desired, &live);
        prop_assert_eq!(diffs.len(), 1, "diffs: {:?}", diffs);
        prop_assert_eq!(&diffs[0].path, &render(&path));
        prop_assert!(diffs[0].desired.is_some());
        prop_assert_eq!(diffs[0].live.is_none(), removed);
        if list {
            prop_assert_eq!(diffs[0].desired.as_ref(), Some(at(&desired, &path)));
            prop_assert_eq!(diffs[0].live.as_ref(), Some(at(&live, &path)));
        }
        prop_assert_eq!(
            classify(info, Some(&desired), Some(&live), true).tag(),
            DriftKindTag::Drifted
        );
    }

    #[test]
    fn exact_mode_ignores_only_server_metadata_and_order(
        (kind, desired) in desired_object(),
        seed in any::<u64>(),
        extra in key_name(),
    ) {
        let info = kinds::by_kind(kind).unwrap();
        // A dry-run result, and the live object holding the same content (set lists reordered,
        // server metadata moved on).
        let dry_run = serverside(info, &desired, seed);
        let mut live = dry_run.clone();
        let mut rng = Rng(seed ^ 0x5555);
        live["metadata"]["resourceVersion"] = json!(rng.below(1000).to_string());
        live["metadata"]["managedFields"] = json!([]);
        live["status"] = json!({});
        prop_assert_eq!(compare_exact(info, &dry_run, &live), vec![]);

        // A field the dry-run does not have is drift in exact mode (not in semantic mode).
        live[format!("{extra}-x")] = json!("added");
        let diffs = compare_exact(info, &dry_run, &live);
        prop_assert_eq!(diffs.len(), 1);
        prop_assert_eq!(&diffs[0].path, &render(&[Seg::Key(format!("{extra}-x"))]));
        prop_assert_eq!(diffs[0].desired.as_ref(), None);
        prop_assert_eq!(compare(info, &dry_run, &live), vec![]);
    }
}

// ---------------------------------------------------------------------------------------------
// (c) incremental == from scratch

/// The objects of the model fabric: two wiring Switches, two VPCs, one IPv4Namespace.
const UNIVERSE: &[(&str, &str)] = &[
    ("Switch", "leaf-01"),
    ("Switch", "spine-01"),
    ("VPC", "vpc-1"),
    ("VPC", "vpc-2"),
    ("IPv4Namespace", "default"),
];
const UNIVERSE_KINDS: &[&str] = &["Switch", "VPC", "IPv4Namespace"];

fn object_key(index: usize) -> ObjectKey {
    let (kind, name) = UNIVERSE[index];
    ObjectKey {
        kind: kind.into(),
        namespace: "default".into(),
        name: name.into(),
    }
}

/// Variant `v` of an object. Desired variants and live variants with the same `v` agree
/// (live adds server fields and reorders its set list), different ones differ.
fn variant(index: usize, v: u8, live: bool) -> Value {
    let (kind, name) = UNIVERSE[index];
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
    SetLiveKnown(usize, bool),
    ReplaceLiveKind(usize, Vec<(usize, u8)>),
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..UNIVERSE.len();
    let kind = 0..UNIVERSE_KINDS.len();
    let v = 0u8..3;
    prop_oneof![
        2 => prop::collection::vec((key.clone(), v.clone()), 0..7).prop_map(Op::SetDesiredAll),
        4 => (key.clone(), prop::option::of(v.clone())).prop_map(|(k, v)| Op::SetLive(k, v)),
        2 => (kind.clone(), any::<bool>()).prop_map(|(k, b)| Op::SetLiveKnown(k, b)),
        2 => (kind, prop::collection::vec((key, v), 0..5))
            .prop_map(|(k, objects)| Op::ReplaceLiveKind(k, objects)),
    ]
}

/// The plain model: what Git and the cluster hold, and what is known.
#[derive(Default)]
struct Model {
    desired_known: bool,
    desired: BTreeMap<ObjectKey, Value>,
    live: BTreeMap<ObjectKey, Value>,
    live_known: BTreeSet<String>,
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
                self.live_known.contains(&key.kind),
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
                Op::SetLiveKnown(kind, known) => {
                    let kind = UNIVERSE_KINDS[kind];
                    if known {
                        model.live_known.insert(kind.into());
                    } else {
                        model.live_known.remove(kind);
                    }
                    index.set_live_known(kind, known)
                }
                Op::ReplaceLiveKind(kind, objects) => {
                    let kind = UNIVERSE_KINDS[kind];
                    let objects: Vec<(ObjectKey, Value)> = objects
                        .into_iter()
                        .filter(|(k, _)| UNIVERSE[*k].0 == kind)
                        .map(|(k, v)| (object_key(k), variant(k, v, true)))
                        .collect();
                    model.live.retain(|key, _| key.kind != kind);
                    model.live.extend(objects.iter().cloned());
                    model.live_known.insert(kind.into());
                    index.replace_live_kind(kind, objects)
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
                prop_assert_eq!(index.desired(&key), model.desired.get(&key));
                prop_assert_eq!(index.live(&key), model.live.get(&key));
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
    for (index, (kind, _)) in UNIVERSE.iter().enumerate() {
        let info = kinds::by_kind(kind).unwrap();
        for d in 0..3 {
            for l in 0..3 {
                let diffs = compare(info, &variant(index, d, false), &variant(index, l, true));
                assert_eq!(diffs.is_empty(), d == l, "{index} {d} {l}: {diffs:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (d)

fn yaml_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

/// Short forms the webhooks rewrite into what they store (one document each).
const SHORT_FORMS: &[&str] = &[
    "{kind: VPCAttachment, metadata: {name: a}, spec: {subnet: vpc-1, connection: c}}",
    "{kind: VPCAttachment, metadata: {name: a, labels: {fabric.githedgehog.com/vpc: x, team: a}}, spec: {subnet: vpc-1/s, nativeVLAN: true}}",
    "{kind: Switch, metadata: {name: s}, spec: {role: server-leaf, profile: vs, portSpeeds: {E1/1: SPEED_25G}, portGroupSpeeds: {'1': SPEED_10G}, linkFlapErrDisable: {}}}",
    "{kind: Switch, metadata: {name: s}, spec: {role: server-leaf, redundancy: {group: g, type: eslag}, groups: [g]}}",
    "{kind: VPC, metadata: {name: v}, spec: {subnets: {a: {subnet: 10.0.0.0/24, dhcp: {enable: true, options: {dnsServers: [9.9.9.9, 1.1.1.1], advertisedRoutes: [{destination: 10.9.0.0/16, gateway: 10.0.0.1}, {destination: 10.1.0.0/16, gateway: 10.0.0.1}]}}}}}}",
    "{kind: VPC, metadata: {name: v}, spec: {subnets: {a: {subnet: 10.0.0.0/24, hostBGP: true}, b: {subnet: 10.0.1.0/31}}}}",
    "{kind: ExternalPeering, metadata: {name: p}, spec: {permit: {vpc: {name: v, subnets: [b, a]}, external: {name: e, prefixes: [{prefix: 10.0.0.0/8}, {prefix: 0.0.0.0/0}]}}}}",
    "{kind: ExternalAttachment, metadata: {name: a}, spec: {external: e, connection: c}}",
    "{kind: IPv4Namespace, metadata: {name: i}, spec: {subnets: [10.2.0.0/16, 10.1.0.0/16]}}",
    "{kind: VPCPeering, metadata: {name: p}, spec: {permit: [{b: {subnets: [default]}, a: {subnets: [default]}}]}}",
];

#[test]
fn git_stored_as_the_webhooks_store_it_is_in_sync() {
    let shared = testenv::shared_dir().unwrap();
    let mut files = Vec::new();
    for dir in [
        shared.join("hedgehog/samples/demo-gitops"),
        shared.join("hedgehog/samples/nvidia-air-demo"),
        shared.join("hedgehog/samples/lab-ci"),
        testenv::workspace_root().join("examples"),
    ] {
        yaml_files(&dir, &mut files);
    }
    files.push(shared.join("hedgehog/samples/gitops-test-1/prepop.yaml"));
    files.sort();
    let mut documents: Vec<(String, Value)> = Vec::new();
    for file in &files {
        for doc in testenv::read_yaml_docs(file).unwrap() {
            documents.push((file.display().to_string(), doc));
        }
    }
    for (i, doc) in testenv::fixtures::demo_gitops_wiring("default")
        .into_iter()
        .enumerate()
    {
        documents.push((format!("demo-gitops wiring #{i}"), doc));
    }
    for text in SHORT_FORMS {
        documents.push((text.to_string(), serde_yaml::from_str(text).unwrap()));
    }
    let mut checked = 0;
    for (source, git) in documents {
        let Some(info) = git["kind"].as_str().and_then(kinds::by_kind) else {
            continue;
        };
        if !info.writable()
            || git["apiVersion"]
                .as_str()
                .is_some_and(|v| v != info.api_version())
        {
            continue;
        }
        let mut live = git.clone();
        testenv::webhook::default_object(info.kind, &mut live);
        live["metadata"]["uid"] = json!("7b0e0f55-0c3e-4c2e-9d5e-0b9f3f0a6f1d");
        let diffs = compare(info, &git, &live);
        assert!(
            diffs.is_empty(),
            "{} {} from {source} reads as drift once stored: {diffs:?}\nlive: {live}",
            info.kind,
            git["metadata"]["name"]
        );
        checked += 1;
    }
    assert!(checked > 300, "only {checked} documents checked");
}
