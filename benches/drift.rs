//! Drift detection at fabric scale: 10,000 desired objects against 10,000 live ones, built from
//! the real `nvidia-air-demo` sample (copies renamed), with live = desired plus what the API
//! server and webhooks add, and ~1% really drifted. Run: `cargo bench --bench drift`.
//! Targets: a full recompute under 50 ms, one watch event under 50 µs.
//!
//! The sample is read at bench time from `$HHDASH_SHARED_DIR` or `../shared` beside the crate
//! (reference data is never copied into the project).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hhdash::drift::{DriftIndex, classify};
use hhdash::kinds::{self, ObjectKey};
use serde::Deserialize;
use serde_json::{Value, json};

const OBJECTS: usize = 10_000;
/// Every hundredth live object really differs from Git.
const DRIFT_EVERY: usize = 100;
const SAMPLE: &str = "hedgehog/samples/nvidia-air-demo/include.yaml";

/// The shared reference data, as testenv finds it; panics loudly when absent.
fn shared_dir() -> PathBuf {
    testenv::shared_dir().unwrap_or_else(|error| panic!("benchmarks need the samples: {error}"))
}

/// The sample's objects of kinds Git may hold.
fn sample_objects() -> Vec<Value> {
    let path = shared_dir().join(SAMPLE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "drift bench needs the real sample {} ({error}); set HHDASH_SHARED_DIR to the \
             directory holding hedgehog/",
            path.display()
        )
    });
    let objects: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).expect("sample YAML parses"))
        .filter(|object| {
            object
                .get("kind")
                .and_then(Value::as_str)
                .and_then(kinds::by_kind)
                .is_some_and(|info| info.writable())
        })
        .collect();
    assert!(
        objects.len() > 100,
        "{} holds only {} objects",
        path.display(),
        objects.len()
    );
    objects
}

fn key_of(object: &Value) -> ObjectKey {
    ObjectKey {
        kind: object["kind"].as_str().unwrap().to_string(),
        namespace: "default".into(),
        name: object["metadata"]["name"].as_str().unwrap().to_string(),
    }
}

/// The first string or number, depth first: what a hand edit in the cluster might change.
fn first_leaf(value: &mut Value) -> Option<&mut Value> {
    match value {
        Value::String(_) | Value::Number(_) => Some(value),
        Value::Object(map) => map.values_mut().find_map(first_leaf),
        Value::Array(items) => items.iter_mut().find_map(first_leaf),
        _ => None,
    }
}

/// Edits a field Git sets in `spec`; false when Git sets nothing there (Server `spec: {}`).
fn edit_by_hand(object: &mut Value) -> bool {
    match first_leaf(&mut object["spec"]) {
        Some(Value::String(s)) => s.push_str("-edited"),
        Some(number) => *number = json!(number.as_f64().unwrap() + 1.0),
        None => return false,
    }
    true
}

/// The live form of a Git object (possibly edited by hand already): server metadata, webhook
/// labels and defaults, empty status.
fn serverside(desired: &Value, serial: usize) -> Value {
    let mut live = desired.clone();
    let kind = live["kind"].as_str().unwrap().to_string();
    let spec_fields: serde_json::Map<String, Value> = live["spec"]
        .as_object()
        .map(|spec| spec.keys().map(|k| (format!("f:{k}"), json!({}))).collect())
        .unwrap_or_default();
    let metadata = live["metadata"].as_object_mut().unwrap();
    metadata.insert("namespace".into(), json!("default"));
    metadata.insert(
        "uid".into(),
        json!(format!("6f1c0d2e-0000-4000-8000-{serial:012}")),
    );
    metadata.insert(
        "resourceVersion".into(),
        json!((100_000 + serial).to_string()),
    );
    metadata.insert("generation".into(), json!(1));
    metadata.insert("creationTimestamp".into(), json!("2025-06-01T12:00:00Z"));
    metadata.insert(
        "managedFields".into(),
        json!([{"manager": "hhdash", "operation": "Apply", "apiVersion": "v1beta1",
            "time": "2025-06-01T12:00:00Z", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": spec_fields}}]),
    );
    let labels = metadata.entry("labels").or_insert_with(|| json!({}));
    labels["fabric.githedgehog.com/ipv4ns"] = json!("default");
    labels["fabric.githedgehog.com/vlanns"] = json!("default");
    live["status"] = json!({});
    match kind.as_str() {
        "Switch" => {
            live["spec"]["linkFlapErrDisable"] =
                json!({"flapThreshold": 3, "samplingInterval": 30, "recoveryInterval": 300});
        }
        "VPC" => {
            if let Some(subnets) = live["spec"]["subnets"].as_object_mut() {
                for subnet in subnets.values_mut() {
                    subnet["gateway"] = json!("10.0.0.1");
                }
            }
            live["spec"]["ipv4Namespace"] = json!("default");
            live["spec"]["vlanNamespace"] = json!("default");
        }
        _ => {}
    }
    live
}

struct Fabric {
    desired: Vec<(ObjectKey, Value)>,
    live_by_kind: BTreeMap<String, Vec<(ObjectKey, Value)>>,
    pairs: Vec<(ObjectKey, Value, Value)>,
}

fn fabric() -> Fabric {
    let sample = sample_objects();
    let mut pairs = Vec::with_capacity(OBJECTS);
    let mut edit_pending = false;
    for serial in 0..OBJECTS {
        let mut object = sample[serial % sample.len()].clone();
        let copy = serial / sample.len();
        if copy > 0 {
            let name = format!("{}-c{copy}", object["metadata"]["name"].as_str().unwrap());
            object["metadata"]["name"] = json!(name);
        }
        edit_pending |= serial % DRIFT_EVERY == 0;
        let mut edited = object.clone();
        // Objects Git sets nothing in pass the edit on to the next one.
        if edit_pending && edit_by_hand(&mut edited) {
            edit_pending = false;
        }
        let live = serverside(&edited, serial);
        pairs.push((key_of(&object), object, live));
    }
    let desired = pairs
        .iter()
        .map(|(key, object, _)| (key.clone(), object.clone()))
        .collect();
    let mut live_by_kind: BTreeMap<String, Vec<(ObjectKey, Value)>> = BTreeMap::new();
    for (key, _, live) in &pairs {
        live_by_kind
            .entry(key.kind.clone())
            .or_default()
            .push((key.clone(), live.clone()));
    }
    Fabric {
        desired,
        live_by_kind,
        pairs,
    }
}

fn full_index(fabric: &Fabric) -> DriftIndex {
    let mut index = DriftIndex::new(Some(1_000));
    index.set_desired_all(fabric.desired.clone());
    for (kind, objects) in &fabric.live_by_kind {
        index.replace_live_kind(kind, "default", objects.clone());
    }
    index
}

fn bench_drift(c: &mut Criterion) {
    let fabric = fabric();
    {
        // The fixture must look like the fabric the targets are about.
        let index = full_index(&fabric);
        let totals = index.totals();
        assert_eq!(totals.desired, OBJECTS);
        assert_eq!(totals.live, OBJECTS);
        assert_eq!(totals.drifted, OBJECTS / DRIFT_EVERY, "{totals:?}");
        assert_eq!(totals.in_sync, OBJECTS - OBJECTS / DRIFT_EVERY);
    }

    let mut group = c.benchmark_group("drift_10k");
    group.throughput(Throughput::Elements(OBJECTS as u64));
    group.sample_size(20);

    group.bench_function("index_full_recompute", |b| {
        b.iter_batched(
            || (fabric.desired.clone(), fabric.live_by_kind.clone()),
            |(desired, live_by_kind)| {
                let mut index = DriftIndex::new(Some(1_000));
                index.set_desired_all(desired);
                for (kind, objects) in live_by_kind {
                    index.replace_live_kind(&kind, "default", objects);
                }
                index
            },
            BatchSize::LargeInput,
        )
    });

    group.bench_function("classify_all", |b| {
        b.iter(|| {
            for (key, desired, live) in &fabric.pairs {
                let info = kinds::by_kind(&key.kind).unwrap();
                black_box(classify(info, Some(desired), Some(live), true));
            }
        })
    });

    group.bench_function("git_resync_unchanged", |b| {
        let mut index = full_index(&fabric);
        b.iter_batched(
            || fabric.desired.clone(),
            |desired| index.set_desired_all(desired),
            BatchSize::LargeInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("drift_event");
    group.bench_function("set_live_one_vpc", |b| {
        let mut index = full_index(&fabric);
        let (key, _, live) = fabric
            .pairs
            .iter()
            .find(|(key, _, _)| key.kind == "VPC" && key.name.contains("-c"))
            .expect("the sample has VPCs");
        let mut drifted = live.clone();
        drifted["spec"]["subnets"]
            .as_object_mut()
            .and_then(|subnets| subnets.values_mut().next())
            .expect("a VPC has subnets")["vlan"] = json!(3999);
        // Alternate in sync / drifted so every event changes the verdict and is fully handled.
        let flip = Cell::new(false);
        b.iter_batched(
            || {
                flip.set(!flip.get());
                if flip.get() {
                    drifted.clone()
                } else {
                    live.clone()
                }
            },
            |value| {
                index
                    .set_live(key.clone(), Some(value))
                    .expect("every event flips the verdict")
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_drift);
criterion_main!(benches);
