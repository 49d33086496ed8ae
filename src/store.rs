//! store: the durable truth in one redb file — fabric statuses, desired objects with their Git
//! source, last-seen live objects, per-resource kubernetes status, each fabric's timeline
//! (`timeline`: log lines bounded by age and size) and drift snapshots (`snapshots`), and
//! encrypted secrets. It owns the schema and transactions; it never talks to Git
//! or a cluster, and it never sees a secret in clear text.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::desired::DesiredObject;
use crate::kinds::ObjectKey;
use crate::object::Object;
use crate::status::{FabricStatus, ResourceStatus, Timestamp};

mod migrate;
mod snapshots;
mod timeline;

pub use snapshots::{DriftOnset, DriftSnapshot, DriftedObject};
pub use timeline::TimelineLimits;

/// Bumped whenever a table's layout or value encoding changes; `migrate` brings older stores
/// forward (2: the count-bounded `events` table became the timeline).
pub const SCHEMA_VERSION: u64 = 2;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const FABRICS: TableDefinition<&str, &[u8]> = TableDefinition::new("fabric_status");
const DESIRED: TableDefinition<&str, &[u8]> = TableDefinition::new("desired");
const LIVE: TableDefinition<&str, &[u8]> = TableDefinition::new("live");
const RESOURCES: TableDefinition<&str, &[u8]> = TableDefinition::new("resource_status");
const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");

/// Separates the parts of a composite string key; never valid in a fabric or object name.
const SEP: char = '\u{1f}';

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store {path} is in use by another hhdash process; close it or pass --store with another file"
    )]
    InUse { path: PathBuf },
    #[error(
        "the store {path} has schema version {found}, this hhdash needs {expected}; move the file away (it is a cache of Git and the cluster; re-enter secrets with `hhdash secret set`)"
    )]
    SchemaMismatch {
        path: PathBuf,
        found: u64,
        expected: u64,
    },
    #[error("cannot create the store directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("store {path}: {message}")]
    Database { path: PathBuf, message: String },
    /// One record cannot be decoded. The rest of the store is readable, and the store holds
    /// the encrypted tokens: the message says how to rewrite the record, never to delete it.
    #[error(
        "store {path}: cannot read the stored {record}: {source}; {}; keep the store file, it \
         also holds your encrypted tokens",
        record.remedy()
    )]
    Unreadable {
        path: PathBuf,
        record: Box<Record>,
        source: serde_json::Error,
    },
    /// The caller's source of objects failed mid-write; nothing was written.
    #[error("{0}")]
    Aborted(String),
}

/// Which stored record could not be read, and so what rewrites it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Status { fabric: String },
    Desired { fabric: String, key: ObjectKey },
    Live { fabric: String, key: ObjectKey },
    Resource { fabric: String, key: ObjectKey },
}

impl Record {
    fn fabric(&self) -> &str {
        match self {
            Record::Status { fabric }
            | Record::Desired { fabric, .. }
            | Record::Live { fabric, .. }
            | Record::Resource { fabric, .. } => fabric,
        }
    }

    /// What to do so the record is written again, correctly.
    pub fn remedy(&self) -> String {
        let fabric = self.fabric();
        match self {
            Record::Status { .. } | Record::Desired { .. } => format!(
                "run `hhdash sync {fabric}` (or press s in the dashboard): a sync rewrites the \
                 fabric's desired set and status from Git"
            ),
            Record::Live { .. } | Record::Resource { .. } => format!(
                "run `hhdash watch {fabric}` or open the dashboard: the watch rewrites live \
                 objects when it lists the cluster"
            ),
        }
    }
}

impl std::fmt::Display for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Record::Status { fabric } => write!(f, "status of fabric {fabric}"),
            Record::Desired { fabric, key } => {
                write!(f, "desired object {} of fabric {fabric}", key.kind_name())
            }
            Record::Live { fabric, key } => {
                write!(f, "live object {} of fabric {fabric}", key.kind_name())
            }
            Record::Resource { fabric, key } => write!(
                f,
                "resource status of {} of fabric {fabric}",
                key.kind_name()
            ),
        }
    }
}

/// One line of a fabric's event log (named apart from watch, terminal and engine events: it is
/// what the store keeps and the event pane shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub time: Timestamp,
    pub what: LogKind,
    /// `Kind/name` of the object concerned, if any.
    pub object: Option<String>,
    pub message: String,
    /// The object concerned, so the History view can open it (`object` is how the fabric
    /// names it; None for fabric-wide lines and for lines stored before keys were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<ObjectKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogKind {
    Added,
    Modified,
    Deleted,
    Drift,
    Sync,
    Apply,
    Connection,
    Watch,
    Error,
    /// A switch or gateway changed health level.
    Health,
}

/// Which timeline entries to read (every bound optional; `kinds` empty means all).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TimelineQuery {
    /// Entries at or after this time.
    pub since: Option<Timestamp>,
    /// Entries at or before this time.
    pub until: Option<Timestamp>,
    /// Only entries about this object (`Kind/name` or `Kind/namespace/name`, as the fabric
    /// names it).
    pub object: Option<String>,
    pub kinds: Vec<LogKind>,
    /// At most this many entries, the newest ones (0: no limit).
    pub limit: usize,
}

/// A change seen by the watch: an object as the cluster has it (its text is what is stored),
/// or gone.
#[derive(Debug, Clone)]
pub enum LiveChange<O = Object> {
    Upsert { key: ObjectKey, object: O },
    Delete { key: ObjectKey },
}

/// The store's page cache. redb's default (1 GiB) keeps every page written or read until it
/// reaches that size: a fabric of 50,000 objects would keep its whole store file (~100 MB) in
/// memory beside the objects the engine holds anyway. What is read back is read at start-up
/// or on demand (history, timeline), and writes are appended bursts: a small cache serves it.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

pub struct Store {
    db: Database,
    path: PathBuf,
    /// How much timeline each fabric keeps (`set_timeline_limits`).
    timeline_limits: TimelineLimits,
}

fn object_key(fabric: &str, key: &ObjectKey) -> String {
    format!(
        "{fabric}{SEP}{}{SEP}{}{SEP}{}",
        key.kind, key.namespace, key.name
    )
}

/// A desired object's record: the JSON `DesiredObject` deserializes from, with the object's
/// text copied as it is (serde would stream it through a parser, which refuses nesting that
/// only a reader should refuse: such a record is written, and reading it is the error that
/// names it).
fn write_desired(buffer: &mut Vec<u8>, object: &DesiredObject) {
    buffer.extend_from_slice(b"{\"key\":");
    serde_json::to_writer(&mut *buffer, &object.key).expect("a key serialises");
    buffer.extend_from_slice(b",\"object\":");
    buffer.extend_from_slice(object.object.json().as_bytes());
    buffer.extend_from_slice(b",\"source\":");
    serde_json::to_writer(&mut *buffer, &object.source).expect("a source serialises");
    buffer.push(b'}');
}

fn parse_object_key(raw: &str) -> Option<ObjectKey> {
    let mut parts = raw.split(SEP).skip(1);
    Some(ObjectKey {
        kind: parts.next()?.to_string(),
        namespace: parts.next()?.to_string(),
        name: parts.next()?.to_string(),
    })
}

/// The key range holding every object of one fabric.
fn fabric_range(fabric: &str) -> (String, String) {
    (format!("{fabric}{SEP}"), format!("{fabric}{}", '\u{20}'))
}

impl Store {
    /// Opens (or creates) the store, checking its schema version.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::xdg::create_private_dir(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        // redb would create the file under the umask (0644 typically); it holds private
        // repository contents and cluster objects, so it is made 0600 first.
        crate::xdg::create_private_file(path).map_err(|error| StoreError::Database {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|error| match error {
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse {
                    path: path.to_path_buf(),
                },
                other => StoreError::Database {
                    path: path.to_path_buf(),
                    message: other.to_string(),
                },
            })?;
        let store = Store {
            db,
            path: path.to_path_buf(),
            timeline_limits: TimelineLimits::default(),
        };
        store.check_schema()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets how much timeline each fabric keeps (from `[timeline]`); applied on each append.
    pub fn set_timeline_limits(&mut self, limits: TimelineLimits) {
        self.timeline_limits = limits;
    }

    pub fn timeline_limits(&self) -> TimelineLimits {
        self.timeline_limits
    }

    fn db_error(&self, error: impl std::fmt::Display) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            message: error.to_string(),
        }
    }

    fn decode<T: for<'de> Deserialize<'de>>(
        &self,
        bytes: &[u8],
        record: impl FnOnce() -> Record,
    ) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|source| StoreError::Unreadable {
            path: self.path.clone(),
            record: Box::new(record()),
            source,
        })
    }

    fn status_record(fabric: &str) -> impl FnOnce() -> Record {
        let fabric = fabric.to_string();
        || Record::Status { fabric }
    }

    /// Reads a fabric's status for a rewrite. A record that cannot be decoded is replaced by a
    /// fresh one (state NeverSynced, so nothing trusts the desired set until a sync): that is
    /// how `hhdash sync` repairs it, as the read error promises.
    fn status_for_rewrite(&self, bytes: Option<&[u8]>, fabric: &str) -> FabricStatus {
        bytes
            .and_then(|bytes| self.decode(bytes, Self::status_record(fabric)).ok())
            .unwrap_or_default()
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.db_error(e))?;
        let found = {
            let mut meta = txn.open_table(META).map_err(|e| self.db_error(e))?;
            let found = meta
                .get("schema_version")
                .map_err(|e| self.db_error(e))?
                .map(|v| v.value());
            if found.is_none() {
                meta.insert("schema_version", SCHEMA_VERSION)
                    .map_err(|e| self.db_error(e))?;
            }
            // Every table exists from the start, so readers never meet a missing table.
            txn.open_table(FABRICS).map_err(|e| self.db_error(e))?;
            txn.open_table(DESIRED).map_err(|e| self.db_error(e))?;
            txn.open_table(LIVE).map_err(|e| self.db_error(e))?;
            txn.open_table(RESOURCES).map_err(|e| self.db_error(e))?;
            txn.open_table(SECRETS).map_err(|e| self.db_error(e))?;
            txn.open_table(timeline::KEPT)
                .map_err(|e| self.db_error(e))?;
            txn.open_table(timeline::CHATTER)
                .map_err(|e| self.db_error(e))?;
            txn.open_table(timeline::BYTES)
                .map_err(|e| self.db_error(e))?;
            txn.open_table(timeline::SEEN)
                .map_err(|e| self.db_error(e))?;
            txn.open_table(snapshots::SNAPSHOTS)
                .map_err(|e| self.db_error(e))?;
            found
        };
        match found {
            // A schema-1 store's event log moves into the timeline in this same transaction:
            // the file also holds encrypted tokens, so it is never the user's job to move it.
            Some(1) => {
                self.migrate_events_in(&txn)?;
                txn.open_table(META)
                    .map_err(|e| self.db_error(e))?
                    .insert("schema_version", SCHEMA_VERSION)
                    .map_err(|e| self.db_error(e))?;
                txn.commit().map_err(|e| self.db_error(e))
            }
            Some(found) if found != SCHEMA_VERSION => Err(StoreError::SchemaMismatch {
                path: self.path.clone(),
                found,
                expected: SCHEMA_VERSION,
            }),
            _ => txn.commit().map_err(|e| self.db_error(e)),
        }
    }

    /// Names of every fabric the store has a status for.
    pub fn fabrics(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.db_error(e))?;
        let table = txn.open_table(FABRICS).map_err(|e| self.db_error(e))?;
        let mut names = Vec::new();
        for entry in table.iter().map_err(|e| self.db_error(e))? {
            let (key, _) = entry.map_err(|e| self.db_error(e))?;
            names.push(key.value().to_string());
        }
        Ok(names)
    }

    pub fn fabric_status(&self, fabric: &str) -> Result<FabricStatus, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.db_error(e))?;
        let table = txn.open_table(FABRICS).map_err(|e| self.db_error(e))?;
        match table.get(fabric).map_err(|e| self.db_error(e))? {
            Some(bytes) => self.decode(bytes.value(), Self::status_record(fabric)),
            None => Ok(FabricStatus::default()),
        }
    }

    /// Read-modify-write of a fabric's status in one transaction, plus events to log with it.
    pub fn update_fabric_status(
        &self,
        fabric: &str,
        events: &[LogEntry],
        change: impl FnOnce(&mut FabricStatus),
    ) -> Result<FabricStatus, StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.db_error(e))?;
        let status = {
            let mut table = txn.open_table(FABRICS).map_err(|e| self.db_error(e))?;
            let mut status = {
                let stored = table.get(fabric).map_err(|e| self.db_error(e))?;
                self.status_for_rewrite(stored.as_ref().map(|b| b.value()), fabric)
            };
            change(&mut status);
            let bytes = serde_json::to_vec(&status).expect("status serialises");
            table
                .insert(fabric, bytes.as_slice())
                .map_err(|e| self.db_error(e))?;
            status
        };
        self.append_events_in(&txn, fabric, events)?;
        txn.commit().map_err(|e| self.db_error(e))?;
        Ok(status)
    }

    /// Replaces a fabric's whole desired set and its sync status in ONE write transaction.
    /// If `objects` yields an error part-way, nothing is written and the previous set stays.
    pub fn replace_desired<O: Borrow<DesiredObject>, E: std::fmt::Display>(
        &self,
        fabric: &str,
        objects: impl IntoIterator<Item = Result<O, E>>,
        change_status: impl FnOnce(&mut FabricStatus),
        events: &[LogEntry],
    ) -> Result<usize, StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.db_error(e))?;
        let mut written = 0;
        {
            let mut table = txn.open_table(DESIRED).map_err(|e| self.db_error(e))?;
            let (start, end) = fabric_range(fabric);
            table
                .retain_in(start.as_str()..end.as_str(), |_, _| false)
                .map_err(|e| self.db_error(e))?;
            let mut buffer = Vec::with_capacity(4096);
            for object in objects {
                // Returning early drops `txn` uncommitted: redb aborts it.
                let object = object.map_err(|e| StoreError::Aborted(e.to_string()))?;
                let object: &DesiredObject = object.borrow();
                buffer.clear();
                write_desired(&mut buffer, object);
                table
                    .insert(object_key(fabric, &object.key).as_str(), buffer.as_slice())
                    .map_err(|e| self.db_error(e))?;
                written += 1;
            }
        }
        {
            let mut table = txn.open_table(FABRICS).map_err(|e| self.db_error(e))?;
            let mut status = {
                let stored = table.get(fabric).map_err(|e| self.db_error(e))?;
                self.status_for_rewrite(stored.as_ref().map(|b| b.value()), fabric)
            };
            change_status(&mut status);
            let bytes = serde_json::to_vec(&status).expect("status serialises");
            table
                .insert(fabric, bytes.as_slice())
                .map_err(|e| self.db_error(e))?;
        }
        self.append_events_in(&txn, fabric, events)?;
        txn.commit().map_err(|e| self.db_error(e))?;
        Ok(written)
    }

    /// Every desired object of a fabric, ordered by (kind, namespace, name).
    pub fn desired(&self, fabric: &str) -> Result<Vec<DesiredObject>, StoreError> {
        self.scan(DESIRED, fabric, |store, key, bytes| {
            store.decode(bytes, || Record::Desired {
                fabric: fabric.to_string(),
                key: parse_object_key(key).expect("store keys are composite"),
            })
        })
    }

    /// Desired objects per kind, counted from the store (the one place counts come from).
    pub fn desired_counts(&self, fabric: &str) -> Result<BTreeMap<String, usize>, StoreError> {
        let mut counts = BTreeMap::new();
        self.scan(DESIRED, fabric, |_, key, _| {
            if let Some(key) = parse_object_key(key) {
                *counts.entry(key.kind).or_insert(0) += 1;
            }
            Ok(())
        })?;
        Ok(counts)
    }

    /// Every live object of a fabric as last seen by the watch.
    pub fn live(&self, fabric: &str) -> Result<Vec<(ObjectKey, Object)>, StoreError> {
        self.scan(LIVE, fabric, |store, key, bytes| {
            let key = parse_object_key(key).expect("store keys are composite");
            let record = || Record::Live {
                fabric: fabric.to_string(),
                key: key.clone(),
            };
            // Objects enter already cut down (`cluster::live_entry`); a store written by an
            // older hhdash may still hold whole Agents, which must not reach the screen either.
            let cut = crate::kinds::by_kind(&key.kind).filter(|info| info.cuts_live_fields());
            let object = match cut {
                Some(info) => Object::new(&info.keep_live_fields(store.decode(bytes, record)?)),
                None => store.decode(bytes, record)?,
            };
            Ok((key, object))
        })
    }

    pub fn resource_statuses(
        &self,
        fabric: &str,
    ) -> Result<Vec<(ObjectKey, ResourceStatus)>, StoreError> {
        self.scan(RESOURCES, fabric, |store, key, bytes| {
            let key = parse_object_key(key).expect("store keys are composite");
            let status = store.decode(bytes, || Record::Resource {
                fabric: fabric.to_string(),
                key: key.clone(),
            })?;
            Ok((key, status))
        })
    }

    /// Applies a burst of watch changes and resource statuses in one transaction.
    pub fn write_live(
        &self,
        fabric: &str,
        changes: &[LiveChange],
        statuses: &[(ObjectKey, ResourceStatus)],
        events: &[LogEntry],
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.db_error(e))?;
        {
            let mut live = txn.open_table(LIVE).map_err(|e| self.db_error(e))?;
            for change in changes {
                match change {
                    LiveChange::Upsert { key, object } => {
                        live.insert(object_key(fabric, key).as_str(), object.json().as_bytes())
                            .map_err(|e| self.db_error(e))?;
                    }
                    LiveChange::Delete { key } => {
                        live.remove(object_key(fabric, key).as_str())
                            .map_err(|e| self.db_error(e))?;
                    }
                }
            }
            let mut resources = txn.open_table(RESOURCES).map_err(|e| self.db_error(e))?;
            for (key, status) in statuses {
                let bytes = serde_json::to_vec(status).expect("status serialises");
                resources
                    .insert(object_key(fabric, key).as_str(), bytes.as_slice())
                    .map_err(|e| self.db_error(e))?;
            }
        }
        self.append_events_in(&txn, fabric, events)?;
        txn.commit().map_err(|e| self.db_error(e))
    }

    /// Stores an already-encrypted secret for a fabric's slot (e.g. "kubernetes-token").
    pub fn put_secret(&self, fabric: &str, slot: &str, sealed: &[u8]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.db_error(e))?;
        {
            let mut table = txn.open_table(SECRETS).map_err(|e| self.db_error(e))?;
            table
                .insert(format!("{fabric}{SEP}{slot}").as_str(), sealed)
                .map_err(|e| self.db_error(e))?;
        }
        txn.commit().map_err(|e| self.db_error(e))
    }

    pub fn secret(&self, fabric: &str, slot: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.db_error(e))?;
        let table = txn.open_table(SECRETS).map_err(|e| self.db_error(e))?;
        Ok(table
            .get(format!("{fabric}{SEP}{slot}").as_str())
            .map_err(|e| self.db_error(e))?
            .map(|v| v.value().to_vec()))
    }

    fn scan<T>(
        &self,
        definition: TableDefinition<&str, &[u8]>,
        fabric: &str,
        mut each: impl FnMut(&Self, &str, &[u8]) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.db_error(e))?;
        let table = txn.open_table(definition).map_err(|e| self.db_error(e))?;
        let (start, end) = fabric_range(fabric);
        let mut out = Vec::new();
        for entry in table
            .range(start.as_str()..end.as_str())
            .map_err(|e| self.db_error(e))?
        {
            let (key, value) = entry.map_err(|e| self.db_error(e))?;
            out.push(each(self, key.value(), value.value())?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes raw bytes where a record belongs, as a different hhdash version might have.
    fn put_raw<K: redb::Key + 'static>(
        store: &Store,
        table: TableDefinition<K, &[u8]>,
        key: K::SelfType<'_>,
        bytes: &[u8],
    ) {
        let txn = store.db.begin_write().unwrap();
        txn.open_table(table).unwrap().insert(key, bytes).unwrap();
        txn.commit().unwrap();
    }

    #[test]
    fn a_desired_record_is_what_serde_writes_and_reads_back_whole() {
        let object = DesiredObject {
            key: ObjectKey {
                kind: "VPC".into(),
                namespace: "default".into(),
                name: "vpc-1".into(),
            },
            object: Object::new(&serde_json::json!({"kind": "VPC", "spec": {"vlan": 1001}})),
            source: crate::desired::Source {
                file: "vpcs.yaml".into(),
                document: 2,
                line: 14,
                commit: "3f2a9c1d".into(),
            },
        };
        let mut record = Vec::new();
        write_desired(&mut record, &object);
        // Records written before objects were held as text, and by any serde writer, are the
        // same bytes: old stores read, new ones are read by old readers.
        assert_eq!(record, serde_json::to_vec(&object).unwrap());
        let back: DesiredObject = serde_json::from_slice(&record).unwrap();
        assert_eq!(back, object);
    }

    #[test]
    fn an_unreadable_status_names_itself_and_a_status_write_replaces_it() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::open(&temp.path().join("s.redb")).unwrap();
        put_raw(&store, FABRICS, "east", b"{\"sync\": 7}");
        let error = store.fabric_status("east").unwrap_err().to_string();
        assert!(
            error.contains("cannot read the stored status of fabric east")
                && error.contains("run `hhdash sync east`")
                && !error.contains("corrupt"),
            "{error}"
        );
        // What the remedy relies on: the next status write starts from a fresh record.
        store
            .update_fabric_status("east", &[], |s| s.sync.skipped = 3)
            .unwrap();
        let status = store.fabric_status("east").unwrap();
        assert_eq!(status.sync.skipped, 3);
        assert_eq!(status.sync.state, crate::status::SyncState::NeverSynced);
    }

    #[test]
    fn an_unreadable_event_shows_as_an_error_line_not_a_lost_log() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::open(&temp.path().join("s.redb")).unwrap();
        let now = crate::time::now();
        let event = |message: &str| LogEntry {
            time: now,
            what: LogKind::Sync,
            object: None,
            message: message.into(),
            key: None,
        };
        store
            .append_log("east", &[event("first"), event("second")])
            .unwrap();
        put_raw(&store, timeline::KEPT, ("east", now, 0), b"not json");
        let events = store.log("east", 10).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].what, LogKind::Error);
        assert!(
            events[0]
                .message
                .contains("timeline entry #0 cannot be read"),
            "{}",
            events[0].message
        );
        assert_eq!(events[1].message, "second");
    }
}
