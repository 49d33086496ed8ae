//! The timeline on real redb files: bounds, eviction order, migration, restart survival.

use redb::{ReadableDatabase, TableDefinition};

use super::super::{LogEntry, LogKind, Store, TimelineQuery};
use super::{Class, TimelineLimits};
use crate::kinds::ObjectKey;
use crate::status::Timestamp;

fn entry(time: Timestamp, what: LogKind, message: &str) -> LogEntry {
    LogEntry {
        time,
        what,
        object: None,
        message: message.into(),
        key: None,
    }
}

fn about(time: Timestamp, what: LogKind, name: &str, message: &str) -> LogEntry {
    LogEntry {
        object: Some(format!("VPC/{name}")),
        key: Some(ObjectKey {
            kind: "VPC".into(),
            namespace: "default".into(),
            name: name.into(),
        }),
        ..entry(time, what, message)
    }
}

fn small_store(dir: &std::path::Path) -> Store {
    let mut store = Store::open(&dir.join("s.redb")).unwrap();
    store.set_timeline_limits(TimelineLimits {
        max_age_secs: 7 * 86_400,
        max_bytes: 1 << 20,
    });
    store
}

fn all(store: &Store) -> Vec<LogEntry> {
    store.timeline("east", &TimelineQuery::default()).unwrap()
}

#[test]
fn a_storm_fills_only_its_own_budget_and_every_kept_line_survives_it() {
    let temp = tempfile::tempdir().unwrap();
    let store = small_store(temp.path());
    let now = crate::time::now();
    store
        .append_log("east", &[entry(now - 60, LogKind::Connection, "connected")])
        .unwrap();
    store
        .append_log(
            "east",
            &[about(now - 50, LogKind::Drift, "v1", "InSync → Drifted")],
        )
        .unwrap();
    // 30,000 object changes (~4 MiB of lines, four times the whole budget) in bursts of 100,
    // with a sync line in the middle of the storm.
    for burst in 0..300 {
        let lines: Vec<LogEntry> = (0..100)
            .map(|i| {
                about(
                    now - 40,
                    LogKind::Modified,
                    &format!("v{burst}-{i}"),
                    "modified",
                )
            })
            .collect();
        store.append_log("east", &lines).unwrap();
        if burst == 150 {
            store
                .append_log(
                    "east",
                    &[entry(now - 40, LogKind::Sync, "synced 3 objects")],
                )
                .unwrap();
        }
    }
    let entries = all(&store);
    let kept: Vec<&str> = entries
        .iter()
        .filter(|e| e.what != LogKind::Modified)
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(kept, ["connected", "InSync → Drifted", "synced 3 objects"]);
    let chatter: Vec<&LogEntry> = entries
        .iter()
        .filter(|e| e.what == LogKind::Modified)
        .collect();
    let bytes: u64 = chatter
        .iter()
        .map(|e| super::row_bytes("east", &serde_json::to_vec(e).unwrap()))
        .sum();
    let budget = Class::Chatter.budget(&store.timeline_limits());
    assert!(bytes <= budget, "{bytes} > {budget}");
    assert!(
        bytes > budget / 2,
        "eviction keeps most of the budget: {bytes}"
    );
    assert_eq!(
        chatter.last().unwrap().object.as_deref(),
        Some("VPC/v299-99"),
        "the newest change is kept, the oldest go"
    );
    assert_ne!(chatter[0].object.as_deref(), Some("VPC/v0-0"));
}

#[test]
fn the_lines_that_matter_are_bounded_by_their_own_budget_oldest_first() {
    let temp = tempfile::tempdir().unwrap();
    let store = small_store(temp.path());
    let now = crate::time::now();
    for i in 0..10_000 {
        store
            .append_log(
                "east",
                &[about(
                    now - 10,
                    LogKind::Drift,
                    "v1",
                    &format!("drift #{i}"),
                )],
            )
            .unwrap();
    }
    let entries = all(&store);
    let bytes: u64 = entries
        .iter()
        .map(|e| super::row_bytes("east", &serde_json::to_vec(e).unwrap()))
        .sum();
    assert!(
        bytes <= Class::Kept.budget(&store.timeline_limits()),
        "{bytes}"
    );
    assert!(entries.len() < 10_000, "some were evicted");
    assert_eq!(entries.last().unwrap().message, "drift #9999");
    // Same second, so the sequence keeps the order.
    let first: usize = entries[0].message["drift #".len()..].parse().unwrap();
    assert_eq!(
        entries.len(),
        10_000 - first,
        "a contiguous newest run is kept"
    );
}

#[test]
fn lines_older_than_max_age_go_at_the_next_append() {
    let temp = tempfile::tempdir().unwrap();
    let store = small_store(temp.path());
    let now = crate::time::now();
    let day = 86_400;
    store
        .append_log(
            "east",
            &[
                entry(now - 8 * day, LogKind::Sync, "eight days ago"),
                entry(now - 6 * day, LogKind::Sync, "six days ago"),
            ],
        )
        .unwrap();
    store
        .append_log(
            "east",
            &[entry(now - 8 * day, LogKind::Watch, "old chatter")],
        )
        .unwrap();
    store
        .append_log("east", &[entry(now, LogKind::Apply, "now")])
        .unwrap();
    let messages: Vec<String> = all(&store).into_iter().map(|e| e.message).collect();
    assert_eq!(messages, ["six days ago", "now"]);
}

#[test]
fn a_window_query_returns_exactly_its_entries_merged_in_time_order() {
    let temp = tempfile::tempdir().unwrap();
    let store = small_store(temp.path());
    let base = crate::time::now() - 1000;
    for i in 0..100 {
        let what = if i % 3 == 0 {
            LogKind::Drift
        } else {
            LogKind::Modified
        };
        store
            .append_log(
                "east",
                &[about(
                    base + i,
                    what,
                    &format!("v{}", i % 5),
                    &format!("#{i}"),
                )],
            )
            .unwrap();
    }
    store
        .append_log("west", &[entry(base + 50, LogKind::Sync, "other fabric")])
        .unwrap();
    let window = store
        .timeline(
            "east",
            &TimelineQuery {
                since: Some(base + 20),
                until: Some(base + 29),
                ..TimelineQuery::default()
            },
        )
        .unwrap();
    let messages: Vec<String> = window.iter().map(|e| e.message.clone()).collect();
    let expected: Vec<String> = (20..30).map(|i| format!("#{i}")).collect();
    assert_eq!(messages, expected);
    let drift_of_v0 = store
        .timeline(
            "east",
            &TimelineQuery {
                object: Some("VPC/default/v0".into()),
                kinds: vec![LogKind::Drift],
                limit: 3,
                ..TimelineQuery::default()
            },
        )
        .unwrap();
    let messages: Vec<String> = drift_of_v0.into_iter().map(|e| e.message).collect();
    assert_eq!(
        messages,
        ["#60", "#75", "#90"],
        "the newest three, oldest first"
    );
}

#[test]
fn the_timeline_and_the_seen_marker_survive_a_restart() {
    let temp = tempfile::tempdir().unwrap();
    let now = crate::time::now();
    {
        let store = small_store(temp.path());
        store
            .append_log("east", &[entry(now, LogKind::Sync, "before the restart")])
            .unwrap();
        store.mark_seen("east", now - 5).unwrap();
    }
    let store = small_store(temp.path());
    assert_eq!(all(&store)[0].message, "before the restart");
    assert_eq!(store.seen("east").unwrap(), Some(now - 5));
    assert_eq!(store.seen("west").unwrap(), None);
}

/// Schema 1's layout, as the previous hhdash wrote it.
const OLD_META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const OLD_EVENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("events");
const OLD_SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");

#[test]
fn a_schema_1_store_moves_its_event_log_into_the_timeline_and_keeps_its_secrets() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("old.redb");
    let now = crate::time::now();
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(OLD_META)
            .unwrap()
            .insert("schema_version", 1)
            .unwrap();
        let mut events = txn.open_table(OLD_EVENTS).unwrap();
        // Lines as schema 1 wrote them: no `key` field.
        let line = |time: i64, what: &str, message: &str| {
            format!(r#"{{"time":{time},"what":"{what}","object":null,"message":"{message}"}}"#)
        };
        events
            .insert(
                ("east", 0),
                line(now - 30, "Connection", "connected").as_bytes(),
            )
            .unwrap();
        events
            .insert(
                ("east", 1),
                line(now - 20, "Modified", "modified").as_bytes(),
            )
            .unwrap();
        events.insert(("east", 2), b"not json".as_slice()).unwrap();
        events
            .insert(("east", 3), line(now - 10, "Drift", "drifted").as_bytes())
            .unwrap();
        events
            .insert(("west", 0), line(now - 5, "Sync", "west synced").as_bytes())
            .unwrap();
        drop(events);
        txn.open_table(OLD_SECRETS)
            .unwrap()
            .insert("east\u{1f}kubernetes-token", b"sealed".as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    let lines: Vec<(LogKind, String)> = all(&store)
        .into_iter()
        .map(|e| (e.what, e.message))
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], (LogKind::Connection, "connected".into()));
    assert_eq!(lines[1], (LogKind::Modified, "modified".into()));
    assert_eq!(
        lines[2].0,
        LogKind::Error,
        "an unreadable line stays visible"
    );
    assert_eq!(lines[3], (LogKind::Drift, "drifted".into()));
    assert_eq!(store.log("west", 10).unwrap()[0].message, "west synced");
    assert_eq!(
        store.secret("east", "kubernetes-token").unwrap().as_deref(),
        Some(b"sealed".as_slice())
    );
    // The migrated lines took their classes: a storm now evicts the chatter line, not these.
    drop(store);
    let store = Store::open(&path).unwrap();
    let txn = store.db.begin_read().unwrap();
    assert!(
        matches!(
            txn.open_table(OLD_EVENTS),
            Err(redb::TableError::TableDoesNotExist(_))
        ),
        "the old table is gone"
    );
    let version = txn
        .open_table(OLD_META)
        .unwrap()
        .get("schema_version")
        .unwrap()
        .unwrap()
        .value();
    assert_eq!(version, super::super::SCHEMA_VERSION);
    let chatter = store
        .timeline(
            "east",
            &TimelineQuery {
                kinds: vec![LogKind::Modified, LogKind::Watch],
                ..TimelineQuery::default()
            },
        )
        .unwrap();
    assert_eq!(chatter.len(), 1);
}
