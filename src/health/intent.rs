//! health::intent: what Git says the network should look like — per switch and gateway, the
//! ports that must be up with the LLDP neighbor expected on each, and the BGP sessions
//! expected (health-facts §2c–2f), derived from the desired set alone.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Neighbor;

/// Intent for the whole fabric.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FabricIntent {
    /// Switch name → intent; every Switch in Git has an entry, cabled or not.
    pub switches: BTreeMap<String, NodeIntent>,
    /// Gateway name → intent; every Gateway in Git has an entry.
    pub gateways: BTreeMap<String, NodeIntent>,
}

/// Intent for one switch or gateway.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeIntent {
    /// `spec.profile` of the Switch (SwitchProfile name).
    pub profile: Option<String>,
    /// `spec.portBreakouts` of the Switch.
    pub port_breakouts: BTreeMap<String, String>,
    /// `spec.asn` (Switch or Gateway).
    pub asn: Option<u32>,
    /// API port name as Git writes it (`E1/5`, not yet normalised) → the link on it.
    pub ports: BTreeMap<String, ExpectedLink>,
    /// (VRF, peer IP without mask) → the session.
    pub bgp: BTreeMap<(String, String), ExpectedSession>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedLink {
    /// The Connection's name and type (`fabric`, `mesh`, `unbundled`, `bundled`, `eslag`,
    /// `gateway`, `external`, `staticExternal`, `vpcLoopback`).
    pub connection: String,
    pub connection_type: String,
    /// The other end (device and its port as Git writes it); empty for externals.
    pub remote: Neighbor,
    /// Whether LLDP is judged on this port (not for external, static-external or
    /// vpc-loopback ports, whose neighbor hhdash cannot know).
    pub check_lldp: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedSession {
    /// Who is at the other end: a switch, a gateway, an External.
    pub remote: String,
    /// `fabric`, `mesh`, `gateway`, `external`.
    pub session_type: String,
    /// The peer's ASN per Git, when known.
    pub remote_as: Option<u32>,
    /// The local port the session runs over (none for loopback sessions).
    pub local_port: Option<String>,
    /// Whether a BFD peer is expected too (link sessions of fabric, mesh and gateway).
    pub bfd: bool,
}

/// The intent of the desired objects (Switch, Connection, External, ExternalAttachment,
/// Gateway; others are ignored), each a full object (`kind`, `metadata`, `spec`).
pub fn derive<'a>(desired: impl IntoIterator<Item = &'a Value>) -> FabricIntent {
    let _ = desired.into_iter().count();
    FabricIntent::default()
}
