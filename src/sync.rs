//! sync: one Git sync of one fabric — resolve the Git token, fetch the branch tip, parse the
//! desired set, and replace it in the store in a single transaction. On any failure the
//! previous desired set stays and the fabric's sync status says why. Every attempt also
//! returns what it committed (status, desired set, log lines), so a caller shows exactly that
//! instead of reading the store back while other writers append to the same log.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::FabricConfig;
use crate::desired::{self, DesiredObject, Duplicate, Skipped};
use crate::git::{self, GitError, GitSource};
use crate::secret::token::{self, TokenError};
use crate::secret::vault::VaultError;
use crate::status::{self, SyncState, SyncStatus};
use crate::store::{LogEntry, LogKind, Store, StoreError};
use crate::trust::{self, SkippedClaim};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Git(#[from] Box<GitError>),
    #[error("fabric {fabric}: commit {commit}: {} object(s) defined more than once:\n{}", duplicates.len(), duplicates.iter().map(|d| format!("  - {d}")).collect::<Vec<_>>().join("\n"))]
    Duplicates {
        fabric: String,
        commit: String,
        duplicates: Vec<Duplicate>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one successful sync did.
#[derive(Debug, Serialize)]
pub struct SyncReport {
    pub fabric: String,
    pub commit: String,
    /// Files read (YAML only).
    pub files: usize,
    /// Desired objects per kind, in apply order.
    pub counts: Vec<(&'static str, usize)>,
    pub skipped: Vec<Skipped>,
    /// The desired set as committed, in the order it was parsed.
    #[serde(skip)]
    pub desired: Vec<DesiredObject>,
}

/// A `SyncReport` without its desired set: what `hhdash sync` prints, and what the engine
/// answers a `Command::SyncAndReport` with (it serialises exactly like the report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSummary {
    pub fabric: String,
    pub commit: String,
    pub files: usize,
    pub counts: Vec<(String, usize)>,
    pub skipped: Vec<Skipped>,
}

impl SyncSummary {
    pub fn objects(&self) -> usize {
        self.counts.iter().map(|(_, n)| n).sum()
    }
}

impl From<&SyncReport> for SyncSummary {
    fn from(report: &SyncReport) -> Self {
        SyncSummary {
            fabric: report.fabric.clone(),
            commit: report.commit.clone(),
            files: report.files,
            counts: report
                .counts
                .iter()
                .map(|(kind, n)| (kind.to_string(), *n))
                .collect(),
            skipped: report.skipped.clone(),
        }
    }
}

/// What one sync attempt wrote to the store, in one transaction: the fabric's sync status and
/// the log lines that came with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    pub sync: SyncStatus,
    pub events: Vec<LogEntry>,
}

/// One sync attempt: its outcome, and what it committed (`None` when even recording a failure
/// failed: the store is as it was).
#[derive(Debug)]
pub struct SyncAttempt {
    pub result: Result<SyncReport, SyncError>,
    pub committed: Option<Committed>,
}

impl SyncReport {
    pub fn objects(&self) -> usize {
        self.counts.iter().map(|(_, n)| n).sum()
    }
}

/// Syncs one fabric from Git into the store. `stored_secret` reads the encrypted store for a
/// token slot when the config points there.
pub fn sync_fabric(
    fabric: &FabricConfig,
    store: &Store,
    git_cache_dir: &Path,
    stored_secret: impl Fn(&str, &'static str) -> Result<Option<crate::secret::Secret>, VaultError>,
) -> Result<SyncReport, SyncError> {
    attempt_sync(fabric, store, git_cache_dir, stored_secret).result
}

/// `sync_fabric`, returning what the attempt committed too (see `SyncAttempt`).
pub fn attempt_sync(
    fabric: &FabricConfig,
    store: &Store,
    git_cache_dir: &Path,
    stored_secret: impl Fn(&str, &'static str) -> Result<Option<crate::secret::Secret>, VaultError>,
) -> SyncAttempt {
    let error = match fetch_and_store(fabric, store, git_cache_dir, stored_secret) {
        Ok((report, committed)) => {
            return SyncAttempt {
                result: Ok(report),
                committed: Some(committed),
            };
        }
        Err(error) => error,
    };
    let message = error.to_string();
    let now = status::now();
    let event = LogEntry {
        time: now,
        what: LogKind::Error,
        object: None,
        message: format!("sync failed: {message}"),
        key: None,
    };
    // The desired set is untouched; only the sync status records the failure.
    let recorded =
        store.update_fabric_status(&fabric.name, std::slice::from_ref(&event), |status| {
            status.sync.state = SyncState::Error;
            status.sync.error = Some(message);
            status.sync.last_attempt = Some(now);
        });
    match recorded {
        Ok(status) => SyncAttempt {
            result: Err(error),
            committed: Some(Committed {
                sync: status.sync,
                events: vec![event],
            }),
        },
        Err(store_error) => SyncAttempt {
            result: Err(store_error.into()),
            committed: None,
        },
    }
}

fn fetch_and_store(
    fabric: &FabricConfig,
    store: &Store,
    git_cache_dir: &Path,
    stored_secret: impl Fn(&str, &'static str) -> Result<Option<crate::secret::Secret>, VaultError>,
) -> Result<(SyncReport, Committed), SyncError> {
    let token = token::git(&fabric.name, &fabric.git.token, &stored_secret)?;
    let source = GitSource {
        fabric: &fabric.name,
        url: &fabric.git.url,
        branch: &fabric.git.branch,
        directory: &fabric.git.directory,
        token: token.as_ref(),
        limits: fabric.git.limits,
    };
    let snapshot = git::fetch_snapshot(&source, git_cache_dir).map_err(Box::new)?;
    let mut set = desired::parse_files(
        snapshot
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.bytes.as_slice())),
        &fabric.namespaces,
        &snapshot.commit,
    );
    // Files too large to read cost themselves only, like a document with a syntax error.
    set.skipped
        .extend(snapshot.too_large.iter().map(|(path, bytes)| Skipped {
            file: path.clone(),
            line: 1,
            reason: desired::SkipReason::FileTooLarge {
                bytes: *bytes,
                limit: fabric.git.limits.max_file_bytes,
            },
            claims: None,
        }));
    // Reported in file order; a stable sort keeps each file's documents in order.
    set.skipped.sort_by(|a, b| a.file.cmp(&b.file));
    if !set.duplicates.is_empty() {
        return Err(SyncError::Duplicates {
            fabric: fabric.name.clone(),
            commit: snapshot.commit,
            duplicates: set.duplicates,
        });
    }
    let counts = set.counts_by_kind();
    let skipped_errors = set.skipped.iter().filter(|s| s.reason.is_error()).count();
    let now = status::now();
    let short = git::short_commit(&snapshot.commit);
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    let mut events = vec![LogEntry {
        time: now,
        what: LogKind::Sync,
        object: None,
        message: format!(
            "synced {total} object(s) from {} at {short}; {} document(s) skipped",
            fabric.git.branch,
            set.skipped.len()
        ),
        key: None,
    }];
    events.extend(
        set.skipped
            .iter()
            .filter(|s| s.reason.is_error())
            .map(|s| LogEntry {
                time: now,
                what: LogKind::Error,
                object: None,
                message: s.to_string(),
                key: None,
            }),
    );
    let skipped_count = set.skipped.len();
    let claims: Vec<SkippedClaim> = set.skipped.iter().filter_map(SkippedClaim::of).collect();
    let source = trust::source_id(fabric);
    let mut committed_sync = None;
    store.replace_desired(
        &fabric.name,
        set.objects.iter().map(Ok::<_, std::convert::Infallible>),
        |status| {
            status.sync.state = SyncState::Synced;
            status.sync.error = None;
            status.sync.last_attempt = Some(now);
            status.sync.last_sync = Some(now);
            status.sync.commit = Some(snapshot.commit.clone());
            status.sync.skipped = skipped_count;
            status.sync.skipped_errors = skipped_errors;
            status.sync.source = Some(source);
            status.sync.skipped_claims = claims;
            committed_sync = Some(status.sync.clone());
        },
        &events,
    )?;
    let committed = Committed {
        sync: committed_sync.expect("the status change runs in the committed transaction"),
        events,
    };
    let report = SyncReport {
        fabric: fabric.name.clone(),
        commit: snapshot.commit,
        files: snapshot.files.len(),
        counts,
        skipped: set.skipped,
        desired: set.objects,
    };
    Ok((report, committed))
}
