//! live: folding watch events into what the engine knows of the cluster, without I/O. Each
//! event changes the live state (drift index, resource statuses, Agents, re-lists under way)
//! and adds to a `Burst`: what one store transaction and one `Rows` event carry. Each
//! (kind, namespace) has its own watcher; its re-list is buffered between `Init` and
//! `InitDone` and replaces the live set of that kind in that namespace only once complete
//! (kube's reflector `Writer` does the same).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use kube::runtime::watcher::Event as WatchEvent;
use serde_json::Value;

use crate::cluster;
use crate::config::Namespaces;
use crate::drift::{DriftIndex, Transition};
use crate::kinds::{KindInfo, ObjectKey};
use crate::object::Object;
use crate::status::{KubernetesState, ResourceStatus, Timestamp};
use crate::store::{LiveChange, LogEntry, LogKind, Store, StoreError};

/// One live object as the watch delivers it: encoded once (in the watcher's task), then shared
/// by the drift index, the dashboard's row and the store write.
pub type LiveObject = (ObjectKey, Object);

/// Converts a watch event's object (in the watcher's task, off the engine's loop). `None` for
/// an object without a name, which the engine cannot key.
pub fn live_event(
    info: &KindInfo,
    event: WatchEvent<kube::api::DynamicObject>,
) -> Option<WatchEvent<LiveObject>> {
    let convert =
        |object| cluster::live_entry(info, object).map(|(key, value)| (key, Object::new(&value)));
    Some(match event {
        WatchEvent::Init => WatchEvent::Init,
        WatchEvent::InitDone => WatchEvent::InitDone,
        WatchEvent::InitApply(object) => WatchEvent::InitApply(convert(object)?),
        WatchEvent::Apply(object) => WatchEvent::Apply(convert(object)?),
        WatchEvent::Delete(object) => WatchEvent::Delete(convert(object)?),
    })
}

/// What a run of watch events changed: written to the store in one transaction, then sent as
/// log lines and one `Rows` event.
#[derive(Debug, Default)]
pub struct Burst {
    /// Live objects to store or drop.
    pub changes: Vec<LiveChange<Object>>,
    pub statuses: Vec<(ObjectKey, ResourceStatus)>,
    /// Log lines, in the order they happened (object changes thinned by `storm` before
    /// they are written).
    pub entries: Vec<LogEntry>,
    /// Objects whose row must be sent again.
    pub touched: BTreeSet<ObjectKey>,
    /// Verdict changes, logged separately (never folded by `storm`).
    pub transitions: Vec<Transition>,
    /// An Agent came, changed or went: switch health must be re-evaluated.
    pub agents_changed: bool,
    /// Every Agent report that arrived, in order (stored or not): the engine's flap history
    /// observes each.
    pub agent_reports: Vec<Arc<Value>>,
}

impl Burst {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.statuses.is_empty()
            && self.entries.is_empty()
            && self.touched.is_empty()
            && self.transitions.is_empty()
    }

    /// Writes the burst's objects, statuses and log lines to the store in one transaction,
    /// however many watch events it holds.
    pub fn write(&self, store: &Store, fabric: &str) -> Result<(), StoreError> {
        store.write_live(fabric, &self.changes, &self.statuses, &self.entries)
    }
}

/// What one watcher covers: a kind in one of the fabric's namespaces.
pub type WatchedSet = (&'static str, Arc<str>);

/// A (kind, namespace)'s live objects as the reflector sees them: while a re-list is under way
/// its objects are buffered; `InitDone` hands them over as the whole live set of that kind in
/// that namespace.
#[derive(Debug, Default)]
pub struct Relists {
    buffers: HashMap<WatchedSet, Vec<LiveObject>>,
    /// The (kind, namespace)s whose list has completed since the watchers started.
    listed: BTreeSet<WatchedSet>,
}

impl Relists {
    fn begin(&mut self, set: WatchedSet) {
        self.buffers.insert(set, Vec::new());
    }

    fn push(&mut self, set: WatchedSet, object: LiveObject) {
        self.buffers.entry(set).or_default().push(object);
    }

    /// The re-list of a (kind, namespace) is complete: its objects, and it counts as listed.
    fn finish(&mut self, set: WatchedSet) -> Vec<LiveObject> {
        let objects = self.buffers.remove(&set).unwrap_or_default();
        self.listed.insert(set);
        objects
    }

    /// The watchers stopped: nothing is listed, nothing under way.
    pub fn clear(&mut self) {
        self.buffers.clear();
        self.listed.clear();
    }

    /// Whether no re-list is under way and `watched` (kind, namespace)s — kinds × namespaces
    /// — have completed one.
    pub fn all_listed(&self, watched: usize) -> bool {
        self.buffers.is_empty() && self.listed.len() == watched
    }
}

/// Everything the watch has told the engine beside the drift index: per-resource statuses,
/// the read-only kinds the controllers write (Agents for switch health; never drift) and the
/// re-lists under way.
#[derive(Debug)]
pub struct LiveState {
    /// How log lines name objects and watched sets (with the namespace once there are several).
    namespaces: Namespaces,
    pub resources: HashMap<ObjectKey, ResourceStatus>,
    /// Live objects of the read-only kinds (Agent, VPCInfo, GatewayAgent), by key: an Agent in
    /// one namespace is not the same-named Agent in another.
    pub read_only: BTreeMap<ObjectKey, Arc<Value>>,
    /// The copy of each Agent/GatewayAgent report last written to the store (no-churn rule).
    stored_reports: HashMap<ObjectKey, StoredReport>,
    pub relists: Relists,
    /// The storm window object change lines pass through (`storm`).
    pub storm: super::storm::StormWindow,
    /// First verdicts not yet logged (`timeline::FirstVerdicts`).
    pub first_verdicts: super::timeline::FirstVerdicts,
}

/// An Agent or GatewayAgent whose report has not changed materially is written to the store
/// again only once its stored copy is this old: a restart then shows a heartbeat at most this
/// old (and the moving error counters at most this stale), while a switch that rewrites its
/// whole status every 15 s costs one write a minute, not four.
pub const STORED_REPORT_MAX_AGE_SECS: i64 = 60;

/// The last copy of a report written to the store, and when.
#[derive(Debug, Clone)]
struct StoredReport {
    value: Arc<Value>,
    at: Timestamp,
}

/// The kinds whose reports are rewritten every heartbeat by the switches and gateways.
fn is_report(kind: &str) -> bool {
    kind == "Agent" || kind == "GatewayAgent"
}

/// Whether two compact reports (`kinds::live_fields`) of one Agent or GatewayAgent tell the
/// same story: equal except the heartbeat, the object's resource version, the cumulative
/// error counters, times that moved by less than [`TIME_TOLERANCE_SECS`] (the agent recomputes
/// `lastEstab` from "seconds ago" at every poll) and measurements (optic power, temperatures,
/// fan speeds, PSU power, critical resource usage) that moved by less than
/// [`same_measurement`]'s tolerance. Anything
/// else — an oper state, an LLDP neighbor, a BGP state or reset reason, a generation — is a
/// material change. The one rule for "did the report change".
pub fn same_report(old: &Value, new: &Value) -> bool {
    same_part(old, new, &mut Vec::new())
}

/// Times closer than this are the same time.
const TIME_TOLERANCE_SECS: i64 = 5;

/// Keys whose value never makes a report change: the heartbeat itself, the resource version
/// every write bumps, and the error counters (`counters`) that move with traffic.
fn volatile(path: &[&str], key: &str) -> bool {
    matches!(
        (path, key),
        (["status"], "lastHeartbeat") | (["metadata"], "resourceVersion") | (_, "counters")
    )
}

fn same_part<'a>(old: &'a Value, new: &'a Value, path: &mut Vec<&'a str>) -> bool {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            // Per report, on the watch path: no key sets built, just counted and looked up.
            let material = |map: &serde_json::Map<String, Value>, path: &[&str]| {
                map.keys().filter(|key| !volatile(path, key)).count()
            };
            material(old, path) == material(new, path)
                && old.iter().all(|(key, value)| {
                    if volatile(path, key) {
                        return true;
                    }
                    let Some(new) = new.get(key) else {
                        return false;
                    };
                    path.push(key);
                    let same = same_part(value, new, path);
                    path.pop();
                    same
                })
        }
        (Value::Array(old), Value::Array(new)) => {
            old.len() == new.len() && old.iter().zip(new).all(|(o, n)| same_part(o, n, path))
        }
        // Critical resource usage (routes, FDB entries…) is a gauge that moves with the
        // network: a reading, not an identity.
        (Value::Number(old), Value::Number(new))
            if old.is_f64() || new.is_f64() || path.contains(&"criticalResources") =>
        {
            match (old.as_f64(), new.as_f64()) {
                (Some(old), Some(new)) => same_measurement(old, new),
                _ => false,
            }
        }
        (Value::String(old), Value::String(new)) if old != new => {
            match (
                crate::time::parse_rfc3339(old),
                crate::time::parse_rfc3339(new),
            ) {
                (Some(old), Some(new)) => (old - new).abs() < TIME_TOLERANCE_SECS,
                _ => false,
            }
        }
        (old, new) => old == new,
    }
}

/// Measurements jitter between polls: within half a unit (dBm, °C, W) or 5 % they are the
/// same reading.
fn same_measurement(old: f64, new: f64) -> bool {
    (old - new).abs() <= 0.5_f64.max(0.05 * old.abs().max(new.abs()))
}

/// Where a kind's live objects go: writable kinds into the drift index, with a resource
/// status, a log line and a row per change; read-only kinds (status written by the switches
/// and controllers) into the read-only map only. The one place the two differ.
enum Target<'a> {
    Index {
        index: &'a mut DriftIndex,
        resources: &'a mut HashMap<ObjectKey, ResourceStatus>,
        namespaces: &'a Namespaces,
    },
    ReadOnly {
        objects: &'a mut BTreeMap<ObjectKey, Arc<Value>>,
        stored: &'a mut HashMap<ObjectKey, StoredReport>,
    },
}

impl Target<'_> {
    fn contains(&self, key: &ObjectKey) -> bool {
        match self {
            Target::Index { index, .. } => index.live(key).is_some(),
            Target::ReadOnly { objects, .. } => objects.contains_key(key),
        }
    }

    /// One object added, modified (`Some`) or deleted (`None`).
    fn set(&mut self, key: ObjectKey, value: Option<Object>, now: Timestamp, burst: &mut Burst) {
        let what = match (&value, self.contains(&key)) {
            (None, _) => LogKind::Deleted,
            (Some(_), true) => LogKind::Modified,
            (Some(_), false) => LogKind::Added,
        };
        let change = match &value {
            Some(object) => LiveChange::Upsert {
                key: key.clone(),
                object: object.clone(),
            },
            None => LiveChange::Delete { key: key.clone() },
        };
        match self {
            Target::Index {
                index,
                resources,
                namespaces,
            } => {
                burst.changes.push(change);
                let status = update_status(resources, &key, value.as_ref(), now);
                burst.statuses.push((key.clone(), status));
                // Per watch event: fixed words, no formatting.
                let message = match what {
                    LogKind::Deleted => "deleted from the cluster",
                    LogKind::Added => "added in the cluster",
                    _ => "modified in the cluster",
                };
                burst.entries.push(LogEntry {
                    key: Some(key.clone()),
                    ..log_line(now, what, Some(namespaces.object_name(&key)), message)
                });
                burst
                    .transitions
                    .extend(index.set_live_shared(key.clone(), value));
                burst.touched.insert(key);
            }
            Target::ReadOnly { objects, stored } => {
                // The few read-only objects (an Agent per switch) are judged on every report:
                // held decoded.
                match value.as_ref().map(|object| Arc::new(object.value())) {
                    Some(value) => {
                        if key.kind == "Agent" {
                            burst.agent_reports.push(value.clone());
                        }
                        // The in-memory copy is always the newest; the store only gets what
                        // changed materially, or a refresh of an old copy.
                        let unchanged = is_report(&key.kind)
                            && stored.get(&key).is_some_and(|copy| {
                                now - copy.at < STORED_REPORT_MAX_AGE_SECS
                                    && same_report(&copy.value, &value)
                            });
                        if !unchanged {
                            burst.changes.push(change);
                            if is_report(&key.kind) {
                                let copy = StoredReport {
                                    value: value.clone(),
                                    at: now,
                                };
                                stored.insert(key.clone(), copy);
                            }
                        }
                        objects.insert(key, value);
                    }
                    None => {
                        burst.changes.push(change);
                        stored.remove(&key);
                        objects.remove(&key);
                    }
                }
                burst.agents_changed = true;
            }
        }
    }

    /// A completed re-list: `objects` is the kind's whole live set in `namespace`; what that
    /// namespace held of the kind and the list lacks is gone. Other namespaces are untouched.
    fn replace(
        &mut self,
        info: &KindInfo,
        namespace: &str,
        objects: Vec<LiveObject>,
        now: Timestamp,
        burst: &mut Burst,
    ) {
        for (key, object) in &objects {
            burst.changes.push(LiveChange::Upsert {
                key: key.clone(),
                object: object.clone(),
            });
        }
        let gone = match self {
            Target::Index {
                index, resources, ..
            } => {
                for (key, object) in &objects {
                    let status = update_status(resources, key, Some(object), now);
                    burst.statuses.push((key.clone(), status));
                    burst.touched.insert(key.clone());
                }
                // Ghosts (gone while we were not watching): the index finds them as it sweeps.
                let replaced = index.replace_live_kind_shared(info.kind, namespace, objects);
                burst.transitions.extend(replaced.transitions);
                for key in &replaced.gone {
                    let status = update_status(resources, key, None, now);
                    burst.statuses.push((key.clone(), status));
                    burst.touched.insert(key.clone());
                }
                replaced.gone
            }
            Target::ReadOnly {
                objects: known,
                stored,
            } => {
                let listed: BTreeMap<ObjectKey, Arc<Value>> = objects
                    .into_iter()
                    .map(|(key, object)| (key, Arc::new(object.value())))
                    .collect();
                for (key, value) in &listed {
                    if key.kind == "Agent" {
                        burst.agent_reports.push(value.clone());
                    }
                    if is_report(&key.kind) {
                        let copy = StoredReport {
                            value: value.clone(),
                            at: now,
                        };
                        stored.insert(key.clone(), copy);
                    }
                }
                let in_this_list =
                    |key: &ObjectKey| key.kind == info.kind && key.namespace == namespace;
                let gone: Vec<ObjectKey> = known
                    .keys()
                    .filter(|key| in_this_list(key) && !listed.contains_key(*key))
                    .cloned()
                    .collect();
                known.retain(|key, _| !in_this_list(key));
                stored.retain(|key, _| !in_this_list(key) || listed.contains_key(key));
                known.extend(listed);
                burst.agents_changed = true;
                gone
            }
        };
        burst
            .changes
            .extend(gone.into_iter().map(|key| LiveChange::Delete { key }));
    }
}

impl LiveState {
    pub fn new(namespaces: &Namespaces) -> Self {
        LiveState {
            namespaces: namespaces.clone(),
            resources: HashMap::new(),
            read_only: BTreeMap::new(),
            stored_reports: HashMap::new(),
            relists: Relists::default(),
            storm: Default::default(),
            first_verdicts: Default::default(),
        }
    }

    fn target<'a>(&'a mut self, index: &'a mut DriftIndex, info: &KindInfo) -> Target<'a> {
        if info.writable() {
            Target::Index {
                index,
                resources: &mut self.resources,
                namespaces: &self.namespaces,
            }
        } else {
            Target::ReadOnly {
                objects: &mut self.read_only,
                stored: &mut self.stored_reports,
            }
        }
    }

    /// Folds one watch event of kind `info` in `namespace` (the watcher's) into the live state
    /// and `burst`; `now` stamps its statuses and log lines.
    pub fn fold(
        &mut self,
        index: &mut DriftIndex,
        info: &'static KindInfo,
        namespace: &Arc<str>,
        event: WatchEvent<LiveObject>,
        now: Timestamp,
        burst: &mut Burst,
    ) {
        let set = || (info.kind, namespace.clone());
        match event {
            WatchEvent::Init => self.relists.begin(set()),
            WatchEvent::InitApply(object) => self.relists.push(set(), object),
            WatchEvent::InitDone => {
                let objects = self.relists.finish(set());
                let count = objects.len();
                let message = if self.namespaces.spans_several() {
                    format!("listed {count} {} in {namespace}", info.plural)
                } else {
                    format!("listed {count} {}", info.plural)
                };
                self.target(index, info)
                    .replace(info, namespace, objects, now, burst);
                let kind = Some(info.kind.to_string());
                burst
                    .entries
                    .push(log_line(now, LogKind::Watch, kind, message));
            }
            WatchEvent::Apply((key, value)) => {
                self.target(index, info).set(key, Some(value), now, burst)
            }
            WatchEvent::Delete((key, _)) => self.target(index, info).set(key, None, now, burst),
        }
    }
}

/// The kubernetes status of an object the watch sees (`previous`: what was known of it, e.g.
/// when it was last applied).
pub fn live_status(
    previous: Option<&ResourceStatus>,
    object: &Object,
    now: Timestamp,
) -> ResourceStatus {
    let stamps = Stamps::of(object);
    ResourceStatus {
        state: KubernetesState::Live,
        uid: stamps.metadata.uid,
        resource_version: stamps.metadata.resource_version,
        created: stamps.metadata.creation_timestamp,
        last_synced: Some(now),
        error: None,
        ..previous.cloned().unwrap_or_default()
    }
}

/// What a resource status takes from a live object: read from its text without decoding the
/// rest.
#[derive(Default, serde::Deserialize)]
struct Stamps {
    #[serde(default)]
    metadata: StampFields,
}

#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StampFields {
    uid: Option<String>,
    resource_version: Option<String>,
    creation_timestamp: Option<String>,
}

impl Stamps {
    fn of(object: &Object) -> Stamps {
        // An object whose stamps are not strings has none.
        serde_json::from_str(object.json()).unwrap_or_default()
    }
}

/// A live object's `metadata.resourceVersion`, read without decoding the rest.
pub(super) fn resource_version(object: &Object) -> Option<String> {
    Stamps::of(object).metadata.resource_version
}

/// The kubernetes status of an object the watch saw go (deleted, or missing from a re-list).
pub fn gone_status(previous: Option<&ResourceStatus>, now: Timestamp) -> ResourceStatus {
    ResourceStatus {
        state: KubernetesState::Unknown,
        resource_version: None,
        last_synced: Some(now),
        ..previous.cloned().unwrap_or_default()
    }
}

fn update_status(
    resources: &mut HashMap<ObjectKey, ResourceStatus>,
    key: &ObjectKey,
    object: Option<&Object>,
    now: Timestamp,
) -> ResourceStatus {
    let previous = resources.get(key);
    let status = match object {
        Some(object) => live_status(previous, object, now),
        None => gone_status(previous, now),
    };
    resources.insert(key.clone(), status.clone());
    status
}

pub(super) fn log_line(
    time: Timestamp,
    what: LogKind,
    object: Option<String>,
    message: impl Into<String>,
) -> LogEntry {
    LogEntry {
        time,
        what,
        object,
        message: message.into(),
        key: None,
    }
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
