//! review: the one-shot view the headless `diff` and `apply` commands work from — the fabric's
//! stored desired set against a fresh list of its cluster, judged by the drift rules, optionally
//! in exact mode (server-side dry-run). No loops, no watch: the engine does that.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::attribution::PathExplanation;
use crate::cluster::{ClusterError, FabricClient};
use crate::config::FabricConfig;
use crate::desired::DesiredObject;
use crate::drift::{self, Drift, DriftIndex};
use crate::kinds::{self, ObjectKey};
use crate::status::SyncStatus;
use crate::store::{Store, StoreError};
use crate::trust::{self, Distrust};

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("fabric {fabric}: nothing synced from Git yet; run `hhdash sync {fabric}` first")]
    NeverSynced { fabric: String },
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One object's verdict with what it needs for output and apply.
#[derive(Debug, Clone, Serialize)]
pub struct Reviewed {
    pub key: ObjectKey,
    pub drift: Drift,
    #[serde(skip)]
    pub desired: Option<DesiredObject>,
    /// For an orphan: why prune must leave it alone even when it may prune (see `trust`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep: Option<String>,
    /// The live object's uid and resourceVersion as listed: a delete is conditional on both,
    /// so an object re-created or changed since this review is not deleted.
    #[serde(skip)]
    pub live_version: Option<(String, String)>,
    /// Per drifted path: who wrote the live value, the commit that set Git's, the Git line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explained: Vec<PathExplanation>,
}

#[derive(Debug, Serialize)]
pub struct Review {
    pub fabric: String,
    pub sync: SyncStatus,
    pub server_side: bool,
    /// Why live objects missing from Git are not called orphans (they stay Unknown): the desired
    /// set cannot be trusted about what Git does not want.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distrust: Option<Distrust>,
    /// Desired objects in the stored set.
    pub desired_objects: usize,
    /// Every object Git or the cluster has, in apply order.
    pub objects: Vec<Reviewed>,
}

impl Review {
    pub fn out_of_sync(&self) -> impl Iterator<Item = &Reviewed> {
        self.objects.iter().filter(|o| o.drift.is_drift())
    }

    /// (drifted, missing, orphan)
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for object in &self.objects {
            match object.drift {
                Drift::Drifted(_) => counts.0 += 1,
                Drift::Missing => counts.1 += 1,
                Drift::Orphan => counts.2 += 1,
                _ => {}
            }
        }
        counts
    }
}

/// Lists every managed kind and compares it with the stored desired set. `trust_empty`: an
/// empty desired set still names orphans (everything live) — only for `apply --allow-empty`.
pub async fn review(
    config: &FabricConfig,
    store: &Store,
    client: &FabricClient,
    server_side: bool,
    trust_empty: bool,
) -> Result<Review, ReviewError> {
    let fabric = client.fabric.clone();
    let status = store.fabric_status(&fabric)?;
    if status.sync.state == crate::status::SyncState::NeverSynced {
        return Err(ReviewError::NeverSynced { fabric });
    }
    let desired: BTreeMap<ObjectKey, DesiredObject> = store
        .desired(&fabric)?
        .into_iter()
        .map(|d| (d.key.clone(), d))
        .collect();
    let distrust = trust::desired_trust(config, &status.sync, desired.len())
        .err()
        .filter(|distrust| !(trust_empty && distrust.is_empty_set()));
    let claims = trust::claims_by_key(&status.sync);
    let mut index = DriftIndex::new(None);
    index.set_orphans_trusted(distrust.is_none());
    index.set_desired_all(desired.iter().map(|(k, d)| (k.clone(), d.object.clone())));
    // Only the fabric's own namespaces: an object anywhere else is never an orphan to prune.
    for namespace in &config.namespaces.managed {
        for info in kinds::desired_kinds() {
            let live = client.list_in(info, namespace).await?;
            index.replace_live_kind(info.kind, namespace, live);
        }
    }
    let mut objects = Vec::new();
    for (key, verdict) in index.iter() {
        let mut verdict = verdict.clone();
        let desired_object = desired.get(key).cloned();
        let live = index.live(key).map(crate::object::Object::value);
        if server_side && let (Some(d), Some(live)) = (&desired_object, &live) {
            let info = kinds::by_kind(&key.kind).expect("desired kinds are registered");
            // Forced, because a field another manager changed (the drift itself) would
            // otherwise be a conflict; a dry run persists nothing either way.
            let dry_run = client
                .apply(info, key, &d.object.value(), true, true)
                .await?;
            let diffs = drift::compare_exact(info, &dry_run, live);
            verdict = if diffs.is_empty() {
                Drift::InSync
            } else {
                Drift::Drifted(diffs)
            };
        }
        let live = live.as_ref();
        let keep = match (&verdict, live) {
            (Drift::Orphan, Some(live)) => trust::keep_orphan(&key.kind, &key.name, live, &claims),
            _ => None,
        };
        let live_version = live.and_then(|live| {
            let uid = live.pointer("/metadata/uid")?.as_str()?;
            let version = live.pointer("/metadata/resourceVersion")?.as_str()?;
            Some((uid.to_string(), version.to_string()))
        });
        let explained = crate::attribution::attribute_all(&verdict, live);
        objects.push(Reviewed {
            explained,
            key: key.clone(),
            drift: verdict,
            desired: desired_object,
            keep,
            live_version,
        });
    }
    crate::apply::sort(&mut objects, |o| &o.key);
    Ok(Review {
        fabric,
        sync: status.sync,
        server_side,
        distrust,
        desired_objects: desired.len(),
        objects,
    })
}

/// How long `hhdash diff` may spend naming Git origins; objects left when it runs out keep
/// their live attribution and line only (a huge drift on a huge history must not hang a
/// runbook).
pub const GIT_ORIGIN_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// Fills the Git side (`git`, `line`) of every drifted object's `explained` paths from the
/// fabric's repository history (the local path, or the cache clone the last sync left).
/// Blocking. Returns the problems met, one per kind (a missing clone is one problem, not one
/// per object), and how many drifted objects the budget left unexplained.
pub fn explain_git(
    review: &mut Review,
    config: &FabricConfig,
    cache_dir: &std::path::Path,
    budget: std::time::Duration,
) -> (Vec<String>, usize) {
    let started = std::time::Instant::now();
    let source = crate::git::GitSource {
        fabric: &config.name,
        url: &config.git.url,
        branch: &config.git.branch,
        directory: &config.git.directory,
        token: None,
        limits: config.git.limits,
    };
    let mut cache = crate::git::HistoryCache::default();
    let mut problems: Vec<String> = Vec::new();
    let mut left = 0;
    for object in &mut review.objects {
        let (Drift::Drifted(diffs), Some(desired)) = (&object.drift, &object.desired) else {
            continue;
        };
        if started.elapsed() > budget {
            left += 1;
            continue;
        }
        let paths: Vec<String> = diffs.iter().map(|diff| diff.path.clone()).collect();
        let explanation = cache.explain(
            &source,
            cache_dir,
            &config.namespaces,
            &object.key,
            &desired.source,
            &paths,
        );
        if let Some(problem) = explanation.problem
            && !problems.contains(&problem)
        {
            problems.push(problem);
        }
        for git_side in explanation.paths {
            match object
                .explained
                .iter_mut()
                .find(|e| e.path == git_side.path)
            {
                Some(explained) => {
                    explained.git = git_side.git;
                    explained.line = git_side.line;
                }
                None => object.explained.push(git_side),
            }
        }
    }
    (problems, left)
}
