//! What the simulator reports: one [`SimEvent`] per thing it did, the [`Action`] it was, the
//! per-action [`Summary`] of a run, and the timestamps it writes.

use std::collections::BTreeMap;
use std::fmt;

/// What the simulator did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Created an Agent for a new Switch.
    Created,
    /// Rendered a changed Agent spec (a new generation).
    Spec,
    /// Deleted the Agent of a Switch that is gone.
    Deleted,
    /// An agent reported it is alive.
    Heartbeat,
    /// An agent picked up a generation and started applying it.
    Attempt,
    /// An agent finished applying a generation.
    Applied,
    /// An agent will hold a generation attempted but unapplied (shows as Stuck).
    Lagging,
    /// An agent stopped heartbeating (shows as Stale after the bound).
    Silent,
    /// A silent agent is back, with a new boot ID.
    Back,
    /// An out-of-band edit of a VPC or Server.
    Drift,
    /// A health fault put on a switch (BGP down, miswire, flap, PSU, optic, resources).
    Fault,
    /// A health fault taken off a switch.
    Cleared,
    /// Created an object the controller owns (the SwitchProfile).
    Profile,
    /// The periodic summary that stands in for heartbeat lines.
    Status,
    /// A failed API call; the simulator carries on at the next tick.
    Error,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Spec => "spec",
            Action::Deleted => "deleted",
            Action::Heartbeat => "heartbeat",
            Action::Attempt => "attempt",
            Action::Applied => "applied",
            Action::Lagging => "lagging",
            Action::Silent => "silent",
            Action::Back => "back",
            Action::Drift => "drift",
            Action::Fault => "fault",
            Action::Cleared => "cleared",
            Action::Profile => "profile",
            Action::Status => "status",
            Action::Error => "error",
        }
    }
}

/// One thing the simulator did: one log line.
#[derive(Clone, Debug, PartialEq)]
pub struct SimEvent {
    /// Unix seconds.
    pub time: i64,
    pub action: Action,
    /// `Agent/leaf-1`, `VPC/web`, or empty for fabric-wide lines.
    pub object: String,
    pub message: String,
}

impl fmt::Display for SimEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  {:<9}  {:<24}  {}",
            rfc3339(self.time),
            self.action.word(),
            self.object,
            self.message
        )
    }
}

/// Counts of what a run did, per action.
pub type Summary = BTreeMap<Action, u64>;

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (what Kubernetes writes for `date-time` fields).
/// The same shape as `hhdash::time::format_rfc3339`, which this crate cannot call (hhdash
/// depends on testenv only for its tests).
pub fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| panic!("{secs} is outside the years jiff covers"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_like_kubernetes() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_735_787_045), "2025-01-02T03:04:05Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_629_370), "2026-11-25T17:56:10Z");
    }
}
