//! What changed between two judgements: one entry per reason that appeared, changed its
//! wording or level, or cleared — keyed by (node, signal, subject), so a heartbeat that only
//! moves counters, ages or measured values adds nothing.

use std::collections::BTreeMap;

use crate::health::{Reason, Signal, SwitchHealth};

/// A reason that appeared or cleared between two judgements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChange {
    /// The switch or gateway.
    pub node: String,
    pub reason: Reason,
    /// `true`: the reason appeared (or its message changed); `false`: it cleared.
    pub appeared: bool,
}

impl HealthChange {
    /// One log line: `BGP default 172.30.128.1 (spine-01) idle, last reset Hold Timer
    /// Expired` / `cleared: …`. The log names the node's object beside it.
    pub fn line(&self) -> String {
        if self.appeared {
            self.reason.message.clone()
        } else {
            format!("cleared: {}", self.reason.message)
        }
    }
}

/// What changed between `old` and `new` judgements, by (node, signal, subject): one entry
/// per reason that appeared, changed or cleared; nothing for heartbeat ages or counters.
pub fn changes(old: &[SwitchHealth], new: &[SwitchHealth]) -> Vec<HealthChange> {
    let index = |nodes: &[SwitchHealth]| {
        let mut reasons: BTreeMap<(String, Signal, String), Reason> = BTreeMap::new();
        for node in nodes {
            for reason in &node.reasons {
                reasons.insert(
                    (node.name.clone(), reason.signal, reason.subject.clone()),
                    reason.clone(),
                );
            }
        }
        reasons
    };
    let (before, after) = (index(old), index(new));
    let mut out = Vec::new();
    for ((node, signal, subject), reason) in &after {
        let changed = match before.get(&(node.clone(), *signal, subject.clone())) {
            None => true,
            Some(was) => was.level != reason.level || !same_wording(&was.message, &reason.message),
        };
        if changed {
            out.push(HealthChange {
                node: node.clone(),
                reason: reason.clone(),
                appeared: true,
            });
        }
    }
    for (key, reason) in &before {
        if !after.contains_key(key) {
            out.push(HealthChange {
                node: key.0.clone(),
                reason: reason.clone(),
                appeared: false,
            });
        }
    }
    out
}

/// Whether two messages say the same thing up to their measurements: "no heartbeat for 3m"
/// and "… for 4m", or an optic's power moving by a hundredth of a dBm, are one ongoing fault,
/// while a BGP state, a reset reason or an LLDP neighbor (`spine-2/E1/1`) changing is news. A
/// measurement is a word that starts with a digit (or a minus and a digit) and holds no `/`.
fn same_wording(a: &str, b: &str) -> bool {
    fn is_measurement(word: &str) -> bool {
        let word = word.trim_matches(|c: char| "(),;:".contains(c));
        let digits = word.strip_prefix('-').unwrap_or(word);
        digits.starts_with(|c: char| c.is_ascii_digit()) && !word.contains('/')
    }
    let words = |text: &'_ str| -> Vec<String> {
        text.split_whitespace()
            .map(|word| {
                if is_measurement(word) {
                    "#".to_string()
                } else {
                    word.to_string()
                }
            })
            .collect()
    };
    a == b || words(a) == words(b)
}
