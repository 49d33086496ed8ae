//! health::model: the typed part of an Agent's and a GatewayAgent's `status` that health
//! reads — and nothing else. The structs use the agents' own JSON keys, so parsing a real
//! status drops everything else (traffic counters, queues, NOS details, the spec and its
//! secrets) and serialising the result gives a smaller status of the same shape: that compact
//! form is what the engine keeps and stores (`kinds::live_fields`). Key names and meanings are
//! in `docs/dev/health-facts.md` §1.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What health reads of `Agent.status` (`agent.githedgehog.com/v1beta1`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_heartbeat: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_gen: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied_gen: Option<i64>,
    #[serde(skip_serializing_if = "is_false")]
    pub reboot_required: bool,
    #[serde(skip_serializing_if = "SwitchReport::is_empty")]
    pub state: SwitchReport,
}

impl SwitchReport {
    fn is_empty(&self) -> bool {
        *self == SwitchReport::default()
    }
}

/// `status.state`: what the switch reports of itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SwitchReport {
    /// API port name (`E1/5`, `E1/49/1`, `M1`; port channels by NOS name) → state.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub interfaces: BTreeMap<String, Interface>,
    /// Front-panel API port name (`E1/49`, without a lane suffix) → optic.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub transceivers: BTreeMap<String, Transceiver>,
    /// VRF (`default`, `VrfE<external>`) → peer IP → session.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub bgp_neighbors: BTreeMap<String, BTreeMap<String, BgpNeighbor>>,
    /// VRF → peer IP → BFD session.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub bfd_peers: BTreeMap<String, BTreeMap<String, BfdPeer>>,
    #[serde(skip_serializing_if = "Platform::is_empty")]
    pub platform: Platform,
    #[serde(skip_serializing_if = "CriticalResources::is_empty")]
    pub critical_resources: CriticalResources,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Interface {
    #[serde(skip_serializing_if = "is_false")]
    pub enabled: bool,
    /// `up`, `down`, `testing` or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub admin: String,
    /// `up`, `down`, `lowerLayerDown`, `notPresent`, … or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub oper: String,
    /// The last oper-state change (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// `10G`, `25G`, `100G`, `2.5G`, …
    #[serde(skip_serializing_if = "String::is_empty")]
    pub speed: String,
    /// Only the error counters: traffic counters and rates change every heartbeat and health
    /// does not judge them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counters: Option<ErrorCounters>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lldp_neighbors: Vec<LldpNeighbor>,
    #[serde(skip_serializing_if = "is_false")]
    pub err_disabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_flap_count: Option<u32>,
}

/// The cumulative error and discard counters of a port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorCounters {
    pub ine: u64,
    pub oute: u64,
    pub ind: u64,
    pub outd: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LldpNeighbor {
    /// The neighbor's system name: a Hedgehog switch advertises its switch name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sys_name: String,
    /// `Hedgehog Fabric[ <deploymentID>]` for a Hedgehog switch.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sys_descr: String,
    /// What the neighbor advertises as its port: a NOS name (`Ethernet16`) from a Hedgehog
    /// switch, an interface name or a MAC from a host.
    #[serde(rename = "portID", skip_serializing_if = "String::is_empty")]
    pub port_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub port_descr: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Transceiver {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub descr: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub oper: String,
    /// As the NOS words it (`PRESENT`); a string in the Agent CRD, not a boolean.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub present: String,
    /// °C.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voltage: Option<f64>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub vendor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub vendor_part: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub serial: String,
    /// Lane (`"0"`, `"1"`, …) → optical power.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub channels: BTreeMap<String, Channel>,
}

/// One optical lane. `in`/`out` are receive/transmit power in dBm, absent when the NOS
/// reports none (NaN, ±Inf).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Channel {
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    pub rx_dbm: Option<f64>,
    #[serde(rename = "out", skip_serializing_if = "Option::is_none")]
    pub tx_dbm: Option<f64>,
    /// Laser bias current, mA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bias: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BgpNeighbor {
    /// `established`, `idle`, `connect`, `active`, `openSent`, `openConfirm` or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub state: String,
    #[serde(skip_serializing_if = "is_false")]
    pub enabled: bool,
    #[serde(rename = "peerAS", skip_serializing_if = "is_zero")]
    pub peer_as: u32,
    #[serde(rename = "localAS", skip_serializing_if = "is_zero")]
    pub local_as: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub peer_type: String,
    /// RFC 3339; recomputed by the agent from "seconds ago" at each poll, so it jitters by
    /// about a second between heartbeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_estab: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_reset: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_reset_reason: String,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub estab_trans: u64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub conn_dropped: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BfdPeer {
    /// `up`, `down`, `adminDown`, `init` or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_up_time: Option<String>,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub fails: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Platform {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fans: BTreeMap<String, Fan>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub psus: BTreeMap<String, Psu>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub temps: BTreeMap<String, Temperature>,
}

impl Platform {
    fn is_empty(&self) -> bool {
        self.fans.is_empty() && self.psus.is_empty() && self.temps.is_empty()
    }
}

/// A fan: `presence` and `status` are omitted by the agent when false.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fan {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dir: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    #[serde(skip_serializing_if = "is_false")]
    pub presence: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub status: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Psu {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_power: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_power: Option<f64>,
    #[serde(skip_serializing_if = "is_false")]
    pub presence: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub status: bool,
}

/// A temperature sensor; a threshold of 0 (or absent) means the NOS does not know it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Temperature {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high_threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crit_high_threshold: Option<f64>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub alarms: String,
}

/// `state.criticalResources`: only the `stats` pairs (`ipv4RoutesUsed` /
/// `ipv4RoutesAvailable`, …), kept as the raw map; in SONiC CRM `Available` counts the entries
/// still free.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CriticalResources {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub stats: BTreeMap<String, u64>,
}

impl CriticalResources {
    fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }

    /// `(resource, used, available)` for every resource reported with both numbers, by name.
    pub fn usage(&self) -> Vec<(&str, u64, u64)> {
        self.stats
            .iter()
            .filter_map(|(key, used)| {
                let resource = key.strip_suffix("Used")?;
                let available = self.stats.get(&format!("{resource}Available"))?;
                Some((resource, *used, *available))
            })
            .collect()
    }
}

/// What health reads of `GatewayAgent.status` (`gwint.githedgehog.com/v1alpha1`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GatewayAgentStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_heartbeat: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied_gen: Option<i64>,
    pub state: GatewayReport,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GatewayReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frr: Option<GatewayFrr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bgp: Option<GatewayBgp>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GatewayFrr {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied_gen: Option<i64>,
}

/// `state.bgp`: VRF → its neighbors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayBgp {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub vrfs: BTreeMap<String, GatewayVrf>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayVrf {
    /// Peer IP → session.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub neighbors: BTreeMap<String, GatewayNeighbor>,
}

/// A gateway's BGP session (FRR's words: `sessionState`, `establishedTransitions`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GatewayNeighbor {
    /// `established`, `idle`, `connect`, `active`, `open` or `unset`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub session_state: String,
    #[serde(skip_serializing_if = "is_false")]
    pub enabled: bool,
    #[serde(rename = "peerAS", skip_serializing_if = "is_zero")]
    pub peer_as: u32,
    #[serde(rename = "localAS", skip_serializing_if = "is_zero")]
    pub local_as: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_reset_reason: String,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub established_transitions: u64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub connections_dropped: u64,
}

impl AgentStatus {
    /// The status of an Agent object (missing or malformed parts read as empty: a switch that
    /// reports nothing is judged on that).
    pub fn of(agent: &Value) -> AgentStatus {
        agent
            .get("status")
            .and_then(|status| serde_json::from_value(status.clone()).ok())
            .unwrap_or_default()
    }
}

impl GatewayAgentStatus {
    pub fn of(gateway_agent: &Value) -> GatewayAgentStatus {
        gateway_agent
            .get("status")
            .and_then(|status| serde_json::from_value(status.clone()).ok())
            .unwrap_or_default()
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

fn is_zero_u64(value: &u64) -> bool {
    *value == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Field types as the Agent CRD declares them (the API server enforces them, so a model
    /// type that disagrees would make every real status unreadable).
    #[test]
    fn a_status_typed_like_the_crd_parses_and_keeps_only_what_health_reads() {
        let agent = json!({"status": {
            "lastHeartbeat": "2026-11-28T00:00:00Z", "lastAppliedGen": 3, "conditions": [],
            "state": {
                "nos": {"serialNumber": "SN-1"},
                "interfaces": {"E1/1": {"enabled": true, "oper": "up", "speed": "25G",
                    "linkFlapCount": 2, "counters": {"inb": 9, "inbps": 1.5, "ine": 1},
                    "lldpNeighbors": [{"sysName": "spine-1", "portID": "Ethernet0", "chassis": "x"}]}},
                "transceivers": {"E1/1": {"present": "PRESENT", "temp": 40.5,
                    "channels": {"0": {"in": -2.5, "out": -1.0, "bias": 6.0}}}},
                "bgpNeighbors": {"default": {"172.30.128.0": {"state": "established", "peerAS": 65100,
                    "msgs": {"rec": {"open": 1}}}}},
                "platform": {"psus": {"PSU 1": {"presence": true, "inPower": 120.0}}},
                "criticalResources": {"stats": {"ipv4RoutesUsed": 10, "ipv4RoutesAvailable": 90},
                    "aclStats": {"ingress": {}}}}}});
        let status = AgentStatus::of(&agent);
        assert_eq!(status.last_applied_gen, Some(3));
        let port = &status.state.interfaces["E1/1"];
        assert_eq!(port.link_flap_count, Some(2));
        assert_eq!(port.counters.unwrap().ine, 1);
        assert_eq!(port.lldp_neighbors[0].port_id, "Ethernet0");
        assert_eq!(status.state.transceivers["E1/1"].present, "PRESENT");
        assert_eq!(
            status.state.bgp_neighbors["default"]["172.30.128.0"].peer_as,
            65100
        );
        assert_eq!(
            status.state.critical_resources.usage(),
            [("ipv4Routes", 10, 90)]
        );
        let compact = serde_json::to_string(&status).unwrap();
        for dropped in ["SN-1", "inbps", "chassis", "msgs", "aclStats", "conditions"] {
            assert!(!compact.contains(dropped), "{dropped} kept: {compact}");
        }
    }
}
