//! attribution::managed: reads `metadata.managedFields[].fieldsV1` (the server-side apply
//! field sets) and answers which managers own a drift path.
//!
//! ## Field sets
//!
//! A `fieldsV1` set is a tree of JSON objects whose keys name children: `f:<name>` a map
//! field, `k:{"port":443,"protocol":"TCP"}` a list item identified by its key fields,
//! `v:"example.com/keep"` a set item identified by its value, `i:<n>` a list item by index, and
//! `.` the node itself. A node is *held* (in the set) when it is a leaf `{}` or carries `.`; a
//! node with children only is there because something below it is held.
//!
//! A held leaf above the path is atomic — its manager owns everything below it — when its live
//! value is a list or a scalar (`f:permit: {}`: every list of the Hedgehog kinds is atomic), or
//! a map no manager has a field inside (an atomic map such as a Service's `selector`). A leaf
//! on a map others have fields inside holds only the map's existence: that is what remains of
//! `{".": {}, "f:vlan": {}}` once the vlan was removed (the writable Hedgehog kinds have no
//! atomic maps; the schema is not at hand here, so this is read from the sets).
//!
//! ## The rule
//!
//! A drift path is walked against each manager's set, list items resolved against the live
//! item at that index (its key fields for `k:`, its value for `v:`).
//!
//! * **Exact**: the managers whose set holds the path, or an atomic leaf above it. All of them,
//!   newest `time` first (several managers may share a field; one that applied a value already
//!   there has no time and comes last).
//! * **Inexact** (nobody holds it: the field was removed live, a keyed list changed length, a
//!   map key is missing): the longest prefix of the path — the path itself first, then its
//!   parents, down to the top-level field such as `spec` — at which some manager's set has a
//!   node (holds it or something below it); the writers are the manager(s) there with the
//!   newest `time`. Kubernetes records no trace of a write that only removes fields (the
//!   remover gains no field, so its entry and time stay as they were or never appear), so this
//!   names the newest writer next to the removed field: the remover when it also wrote there,
//!   else only a hint. When no manager has anything under the top-level field, `writers` is
//!   empty.
//!
//! Entries written to the status subresource never own a drift path (drift ignores status).

use serde_json::{Map, Value};

use super::{FieldWriter, LiveAttribution};
use crate::drift::{PathSegment, parse_path};
use crate::time::parse_rfc3339;

/// The managers owning `path` (a drift path, e.g. `spec.subnets.default.vlan`,
/// `spec.ranges[0].to`, `metadata.labels."a.b/c"`) in `live`; None when the object carries no
/// field sets (a read-only kind, or an object stored before attribution existed) or the path
/// cannot be read.
pub fn attribute(live: &Value, path: &str) -> Option<LiveAttribution> {
    let sets = field_sets(live);
    if sets.is_empty() {
        return None;
    }
    let segments = parse_path(path)?;
    let walks: Vec<Walk> = sets
        .iter()
        .map(|(_, fields)| walk(fields, live, &segments))
        .collect();
    let mut owners = Vec::new();
    // Per manager that does not own the path: how many of its segments the set has a node for.
    let mut reach = Vec::with_capacity(sets.len());
    for (position, outcome) in walks.iter().enumerate() {
        match *outcome {
            Walk::Holds => owners.push(position),
            Walk::LeafAbove { at, on_map } => {
                // A leaf on a map others have fields inside holds the map's existence only.
                let granular = on_map && walks.iter().any(|other| other.goes_below(at));
                if granular {
                    reach.push((position, at + 1));
                } else {
                    owners.push(position);
                }
            }
            Walk::Reaches(depth) => reach.push((position, depth)),
        }
    }
    let exact = !owners.is_empty();
    if !exact {
        // The nearest level (the path itself, then its parents, down to the top-level field)
        // some set has a node at, and the newest writers there.
        let deepest = reach.iter().map(|(_, depth)| *depth).max().unwrap_or(0);
        let nearest: Vec<usize> = reach
            .iter()
            .filter(|(_, depth)| deepest > 0 && *depth == deepest)
            .map(|(position, _)| *position)
            .collect();
        let newest = nearest.iter().map(|position| sets[*position].0.time).max();
        owners = nearest
            .into_iter()
            .filter(|position| Some(sets[*position].0.time) == newest)
            .collect();
    }
    let mut writers: Vec<FieldWriter> = owners
        .into_iter()
        .map(|position| sets[position].0.clone())
        .collect();
    // Newest first; an entry without a time last. Stable: ties keep managedFields order.
    writers.sort_by_key(|writer| std::cmp::Reverse(writer.time));
    Some(LiveAttribution { writers, exact })
}

/// Every `managedFields` entry carrying a field set: who wrote it, and the set. Entries
/// written to the status subresource are left out: they never own a drift path.
fn field_sets(live: &Value) -> Vec<(FieldWriter, &Map<String, Value>)> {
    let Some(entries) = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let fields = entry.get("fieldsV1")?.as_object()?;
            let text = |name: &str| entry.get(name).and_then(Value::as_str);
            if text("subresource").is_some_and(|s| !s.is_empty()) {
                return None;
            }
            let writer = FieldWriter {
                manager: text("manager").unwrap_or_default().to_string(),
                operation: text("operation").unwrap_or_default().to_string(),
                subresource: None,
                time: text("time").and_then(parse_rfc3339),
            };
            Some((writer, fields))
        })
        .collect()
}

/// How far one manager's set goes along a path.
#[derive(Debug, PartialEq, Eq)]
enum Walk {
    /// The set holds the path itself.
    Holds,
    /// The set holds the node of segment `at` above the path as a leaf `{}`: all of it when
    /// that node is atomic; `on_map`: its live value is a map, which may be granular.
    LeafAbove { at: usize, on_map: bool },
    /// The set has (non-leaf) nodes for this many leading segments, and not the next.
    Reaches(usize),
}

impl Walk {
    /// Whether the set has a field inside the node of segment `at`.
    fn goes_below(&self, at: usize) -> bool {
        match *self {
            Walk::Holds => true,
            Walk::LeafAbove { at: leaf, .. } => leaf > at,
            Walk::Reaches(depth) => depth > at,
        }
    }
}

fn walk(fields: &Map<String, Value>, live: &Value, segments: &[PathSegment]) -> Walk {
    let mut node = fields;
    let mut value = Some(live);
    for (depth, segment) in segments.iter().enumerate() {
        let child = match segment {
            PathSegment::Key(key) => {
                value = value.and_then(|value| value.get(key));
                field_child(node, key)
            }
            PathSegment::Index(index) => {
                value = value.and_then(|value| value.get(index));
                value.and_then(|item| item_child(node, *index, item))
            }
        };
        let Some(child) = child.and_then(Value::as_object) else {
            return Walk::Reaches(depth);
        };
        if child.is_empty() {
            return if depth + 1 == segments.len() {
                Walk::Holds
            } else {
                Walk::LeafAbove {
                    at: depth,
                    on_map: value.is_some_and(Value::is_object),
                }
            };
        }
        node = child;
    }
    if node.contains_key(".") {
        Walk::Holds
    } else {
        Walk::Reaches(segments.len())
    }
}

/// `f:<key>` of a node; small nodes are scanned rather than building the name.
fn field_child<'a>(node: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if node.len() <= 8 {
        node.iter()
            .find(|(name, _)| name.strip_prefix("f:") == Some(key))
            .map(|(_, child)| child)
    } else {
        node.get(&format!("f:{key}"))
    }
}

/// The child of a list node naming the live `item` at `index`: `i:<index>`, `k:{…}` whose
/// key fields the item has with those values, or `v:<item>`.
fn item_child<'a>(node: &'a Map<String, Value>, index: usize, item: &Value) -> Option<&'a Value> {
    node.iter()
        .find(|(name, _)| {
            if let Some(position) = name.strip_prefix("i:") {
                position.parse() == Ok(index)
            } else if let Some(keys) = name.strip_prefix("k:") {
                serde_json::from_str::<Map<String, Value>>(keys).is_ok_and(|keys| {
                    keys.iter()
                        .all(|(key, want)| item.get(key).is_some_and(|have| same(have, want)))
                })
            } else if let Some(set_value) = name.strip_prefix("v:") {
                serde_json::from_str::<Value>(set_value).is_ok_and(|want| same(item, &want))
            } else {
                false
            }
        })
        .map(|(_, child)| child)
}

/// JSON equality with numbers by value (`443` and `443.0` are one port).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| same(x, y)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
#[path = "managed_tests.rs"]
mod tests;
