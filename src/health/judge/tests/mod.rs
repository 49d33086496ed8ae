//! The judge's rules, one fault at a time, on a small fabric: spine-1 and leaf-1 joined by a
//! fabric link, server-3 on leaf-1, gateway-1 on leaf-1. Agents are written in the real agent's
//! shape (health-facts §1, with counters, LLDP details and spec secrets), as the API server
//! returns them.

use serde_json::{Value, json};

use super::*;
use crate::health::intent;
use crate::health::{Level, Neighbor, Reason, Signal, SwitchHealth, SwitchState};

mod changes;
mod hardware;
mod nodes;
mod ports;
mod routing;

const NOW: i64 = 1_800_000_000;

fn at(secs_ago: i64) -> String {
    crate::time::format_rfc3339(NOW - secs_ago)
}

/// The wiring in Git.
fn desired() -> Vec<Value> {
    vec![
        json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "Switch",
            "metadata": {"name": "spine-1"},
            "spec": {"role": "spine", "profile": "vs", "asn": 65100, "protocolIP": "172.30.8.0/32"}}),
        json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "Switch",
            "metadata": {"name": "leaf-1"},
            "spec": {"role": "server-leaf", "profile": "vs", "asn": 65101, "protocolIP": "172.30.8.2/32"}}),
        json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "Connection",
            "metadata": {"name": "spine-1--fabric--leaf-1"},
            "spec": {"fabric": {"links": [{
                "spine": {"port": "spine-1/E1/1", "ip": "172.30.128.0/31"},
                "leaf": {"port": "leaf-1/E1/9", "ip": "172.30.128.1/31"}}]}}}),
        json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "Connection",
            "metadata": {"name": "server-3--unbundled--leaf-1"},
            "spec": {"unbundled": {"link": {
                "server": {"port": "server-3/enp2s1"}, "switch": {"port": "leaf-1/E1/5"}}}}}),
        json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "Connection",
            "metadata": {"name": "leaf-1--gateway--gateway-1"},
            "spec": {"gateway": {"links": [{
                "switch": {"port": "leaf-1/E1/8", "ip": "172.30.128.16/31"},
                "gateway": {"port": "gateway-1/enp2s1", "ip": "172.30.128.17/31"}}]}}}),
        json!({"apiVersion": "gateway.githedgehog.com/v1alpha1", "kind": "Gateway",
            "metadata": {"name": "gateway-1", "namespace": "fab"},
            "spec": {"asn": 65534, "protocolIP": "172.30.8.6/32",
                "neighbors": [{"source": "enp2s1", "ip": "172.30.128.16", "asn": 65101}]}}),
    ]
}

/// The compact live SwitchProfile `vs` (what `kinds::live_fields` keeps).
fn vs_profile() -> Value {
    let mut ports = serde_json::Map::new();
    ports.insert(
        "M1".into(),
        json!({"nos": "Management0", "management": true}),
    );
    for n in 1..=48 {
        ports.insert(
            format!("E1/{n}"),
            json!({"nos": format!("Ethernet{}", n - 1), "profile": "SFP28-25G"}),
        );
    }
    json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "SwitchProfile",
        "metadata": {"name": "vs", "namespace": "default"},
        "spec": {"ports": ports, "portProfiles": {"SFP28-25G": {"speed": {"default": "25G"}}}}})
}

/// An up port as the agent reports it, with one LLDP neighbor.
fn up_port(sys_name: &str, sys_descr: &str, port_id: &str) -> Value {
    json!({
        "enabled": true, "admin": "up", "oper": "up", "mac": "0c:20:12:fe:01:01",
        "change": at(86_400), "speed": "25G", "auto": false, "fec": "none",
        "counters": {"inb": 81_234_567_u64, "outb": 72_345_678_u64, "ind": 0, "ine": 2, "outd": 0,
            "oute": 1, "inbps": 1234.5, "outbps": 2345.6, "inpbs": 12.0, "outpps": 13.0,
            "inu": 1, "outu": 1, "clear": at(864_000),
            "queues": {"0": {"db": 0, "dp": 0, "ecnb": 0, "ecnp": 0, "b": 100, "p": 1, "wreddp": 0, "bps": 0.0, "pps": 0.0}}},
        "lldpNeighbors": [{"name": "neighbor", "chassis": "0c:20:12:fe:00:01", "sysName": sys_name,
            "sysDescr": sys_descr, "portID": port_id, "portDescr": port_id}]
    })
}

fn bgp_peer(state: &str, peer_as: u32) -> Value {
    json!({"state": state, "enabled": true, "peerAS": peer_as, "localAS": 65101,
        "peerType": "external", "lastEstab": at(3600), "lastReset": at(7200),
        "lastResetReason": "", "lastRead": at(1), "lastWrite": at(1),
        "connDropped": 1, "estabTrans": 2, "peerGroup": "", "peerPort": 179,
        "remoteRouterID": "172.30.8.0",
        "msgs": {"rec": {"keepal": 100, "update": 5}, "sent": {"keepal": 100, "update": 6}},
        "prefixes": {"IPV4_UNICAST": {"rec": 3, "recPre": 3, "sent": 4}}})
}

/// leaf-1's Agent, everything healthy: the three expected ports up with the right neighbors,
/// the management port's out-of-band neighbor, BGP and BFD up, a transceiver, platform and
/// resources well within limits.
fn leaf_agent() -> Value {
    json!({
        "apiVersion": "agent.githedgehog.com/v1beta1", "kind": "Agent",
        "metadata": {"name": "leaf-1", "namespace": "default", "generation": 5,
            "resourceVersion": "1234", "uid": "9b3c"},
        "spec": {"role": "server-leaf", "users": [{"name": "admin", "password": "$5$secret-hash",
            "sshKeys": ["ssh-ed25519 AAAA"]}], "version": {"password": "registry-secret"}},
        "status": {
            "version": "v0.96.2", "installID": "i", "runID": "r", "bootID": "b",
            "lastHeartbeat": at(5), "lastAttemptTime": at(600), "lastAttemptGen": 5,
            "lastAppliedTime": at(590), "lastAppliedGen": 5, "rebootRequired": false,
            "conditions": [{"type": "Applied", "status": "True", "reason": "ApplySucceeded"}],
            "state": {
                "nos": {"softwareVersion": "4.5.0", "platformName": "x86_64-kvm_x86_64-r0"},
                "interfaces": {
                    "M1": up_port("oob-switch", "SONiC", "Ethernet12"),
                    "E1/5": up_port("server-3", "Ubuntu 24.04", "enp2s1"),
                    "E1/8": up_port("gateway-1", "Debian", "enp2s1"),
                    "E1/9": up_port("spine-1", "Hedgehog Fabric", "Ethernet0"),
                    "E1/20": {"enabled": true, "admin": "up", "oper": "down", "speed": "25G"}
                },
                "transceivers": {
                    "E1/9": {"descr": "QSFP28 100G SR4", "present": "PRESENT", "oper": "active",
                        "temp": 35.5, "voltage": 3.3, "vendor": "Acme", "vendorPart": "Q100",
                        "serial": "S1", "channels": {
                            "0": {"in": -2.1, "out": -1.0, "bias": 6.5},
                            "1": {"in": -2.4, "out": -1.1, "bias": 6.4}}},
                    "E1/20": {"descr": "SFP28 25G SR", "present": "PRESENT", "oper": "active",
                        "temp": 30.0, "channels": {"0": {"in": -40.0, "out": -2.0, "bias": 6.0}}}
                },
                "bgpNeighbors": {"default": {
                    "172.30.128.0": bgp_peer("established", 65100),
                    "172.30.8.0": bgp_peer("established", 65100),
                    "172.30.128.17": bgp_peer("established", 65534)
                }},
                "bfdPeers": {"default": {
                    "172.30.128.0": {"state": "up", "profile": "", "lastUpTime": at(3600), "fails": 0},
                    "172.30.128.17": {"state": "up", "lastUpTime": at(3600), "fails": 1}
                }},
                "platform": {
                    "fans": {"FAN 1": {"dir": "intake", "speed": 8000.0, "presence": true, "status": true}},
                    "psus": {
                        "PSU 1": {"inPower": 120.0, "outPower": 110.0, "presence": true, "status": true},
                        "PSU 2": {"inPower": 118.0, "outPower": 108.0, "presence": true, "status": true}
                    },
                    "temps": {"CPU": {"temp": 45.0, "highThreshold": 80.0, "critHighThreshold": 90.0,
                        "lowThreshold": 0.0, "critLowThreshold": 0.0, "alarms": ""}}
                },
                "criticalResources": {
                    "aclStats": {"ingress": {"port": {"groupsUsed": 1, "groupsAvailable": 100}}},
                    "stats": {"ipv4RoutesUsed": 1000, "ipv4RoutesAvailable": 9000,
                        "fdbEntriesUsed": 10, "fdbEntriesAvailable": 32000}
                }
            }
        }
    })
}

/// spine-1's Agent: healthy, its fabric port seeing leaf-1.
fn spine_agent() -> Value {
    json!({
        "apiVersion": "agent.githedgehog.com/v1beta1", "kind": "Agent",
        "metadata": {"name": "spine-1", "namespace": "default", "generation": 3},
        "status": {
            "version": "v0.96.2", "lastHeartbeat": at(3), "lastAttemptGen": 3,
            "lastAttemptTime": at(600), "lastAppliedGen": 3, "lastAppliedTime": at(590),
            "state": {
                "interfaces": {"E1/1": up_port("leaf-1", "Hedgehog Fabric", "Ethernet8")},
                "bgpNeighbors": {"default": {
                    "172.30.128.1": bgp_peer("established", 65101),
                    "172.30.8.2": bgp_peer("established", 65101)
                }},
                "bfdPeers": {"default": {"172.30.128.1": {"state": "up"}}}
            }
        }
    })
}

/// gateway-1's GatewayAgent, healthy.
fn gateway_agent() -> Value {
    json!({
        "apiVersion": "gwint.githedgehog.com/v1alpha1", "kind": "GatewayAgent",
        "metadata": {"name": "gateway-1", "namespace": "fab", "generation": 2},
        "spec": {"gateway": {"asn": 65534}},
        "status": {
            "agentVersion": "v0.2.0", "lastHeartbeat": at(4), "lastAppliedTime": at(500),
            "lastAppliedGen": 2,
            "state": {
                "lastCollectedTime": at(4),
                "frr": {"lastAppliedGen": 2},
                "vpcs": {"vpc-1": {"p": 10, "b": 1000, "d": 0}},
                "bgp": {"vrfs": {"default": {"neighbors": {"172.30.128.16": {
                    "enabled": true, "localAS": 65534, "peerAS": 65101,
                    "remoteRouterID": "172.30.8.2", "sessionState": "established",
                    "connectionsDropped": 0, "establishedTransitions": 1,
                    "lastResetReason": "", "messages": {"received": {"keepalive": 10}}
                }}}}}
            }
        }
    })
}

/// The world a test changes one thing in.
struct World {
    desired: Vec<Value>,
    agents: Vec<Value>,
    gateway_agents: Vec<Value>,
    profiles: Vec<Value>,
    flaps: FlapHistory,
    thresholds: Thresholds,
}

impl World {
    fn healthy() -> World {
        World {
            desired: desired(),
            agents: vec![leaf_agent(), spine_agent()],
            gateway_agents: vec![gateway_agent()],
            profiles: vec![vs_profile()],
            flaps: FlapHistory::default(),
            thresholds: Thresholds::default(),
        }
    }

    fn agent(&mut self, name: &str) -> &mut Value {
        self.agents
            .iter_mut()
            .find(|agent| agent["metadata"]["name"] == name)
            .expect("agent in the world")
    }

    fn leaf_state(&mut self) -> &mut Value {
        &mut self.agent("leaf-1")["status"]["state"]
    }

    fn judge(&self) -> Vec<SwitchHealth> {
        let intent = intent::derive(&self.desired);
        let agents: Vec<&Value> = self.agents.iter().collect();
        let gateway_agents: Vec<&Value> = self.gateway_agents.iter().collect();
        let profiles: Vec<&Value> = self.profiles.iter().collect();
        judge_fabric(
            &intent,
            Observed {
                agents: &agents,
                gateway_agents: &gateway_agents,
                switch_profiles: &profiles,
            },
            &self.flaps,
            &self.thresholds,
            NOW,
        )
    }

    /// The same judgement through a cache the caller keeps between calls.
    fn judge_cached(&self, cache: &mut JudgeCache, epoch: u64) -> Vec<SwitchHealth> {
        let intent = intent::derive(&self.desired);
        let agents: Vec<&Value> = self.agents.iter().collect();
        let gateway_agents: Vec<&Value> = self.gateway_agents.iter().collect();
        let profiles: Vec<&Value> = self.profiles.iter().collect();
        let port_maps = PortMaps::build(&intent, &profiles);
        judge_fabric_cached(
            &intent,
            Observed {
                agents: &agents,
                gateway_agents: &gateway_agents,
                switch_profiles: &profiles,
            },
            &port_maps,
            &self.flaps,
            &self.thresholds,
            NOW,
            epoch,
            cache,
        )
    }

    fn node(&self, name: &str) -> SwitchHealth {
        self.judge()
            .into_iter()
            .find(|node| node.name == name)
            .unwrap_or_else(|| panic!("{name} judged"))
    }
}

fn reason(level: Level, signal: Signal, subject: &str, message: &str) -> Reason {
    Reason {
        level,
        signal,
        subject: subject.into(),
        message: message.into(),
    }
}

fn neighbor(device: &str, port: &str) -> Neighbor {
    Neighbor {
        device: device.into(),
        port: port.into(),
    }
}

#[test]
fn a_healthy_fabric_has_no_reasons_and_full_counts() {
    let judged = World::healthy().judge();
    let names: Vec<(&str, crate::health::NodeKind)> = judged
        .iter()
        .map(|node| (node.name.as_str(), node.kind))
        .collect();
    use crate::health::NodeKind::{Gateway, Switch};
    assert_eq!(
        names,
        [
            ("gateway-1", Gateway),
            ("leaf-1", Switch),
            ("spine-1", Switch)
        ]
    );
    for node in &judged {
        assert_eq!(node.reasons, vec![], "{}", node.name);
        assert_eq!(node.level, Level::Healthy);
        assert_eq!(node.state, SwitchState::Ready);
    }
    let leaf = &judged[1];
    assert_eq!(leaf.version.as_deref(), Some("v0.96.2"));
    assert_eq!(leaf.heartbeat_age, Some(5));
    let counts = leaf.counts;
    assert_eq!((counts.ports_up, counts.ports_expected), (3, 3));
    assert_eq!((counts.lldp_ok, counts.lldp_expected), (3, 3));
    assert_eq!((counts.bgp_established, counts.bgp_expected), (3, 3));
    assert_eq!((counts.bfd_up, counts.bfd_expected), (2, 2));
    assert_eq!(counts.unstable_ports, 0);
    assert_eq!(counts.resources_max_percent, 10);
    assert_eq!(judged[0].version.as_deref(), Some("v0.2.0"));
    assert_eq!(judged[0].counts.bgp_established, 1);
}

#[test]
fn the_detail_puts_gits_neighbor_beside_lldps_with_nos_names() {
    let leaf = World::healthy().node("leaf-1");
    let ports: Vec<&str> = leaf
        .detail
        .ports
        .iter()
        .map(|row| row.port.as_str())
        .collect();
    // Expected ports, and reported ones with a neighbor, in port order; M1 too (its neighbor
    // is listed, not judged).
    assert_eq!(ports, ["E1/5", "E1/8", "E1/9", "M1"]);
    let fabric = &leaf.detail.ports[2];
    assert_eq!(fabric.nos_name.as_deref(), Some("Ethernet8"));
    assert_eq!(
        fabric.connection.as_deref(),
        Some("spine-1--fabric--leaf-1")
    );
    assert_eq!(fabric.connection_type.as_deref(), Some("fabric"));
    assert_eq!(fabric.expected, Some(neighbor("spine-1", "E1/1")));
    // spine-1 advertises its NOS name Ethernet0; mapped through spine-1's profile.
    assert_eq!(fabric.actual, vec![neighbor("spine-1", "E1/1")]);
    assert_eq!(
        (
            fabric.oper.as_str(),
            fabric.admin.as_str(),
            fabric.speed.as_str()
        ),
        ("up", "up", "25G")
    );
    assert_eq!(fabric.errors, 3, "input + output errors");
    assert_eq!(fabric.level, Level::Healthy);

    let session = leaf
        .detail
        .bgp
        .iter()
        .find(|row| row.peer == "172.30.128.0")
        .unwrap();
    assert!(session.expected);
    assert_eq!(session.remote.as_deref(), Some("spine-1"));
    assert_eq!(session.state, "established");
    assert_eq!(session.peer_as, Some(65100));
    assert_eq!(session.expected_as, Some(65100));
    assert_eq!(session.established_at, Some(NOW - 3600));
    assert_eq!(session.last_reset_at, Some(NOW - 7200));
    assert_eq!(session.transitions, 2);
    assert_eq!(leaf.detail.bfd.len(), 2);
    let optic = &leaf.detail.optics[0];
    assert_eq!(optic.port, "E1/9", "port order: E1/9 before E1/20");
    assert_eq!(optic.rx_dbm, Some(-2.4), "the worst lane");
    assert_eq!(optic.tx_dbm, Some(-1.1));
    assert_eq!(optic.temperature, Some(35.5));
    let platform: Vec<(&str, &str, &str)> = leaf
        .detail
        .platform
        .iter()
        .map(|row| {
            (
                row.component.as_str(),
                row.name.as_str(),
                row.state.as_str(),
            )
        })
        .collect();
    assert_eq!(
        platform,
        [
            ("psu", "PSU 1", "ok"),
            ("psu", "PSU 2", "ok"),
            ("fan", "FAN 1", "ok"),
            ("temp", "CPU", "45.0°C (high 80°C, critical 90°C)")
        ]
    );
    let routes = &leaf.detail.resources[1];
    assert_eq!(
        (
            routes.resource.as_str(),
            routes.used,
            routes.available,
            routes.percent
        ),
        ("ipv4Routes", 1000, 9000, 10)
    );
}

#[test]
fn the_cache_rejudges_a_switch_when_its_report_changes_and_agrees_with_a_full_judgement() {
    let mut world = World::healthy();
    let mut cache = JudgeCache::default();
    assert_eq!(world.judge_cached(&mut cache, 1), world.judge());
    // A new report of leaf-1 (a new resourceVersion) with a port down: re-judged.
    world.agent("leaf-1")["metadata"]["resourceVersion"] = json!("2");
    world.leaf_state()["interfaces"]["E1/9"]["oper"] = json!("down");
    let judged = world.judge_cached(&mut cache, 1);
    assert_eq!(judged, world.judge());
    let leaf = judged.iter().find(|n| n.name == "leaf-1").unwrap();
    assert_eq!(leaf.level, Level::Unhealthy);
    // Nothing new: the cached judgement, still equal to a full one.
    assert_eq!(world.judge_cached(&mut cache, 1), world.judge());
    // The intent changed (a new epoch): every switch judged again with it.
    world
        .desired
        .retain(|object| object["kind"] != "Connection");
    assert_eq!(world.judge_cached(&mut cache, 2), world.judge());
}
