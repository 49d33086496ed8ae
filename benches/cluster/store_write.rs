//! What the engine writes to the store for a re-list and for one watch burst, re-created here to
//! time the store on its own.

use super::*;

// rewired to the engine's burst by the lead
/// What the engine stores for a re-listed kind: each object and its resource status.
pub fn write_store(
    store: &Store,
    entries: Vec<(ObjectKey, Value)>,
) -> (Vec<LiveChange>, Vec<(ObjectKey, ResourceStatus)>) {
    let now = hhdash::status::now();
    let mut changes = Vec::with_capacity(entries.len());
    let mut statuses = Vec::with_capacity(entries.len());
    for (key, object) in entries {
        let text = |field: &str| {
            object
                .get("metadata")
                .and_then(|m| m.get(field))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let status = ResourceStatus {
            state: KubernetesState::Live,
            uid: text("uid"),
            resource_version: text("resourceVersion"),
            created: text("creationTimestamp"),
            last_synced: Some(now),
            ..Default::default()
        };
        statuses.push((key.clone(), status));
        changes.push(LiveChange::Upsert { key, object });
    }
    store
        .write_live(FABRIC, &changes, &statuses, &[])
        .unwrap_or_else(|e| panic!("writing {} live objects: {e}", changes.len()));
    (changes, statuses)
}

/// What one engine burst costs in the store, in steady state (event log already full, so each
/// append also trims): 5 upserts, their statuses and 5 log events, as a storm's mean burst.
pub fn burst_commit_cost(dir: &Path, engine_store: &Store) -> String {
    let store = Store::open(&dir.join("burst.redb"))
        .unwrap_or_else(|e| panic!("opening the burst store: {e}"));
    let live = engine_store
        .live(FABRIC)
        .unwrap_or_else(|e| panic!("reading the store: {e}"));
    assert!(!live.is_empty(), "the engine stored live objects");
    let entries: Vec<(ObjectKey, Value)> = live.into_iter().collect();
    drop(write_store(&store, entries.clone()));
    let per_burst = 5;
    let rounds = 2 * hhdash::store::EVENTS_PER_FABRIC as usize / per_burst;
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let slice: Vec<(ObjectKey, Value)> = (0..per_burst)
            .map(|i| entries[(round * per_burst + i) % entries.len()].clone())
            .collect();
        let events: Vec<Event> = slice
            .iter()
            .map(|(key, _)| Event {
                time: hhdash::status::now(),
                what: EventKind::Modified,
                object: Some(format!("{}/{}", key.kind, key.name)),
                message: "modified in the cluster".into(),
            })
            .collect();
        let changes: Vec<LiveChange> = slice
            .iter()
            .map(|(key, object)| LiveChange::Upsert {
                key: key.clone(),
                object: object.clone(),
            })
            .collect();
        let statuses: Vec<(ObjectKey, ResourceStatus)> = slice
            .iter()
            .map(|(key, _)| (key.clone(), ResourceStatus::default()))
            .collect();
        let t = Instant::now();
        store
            .write_live(FABRIC, &changes, &statuses, &events)
            .unwrap_or_else(|e| panic!("writing a burst: {e}"));
        times.push(t.elapsed());
    }
    // The second half: the log is full, every append trims.
    let mut steady = times[rounds / 2..].to_vec();
    steady.sort();
    format!(
        "median {} / p99 {} per transaction ({} transactions)",
        fmt_dur(median(&steady)),
        fmt_dur(pct(&steady, 99.0)),
        steady.len()
    )
}
