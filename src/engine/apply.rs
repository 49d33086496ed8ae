//! apply (engine side): picks the objects a request covers, runs the one apply core
//! (`crate::apply`) as a background job with progress, and records each outcome as it comes.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::task::{Engine, Internal};
use super::{ApplyRequest, ApplyScope, EngineEvent, JobKind, JobPhase};
use crate::apply;
use crate::desired::DesiredObject;
use crate::drift::{self, Drift};
use crate::kinds::{self, ObjectKey};
use crate::status::{self, ResourceStatus};
use crate::store::{LogEntry, LogKind};

impl Engine {
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

    pub(super) async fn start_apply(&mut self, request: ApplyRequest) {
        if self.apply_job.is_running() {
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
                    .map(|c| crate::git::short_commit(c).to_string())
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
        let started = self.apply_job.try_start();
        debug_assert!(started, "no apply was running (checked above)");
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
            while let Some(step) = run.next().await {
                let progress = JobPhase::Progress {
                    done: step.done,
                    total: step.total,
                    message: client.object_name(&step.key),
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
                ok: run.ok(),
                failed: run.failed(),
                not_sent: run.not_sent(),
            });
        });
    }

    /// One object's outcome, as the run delivers it.
    pub(super) async fn applied(&mut self, options: apply::Options, step: apply::Step) {
        let key = step.key;
        let now = status::now();
        if options.dry_run
            && let Ok(applied) = &step.result
        {
            let info = kinds::by_kind(&key.kind).expect("applied kinds are registered");
            let would = match self.index.live(&key) {
                Some(live) => drift::compare_exact(info, applied, &live.value()).len(),
                None => 1,
            };
            let entry = apply::log_entry(
                &key,
                &self.fabric.namespaces,
                &step.result,
                options,
                apply::Origin::Dashboard,
                Some(would),
                now,
            );
            self.log(entry).await;
            return;
        }
        let live_version = self
            .index
            .live(&key)
            .and_then(super::live::resource_version);
        let previous = self.live.resources.get(&key);
        let status = apply::status_after(
            previous,
            &step.result,
            options.dry_run,
            live_version.as_deref(),
            now,
        );
        self.live.resources.insert(key.clone(), status.clone());
        let entry = apply::log_entry(
            &key,
            &self.fabric.namespaces,
            &step.result,
            options,
            apply::Origin::Dashboard,
            None,
            now,
        );
        self.record_apply(key, status, entry).await;
    }

    pub(super) async fn apply_done(
        &mut self,
        options: apply::Options,
        ok: usize,
        failed: usize,
        not_sent: usize,
    ) {
        self.apply_job.finish();
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
        self.note(LogKind::Apply, message).await;
    }

    /// One object's apply outcome: stored with its log line in one transaction, then shown.
    async fn record_apply(&mut self, key: ObjectKey, status: ResourceStatus, entry: LogEntry) {
        if let Err(error) = apply::record(&self.ctx.store, &self.fabric.name, &key, status, &entry)
        {
            tracing::warn!(fabric = %self.fabric.name, "cannot record an apply result: {error}");
        }
        self.emit_log(entry).await;
        self.publish_rows(BTreeSet::from([key]), Vec::new()).await;
    }
}
