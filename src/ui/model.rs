//! ui::model: what the dashboard knows about one fabric, folded from engine events — its
//! status, its rows (a slab keyed by `ObjectKey`), switch health and running jobs. Per-row
//! table cells are read from the registry once, when a row arrives, so drawing a frame never
//! walks JSON. Counts are derived from the rows (`settle`), never kept by hand.

use std::collections::HashMap;
use std::sync::Arc;

use crate::attribution::GitExplanation;

use crate::drift::{Drift, KindCounts};
use crate::engine::{JobKind, JobPhase, ResourceRow};
use crate::health::{self, HealthSummary, SwitchHealth};
use crate::kinds::{self, KINDS, ObjectKey};
use crate::status::{ConnectionState, FabricStatus, Timestamp, WatchState};

/// One row with what the table needs precomputed.
#[derive(Debug, Clone)]
pub struct Entry {
    pub row: ResourceRow,
    /// Index of the kind in `kinds::KINDS`; `KINDS.len()` for a kind outside the registry.
    pub kind: usize,
    /// The registry's columns for this kind, read from live (else desired) once.
    pub cells: Vec<String>,
    /// Lowercased kind, namespace, name, cells and verdict: what `/` searches.
    pub haystack: String,
}

impl Entry {
    pub fn new(row: ResourceRow) -> Entry {
        let kind = KINDS
            .iter()
            .position(|k| k.kind == row.key.kind)
            .unwrap_or(KINDS.len());
        // Live first: the table shows what the cluster has; Git's view is one `enter` away.
        let object = row
            .live
            .as_ref()
            .or(row.desired.as_deref().map(|d| &d.object));
        let cells: Vec<String> = match (KINDS.get(kind), object) {
            (Some(info), Some(object)) => {
                let object = object.value();
                info.columns.iter().map(|c| (c.cell)(&object)).collect()
            }
            (Some(info), None) => vec![String::new(); info.columns.len()],
            _ => Vec::new(),
        };
        let mut haystack = format!(
            "{} {} {} {}",
            row.key.kind,
            row.key.namespace,
            row.key.name,
            row.drift.tag()
        );
        for cell in &cells {
            haystack.push(' ');
            haystack.push_str(cell);
        }
        if let Drift::Drifted(diffs) = &row.drift {
            for diff in diffs {
                haystack.push(' ');
                haystack.push_str(&diff.path);
            }
        }
        Entry {
            row,
            kind,
            cells,
            haystack: haystack.to_lowercase(),
        }
    }

    pub fn in_sync(&self) -> bool {
        matches!(self.row.drift, Drift::InSync)
    }
}

/// Rows per verdict, derived from the rows with the drift index's own counting rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub rows: usize,
    pub verdicts: KindCounts,
    /// Rows whose last apply or watch reported an error.
    pub errors: usize,
}

impl Counts {
    fn add(&mut self, entry: &Entry) {
        self.rows += 1;
        self.errors += usize::from(entry.row.kubernetes.error.is_some());
        self.verdicts.add_object(
            entry.row.desired.is_some(),
            entry.row.live.is_some(),
            &entry.row.drift,
        );
    }

    pub fn not_in_sync(&self) -> usize {
        self.rows - self.verdicts.in_sync
    }
}

/// How far the fabric's view can be trusted, for banners and empty tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// No snapshot yet: nothing is known, not even the cache.
    Loading,
    /// Cached rows; the watch has not become Active yet.
    Connecting,
    Live,
    /// The server stopped answering at `since`: rows are the last known state, stale.
    NoAnswer {
        since: Timestamp,
    },
    /// The watch was turned off (or never enabled): rows are the cache.
    WatchOff,
    Disconnected {
        since: Option<Timestamp>,
        error: Option<String>,
    },
}

/// One running job and how far it got.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub kind: JobKind,
    pub phase: JobPhase,
}

#[derive(Debug, Clone)]
pub struct FabricModel {
    pub name: String,
    pub status: FabricStatus,
    /// A snapshot has arrived (from the store at least).
    pub loaded: bool,
    entries: Vec<Entry>,
    index: HashMap<ObjectKey, usize>,
    pub switches: Vec<SwitchHealth>,
    pub jobs: Vec<Job>,
    /// The last failed job's message, until a job of the same kind succeeds.
    pub job_error: Option<(JobKind, String)>,
    pub disconnected_since: Option<Timestamp>,
    /// The fabric's config manages more than one namespace: lists name objects `namespace/name`.
    pub multi_namespace: bool,
    /// Bumped on every change of rows or switches: views rebuild their indices when it moves.
    pub generation: u64,
    /// The newest Git explanation the engine sent per object (`Command::Explain`).
    explanations: HashMap<ObjectKey, Arc<GitExplanation>>,
    /// Bumped when an explanation arrives (the open detail re-renders; the tables do not).
    pub explained_generation: u64,
    settled: u64,
    counts: Counts,
    /// Per kind (index into `KINDS`, plus one for unregistered): (rows, not InSync).
    per_kind: Vec<(usize, usize)>,
}

impl FabricModel {
    pub fn new(name: impl Into<String>) -> FabricModel {
        FabricModel {
            name: name.into(),
            status: FabricStatus::default(),
            loaded: false,
            entries: Vec::new(),
            index: HashMap::new(),
            switches: Vec::new(),
            jobs: Vec::new(),
            job_error: None,
            multi_namespace: false,
            disconnected_since: None,
            generation: 1,
            explanations: HashMap::new(),
            explained_generation: 0,
            settled: 0,
            counts: Counts::default(),
            per_kind: vec![(0, 0); KINDS.len() + 1],
        }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Entry> {
        self.index.get(key).map(|&i| &self.entries[i])
    }

    /// Keeps the newest explanation of an object (replacing the one before).
    pub fn explained(&mut self, explanation: Arc<GitExplanation>) {
        self.explanations
            .insert(explanation.key.clone(), explanation);
        self.explained_generation += 1;
    }

    pub fn explanation(&self, key: &ObjectKey) -> Option<&Arc<GitExplanation>> {
        self.explanations.get(key)
    }

    pub fn replace_rows(&mut self, rows: Vec<ResourceRow>) {
        self.entries.clear();
        self.index.clear();
        for row in rows {
            self.upsert(row);
        }
        self.generation += 1;
    }

    pub fn upsert(&mut self, row: ResourceRow) {
        let entry = Entry::new(row);
        match self.index.get(&entry.row.key) {
            Some(&i) => self.entries[i] = entry,
            None => {
                self.index.insert(entry.row.key.clone(), self.entries.len());
                self.entries.push(entry);
            }
        }
        self.generation += 1;
    }

    pub fn remove(&mut self, key: &ObjectKey) {
        let Some(i) = self.index.remove(key) else {
            return;
        };
        self.explanations.remove(key);
        self.entries.swap_remove(i);
        if let Some(moved) = self.entries.get(i) {
            self.index.insert(moved.row.key.clone(), i);
        }
        self.generation += 1;
    }

    pub fn set_switches(&mut self, switches: Vec<SwitchHealth>) {
        self.switches = switches;
        self.generation += 1;
    }

    /// Takes a new status, noting when the fabric dropped off the network.
    pub fn set_status(&mut self, status: FabricStatus, now: Timestamp) {
        let down = |s: &FabricStatus| {
            matches!(
                s.connection.state,
                ConnectionState::Failed | ConnectionState::NoAnswer
            ) || s.watch.state == WatchState::Error
        };
        if down(&status) {
            if self.disconnected_since.is_none() {
                // At startup the store's last event time says when the cluster was last heard
                // from; after that, the moment the engine told us.
                self.disconnected_since = Some(if self.loaded && !down(&self.status) {
                    now
                } else {
                    status.watch.last_event.unwrap_or(now)
                });
            }
        } else {
            self.disconnected_since = None;
        }
        self.status = status;
    }

    pub fn job(&mut self, kind: JobKind, phase: JobPhase) {
        self.jobs.retain(|job| job.kind != kind);
        match &phase {
            JobPhase::Started { .. } | JobPhase::Progress { .. } => {
                self.jobs.push(Job { kind, phase });
            }
            JobPhase::Succeeded { .. } => {
                if self.job_error.as_ref().is_some_and(|(k, _)| *k == kind) {
                    self.job_error = None;
                }
            }
            JobPhase::Failed { message } => self.job_error = Some((kind, message.clone())),
        }
    }

    pub fn liveness(&self) -> Liveness {
        let status = &self.status;
        if !self.loaded {
            Liveness::Loading
        } else if let Some(since) = status.connection.no_answer_since {
            // Checked before the watch: a frozen server leaves the watch looking fine.
            Liveness::NoAnswer { since }
        } else if status.watch.state == WatchState::Active {
            Liveness::Live
        } else if status.connection.state == ConnectionState::Failed
            || status.watch.state == WatchState::Error
        {
            Liveness::Disconnected {
                since: self.disconnected_since,
                error: status
                    .watch
                    .error
                    .clone()
                    .or_else(|| status.connection.error.clone()),
            }
        } else if status.watch.state == WatchState::Stopped {
            Liveness::WatchOff
        } else {
            Liveness::Connecting
        }
    }

    /// The newest error worth showing: a failed job first (the operator just asked for it),
    /// then connection, watch and sync errors.
    pub fn last_error(&self) -> Option<String> {
        let s = &self.status;
        self.job_error
            .as_ref()
            .map(|(kind, message)| format!("{kind:?}: {message}"))
            .or_else(|| {
                s.connection
                    .error
                    .as_ref()
                    .map(|e| format!("connection: {e}"))
            })
            .or_else(|| s.watch.error.as_ref().map(|e| format!("watch: {e}")))
            .or_else(|| s.sync.error.as_ref().map(|e| format!("sync: {e}")))
    }

    /// Why live objects missing from Git are not called orphans (the engine keeps them Unknown,
    /// see `trust`): said in the Drift view so an empty list never reads as "no orphans".
    pub fn orphan_notice(&self) -> Option<String> {
        let sync = &self.status.sync;
        match sync.state {
            crate::status::SyncState::NeverSynced => Some(
                "not synced yet: live objects are not judged as orphans until a sync succeeds (s)"
                    .to_string(),
            ),
            crate::status::SyncState::Error => Some(format!(
                "last sync failed: {} · orphans are not listed until a sync succeeds",
                sync.error.as_deref().unwrap_or("unknown error")
            )),
            crate::status::SyncState::Synced => None,
        }
    }

    pub fn health(&self) -> HealthSummary {
        health::summarize(&self.switches)
    }

    /// Recomputes the derived counts if rows changed since the last call. O(rows), so it runs
    /// once per frame at most, never per event.
    pub fn settle(&mut self) {
        if self.settled == self.generation {
            return;
        }
        let mut counts = Counts::default();
        let mut per_kind = vec![(0, 0); KINDS.len() + 1];
        for entry in &self.entries {
            counts.add(entry);
            let slot = &mut per_kind[entry.kind];
            slot.0 += 1;
            slot.1 += usize::from(!entry.in_sync());
        }
        self.counts = counts;
        self.per_kind = per_kind;
        self.settled = self.generation;
    }

    /// Derived counts as of the last `settle`.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// (rows, not InSync) of one kind as of the last `settle`.
    pub fn kind_counts(&self, kind: usize) -> (usize, usize) {
        self.per_kind.get(kind).copied().unwrap_or_default()
    }

    /// Missing and Drifted objects Git can fix, in apply order: what `A` will apply.
    pub fn out_of_sync(&self) -> Vec<&Entry> {
        let mut out: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| matches!(e.row.drift, Drift::Missing | Drift::Drifted(_)))
            .filter(|e| e.row.desired.is_some())
            .filter(|e| kinds::by_kind(&e.row.key.kind).is_some_and(|k| k.writable()))
            .collect();
        out.sort_by(|a, b| (a.kind, &a.row.key.name).cmp(&(b.kind, &b.row.key.name)));
        out
    }
}
