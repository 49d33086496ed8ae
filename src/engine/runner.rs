//! The per-fabric engine task: owns the fabric's client, watchers, drift index and statuses;
//! folds watch bursts into one store transaction and one `Rows` event; runs sync, apply and
//! connection checks as jobs that report back over an internal channel.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WatchEvent};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{ApplyRequest, ApplyScope, Command, EngineEvent, JobKind, JobPhase, ResourceRow};
use crate::apply;
use crate::cluster::{self, ClusterError, ConnectionReport, FabricClient};
use crate::config::FabricConfig;
use crate::desired::{DesiredObject, ObjectKey};
use crate::drift::{self, Drift, DriftIndex, Transition};
use crate::health::{self, SwitchHealth};
use crate::kinds::{self, KindInfo};
use crate::status::{
    self, ConnectionState, FabricStatus, KubernetesState, ResourceStatus, WatchState,
};
use crate::store::{Event, EventKind, LiveChange, Store};

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
const HEALTH_TICK: Duration = Duration::from_secs(5);

/// How a dead link is noticed. A watch on a quiet fabric reads nothing for minutes, so silence
/// on the watch says nothing; and a frozen server (or a dropped VPN, a hung load balancer) keeps
/// the TCP connection open, so no error ever comes either. So the engine asks: every
/// `PROBE_EVERY` it sends GET /version (tiny, readable by every token, served without etcd) on
/// the one-shot client and wants an answer within `PROBE_TIMEOUT`. One miss marks the fabric
/// "no answer since" the moment that request went out — at most PROBE_EVERY + PROBE_TIMEOUT
/// (10 s) after the server went silent. Probes go on; the first answer ends the outage, and the
/// watchers are restarted with a fresh list, because a watch connection that lived through the
/// silence may be dead (the middlebox forgot it) or may have missed what changed meanwhile.
const PROBE_EVERY: Duration = Duration::from_secs(5);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

enum Internal {
    Watch {
        generation: u64,
        kind: &'static KindInfo,
        event: Result<WatchEvent<kube::api::DynamicObject>, String>,
    },
    Connected(Result<(FabricClient, ConnectionReport), ClusterError>),
    /// A liveness probe's outcome; `sent` is when it went out.
    Probed {
        sent: status::Timestamp,
        result: Result<(), ClusterError>,
    },
    SyncDone(Result<String, String>),
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

struct Engine {
    fabric: FabricConfig,
    ctx: Arc<EngineContext>,
    events: mpsc::Sender<EngineEvent>,
    internal_tx: mpsc::UnboundedSender<Internal>,
    index: DriftIndex,
    desired: HashMap<ObjectKey, Arc<DesiredObject>>,
    resources: HashMap<ObjectKey, ResourceStatus>,
    agents: HashMap<String, Value>,
    switches: Vec<SwitchHealth>,
    status: FabricStatus,
    client: Option<FabricClient>,
    watchers: Vec<JoinHandle<()>>,
    /// Bumped whenever watchers restart, so events of old watchers are dropped.
    watch_generation: u64,
    /// Objects buffered between a kind's `Init` and `InitDone` (a re-list).
    relist: HashMap<&'static str, Vec<(ObjectKey, Value)>>,
    /// Kinds whose initial list has completed since the watchers started.
    listed: BTreeSet<&'static str>,
    watch_wanted: bool,
    connecting: bool,
    probing: bool,
    /// The watchers were restarted after the server stopped answering: their first full list
    /// is a recovery, and is logged as one.
    relist_after_outage: bool,
    sync_running: bool,
    sync_again: bool,
    apply_running: bool,
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
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        let watch_wanted = fabric.watch.enabled;
        let engine = Engine {
            index: DriftIndex::new(fabric.watch.critical_drift_threshold),
            fabric,
            ctx,
            events,
            internal_tx,
            desired: HashMap::new(),
            resources: HashMap::new(),
            agents: HashMap::new(),
            switches: Vec::new(),
            status: FabricStatus::default(),
            client: None,
            watchers: Vec::new(),
            watch_generation: 0,
            relist: HashMap::new(),
            listed: BTreeSet::new(),
            watch_wanted,
            connecting: false,
            probing: false,
            relist_after_outage: false,
            sync_running: false,
            sync_again: false,
            apply_running: false,
        };
        engine.run(commands_rx, internal_rx).await;
    });
    commands_tx
}

fn event(what: EventKind, object: Option<String>, message: impl Into<String>) -> Event {
    Event {
        time: status::now(),
        what,
        object,
        message: message.into(),
    }
}

fn object_name(key: &ObjectKey) -> String {
    format!("{}/{}", key.kind, key.name)
}

impl Engine {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut internal: mpsc::UnboundedReceiver<Internal>,
    ) {
        self.load_from_store().await;
        self.connect();
        let mut reconnect = tokio::time::interval(RECONNECT_EVERY);
        let mut health_tick = tokio::time::interval(HEALTH_TICK);
        let mut probe = tokio::time::interval(PROBE_EVERY);
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
                    let mut burst = vec![first];
                    while burst.len() < MAX_BURST {
                        match internal.try_recv() {
                            Ok(next) => burst.push(next),
                            Err(_) => break,
                        }
                    }
                    self.handle_internal(burst).await;
                }
                _ = reconnect.tick() => {
                    if self.client.is_none() && !self.connecting {
                        self.connect();
                    }
                }
                _ = health_tick.tick() => {
                    self.refresh_health().await;
                    self.save_watch_counters().await;
                }
                _ = poll.tick(), if polling => self.start_sync().await,
                _ = probe.tick() => self.start_probe(),
            }
        }
        self.stop_watchers();
        self.set_watch_state(WatchState::Stopped, None).await;
    }

    async fn emit(&self, event: EngineEvent) {
        // A listener that went away (UI closed) is not the engine's problem.
        let _ = self.events.send(event).await;
    }

    async fn load_from_store(&mut self) {
        let store = self.ctx.store.clone();
        let name = self.fabric.name.clone();
        // A record that cannot be read is reported, never taken for "nothing stored": an empty
        // desired set would show every live object as Orphan.
        let mut problems = Vec::new();
        self.status = store.fabric_status(&name).unwrap_or_else(|error| {
            problems.push(error.to_string());
            FabricStatus::default()
        });
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
        self.resources = store
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
        for (key, value) in live {
            if key.kind == "Agent" {
                self.agents.insert(key.name.clone(), value);
            } else {
                // Cached live values are shown, but verdicts stay Unknown until a fresh list.
                self.index.set_live(key, Some(value));
            }
        }
        self.switches = self.compute_health();
        let rows = self.index.iter().map(|(k, _)| self.row(k)).collect();
        let events = store.events(&name, 500).unwrap_or_else(|error| {
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
            self.log(event(EventKind::Error, None, problem)).await;
        }
    }

    /// The stored desired set cannot be read: the fabric shows a sync error saying what to do,
    /// and the desired side stays unknown (no Orphan verdicts) until a sync rewrites it.
    fn desired_unreadable(&mut self, message: String) {
        self.status.sync.state = status::SyncState::Error;
        self.status.sync.error = Some(message);
    }

    /// A store read failed where the engine only refreshes what it shows: tell the operator.
    async fn store_read_failed(&self, error: crate::store::StoreError) {
        tracing::warn!(fabric = %self.fabric.name, "{error}");
        self.emit(EngineEvent::Log {
            fabric: self.fabric.name.clone(),
            event: event(EventKind::Error, None, error.to_string()),
        })
        .await;
    }

    /// Whether live-only objects may be called orphans, from the sync status in force (the one
    /// rule is `trust::desired_trust`).
    fn judge_trust(&mut self) -> Vec<Transition> {
        let trusted =
            crate::trust::desired_trust(&self.fabric, &self.status.sync, self.desired.len())
                .is_ok();
        self.index.set_orphans_trusted(trusted)
    }

    fn row(&self, key: &ObjectKey) -> ResourceRow {
        ResourceRow {
            key: key.clone(),
            desired: self.desired.get(key).cloned(),
            live: self.index.live(key).map(|v| Arc::new(v.clone())),
            drift: self.index.get(key).cloned().unwrap_or_default(),
            kubernetes: self.resources.get(key).cloned().unwrap_or_default(),
        }
    }

    fn token(&self) -> Result<crate::secret::Secret, String> {
        crate::secret::token::kubernetes(
            &self.fabric.name,
            &self.fabric.kubernetes.token,
            &self.ctx.store,
            &self.ctx.key_file,
        )
        .map_err(|e| e.to_string())
    }

    /// Builds the client and checks it in the background; the result arrives as `Connected`.
    fn connect(&mut self) {
        self.connecting = true;
        let tx = self.internal_tx.clone();
        let fabric = self.fabric.clone();
        let token = self.token();
        tokio::spawn(async move {
            let result = match token {
                Err(message) => Err(ClusterError::Other {
                    fabric: fabric.name.clone(),
                    what: "kubernetes token".into(),
                    detail: message,
                }),
                Ok(token) => match FabricClient::new(&fabric, &token) {
                    Err(e) => Err(e),
                    Ok(client) => client.check(true).await.map(|report| (client, report)),
                },
            };
            let _ = tx.send(Internal::Connected(result));
        });
    }

    /// Sends one liveness probe in the background (see `PROBE_EVERY`); the outcome arrives as
    /// `Probed`. Only one at a time, and only with a client that is not being (re)built.
    fn start_probe(&mut self) {
        let Some(client) = self.client.clone() else {
            return;
        };
        if self.probing || self.connecting {
            return;
        }
        self.probing = true;
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let sent = status::now();
            let result = client.probe(PROBE_TIMEOUT).await;
            let _ = tx.send(Internal::Probed { sent, result });
        });
    }

    /// The server stopped answering: say so once, everywhere (badge, status line, event log,
    /// `hhdash watch`), and keep every row as it was — the last known state, now stale.
    async fn lost_answer(&mut self, sent: status::Timestamp, error: &ClusterError) {
        let first = self.status.connection.no_answer_since.is_none();
        let since = *self.status.connection.no_answer_since.get_or_insert(sent);
        self.status.connection.state = ConnectionState::NoAnswer;
        self.status.connection.error = Some(error.to_string());
        if matches!(
            self.status.watch.state,
            WatchState::Active | WatchState::Starting
        ) {
            self.status.watch.state = WatchState::Error;
            self.status.watch.error = Some(format!(
                "{}; the rows are the last known state",
                status::no_answer_since(since)
            ));
        }
        self.save_status().await;
        if first {
            let cause = match error {
                ClusterError::NoAnswer { what, detail, .. } => format!("{what}: {detail}"),
                other => other.to_string(),
            };
            let message = format!(
                "{} from {} ({cause}); showing the last known state, marked stale",
                status::no_answer_since(since),
                self.fabric.kubernetes.server
            );
            self.log(event(EventKind::Error, None, message)).await;
        }
    }

    /// The server answers again after an outage: log how long it was silent and re-list, so
    /// nothing that changed meanwhile is missed (see `PROBE_EVERY`).
    async fn answer_again(&mut self) {
        let Some(since) = self.status.connection.no_answer_since.take() else {
            return;
        };
        self.status.connection.state = ConnectionState::Connected;
        self.status.connection.error = None;
        self.save_status().await;
        let silent = (status::now() - since).max(0);
        let message = format!(
            "{} answers again after {silent} s without an answer; re-listing the cluster",
            self.fabric.kubernetes.server
        );
        self.log(event(EventKind::Connection, None, message)).await;
        if self.watch_wanted && self.client.is_some() {
            self.relist_after_outage = true;
            self.start_watchers().await;
        }
    }

    async fn handle_command(&mut self, command: Command) {
        match command {
            Command::Sync => self.start_sync().await,
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
                self.connect();
            }
            Command::TestConnection => {
                if !self.connecting {
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
                    self.log(event(
                        EventKind::Watch,
                        None,
                        "watch stopped by the operator",
                    ))
                    .await;
                }
            }
            Command::Apply(request) => self.start_apply(request).await,
            Command::Shutdown => {}
        }
    }

    async fn job(&self, job: JobKind, phase: JobPhase) {
        self.emit(EngineEvent::Job {
            fabric: self.fabric.name.clone(),
            job,
            phase,
        })
        .await;
    }

    async fn log(&self, entry: Event) {
        if let Err(error) = self
            .ctx
            .store
            .append_events(&self.fabric.name, std::slice::from_ref(&entry))
        {
            tracing::warn!(fabric = %self.fabric.name, "cannot log an event: {error}");
        }
        self.emit(EngineEvent::Log {
            fabric: self.fabric.name.clone(),
            event: entry,
        })
        .await;
    }

    async fn save_status(&mut self) {
        let status = self.status.clone();
        // The sync section belongs to the sync job, which writes it itself (possibly right now,
        // on another thread); the engine only mirrors it.
        let keep_sync = |s: &mut FabricStatus| {
            let sync = std::mem::take(&mut s.sync);
            *s = status;
            s.sync = sync;
        };
        if let Err(error) = self
            .ctx
            .store
            .update_fabric_status(&self.fabric.name, &[], keep_sync)
        {
            tracing::warn!(fabric = %self.fabric.name, "cannot save the fabric status: {error}");
        }
        self.emit(EngineEvent::Status {
            fabric: self.fabric.name.clone(),
            status: self.status.clone(),
        })
        .await;
    }

    /// Event counts and last-event times change with every watch event; they are saved and
    /// published on the slow tick, not per event.
    async fn save_watch_counters(&mut self) {
        let unchanged = match self.ctx.store.fabric_status(&self.fabric.name) {
            Ok(saved) => saved.watch.event_count == self.status.watch.event_count,
            Err(error) => {
                // Saving rewrites the unreadable record (its sync section is reset, so nothing
                // trusts the desired set until the next sync).
                tracing::warn!(fabric = %self.fabric.name, "{error}; rewriting the status");
                false
            }
        };
        if !unchanged {
            self.save_status().await;
        }
    }

    async fn set_watch_state(&mut self, state: WatchState, error: Option<String>) {
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

    async fn start_sync(&mut self) {
        if self.sync_running {
            // At most one pending: pressing `s` five times syncs at most twice.
            self.sync_again = true;
            return;
        }
        self.sync_running = true;
        self.job(
            JobKind::Sync,
            JobPhase::Started {
                message: format!(
                    "fetching {} ({})",
                    crate::git::redact_url(&self.fabric.git.url),
                    self.fabric.git.branch
                ),
            },
        )
        .await;
        let fabric = self.fabric.clone();
        let ctx = self.ctx.clone();
        let tx = self.internal_tx.clone();
        tokio::task::spawn_blocking(move || {
            let result =
                crate::sync::sync_fabric(&fabric, &ctx.store, &ctx.git_cache_dir, |name, slot| {
                    crate::secret::vault::stored_secret(&ctx.store, &ctx.key_file, name, slot)
                });
            let message = result.map(|report| {
                format!(
                    "synced {} object(s) at {}; {} document(s) skipped",
                    report.objects(),
                    &report.commit[..report.commit.len().min(12)],
                    report.skipped.len()
                )
            });
            let _ = tx.send(Internal::SyncDone(message.map_err(|e| e.to_string())));
        });
    }

    async fn finish_sync(&mut self, result: Result<String, String>) {
        self.sync_running = false;
        // The sync wrote status and events to the store itself; pick them up.
        match self.ctx.store.fabric_status(&self.fabric.name) {
            Ok(stored) => self.status.sync = stored.sync,
            Err(error) => self.store_read_failed(error).await,
        }
        let desired = match &result {
            Ok(_) => match self.ctx.store.desired(&self.fabric.name) {
                Ok(desired) => Some(desired),
                Err(error) => {
                    // The previous desired set stays in the index, flagged by the sync error.
                    self.desired_unreadable(error.to_string());
                    self.store_read_failed(error).await;
                    None
                }
            },
            Err(_) => None,
        };
        match (&result, desired) {
            (Ok(_), None) => {
                let transitions = self.judge_trust();
                self.publish_rows(BTreeSet::new(), transitions).await;
                self.job(
                    JobKind::Sync,
                    JobPhase::Failed {
                        message: self.status.sync.error.clone().unwrap_or_default(),
                    },
                )
                .await;
                self.emit(EngineEvent::Status {
                    fabric: self.fabric.name.clone(),
                    status: self.status.clone(),
                })
                .await;
            }
            (Ok(message), Some(desired)) => {
                let desired: HashMap<ObjectKey, Arc<DesiredObject>> = desired
                    .into_iter()
                    .map(|d| (d.key.clone(), Arc::new(d)))
                    .collect();
                // Only rows whose Git side changed (object or source) go out: a poll of an
                // unchanged commit must not make the dashboard rebuild a large table.
                let touched: BTreeSet<ObjectKey> = desired
                    .iter()
                    .filter(|(key, new)| self.desired.get(*key) != Some(*new))
                    .map(|(key, _)| key.clone())
                    .chain(
                        self.desired
                            .keys()
                            .filter(|k| !desired.contains_key(*k))
                            .cloned(),
                    )
                    .collect();
                self.desired = desired;
                let mut transitions = self.judge_trust();
                transitions.extend(
                    self.index.set_desired_all(
                        self.desired
                            .iter()
                            .map(|(k, d)| (k.clone(), d.object.clone())),
                    ),
                );
                self.publish_rows(touched, transitions).await;
                self.job(
                    JobKind::Sync,
                    JobPhase::Succeeded {
                        message: message.clone(),
                    },
                )
                .await;
            }
            (Err(message), _) => {
                // A failed sync keeps the last good set for Drifted/Missing, but it can no
                // longer say which live objects Git does not want.
                let transitions = self.judge_trust();
                self.publish_rows(BTreeSet::new(), transitions).await;
                self.job(
                    JobKind::Sync,
                    JobPhase::Failed {
                        message: message.clone(),
                    },
                )
                .await;
            }
        }
        match self.ctx.store.events(&self.fabric.name, 1) {
            Ok(entries) => {
                for entry in entries {
                    self.emit(EngineEvent::Log {
                        fabric: self.fabric.name.clone(),
                        event: entry,
                    })
                    .await;
                }
            }
            Err(error) => self.store_read_failed(error).await,
        }
        self.update_drift_status().await;
        if std::mem::take(&mut self.sync_again) {
            Box::pin(self.start_sync()).await;
        }
    }

    /// Sends rows for `touched` (removed where neither side has the object), logs transitions.
    async fn publish_rows(
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
            let entries: Vec<Event> = transitions
                .iter()
                // An object appearing with no verdict yet is not news; its verdict will be.
                .filter(|t| t.to != crate::drift::DriftKindTag::Unknown)
                .map(|t| event(EventKind::Drift, Some(object_name(&t.key)), t.to_string()))
                .collect();
            if let Err(error) = self.ctx.store.append_events(&fabric, &entries) {
                tracing::warn!(%fabric, "cannot log drift events: {error}");
            }
            for entry in entries {
                self.emit(EngineEvent::Log {
                    fabric: fabric.clone(),
                    event: entry,
                })
                .await;
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

    async fn update_drift_status(&mut self) {
        let drift = self.index.fabric_status();
        if drift != self.status.drift {
            self.status.drift = drift;
            self.save_status().await;
        }
    }

    async fn start_watchers(&mut self) {
        self.stop_watchers();
        let Some(client) = self.client.clone() else {
            return;
        };
        if !self.watch_wanted {
            return;
        }
        self.watch_generation += 1;
        let generation = self.watch_generation;
        self.set_watch_state(WatchState::Starting, None).await;
        for info in self.fabric.watch.kinds.clone() {
            let api = client.watch_api(info);
            let tx = self.internal_tx.clone();
            let fabric_client = client.clone();
            self.watchers.push(tokio::spawn(async move {
                let config = watcher::Config::default();
                let mut stream = watcher::watcher(api, config).default_backoff().boxed();
                while let Some(item) = stream.next().await {
                    let event = item.map_err(|e| describe_watch_error(&fabric_client, info, e));
                    if tx
                        .send(Internal::Watch {
                            generation,
                            kind: info,
                            event,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            }));
        }
    }

    fn stop_watchers(&mut self) {
        for handle in self.watchers.drain(..) {
            handle.abort();
        }
        self.watch_generation += 1;
        self.relist.clear();
        self.listed.clear();
    }

    async fn handle_internal(&mut self, burst: Vec<Internal>) {
        let mut changes: Vec<LiveChange> = Vec::new();
        let mut statuses: Vec<(ObjectKey, ResourceStatus)> = Vec::new();
        let mut entries: Vec<Event> = Vec::new();
        let mut touched: BTreeSet<ObjectKey> = BTreeSet::new();
        let mut transitions: Vec<Transition> = Vec::new();
        let mut agents_changed = false;
        let mut watch_error: Option<String> = None;
        let mut watch_ok = false;
        for item in burst {
            match item {
                Internal::Watch {
                    generation,
                    kind,
                    event,
                } => {
                    if generation != self.watch_generation {
                        continue;
                    }
                    match event {
                        Err(message) => watch_error = Some(message),
                        Ok(event) => {
                            watch_ok = true;
                            self.status.watch.event_count += 1;
                            self.fold_watch_event(
                                kind,
                                event,
                                &mut changes,
                                &mut statuses,
                                &mut entries,
                                &mut touched,
                                &mut transitions,
                                &mut agents_changed,
                            );
                        }
                    }
                }
                other => {
                    // Jobs are rare; handle them with the burst flushed first.
                    self.flush(
                        &mut changes,
                        &mut statuses,
                        &mut entries,
                        &mut touched,
                        &mut transitions,
                    )
                    .await;
                    self.handle_job_result(other).await;
                }
            }
        }
        self.flush(
            &mut changes,
            &mut statuses,
            &mut entries,
            &mut touched,
            &mut transitions,
        )
        .await;
        if agents_changed {
            self.refresh_health().await;
        }
        if let Some(message) = watch_error {
            if self.status.watch.state != WatchState::Error {
                self.log(event(EventKind::Error, None, format!("watch: {message}")))
                    .await;
            }
            self.set_watch_state(WatchState::Error, Some(message)).await;
        } else if watch_ok {
            self.status.watch.last_event = Some(status::now());
            // Active means every watched kind has been listed: only then is the live view whole.
            let all_listed = self.listed.len() == self.fabric.watch.kinds.len();
            if self.status.watch.state != WatchState::Active && self.relist.is_empty() && all_listed
            {
                let recovered = self.status.watch.state == WatchState::Error
                    || std::mem::take(&mut self.relist_after_outage);
                self.set_watch_state(WatchState::Active, None).await;
                let message = if recovered {
                    "watch recovered; live state re-listed"
                } else {
                    "watch active"
                };
                self.log(event(EventKind::Watch, None, message)).await;
            }
        }
        self.update_drift_status().await;
    }

    #[allow(clippy::too_many_arguments)]
    fn fold_watch_event(
        &mut self,
        info: &'static KindInfo,
        watch_event: WatchEvent<kube::api::DynamicObject>,
        changes: &mut Vec<LiveChange>,
        statuses: &mut Vec<(ObjectKey, ResourceStatus)>,
        entries: &mut Vec<Event>,
        touched: &mut BTreeSet<ObjectKey>,
        transitions: &mut Vec<Transition>,
        agents_changed: &mut bool,
    ) {
        match watch_event {
            WatchEvent::Init => {
                self.relist.insert(info.kind, Vec::new());
            }
            WatchEvent::InitApply(object) => {
                if let Some(entry) = cluster::live_entry(info, object) {
                    self.relist.entry(info.kind).or_default().push(entry);
                }
            }
            WatchEvent::InitDone => {
                self.listed.insert(info.kind);
                let objects = self.relist.remove(info.kind).unwrap_or_default();
                if info.writable() {
                    // Ghosts (gone while we were not watching) leave the live set here.
                    let before: Vec<ObjectKey> = self
                        .index
                        .iter()
                        .filter(|(k, _)| k.kind == info.kind && self.index.live(k).is_some())
                        .map(|(k, _)| k.clone())
                        .collect();
                    let seen: BTreeSet<&ObjectKey> = objects.iter().map(|(k, _)| k).collect();
                    for key in before.into_iter().filter(|k| !seen.contains(k)) {
                        changes.push(LiveChange::Delete { key: key.clone() });
                        statuses.push((key.clone(), self.resource_gone(&key)));
                        touched.insert(key);
                    }
                    for (key, value) in &objects {
                        changes.push(LiveChange::Upsert {
                            key: key.clone(),
                            object: value.clone(),
                        });
                        statuses.push((key.clone(), self.resource_live(key, value)));
                        touched.insert(key.clone());
                    }
                    transitions.extend(self.index.replace_live_kind(info.kind, objects));
                } else {
                    let names: BTreeSet<String> =
                        objects.iter().map(|(k, _)| k.name.clone()).collect();
                    for (name, _) in self.agents.iter().filter(|(n, _)| !names.contains(*n)) {
                        changes.push(LiveChange::Delete {
                            key: agent_key(&self.fabric.namespace, name),
                        });
                    }
                    self.agents = objects
                        .into_iter()
                        .map(|(key, value)| {
                            changes.push(LiveChange::Upsert {
                                key: key.clone(),
                                object: value.clone(),
                            });
                            (key.name, value)
                        })
                        .collect();
                    *agents_changed = true;
                }
                entries.push(event(
                    EventKind::Watch,
                    Some(info.kind.to_string()),
                    format!("listed {} {}", self.count_of(info), info.plural),
                ));
            }
            WatchEvent::Apply(object) => {
                let Some((key, value)) = cluster::live_entry(info, object) else {
                    return;
                };
                let what = if self.has_live(info, &key) {
                    EventKind::Modified
                } else {
                    EventKind::Added
                };
                changes.push(LiveChange::Upsert {
                    key: key.clone(),
                    object: value.clone(),
                });
                if info.writable() {
                    statuses.push((key.clone(), self.resource_live(&key, &value)));
                    entries.push(event(
                        what,
                        Some(object_name(&key)),
                        format!("{what:?} in the cluster").to_lowercase(),
                    ));
                    transitions.extend(self.index.set_live(key.clone(), Some(value)));
                    touched.insert(key);
                } else {
                    self.agents.insert(key.name.clone(), value);
                    *agents_changed = true;
                }
            }
            WatchEvent::Delete(object) => {
                let Some((key, _)) = cluster::live_entry(info, object) else {
                    return;
                };
                changes.push(LiveChange::Delete { key: key.clone() });
                if info.writable() {
                    statuses.push((key.clone(), self.resource_gone(&key)));
                    entries.push(event(
                        EventKind::Deleted,
                        Some(object_name(&key)),
                        "deleted from the cluster",
                    ));
                    transitions.extend(self.index.set_live(key.clone(), None));
                    touched.insert(key);
                } else {
                    self.agents.remove(&key.name);
                    *agents_changed = true;
                }
            }
        }
    }

    fn has_live(&self, info: &KindInfo, key: &ObjectKey) -> bool {
        if info.writable() {
            self.index.live(key).is_some()
        } else {
            self.agents.contains_key(&key.name)
        }
    }

    fn count_of(&self, info: &KindInfo) -> usize {
        if info.writable() {
            self.index.counts(info.kind).live
        } else {
            self.agents.len()
        }
    }

    fn resource_live(&mut self, key: &ObjectKey, value: &Value) -> ResourceStatus {
        let metadata = value.get("metadata");
        let text = |field: &str| {
            metadata
                .and_then(|m| m.get(field))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let status = self.resources.entry(key.clone()).or_default();
        status.state = KubernetesState::Live;
        status.uid = text("uid");
        status.resource_version = text("resourceVersion");
        status.created = text("creationTimestamp");
        status.last_synced = Some(status::now());
        status.error = None;
        status.clone()
    }

    fn resource_gone(&mut self, key: &ObjectKey) -> ResourceStatus {
        let status = self.resources.entry(key.clone()).or_default();
        status.state = KubernetesState::Unknown;
        status.resource_version = None;
        status.last_synced = Some(status::now());
        status.clone()
    }

    async fn flush(
        &mut self,
        changes: &mut Vec<LiveChange>,
        statuses: &mut Vec<(ObjectKey, ResourceStatus)>,
        entries: &mut Vec<Event>,
        touched: &mut BTreeSet<ObjectKey>,
        transitions: &mut Vec<Transition>,
    ) {
        if changes.is_empty() && statuses.is_empty() && entries.is_empty() && touched.is_empty() {
            return;
        }
        summarize_object_changes(entries);
        // One transaction per burst, however many watch events it holds.
        if let Err(error) = self
            .ctx
            .store
            .write_live(&self.fabric.name, changes, statuses, entries)
        {
            tracing::warn!(fabric = %self.fabric.name, "cannot store live changes: {error}");
        }
        for entry in entries.drain(..) {
            self.emit(EngineEvent::Log {
                fabric: self.fabric.name.clone(),
                event: entry,
            })
            .await;
        }
        changes.clear();
        statuses.clear();
        let touched = std::mem::take(touched);
        let transitions = std::mem::take(transitions);
        self.publish_rows(touched, transitions).await;
    }

    async fn handle_job_result(&mut self, item: Internal) {
        match item {
            Internal::Watch { .. } => {}
            Internal::Probed { sent, result } => {
                self.probing = false;
                match result {
                    Ok(()) => self.answer_again().await,
                    Err(error @ ClusterError::NoAnswer { .. }) => {
                        self.lost_answer(sent, &error).await
                    }
                    // Refused, reset, 401…: the watchers meet those too and report them.
                    Err(error) => tracing::debug!(fabric = %self.fabric.name, "probe: {error}"),
                }
            }
            Internal::Connected(result) => {
                self.connecting = false;
                self.status.connection.checked_at = Some(status::now());
                match result {
                    Ok((client, report)) => {
                        let was = self.status.connection.state;
                        self.status.connection.state = ConnectionState::Connected;
                        self.status.connection.error = None;
                        self.status.connection.server_version = Some(report.server_version.clone());
                        self.client = Some(client);
                        self.save_status().await;
                        if self.status.connection.no_answer_since.is_some() {
                            self.answer_again().await;
                        } else if was != ConnectionState::Connected {
                            self.log(event(
                                EventKind::Connection,
                                None,
                                format!(
                                    "connected to {} ({})",
                                    self.fabric.kubernetes.server, report.server_version
                                ),
                            ))
                            .await;
                        }
                        for warning in report.warnings {
                            self.log(event(EventKind::Connection, None, warning)).await;
                        }
                        self.job(
                            JobKind::Connect,
                            JobPhase::Succeeded {
                                message: format!("connected, server {}", report.server_version),
                            },
                        )
                        .await;
                        if self.watch_wanted && self.watchers.is_empty() {
                            self.start_watchers().await;
                        }
                    }
                    Err(error @ ClusterError::NoAnswer { .. }) => {
                        self.client = None;
                        let sent = self
                            .status
                            .connection
                            .checked_at
                            .unwrap_or_else(status::now);
                        self.lost_answer(sent, &error).await;
                        let message = error.to_string();
                        self.job(JobKind::Connect, JobPhase::Failed { message })
                            .await;
                    }
                    Err(error) => {
                        let message = error.to_string();
                        self.status.connection.no_answer_since = None;
                        let changed =
                            self.status.connection.error.as_deref() != Some(message.as_str());
                        self.status.connection.state = ConnectionState::Failed;
                        self.status.connection.error = Some(message.clone());
                        self.client = None;
                        self.save_status().await;
                        if changed {
                            self.log(event(EventKind::Error, None, message.clone()))
                                .await;
                        }
                        self.job(JobKind::Connect, JobPhase::Failed { message })
                            .await;
                    }
                }
            }
            Internal::SyncDone(result) => self.finish_sync(result).await,
            Internal::Applied { options, step } => {
                let key = step.key;
                let now = status::now();
                if options.dry_run
                    && let Ok(applied) = &step.result
                {
                    let info = kinds::by_kind(&key.kind).expect("applied kinds are registered");
                    let would = match self.index.live(&key) {
                        Some(live) => drift::compare_exact(info, applied, live).len(),
                        None => 1,
                    };
                    let entry = apply::log_entry(
                        &key,
                        &step.result,
                        options,
                        apply::Origin::Dashboard,
                        Some(would),
                        now,
                    );
                    self.log(entry).await;
                    return;
                }
                let previous = self.resources.get(&key);
                let status = match &step.result {
                    Ok(applied) => {
                        let live_version = self
                            .index
                            .live(&key)
                            .and_then(|l| l.pointer("/metadata/resourceVersion"))
                            .and_then(Value::as_str);
                        apply::applied_status(previous, applied, live_version, now)
                    }
                    Err(error) => apply::failed_status(previous, error, options.dry_run),
                };
                self.resources.insert(key.clone(), status.clone());
                let entry = apply::log_entry(
                    &key,
                    &step.result,
                    options,
                    apply::Origin::Dashboard,
                    None,
                    now,
                );
                self.record_apply(key, status, entry).await;
            }
            Internal::ApplyDone {
                options,
                ok,
                failed,
                not_sent,
            } => {
                self.apply_running = false;
                let message = apply::summary(options, ok, failed, not_sent);
                let phase = if failed == 0 && not_sent == 0 {
                    JobPhase::Succeeded {
                        message: message.clone(),
                    }
                } else {
                    JobPhase::Failed {
                        message: message.clone(),
                    }
                };
                self.job(JobKind::Apply, phase).await;
                self.log(event(EventKind::Apply, None, message)).await;
            }
        }
    }

    /// One object's apply outcome: stored with its log line in one transaction, then shown.
    async fn record_apply(&mut self, key: ObjectKey, status: ResourceStatus, entry: Event) {
        if let Err(error) = apply::record(&self.ctx.store, &self.fabric.name, &key, status, &entry)
        {
            tracing::warn!(fabric = %self.fabric.name, "cannot record an apply result: {error}");
        }
        self.emit(EngineEvent::Log {
            fabric: self.fabric.name.clone(),
            event: entry,
        })
        .await;
        self.publish_rows(BTreeSet::from([key]), Vec::new()).await;
    }

    /// Keys an apply request covers, in dependency order.
    fn apply_targets(&self, scope: &ApplyScope) -> Vec<Arc<DesiredObject>> {
        let mut targets: Vec<Arc<DesiredObject>> = match scope {
            ApplyScope::Objects(keys) | ApplyScope::Confirmed { objects: keys, .. } => keys
                .iter()
                .filter_map(|k| self.desired.get(k).cloned())
                .collect(),
            ApplyScope::OutOfSync => self
                .desired
                .values()
                .filter(|d| {
                    matches!(
                        self.index.get(&d.key),
                        Some(Drift::Missing | Drift::Drifted(_))
                    )
                })
                .cloned()
                .collect(),
        };
        apply::sort(&mut targets, |d| &d.key);
        targets
    }

    async fn start_apply(&mut self, request: ApplyRequest) {
        if self.apply_running {
            self.job(
                JobKind::Apply,
                JobPhase::Failed {
                    message: "an apply is already running; wait for it to finish".into(),
                },
            )
            .await;
            return;
        }
        let Some(client) = self.client.clone() else {
            let message = format!(
                "not connected to {}: {}",
                self.fabric.kubernetes.server,
                self.status
                    .connection
                    .error
                    .clone()
                    .unwrap_or_else(|| "connecting…".into())
            );
            self.job(JobKind::Apply, JobPhase::Failed { message }).await;
            return;
        };
        if let ApplyScope::Confirmed { commit, .. } = &request.scope
            && commit != &self.status.sync.commit
        {
            let short = |c: &Option<String>| {
                c.as_deref()
                    .map(|c| c[..c.len().min(12)].to_string())
                    .unwrap_or_else(|| "none".into())
            };
            let message = format!(
                "nothing applied: Git moved from {} to {} since the confirmation listed these objects; press A to review the new list",
                short(commit),
                short(&self.status.sync.commit)
            );
            self.job(JobKind::Apply, JobPhase::Failed { message }).await;
            return;
        }
        let targets = self.apply_targets(&request.scope);
        if targets.is_empty() {
            self.job(
                JobKind::Apply,
                JobPhase::Succeeded {
                    message: "nothing to apply: everything is in sync".into(),
                },
            )
            .await;
            return;
        }
        self.apply_running = true;
        let total = targets.len();
        self.job(
            JobKind::Apply,
            JobPhase::Started {
                message: format!("applying {total} object(s)"),
            },
        )
        .await;
        let tx = self.internal_tx.clone();
        let events = self.events.clone();
        let fabric = self.fabric.name.clone();
        let options = apply::Options {
            dry_run: request.dry_run,
            force_conflicts: request.force_conflicts,
        };
        tokio::spawn(async move {
            let mut run = apply::Run::new(
                &client,
                targets.iter().map(|t| t.as_ref()).collect(),
                options,
            );
            let (mut ok, mut failed) = (0, 0);
            while let Some(step) = run.next().await {
                if step.result.is_ok() {
                    ok += 1
                } else {
                    failed += 1
                }
                let progress = JobPhase::Progress {
                    done: step.done,
                    total: step.total,
                    message: object_name(&step.key),
                };
                let _ = tx.send(Internal::Applied { options, step });
                let _ = events
                    .send(EngineEvent::Job {
                        fabric: fabric.clone(),
                        job: JobKind::Apply,
                        phase: progress,
                    })
                    .await;
            }
            let _ = tx.send(Internal::ApplyDone {
                options,
                ok,
                failed,
                not_sent: run.not_sent(),
            });
        });
    }

    fn compute_health(&self) -> Vec<SwitchHealth> {
        let now = status::now();
        let mut switches: Vec<SwitchHealth> = self
            .agents
            .values()
            .map(|agent| health::classify_agent(agent, now, self.fabric.watch.stale_heartbeat_secs))
            .collect();
        switches.sort_by(|a, b| a.name.cmp(&b.name));
        switches
    }

    async fn refresh_health(&mut self) {
        let switches = self.compute_health();
        if switches != self.switches {
            let was: HashMap<&str, health::SwitchState> = self
                .switches
                .iter()
                .map(|s| (s.name.as_str(), s.state))
                .collect();
            let mut entries = Vec::new();
            for switch in &switches {
                match was.get(switch.name.as_str()) {
                    Some(state) if *state != switch.state => entries.push(event(
                        EventKind::Watch,
                        Some(format!("Agent/{}", switch.name)),
                        format!("switch {:?} → {:?}", state, switch.state),
                    )),
                    _ => {}
                }
            }
            self.switches = switches;
            for entry in entries {
                self.log(entry).await;
            }
            self.emit(EngineEvent::Health {
                fabric: self.fabric.name.clone(),
                switches: self.switches.clone(),
            })
            .await;
        }
    }
}

/// Past this many object changes in one burst, the log gets one line per kind of change.
const MAX_OBJECT_EVENTS_PER_BURST: usize = 20;

/// A watch storm must not push connection, sync and drift lines out of the bounded event log
/// (nor flood listeners): a burst with many added/modified/deleted objects is logged as one
/// summary line per kind of change. Drift transitions are logged separately and never folded.
fn summarize_object_changes(entries: &mut Vec<Event>) {
    let is_object_change = |e: &Event| {
        matches!(
            e.what,
            EventKind::Added | EventKind::Modified | EventKind::Deleted
        )
    };
    let count = entries.iter().filter(|e| is_object_change(e)).count();
    if count <= MAX_OBJECT_EVENTS_PER_BURST {
        return;
    }
    let mut per_change: Vec<(EventKind, std::collections::BTreeMap<String, usize>)> = Vec::new();
    for entry in entries.iter().filter(|e| is_object_change(e)) {
        let kind = entry
            .object
            .as_deref()
            .and_then(|o| o.split('/').next())
            .unwrap_or("?")
            .to_string();
        match per_change.iter_mut().find(|(what, _)| *what == entry.what) {
            Some((_, kinds)) => *kinds.entry(kind).or_default() += 1,
            None => per_change.push((entry.what, std::collections::BTreeMap::from([(kind, 1)]))),
        }
    }
    let time = entries.last().map(|e| e.time).unwrap_or_else(status::now);
    entries.retain(|e| !is_object_change(e));
    for (what, kinds) in per_change {
        let total: usize = kinds.values().sum();
        let detail: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        entries.push(Event {
            time,
            what,
            object: None,
            message: format!(
                "{total} objects {} in the cluster ({})",
                format!("{what:?}").to_lowercase(),
                detail.join(", ")
            ),
        });
    }
}

fn agent_key(namespace: &str, name: &str) -> ObjectKey {
    ObjectKey {
        kind: "Agent".into(),
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

fn describe_watch_error(client: &FabricClient, info: &KindInfo, error: watcher::Error) -> String {
    match error {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => client.classify(e, "watch", info.plural).to_string(),
        other => format!(
            "fabric {}: watching {}: {other}",
            client.fabric, info.plural
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(what: EventKind, object: &str) -> Event {
        Event {
            time: 1,
            what,
            object: Some(object.into()),
            message: "x".into(),
        }
    }

    #[test]
    fn a_storm_burst_becomes_one_line_per_kind_of_change_and_keeps_other_lines() {
        let mut entries: Vec<Event> = (0..30)
            .map(|i| change(EventKind::Modified, &format!("VPC/v{i}")))
            .collect();
        entries.push(change(EventKind::Added, "Server/s1"));
        entries.push(Event {
            time: 1,
            what: EventKind::Watch,
            object: None,
            message: "watch active".into(),
        });
        summarize_object_changes(&mut entries);
        let lines: Vec<String> = entries
            .iter()
            .map(|e| format!("{:?} {}", e.what, e.message))
            .collect();
        assert_eq!(
            lines,
            [
                "Watch watch active",
                "Modified 30 objects modified in the cluster (VPC 30)",
                "Added 1 objects added in the cluster (Server 1)",
            ]
        );

        let mut few: Vec<Event> = (0..3)
            .map(|i| change(EventKind::Deleted, &format!("VPC/v{i}")))
            .collect();
        summarize_object_changes(&mut few);
        assert_eq!(few.len(), 3, "small bursts keep one line per object");
    }
}
