//! sync (engine side): runs `crate::sync::attempt_sync` as a coalesced job and shows exactly
//! what it committed — the sync status, the new desired set and its log lines — without
//! reading the store back, where watch lines land meanwhile.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::task::{Engine, Internal};
use super::{EngineEvent, JobKind, JobPhase};
use crate::desired::DesiredObject;
use crate::kinds::ObjectKey;
use crate::sync::SyncAttempt;

/// Who waits for which sync's outcome (`Command::SyncAndReport`).
#[derive(Debug, Default)]
pub(super) struct SyncTickets {
    running: Vec<u64>,
    next: Vec<u64>,
}

impl Engine {
    /// Starts a sync, or remembers one more if a sync is running (see `SingleJob::request`).
    pub(super) async fn start_sync(&mut self) {
        if self.sync_job.request() {
            self.spawn_sync().await;
        }
    }

    /// A sync whose outcome `ticket` waits for: this one if it starts now, else the next.
    pub(super) async fn start_sync_for(&mut self, ticket: u64) {
        if self.sync_job.is_running() {
            self.sync_tickets.next.push(ticket);
            self.sync_job.request();
        } else {
            self.sync_tickets.running.push(ticket);
            self.start_sync().await;
        }
    }

    async fn spawn_sync(&mut self) {
        let waiting = std::mem::take(&mut self.sync_tickets.next);
        self.sync_tickets.running.extend(waiting);
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
            let attempt =
                crate::sync::attempt_sync(&fabric, &ctx.store, &ctx.git_cache_dir, |name, slot| {
                    crate::secret::vault::stored_secret(&ctx.store, &ctx.key_file, name, slot)
                });
            let _ = tx.send(Internal::SyncDone(attempt));
        });
    }

    pub(super) async fn finish_sync(&mut self, attempt: SyncAttempt) {
        let again = self.sync_job.finish();
        let status_before = self.status.clone();
        let mut committed_events = Vec::new();
        if let Some(committed) = attempt.committed {
            self.status.sync = committed.sync;
            committed_events = committed.events;
        }
        // A status change held while the job wrote the record goes out now (`save_status`).
        if self.status_unsaved {
            self.write_status();
        }
        let tickets = std::mem::take(&mut self.sync_tickets.running);
        if !tickets.is_empty() {
            let outcome = match &attempt.result {
                Ok(report) => Ok(crate::sync::SyncSummary::from(report)),
                Err(error) => Err(error.to_string()),
            };
            self.emit(EngineEvent::Synced {
                fabric: self.fabric.name.clone(),
                tickets,
                outcome,
            })
            .await;
        }
        match attempt.result {
            Ok(report) => {
                let message = format!(
                    "synced {} object(s) at {}; {} document(s) skipped",
                    report.objects(),
                    crate::git::short_commit(&report.commit),
                    report.skipped.len()
                );
                let desired: HashMap<ObjectKey, Arc<DesiredObject>> = report
                    .desired
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
                let intent_changed = !touched.is_empty();
                if intent_changed {
                    self.update_intent();
                }
                let mut transitions = self.judge_trust();
                // An unchanged Git side (a poll of the same commit) leaves every verdict as it
                // is: the index is only fed again when something changed or it has no set yet.
                if !touched.is_empty() || !self.index.desired_known() {
                    transitions.extend(
                        self.index.set_desired_all(
                            self.desired
                                .iter()
                                .map(|(k, d)| (k.clone(), d.object.clone())),
                        ),
                    );
                }
                self.publish_rows(touched, transitions).await;
                self.record_drift_snapshot(Some(report.commit.clone()));
                if intent_changed {
                    self.refresh_health().await;
                }
                self.job(JobKind::Sync, JobPhase::Succeeded { message })
                    .await;
            }
            Err(error) => {
                // A failed sync keeps the last good set for Drifted/Missing, but it can no
                // longer say which live objects Git does not want.
                let transitions = self.judge_trust();
                self.publish_rows(BTreeSet::new(), transitions).await;
                let message = error.to_string();
                self.job(JobKind::Sync, JobPhase::Failed { message }).await;
            }
        }
        for entry in committed_events {
            self.emit_log(entry).await;
        }
        if self.status != status_before {
            self.emit(EngineEvent::Status {
                fabric: self.fabric.name.clone(),
                status: self.status.clone(),
            })
            .await;
        }
        self.update_drift_status().await;
        if again {
            Box::pin(self.spawn_sync()).await;
        }
    }
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;
