//! engine: one task per fabric that owns the fabric's Kubernetes client, watchers, Git syncer,
//! drift index and statuses. It takes `Command`s and emits `EngineEvent`s over tokio channels
//! and never touches the terminal: the TUI and the headless CLI drive the same engine.
//!
//! This module holds the public vocabulary; `task` the engine's loop and dispatch; `live` the
//! pure folding of watch events into a `Burst`; `watch` the watchers and their rounds;
//! `connect` the client and the dead-link probe; `sync`, `apply`, `health` and `explain` (the
//! Git side of drift attribution) their jobs; and
//! `jobs` how repeated requests for a job coalesce.

use std::sync::Arc;

use crate::object::Object;
use serde::{Deserialize, Serialize};

use crate::attribution::GitExplanation;
use crate::desired::DesiredObject;
use crate::drift::Drift;
use crate::health::SwitchHealth;
use crate::kinds::ObjectKey;
use crate::status::{FabricStatus, ResourceStatus, Timestamp};
use crate::store::{LogEntry, TimelineQuery};
use crate::sync::SyncSummary;

/// What the outside world asks a fabric's engine to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Fetch Git and replace the desired set. Repeated requests while one runs coalesce.
    Sync,
    /// A sync whose outcome is wanted: answered with `EngineEvent::Synced` naming this ticket,
    /// from a fetch that started after the request (a request during a running sync waits for
    /// the next run). Tickets are the asker's; the engine only echoes them.
    SyncAndReport(u64),
    /// Reconnect and re-list every watched kind.
    Refresh,
    /// Check the server version and the permissions hhdash needs.
    TestConnection,
    /// Start or stop watching the cluster.
    SetWatch(bool),
    Apply(ApplyRequest),
    /// Find the Git side of an object's drifted paths (the commit that set each value, its
    /// line in the file); answered with `EngineEvent::Explained`, off the engine's loop.
    Explain(ObjectKey),
    /// Read the fabric's timeline; answered with `EngineEvent::History`.
    History(TimelineQuery),
    /// The operator has seen the timeline up to this time (the History view's "new" marker).
    MarkSeen(Timestamp),
    Shutdown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyRequest {
    pub scope: ApplyScope,
    /// Ask the server to validate and default, without persisting anything.
    pub dry_run: bool,
    /// Take ownership of fields another manager owns (only on explicit request).
    pub force_conflicts: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ApplyScope {
    /// These objects (from Git), in dependency order.
    Objects(Vec<ObjectKey>),
    /// Every Missing and Drifted object of the fabric.
    OutOfSync,
    /// Exactly these objects, as a confirmation listed them from the desired set at `commit`:
    /// if the fabric's synced commit is another one by now, nothing is applied.
    Confirmed {
        objects: Vec<ObjectKey>,
        commit: Option<String>,
    },
}

/// Long-running actions the dashboard shows progress for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    Sync,
    Apply,
    Connect,
    Refresh,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobPhase {
    Started {
        message: String,
    },
    Progress {
        done: usize,
        total: usize,
        message: String,
    },
    Succeeded {
        message: String,
    },
    Failed {
        message: String,
    },
}

/// One object as the dashboard shows it: what Git wants, what the cluster has, the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRow {
    pub key: ObjectKey,
    pub desired: Option<Arc<DesiredObject>>,
    pub live: Option<Object>,
    pub drift: Drift,
    pub kubernetes: ResourceStatus,
}

/// What an engine tells its listeners. Every event names its fabric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EngineEvent {
    /// Everything known about the fabric: sent first (from the store, before any network I/O)
    /// and again after a re-list.
    Snapshot {
        fabric: String,
        status: FabricStatus,
        rows: Vec<ResourceRow>,
        events: Vec<LogEntry>,
        switches: Vec<SwitchHealth>,
    },
    Status {
        fabric: String,
        status: FabricStatus,
    },
    /// Rows that changed since the last event (a burst of watch events becomes one of these).
    Rows {
        fabric: String,
        upserts: Vec<ResourceRow>,
        removed: Vec<ObjectKey>,
    },
    Log {
        fabric: String,
        entry: LogEntry,
    },
    Job {
        fabric: String,
        job: JobKind,
        phase: JobPhase,
    },
    Health {
        fabric: String,
        switches: Vec<SwitchHealth>,
    },
    /// A sync asked for with `Command::SyncAndReport` finished: the tickets it answers, and
    /// what it committed or why it failed.
    Synced {
        fabric: String,
        tickets: Vec<u64>,
        outcome: Result<SyncSummary, String>,
    },
    /// The answer to `Command::Explain`.
    Explained {
        fabric: String,
        explanation: Arc<GitExplanation>,
    },
    /// The answer to `Command::History`: the entries the query selects, oldest first, and
    /// the time the operator last marked as seen.
    History {
        fabric: String,
        query: TimelineQuery,
        entries: Vec<LogEntry>,
        seen: Option<Timestamp>,
    },
}

impl EngineEvent {
    pub fn fabric(&self) -> &str {
        match self {
            EngineEvent::Snapshot { fabric, .. }
            | EngineEvent::Status { fabric, .. }
            | EngineEvent::Rows { fabric, .. }
            | EngineEvent::Log { fabric, .. }
            | EngineEvent::Job { fabric, .. }
            | EngineEvent::Health { fabric, .. }
            | EngineEvent::Synced { fabric, .. }
            | EngineEvent::Explained { fabric, .. }
            | EngineEvent::History { fabric, .. } => fabric,
        }
    }
}

mod apply;
mod connect;
mod explain;
mod health;
mod jobs;
pub mod live;
pub mod storm;
mod sync;
mod task;
mod timeline;
mod watch;

pub use task::{EngineContext, spawn, start_all};
