//! storm: keeps a watch storm from flooding the timeline and the event pane. Object change
//! lines (added/modified/deleted) pass one by one up to `LINES_PER_WINDOW` per window of
//! `WINDOW_SECS`; past that, the window's changes are counted per change and kind and logged
//! as one summary line when the window ends. Drift, apply, sync, connection and health lines
//! never come here: they are never folded.

use std::collections::BTreeMap;

use crate::status::Timestamp;
use crate::store::{LogEntry, LogKind};

/// How long one summary window lasts.
pub const WINDOW_SECS: i64 = 10;
/// Object change lines logged one by one per window before the rest are counted.
pub const LINES_PER_WINDOW: usize = 20;

/// The window under way: when it began, how many lines it let through, what it counted.
#[derive(Debug, Default)]
pub struct StormWindow {
    started: Option<Timestamp>,
    passed: usize,
    /// Per change (added, modified, deleted), per object kind.
    counted: BTreeMap<u8, (LogKind, BTreeMap<String, usize>)>,
}

fn is_object_change(entry: &LogEntry) -> bool {
    matches!(
        entry.what,
        LogKind::Added | LogKind::Modified | LogKind::Deleted
    )
}

/// Orders the summary lines added, modified, deleted.
fn rank(what: LogKind) -> u8 {
    match what {
        LogKind::Added => 0,
        LogKind::Modified => 1,
        _ => 2,
    }
}

impl StormWindow {
    /// Thins a burst's log lines at `now`: the summary of a window that has ended comes first,
    /// then the burst's lines with object changes past this window's allowance taken out
    /// (and counted).
    pub fn thin(&mut self, entries: &mut Vec<LogEntry>, now: Timestamp) {
        let mut out = self.due(now);
        for entry in entries.drain(..) {
            if !is_object_change(&entry) {
                out.push(entry);
                continue;
            }
            let started = *self.started.get_or_insert(now);
            if now >= started + WINDOW_SECS {
                out.extend(self.close(now));
                self.started = Some(now);
            }
            if self.passed < LINES_PER_WINDOW {
                self.passed += 1;
                out.push(entry);
            } else {
                let kind = entry
                    .key
                    .as_ref()
                    .map(|key| key.kind.clone())
                    .or_else(|| {
                        entry
                            .object
                            .as_deref()
                            .and_then(|o| o.split('/').next())
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| "?".into());
                let (_, kinds) = self
                    .counted
                    .entry(rank(entry.what))
                    .or_insert_with(|| (entry.what, BTreeMap::new()));
                *kinds.entry(kind).or_default() += 1;
            }
        }
        *entries = out;
    }

    /// The summary of the window if it has ended by `now` (also called on a timer, so a storm
    /// that stops is still summed up).
    pub fn due(&mut self, now: Timestamp) -> Vec<LogEntry> {
        match self.started {
            Some(started) if now >= started + WINDOW_SECS => {
                let summary = self.close(now);
                self.started = None;
                summary
            }
            _ => Vec::new(),
        }
    }

    /// Ends the window: one line per kind of change it counted.
    fn close(&mut self, now: Timestamp) -> Vec<LogEntry> {
        self.passed = 0;
        let seconds = self
            .started
            .map(|started| (now - started).max(1))
            .unwrap_or(WINDOW_SECS);
        std::mem::take(&mut self.counted)
            .into_iter()
            .map(|(_, (what, kinds))| {
                let total: usize = kinds.values().sum();
                let detail: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
                LogEntry {
                    time: now,
                    what,
                    object: None,
                    message: format!(
                        "{total} more objects {} in the cluster in {seconds}s ({})",
                        format!("{what:?}").to_lowercase(),
                        detail.join(", ")
                    ),
                    key: None,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ObjectKey;

    fn change(what: LogKind, kind: &str, name: &str, time: Timestamp) -> LogEntry {
        LogEntry {
            time,
            what,
            object: Some(format!("{kind}/{name}")),
            message: "modified in the cluster".into(),
            key: Some(ObjectKey {
                kind: kind.into(),
                namespace: "default".into(),
                name: name.into(),
            }),
        }
    }

    #[test]
    fn a_storm_of_a_thousand_changes_a_second_logs_a_few_lines_per_window() {
        let mut window = StormWindow::default();
        let mut logged = Vec::new();
        // 30 s at 1,000 modifications a second, in bursts of 100, with a drift line in each.
        for second in 0..30 {
            for burst in 0..10 {
                let mut entries: Vec<LogEntry> = (0..100)
                    .map(|i| {
                        let name = format!("v{}", burst * 100 + i);
                        change(LogKind::Modified, "VPC", &name, 1000 + second)
                    })
                    .collect();
                entries.push(LogEntry {
                    what: LogKind::Drift,
                    ..change(LogKind::Drift, "VPC", "v7", 1000 + second)
                });
                window.thin(&mut entries, 1000 + second);
                logged.extend(entries);
            }
        }
        logged.extend(window.due(1000 + 40));
        let drift = logged.iter().filter(|e| e.what == LogKind::Drift).count();
        assert_eq!(drift, 300, "every drift line passes");
        let changes: Vec<&LogEntry> = logged
            .iter()
            .filter(|e| e.what == LogKind::Modified)
            .collect();
        // Three windows: 20 single lines and one summary each.
        assert_eq!(changes.len(), 3 * (LINES_PER_WINDOW + 1), "{changes:#?}");
        let summaries: Vec<&&LogEntry> = changes.iter().filter(|e| e.key.is_none()).collect();
        assert_eq!(
            summaries[0].message,
            "9980 more objects modified in the cluster in 10s (VPC 9980)"
        );
        assert_eq!(
            summaries[2].message, "9980 more objects modified in the cluster in 20s (VPC 9980)",
            "the last window is summed up by the timer, however late"
        );
    }

    #[test]
    fn a_few_changes_keep_one_line_each() {
        let mut window = StormWindow::default();
        let mut entries = vec![
            change(LogKind::Added, "VPC", "a", 5),
            change(LogKind::Deleted, "VPC", "b", 5),
        ];
        window.thin(&mut entries, 5);
        assert_eq!(entries.len(), 2);
        assert!(window.due(100).is_empty(), "nothing was counted");
    }
}
