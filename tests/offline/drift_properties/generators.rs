//! Generators: Git-shaped objects of the real kinds, what a server adds to them (defaults,
//! metadata, webhook labels, reordered set lists, integers as floats), and walks over the
//! leaves and containers Git sets.

use hhdash::kinds::{self, KindInfo};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::{Seg, ignored, is_set_list};

/// A small deterministic RNG, so one proptest seed drives every server-side decoration.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
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

pub(super) fn key_name() -> impl Strategy<Value = String> {
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
pub(super) fn desired_object() -> impl Strategy<Value = (&'static str, Value)> {
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
pub(super) fn serverside(info: &KindInfo, desired: &Value, seed: u64) -> Value {
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

/// Calls `visit` on each child of `value` that Git sets (map keys outside the ignore rules and
/// every list item), with `path` extended to it.
fn each_child(path: &mut Vec<Seg>, value: &Value, mut visit: impl FnMut(&mut Vec<Seg>, &Value)) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if ignored(path, key) {
                    continue;
                }
                path.push(Seg::Key(key.clone()));
                visit(path, child);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                visit(path, item);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Every leaf Git sets (non-null scalars outside the ignore rules), with its path.
pub(super) fn leaves(path: &mut Vec<Seg>, value: &Value, out: &mut Vec<(Vec<Seg>, Value)>) {
    match value {
        Value::Object(_) | Value::Array(_) => {
            each_child(path, value, |path, child| leaves(path, child, out))
        }
        Value::Null => {}
        scalar => out.push((path.clone(), scalar.clone())),
    }
}

/// Every map and list Git sets something in, outside set lists, with its path.
pub(super) fn containers(
    info: &KindInfo,
    path: &mut Vec<Seg>,
    value: &Value,
    out: &mut Vec<Vec<Seg>>,
) {
    if path.len() > 1 && (1..path.len()).any(|n| is_set_list(info, &path[..n])) {
        return;
    }
    if (value.is_object() || value.is_array()) && !path.is_empty() && !sets_nothing(path, value) {
        out.push(path.clone());
    }
    each_child(path, value, |path, child| {
        containers(info, path, child, out)
    });
}

pub(super) fn at_mut<'v>(value: &'v mut Value, path: &[Seg]) -> &'v mut Value {
    path.iter().fold(value, |node, seg| match seg {
        Seg::Key(key) => &mut node[key.as_str()],
        Seg::Index(i) => &mut node[*i],
    })
}

pub(super) fn at<'v>(value: &'v Value, path: &[Seg]) -> &'v Value {
    path.iter().fold(value, |node, seg| match seg {
        Seg::Key(key) => &node[key.as_str()],
        Seg::Index(i) => &node[*i],
    })
}

/// A value that differs from `leaf` by every rule (strings never contain `~` in Git here).
pub(super) fn changed(leaf: &Value, how: u64) -> Value {
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
