//! review: the one-shot view the headless `diff` and `apply` commands work from — the fabric's
//! stored desired set against a fresh list of its cluster, judged by the drift rules, optionally
//! in exact mode (server-side dry-run). No loops, no watch: the engine does that.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cluster::{ClusterError, FabricClient};
use crate::desired::{DesiredObject, ObjectKey};
use crate::drift::{self, Drift, DriftIndex};
use crate::kinds;
use crate::status::SyncStatus;
use crate::store::{Store, StoreError};

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
}

#[derive(Debug, Serialize)]
pub struct Review {
    pub fabric: String,
    pub sync: SyncStatus,
    pub server_side: bool,
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

fn apply_order(key: &ObjectKey) -> (Option<u8>, ObjectKey) {
    (
        kinds::by_kind(&key.kind).and_then(|k| k.apply_rank),
        key.clone(),
    )
}

/// Lists every managed kind and compares it with the stored desired set.
pub async fn review(
    store: &Store,
    client: &FabricClient,
    server_side: bool,
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
    let mut index = DriftIndex::new(None);
    index.set_desired_all(desired.iter().map(|(k, d)| (k.clone(), d.object.clone())));
    for info in kinds::desired_kinds() {
        let live = client.list(info).await?;
        index.replace_live_kind(info.kind, live);
    }
    let mut objects = Vec::new();
    for (key, verdict) in index.iter() {
        let mut verdict = verdict.clone();
        let desired_object = desired.get(key).cloned();
        if server_side && let (Some(d), Some(live)) = (&desired_object, index.live(key)) {
            let info = kinds::by_kind(&key.kind).expect("desired kinds are registered");
            // Forced, because a field another manager changed (the drift itself) would
            // otherwise be a conflict; a dry run persists nothing either way.
            let dry_run = client.apply(info, key, &d.object, true, true).await?;
            let diffs = drift::compare_exact(info, &dry_run, live);
            verdict = if diffs.is_empty() {
                Drift::InSync
            } else {
                Drift::Drifted(diffs)
            };
        }
        objects.push(Reviewed {
            key: key.clone(),
            drift: verdict,
            desired: desired_object,
        });
    }
    objects.sort_by_key(|o| apply_order(&o.key));
    Ok(Review {
        fabric,
        sync: status.sync,
        server_side,
        objects,
    })
}
