//! apply: the one apply core the dashboard's engine and the headless CLI share — the order
//! objects go in, server-side applies a bounded number at a time inside each dependency rank
//! (stopping when the server stops answering), and what each outcome makes of the object's status and the event log.
//!
//! Both callers only differ in how they show progress: the engine sends it to the dashboard,
//! the CLI prints a line per object.

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use serde_json::Value;

use crate::cluster::{ClusterError, FabricClient};
use crate::config::Namespaces;
use crate::desired::DesiredObject;
use crate::kinds::{self, ObjectKey};
use crate::status::{KubernetesState, ResourceStatus, Timestamp};
use crate::store::{LogEntry, LogKind, Store, StoreError};

/// Where an object goes in an apply: by its kind's `apply_rank` (what others refer to first),
/// then by key, so a run is reproducible. A prune deletes in the reverse of this order.
pub fn order(key: &ObjectKey) -> (Option<u8>, ObjectKey) {
    (
        kinds::by_kind(&key.kind).and_then(|k| k.apply_rank),
        key.clone(),
    )
}

/// Sorts `items` into apply order.
pub fn sort<T>(items: &mut [T], key_of: impl Fn(&T) -> &ObjectKey) {
    items.sort_by_cached_key(|item| order(key_of(item)));
}

/// How an apply is sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Server-side dry run: the server validates and defaults, nothing is persisted.
    pub dry_run: bool,
    /// Take over fields another field manager owns instead of failing with a conflict.
    pub force_conflicts: bool,
}

/// Applies in flight at once inside one dependency rank. Measured (`scripts/bench-cluster
/// apply`, docs/benchmarks.md "Apply throughput"): 16 is the knee — 1 → 4 in flight gains 50 %,
/// 8 adds nothing, 16 gains another 20 % and keeps the API server busiest (1.14 cores of 2),
/// 32 is slower again (the API server, its webhook calls and etcd only queue more work on the
/// same cores). The API server's CPU, not hhdash's (0.07 cores), is the ceiling.
pub const CONCURRENCY: usize = 16;

/// One object's apply, as it happened.
#[derive(Debug)]
pub struct Step {
    /// How many objects have been answered so far, this one included.
    pub done: usize,
    pub total: usize,
    pub key: ObjectKey,
    /// The object as the server returned it, or why it refused.
    pub result: Result<Value, ClusterError>,
}

/// One apply in flight: the target's position and the server's answer.
type InFlight<'a> = BoxFuture<'a, (usize, Result<Value, ClusterError>)>;

/// Server-side applies of desired objects in the order given (callers sort with [`sort`]), up
/// to [`CONCURRENCY`] at once inside one apply rank; an object of a later rank is only sent once
/// every object of the earlier ranks has answered, so what it refers to exists. Steps come in
/// the order given, whatever order the server answers in (an answer waits for the earlier
/// objects' answers), so a run prints and logs the same way every time. Read it with
/// `while let Some(step) = run.next().await`.
pub struct Run<'a> {
    client: &'a FabricClient,
    targets: Vec<&'a DesiredObject>,
    options: Options,
    concurrency: usize,
    in_flight: FuturesUnordered<InFlight<'a>>,
    /// Answers not reported yet because an earlier object's answer is still to come.
    answers: std::collections::BTreeMap<usize, Result<Value, ClusterError>>,
    /// The apply rank of the objects in flight.
    rank: Option<u8>,
    sent: usize,
    answered: usize,
    failed: usize,
    stopped: bool,
}

impl<'a> Run<'a> {
    pub fn new(
        client: &'a FabricClient,
        targets: Vec<&'a DesiredObject>,
        options: Options,
    ) -> Self {
        Run {
            client,
            targets,
            options,
            concurrency: CONCURRENCY,
            in_flight: FuturesUnordered::new(),
            answers: std::collections::BTreeMap::new(),
            rank: None,
            sent: 0,
            answered: 0,
            failed: 0,
            stopped: false,
        }
    }

    /// The same run with at most `concurrency` applies in flight (at least one); the cluster
    /// bench measures the choice of [`CONCURRENCY`] with it.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Sends what may be sent now, then waits for the next answer. After an error that says
    /// the server cannot be reached nothing more is sent (the next object would only wait for
    /// the same silence): the objects already in flight still report, then the run ends.
    pub async fn next(&mut self) -> Option<Step> {
        let index = self.answered;
        let result = loop {
            if let Some(result) = self.answers.remove(&index) {
                break result;
            }
            if !self.stopped {
                self.send_more();
            }
            let (answered, result) = self.in_flight.next().await?;
            if matches!(&result, Err(error) if error.is_unreachable()) {
                self.stopped = true;
            }
            self.answers.insert(answered, result);
        };
        self.answered += 1;
        if result.is_err() {
            self.failed += 1;
        }
        Some(Step {
            done: self.answered,
            total: self.targets.len(),
            key: self.targets[index].key.clone(),
            result,
        })
    }

    /// Fills the free places with the next objects of the rank in flight; the next rank starts
    /// only when nothing is in flight any more.
    fn send_more(&mut self) {
        while self.in_flight.len() < self.concurrency {
            let Some(&target) = self.targets.get(self.sent) else {
                return;
            };
            let info = kinds::by_kind(&target.key.kind).expect("desired kinds are registered");
            if !self.in_flight.is_empty() && info.apply_rank != self.rank {
                return;
            }
            self.rank = info.apply_rank;
            let index = self.sent;
            self.sent += 1;
            let (client, options) = (self.client, self.options);
            self.in_flight.push(Box::pin(async move {
                let result = client
                    .apply(
                        info,
                        &target.key,
                        &target.object.value(),
                        options.dry_run,
                        options.force_conflicts,
                    )
                    .await;
                (index, result)
            }));
        }
    }

    /// Objects answered so far that the server accepted.
    pub fn ok(&self) -> usize {
        self.answered - self.failed
    }

    /// Objects answered so far that the server refused or did not answer for.
    pub fn failed(&self) -> usize {
        self.failed
    }

    /// Whether the run stopped sending because the server stopped answering (an error said
    /// so; the objects that were in flight then still report).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// The objects that were never sent because the server stopped answering.
    pub fn not_sent(&self) -> usize {
        self.targets.len() - self.sent
    }
}

fn metadata_text(object: &Value, field: &str) -> Option<String> {
    object
        .get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// An object's status after the server accepted its apply (not a dry run). `live_version` is the
/// resourceVersion the watch last delivered for it: when the watch already saw the very version
/// the apply produced, the object is Live, otherwise it is Applied until the watch shows it.
pub fn applied_status(
    previous: Option<&ResourceStatus>,
    applied: &Value,
    live_version: Option<&str>,
    now: Timestamp,
) -> ResourceStatus {
    let resource_version = metadata_text(applied, "resourceVersion");
    let seen_live = resource_version.is_some() && resource_version.as_deref() == live_version;
    ResourceStatus {
        state: if seen_live {
            KubernetesState::Live
        } else {
            KubernetesState::Applied
        },
        uid: metadata_text(applied, "uid"),
        resource_version,
        created: metadata_text(applied, "creationTimestamp"),
        last_applied: Some(now),
        last_synced: previous.and_then(|p| p.last_synced),
        error: None,
    }
}

/// An object's status after the server refused its apply. A refused dry run changed nothing in
/// the cluster, so the object keeps its state and only carries the error.
pub fn failed_status(
    previous: Option<&ResourceStatus>,
    error: &ClusterError,
    dry_run: bool,
) -> ResourceStatus {
    let mut status = previous.cloned().unwrap_or_default();
    if !dry_run {
        status.state = KubernetesState::Error;
    }
    status.error = Some(error.to_string());
    status
}

/// An object's status after one step of a run that persists (not a dry run's acceptance,
/// which changes nothing): `applied_status` or `failed_status`.
pub fn status_after(
    previous: Option<&ResourceStatus>,
    result: &Result<Value, ClusterError>,
    dry_run: bool,
    live_version: Option<&str>,
    now: Timestamp,
) -> ResourceStatus {
    match result {
        Ok(applied) => applied_status(previous, applied, live_version, now),
        Err(error) => failed_status(previous, error, dry_run),
    }
}

/// Who asked for an apply, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Dashboard,
    Cli,
}

/// The log line for one object's apply. `would_change` is, for a dry run, how many fields the
/// server's answer differs from the live object in (None when it is not known).
pub fn log_entry(
    key: &ObjectKey,
    namespaces: &Namespaces,
    result: &Result<Value, ClusterError>,
    options: Options,
    origin: Origin,
    would_change: Option<usize>,
    now: Timestamp,
) -> LogEntry {
    let object = Some(namespaces.object_name(key));
    let (what, message) = match result {
        Err(error) => (LogKind::Error, error.to_string()),
        Ok(_) if options.dry_run => (
            LogKind::Apply,
            match would_change {
                Some(0) => "dry run: no change".to_string(),
                Some(n) => format!("dry run: would change {n} field(s)"),
                None => "dry run: accepted by the server".to_string(),
            },
        ),
        Ok(_) => (
            LogKind::Apply,
            match origin {
                Origin::Dashboard => "applied (server-side, field manager hhdash)".to_string(),
                Origin::Cli => {
                    "applied from the CLI (server-side, field manager hhdash)".to_string()
                }
            },
        ),
    };
    LogEntry {
        time: now,
        what,
        object,
        message,
        key: Some(key.clone()),
    }
}

/// Stores one object's apply outcome and its log line in one transaction.
pub fn record(
    store: &Store,
    fabric: &str,
    key: &ObjectKey,
    status: ResourceStatus,
    entry: &LogEntry,
) -> Result<(), StoreError> {
    record_all(
        store,
        fabric,
        &[(key.clone(), status)],
        std::slice::from_ref(entry),
    )
}

/// Stores several objects' apply outcomes and their log lines in one transaction (nothing when
/// there are none).
pub fn record_all(
    store: &Store,
    fabric: &str,
    outcomes: &[(ObjectKey, ResourceStatus)],
    entries: &[LogEntry],
) -> Result<(), StoreError> {
    if outcomes.is_empty() && entries.is_empty() {
        return Ok(());
    }
    let no_objects: &[crate::store::LiveChange] = &[];
    store.write_live(fabric, no_objects, outcomes, entries)
}

/// The one-line summary of a finished run, for the job line and the log.
pub fn summary(options: Options, ok: usize, failed: usize, not_sent: usize) -> String {
    let verb = if options.dry_run {
        "dry-run applied"
    } else {
        "applied"
    };
    let mut message = format!("{verb} {ok} object(s), {failed} failed");
    if not_sent > 0 {
        message.push_str(&format!(
            ", {not_sent} not sent because the server stopped answering"
        ));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(kind: &str, name: &str) -> ObjectKey {
        ObjectKey {
            kind: kind.into(),
            namespace: "default".into(),
            name: name.into(),
        }
    }

    #[test]
    fn what_others_refer_to_goes_first_and_equal_ranks_go_by_name() {
        let mut keys = vec![
            key("VPCAttachment", "a"),
            key("VPC", "vpc-2"),
            key("IPv4Namespace", "default"),
            key("VPC", "vpc-1"),
        ];
        sort(&mut keys, |k| k);
        let names: Vec<String> = keys.iter().map(ObjectKey::kind_name).collect();
        let position = |name: &str| names.iter().position(|n| n == name).unwrap();
        assert!(position("IPv4Namespace/default") < position("VPC/vpc-1"));
        assert!(position("VPC/vpc-1") < position("VPC/vpc-2"));
        assert!(position("VPC/vpc-2") < position("VPCAttachment/a"));
    }

    #[test]
    fn an_apply_the_watch_already_delivered_is_live_otherwise_applied() {
        let applied = json!({"metadata": {"uid": "u1", "resourceVersion": "42",
            "creationTimestamp": "2026-01-01T00:00:00Z"}});
        let previous = ResourceStatus {
            last_synced: Some(7),
            error: Some("old".into()),
            ..Default::default()
        };
        let seen = applied_status(Some(&previous), &applied, Some("42"), 100);
        assert_eq!(seen.state, KubernetesState::Live);
        assert_eq!(seen.uid.as_deref(), Some("u1"));
        assert_eq!(seen.created.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(seen.last_applied, Some(100));
        assert_eq!(seen.last_synced, Some(7));
        assert_eq!(seen.error, None);
        let not_yet = applied_status(None, &applied, Some("41"), 100);
        assert_eq!(not_yet.state, KubernetesState::Applied);
        assert_eq!(
            applied_status(None, &applied, None, 100).state,
            KubernetesState::Applied
        );
    }

    #[test]
    fn a_refused_dry_run_keeps_the_state_and_a_refused_apply_is_an_error() {
        let error = ClusterError::Unreachable {
            fabric: "f".into(),
            server: "https://x".into(),
            detail: "refused".into(),
        };
        let live = ResourceStatus {
            state: KubernetesState::Live,
            ..Default::default()
        };
        let dry = failed_status(Some(&live), &error, true);
        assert_eq!(dry.state, KubernetesState::Live);
        assert!(dry.error.unwrap().contains("cannot reach"));
        assert_eq!(
            failed_status(Some(&live), &error, false).state,
            KubernetesState::Error
        );
    }

    #[test]
    fn log_lines_say_what_happened_and_who_asked() {
        let k = key("VPC", "vpc-1");
        let single = Namespaces::single("default");
        let ok = Ok(json!({}));
        let applied = log_entry(&k, &single, &ok, Options::default(), Origin::Cli, None, 1);
        assert_eq!(applied.what, LogKind::Apply);
        assert_eq!(applied.object.as_deref(), Some("VPC/vpc-1"));
        assert!(applied.message.contains("from the CLI"));
        let dry = Options {
            dry_run: true,
            ..Default::default()
        };
        let none = log_entry(&k, &single, &ok, dry, Origin::Dashboard, Some(0), 1);
        assert_eq!(none.message, "dry run: no change");
        let some = log_entry(&k, &single, &ok, dry, Origin::Dashboard, Some(3), 1);
        assert_eq!(some.message, "dry run: would change 3 field(s)");
        assert_eq!(
            summary(Options::default(), 2, 1, 4),
            "applied 2 object(s), 1 failed, 4 not sent because the server stopped answering"
        );
    }
}
