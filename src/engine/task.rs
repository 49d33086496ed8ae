//! The per-fabric engine task: owns the fabric's client, watchers, drift index and statuses,
//! runs the loop that takes commands, watch events and job results, and dispatches them to
//! the modules that own each concern (`watch`, `connect`, `sync`, `apply`, `health`).

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kube::runtime::watcher::Event as WatchEvent;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::jobs::SingleJob;
use super::live::{LiveObject, LiveState, log_line};
use super::watch::WatchError;
use super::{Command, EngineEvent, JobKind, JobPhase, ResourceRow};
use crate::apply;
use crate::attribution::describe_transition;
use crate::cluster::{ClusterError, ConnectionReport, FabricClient};
use crate::config::FabricConfig;
use crate::desired::DesiredObject;
use crate::drift::{DriftIndex, Transition};
use crate::health::SwitchHealth;
use crate::health::intent::FabricIntent;
use crate::health::judge::FlapHistory;
use crate::kinds::{self, KindInfo, ObjectKey};
use crate::status::{self, ConnectionState, FabricStatus, WatchState};
use crate::store::{LogEntry, LogKind, Store};
use crate::sync::SyncAttempt;

/// Shared, read-only settings every engine needs.
pub struct EngineContext {
    pub store: Arc<Store>,
    pub key_file: PathBuf,
    pub git_cache_dir: PathBuf,
}

/// The most watch events folded into one store transaction and one `Rows` event.
const MAX_BURST: usize = 4096;
/// How often a failed connection is retried, and health ages are re-evaluated.
const RECONNECT_EVERY: Duration = Duration::from_secs(10);
/// How often health is re-judged with nothing new (heartbeats age)…
const HEALTH_TICK: Duration = Duration::from_secs(5);
/// …and at most how often when reports arrive: a hundred agents heartbeating every 15 s
/// deliver several reports a second, and judging the whole fabric for each would cost a core.
pub(super) const HEALTH_AT_MOST_EVERY: Duration = Duration::from_secs(1);

/// What the engine's own background work reports back to its loop.
pub(super) enum Internal {
    Watch {
        generation: u64,
        kind: &'static KindInfo,
        /// The namespace the watcher watches (Init and InitDone carry no object to say it).
        namespace: Arc<str>,
        event: Result<WatchEvent<LiveObject>, WatchError>,
    },
    Connected(Result<(FabricClient, ConnectionReport), ClusterError>),
    /// A liveness probe's outcome; `sent` is when it went out.
    Probed {
        sent: status::Timestamp,
        result: Result<(), ClusterError>,
    },
    SyncDone(SyncAttempt),
    Applied {
        options: apply::Options,
        step: apply::Step,
    },
    ApplyDone {
        options: apply::Options,
        ok: usize,
        failed: usize,
        not_sent: usize,
    },
}

pub(super) struct Engine {
    pub(super) fabric: FabricConfig,
    pub(super) ctx: Arc<EngineContext>,
    pub(super) events: mpsc::Sender<EngineEvent>,
    pub(super) internal_tx: mpsc::UnboundedSender<Internal>,
    pub(super) index: DriftIndex,
    pub(super) desired: HashMap<ObjectKey, Arc<DesiredObject>>,
    pub(super) live: LiveState,
    /// What Git's wiring expects of each switch and gateway, derived from `desired` whenever
    /// it changes (`update_intent`).
    pub(super) intent: FabricIntent,
    /// Oper-state changes per port seen in the Agents' reports, for flap counts.
    pub(super) flaps: FlapHistory,
    pub(super) switches: Vec<SwitchHealth>,
    /// Reports arrived since the last judgement, which was too recent to judge again
    /// (`request_health`).
    pub(super) health_due: bool,
    pub(super) health_judged_at: Option<tokio::time::Instant>,
    pub(super) judging: super::health::Judging,
    pub(super) status: FabricStatus,
    /// A status change not yet written because a sync job was writing the record (see
    /// `save_status`).
    pub(super) status_unsaved: bool,
    /// The watch event count the stored status holds (`None`: unknown, e.g. the record could
    /// not be read), so the slow tick saves the counters only when they moved.
    pub(super) saved_event_count: Option<u64>,
    pub(super) client: Option<FabricClient>,
    pub(super) watchers: Vec<JoinHandle<()>>,
    /// Bumped whenever watchers restart, so events of old watchers are dropped.
    pub(super) watch_generation: u64,
    pub(super) watch_wanted: bool,
    /// The watchers were restarted after the server stopped answering: their first full list
    /// is a recovery, and is logged as one.
    pub(super) relist_after_outage: bool,
    pub(super) connect_job: SingleJob,
    pub(super) probe_job: SingleJob,
    pub(super) sync_job: SingleJob,
    /// `Command::SyncAndReport` tickets the running sync answers, and those waiting for the
    /// next run (asked while a sync ran: its fetch may predate the request).
    pub(super) sync_tickets: super::sync::SyncTickets,
    pub(super) apply_job: SingleJob,
    /// The Git history cache and the `Command::Explain` jobs running (`explain`).
    pub(super) explainer: super::explain::Explainer,
}

/// Starts one engine per configured fabric. Each first sends a `Snapshot` from the store.
pub fn start_all(
    fabrics: &[FabricConfig],
    ctx: EngineContext,
    events: mpsc::Sender<EngineEvent>,
) -> Vec<(String, mpsc::Sender<Command>)> {
    let ctx = Arc::new(ctx);
    fabrics
        .iter()
        .map(|fabric| {
            (
                fabric.name.clone(),
                spawn(fabric.clone(), ctx.clone(), events.clone()),
            )
        })
        .collect()
}

/// Starts one fabric's engine on the current tokio runtime.
pub fn spawn(
    fabric: FabricConfig,
    ctx: Arc<EngineContext>,
    events: mpsc::Sender<EngineEvent>,
) -> mpsc::Sender<Command> {
    let (commands_tx, commands_rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let (engine, internal_rx) = Engine::new(fabric, ctx, events);
        engine.run(commands_rx, internal_rx).await;
    });
    commands_tx
}

impl Engine {
    pub(super) fn new(
        fabric: FabricConfig,
        ctx: Arc<EngineContext>,
        events: mpsc::Sender<EngineEvent>,
    ) -> (Engine, mpsc::UnboundedReceiver<Internal>) {
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        let engine = Engine {
            index: DriftIndex::new(fabric.watch.critical_drift_threshold),
            live: LiveState::new(&fabric.namespaces),
            watch_wanted: fabric.watch.enabled,
            fabric,
            ctx,
            events,
            internal_tx,
            desired: HashMap::new(),
            intent: FabricIntent::default(),
            flaps: FlapHistory::default(),
            switches: Vec::new(),
            health_due: false,
            health_judged_at: None,
            judging: Default::default(),
            status: FabricStatus::default(),
            status_unsaved: false,
            saved_event_count: None,
            client: None,
            watchers: Vec::new(),
            watch_generation: 0,
            relist_after_outage: false,
            connect_job: SingleJob::default(),
            probe_job: SingleJob::default(),
            sync_job: SingleJob::default(),
            sync_tickets: Default::default(),
            apply_job: SingleJob::default(),
            explainer: Default::default(),
        };
        (engine, internal_rx)
    }

    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut internal: mpsc::UnboundedReceiver<Internal>,
    ) {
        self.load_from_store().await;
        self.connect();
        let mut reconnect = tokio::time::interval(RECONNECT_EVERY);
        let mut health_tick = tokio::time::interval(HEALTH_TICK);
        let mut health_due_tick = tokio::time::interval(HEALTH_AT_MOST_EVERY);
        health_due_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut probe = tokio::time::interval(super::connect::PROBE_EVERY);
        probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick fires at once: the dashboard opens with a fresh sync under way.
        let poll_every = Duration::from_secs(self.fabric.git.poll_interval_secs.max(1));
        let mut poll = tokio::time::interval(poll_every);
        let polling = self.fabric.git.poll_interval_secs > 0;
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    None | Some(Command::Shutdown) => break,
                    Some(command) => self.handle_command(command).await,
                },
                Some(first) = internal.recv() => {
                    // Drain what is already queued so a watch storm becomes one transaction.
                    let mut items = vec![first];
                    while items.len() < MAX_BURST {
                        match internal.try_recv() {
                            Ok(next) => items.push(next),
                            Err(_) => break,
                        }
                    }
                    self.handle_internal(items).await;
                }
                _ = reconnect.tick() => {
                    if self.client.is_none() && !self.connect_job.is_running() {
                        self.connect();
                    }
                }
                _ = health_tick.tick() => {
                    self.flush_storm().await;
                    if self.status.watch.state != WatchState::Starting {
                        self.flush_first_verdicts().await;
                    }
                    self.refresh_health().await;
                    self.save_watch_counters().await;
                }
                _ = health_due_tick.tick(), if self.health_due => self.refresh_health().await,
                _ = poll.tick(), if polling => self.start_sync().await,
                _ = probe.tick() => self.start_probe(),
            }
        }
        self.stop_watchers();
        // If a sync is still running, this save is held like any other (`save_status`) and
        // not written: the next start resets the watch state anyway (`load_from_store`).
        self.set_watch_state(WatchState::Stopped, None).await;
    }

    pub(super) async fn emit(&self, event: EngineEvent) {
        // A listener that went away (UI closed) is not the engine's problem.
        let _ = self.events.send(event).await;
    }

    async fn load_from_store(&mut self) {
        let store = self.ctx.store.clone();
        let name = self.fabric.name.clone();
        // A record that cannot be read is reported, never taken for "nothing stored": an empty
        // desired set would show every live object as Orphan.
        let mut problems = Vec::new();
        self.status = match store.fabric_status(&name) {
            Ok(status) => {
                self.saved_event_count = Some(status.watch.event_count);
                status
            }
            Err(error) => {
                problems.push(error.to_string());
                FabricStatus::default()
            }
        };
        // Whatever the last run left, nothing is connected or watched yet.
        self.status.connection.state = ConnectionState::Unknown;
        self.status.connection.no_answer_since = None;
        self.status.watch.state = WatchState::Inactive;
        let desired = match store.desired(&name) {
            Ok(desired) => Some(desired),
            Err(error) => {
                self.desired_unreadable(error.to_string());
                problems.push(error.to_string());
                None
            }
        };
        let live = store.live(&name).unwrap_or_else(|error| {
            problems.push(error.to_string());
            Vec::new()
        });
        self.live.resources = store
            .resource_statuses(&name)
            .unwrap_or_else(|error| {
                problems.push(error.to_string());
                Vec::new()
            })
            .into_iter()
            .collect();
        if let Some(desired) = desired {
            for object in desired {
                self.desired.insert(object.key.clone(), Arc::new(object));
            }
            if self.status.sync.state != status::SyncState::NeverSynced {
                self.index.set_desired_all(
                    self.desired
                        .iter()
                        .map(|(k, d)| (k.clone(), d.object.clone())),
                );
            }
        }
        self.judge_trust();
        // A namespace the fabric no longer manages is not watched: what the store kept of it
        // would never be re-listed away, so it is not shown at all.
        let managed = live
            .into_iter()
            .filter(|(key, _)| self.fabric.namespaces.manages(&key.namespace));
        for (key, value) in managed {
            if kinds::by_kind(&key.kind).is_some_and(|info| !info.writable()) {
                self.live.read_only.insert(key, Arc::new(value.value()));
            } else {
                // Cached live values are shown, but verdicts stay Unknown until a fresh list.
                self.index.set_live_shared(key, Some(value));
            }
        }
        self.update_intent();
        self.switches = self.compute_health();
        let rows = self.index.iter().map(|(k, _)| self.row(k)).collect();
        let events = store.log(&name, 500).unwrap_or_else(|error| {
            problems.push(error.to_string());
            Vec::new()
        });
        self.emit(EngineEvent::Snapshot {
            fabric: name.clone(),
            status: self.status.clone(),
            rows,
            events,
            switches: self.switches.clone(),
        })
        .await;
        for problem in problems {
            self.note(LogKind::Error, problem).await;
        }
    }

    /// The stored desired set cannot be read: the fabric shows a sync error saying what to do,
    /// and the desired side stays unknown (no Orphan verdicts) until a sync rewrites it.
    pub(super) fn desired_unreadable(&mut self, message: String) {
        self.status.sync.state = status::SyncState::Error;
        self.status.sync.error = Some(message);
    }

    /// Whether live-only objects may be called orphans, from the sync status in force (the one
    /// rule is `trust::desired_trust`).
    pub(super) fn judge_trust(&mut self) -> Vec<Transition> {
        let trusted =
            crate::trust::desired_trust(&self.fabric, &self.status.sync, self.desired.len())
                .is_ok();
        self.index.set_orphans_trusted(trusted)
    }

    pub(super) fn row(&self, key: &ObjectKey) -> ResourceRow {
        ResourceRow {
            key: key.clone(),
            desired: self.desired.get(key).cloned(),
            live: self.index.live(key).cloned(),
            drift: self.index.get(key).cloned().unwrap_or_default(),
            kubernetes: self.live.resources.get(key).cloned().unwrap_or_default(),
        }
    }

    async fn handle_command(&mut self, command: Command) {
        match command {
            Command::Sync => self.start_sync().await,
            Command::SyncAndReport(ticket) => self.start_sync_for(ticket).await,
            Command::Refresh => {
                self.job(
                    JobKind::Refresh,
                    JobPhase::Started {
                        message: "reconnecting and re-listing".into(),
                    },
                )
                .await;
                self.stop_watchers();
                self.client = None;
                self.request_connect();
            }
            Command::TestConnection => {
                if !self.connect_job.is_running() {
                    self.job(
                        JobKind::Connect,
                        JobPhase::Started {
                            message: format!("testing {}", self.fabric.kubernetes.server),
                        },
                    )
                    .await;
                    self.connect();
                }
            }
            Command::SetWatch(on) => {
                self.watch_wanted = on;
                if on {
                    self.start_watchers().await;
                } else {
                    self.stop_watchers();
                    self.set_watch_state(WatchState::Stopped, None).await;
                    self.note(LogKind::Watch, "watch stopped by the operator")
                        .await;
                }
            }
            Command::Apply(request) => self.start_apply(request).await,
            Command::Explain(key) => self.explain(key).await,
            Command::History(query) => self.answer_history(query),
            Command::MarkSeen(time) => self.mark_seen(time),
            Command::Shutdown => {}
        }
    }

    /// A run of queued internal messages: watch events fold into one burst; job results (rare)
    /// are handled in order, with the burst so far flushed first.
    async fn handle_internal(&mut self, items: Vec<Internal>) {
        let mut round = super::watch::WatchRound::default();
        for item in items {
            match item {
                Internal::Watch {
                    generation,
                    kind,
                    namespace,
                    event,
                } => {
                    if generation == self.watch_generation {
                        self.fold_watch_result(kind, &namespace, event, &mut round);
                    }
                }
                other => {
                    self.flush(&mut round).await;
                    self.handle_job_result(other).await;
                }
            }
        }
        self.flush(&mut round).await;
        self.finish_watch_round(round).await;
        self.update_drift_status().await;
    }

    async fn handle_job_result(&mut self, item: Internal) {
        match item {
            Internal::Watch { .. } => {}
            Internal::Probed { sent, result } => self.probed(sent, result).await,
            Internal::Connected(result) => self.connected(result).await,
            Internal::SyncDone(attempt) => self.finish_sync(attempt).await,
            Internal::Applied { options, step } => self.applied(options, step).await,
            Internal::ApplyDone {
                options,
                ok,
                failed,
                not_sent,
            } => self.apply_done(options, ok, failed, not_sent).await,
        }
    }

    pub(super) async fn job(&self, job: JobKind, phase: JobPhase) {
        self.emit(EngineEvent::Job {
            fabric: self.fabric.name.clone(),
            job,
            phase,
        })
        .await;
    }

    pub(super) async fn log(&self, entry: LogEntry) {
        if let Err(error) = self
            .ctx
            .store
            .append_log(&self.fabric.name, std::slice::from_ref(&entry))
        {
            tracing::warn!(fabric = %self.fabric.name, "cannot log an event: {error}");
        }
        self.emit_log(entry).await;
    }

    /// Logs a fabric-wide line (no object), stamped now.
    pub(super) async fn note(&self, what: LogKind, message: impl Into<String>) {
        self.log(log_line(status::now(), what, None, message)).await;
    }

    /// Shows a log line that is already in the store.
    pub(super) async fn emit_log(&self, entry: LogEntry) {
        self.emit(EngineEvent::Log {
            fabric: self.fabric.name.clone(),
            entry,
        })
        .await;
    }

    /// Saves and publishes the fabric status. While a sync job runs it writes the status record
    /// itself (its sync section, in the transaction that replaces the desired set), so the
    /// engine's write waits until the job reports what it committed (`finish_sync`): the record
    /// has one writer at a time.
    pub(super) async fn save_status(&mut self) {
        if self.sync_job.is_running() {
            self.status_unsaved = true;
        } else {
            self.write_status();
        }
        self.emit(EngineEvent::Status {
            fabric: self.fabric.name.clone(),
            status: self.status.clone(),
        })
        .await;
    }

    pub(super) fn write_status(&mut self) {
        self.status_unsaved = false;
        let status = self.status.clone();
        match self
            .ctx
            .store
            .update_fabric_status(&self.fabric.name, &[], |stored| *stored = status)
        {
            Ok(saved) => self.saved_event_count = Some(saved.watch.event_count),
            Err(error) => {
                tracing::warn!(fabric = %self.fabric.name, "cannot save the fabric status: {error}")
            }
        }
    }

    /// LogEntry counts and last-event times change with every watch event; they are saved and
    /// published on the slow tick, not per event.
    async fn save_watch_counters(&mut self) {
        // Known from the last write (or the load), not read back: a record that could not be
        // read is rewritten here (its sync section reset, so nothing trusts the desired set
        // until the next sync).
        if self.saved_event_count != Some(self.status.watch.event_count) {
            self.save_status().await;
        }
    }
    pub(super) async fn set_watch_state(&mut self, state: WatchState, error: Option<String>) {
        if self.status.watch.state == state && self.status.watch.error == error {
            return;
        }
        if state == WatchState::Starting {
            self.status.watch.started = Some(status::now());
        }
        self.status.watch.state = state;
        self.status.watch.error = error;
        self.save_status().await;
    }

    /// Sends rows for `touched` (removed where neither side has the object), logs transitions.
    pub(super) async fn publish_rows(
        &mut self,
        mut touched: BTreeSet<ObjectKey>,
        transitions: Vec<Transition>,
    ) {
        // A re-list changes verdicts of objects it did not touch (Unknown → Missing): their
        // rows must go out too, or the table shows a verdict the event pane contradicts.
        touched.extend(transitions.iter().map(|t| t.key.clone()));
        let mut upserts = Vec::new();
        let mut removed = Vec::new();
        for key in touched {
            if self.index.get(&key).is_some() {
                upserts.push(self.row(&key));
            } else {
                removed.push(key);
            }
        }
        let fabric = self.fabric.name.clone();
        if !transitions.is_empty() {
            let now = status::now();
            // First verdicts (start-up, re-list) are one summary line (`engine::timeline`).
            let own_lines =
                super::timeline::plan_lines(&transitions, &mut self.live.first_verdicts);
            let entries: Vec<LogEntry> = own_lines
                .into_iter()
                .map(|t| {
                    let object = Some(self.fabric.namespaces.object_name(&t.key));
                    let live = self.index.live(&t.key);
                    LogEntry {
                        key: Some(t.key.clone()),
                        ..log_line(now, LogKind::Drift, object, describe_transition(t, live))
                    }
                })
                .collect();
            if let Err(error) = self.ctx.store.append_log(&fabric, &entries) {
                tracing::warn!(%fabric, "cannot log drift events: {error}");
            }
            for entry in entries {
                self.emit_log(entry).await;
            }
        }
        if !upserts.is_empty() || !removed.is_empty() {
            self.emit(EngineEvent::Rows {
                fabric,
                upserts,
                removed,
            })
            .await;
        }
    }

    pub(super) async fn update_drift_status(&mut self) {
        let drift = self.index.fabric_status();
        if drift != self.status.drift {
            self.status.drift = drift;
            self.save_status().await;
        }
    }
}
