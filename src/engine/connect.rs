//! connect: building and checking the fabric's Kubernetes client, and noticing a dead link —
//! the liveness probe, "no answer since", and the re-list when the server answers again.

use std::time::Duration;

use super::JobKind;
use super::JobPhase;
use super::task::{Engine, Internal};
use crate::cluster::{ClusterError, ConnectionReport, FabricClient};
use crate::status::{self, ConnectionState, WatchState};
use crate::store::LogKind;

/// How a dead link is noticed. A watch on a quiet fabric reads nothing for minutes, so silence
/// on the watch says nothing; and a frozen server (or a dropped VPN, a hung load balancer) keeps
/// the TCP connection open, so no error ever comes either. So the engine asks: every
/// `PROBE_EVERY` it sends GET /version (tiny, readable by every token, served without etcd) on
/// the one-shot client and wants an answer within `PROBE_TIMEOUT`. One miss marks the fabric
/// "no answer since" the moment that request went out — at most PROBE_EVERY + PROBE_TIMEOUT
/// (10 s) after the server went silent. Probes go on; the first answer ends the outage, and the
/// watchers are restarted with a fresh list, because a watch connection that lived through the
/// silence may be dead (the middlebox forgot it) or may have missed what changed meanwhile.
pub(super) const PROBE_EVERY: Duration = Duration::from_secs(5);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

impl Engine {
    fn token(&self) -> Result<crate::secret::Secret, crate::secret::token::TokenError> {
        crate::secret::token::kubernetes(
            &self.fabric.name,
            &self.fabric.kubernetes.token,
            &self.ctx.store,
            &self.ctx.key_file,
        )
    }

    /// Connects now unless a connect is under way; then once more after it (a refresh).
    pub(super) fn request_connect(&mut self) {
        if self.connect_job.request() {
            self.spawn_connect();
        }
    }

    /// Connects unless a connect is under way (which will answer for this request too).
    pub(super) fn connect(&mut self) {
        if self.connect_job.try_start() {
            self.spawn_connect();
        }
    }

    /// Builds the client and checks it in the background; the result arrives as `Connected`.
    fn spawn_connect(&mut self) {
        let tx = self.internal_tx.clone();
        let fabric = self.fabric.clone();
        let token = self.token();
        tokio::spawn(async move {
            let result = match token {
                Err(error) => Err(ClusterError::Other {
                    fabric: fabric.name.clone(),
                    what: "kubernetes token".into(),
                    detail: error.to_string(),
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
    pub(super) fn start_probe(&mut self) {
        let Some(client) = self.client.clone() else {
            return;
        };
        if self.connect_job.is_running() || !self.probe_job.try_start() {
            return;
        }
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let sent = status::now();
            let result = client.probe(PROBE_TIMEOUT).await;
            let _ = tx.send(Internal::Probed { sent, result });
        });
    }

    pub(super) async fn probed(
        &mut self,
        sent: status::Timestamp,
        result: Result<(), ClusterError>,
    ) {
        self.probe_job.finish();
        match result {
            Ok(()) => self.answer_again().await,
            Err(error @ ClusterError::NoAnswer { .. }) => self.lost_answer(sent, &error).await,
            // Refused, reset, 401…: the watchers meet those too and report them.
            Err(error) => tracing::debug!(fabric = %self.fabric.name, "probe: {error}"),
        }
    }

    pub(super) async fn connected(
        &mut self,
        result: Result<(FabricClient, ConnectionReport), ClusterError>,
    ) {
        let again = self.connect_job.finish();
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
                    let message = format!(
                        "connected to {} ({})",
                        self.fabric.kubernetes.server, report.server_version
                    );
                    self.note(LogKind::Connection, message).await;
                }
                for warning in report.warnings {
                    self.note(LogKind::Connection, warning).await;
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
                let changed = self.status.connection.error.as_deref() != Some(message.as_str());
                self.status.connection.state = ConnectionState::Failed;
                self.status.connection.error = Some(message.clone());
                self.client = None;
                self.save_status().await;
                if changed {
                    self.note(LogKind::Error, message.clone()).await;
                }
                self.job(JobKind::Connect, JobPhase::Failed { message })
                    .await;
            }
        }
        if again {
            self.spawn_connect();
        }
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
            self.note(LogKind::Error, message).await;
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
        self.note(LogKind::Connection, message).await;
        if self.watch_wanted && self.client.is_some() {
            self.relist_after_outage = true;
            self.start_watchers().await;
        }
    }
}
