//! timeline (engine side): what the engine writes to and reads from the fabric's timeline
//! besides plain log lines — the first-verdict summary, drift snapshots at each sync, and the
//! History / MarkSeen commands (answered off the engine's loop).
//!
//! First verdicts (from Unknown or Absent, as at start-up or after a re-list) are ONE summary
//! line. A first InSync verdict gets no line of its own; a first Drifted, Missing or Orphan
//! verdict also keeps its own line, so every drift stays findable per object in history (these
//! are kept lines with their own budget; the flood was the in-sync ones).

use crate::drift::{DriftKindTag, Transition};
use crate::status::{self, Timestamp};
use crate::store::{DriftSnapshot, DriftedObject, LogEntry, LogKind, TimelineQuery};

use super::EngineEvent;
use super::live::log_line;
use super::task::Engine;

/// A transition that gives an object its first verdict.
pub fn is_first_verdict(transition: &Transition) -> bool {
    matches!(
        transition.from,
        DriftKindTag::Unknown | DriftKindTag::Absent
    ) && !matches!(transition.to, DriftKindTag::Unknown | DriftKindTag::Absent)
}

/// `12,345`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// First verdicts counted since the last summary line: in sync, drifted, missing, orphan.
/// Kinds are listed one by one, so the first verdicts of a start-up arrive in many batches;
/// they are added up here and logged as one line once the live view is whole
/// (`Engine::flush_first_verdicts`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FirstVerdicts([usize; 4]);

impl FirstVerdicts {
    fn count(&mut self, to: DriftKindTag) {
        let slot = match to {
            DriftKindTag::InSync => 0,
            DriftKindTag::Drifted => 1,
            DriftKindTag::Missing => 2,
            _ => 3,
        };
        self.0[slot] += 1;
    }

    /// `first verdicts: 9,980 in sync, 1 drifted, …`, and the counts start over; None when
    /// nothing was counted.
    pub fn take_line(&mut self) -> Option<String> {
        let counts = std::mem::take(&mut self.0);
        let parts: Vec<String> = ["in sync", "drifted", "missing", "orphan"]
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|(what, n)| format!("{} {what}", thousands(n)))
            .collect();
        (!parts.is_empty()).then(|| format!("first verdicts: {}", parts.join(", ")))
    }
}

/// Which transitions get a line of their own; first verdicts are counted into `first`. A
/// first InSync verdict gets no line; a first Drifted, Missing or Orphan verdict keeps its own
/// line too, so every drift stays findable per object.
pub fn plan_lines<'a>(
    transitions: &'a [Transition],
    first: &mut FirstVerdicts,
) -> Vec<&'a Transition> {
    transitions
        .iter()
        // An object appearing with no verdict yet is not news; its verdict will be.
        .filter(|t| t.to != DriftKindTag::Unknown)
        .filter(|t| {
            if !is_first_verdict(t) {
                return true;
            }
            first.count(t.to);
            t.to != DriftKindTag::InSync
        })
        .collect()
}

/// The summary line, stamped `now`.
pub fn summary_entry(now: Timestamp, line: String) -> LogEntry {
    log_line(now, LogKind::Drift, None, line)
}

impl Engine {
    /// Records the fabric's drift (every object not in sync, with its paths) after a sync, when
    /// the live view is whole; an unchanged summary writes nothing.
    pub(super) fn record_drift_snapshot(&self, commit: Option<String>) {
        let watched = self.fabric.watch.kinds.len() * self.fabric.namespaces.managed.len();
        if !self.live.relists.all_listed(watched) || !self.index.desired_known() {
            return;
        }
        let objects =
            self.index
                .iter()
                .filter(|(_, drift)| drift.is_drift())
                .map(|(key, drift)| DriftedObject {
                    key: key.clone(),
                    object: self.fabric.namespaces.object_name(key),
                    verdict: drift.tag(),
                    paths: match drift {
                        crate::drift::Drift::Drifted(diffs) => {
                            diffs.iter().map(|d| d.path.clone()).collect()
                        }
                        _ => Vec::new(),
                    },
                });
        let mut objects: Vec<DriftedObject> = objects.collect();
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        let snapshot = DriftSnapshot {
            time: status::now(),
            commit,
            objects,
        };
        if let Err(error) = self
            .ctx
            .store
            .record_drift_snapshot(&self.fabric.name, &snapshot)
        {
            tracing::warn!(fabric = %self.fabric.name, "cannot record a drift snapshot: {error}");
        }
    }

    /// Reads the timeline on a blocking thread and answers with `EngineEvent::History`.
    pub(super) fn answer_history(&self, query: TimelineQuery) {
        let store = self.ctx.store.clone();
        let fabric = self.fabric.name.clone();
        let events = self.events.clone();
        tokio::task::spawn_blocking(move || {
            let read = store
                .timeline(&fabric, &query)
                .and_then(|entries| Ok((entries, store.seen(&fabric)?)));
            let (entries, seen) = match read {
                Ok(read) => read,
                Err(error) => {
                    let line = log_line(
                        status::now(),
                        LogKind::Error,
                        None,
                        format!("cannot read the timeline: {error}"),
                    );
                    (vec![line], None)
                }
            };
            let _ = events.blocking_send(EngineEvent::History {
                fabric,
                query,
                entries,
                seen,
            });
        });
    }

    /// Persists the operator's "seen up to" time on a blocking thread.
    pub(super) fn mark_seen(&self, time: Timestamp) {
        let store = self.ctx.store.clone();
        let fabric = self.fabric.name.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(error) = store.mark_seen(&fabric, time) {
                tracing::warn!(%fabric, "cannot remember what the operator has seen: {error}");
            }
        });
    }

    /// Logs the summary of a storm window that has ended (the slow tick's part of `storm`).
    /// Logs the first-verdict summary counted so far. Called when the watch turns Active (every
    /// kind listed) and on the slow tick once it is not starting, so a re-list is summed up too.
    pub(super) async fn flush_first_verdicts(&mut self) {
        if let Some(line) = self.live.first_verdicts.take_line() {
            self.log(summary_entry(status::now(), line)).await;
        }
    }

    pub(super) async fn flush_storm(&mut self) {
        for entry in self.live.storm.due(status::now()) {
            self.log(entry).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::Drift;
    use crate::kinds::ObjectKey;

    fn transition(name: &str, from: DriftKindTag, to: DriftKindTag) -> Transition {
        Transition {
            key: ObjectKey {
                kind: "VPC".into(),
                namespace: "default".into(),
                name: name.into(),
            },
            from,
            to,
            drift: Drift::Unknown,
        }
    }

    #[test]
    fn a_first_listing_is_one_summary_line_plus_one_line_per_problem() {
        use DriftKindTag::*;
        let mut first = FirstVerdicts::default();
        let mut transitions: Vec<Transition> = (0..9980)
            .map(|i| transition(&format!("ok-{i}"), Unknown, InSync))
            .collect();
        transitions.push(transition("bad", Unknown, Drifted));
        transitions.push(transition("gone", Absent, Missing));
        transitions.push(transition("was-ok", InSync, Drifted));
        transitions.push(transition("new", Absent, Unknown));
        let own = plan_lines(&transitions, &mut first);
        let names: Vec<&str> = own.iter().map(|t| t.key.name.as_str()).collect();
        assert_eq!(names, ["bad", "gone", "was-ok"]);
        // Another kind listed later, with one object each way: added to the same summary.
        let later = [
            transition("ok", Unknown, InSync),
            transition("stray", Unknown, Orphan),
        ];
        let own = plan_lines(&later, &mut first);
        assert_eq!(
            own.len(),
            1,
            "the orphan has its line, the in-sync one none"
        );
        assert_eq!(
            first.take_line().as_deref(),
            Some("first verdicts: 9,981 in sync, 1 drifted, 1 missing, 1 orphan")
        );
        assert_eq!(first.take_line(), None, "the counts start over");
    }
}
