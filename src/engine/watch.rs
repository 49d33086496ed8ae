//! watch: the engine's watchers — one kube watcher task per (kind, namespace) the fabric
//! manages, restarted as a generation —
//! and what a round of their events does: fold into one `Burst`, write it in one transaction,
//! publish it, and move the watch state (Starting → Active, errors, recovery).

use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WatchEvent};

use super::live::{Burst, LiveObject, live_event};
use super::task::{Engine, Internal};
use crate::cluster::{ClusterError, FabricClient};
use crate::kinds::KindInfo;
use crate::status::{self, WatchState};
use crate::store::LogKind;

/// Why a watcher could not deliver; becomes text only for the watch status and the log.
#[derive(Debug, thiserror::Error)]
pub(super) enum WatchError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("fabric {fabric}: watching {plural} in namespace {namespace}: {source}")]
    Other {
        fabric: String,
        plural: &'static str,
        namespace: Arc<str>,
        source: watcher::Error,
    },
}

impl WatchError {
    fn of(
        client: &FabricClient,
        info: &KindInfo,
        namespace: &Arc<str>,
        error: watcher::Error,
    ) -> WatchError {
        match error {
            watcher::Error::InitialListFailed(e)
            | watcher::Error::WatchStartFailed(e)
            | watcher::Error::WatchFailed(e) => {
                client.classify(e, "watch", info.plural, namespace).into()
            }
            other => WatchError::Other {
                fabric: client.fabric.clone(),
                plural: info.plural,
                namespace: namespace.clone(),
                source: other,
            },
        }
    }
}

/// One run of queued watch results: the burst not yet flushed, and how the watch fared.
#[derive(Default)]
pub(super) struct WatchRound {
    burst: Burst,
    agents_changed: bool,
    error: Option<WatchError>,
    delivered: bool,
}

impl Engine {
    pub(super) async fn start_watchers(&mut self) {
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
        // Namespace by namespace, kind by kind; nothing outside the managed namespaces.
        let sets: Vec<(&'static KindInfo, Arc<str>)> = self
            .fabric
            .namespaces
            .managed
            .iter()
            .flat_map(|namespace| {
                let namespace: Arc<str> = Arc::from(namespace.as_str());
                self.fabric
                    .watch
                    .kinds
                    .iter()
                    .map(move |info| (*info, namespace.clone()))
            })
            .collect();
        for (info, namespace) in sets {
            let api = client.watch_api(info, &namespace);
            let tx = self.internal_tx.clone();
            let fabric_client = client.clone();
            self.watchers.push(tokio::spawn(async move {
                let config = watcher::Config::default();
                let mut stream = watcher::watcher(api, config).default_backoff().boxed();
                while let Some(item) = stream.next().await {
                    let event = match item {
                        Ok(event) => match live_event(info, event) {
                            Some(event) => Ok(event),
                            None => continue,
                        },
                        Err(error) => Err(WatchError::of(&fabric_client, info, &namespace, error)),
                    };
                    let message = Internal::Watch {
                        generation,
                        kind: info,
                        namespace: namespace.clone(),
                        event,
                    };
                    if tx.send(message).is_err() {
                        break;
                    }
                }
            }));
        }
    }

    pub(super) fn stop_watchers(&mut self) {
        for handle in self.watchers.drain(..) {
            handle.abort();
        }
        self.watch_generation += 1;
        self.live.relists.clear();
    }

    /// One watcher's result of the current generation.
    pub(super) fn fold_watch_result(
        &mut self,
        info: &'static KindInfo,
        namespace: &Arc<str>,
        event: Result<WatchEvent<LiveObject>, WatchError>,
        round: &mut WatchRound,
    ) {
        match event {
            Err(error) => round.error = Some(error),
            Ok(event) => {
                round.delivered = true;
                self.status.watch.event_count += 1;
                self.live.fold(
                    &mut self.index,
                    info,
                    namespace,
                    event,
                    status::now(),
                    &mut round.burst,
                );
            }
        }
    }

    /// Writes the round's burst in one transaction and publishes it.
    pub(super) async fn flush(&mut self, round: &mut WatchRound) {
        let mut burst = std::mem::take(&mut round.burst);
        round.agents_changed |= burst.agents_changed;
        self.observe_reports(std::mem::take(&mut burst.agent_reports));
        if burst.is_empty() {
            return;
        }
        self.live.storm.thin(&mut burst.entries, status::now());
        if let Err(error) = burst.write(&self.ctx.store, &self.fabric.name) {
            tracing::warn!(fabric = %self.fabric.name, "cannot store live changes: {error}");
        }
        let Burst {
            entries,
            touched,
            transitions,
            ..
        } = burst;
        for entry in entries {
            self.emit_log(entry).await;
        }
        self.publish_rows(touched, transitions).await;
    }

    /// After a round: switch health if Agents changed, and the watch state.
    pub(super) async fn finish_watch_round(&mut self, round: WatchRound) {
        if round.agents_changed {
            self.request_health().await;
        }
        if let Some(error) = round.error {
            let message = error.to_string();
            if self.status.watch.state != WatchState::Error {
                let line = format!("watch: {message}");
                self.note(LogKind::Error, line).await;
            }
            self.set_watch_state(WatchState::Error, Some(message)).await;
        } else if round.delivered {
            self.status.watch.last_event = Some(status::now());
            // Active means every watched kind has been listed in every namespace: only then is
            // the live view whole.
            let watched = self.fabric.watch.kinds.len() * self.fabric.namespaces.managed.len();
            let all_listed = self.live.relists.all_listed(watched);
            if self.status.watch.state != WatchState::Active && all_listed {
                let recovered = self.status.watch.state == WatchState::Error
                    || std::mem::take(&mut self.relist_after_outage);
                self.set_watch_state(WatchState::Active, None).await;
                self.flush_first_verdicts().await;
                // The live view is whole only now: the drift of the last sync's commit.
                self.record_drift_snapshot(self.status.sync.commit.clone());
                let message = if recovered {
                    "watch recovered; live state re-listed"
                } else {
                    "watch active"
                };
                self.note(LogKind::Watch, message).await;
            }
        }
    }
}
