//! health::judge: reported state against intent, with thresholds — one [`SwitchHealth`] per
//! switch and gateway with a verdict, reasons and the detail the dashboard shows; and the
//! changes between two judgements, one log line each.

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;

use super::intent::FabricIntent;
use super::{Reason, SwitchHealth, Thresholds};

/// What the cluster reports, as the engine keeps it: the compact live objects of the
/// read-only kinds (`kinds::live_fields`), by name.
#[derive(Debug, Default, Clone, Copy)]
pub struct Observed<'a> {
    pub agents: &'a [&'a Value],
    pub gateway_agents: &'a [&'a Value],
    pub switch_profiles: &'a [&'a Value],
}

/// Oper-state changes seen per (switch, port) over successive reports: a flap history the
/// engine keeps between judgements (a report carries only the last change).
#[derive(Debug, Clone, Default)]
pub struct FlapHistory {
    changes: BTreeMap<(String, String), VecDeque<i64>>,
}

impl FlapHistory {
    /// Records the oper changes in `agent`'s (compact live object) report that are new since
    /// the last one, and forgets those older than `window_secs` before `now`.
    pub fn observe(&mut self, agent: &Value, now: i64, window_secs: i64) {
        let _ = (agent, now, window_secs);
    }

    /// Oper changes of `port` on `switch` within the window.
    pub fn flaps(&self, switch: &str, port: &str) -> u32 {
        self.changes
            .get(&(switch.to_string(), port.to_string()))
            .map_or(0, |changes| changes.len() as u32)
    }
}

/// Every switch and gateway Git names or the cluster reports, judged, sorted by name.
pub fn judge_fabric(
    intent: &FabricIntent,
    observed: Observed<'_>,
    flaps: &FlapHistory,
    thresholds: &Thresholds,
    now: i64,
) -> Vec<SwitchHealth> {
    let _ = (intent, observed, flaps, thresholds, now);
    Vec::new()
}

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
    /// One log line: `BGP default 172.30.128.1 (spine-01) not established: idle, last reset
    /// "Hold Timer Expired"` / `cleared: …`.
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
    let _ = (old, new);
    Vec::new()
}
