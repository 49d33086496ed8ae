//! store::timeline: each fabric's timeline — every log line the engine writes, kept across
//! restarts and bounded by age and size, never by a count a watch storm can flush. Lines go to
//! one of two tables keyed by (fabric, time, sequence), so a time window is one range read:
//! the lines that matter (drift, apply, sync, connection, health, errors) have their own large
//! budget; object chatter (added/modified/deleted, watch lines) a smaller one and is evicted
//! first. Also the operator's "seen up to" time per fabric.

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::{LogEntry, LogKind, Store, StoreError, TimelineQuery};
use crate::kinds::ObjectKey;
use crate::status::Timestamp;

/// (fabric, time, sequence) → a JSON `LogEntry`. The sequence (one counter for the store)
/// keeps lines of the same second in the order they were written.
pub(super) type TimelineTable = TableDefinition<'static, (&'static str, i64, u64), &'static [u8]>;

pub(super) const KEPT: TimelineTable = TableDefinition::new("timeline_kept");
pub(super) const CHATTER: TimelineTable = TableDefinition::new("timeline_chatter");
/// (fabric, class) → payload bytes stored, so a budget is checked without a scan.
pub(super) const BYTES: TableDefinition<(&str, u8), u64> = TableDefinition::new("timeline_bytes");
/// fabric → the time up to which the operator has looked at the timeline.
pub(super) const SEEN: TableDefinition<&str, i64> = TableDefinition::new("timeline_seen");
/// The next sequence number, in the `meta` table.
pub(super) const SEQUENCE_KEY: &str = "timeline_sequence";

/// How much timeline each fabric keeps (`[timeline]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineLimits {
    /// Entries older than this many seconds are dropped.
    pub max_age_secs: i64,
    /// Payload bytes per fabric, split between the classes (see `Class::budget`).
    pub max_bytes: u64,
}

impl Default for TimelineLimits {
    fn default() -> Self {
        TimelineLimits {
            max_age_secs: 7 * 86_400,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Which budget an entry counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// Drift, apply, sync, connection, health and error lines: what an incident needs.
    Kept,
    /// Object added/modified/deleted and watch lines: evicted first.
    Chatter,
    /// Drift snapshots (`store::snapshots`).
    Snapshots,
}

impl Class {
    pub(super) fn of(what: LogKind) -> Class {
        match what {
            LogKind::Added | LogKind::Modified | LogKind::Deleted | LogKind::Watch => {
                Class::Chatter
            }
            LogKind::Drift
            | LogKind::Sync
            | LogKind::Apply
            | LogKind::Connection
            | LogKind::Error
            | LogKind::Health => Class::Kept,
        }
    }

    pub(super) fn id(self) -> u8 {
        match self {
            Class::Kept => 0,
            Class::Chatter => 1,
            Class::Snapshots => 2,
        }
    }

    pub(super) fn table(self) -> TimelineTable {
        match self {
            Class::Kept => KEPT,
            Class::Chatter => CHATTER,
            Class::Snapshots => super::snapshots::SNAPSHOTS,
        }
    }

    /// Three quarters of `max_bytes` for the lines that matter, an eighth each for chatter and
    /// drift snapshots: a storm can only ever fill its own eighth.
    pub(super) fn budget(self, limits: &TimelineLimits) -> u64 {
        let eighth = limits.max_bytes / 8;
        match self {
            Class::Kept => limits.max_bytes - 2 * eighth,
            Class::Chatter | Class::Snapshots => eighth,
        }
    }
}

/// One row as read: its time, sequence and value.
type StoredRow = (Timestamp, u64, Vec<u8>);

/// What one stored row costs against a budget: its value and its key.
pub(super) fn row_bytes(fabric: &str, value: &[u8]) -> u64 {
    (fabric.len() + 16 + value.len()) as u64
}

/// Whether `entry` is about the object a query names (`Kind/name` or `Kind/namespace/name`,
/// as the fabric names it in `object`, or through the entry's key).
pub(super) fn names_object(entry: &LogEntry, wanted: &str) -> bool {
    entry.object.as_deref() == Some(wanted)
        || entry.key.as_ref().is_some_and(|key| key_named(key, wanted))
}

pub(super) fn key_named(key: &ObjectKey, wanted: &str) -> bool {
    let mut parts = wanted.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(kind), Some(name), None, None) => key.kind == kind && key.name == name,
        (Some(kind), Some(namespace), Some(name), None) => {
            key.kind == kind && key.namespace == namespace && key.name == name
        }
        _ => false,
    }
}

impl Store {
    /// Appends rows of one class for a fabric, then enforces that class's age and size bounds.
    pub(super) fn append_rows_in(
        &self,
        txn: &redb::WriteTransaction,
        fabric: &str,
        class: Class,
        rows: &[(Timestamp, Vec<u8>)],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut sequence = {
            let meta = txn.open_table(super::META).map_err(|e| self.db_error(e))?;
            let next = meta.get(SEQUENCE_KEY).map_err(|e| self.db_error(e))?;
            next.map(|v| v.value()).unwrap_or(0)
        };
        let mut added = 0;
        {
            let mut table = txn
                .open_table(class.table())
                .map_err(|e| self.db_error(e))?;
            for (time, bytes) in rows {
                table
                    .insert((fabric, *time, sequence), bytes.as_slice())
                    .map_err(|e| self.db_error(e))?;
                sequence += 1;
                added += row_bytes(fabric, bytes);
            }
        }
        txn.open_table(super::META)
            .map_err(|e| self.db_error(e))?
            .insert(SEQUENCE_KEY, sequence)
            .map_err(|e| self.db_error(e))?;
        let stored = self.class_bytes(txn, fabric, class)? + added;
        let stored = self.evict(txn, fabric, class, stored)?;
        self.set_class_bytes(txn, fabric, class, stored)
    }

    fn class_bytes(
        &self,
        txn: &redb::WriteTransaction,
        fabric: &str,
        class: Class,
    ) -> Result<u64, StoreError> {
        let table = txn.open_table(BYTES).map_err(|e| self.db_error(e))?;
        let stored = table
            .get((fabric, class.id()))
            .map_err(|e| self.db_error(e))?;
        Ok(stored.map(|v| v.value()).unwrap_or(0))
    }

    pub(super) fn set_class_bytes(
        &self,
        txn: &redb::WriteTransaction,
        fabric: &str,
        class: Class,
        bytes: u64,
    ) -> Result<(), StoreError> {
        txn.open_table(BYTES)
            .map_err(|e| self.db_error(e))?
            .insert((fabric, class.id()), bytes)
            .map_err(|e| self.db_error(e))?;
        Ok(())
    }

    /// Drops a class's rows older than the age bound, then its oldest rows while it is over
    /// budget — down to 15/16 of it, so a full timeline does not evict on every append.
    /// Returns the bytes left.
    fn evict(
        &self,
        txn: &redb::WriteTransaction,
        fabric: &str,
        class: Class,
        mut stored: u64,
    ) -> Result<u64, StoreError> {
        let limits = self.timeline_limits;
        let cutoff = crate::time::now().saturating_sub(limits.max_age_secs);
        let mut table = txn
            .open_table(class.table())
            .map_err(|e| self.db_error(e))?;
        let start = (fabric, i64::MIN, 0);
        let oldest = table
            .range(start..)
            .map_err(|e| self.db_error(e))?
            .next()
            .transpose()
            .map_err(|e| self.db_error(e))?
            .filter(|(key, _)| key.value().0 == fabric)
            .map(|(key, _)| key.value().1);
        if oldest.is_some_and(|oldest| oldest < cutoff) {
            let mut freed = 0;
            table
                .retain_in(start..(fabric, cutoff, 0), |_, value| {
                    freed += row_bytes(fabric, value);
                    false
                })
                .map_err(|e| self.db_error(e))?;
            stored = stored.saturating_sub(freed);
        }
        let budget = class.budget(&limits);
        if stored > budget {
            let target = budget / 16 * 15;
            let mut last = None;
            for row in table
                .range(start..=(fabric, i64::MAX, u64::MAX))
                .map_err(|e| self.db_error(e))?
            {
                if stored <= target {
                    break;
                }
                let (key, value) = row.map_err(|e| self.db_error(e))?;
                stored = stored.saturating_sub(row_bytes(fabric, value.value()));
                let (_, time, sequence) = key.value();
                last = Some((time, sequence));
            }
            if let Some((time, sequence)) = last {
                table
                    .retain_in(start..=(fabric, time, sequence), |_, _| false)
                    .map_err(|e| self.db_error(e))?;
            }
        }
        Ok(stored)
    }

    pub(super) fn append_events_in(
        &self,
        txn: &redb::WriteTransaction,
        fabric: &str,
        events: &[LogEntry],
    ) -> Result<(), StoreError> {
        let mut kept = Vec::new();
        let mut chatter = Vec::new();
        for event in events {
            let bytes = serde_json::to_vec(event).expect("event serialises");
            match Class::of(event.what) {
                Class::Chatter => chatter.push((event.time, bytes)),
                _ => kept.push((event.time, bytes)),
            }
        }
        self.append_rows_in(txn, fabric, Class::Kept, &kept)?;
        self.append_rows_in(txn, fabric, Class::Chatter, &chatter)
    }

    /// Appends events to a fabric's timeline (bounded by `TimelineLimits`).
    pub fn append_log(&self, fabric: &str, events: &[LogEntry]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.db_error(e))?;
        self.append_events_in(&txn, fabric, events)?;
        txn.commit().map_err(|e| self.db_error(e))
    }

    /// The newest `limit` events of a fabric, oldest first.
    pub fn log(&self, fabric: &str, limit: usize) -> Result<Vec<LogEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.timeline(
            fabric,
            &TimelineQuery {
                limit,
                ..TimelineQuery::default()
            },
        )
    }

    /// The entries of a fabric's timeline that `query` selects, oldest first. Both tables are
    /// read newest first over the query's time range and merged, so a window (or the newest
    /// `limit` lines) costs what it returns, not what the timeline holds.
    pub fn timeline(
        &self,
        fabric: &str,
        query: &TimelineQuery,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let wants = |class: Class| {
            query.kinds.is_empty() || query.kinds.iter().any(|k| Class::of(*k) == class)
        };
        let since = query.since.unwrap_or(i64::MIN);
        let until = query.until.unwrap_or(i64::MAX);
        if since > until {
            return Ok(Vec::new());
        }
        let range = (fabric, since, 0u64)..=(fabric, until, u64::MAX);
        let txn = self.db.begin_read().map_err(|e| self.db_error(e))?;
        let newest_first = |definition: TimelineTable, wanted: bool| -> Result<_, StoreError> {
            let rows = if wanted {
                let table = txn.open_table(definition).map_err(|e| self.db_error(e))?;
                Some(table.range(range.clone()).map_err(|e| self.db_error(e))?)
            } else {
                None
            };
            Ok(rows
                .into_iter()
                .flat_map(|rows| rows.rev())
                .map(|row| {
                    row.map(|(key, bytes)| {
                        let (_, time, sequence) = key.value();
                        (time, sequence, bytes.value().to_vec())
                    })
                })
                .peekable())
        };
        let mut kept = newest_first(KEPT, wants(Class::Kept))?;
        let mut chatter = newest_first(CHATTER, wants(Class::Chatter))?;
        // An object's name is in the bytes of every line about it (in `object` and `key`):
        // lines without it are skipped undecoded, so an object's history over a full
        // timeline costs a byte search per line, not a JSON parse.
        let needle = query
            .object
            .as_deref()
            .and_then(|o| o.rsplit('/').next())
            .map(str::as_bytes)
            .filter(|name| !name.is_empty());
        let mut entries = Vec::new();
        loop {
            // An error row sorts first, so it is reported at once.
            let order = |row: Option<&Result<StoredRow, redb::StorageError>>| {
                row.map(|row| match row {
                    Ok((time, sequence, _)) => (*time, *sequence),
                    Err(_) => (i64::MAX, u64::MAX),
                })
            };
            let take_kept = match (order(kept.peek()), order(chatter.peek())) {
                (None, None) => break,
                (Some(k), Some(c)) => k > c,
                (kept, _) => kept.is_some(),
            };
            let row = if take_kept {
                kept.next()
            } else {
                chatter.next()
            };
            let Some(row) = row else { break };
            let (time, sequence, bytes) = row.map_err(|e| self.db_error(e))?;
            if needle.is_some_and(|name| !bytes.windows(name.len()).any(|w| w == name)) {
                continue;
            }
            let entry = decode_entry(&bytes, time, sequence);
            let selected = (query.kinds.is_empty() || query.kinds.contains(&entry.what))
                && query
                    .object
                    .as_deref()
                    .is_none_or(|wanted| names_object(&entry, wanted));
            if selected {
                entries.push(entry);
                if query.limit > 0 && entries.len() == query.limit {
                    break;
                }
            }
        }
        entries.reverse();
        Ok(entries)
    }

    /// Remembers that the operator has looked at a fabric's timeline up to `time`.
    pub fn mark_seen(&self, fabric: &str, time: Timestamp) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.db_error(e))?;
        txn.open_table(SEEN)
            .map_err(|e| self.db_error(e))?
            .insert(fabric, time)
            .map_err(|e| self.db_error(e))?;
        txn.commit().map_err(|e| self.db_error(e))
    }

    /// Up to when the operator has looked at a fabric's timeline (None: never).
    pub fn seen(&self, fabric: &str) -> Result<Option<Timestamp>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.db_error(e))?;
        let table = txn.open_table(SEEN).map_err(|e| self.db_error(e))?;
        let seen = table.get(fabric).map_err(|e| self.db_error(e))?;
        Ok(seen.map(|v| v.value()))
    }
}

/// One stored line; one that cannot be read shows as an error line at its time rather than
/// hiding the rest of the timeline.
fn decode_entry(bytes: &[u8], time: Timestamp, sequence: u64) -> LogEntry {
    serde_json::from_slice(bytes).unwrap_or_else(|error| LogEntry {
        time,
        what: LogKind::Error,
        object: None,
        message: format!("timeline entry #{sequence} cannot be read from the store: {error}"),
        key: None,
    })
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
