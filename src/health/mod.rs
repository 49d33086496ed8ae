//! health: is the network healthy, and does it match Git? Pure computation, no I/O.
//!
//! * `model` — the typed part of Agent / GatewayAgent status health reads (the rest, and the
//!   spec with its secrets, is dropped before anything is kept).
//! * `profile` — SwitchProfile port naming (API `E1/5` ↔ NOS `Ethernet16`).
//! * `intent` — from the desired set (Git): per switch and gateway, the ports that must be up
//!   with the LLDP neighbor expected on each, and the BGP sessions expected.
//! * `judge` — intent against reported state, with [`Thresholds`]: one [`SwitchHealth`] per
//!   switch and gateway, a verdict with reasons and the detail the dashboard shows.
//! * `generation` — heartbeat age and applied vs current generation ([`SwitchState`]).
//!
//! Facts behind every rule: `docs/dev/health-facts.md`.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

mod generation;
pub mod intent;
pub mod judge;
pub mod model;
pub mod profile;
mod thresholds;

pub use generation::{DEFAULT_STALE_AFTER_SECS, classify_agent, parse_rfc3339};
pub use thresholds::Thresholds;

/// How one switch's agent is doing with its config, as the Agents view shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SwitchState {
    /// Heartbeat fresh and the current generation applied.
    Ready,
    /// Heartbeat fresh; a newer generation is not applied yet and was not attempted/failed.
    Pending,
    /// The agent attempted the current generation but has not applied it.
    Stuck,
    /// No heartbeat within the bound (or never).
    #[default]
    Stale,
}

/// Switch or gateway.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    #[default]
    Switch,
    Gateway,
}

/// How bad: the order is the sort order of the Health view (worst last; it sorts descending).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    Healthy,
    /// Worth a look, not an outage yet (a flapping port, an optic near its limit, a resource
    /// filling up, a reboot pending, an LLDP neighbor on an external port that differs).
    Warning,
    /// Something the fabric needs is broken (stale agent, expected port down, miswire, BGP
    /// session expected but not established, BFD down, errDisabled, failed PSU, …).
    Unhealthy,
}

/// Which signal a reason is about: one column of the Health view each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Signal {
    /// Heartbeat age (Stale).
    Heartbeat,
    /// Applied vs current generation (Pending, Stuck), reboot required.
    Config,
    /// An expected port's oper state; errDisabled; flaps.
    Port,
    /// An LLDP neighbor missing, unexpected or on the wrong port.
    Lldp,
    /// A BGP session expected but not Established, or established but not expected.
    Bgp,
    Bfd,
    /// Transceiver receive/transmit power or temperature outside thresholds.
    Optics,
    /// PSUs, fans, temperature sensors.
    Platform,
    /// Critical resources (routes, nexthops, FDB, ACL tables…) above a threshold.
    Resources,
}

/// One reason a node is not healthy: one line of the event log when it appears or clears.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reason {
    pub level: Level,
    pub signal: Signal,
    /// What it is about: a port (`E1/5`), a session (`default 172.30.128.1`), a PSU (`PSU 2`);
    /// empty for the node itself. `(signal, subject)` identifies a reason across evaluations.
    pub subject: String,
    /// One line for people: `expected neighbor spine-01/E1/1, got spine-02/E1/1`.
    pub message: String,
}

/// A neighbor at the other end of a link: device and port (`spine-01`, `E1/1`; a server's
/// `enp2s1`). Empty for an external peer whose name hhdash cannot know.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Neighbor {
    pub device: String,
    pub port: String,
}

/// One port of a switch as the detail view shows it: Git's intent beside the switch's report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PortRow {
    /// API name as the agent reports it (`E1/5`, `E1/49/1`).
    pub port: String,
    /// NOS name when the SwitchProfile is known (`Ethernet16`).
    pub nos_name: Option<String>,
    /// The Connection (from Git) that uses the port, and its type (`fabric`, `unbundled`, …).
    pub connection: Option<String>,
    pub connection_type: Option<String>,
    /// The LLDP neighbor Git's wiring puts on this port.
    pub expected: Option<Neighbor>,
    /// What LLDP sees (port names mapped to API names for Hedgehog peers).
    pub actual: Vec<Neighbor>,
    pub admin: String,
    pub oper: String,
    pub speed: String,
    /// Oper changes within the flap window (and the agent's link-flap count, if higher).
    pub flaps: u32,
    /// Cumulative input + output errors.
    pub errors: u64,
    pub err_disabled: bool,
    pub level: Level,
}

/// One BGP session: expected (from Git) or seen, or both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BgpRow {
    pub vrf: String,
    pub peer: String,
    /// Git's wiring expects this session.
    pub expected: bool,
    /// Who is at the other end per Git (`spine-01`, an External's name, a gateway).
    pub remote: Option<String>,
    /// `fabric`, `mesh`, `gateway`, `external`.
    pub session_type: Option<String>,
    /// As reported; empty when the session is expected but absent.
    pub state: String,
    pub peer_as: Option<u32>,
    /// The ASN Git says the peer has, when known.
    pub expected_as: Option<u32>,
    /// Unix seconds of the last transition to Established.
    pub established_at: Option<i64>,
    pub last_reset_at: Option<i64>,
    pub last_reset_reason: Option<String>,
    pub transitions: u64,
    pub level: Level,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BfdRow {
    pub vrf: String,
    pub peer: String,
    pub expected: bool,
    pub state: String,
    pub level: Level,
}

/// One transceiver: the worst lane's powers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpticRow {
    pub port: String,
    pub description: String,
    pub oper: String,
    pub temperature: Option<f64>,
    /// Lowest receive / transmit power over the lanes, dBm.
    pub rx_dbm: Option<f64>,
    pub tx_dbm: Option<f64>,
    pub level: Level,
}

/// A PSU, fan or temperature sensor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlatformRow {
    /// `psu`, `fan`, `temp`.
    pub component: String,
    pub name: String,
    /// `ok`, `failed`, `absent`, `41.0°C (high 80, crit 90)`.
    pub state: String,
    pub level: Level,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceRow {
    pub resource: String,
    pub used: u64,
    pub available: u64,
    /// used / (used + available), 0–100.
    pub percent: u8,
    pub level: Level,
}

/// Everything the switch detail shows; shared (`Arc`) between the engine and its listeners.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SwitchDetail {
    pub ports: Vec<PortRow>,
    pub bgp: Vec<BgpRow>,
    pub bfd: Vec<BfdRow>,
    pub optics: Vec<OpticRow>,
    pub platform: Vec<PlatformRow>,
    pub resources: Vec<ResourceRow>,
}

/// Per-signal counts for the Health view's columns (`up/expected`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalCounts {
    pub ports_up: usize,
    pub ports_expected: usize,
    pub lldp_ok: usize,
    pub lldp_expected: usize,
    pub bgp_established: usize,
    pub bgp_expected: usize,
    pub bfd_up: usize,
    pub bfd_expected: usize,
    /// Ports flapping within the window or errDisabled.
    pub unstable_ports: usize,
    pub optic_alarms: usize,
    pub platform_alarms: usize,
    /// The fullest critical resource, percent.
    pub resources_max_percent: u8,
}

/// How one switch or gateway is doing: its agent's config state, and the verdict with reasons.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SwitchHealth {
    /// The Agent's name (= the Switch's or Gateway's name).
    pub name: String,
    pub kind: NodeKind,
    pub state: SwitchState,
    /// Seconds since the last heartbeat; `None` when the agent never reported.
    pub heartbeat_age: Option<i64>,
    pub applied_generation: Option<i64>,
    pub current_generation: Option<i64>,
    pub version: Option<String>,
    pub reboot_required: bool,
    /// The worst of `reasons` (Healthy when there are none).
    pub level: Level,
    /// Worst first, then by signal and subject.
    pub reasons: Vec<Reason>,
    pub counts: SignalCounts,
    #[serde(default)]
    pub detail: Arc<SwitchDetail>,
}

/// Switch counts per state, for the fabric list ("Ready 9/10", "Health 8/10").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthSummary {
    pub ready: usize,
    pub total: usize,
    pub stale: usize,
    pub pending: usize,
    pub stuck: usize,
    /// Nodes (switches and gateways) with no reason at all.
    pub healthy: usize,
    pub warning: usize,
    pub unhealthy: usize,
}

impl HealthSummary {
    /// The fabric's roll-up: the worst node's level.
    pub fn level(&self) -> Level {
        if self.unhealthy > 0 {
            Level::Unhealthy
        } else if self.warning > 0 {
            Level::Warning
        } else {
            Level::Healthy
        }
    }
}

pub fn summarize(switches: &[SwitchHealth]) -> HealthSummary {
    let mut summary = HealthSummary {
        total: switches.len(),
        ..HealthSummary::default()
    };
    for switch in switches {
        match switch.state {
            SwitchState::Ready => summary.ready += 1,
            SwitchState::Stale => summary.stale += 1,
            SwitchState::Pending => summary.pending += 1,
            SwitchState::Stuck => summary.stuck += 1,
        }
        match switch.level {
            Level::Healthy => summary.healthy += 1,
            Level::Warning => summary.warning += 1,
            Level::Unhealthy => summary.unhealthy += 1,
        }
    }
    summary
}

impl fmt::Display for HealthSummary {
    /// `Ready 9/10` for the fabric list; the alternate form (`{:#}`) adds what the others are
    /// doing, for a tooltip or the Agents view: `Ready 1/4 (2 stale, 1 stuck)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ready {}/{}", self.ready, self.total)?;
        if !f.alternate() {
            return Ok(());
        }
        let others: Vec<String> = [
            (self.stale, "stale"),
            (self.pending, "pending"),
            (self.stuck, "stuck"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if !others.is_empty() {
            write!(f, " ({})", others.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Display for SwitchState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Healthy => "Healthy",
            Level::Warning => "Warning",
            Level::Unhealthy => "Unhealthy",
        })
    }
}
