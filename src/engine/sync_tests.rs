//! The engine's side of a sync against a real Git repository and a real store: what the
//! dashboard is told comes from what the sync committed, whatever else lands in the store.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::super::task::{Engine, EngineContext};
use super::super::{EngineEvent, JobKind, JobPhase};
use crate::config::Config;
use crate::status::{SyncState, WatchState};
use crate::store::{LogEntry, LogKind, Store};
use crate::sync::{SyncAttempt, attempt_sync};
use testenv::support::git::git;

const VPC: &str = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-a\nspec:\n  subnets:\n    default:\n      subnet: 10.0.1.0/24\n      vlan: 1001\n";

struct Fixture {
    temp: tempfile::TempDir,
    store: Arc<Store>,
    engine: Engine,
    events: mpsc::Receiver<EngineEvent>,
}

impl Fixture {
    /// An engine (not running: the test drives it) for a fabric whose Git has one VPC.
    fn new() -> Fixture {
        let temp = tempfile::tempdir().unwrap();
        let repo = temp.path().join("repo");
        std::fs::create_dir_all(repo.join("fabric")).unwrap();
        std::fs::write(repo.join("fabric/vpc.yaml"), VPC).unwrap();
        git(&repo, &["init", "-q"]);
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-q", "-m", "one vpc"]);
        let ca = temp.path().join("ca.crt");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let text = format!(
            "[[fabric]]\nname = \"east\"\n[fabric.kubernetes]\nserver = \"https://127.0.0.1:1\"\ntoken_env = \"HHDASH_TEST_UNUSED_TOKEN\"\nca_cert_file = \"{}\"\n[fabric.git]\nurl = \"{}\"\nbranch = \"main\"\ndirectory = \"fabric\"\n",
            ca.display(),
            repo.display()
        );
        let path = temp.path().join("config.toml");
        let config = Config::parse(&text, &path).unwrap();
        let store = Arc::new(Store::open(&temp.path().join("store.redb")).unwrap());
        let ctx = Arc::new(EngineContext {
            store: store.clone(),
            key_file: temp.path().join("key"),
            git_cache_dir: temp.path().join("cache"),
        });
        let (tx, events) = mpsc::channel(256);
        let (engine, _internal) = Engine::new(config.fabrics[0].clone(), ctx, tx);
        Fixture {
            temp,
            store,
            engine,
            events,
        }
    }

    /// What the engine's sync job does, on this thread: `start_sync` marks the job running,
    /// then the attempt commits.
    fn run_sync_job(&mut self) -> SyncAttempt {
        assert!(self.engine.sync_job.request());
        attempt_sync(
            &self.engine.fabric,
            &self.store,
            &self.temp.path().join("cache"),
            |_, _| Ok(None),
        )
    }

    fn sent(&mut self) -> Vec<EngineEvent> {
        std::iter::from_fn(|| self.events.try_recv().ok()).collect()
    }
}

fn logged(sent: &[EngineEvent]) -> Vec<&LogEntry> {
    sent.iter()
        .filter_map(|e| match e {
            EngineEvent::Log { entry, .. } => Some(entry),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_dashboard_gets_the_lines_the_sync_committed_not_what_landed_after_them() {
    let mut fx = Fixture::new();
    let attempt = fx.run_sync_job();
    let commit = attempt.result.as_ref().unwrap().commit.clone();
    // A watch burst is written between the sync's commit and the engine hearing of it.
    let watch_line = LogEntry {
        time: 1,
        what: LogKind::Modified,
        object: Some("VPC/vpc-b".into()),
        message: "modified in the cluster".into(),
        key: None,
    };
    fx.store
        .append_log("east", std::slice::from_ref(&watch_line))
        .unwrap();

    fx.engine.finish_sync(attempt).await;

    let sent = fx.sent();
    let logged = logged(&sent);
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0].what, LogKind::Sync);
    assert!(
        logged[0]
            .message
            .starts_with("synced 1 object(s) from main at "),
        "{}",
        logged[0].message
    );
    assert!(sent.iter().any(|e| matches!(
        e,
        EngineEvent::Job {
            job: JobKind::Sync,
            phase: JobPhase::Succeeded { .. },
            ..
        }
    )));
    assert!(sent.iter().any(|e| matches!(
        e,
        EngineEvent::Rows { upserts, .. } if upserts.iter().any(|r| r.key.name == "vpc-a")
    )));
    // The status the dashboard is sent carries the commit the sync stored.
    let status = sent.iter().rev().find_map(|e| match e {
        EngineEvent::Status { status, .. } => Some(status),
        _ => None,
    });
    assert_eq!(
        status.unwrap().sync.commit.as_deref(),
        Some(commit.as_str())
    );
    assert_eq!(fx.engine.status.sync.state, SyncState::Synced);
}

#[tokio::test]
async fn a_status_saved_while_a_sync_runs_never_undoes_the_sync_s_commit() {
    let mut fx = Fixture::new();
    fx.engine.status.watch.state = WatchState::Starting;
    let attempt = fx.run_sync_job();
    let commit = attempt.result.as_ref().unwrap().commit.clone();
    // The engine's own status changes while the job runs (the watch comes up, the counters tick).
    fx.engine.status.watch.state = WatchState::Active;
    fx.engine.save_status().await;
    let stored = fx.store.fabric_status("east").unwrap();
    assert_eq!(stored.sync.commit.as_deref(), Some(commit.as_str()));

    fx.engine.finish_sync(attempt).await;

    let stored = fx.store.fabric_status("east").unwrap();
    assert_eq!(stored.sync.commit.as_deref(), Some(commit.as_str()));
    assert_eq!(stored.sync.state, SyncState::Synced);
    assert_eq!(
        stored.watch.state,
        WatchState::Active,
        "the held save went out"
    );
}

#[tokio::test]
async fn a_failed_sync_shows_its_failure_line_and_keeps_the_previous_set() {
    let mut fx = Fixture::new();
    let first = fx.run_sync_job();
    fx.engine.finish_sync(first).await;
    fx.sent();
    // The branch is gone: the next sync fails.
    let fabric = &mut fx.engine.fabric;
    fabric.git.branch = "gone".into();
    let attempt = fx.run_sync_job();
    assert!(attempt.result.is_err());

    fx.engine.finish_sync(attempt).await;

    let sent = fx.sent();
    let logged = logged(&sent);
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(
        logged[0].message.starts_with("sync failed: "),
        "{}",
        logged[0].message
    );
    assert_eq!(fx.engine.status.sync.state, SyncState::Error);
    assert_eq!(fx.engine.desired.len(), 1, "the last good set stays");
    assert_eq!(
        fx.store.fabric_status("east").unwrap().sync.state,
        SyncState::Error
    );
}
