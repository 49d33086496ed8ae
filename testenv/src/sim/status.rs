//! sim::status: what a healthy switch agent reports in `status.state`, derived from the wiring
//! (Switches, Connections, Gateways): the NOS, every port a Connection uses plus `M1` (up, with
//! counters that move, the LLDP neighbor the cabling implies, a transceiver), a BGP session per
//! fabric/mesh/gateway link and per loopback of a directly linked switch, BFD for the link
//! sessions, platform sensors and critical resources. Keys and value shapes are the agent's own
//! (`docs/dev/health-facts.md` §1); every value is derived from the seed, the switch and the port
//! so runs repeat, and only the counters change between heartbeats. [`super::faults`] bends
//! this healthy picture afterwards. The rendering is pure (times come in); the two
//! [`Simulator`] methods at the end write it: the Agent status and the SwitchProfile.

use std::time::{SystemTime, UNIX_EPOCH};

use kube::api::{Patch, PatchParams};
use serde_json::{Map, Value, json};

use super::render::Snapshot;
pub use super::wiring::{Link, Peer, SwitchWiring, nos_name, switch_profile_spec, wiring};
use super::{AGENT_MANAGER, Action, SimEvent, Simulator, SplitMix64, rfc3339};

/// The profile every example switch names, and the one the simulator creates
/// ([`switch_profile_spec`]).
pub const VIRTUAL_PROFILE: &str = "vs";
/// What a Hedgehog switch advertises as LLDP system description.
pub const LLDP_DESCRIPTION: &str = "Hedgehog Fabric";
pub(super) const PLATFORM: &str = "x86_64-kvm_x86_64-r0";
/// The vs profile's port speed (every front-panel port is SFP28).
const PORT_SPEED: &str = "25G";
const PORT_BITS_PER_SEC: f64 = 25e9;

/// A value stream for one switch (and one part of it), stable per seed.
pub fn stream(seed: u64, parts: &[&str]) -> SplitMix64 {
    // FNV-1a folds the names into the seed.
    let hash = parts.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, part| {
        part.bytes()
            .chain([0xff])
            .fold(h, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    });
    SplitMix64::new(seed ^ hash)
}

/// `low + unit * (high - low)`, rounded to `decimals`.
fn between(rng: &mut SplitMix64, low: f64, high: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    ((low + rng.unit() * (high - low)) * scale).round() / scale
}

/// The clock and history of one switch's healthy status.
#[derive(Clone, Debug)]
pub struct Moment {
    pub seed: u64,
    /// Now, in Unix milliseconds (counters grow with it).
    pub now_ms: i64,
    /// When the switch (and every port) came up, Unix seconds.
    pub up_since: i64,
}

/// `status.state` of a healthy switch `switch` wired as `wiring`, at `moment`.
pub fn healthy_state(switch: &str, wiring: &SwitchWiring, moment: &Moment) -> Value {
    let seed = moment.seed;
    let serial = format!(
        "SIM{:08X}",
        stream(seed, &[switch, "serial"]).next_u64() as u32
    );
    let mut interfaces = Map::new();
    let mut transceivers = Map::new();
    interfaces.insert("M1".into(), interface(switch, "M1", None, moment));
    for (port, link) in &wiring.ports {
        interfaces.insert(port.clone(), interface(switch, port, Some(link), moment));
        transceivers.insert(port.clone(), transceiver(seed, switch, port));
    }
    let mut bgp = Map::new();
    let mut bfd = Map::new();
    let since = rfc3339(moment.up_since);
    for (ip, session) in &wiring.sessions {
        let peer_type = if session.peer_as == wiring.asn {
            "internal"
        } else {
            "external"
        };
        bgp.insert(
            ip.clone(),
            json!({
                "state": "established",
                "enabled": true,
                "peerAS": session.peer_as,
                "localAS": wiring.asn,
                "peerType": peer_type,
                "lastEstab": since,
                "estabTrans": 1,
                "connDropped": 0,
            }),
        );
        if session.bfd {
            bfd.insert(
                ip.clone(),
                json!({"state": "up", "lastUpTime": since, "fails": 0}),
            );
        }
    }
    json!({
        "nos": {
            "softwareVersion": "4.5.0-Enterprise_Base",
            "platformName": PLATFORM,
            "hwskuVersion": "DellEMC-S5248f-P-25G-DPB",
            "asicVersion": "vs",
            "mfgName": "Hedgehog",
            "productDescription": "Hedgehog virtual switch",
            "serialNumber": serial,
        },
        "interfaces": interfaces,
        "transceivers": transceivers,
        "bgpNeighbors": {"default": bgp},
        "bfdPeers": {"default": bfd},
        "platform": platform(seed, switch),
        "criticalResources": {"stats": resources(seed, switch, wiring)},
    })
}

fn interface(switch: &str, port: &str, link: Option<&Link>, moment: &Moment) -> Value {
    let mut rng = stream(moment.seed, &[switch, port, "traffic"]);
    let (speed, line_rate) = match link {
        Some(_) => (PORT_SPEED, PORT_BITS_PER_SEC),
        None => ("1G", 1e9),
    };
    // A steady share of the line rate per direction, plus a small wobble per heartbeat.
    let share_in = between(&mut rng, 0.01, 0.2, 4);
    let share_out = between(&mut rng, 0.01, 0.2, 4);
    let mac = format!(
        "0c:20:12:{:02x}:{:02x}:{:02x}",
        rng.below(256),
        rng.below(256),
        rng.below(256)
    );
    let wobble = |salt: &str| {
        let mut w = stream(
            moment.seed,
            &[switch, port, salt, &moment.now_ms.to_string()],
        );
        0.95 + 0.1 * w.unit()
    };
    let up_ms = (moment.now_ms - moment.up_since * 1000).max(0) as f64;
    let inbps = (line_rate * share_in * wobble("in")).round();
    let outbps = (line_rate * share_out * wobble("out")).round();
    let counters = json!({
        "inb": (line_rate * share_in * up_ms / 1000.0) as u64,
        "outb": (line_rate * share_out * up_ms / 1000.0) as u64,
        "inbps": inbps,
        "outbps": outbps,
        // Average packet of 800 bytes.
        "inpbs": (inbps / 6400.0).round(),
        "outpps": (outbps / 6400.0).round(),
        "inu": (inbps / line_rate * 100.0).round() as u64,
        "outu": (outbps / line_rate * 100.0).round() as u64,
        "ine": 0,
        "oute": 0,
        "ind": (up_ms / 300_000.0) as u64,
        "outd": (up_ms / 600_000.0) as u64,
        "clear": rfc3339(moment.up_since),
    });
    let mut neighbors = Vec::new();
    match link.map(|l| &l.peer) {
        Some(Peer::Switch {
            name,
            port: peer_port,
        }) => neighbors.push(json!({
            "name": nos_name(port),
            "chassis": name,
            "sysName": name,
            "sysDescr": LLDP_DESCRIPTION,
            "portID": nos_name(peer_port),
            "portDescr": format!("{switch} {port}"),
        })),
        Some(Peer::Host {
            name,
            port: peer_port,
        }) => neighbors.push(json!({
            "name": nos_name(port),
            "sysName": name,
            "portID": peer_port,
            "portDescr": peer_port,
        })),
        Some(Peer::Silent) | None => {}
    }
    json!({
        "enabled": true,
        "admin": "up",
        "oper": "up",
        "mac": mac,
        "change": rfc3339(moment.up_since),
        "speed": speed,
        "auto": false,
        "fec": if link.is_some() { "rs" } else { "default" },
        "counters": counters,
        "lldpNeighbors": neighbors,
        "errDisabled": false,
    })
}

fn transceiver(seed: u64, switch: &str, port: &str) -> Value {
    let mut rng = stream(seed, &[switch, port, "optic"]);
    json!({
        "descr": "SFP28 25GBASE-SR",
        "formFactor": "SFP28",
        "connType": "LC",
        "cable": "fiber",
        // The CRD types `present` as a string: the NOS's enum.
        "present": "PRESENT",
        "oper": "active",
        "temp": between(&mut rng, 35.0, 45.0, 1),
        "voltage": 3.3,
        "vendor": "FINISAR CORP.",
        "vendorPart": "FTLF8536P4BCL",
        "vendorOUI": "00-90-65",
        "vendorRev": "A",
        "serial": format!("FN{:06}", rng.below(1_000_000)),
        "channels": {"0": {
            "in": between(&mut rng, -2.9, -2.0, 2),
            "out": between(&mut rng, -1.9, -1.0, 2),
            "bias": between(&mut rng, 6.0, 6.9, 2),
        }},
    })
}

fn platform(seed: u64, switch: &str) -> Value {
    let mut rng = stream(seed, &[switch, "platform"]);
    let mut fans = Map::new();
    for n in 1..=4 {
        fans.insert(
            format!("FAN {n}"),
            json!({"dir": "intake", "speed": between(&mut rng, 40.0, 60.0, 0), "presence": true, "status": true}),
        );
    }
    let mut psus = Map::new();
    for n in 1..=2 {
        let power = between(&mut rng, 120.0, 180.0, 1);
        psus.insert(
            format!("PSU {n}"),
            json!({
                "presence": true,
                "status": true,
                "inVoltage": 230.0,
                "inPower": power,
                "outVoltage": 12.0,
                "outPower": ((power * 0.92) * 10.0f64).round() / 10.0,
            }),
        );
    }
    let mut temps = Map::new();
    for sensor in ["CPU", "ASIC", "Ambient", "PSU 1 Temp", "PSU 2 Temp"] {
        temps.insert(
            sensor.into(),
            json!({
                "temp": between(&mut rng, 35.0, 55.0, 1),
                "highThreshold": 80.0,
                "critHighThreshold": 90.0,
            }),
        );
    }
    json!({"fans": fans, "psus": psus, "temps": temps})
}

/// The CRM resources reported, with their capacity (used + available) on the vs ASIC.
pub const RESOURCES: [(&str, u64); 8] = [
    ("ipv4Routes", 32768),
    ("ipv6Routes", 16384),
    ("ipv4Neighbors", 8192),
    ("ipv4Nexthops", 16384),
    ("nexthopGroups", 1024),
    ("nexthopGroupMembers", 16384),
    ("fdbEntries", 32768),
    ("ipmcEntries", 8192),
];

fn resources(seed: u64, switch: &str, wiring: &SwitchWiring) -> Value {
    let mut rng = stream(seed, &[switch, "crm"]);
    let mut stats = Map::new();
    for (resource, capacity) in RESOURCES {
        // A few per port and session, well under 10 %.
        let used = (wiring.ports.len() as u64 * 4 + wiring.sessions.len() as u64 * 8)
            .min(capacity / 20)
            + rng.below(capacity as usize / 50) as u64;
        stats.insert(format!("{resource}Used"), json!(used));
        stats.insert(format!("{resource}Available"), json!(capacity - used));
    }
    Value::Object(stats)
}

impl Simulator {
    /// The whole Agent status `name` reports now (for a server-side apply of the status: what
    /// a heartbeat no longer reports leaves the status, as the agent's atomic write does).
    pub(super) fn agent_status(&self, name: &str) -> Value {
        let Some(agent) = self.agents.get(name) else {
            return Value::Null;
        };
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let moment = Moment {
            seed: self.config.seed,
            now_ms,
            up_since: agent.up_since,
        };
        let state = self.faults.book().state(name, &moment);
        json!({
            "apiVersion": "agent.githedgehog.com/v1beta1",
            "kind": "Agent",
            "metadata": {"name": name, "namespace": self.config.namespace},
            "status": {
                "lastHeartbeat": rfc3339(agent.last_heartbeat),
                "version": self.config.agent_version,
                "runID": run_id(self.config.seed, name, agent.boots),
                "bootID": run_id(self.config.seed ^ 0xb007, name, agent.boots),
                "lastAttemptGen": agent.attempted,
                "lastAttemptTime": rfc3339(agent.attempted_at),
                "lastAppliedGen": agent.applied,
                "lastAppliedTime": rfc3339(agent.applied_at),
                "rebootRequired": false,
                "conditions": [],
                "state": state,
            },
        })
    }

    /// The controller's catalog: SwitchProfile [`VIRTUAL_PROFILE`] in the namespace, created
    /// (server-side apply, field manager [`AGENT_MANAGER`]) when a Switch names it and it is
    /// absent. Other profiles are not in the simulator's catalog; an existing one is left alone.
    pub(super) async fn ensure_profiles(
        &mut self,
        snapshot: &Snapshot,
        emit: &mut (dyn FnMut(&SimEvent) + Send),
    ) -> Result<(), (String, kube::Error)> {
        let named = snapshot
            .switches
            .iter()
            .any(|s| s.pointer("/spec/profile").and_then(Value::as_str) == Some(VIRTUAL_PROFILE));
        if !named || self.profiles.contains(VIRTUAL_PROFILE) {
            return Ok(());
        }
        let api = self.api("wiring.githedgehog.com", "SwitchProfile", "switchprofiles");
        let what = || format!("create SwitchProfile {VIRTUAL_PROFILE}");
        if api
            .get_opt(VIRTUAL_PROFILE)
            .await
            .map_err(|e| (what(), e))?
            .is_none()
        {
            let body = json!({
                "apiVersion": "wiring.githedgehog.com/v1beta1",
                "kind": "SwitchProfile",
                "metadata": {"name": VIRTUAL_PROFILE, "namespace": self.config.namespace},
                "spec": switch_profile_spec(),
            });
            api.patch(
                VIRTUAL_PROFILE,
                &PatchParams::apply(AGENT_MANAGER),
                &Patch::Apply(&body),
            )
            .await
            .map_err(|e| (what(), e))?;
            self.emit(
                emit,
                Action::Profile,
                format!("SwitchProfile/{VIRTUAL_PROFILE}"),
                "the virtual switch's ports (M1, E1/1..E1/48)".into(),
            );
        }
        self.profiles.insert(VIRTUAL_PROFILE.into());
        Ok(())
    }
}

/// A stable per-switch, per-boot ID (like the agent's run and boot IDs), derived from the seed.
pub(super) fn run_id(seed: u64, name: &str, boots: u64) -> String {
    // FNV-1a folds the name into the seed.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut rng = SplitMix64::new(seed ^ hash ^ boots.wrapping_mul(0x9e37_79b9));
    format!("{:016x}", rng.next_u64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn obj(name: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name}, "spec": spec})
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            switches: vec![
                obj(
                    "leaf-1",
                    json!({"asn": 65101, "protocolIP": "172.30.8.2/32"}),
                ),
                obj(
                    "leaf-2",
                    json!({"asn": 65101, "protocolIP": "172.30.8.3/32"}),
                ),
                obj(
                    "spine-1",
                    json!({"asn": 65100, "protocolIP": "172.30.8.0/32"}),
                ),
            ],
            connections: vec![
                obj(
                    "fab",
                    json!({"fabric": {"links": [{
                    "spine": {"port": "spine-1/E1/1", "ip": "172.30.128.0/31"},
                    "leaf": {"port": "leaf-1/E1/9", "ip": "172.30.128.1/31"}}]}}),
                ),
                obj(
                    "gw",
                    json!({"gateway": {"links": [{
                    "switch": {"port": "leaf-1/E1/8", "ip": "172.30.128.16/31"},
                    "gateway": {"port": "gateway-1/enp2s1", "ip": "172.30.128.17/31"}}]}}),
                ),
                obj(
                    "dom",
                    json!({"mclagDomain": {"peerLinks": [{
                    "switch1": {"port": "leaf-1/E1/3"}, "switch2": {"port": "leaf-2/E1/4"}}]}}),
                ),
                obj(
                    "srv",
                    json!({"mclag": {"links": [
                    {"server": {"port": "server-1/enp2s1"}, "switch": {"port": "leaf-1/E1/5"}},
                    {"server": {"port": "server-1/enp2s2"}, "switch": {"port": "leaf-2/E1/5"}}]}}),
                ),
                obj(
                    "ext",
                    json!({"external": {"link": {"switch": {"port": "leaf-2/E1/7"}}}}),
                ),
            ],
            ..Snapshot::default()
        }
    }

    fn moment() -> Moment {
        Moment {
            seed: 3,
            now_ms: 1_000_000_000,
            up_since: 999_000,
        }
    }

    #[test]
    fn ids_are_stable_per_seed_switch_and_boot() {
        assert_eq!(run_id(1, "leaf-1", 1), run_id(1, "leaf-1", 1));
        assert_ne!(run_id(1, "leaf-1", 1), run_id(1, "leaf-1", 2));
        assert_ne!(run_id(1, "leaf-1", 1), run_id(1, "leaf-2", 1));
        assert_ne!(run_id(1, "leaf-1", 1), run_id(2, "leaf-1", 1));
    }

    #[test]
    fn vs_port_names() {
        assert_eq!(nos_name("E1/1"), "Ethernet0");
        assert_eq!(nos_name("E1/48"), "Ethernet47");
        assert_eq!(nos_name("M1"), "Management0");
        let profile = switch_profile_spec();
        assert_eq!(profile["ports"]["E1/5"]["nos"], "Ethernet4");
        assert_eq!(profile["ports"].as_object().unwrap().len(), 49);
    }

    #[test]
    fn wiring_has_every_used_port_and_the_sessions_of_routed_links() {
        let asns = BTreeMap::from([("gateway-1".to_string(), 65534)]);
        let wiring = wiring(&snapshot(), &asns);
        let leaf = &wiring["leaf-1"];
        let ports: Vec<&str> = leaf.ports.keys().map(String::as_str).collect();
        assert_eq!(ports, ["E1/3", "E1/5", "E1/8", "E1/9"]);
        assert_eq!(
            leaf.ports["E1/9"].peer,
            Peer::Switch {
                name: "spine-1".into(),
                port: "E1/1".into()
            }
        );
        assert_eq!(
            leaf.ports["E1/3"].peer,
            Peer::Switch {
                name: "leaf-2".into(),
                port: "E1/4".into()
            }
        );
        assert_eq!(
            leaf.ports["E1/5"].peer,
            Peer::Host {
                name: "server-1".into(),
                port: "enp2s1".into()
            }
        );
        let sessions: Vec<(&str, u64, bool)> = leaf
            .sessions
            .iter()
            .map(|(ip, s)| (ip.as_str(), s.peer_as, s.bfd))
            .collect();
        assert_eq!(
            sessions,
            [
                ("172.30.128.0", 65100, true),
                ("172.30.128.17", 65534, true),
                ("172.30.8.0", 65100, false),
            ]
        );
        let spine = &wiring["spine-1"];
        assert_eq!(spine.sessions["172.30.128.1"].peer_as, 65101);
        assert!(spine.sessions.contains_key("172.30.8.2"));
        assert_eq!(wiring["leaf-2"].ports["E1/7"].peer, Peer::Silent);
        assert!(
            wiring["leaf-2"].sessions.is_empty(),
            "MCLAG links carry no BGP"
        );
    }

    #[test]
    fn a_healthy_state_reports_neighbors_sessions_and_sensors() {
        let asns = BTreeMap::from([("gateway-1".to_string(), 65534)]);
        let wiring = wiring(&snapshot(), &asns);
        let state = healthy_state("leaf-1", &wiring["leaf-1"], &moment());
        let port = &state["interfaces"]["E1/9"];
        assert_eq!(port["oper"], "up");
        assert_eq!(port["speed"], "25G");
        let neighbor = &port["lldpNeighbors"][0];
        assert_eq!(neighbor["sysName"], "spine-1");
        assert_eq!(neighbor["sysDescr"], LLDP_DESCRIPTION);
        assert_eq!(neighbor["portID"], "Ethernet0");
        assert_eq!(
            state["interfaces"]["E1/5"]["lldpNeighbors"][0]["portID"],
            "enp2s1"
        );
        assert_eq!(
            state["interfaces"]["E1/8"]["lldpNeighbors"][0]["sysName"],
            "gateway-1"
        );
        assert!(
            state["interfaces"]["M1"]["lldpNeighbors"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        let bgp = &state["bgpNeighbors"]["default"];
        assert_eq!(bgp["172.30.128.0"]["state"], "established");
        assert_eq!(bgp["172.30.128.0"]["peerType"], "external");
        assert_eq!(bgp["172.30.128.17"]["peerAS"], 65534);
        assert_eq!(state["bfdPeers"]["default"]["172.30.128.0"]["state"], "up");
        assert!(state["bfdPeers"]["default"].get("172.30.8.0").is_none());
        let rx = state["transceivers"]["E1/9"]["channels"]["0"]["in"]
            .as_f64()
            .unwrap();
        assert!((-3.0..-2.0).contains(&rx), "{rx}");
        assert_eq!(state["platform"]["psus"]["PSU 2"]["status"], true);
        assert_eq!(state["platform"]["temps"]["CPU"]["highThreshold"], 80.0);
        let stats = &state["criticalResources"]["stats"];
        let used = stats["ipv4RoutesUsed"].as_u64().unwrap();
        assert!(used * 10 < 32768, "{used}");
        assert_eq!(used + stats["ipv4RoutesAvailable"].as_u64().unwrap(), 32768);
    }

    #[test]
    fn only_counters_move_and_values_repeat_per_seed() {
        let wiring = wiring(&snapshot(), &BTreeMap::new());
        let first = healthy_state("leaf-1", &wiring["leaf-1"], &moment());
        let again = healthy_state("leaf-1", &wiring["leaf-1"], &moment());
        assert_eq!(first, again);
        let later = Moment {
            now_ms: moment().now_ms + 5000,
            ..moment()
        };
        let mut second = healthy_state("leaf-1", &wiring["leaf-1"], &later);
        let a = first["interfaces"]["E1/9"]["counters"]["inb"]
            .as_u64()
            .unwrap();
        let b = second["interfaces"]["E1/9"]["counters"]["inb"]
            .as_u64()
            .unwrap();
        assert!(b > a, "{a} -> {b}");
        let mut first = first;
        for state in [&mut first, &mut second] {
            for port in state["interfaces"].as_object_mut().unwrap().values_mut() {
                port.as_object_mut().unwrap().remove("counters");
            }
        }
        assert_eq!(first, second);
        let other_seed = Moment {
            seed: 4,
            ..moment()
        };
        assert_ne!(
            healthy_state("leaf-1", &wiring["leaf-1"], &other_seed)["nos"]["serialNumber"],
            second["nos"]["serialNumber"]
        );
    }
}
