//! What the engine writes to the store for a re-list and for one watch burst, through the
//! engine's own folding (`engine::live`): the same `LiveState::fold` and `Burst::write` the
//! engine runs, timed here without the network.

use hhdash::config::Namespaces;
use hhdash::drift::DriftIndex;
use hhdash::engine::live::{Burst, LiveState};
use hhdash::object::Object;
use kube::runtime::watcher::Event as WatchEvent;

use super::*;

fn info_of(key: &ObjectKey) -> &'static KindInfo {
    kinds::by_kind(&key.kind).unwrap_or_else(|| panic!("{} is a registered kind", key.kind))
}

/// The fabric's namespace (each watcher watches one), from the objects themselves.
fn namespace_of(entries: &[(ObjectKey, Value)]) -> Arc<str> {
    entries
        .first()
        .map(|(key, _)| Arc::from(key.namespace.as_str()))
        .unwrap_or_else(|| Arc::from(""))
}

/// What the engine stores for a re-list of every kind: each kind's Init, its objects and
/// InitDone folded into one burst, written in one transaction. Returns the burst (dropped by
/// the caller, inside the timing, like the engine drops it after sending the rows).
pub fn write_store(store: &Store, entries: Vec<(ObjectKey, Value)>) -> Burst {
    let now = hhdash::status::now();
    let namespace = namespace_of(&entries);
    let mut state = LiveState::new(&Namespaces::single(&namespace));
    let mut index = DriftIndex::new(None);
    let mut burst = Burst::default();
    let mut by_kind: BTreeMap<&'static str, Vec<(ObjectKey, Value)>> = BTreeMap::new();
    for (key, object) in entries {
        by_kind
            .entry(info_of(&key).kind)
            .or_default()
            .push((key, object));
    }
    for (kind, objects) in by_kind {
        let info = kinds::by_kind(kind).expect("registered");
        let ns = &namespace;
        state.fold(&mut index, info, ns, WatchEvent::Init, now, &mut burst);
        for (key, object) in objects {
            let event = WatchEvent::InitApply((key, Object::new(&object)));
            state.fold(&mut index, info, ns, event, now, &mut burst);
        }
        state.fold(&mut index, info, ns, WatchEvent::InitDone, now, &mut burst);
    }
    burst
        .write(store, FABRIC)
        .unwrap_or_else(|e| panic!("writing {} live objects: {e}", burst.changes.len()));
    burst
}

/// What one engine burst costs in the store, in steady state (the timeline's own eviction cost
/// is measured by `benches/timeline.rs`): 5 modified objects folded as the engine folds them (statuses and log
/// lines included), as a storm's mean burst.
pub fn burst_commit_cost(dir: &Path, engine_store: &Store) -> String {
    let store = Store::open(&dir.join("burst.redb"))
        .unwrap_or_else(|e| panic!("opening the burst store: {e}"));
    let live = engine_store
        .live(FABRIC)
        .unwrap_or_else(|e| panic!("reading the store: {e}"));
    assert!(!live.is_empty(), "the engine stored live objects");
    let entries: Vec<(ObjectKey, Value)> = live.into_iter().map(|(k, o)| (k, o.value())).collect();
    drop(write_store(&store, entries.clone()));
    let namespace = namespace_of(&entries);
    let mut state = LiveState::new(&Namespaces::single(&namespace));
    let mut index = DriftIndex::new(None);
    let per_burst = 5;
    let rounds = 4000 / per_burst;
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let now = hhdash::status::now();
        let mut burst = Burst::default();
        for i in 0..per_burst {
            let (key, object) = &entries[(round * per_burst + i) % entries.len()];
            let event = WatchEvent::Apply((key.clone(), Object::new(object)));
            state.fold(&mut index, info_of(key), &namespace, event, now, &mut burst);
        }
        let t = Instant::now();
        burst
            .write(&store, FABRIC)
            .unwrap_or_else(|e| panic!("writing a burst: {e}"));
        times.push(t.elapsed());
    }
    // The second half: steady state.
    let mut steady = times[rounds / 2..].to_vec();
    steady.sort();
    format!(
        "median {} / p99 {} per transaction ({} transactions)",
        fmt_dur(median(&steady)),
        fmt_dur(pct(&steady, 99.0)),
        steady.len()
    )
}
