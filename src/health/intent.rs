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
    /// Ports two Connections in Git claim: the first (by Connection name) is judged, the
    /// other is reported.
    pub conflicts: Vec<PortConflict>,
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

impl ExpectedLink {
    /// Whether the other end is a switch (fabric, mesh, MCLAG domain): a missing LLDP neighbor
    /// there means the link between two switches is not working.
    pub fn is_switch_to_switch(&self) -> bool {
        matches!(
            self.connection_type.as_str(),
            "fabric" | "mesh" | "mclagDomain" | "vpcLoopback"
        )
    }

    /// `server-3--unbundled--leaf-1 to server-3/enp2s1`; for an external link only the
    /// Connection and its type.
    pub fn describe(&self) -> String {
        if self.remote.device.is_empty() {
            format!("{}, {}", self.connection, self.connection_type)
        } else {
            format!(
                "{} to {}/{}",
                self.connection, self.remote.device, self.remote.port
            )
        }
    }
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

/// A port claimed by a second Connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortConflict {
    /// The port as Git writes it.
    pub port: String,
    /// The Connection judged on the port (the first by name).
    pub kept: String,
    /// The Connection that also claims it.
    pub ignored: String,
}

/// The VRF BGP sessions of the underlay (fabric, mesh, gateway links) are in.
pub const DEFAULT_VRF: &str = "default";

/// The kinds [`derive`] reads; callers decode only these.
pub const INTENT_KINDS: [&str; 5] = [
    "Switch",
    "Gateway",
    "Connection",
    "External",
    "ExternalAttachment",
];

/// The desired objects [`derive`] reads, decoded (the rest are not).
pub fn decode_intent_kinds<'a>(
    desired: impl IntoIterator<Item = &'a crate::desired::DesiredObject>,
) -> Vec<Value> {
    desired
        .into_iter()
        .filter(|object| INTENT_KINDS.contains(&object.key.kind.as_str()))
        .map(|object| object.object.value())
        .collect()
}

/// The intent of the desired objects (Switch, Connection, External, ExternalAttachment,
/// Gateway: [`INTENT_KINDS`]; others are ignored), each a full object (`kind`, `metadata`,
/// `spec`).
pub fn derive<'a>(desired: impl IntoIterator<Item = &'a Value>) -> FabricIntent {
    let mut switches: BTreeMap<&str, &Value> = BTreeMap::new();
    let mut gateways: BTreeMap<&str, &Value> = BTreeMap::new();
    let mut connections: BTreeMap<&str, &Value> = BTreeMap::new();
    let mut externals: BTreeMap<&str, &Value> = BTreeMap::new();
    let mut attachments: BTreeMap<&str, &Value> = BTreeMap::new();
    for object in desired {
        let (Some(kind), Some(name)) = (
            object.get("kind").and_then(Value::as_str),
            object.pointer("/metadata/name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let spec = object.get("spec").unwrap_or(&Value::Null);
        let by_kind = match kind {
            "Switch" => &mut switches,
            "Gateway" => &mut gateways,
            "Connection" => &mut connections,
            "External" => &mut externals,
            "ExternalAttachment" => &mut attachments,
            _ => continue,
        };
        by_kind.insert(name, spec);
    }

    let mut intent = FabricIntent::default();
    for (name, spec) in &switches {
        let node = NodeIntent {
            profile: str_at(spec, "profile").map(str::to_string),
            port_breakouts: spec
                .get("portBreakouts")
                .and_then(Value::as_object)
                .map(|breakouts| {
                    breakouts
                        .iter()
                        .filter_map(|(port, mode)| Some((port.clone(), mode.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            asn: asn_at(spec, "asn"),
            ..NodeIntent::default()
        };
        intent.switches.insert(name.to_string(), node);
    }
    for (name, spec) in &gateways {
        let node = NodeIntent {
            asn: asn_at(spec, "asn"),
            ..NodeIntent::default()
        };
        intent.gateways.insert(name.to_string(), node);
    }

    let asn_of = |device: &str| switches.get(device).and_then(|spec| asn_at(spec, "asn"));
    for (name, spec) in &connections {
        for link in links(spec) {
            link_intent(&mut intent, name, &link, &asn_of, &switches, &gateways);
        }
    }
    for spec in attachments.values() {
        external_session(&mut intent, spec, &connections, &externals);
    }
    for (name, spec) in &gateways {
        gateway_sessions(&mut intent, name, spec, &connections, &switches);
    }
    intent
}

/// One link of a Connection: its type and both ends (`device/port` and the end's IP).
struct Link<'a> {
    connection_type: &'static str,
    /// The switch end (the first for links between two switches).
    local: End<'a>,
    /// The other end: a server, a switch, a gateway; none for externals.
    remote: Option<End<'a>>,
    /// Whether the remote end is a switch too (so both ends get the port).
    symmetric: bool,
}

#[derive(Clone, Copy)]
struct End<'a> {
    device: &'a str,
    port: &'a str,
    ip: Option<&'a str>,
}

impl<'a> End<'a> {
    fn of(end: &'a Value) -> Option<End<'a>> {
        let (device, port) = str_at(end, "port")?.split_once('/')?;
        Some(End {
            device,
            port,
            ip: str_at(end, "ip").map(without_mask),
        })
    }
}

/// Every link of a Connection, by variant (health-facts §2c). Unlike `kubectl fabric inspect`,
/// MCLAG counts: its server links, and its domain's peer and session links between the pair.
fn links(spec: &Value) -> Vec<Link<'_>> {
    // (variant, list key or "" for a single `link`, local end key, remote end key, symmetric)
    const VARIANTS: &[(&str, &str, &str, Option<&str>, bool)] = &[
        ("unbundled", "", "switch", Some("server"), false),
        ("bundled", "links", "switch", Some("server"), false),
        ("eslag", "links", "switch", Some("server"), false),
        ("mclag", "links", "switch", Some("server"), false),
        ("fabric", "links", "spine", Some("leaf"), true),
        ("mesh", "links", "leaf1", Some("leaf2"), true),
        ("gateway", "links", "switch", Some("gateway"), false),
        ("vpcLoopback", "links", "switch1", Some("switch2"), true),
        ("mclagDomain", "peerLinks", "switch1", Some("switch2"), true),
        (
            "mclagDomain",
            "sessionLinks",
            "switch1",
            Some("switch2"),
            true,
        ),
        ("external", "", "switch", None, false),
        ("staticExternal", "", "switch", None, false),
    ];
    let mut out = Vec::new();
    for &(variant, list, local_key, remote_key, symmetric) in VARIANTS {
        let Some(body) = spec.get(variant) else {
            continue;
        };
        let items: Vec<&Value> = if list.is_empty() {
            body.get("link").into_iter().collect()
        } else {
            body.get(list)
                .and_then(Value::as_array)
                .map(|items| items.iter().collect())
                .unwrap_or_default()
        };
        for item in items {
            let Some(local) = item.get(local_key).and_then(End::of) else {
                continue;
            };
            let remote = remote_key.and_then(|key| item.get(key)).and_then(End::of);
            out.push(Link {
                connection_type: variant,
                local,
                remote,
                symmetric,
            });
        }
    }
    out
}

fn link_intent(
    intent: &mut FabricIntent,
    connection: &str,
    link: &Link<'_>,
    asn_of: &dyn Fn(&str) -> Option<u32>,
    switches: &BTreeMap<&str, &Value>,
    gateways: &BTreeMap<&str, &Value>,
) {
    let mut ends = vec![(link.local, link.remote)];
    if let (true, Some(remote)) = (link.symmetric, link.remote) {
        ends.push((remote, Some(link.local)));
    }
    for (local, remote) in ends {
        let Some(node) = intent.switches.get_mut(local.device) else {
            continue;
        };
        let expected = ExpectedLink {
            connection: connection.to_string(),
            connection_type: link.connection_type.to_string(),
            remote: remote
                .map(|end| Neighbor {
                    device: end.device.to_string(),
                    port: end.port.to_string(),
                })
                .unwrap_or_default(),
            check_lldp: !matches!(
                link.connection_type,
                "external" | "staticExternal" | "vpcLoopback"
            ),
        };
        match node.ports.get(local.port) {
            Some(kept) if kept.connection != connection => {
                node.conflicts.push(PortConflict {
                    port: local.port.to_string(),
                    kept: kept.connection.clone(),
                    ignored: connection.to_string(),
                });
                continue;
            }
            Some(_) => continue,
            None => {
                node.ports.insert(local.port.to_string(), expected);
            }
        }
        let Some(remote) = remote else { continue };
        match link.connection_type {
            "fabric" | "mesh" => {
                if let Some(ip) = remote.ip {
                    node.bgp.insert(
                        (DEFAULT_VRF.to_string(), ip.to_string()),
                        ExpectedSession {
                            remote: remote.device.to_string(),
                            session_type: link.connection_type.to_string(),
                            remote_as: asn_of(remote.device),
                            local_port: Some(local.port.to_string()),
                            bfd: true,
                        },
                    );
                }
                // The peer's loopback: an overlay session without BFD.
                if let Some(protocol_ip) = switches
                    .get(remote.device)
                    .and_then(|spec| str_at(spec, "protocolIP"))
                {
                    node.bgp.insert(
                        (
                            DEFAULT_VRF.to_string(),
                            without_mask(protocol_ip).to_string(),
                        ),
                        ExpectedSession {
                            remote: remote.device.to_string(),
                            session_type: link.connection_type.to_string(),
                            remote_as: asn_of(remote.device),
                            local_port: None,
                            bfd: false,
                        },
                    );
                }
            }
            "gateway" => {
                if let Some(ip) = remote.ip {
                    node.bgp.insert(
                        (DEFAULT_VRF.to_string(), ip.to_string()),
                        ExpectedSession {
                            remote: remote.device.to_string(),
                            session_type: "gateway".to_string(),
                            remote_as: gateways
                                .get(remote.device)
                                .and_then(|spec| asn_at(spec, "asn")),
                            local_port: Some(local.port.to_string()),
                            bfd: true,
                        },
                    );
                }
            }
            _ => {}
        }
    }
}

/// An ExternalAttachment's session: in VRF `VrfE<external>` on the switch of its `external`
/// Connection, unless the attachment or the External is static (no BGP).
fn external_session(
    intent: &mut FabricIntent,
    spec: &Value,
    connections: &BTreeMap<&str, &Value>,
    externals: &BTreeMap<&str, &Value>,
) {
    let (Some(external), Some(connection)) = (str_at(spec, "external"), str_at(spec, "connection"))
    else {
        return;
    };
    let external_is_static = externals
        .get(external)
        .is_some_and(|external| external.get("static").is_some());
    if spec.get("static").is_some() || external_is_static {
        return;
    }
    let Some(ip) = spec.pointer("/neighbor/ip").and_then(Value::as_str) else {
        return;
    };
    let Some(local) = connections
        .get(connection)
        .and_then(|connection| connection.pointer("/external/link/switch"))
        .and_then(End::of)
    else {
        return;
    };
    let Some(node) = intent.switches.get_mut(local.device) else {
        return;
    };
    node.bgp.insert(
        (format!("VrfE{external}"), without_mask(ip).to_string()),
        ExpectedSession {
            remote: external.to_string(),
            session_type: "external".to_string(),
            remote_as: asn_at(spec, "neighbor/asn"),
            local_port: Some(local.port.to_string()),
            bfd: false,
        },
    );
}

/// A Gateway's sessions: one per `spec.neighbors[]`, with the switch at the other end found
/// through the gateway Connection whose switch end has that IP.
fn gateway_sessions(
    intent: &mut FabricIntent,
    gateway: &str,
    spec: &Value,
    connections: &BTreeMap<&str, &Value>,
    switches: &BTreeMap<&str, &Value>,
) {
    // Switch-end IP → (switch, gateway port) over this gateway's links.
    let mut switch_at: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for spec in connections.values() {
        for link in links(spec) {
            if let (Some(ip), Some(remote)) = (link.local.ip, link.remote)
                && link.connection_type == "gateway"
                && remote.device == gateway
            {
                switch_at.insert(ip, (link.local.device, remote.port));
            }
        }
    }
    let Some(node) = intent.gateways.get_mut(gateway) else {
        return;
    };
    for neighbor in spec
        .get("neighbors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(ip) = str_at(neighbor, "ip").map(without_mask) else {
            continue;
        };
        let (remote, port) = switch_at.get(ip).copied().unwrap_or_default();
        let remote_as = asn_at(neighbor, "asn")
            .or_else(|| switches.get(remote).and_then(|spec| asn_at(spec, "asn")));
        node.bgp.insert(
            (DEFAULT_VRF.to_string(), ip.to_string()),
            ExpectedSession {
                remote: remote.to_string(),
                session_type: "gateway".to_string(),
                remote_as,
                local_port: str_at(neighbor, "source")
                    .or((!port.is_empty()).then_some(port))
                    .map(str::to_string),
                bfd: false,
            },
        );
    }
}

fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// An ASN at a `/`-separated path; Git may write it as a number or a string.
fn asn_at(value: &Value, path: &str) -> Option<u32> {
    let mut node = value;
    for key in path.split('/') {
        node = node.get(key)?;
    }
    match node {
        Value::Number(number) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// `172.30.128.0/31` → `172.30.128.0`: BGP keys peers by address.
fn without_mask(ip: &str) -> &str {
    ip.split_once('/').map_or(ip, |(address, _)| address)
}

#[cfg(test)]
#[path = "intent_tests.rs"]
mod tests;
