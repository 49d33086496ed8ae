//! store::migrate: brings a store written by an older hhdash forward, in the transaction that
//! opens it. The store also holds the encrypted tokens, so an upgrade never asks the user to
//! move the file away.

use redb::{ReadableTable, TableDefinition};

use super::timeline::Class;
use super::{LogEntry, Store, StoreError};
use crate::status::Timestamp;

/// Schema 1's event log: (fabric, sequence) → a JSON `LogEntry`, the newest 2,000 per fabric.
pub(super) const SCHEMA_1_EVENTS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("events");

impl Store {
    /// Moves schema 1's `events` table into the timeline (each line into its class, at its
    /// time, in its order) and drops the old table. A line that cannot be read keeps its bytes
    /// (the timeline shows it as an error line) at the time of the line before it.
    pub(super) fn migrate_events_in(&self, txn: &redb::WriteTransaction) -> Result<(), StoreError> {
        let mut rows: Vec<(String, Class, Timestamp, Vec<u8>)> = Vec::new();
        {
            let table = match txn.open_table(SCHEMA_1_EVENTS) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
                Err(error) => return Err(self.db_error(error)),
            };
            let mut last_time = 0;
            for row in table.iter().map_err(|e| self.db_error(e))? {
                let (key, bytes) = row.map_err(|e| self.db_error(e))?;
                let (fabric, _) = key.value();
                let bytes = bytes.value().to_vec();
                let (class, time) = match serde_json::from_slice::<LogEntry>(&bytes) {
                    Ok(entry) => (Class::of(entry.what), entry.time),
                    Err(_) => (Class::Kept, last_time),
                };
                last_time = time;
                rows.push((fabric.to_string(), class, time, bytes));
            }
        }
        // One at a time, in the old order: the sequence keeps lines of one second in order.
        for (fabric, class, time, bytes) in rows {
            self.append_rows_in(txn, &fabric, class, &[(time, bytes)])?;
        }
        txn.delete_table(SCHEMA_1_EVENTS)
            .map_err(|e| self.db_error(e))?;
        Ok(())
    }
}
