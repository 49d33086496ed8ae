//! sim::wiring: what the cabling in the cluster says about each switch — the other end of every
//! port a Connection uses (a switch, a host, or nobody LLDP can name) and the BGP sessions the
//! links imply — read from the simulator's [`Snapshot`], plus the `vs` SwitchProfile's port
//! names. [`super::status`] renders a healthy report from it; [`super::faults`] picks targets in it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::render::{Snapshot, name};
use super::status::PLATFORM;

/// The other end of a cabled port.
#[derive(Clone, Debug, PartialEq)]
pub enum Peer {
    /// A fabric switch: its name and API port (`E1/1`).
    Switch { name: String, port: String },
    /// A server or a gateway: its name and its own port name (`enp2s1`).
    Host { name: String, port: String },
    /// An external router, a static external or a loopback: no LLDP neighbor to report.
    Silent,
}

/// One port a Connection uses on a switch.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub connection: String,
    pub peer: Peer,
}

/// One BGP session the switch should have, keyed by peer IP in [`SwitchWiring::sessions`].
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub peer_as: u64,
    /// Link sessions run BFD; loopback sessions do not.
    pub bfd: bool,
}

/// What the wiring puts on one switch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SwitchWiring {
    pub asn: u64,
    /// API port → its link; `M1` is not in it (every switch has it).
    pub ports: BTreeMap<String, Link>,
    /// Peer IP (no mask) → session, all in VRF `default`.
    pub sessions: BTreeMap<String, Session>,
}

/// The NOS name of an API port on profile `vs`: `E1/5` → `Ethernet4`, `M1` → `Management0`.
pub fn nos_name(api_port: &str) -> String {
    if api_port == "M1" {
        return "Management0".into();
    }
    match api_port
        .strip_prefix("E1/")
        .and_then(|n| n.parse::<u32>().ok())
    {
        Some(n) if n >= 1 => format!("Ethernet{}", n - 1),
        _ => api_port.to_string(),
    }
}

/// `SwitchProfile` `vs` as the controller's catalog has it (F `p_bcm_vs.go`): `M1` and
/// `E1/1..E1/48` (`Ethernet0..47`), all SFP28, no breakout ports.
pub fn switch_profile_spec() -> Value {
    let mut ports = Map::new();
    ports.insert(
        "M1".into(),
        json!({"nos": "Management0", "management": true, "oniePortName": "eth0"}),
    );
    for n in 1..=48u32 {
        ports.insert(
            format!("E1/{n}"),
            json!({"nos": format!("Ethernet{}", n - 1), "label": n.to_string(), "profile": "SFP28-25G"}),
        );
    }
    json!({
        "displayName": "Virtual Switch",
        "otherNames": ["vs"],
        "switchSilicon": "vs",
        "nosType": "sonic-bcm-vs",
        "platform": PLATFORM,
        "features": {"subinterfaces": true, "acls": true, "eslag": true, "mclag": true},
        "ports": ports,
        "portProfiles": {
            "SFP28-25G": {"speed": {"default": "25G", "supported": ["10G", "25G"]}},
        },
    })
}

/// `device/port` → (device, port), split at the first `/`.
fn split_port(value: &Value) -> Option<(String, String)> {
    let (device, port) = value.as_str()?.split_once('/')?;
    Some((device.to_string(), port.to_string()))
}

fn ip_of(end: &Value) -> Option<String> {
    let ip = end.get("ip")?.as_str()?;
    Some(ip.split('/').next().unwrap_or(ip).to_string())
}

fn items<'a>(spec: &'a Value, pointer: &str) -> impl Iterator<Item = &'a Value> {
    spec.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The wiring of every Switch in `snapshot`; `gateway_asns` are the Gateways' `spec.asn`.
pub fn wiring(
    snapshot: &Snapshot,
    gateway_asns: &BTreeMap<String, u64>,
) -> BTreeMap<String, SwitchWiring> {
    let switch = |n: &str| snapshot.switches.iter().find(|s| name(s) == n);
    let asn = |n: &str| {
        switch(n)
            .and_then(|s| s.pointer("/spec/asn")?.as_u64())
            .unwrap_or(0)
    };
    let mut out: BTreeMap<String, SwitchWiring> = snapshot
        .switches
        .iter()
        .map(|s| {
            let wiring = SwitchWiring {
                asn: asn(name(s)),
                ..Default::default()
            };
            (name(s).to_string(), wiring)
        })
        .collect();
    // Switches reached by a fabric or mesh link, per switch: their loopback sessions.
    let mut routed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    fn put(out: &mut BTreeMap<String, SwitchWiring>, switch: &str, port: String, link: Link) {
        if let Some(wiring) = out.get_mut(switch) {
            wiring.ports.insert(port, link);
        }
    }

    for connection in &snapshot.connections {
        let cname = name(connection).to_string();
        let Some(spec) = connection.get("spec") else {
            continue;
        };
        let link = |peer: Peer| Link {
            connection: cname.clone(),
            peer,
        };
        // Two switch ends cabled to each other: (end a, end b, BGP over the link).
        let mut pairs: Vec<(&Value, &Value, bool)> = Vec::new();
        for end in items(spec, "/fabric/links") {
            pairs.push((&end["spine"], &end["leaf"], true));
        }
        for end in items(spec, "/mesh/links") {
            pairs.push((&end["leaf1"], &end["leaf2"], true));
        }
        for key in [
            "/mclagDomain/peerLinks",
            "/mclagDomain/sessionLinks",
            "/vpcLoopback/links",
        ] {
            for end in items(spec, key) {
                pairs.push((&end["switch1"], &end["switch2"], false));
            }
        }
        for (a, b, routed_link) in pairs {
            let (Some((sa, pa)), Some((sb, pb))) = (split_port(&a["port"]), split_port(&b["port"]))
            else {
                continue;
            };
            if sa == sb {
                // A loopback cable (vpcLoopback): the port advertises to itself; not judged.
                put(&mut out, &sa, pa, link(Peer::Silent));
                put(&mut out, &sb, pb, link(Peer::Silent));
                continue;
            }
            put(
                &mut out,
                &sa,
                pa.clone(),
                link(Peer::Switch {
                    name: sb.clone(),
                    port: pb.clone(),
                }),
            );
            put(
                &mut out,
                &sb,
                pb,
                link(Peer::Switch {
                    name: sa.clone(),
                    port: pa,
                }),
            );
            if routed_link {
                for (local, remote, remote_end) in [(&sa, &sb, b), (&sb, &sa, a)] {
                    if let (Some(ip), Some(wiring)) = (ip_of(remote_end), out.get_mut(local)) {
                        let session = Session {
                            peer_as: asn(remote),
                            bfd: true,
                        };
                        wiring.sessions.insert(ip, session);
                    }
                    routed
                        .entry(local.clone())
                        .or_default()
                        .insert(remote.clone());
                }
            }
        }
        let server_links = items(spec, "/bundled/links")
            .chain(items(spec, "/eslag/links"))
            .chain(items(spec, "/mclag/links"))
            .chain(spec.pointer("/unbundled/link"));
        for end in server_links {
            if let (Some((sw, port)), Some((host, host_port))) = (
                split_port(&end["switch"]["port"]),
                split_port(&end["server"]["port"]),
            ) {
                put(
                    &mut out,
                    &sw,
                    port,
                    link(Peer::Host {
                        name: host,
                        port: host_port,
                    }),
                );
            }
        }
        for end in items(spec, "/gateway/links") {
            let (Some((sw, port)), Some((gateway, gateway_port))) = (
                split_port(&end["switch"]["port"]),
                split_port(&end["gateway"]["port"]),
            ) else {
                continue;
            };
            if let (Some(ip), Some(wiring)) = (ip_of(&end["gateway"]), out.get_mut(&sw)) {
                let peer_as = gateway_asns.get(&gateway).copied().unwrap_or(0);
                wiring.sessions.insert(ip, Session { peer_as, bfd: true });
            }
            put(
                &mut out,
                &sw,
                port,
                link(Peer::Host {
                    name: gateway,
                    port: gateway_port,
                }),
            );
        }
        for key in [
            "/external/link/switch/port",
            "/staticExternal/link/switch/port",
        ] {
            if let Some((sw, port)) = spec.pointer(key).and_then(split_port) {
                put(&mut out, &sw, port, link(Peer::Silent));
            }
        }
    }

    for (local, remotes) in routed {
        for remote in remotes {
            let loopback = switch(&remote)
                .and_then(|s| s.pointer("/spec/protocolIP")?.as_str())
                .map(|ip| ip.split('/').next().unwrap_or(ip).to_string());
            if let (Some(ip), Some(wiring)) = (loopback, out.get_mut(&local)) {
                let session = Session {
                    peer_as: asn(&remote),
                    bfd: false,
                };
                wiring.sessions.insert(ip, session);
            }
        }
    }
    out
}
