//! trust: whether a fabric's stored desired set may be believed about what Git does *not*
//! want — the one rule that decides if a live-only object is an Orphan (views, `diff`) and if
//! anything may be pruned. A failed, foreign or empty sync must never turn a whole fabric into
//! "orphans", and nothing hhdash did not apply, nor anything Git still mentions in a document it
//! could not read, is ever deleted.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::config::FabricConfig;
use crate::status::{SyncState, SyncStatus};

/// The identity of the Git source a sync read, compared with the config in force: a desired
/// set synced from another URL, branch, directory or namespace says nothing about this one.
pub fn source_id(fabric: &FabricConfig) -> String {
    format!(
        "{} branch {} directory {:?} namespace {}",
        crate::git::redact_url(&fabric.git.url),
        fabric.git.branch,
        fabric.git.directory,
        fabric.namespaces
    )
}

/// Why the stored desired set cannot say which live objects Git does not want.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Distrust {
    NeverSynced {
        fabric: String,
    },
    SyncFailed {
        fabric: String,
        error: String,
    },
    OtherSource {
        fabric: String,
        synced: Option<String>,
        configured: String,
    },
    Empty {
        fabric: String,
        directory: String,
    },
}

impl fmt::Display for Distrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Distrust::NeverSynced { fabric } => write!(
                f,
                "fabric {fabric}: not synced yet, so nothing can be called an orphan; run `hhdash sync {fabric}`"
            ),
            Distrust::SyncFailed { fabric, error } => write!(
                f,
                "fabric {fabric}: last sync failed: {error} — orphans are not listed until a sync succeeds (fix the cause, then `hhdash sync {fabric}`)"
            ),
            Distrust::OtherSource {
                fabric,
                synced,
                configured,
            } => write!(
                f,
                "fabric {fabric}: the stored desired set was synced from {} but the config now says {configured}; run `hhdash sync {fabric}`",
                synced
                    .as_deref()
                    .unwrap_or("an unrecorded source (an older hhdash)")
            ),
            Distrust::Empty { fabric, directory } => write!(
                f,
                "fabric {fabric}: Git directory {directory:?} holds no objects, so every live object would read as an orphan; check `git.directory` (prune needs --allow-empty to go past this)"
            ),
        }
    }
}

impl Distrust {
    /// Only an empty set may be overridden, explicitly (`--allow-empty`).
    pub fn is_empty_set(&self) -> bool {
        matches!(self, Distrust::Empty { .. })
    }
}

/// The rule: the last sync must have succeeded, from the source the config names now, and
/// delivered at least one object.
pub fn desired_trust(
    fabric: &FabricConfig,
    sync: &SyncStatus,
    desired_objects: usize,
) -> Result<(), Distrust> {
    let name = fabric.name.clone();
    match sync.state {
        SyncState::NeverSynced => return Err(Distrust::NeverSynced { fabric: name }),
        SyncState::Error => {
            return Err(Distrust::SyncFailed {
                fabric: name,
                error: sync.error.clone().unwrap_or_else(|| "unknown error".into()),
            });
        }
        SyncState::Synced => {}
    }
    let configured = source_id(fabric);
    if sync.source.as_deref() != Some(configured.as_str()) {
        return Err(Distrust::OtherSource {
            fabric: name,
            synced: sync.source.clone(),
            configured,
        });
    }
    if desired_objects == 0 {
        return Err(Distrust::Empty {
            fabric: name,
            directory: fabric.git.directory.clone(),
        });
    }
    Ok(())
}

pub use crate::status::SkippedClaim;

/// Claims by (kind, name), for lookups while judging orphans.
pub fn claims_by_key(sync: &SyncStatus) -> BTreeMap<(String, String), String> {
    sync.skipped_claims
        .iter()
        .map(|c| ((c.kind.clone(), c.name.clone()), c.at.clone()))
        .collect()
}

/// Why a prune run must not delete anything at all; each names the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PruneRefusal {
    Untrusted(Distrust),
    SkippedErrors { fabric: String, count: usize },
    ApplyFailed { fabric: String, failed: usize },
}

impl fmt::Display for PruneRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PruneRefusal::Untrusted(distrust) => write!(f, "prune refused: {distrust}"),
            PruneRefusal::SkippedErrors { fabric, count } => write!(
                f,
                "prune refused: fabric {fabric}: {count} document(s) in Git could not be read (see `hhdash sync {fabric}`); an object defined there would be deleted. Fix them, sync, then prune"
            ),
            PruneRefusal::ApplyFailed { fabric, failed } => write!(
                f,
                "prune refused: fabric {fabric}: {failed} apply(s) of this run failed; nothing is deleted while the cluster is half-way. Fix the failures and run again"
            ),
        }
    }
}

/// The gate before any prune (CLI now, any UI action later).
pub fn prune_allowed(
    fabric: &FabricConfig,
    sync: &SyncStatus,
    desired_objects: usize,
    failed_applies: usize,
    allow_empty: bool,
) -> Result<(), PruneRefusal> {
    match desired_trust(fabric, sync, desired_objects) {
        Ok(()) => {}
        Err(distrust) if distrust.is_empty_set() && allow_empty => {}
        Err(distrust) => return Err(PruneRefusal::Untrusted(distrust)),
    }
    if sync.skipped_errors > 0 {
        return Err(PruneRefusal::SkippedErrors {
            fabric: fabric.name.clone(),
            count: sync.skipped_errors,
        });
    }
    if failed_applies > 0 {
        return Err(PruneRefusal::ApplyFailed {
            fabric: fabric.name.clone(),
            failed: failed_applies,
        });
    }
    Ok(())
}

/// Why one orphan is kept although the run may prune.
pub fn keep_orphan(
    key_kind: &str,
    key_name: &str,
    live: &Value,
    claims: &BTreeMap<(String, String), String>,
) -> Option<String> {
    if let Some(at) = claims.get(&(key_kind.to_string(), key_name.to_string())) {
        return Some(format!(
            "Git still has a document for it that was skipped: {at}"
        ));
    }
    if !applied_by_hhdash(live) {
        return Some(format!(
            "not applied by hhdash (no `{}` field manager): created by someone else, left alone",
            crate::cluster::FIELD_MANAGER
        ));
    }
    None
}

/// hhdash's field manager is among the object's managers (kept in the live copy as a summary).
pub fn applied_by_hhdash(live: &Value) -> bool {
    live.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_some_and(|entries| {
            entries.iter().any(|entry| {
                entry.get("manager").and_then(Value::as_str) == Some(crate::cluster::FIELD_MANAGER)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use serde_json::json;

    fn fabric(directory: &str) -> FabricConfig {
        let text = format!(
            "[[fabric]]\nname = \"east\"\n[fabric.kubernetes]\nserver = \"https://127.0.0.1:6443\"\ntoken_env = \"EAST_TOKEN\"\ninsecure_skip_tls_verify = true\n[fabric.git]\nurl = \"/srv/git/fabrics\"\nbranch = \"main\"\ndirectory = \"{directory}\"\n"
        );
        Config::parse(&text, std::path::Path::new("/tmp/config.toml"))
            .unwrap()
            .fabrics
            .remove(0)
    }

    fn synced(fabric: &FabricConfig) -> SyncStatus {
        SyncStatus {
            state: SyncState::Synced,
            source: Some(source_id(fabric)),
            ..Default::default()
        }
    }

    #[test]
    fn only_a_successful_nonempty_sync_of_the_configured_source_is_trusted() {
        let east = fabric("east");
        assert_eq!(desired_trust(&east, &synced(&east), 3), Ok(()));
        let never = SyncStatus::default();
        assert!(matches!(
            desired_trust(&east, &never, 0),
            Err(Distrust::NeverSynced { .. })
        ));
        let failed = SyncStatus {
            state: SyncState::Error,
            error: Some("branch mian does not exist".into()),
            ..synced(&east)
        };
        let distrust = desired_trust(&east, &failed, 3).unwrap_err();
        assert!(distrust.to_string().contains("branch mian does not exist"));
        // Synced from another directory: says nothing about this one.
        let west = fabric("west");
        let distrust = desired_trust(&west, &synced(&east), 3).unwrap_err();
        assert!(
            matches!(distrust, Distrust::OtherSource { .. }),
            "{distrust}"
        );
        let distrust = desired_trust(&east, &synced(&east), 0).unwrap_err();
        assert!(distrust.is_empty_set() && distrust.to_string().contains("\"east\""));
    }

    #[test]
    fn prune_gate_refuses_for_each_reason_and_allow_empty_passes_only_emptiness() {
        let east = fabric("east");
        let ok = synced(&east);
        assert_eq!(prune_allowed(&east, &ok, 5, 0, false), Ok(()));
        assert!(matches!(
            prune_allowed(&east, &ok, 0, 0, false),
            Err(PruneRefusal::Untrusted(Distrust::Empty { .. }))
        ));
        assert_eq!(prune_allowed(&east, &ok, 0, 0, true), Ok(()));
        let never = SyncStatus::default();
        assert!(prune_allowed(&east, &never, 0, 0, true).is_err());
        let skipped = SyncStatus {
            skipped_errors: 2,
            ..synced(&east)
        };
        assert!(matches!(
            prune_allowed(&east, &skipped, 5, 0, false),
            Err(PruneRefusal::SkippedErrors { count: 2, .. })
        ));
        assert!(matches!(
            prune_allowed(&east, &ok, 5, 1, false),
            Err(PruneRefusal::ApplyFailed { failed: 1, .. })
        ));
    }

    #[test]
    fn an_orphan_is_kept_when_git_still_names_it_or_hhdash_never_applied_it() {
        let mine =
            json!({"metadata": {"managedFields": [{"manager": "hhdash", "operation": "Apply"}]}});
        let theirs = json!({"metadata": {"managedFields": [{"manager": "kubectl-edit", "operation": "Update"}]}});
        let mut claims = BTreeMap::new();
        assert_eq!(keep_orphan("VPC", "a", &mine, &claims), None);
        assert!(
            keep_orphan("VPC", "a", &theirs, &claims)
                .unwrap()
                .contains("not applied by hhdash")
        );
        assert!(keep_orphan("VPC", "a", &json!({}), &claims).is_some());
        claims.insert(
            ("VPC".to_string(), "a".to_string()),
            "x.yaml:3: v1alpha2".to_string(),
        );
        assert!(
            keep_orphan("VPC", "a", &mine, &claims)
                .unwrap()
                .contains("x.yaml:3")
        );
    }
}
