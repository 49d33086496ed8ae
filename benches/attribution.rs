//! Live drift attribution at fabric scale: who wrote every drifted path of 1,000 drifted
//! objects, from their `managedFields`. Run: `cargo bench --bench attribution`.
//!
//! The objects are the real `nvidia-air-demo` sample's (copies renamed), live = Git as hhdash
//! applied it, with field sets shaped as the API server writes them (`f:` nodes, `.` on map
//! entries, atomic lists as leaves), then changed by several managers: a `kubectl patch` of one
//! field, a server-side apply by `ops-script` of another, a field removed by a JSON patch (owned
//! by nobody afterwards), a label by `kubectl-label`, the controller's status write. What is
//! kept is what `cluster::strip_server_noise` keeps. The sample is read at bench time from
//! `$HHDASH_SHARED_DIR` or `../shared`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hhdash::attribution::attribute_all;
use hhdash::drift::{Drift, classify};
use hhdash::kinds;
use serde::Deserialize;
use serde_json::{Map, Value, json};

const OBJECTS: usize = 1_000;
const SAMPLE: &str = "hedgehog/samples/nvidia-air-demo/include.yaml";

/// The sample's objects of kinds hhdash applies that set something in `spec`.
fn sample_objects() -> Vec<Value> {
    let dir = testenv::shared_dir()
        .unwrap_or_else(|error| panic!("benchmarks need the samples: {error}"));
    let path = dir.join(SAMPLE);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let objects: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).expect("sample YAML parses"))
        .filter(|object| {
            object
                .get("kind")
                .and_then(Value::as_str)
                .and_then(kinds::by_kind)
                .is_some_and(|info| info.writable())
                && leaves(&object["spec"]).len() >= 2
        })
        .collect();
    assert!(
        objects.len() > 50,
        "{} holds only {}",
        path.display(),
        objects.len()
    );
    objects
}

/// The field set a server-side apply of `value` gives its manager: `f:` per map key, `.` on
/// non-empty maps below the top level, lists and scalars as leaves.
fn field_set(value: &Value, top: bool) -> Value {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut set = Map::new();
            if !top {
                set.insert(".".into(), json!({}));
            }
            for (key, child) in map {
                set.insert(format!("f:{key}"), field_set(child, false));
            }
            Value::Object(set)
        }
        _ => json!({}),
    }
}

/// JSON pointers of the scalar fields of `value` outside lists.
fn leaves(value: &Value) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    fn walk(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    path.push(key.clone());
                    walk(child, path, out);
                    path.pop();
                }
            }
            Value::Array(_) => {}
            _ => out.push(path.clone()),
        }
    }
    walk(value, &mut Vec::new(), &mut out);
    out
}

fn node_mut<'a>(root: &'a mut Value, path: &[String], prefix: &str) -> Option<&'a mut Value> {
    let mut node = root;
    for key in path {
        node = node.get_mut(format!("{prefix}{key}"))?;
    }
    Some(node)
}

/// Removes the field at `path` from a set, keeping the parent node (as the server does).
fn drop_field(set: &mut Value, path: &[String]) {
    if let Some((last, parent)) = path.split_last()
        && let Some(Value::Object(parent)) = node_mut(set, parent, "f:")
    {
        parent.remove(&format!("f:{last}"));
    }
}

/// A set holding only `path` (a leaf).
fn single(path: &[String]) -> Value {
    let mut set = json!({});
    for key in path.iter().rev() {
        set = json!({ format!("f:{key}"): set });
    }
    set
}

/// One drifted object: Git's `desired`, the live object after several managers' writes.
fn drifted(desired: &Value, serial: usize) -> (Value, Value) {
    let mut desired = desired.clone();
    let name = format!("{}-{serial}", desired["metadata"]["name"].as_str().unwrap());
    desired["metadata"]["name"] = json!(name);
    let mut live = desired.clone();
    let mut hhdash = json!({"f:spec": field_set(&desired["spec"], true)});
    let spec_leaves = leaves(&desired["spec"]);
    let path = |index: usize| {
        let mut path = vec!["spec".to_string()];
        path.extend(spec_leaves[index % spec_leaves.len()].iter().cloned());
        path
    };
    let (patched, removed) = (path(serial), path(serial + 1));
    // kubectl patch changes one field and takes it from hhdash.
    let value = node_mut(&mut live, &patched, "").unwrap();
    let changed = match &*value {
        Value::String(s) => json!(format!("{s}-patched")),
        Value::Number(n) => json!(n.as_f64().unwrap() + 1.0),
        other => json!(!other.as_bool().unwrap_or(false)),
    };
    *value = changed;
    drop_field(&mut hhdash, &patched);
    // A JSON patch removes another: nobody owns it any more.
    if removed != patched
        && let Some((last, parent)) = removed.split_last()
        && let Some(Value::Object(parent)) = node_mut(&mut live, parent, "")
    {
        parent.remove(last);
        drop_field(&mut hhdash, &removed);
    }
    live["metadata"]["labels"] = json!({"team": "blue"});
    live["metadata"]["managedFields"] = json!([
        {"manager": "hhdash", "operation": "Apply", "time": "2026-11-28T04:19:12Z", "fieldsV1": hhdash},
        {"manager": "ops-script", "operation": "Apply", "time": "2026-11-28T04:19:53Z", "fieldsV1": single(&path(serial + 2))},
        {"manager": "kubectl-label", "operation": "Update", "time": "2026-11-28T04:20:01Z", "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}}}}},
        {"manager": "kubectl-patch", "operation": "Update", "time": "2026-11-28T04:21:37Z", "fieldsV1": single(&patched)},
        {"manager": "fabric-controller", "operation": "Update", "subresource": "status", "time": "2026-11-28T04:22:00Z"},
    ]);
    (desired, live)
}

fn bench_attribution(c: &mut Criterion) {
    let sample = sample_objects();
    let objects: Vec<(Drift, Value)> = (0..OBJECTS)
        .map(|serial| {
            let (desired, live) = drifted(&sample[serial % sample.len()], serial);
            let info = kinds::by_kind(desired["kind"].as_str().unwrap()).unwrap();
            let drift = classify(info, Some(&desired), Some(&live), true);
            assert!(matches!(drift, Drift::Drifted(_)), "{desired}\n{live}");
            (drift, live)
        })
        .collect();
    let paths: usize = objects
        .iter()
        .map(|(drift, _)| match drift {
            Drift::Drifted(diffs) => diffs.len(),
            _ => 0,
        })
        .sum();
    // Every path has an answer: the patch exactly, the removal as a guess.
    let explained: Vec<_> = objects
        .iter()
        .flat_map(|(drift, live)| attribute_all(drift, Some(live)))
        .collect();
    assert_eq!(explained.len(), paths);
    assert!(explained.iter().all(|e| e.live.is_some()));
    assert!(explained.iter().any(|e| e.live.as_ref().unwrap().exact));
    assert!(explained.iter().any(|e| !e.live.as_ref().unwrap().exact));
    eprintln!("attribution bench: {OBJECTS} drifted objects, {paths} drifted paths");

    let mut group = c.benchmark_group("attribution");
    group.throughput(Throughput::Elements(OBJECTS as u64));
    group.bench_function("every drifted path of 1,000 drifted objects", |b| {
        b.iter(|| {
            for (drift, live) in &objects {
                black_box(attribute_all(drift, Some(live)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_attribution);
criterion_main!(benches);
