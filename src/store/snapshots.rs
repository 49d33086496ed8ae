//! store::snapshots: each sync's drift summary per fabric — which objects are Drifted, Missing
//! or Orphan, with their drifted paths — so "when did this start drifting, and what else
//! drifted at the same time" has an answer after the fact. A summary equal to the latest one
//! is not stored again; snapshots share the timeline's age bound and have their own eighth of
//! its size budget.

use redb::{ReadableDatabase, TableDefinition};
use serde::{Deserialize, Serialize};

use super::timeline::{Class, TimelineTable, key_named};
use super::{Store, StoreError};
use crate::drift::DriftKindTag;
use crate::kinds::ObjectKey;
use crate::status::Timestamp;

pub(super) const SNAPSHOTS: TimelineTable = TableDefinition::new("drift_snapshots");

/// A fabric's drift at one sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DriftSnapshot {
    pub time: Timestamp,
    /// The Git commit the sync read.
    pub commit: Option<String>,
    /// Every object not in sync, ordered by key.
    pub objects: Vec<DriftedObject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftedObject {
    pub key: ObjectKey,
    /// How the fabric names it (`Kind/name` or `Kind/namespace/name`).
    pub object: String,
    pub verdict: DriftKindTag,
    /// The drifted paths (Drifted only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

/// When an object's current (or last) run of drift began, from the snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftOnset {
    /// The first snapshot of the run: its time and commit.
    pub since: Timestamp,
    pub commit: Option<String>,
    /// The object as that snapshot recorded it.
    pub first: DriftedObject,
    /// The object in the run's last snapshot.
    pub last: DriftedObject,
    /// The run lasts to the newest snapshot (else it ended at `ended`).
    pub ended: Option<Timestamp>,
    /// The other objects that started drifting at the same snapshot.
    pub together: Vec<DriftedObject>,
}

impl Store {
    /// Records a sync's drift summary unless it equals the latest one (then nothing is
    /// written). Returns whether a snapshot was written.
    pub fn record_drift_snapshot(
        &self,
        fabric: &str,
        snapshot: &DriftSnapshot,
    ) -> Result<bool, StoreError> {
        let latest = self.drift_snapshots(fabric, None, None, 1)?;
        if latest
            .first()
            .is_some_and(|latest| latest.objects == snapshot.objects)
        {
            return Ok(false);
        }
        let bytes = serde_json::to_vec(snapshot).expect("snapshot serialises");
        let txn = self.db.begin_write().map_err(|e| self.db_error(e))?;
        self.append_rows_in(&txn, fabric, Class::Snapshots, &[(snapshot.time, bytes)])?;
        txn.commit().map_err(|e| self.db_error(e))?;
        Ok(true)
    }

    /// A fabric's snapshots in a time range, oldest first; the newest `limit` (0: all).
    /// A snapshot that cannot be read is skipped (it is a summary; the timeline has the lines).
    pub fn drift_snapshots(
        &self,
        fabric: &str,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<DriftSnapshot>, StoreError> {
        let since = since.unwrap_or(i64::MIN);
        let until = until.unwrap_or(i64::MAX);
        let txn = self.db.begin_read().map_err(|e| self.db_error(e))?;
        let table = txn.open_table(SNAPSHOTS).map_err(|e| self.db_error(e))?;
        let mut snapshots = Vec::new();
        for row in table
            .range((fabric, since, 0)..=(fabric, until, u64::MAX))
            .map_err(|e| self.db_error(e))?
            .rev()
        {
            let (_, bytes) = row.map_err(|e| self.db_error(e))?;
            if let Ok(snapshot) = serde_json::from_slice(bytes.value()) {
                snapshots.push(snapshot);
                if limit > 0 && snapshots.len() == limit {
                    break;
                }
            }
        }
        snapshots.reverse();
        Ok(snapshots)
    }

    /// When `object` (`Kind/name` or `Kind/namespace/name`) last started drifting, and what
    /// else started at that sync; None if no snapshot has it.
    pub fn drift_onset(
        &self,
        fabric: &str,
        object: &str,
    ) -> Result<Option<DriftOnset>, StoreError> {
        let snapshots = self.drift_snapshots(fabric, None, None, 0)?;
        let find = |snapshot: &DriftSnapshot| {
            snapshot
                .objects
                .iter()
                .find(|o| o.object == object || key_named(&o.key, object))
                .cloned()
        };
        let mut onset: Option<DriftOnset> = None;
        let mut previous: Option<&DriftSnapshot> = None;
        for snapshot in &snapshots {
            match (find(snapshot), onset.as_mut()) {
                (Some(found), Some(run)) if run.ended.is_none() => run.last = found,
                (Some(found), _) => {
                    let was = |o: &DriftedObject| {
                        previous.is_some_and(|p| p.objects.iter().any(|q| q.key == o.key))
                    };
                    onset = Some(DriftOnset {
                        since: snapshot.time,
                        commit: snapshot.commit.clone(),
                        first: found.clone(),
                        last: found.clone(),
                        ended: None,
                        together: snapshot
                            .objects
                            .iter()
                            .filter(|o| o.key != found.key && !was(o))
                            .cloned()
                            .collect(),
                    });
                }
                (None, Some(run)) if run.ended.is_none() => run.ended = Some(snapshot.time),
                (None, _) => {}
            }
            previous = Some(snapshot);
        }
        Ok(onset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drifted(name: &str, path: &str) -> DriftedObject {
        DriftedObject {
            key: ObjectKey {
                kind: "VPC".into(),
                namespace: "default".into(),
                name: name.into(),
            },
            object: format!("VPC/{name}"),
            verdict: DriftKindTag::Drifted,
            paths: vec![path.into()],
        }
    }

    fn snapshot(time: Timestamp, commit: &str, objects: Vec<DriftedObject>) -> DriftSnapshot {
        DriftSnapshot {
            time,
            commit: Some(commit.into()),
            objects,
        }
    }

    #[test]
    fn an_unchanged_summary_is_not_stored_again_and_the_onset_names_its_sync_and_companions() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::open(&temp.path().join("s.redb")).unwrap();
        let t = crate::time::now() - 1000;
        let a = || drifted("a", "spec.vlan");
        let b = || drifted("b", "spec.ipv4Namespace");
        let c = || drifted("c", "spec.subnets");
        assert!(
            store
                .record_drift_snapshot("east", &snapshot(t, "c1", vec![a()]))
                .unwrap()
        );
        assert!(
            !store
                .record_drift_snapshot("east", &snapshot(t + 10, "c1", vec![a()]))
                .unwrap()
        );
        assert!(
            store
                .record_drift_snapshot("east", &snapshot(t + 20, "c2", vec![]))
                .unwrap()
        );
        assert!(
            store
                .record_drift_snapshot("east", &snapshot(t + 30, "c3", vec![a(), b(), c()]))
                .unwrap()
        );
        assert!(
            store
                .record_drift_snapshot("east", &snapshot(t + 40, "c4", vec![a(), c()]))
                .unwrap()
        );
        assert_eq!(
            store.drift_snapshots("east", None, None, 0).unwrap().len(),
            4
        );

        let onset = store.drift_onset("east", "VPC/a").unwrap().unwrap();
        assert_eq!(onset.since, t + 30, "the current run, not the first one");
        assert_eq!(onset.commit.as_deref(), Some("c3"));
        assert_eq!(onset.ended, None);
        let together: Vec<&str> = onset.together.iter().map(|o| o.object.as_str()).collect();
        assert_eq!(together, ["VPC/b", "VPC/c"]);

        let onset = store.drift_onset("east", "VPC/default/b").unwrap().unwrap();
        assert_eq!(onset.ended, Some(t + 40));
        assert!(store.drift_onset("east", "VPC/zzz").unwrap().is_none());
    }
}
