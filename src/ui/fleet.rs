//! ui::fleet: many fabrics on one screen. How bad each fabric is (`Severity`, the one rule,
//! built from the fabric's drift verdict, `Liveness` and health roll-up), the order of the
//! fabric list (worst first, then config order), its name filter, and the summary counts.
//! Order and counts are derived from the fabric models whenever they are asked for (a frame),
//! never stored: a fabric that turns Critical moves up and is counted in the same frame.

use super::app::{App, Focus, PromptKind};
use super::model::{FabricModel, Liveness};
use crate::health::Level;
use crate::status::{DriftState, SyncState};

/// How much a fabric needs the operator, worst first (the derived `Ord` is the list's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The engine judged the drift Critical.
    Critical,
    /// The server failed, stopped answering, or the watch broke: what is shown is the cache.
    Disconnected,
    /// At least one switch or gateway is Unhealthy.
    Unhealthy,
    /// Objects differ from Git.
    Drifted,
    /// A switch with warnings, or the last sync failed.
    Warning,
    /// Not watched live (loading, connecting, watch off): an InSync verdict is only the cache.
    Unverified,
    /// Live, in sync, healthy.
    Ok,
}

impl Severity {
    /// Every severity, worst first.
    pub const ALL: [Severity; 7] = [
        Severity::Critical,
        Severity::Disconnected,
        Severity::Unhealthy,
        Severity::Drifted,
        Severity::Warning,
        Severity::Unverified,
        Severity::Ok,
    ];

    /// The fabric's severity: the first of these that holds, in this order.
    pub fn of(fabric: &FabricModel) -> Severity {
        let status = &fabric.status;
        let liveness = fabric.liveness();
        let health = fabric.health().level();
        if status.drift.state == DriftState::Critical {
            Severity::Critical
        } else if matches!(
            liveness,
            Liveness::Disconnected { .. } | Liveness::NoAnswer { .. }
        ) {
            Severity::Disconnected
        } else if health == Level::Unhealthy {
            Severity::Unhealthy
        } else if status.drift.state == DriftState::DriftDetected {
            Severity::Drifted
        } else if health == Level::Warning || status.sync.state == SyncState::Error {
            Severity::Warning
        } else if liveness != Liveness::Live {
            Severity::Unverified
        } else {
            Severity::Ok
        }
    }

    /// The word the list and the summary show.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::Disconnected => "Disconnected",
            Severity::Unhealthy => "Unhealthy",
            Severity::Drifted => "Drifted",
            Severity::Warning => "Warning",
            Severity::Unverified => "Unverified",
            Severity::Ok => "OK",
        }
    }

    /// The word where the full one does not fit (a 24-column fabric pane).
    pub fn short(self) -> &'static str {
        match self {
            Severity::Critical => "Crit",
            Severity::Disconnected => "Disc",
            Severity::Unhealthy => "Unhl",
            Severity::Drifted => "Drift",
            Severity::Warning => "Warn",
            Severity::Unverified => "Unver",
            Severity::Ok => "OK",
        }
    }
}

/// Whether `name` passes the fabric filter: a substring, any case (like the table's `/`).
pub fn matches(name: &str, filter: &str) -> bool {
    filter.is_empty() || name.to_lowercase().contains(&filter.to_lowercase())
}

/// Each fabric's severity, in config order: judged once for a frame's list, summary and rows
/// (a judgement reads the fabric's whole health roll-up).
pub fn severities(fabrics: &[FabricModel]) -> Vec<Severity> {
    fabrics.iter().map(Severity::of).collect()
}

/// The fabric list as shown: indices into `fabrics`, worst first, then in config order, only
/// those whose name passes `filter`.
pub fn order(fabrics: &[FabricModel], filter: &str) -> Vec<usize> {
    order_by(fabrics, &severities(fabrics), filter)
}

/// [`order`] from severities already judged (`severities`).
pub fn order_by(fabrics: &[FabricModel], severities: &[Severity], filter: &str) -> Vec<usize> {
    let mut order: Vec<(Severity, usize)> = fabrics
        .iter()
        .zip(severities)
        .enumerate()
        .filter(|(_, (f, _))| matches(&f.name, filter))
        .map(|(i, (_, &severity))| (severity, i))
        .collect();
    order.sort_unstable();
    order.into_iter().map(|(_, i)| i).collect()
}

/// How many fabrics are at each severity, counted from the fabrics (all of them, whatever the
/// filter: the summary is the whole fleet's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    counts: [usize; Severity::ALL.len()],
}

impl Summary {
    pub fn of(fabrics: &[FabricModel]) -> Summary {
        Summary::counting(&severities(fabrics))
    }

    /// The summary of severities already judged (`severities`).
    pub fn counting(severities: &[Severity]) -> Summary {
        let mut summary = Summary::default();
        for &severity in severities {
            summary.counts[severity as usize] += 1;
        }
        summary
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.counts[severity as usize]
    }
}

impl App {
    /// The fabric list as shown now (`order` with the fabric filter).
    pub fn fabric_order(&self) -> Vec<usize> {
        order(&self.fabrics, &self.fabric_filter)
    }

    /// Moves the fabric selection by `delta` rows of the list as shown (sorted, filtered).
    pub(super) fn step_fabric(&mut self, delta: isize) {
        let order = self.fabric_order();
        let Some(last) = order.len().checked_sub(1) else {
            return;
        };
        let target = match order.iter().position(|&i| i == self.selected) {
            Some(at) => at.saturating_add_signed(delta).min(last),
            // The selected fabric is filtered out: the first step lands on the list.
            None => 0,
        };
        self.select_fabric(order[target]);
    }

    /// Sets the filter a prompt edits: the table's, or the fabric list's (`/` while the list
    /// has the focus). A fabric filter that hides the selected fabric selects the first shown.
    pub(super) fn set_filter(&mut self, kind: PromptKind, text: String) {
        match kind {
            PromptKind::Filter => self.filter = text,
            PromptKind::FabricFilter => {
                self.fabric_filter = text;
                let hidden = self
                    .fabrics
                    .get(self.selected)
                    .is_some_and(|f| !matches(&f.name, &self.fabric_filter));
                if hidden && let Some(&first) = self.fabric_order().first() {
                    self.select_fabric(first);
                }
            }
            PromptKind::Jump => {}
        }
    }

    /// The prompt `/` opens: the fabric filter while the fabric list has the focus.
    pub(super) fn filter_prompt(&self) -> (PromptKind, String) {
        if self.focus == Focus::Fabrics && self.detail.is_none() {
            (PromptKind::FabricFilter, self.fabric_filter.clone())
        } else {
            (PromptKind::Filter, self.filter.clone())
        }
    }

    /// `esc` clears the filter of what has the focus; whether it cleared one.
    pub(super) fn clear_filter(&mut self) -> bool {
        let filter = if self.focus == Focus::Fabrics && !self.fabric_filter.is_empty() {
            &mut self.fabric_filter
        } else {
            &mut self.filter
        };
        let cleared = !filter.is_empty();
        filter.clear();
        cleared
    }
}
