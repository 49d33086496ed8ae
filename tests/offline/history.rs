//! `hhdash history` on a store filled through the library (no cluster): a window given with
//! `--since`/`--until` (RFC 3339 or durations) returns exactly its entries, `--object` and
//! `--kind` select, `--object` tells when the object started drifting and what else started
//! at the same sync, and bad arguments are errors that say what to write.

use crate::common;

use hhdash::kinds::ObjectKey;
use hhdash::store::{DriftSnapshot, DriftedObject, LogEntry, LogKind, Store};

fn vpc(name: &str) -> ObjectKey {
    ObjectKey {
        kind: "VPC".into(),
        namespace: "default".into(),
        name: name.into(),
    }
}

fn line(time: i64, what: LogKind, object: Option<&str>, message: &str) -> LogEntry {
    LogEntry {
        time,
        what,
        object: object.map(|o| format!("VPC/{o}")),
        message: message.into(),
        key: object.map(vpc),
    }
}

struct Filled {
    _temp: tempfile::TempDir,
    dir: std::path::PathBuf,
    config: std::path::PathBuf,
    /// The first entry's time; entry i is at base + 10 i.
    base: i64,
}

/// 60 entries, one every 10 s over the last 10 minutes (kinds rotating through drift, sync,
/// modified), and two drift snapshots.
fn filled() -> Filled {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_path_buf();
    let config = common::config_for(&dir, &dir.join("repo"), &[("east", "f")]);
    let now = hhdash::status::now();
    let base = now - 600;
    let store = Store::open(&dir.join("store.redb")).unwrap();
    let entries: Vec<LogEntry> = (0..60)
        .map(|i| {
            let time = base + 10 * i;
            match i % 3 {
                0 => line(
                    time,
                    LogKind::Drift,
                    Some(&format!("v{}", i % 4)),
                    &format!("#{i}"),
                ),
                1 => line(time, LogKind::Sync, None, &format!("#{i}")),
                _ => line(time, LogKind::Modified, Some("v1"), &format!("#{i}")),
            }
        })
        .collect();
    store.append_log("east", &entries).unwrap();
    let drifted = |name: &str| DriftedObject {
        key: vpc(name),
        object: format!("VPC/{name}"),
        verdict: hhdash::drift::DriftKindTag::Drifted,
        paths: vec!["spec.subnets.default.vlan".into()],
    };
    let snapshot = |time, commit: &str, objects| DriftSnapshot {
        time,
        commit: Some(commit.into()),
        objects,
    };
    store
        .record_drift_snapshot("east", &snapshot(base, "aaaaaaa111", vec![drifted("v9")]))
        .unwrap();
    store
        .record_drift_snapshot(
            "east",
            &snapshot(
                base + 300,
                "bbbbbbb222",
                vec![drifted("v0"), drifted("v8"), drifted("v9")],
            ),
        )
        .unwrap();
    Filled {
        _temp: temp,
        dir,
        config,
        base,
    }
}

fn history(filled: &Filled, args: &[&str]) -> std::process::Output {
    let mut all = vec!["history", "east"];
    all.extend_from_slice(args);
    common::hhdash(&filled.dir, &filled.config, &all)
}

fn json_messages(output: &std::process::Output) -> Vec<String> {
    assert!(output.status.success(), "{}", common::output_text(output));
    let array: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    array
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect()
}

fn numbered(range: impl Iterator<Item = i64>) -> Vec<String> {
    range.map(|i| format!("#{i}")).collect()
}

#[test]
fn a_window_returns_exactly_its_entries_as_json_with_rfc3339_times() {
    let filled = filled();
    let at = |i: i64| hhdash::status::format_rfc3339(filled.base + 10 * i);
    // Entries 12..=20 by their own times: both ends included.
    let output = history(&filled, &["--json", "--since", &at(12), "--until", &at(20)]);
    assert_eq!(json_messages(&output), numbered(12..=20));
    let array: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(array[0]["time"], at(12));
    assert_eq!(array[0]["what"], "Drift");
    assert_eq!(array[0]["object"], "VPC/v0");
    // One second past the ends: the neighbours stay out.
    let since = hhdash::status::format_rfc3339(filled.base + 10 * 12 - 1);
    let until = hhdash::status::format_rfc3339(filled.base + 10 * 20 + 1);
    let output = history(&filled, &["--json", "--since", &since, "--until", &until]);
    assert_eq!(json_messages(&output), numbered(12..=20));
    // A duration counts back from now: the last 109 s hold the entries 0..=100 s old (the
    // store was filled less than 9 s ago).
    let output = history(&filled, &["--json", "--since", "109s"]);
    assert_eq!(json_messages(&output), numbered(50..60));
}

#[test]
fn object_and_kind_select_and_the_object_tells_when_it_started_drifting() {
    let filled = filled();
    let output = history(
        &filled,
        &["--json", "--object", "VPC/v0", "--kind", "drift"],
    );
    assert_eq!(
        json_messages(&output),
        numbered((0..60).filter(|i| i % 3 == 0 && i % 4 == 0))
    );
    let output = history(&filled, &["--object", "vpc/v0", "--since", "1m"]);
    let text = common::output_text(&output);
    assert!(output.status.success(), "{text}");
    let since = hhdash::status::format_utc(filled.base + 300);
    assert!(
        text.contains(&format!(
            "VPC/v0: drifted (spec.subnets.default.vlan) since {since}, first seen at the sync of commit bbbbbbb"
        )),
        "{text}"
    );
    assert!(
        text.contains("started drifting at the same sync:\n  VPC/v8  drifted\n"),
        "v9 drifted before, so only v8 started with v0: {text}"
    );
}

#[test]
fn bad_times_and_kinds_are_errors_that_say_what_to_write() {
    let filled = filled();
    let output = history(&filled, &["--since", "yesterday"]);
    assert_eq!(output.status.code(), Some(2));
    let text = common::output_text(&output);
    assert!(
        text.contains("--since \"yesterday\": not a duration or a time"),
        "{text}"
    );
    let output = history(&filled, &["--kind", "drfit"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(common::output_text(&output).contains("use added, modified"));
    let output = history(&filled, &["--since", "1m", "--until", "1h"]);
    assert!(common::output_text(&output).contains("swap them"));
}
