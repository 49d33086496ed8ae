//! The incremental drift engine of one fabric ([`DriftIndex`]): desired and live values per
//! object, their verdicts, and the [`Transition`]s a change causes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use super::counts::{Contribution, KindCounts};
use super::{Drift, DriftKindTag, classify_by, compare};
use crate::kinds::{self, KindInfo, ObjectKey};
use crate::object::Object;
use crate::status::{DriftState, DriftStatus};
/// A change of one object's verdict, for the event log. Emitted whenever the verdict changes,
/// including Drifted → Drifted with different diffs.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub key: ObjectKey,
    pub from: DriftKindTag,
    pub to: DriftKindTag,
    /// The new verdict (`Unknown` when `to` is `Absent`).
    pub drift: Drift,
}

impl fmt::Display for Transition {
    /// `VPC/vpc-1 InSync → Drifted (spec.subnets.default.vlan: 1001 → 1999)`. The namespace is
    /// left out: a fabric manages one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} {} → ", self.key.kind, self.key.name, self.from)?;
        if self.to == DriftKindTag::Absent {
            // `drift` is only a placeholder once the object is gone.
            write!(f, "{}", self.to)
        } else {
            write!(f, "{}", self.drift)
        }
    }
}

/// For kinds outside the registry: no set lists, not wiring.
static UNREGISTERED: KindInfo = KindInfo {
    kind: "",
    group: "",
    version: "",
    plural: "",
    short_names: &[],
    namespaced: true,
    apply_rank: None,
    wiring: false,
    set_lists: &[],
    columns: &[],
};

#[derive(Debug, Default)]
struct Entry {
    /// Held as text, decoded only to judge a change (see `object`).
    desired: Option<Object>,
    /// Shared with the engine's rows and store write: one copy per live object.
    live: Option<Object>,
    drift: Drift,
    /// The bulk operation that last delivered `desired` / `live`; what a bulk replace did not
    /// deliver is swept afterwards (no second map of the incoming keys needed).
    desired_epoch: u64,
    live_epoch: u64,
}

impl Entry {
    fn contribution(&self, info: &KindInfo) -> Contribution {
        Contribution::of(
            info,
            self.desired.is_some(),
            self.live.is_some(),
            &self.drift,
        )
    }
}

/// One change to one object.
enum Change {
    /// A new desired value, delivered by the bulk operation of the given epoch.
    Desired(Option<Object>, u64),
    Live(Option<Object>, u64),
    /// Nothing changed in the object, but something its verdict depends on did (whether its
    /// kind's live view or the desired set is known).
    Recheck,
}

impl Change {
    fn brings_value(&self) -> bool {
        matches!(self, Change::Desired(Some(_), _) | Change::Live(Some(_), _))
    }
}

/// Everything the index holds for one kind.
#[derive(Debug)]
struct KindSlot {
    info: &'static KindInfo,
    /// The namespaces whose live view of this kind is known (their watch has listed them);
    /// an object there without a live value really is missing.
    live_known: BTreeSet<String>,
    counts: KindCounts,
    entries: BTreeMap<ObjectKey, Entry>,
}

impl KindSlot {
    fn new(kind: &str) -> Self {
        KindSlot {
            info: kinds::by_kind(kind).unwrap_or(&UNREGISTERED),
            live_known: BTreeSet::new(),
            counts: KindCounts::default(),
            entries: BTreeMap::new(),
        }
    }
}

/// What a kind's re-list changed: the verdict transitions, and the objects whose live value
/// the list no longer has (deleted while nobody watched).
#[derive(Debug, Default)]
pub struct LiveReplaced {
    pub transitions: Vec<Transition>,
    pub gone: Vec<ObjectKey>,
}

/// The incremental drift engine of one fabric: desired and live objects per key, their
/// verdicts, and counters kept in step with the verdicts (see the `drift` module doc).
///
/// Until the first [`DriftIndex::set_desired_all`], an object seen only live is Unknown rather
/// than Orphan: nobody knows yet whether Git has it, and a dashboard that opens with the whole
/// cluster "orphaned" would cry wolf.
#[derive(Debug)]
pub struct DriftIndex {
    critical_threshold: Option<usize>,
    desired_known: bool,
    /// The desired set may say what Git does not want (`trust::desired_trust`); while it may
    /// not, live-only objects stay Unknown instead of Orphan.
    orphans_trusted: bool,
    /// Per kind: its objects, counters and the namespaces whose live view is known. Two ordered levels rather than one
    /// map of all keys: a lookup compares keys within one kind only, and a kind's re-list
    /// walks just that kind, while iteration stays in key order.
    kinds: BTreeMap<String, KindSlot>,
    total: KindCounts,
    /// Wiring objects that are Missing or Drifted.
    critical: usize,
    /// Numbers bulk operations, for their sweeps.
    epoch: u64,
}

impl DriftIndex {
    /// `critical_threshold`: fabric drift is Critical once this many objects drift.
    pub fn new(critical_threshold: Option<usize>) -> Self {
        DriftIndex {
            critical_threshold,
            desired_known: false,
            orphans_trusted: true,
            kinds: BTreeMap::new(),
            total: KindCounts::default(),
            critical: 0,
            epoch: 0,
        }
    }

    fn slot_mut(&mut self, kind: &str) -> &mut KindSlot {
        self.kinds
            .entry(kind.to_string())
            .or_insert_with(|| KindSlot::new(kind))
    }

    /// The single place where objects change and counters follow: takes the object's
    /// contribution out, applies the change, re-derives the verdict if its inputs changed, and
    /// puts the new contribution back.
    fn update(&mut self, key: ObjectKey, change: Change) -> Option<Transition> {
        let orphans_known = self.desired_known && self.orphans_trusted;
        let slot = match self.kinds.get_mut(&key.kind) {
            Some(slot) => slot,
            None if change.brings_value() => self
                .kinds
                .entry(key.kind.clone())
                .or_insert_with(|| KindSlot::new(&key.kind)),
            None => return None,
        };
        let info = slot.info;
        let (existed, entry) = match slot.entries.get_mut(&key) {
            Some(entry) => (true, entry),
            None if change.brings_value() => (false, slot.entries.entry(key.clone()).or_default()),
            None => return None,
        };
        let before = if existed {
            entry.contribution(info)
        } else {
            Contribution::ABSENT
        };
        match change {
            Change::Desired(value, epoch) => {
                entry.desired_epoch = epoch;
                if entry.desired == value {
                    return None;
                }
                entry.desired = value;
            }
            Change::Live(value, epoch) => {
                entry.live_epoch = epoch;
                if entry.live == value {
                    return None;
                }
                entry.live = value;
            }
            Change::Recheck => {}
        }

        let from = if existed {
            entry.drift.tag()
        } else {
            DriftKindTag::Absent
        };
        let (after, transition) = match (&entry.desired, &entry.live) {
            (None, None) => {
                slot.entries.remove(&key);
                let gone = Transition {
                    key,
                    from,
                    to: DriftKindTag::Absent,
                    drift: Drift::Unknown,
                };
                (Contribution::ABSENT, Some(gone))
            }
            (desired, live) => {
                let drift = if desired.is_none() && !orphans_known {
                    Drift::Unknown
                } else {
                    let live_known = slot.live_known.contains(&key.namespace);
                    classify_by(desired.as_ref(), live.as_ref(), live_known, |d, l| {
                        compare(info, &d.value(), &l.value())
                    })
                };
                let transition = (!existed || drift != entry.drift).then(|| Transition {
                    key,
                    from,
                    to: drift.tag(),
                    drift: drift.clone(),
                });
                entry.drift = drift;
                (entry.contribution(info), transition)
            }
        };

        if before != after {
            before.apply(&mut slot.counts, &mut self.critical, -1);
            before.apply(&mut self.total, &mut 0, -1);
            after.apply(&mut slot.counts, &mut self.critical, 1);
            after.apply(&mut self.total, &mut 0, 1);
        }
        transition
    }

    fn next_epoch(&mut self) -> u64 {
        self.epoch += 1;
        self.epoch
    }

    /// Replaces the whole desired set (after a Git sync); later duplicates of a key win.
    /// Objects whose desired value did not change are not recompared. Returns the verdict
    /// changes in the order they happened: the given objects in their order, then what left
    /// Git, in key order.
    pub fn set_desired_all<O: Into<Object>>(
        &mut self,
        objects: impl IntoIterator<Item = (ObjectKey, O)>,
    ) -> Vec<Transition> {
        let epoch = self.next_epoch();
        let first_sync = !self.desired_known;
        self.desired_known = true;

        let mut transitions: Vec<Transition> = objects
            .into_iter()
            .filter_map(|(key, value)| self.update(key, Change::Desired(Some(value.into()), epoch)))
            .collect();
        // What this sync did not deliver left Git; and on the first sync, live-only objects
        // (Unknown until now) become orphans.
        let mut dropped = Vec::new();
        let mut live_only = Vec::new();
        for slot in self.kinds.values() {
            for (key, entry) in &slot.entries {
                if entry.desired.is_some() && entry.desired_epoch != epoch {
                    dropped.push(key.clone());
                } else if first_sync && entry.desired.is_none() {
                    live_only.push(key.clone());
                }
            }
        }
        for key in dropped {
            transitions.extend(self.update(key, Change::Desired(None, epoch)));
        }
        for key in live_only {
            transitions.extend(self.update(key, Change::Recheck));
        }
        transitions
    }

    /// Whether live-only objects may be called Orphan (see `trust`); re-judges them when the
    /// answer changes. Transitions in key order.
    pub fn set_orphans_trusted(&mut self, trusted: bool) -> Vec<Transition> {
        if self.orphans_trusted == trusted {
            return Vec::new();
        }
        self.orphans_trusted = trusted;
        let live_only: Vec<ObjectKey> = self
            .kinds
            .values()
            .flat_map(|slot| {
                slot.entries
                    .iter()
                    .filter(|(_, entry)| entry.desired.is_none())
                    .map(|(key, _)| key.clone())
            })
            .collect();
        live_only
            .into_iter()
            .filter_map(|key| self.update(key, Change::Recheck))
            .collect()
    }

    pub fn orphans_trusted(&self) -> bool {
        self.orphans_trusted
    }

    /// One watch event: the object's new live value (`None`: deleted). O(size of the object).
    pub fn set_live(&mut self, key: ObjectKey, live: Option<Value>) -> Option<Transition> {
        self.set_live_shared(key, live.map(Object::from))
    }

    /// `set_live` for a value the caller keeps too (the engine's rows share it).
    pub fn set_live_shared(&mut self, key: ObjectKey, live: Option<Object>) -> Option<Transition> {
        let epoch = self.epoch;
        self.update(key, Change::Live(live, epoch))
    }

    /// Marks a kind's live view in one namespace as known (its watch has listed it) or not
    /// (the watch stopped); objects of that kind and namespace without a live value become
    /// Missing or Unknown accordingly. Live values already seen are kept and still compared.
    /// Transitions in key order.
    pub fn set_live_known(&mut self, kind: &str, namespace: &str, known: bool) -> Vec<Transition> {
        let slot = self.slot_mut(kind);
        let changed = if known {
            slot.live_known.insert(namespace.to_string())
        } else {
            slot.live_known.remove(namespace)
        };
        if !changed {
            return Vec::new();
        }
        self.recheck_without_live(kind, namespace)
    }

    fn recheck_without_live(&mut self, kind: &str, namespace: &str) -> Vec<Transition> {
        let keys: Vec<ObjectKey> = self
            .kinds
            .get(kind)
            .map(|slot| {
                slot.entries
                    .iter()
                    .filter(|(key, entry)| entry.live.is_none() && key.namespace == namespace)
                    .map(|(key, _)| key.clone())
                    .collect()
            })
            .unwrap_or_default();
        keys.into_iter()
            .filter_map(|key| self.update(key, Change::Recheck))
            .collect()
    }

    /// A re-list of one kind in one namespace: `objects` is now the whole live set of `kind`
    /// in `namespace` (objects of other kinds or namespaces in it are applied too, but nothing
    /// of theirs is removed: another namespace's list says nothing about them). Marks the
    /// kind's live view in that namespace known. Each object changes at most once (no Unknown
    /// → Missing → InSync chains); transitions come for the given objects in their order, then
    /// for the rest of the kind and namespace in key order.
    pub fn replace_live_kind(
        &mut self,
        kind: &str,
        namespace: &str,
        objects: impl IntoIterator<Item = (ObjectKey, Value)>,
    ) -> Vec<Transition> {
        self.replace_live_kind_shared(
            kind,
            namespace,
            objects
                .into_iter()
                .map(|(key, value)| (key, Object::from(value))),
        )
        .transitions
    }

    /// `replace_live_kind` for values the caller keeps too (the engine's rows share them).
    /// Also says which objects had a live value the list no longer has, so the caller can
    /// drop them from its own records without scanning the index again.
    pub fn replace_live_kind_shared(
        &mut self,
        kind: &str,
        namespace: &str,
        objects: impl IntoIterator<Item = (ObjectKey, Object)>,
    ) -> LiveReplaced {
        let epoch = self.next_epoch();
        self.slot_mut(kind).live_known.insert(namespace.to_string());
        let mut transitions: Vec<Transition> = objects
            .into_iter()
            .filter_map(|(key, value)| self.update(key, Change::Live(Some(value), epoch)))
            .collect();
        let gone: Vec<ObjectKey> = self.kinds[kind]
            .entries
            .iter()
            .filter(|(key, entry)| {
                key.namespace == namespace && entry.live.is_some() && entry.live_epoch != epoch
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in &gone {
            transitions.extend(self.update(key.clone(), Change::Live(None, epoch)));
        }
        // Objects never listed may have been Unknown until now: Missing, once.
        transitions.extend(self.recheck_without_live(kind, namespace));
        LiveReplaced { transitions, gone }
    }

    fn entry(&self, key: &ObjectKey) -> Option<&Entry> {
        self.kinds.get(&key.kind)?.entries.get(key)
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Drift> {
        self.entry(key).map(|entry| &entry.drift)
    }

    /// The desired (Git) value of an object, for the side-by-side view.
    pub fn desired(&self, key: &ObjectKey) -> Option<&Object> {
        self.entry(key).and_then(|entry| entry.desired.as_ref())
    }

    /// The last-seen live value of an object (shared: no copy).
    pub fn live(&self, key: &ObjectKey) -> Option<&Object> {
        self.entry(key).and_then(|entry| entry.live.as_ref())
    }

    /// Every object Git or the cluster has, with its verdict, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &Drift)> {
        self.kinds
            .values()
            .flat_map(|slot| slot.entries.iter().map(|(key, entry)| (key, &entry.drift)))
    }

    pub fn len(&self) -> usize {
        self.kinds.values().map(|slot| slot.entries.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a Git sync has delivered the desired set yet.
    pub fn desired_known(&self) -> bool {
        self.desired_known
    }

    /// Whether the watch has listed `kind` in `namespace`.
    pub fn live_known(&self, kind: &str, namespace: &str) -> bool {
        self.kinds
            .get(kind)
            .is_some_and(|slot| slot.live_known.contains(namespace))
    }

    /// Counts for one kind (all zero for a kind the index has never held).
    pub fn counts(&self, kind: &str) -> KindCounts {
        self.kinds
            .get(kind)
            .map(|slot| slot.counts)
            .unwrap_or_default()
    }

    /// Counts per kind, for every kind the index has held or been told about, by kind name.
    pub fn kind_counts(&self) -> impl Iterator<Item = (&str, KindCounts)> {
        self.kinds
            .iter()
            .map(|(kind, slot)| (kind.as_str(), slot.counts))
    }

    /// Counts over the whole fabric.
    pub fn totals(&self) -> KindCounts {
        self.total
    }

    /// The fabric verdict, O(1): Critical when a wiring object is Missing or Drifted or when
    /// the drift count reaches the threshold (a threshold of 0 needs at least one drifted
    /// object), DriftDetected when anything drifts, else InSync.
    pub fn fabric_status(&self) -> DriftStatus {
        let count = self.total.drift_count();
        let over_threshold = self
            .critical_threshold
            .is_some_and(|threshold| count > 0 && count >= threshold);
        let state = if self.critical > 0 || over_threshold {
            DriftState::Critical
        } else if count > 0 {
            DriftState::DriftDetected
        } else {
            DriftState::InSync
        };
        DriftStatus { state, count }
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
