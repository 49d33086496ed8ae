//! Intent derived from the example fabric and a real lab wiring with externals.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;

/// Every YAML document under `dir` (recursively), as JSON.
fn documents_under(dir: &Path) -> Vec<Value> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files.iter().flat_map(|file| documents_in(file)).collect()
}

fn documents_in(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", file.display()));
    serde_yaml::Deserializer::from_str(&text)
        .filter_map(|document| {
            let value: Value = serde::Deserialize::deserialize(document)
                .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
            (!value.is_null()).then_some(value)
        })
        .collect()
}

fn example_fabric() -> FabricIntent {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/fabric");
    let documents = documents_under(&dir);
    assert!(documents.len() > 40, "examples/fabric has its objects");
    derive(&documents)
}

fn neighbor(device: &str, port: &str) -> Neighbor {
    Neighbor {
        device: device.into(),
        port: port.into(),
    }
}

fn session_key(vrf: &str, ip: &str) -> (String, String) {
    (vrf.to_string(), ip.to_string())
}

#[test]
fn every_switch_and_gateway_of_the_example_has_an_entry() {
    let intent = example_fabric();
    let switches: Vec<&str> = intent.switches.keys().map(String::as_str).collect();
    assert_eq!(
        switches,
        ["leaf-1", "leaf-2", "leaf-3", "leaf-4", "spine-1", "spine-2"]
    );
    assert_eq!(intent.gateways.keys().collect::<Vec<_>>(), ["gateway-1"]);
    let leaf_1 = &intent.switches["leaf-1"];
    assert_eq!(leaf_1.profile.as_deref(), Some("vs"));
    assert_eq!(leaf_1.asn, Some(65101));
    assert!(leaf_1.port_breakouts.is_empty());
    assert!(leaf_1.conflicts.is_empty());
}

#[test]
fn example_ports_expect_the_neighbor_at_the_other_end_of_each_connection() {
    let intent = example_fabric();
    let leaf_1 = &intent.switches["leaf-1"];
    let fabric = &leaf_1.ports["E1/9"];
    assert_eq!(fabric.connection, "spine-1--fabric--leaf-1");
    assert_eq!(fabric.connection_type, "fabric");
    assert_eq!(fabric.remote, neighbor("spine-1", "E1/1"));
    assert!(fabric.check_lldp);
    // Both ends of a fabric link expect each other.
    assert_eq!(
        intent.switches["spine-1"].ports["E1/1"].remote,
        neighbor("leaf-1", "E1/9")
    );

    let mclag = &leaf_1.ports["E1/5"];
    assert_eq!(mclag.connection, "server-1--mclag--leaf-1--leaf-2");
    assert_eq!(mclag.connection_type, "mclag");
    assert_eq!(mclag.remote, neighbor("server-1", "enp2s1"));
    assert_eq!(
        intent.switches["leaf-2"].ports["E1/5"].remote,
        neighbor("server-1", "enp2s2")
    );

    let peer_link = &leaf_1.ports["E1/3"];
    assert_eq!(peer_link.connection_type, "mclagDomain");
    assert_eq!(peer_link.remote, neighbor("leaf-2", "E1/3"));
    assert_eq!(
        intent.switches["leaf-2"].ports["E1/1"].remote,
        neighbor("leaf-1", "E1/1"),
        "session links count too, on both switches"
    );

    let unbundled = &leaf_1.ports["E1/7"];
    assert_eq!(
        unbundled.describe(),
        "server-3--unbundled--leaf-1 to server-3/enp2s1"
    );

    let gateway = &intent.switches["leaf-3"].ports["E1/8"];
    assert_eq!(gateway.connection_type, "gateway");
    assert_eq!(gateway.remote, neighbor("gateway-1", "enp2s1"));
    let bundled = &intent.switches["leaf-3"].ports["E1/4"];
    assert_eq!(bundled.remote, neighbor("server-7", "enp2s2"));
    let eslag = &intent.switches["leaf-4"].ports["E1/2"];
    assert_eq!(eslag.remote, neighbor("server-5", "enp2s2"));
}

#[test]
fn example_bgp_expects_link_and_loopback_sessions_with_the_peers_asn() {
    let intent = example_fabric();
    let leaf_1 = &intent.switches["leaf-1"];
    let link = &leaf_1.bgp[&session_key("default", "172.30.128.0")];
    assert_eq!(
        link,
        &ExpectedSession {
            remote: "spine-1".into(),
            session_type: "fabric".into(),
            remote_as: Some(65100),
            local_port: Some("E1/9".into()),
            bfd: true,
        }
    );
    let loopback = &leaf_1.bgp[&session_key("default", "172.30.8.0")];
    assert_eq!(loopback.remote, "spine-1");
    assert_eq!(loopback.remote_as, Some(65100));
    assert_eq!(loopback.local_port, None);
    assert!(!loopback.bfd);
    // The spine sees the leaf's link IP and loopback.
    let spine_1 = &intent.switches["spine-1"];
    assert_eq!(
        spine_1.bgp[&session_key("default", "172.30.128.1")].remote_as,
        Some(65101)
    );
    assert_eq!(
        spine_1.bgp[&session_key("default", "172.30.8.2")].remote,
        "leaf-1"
    );
    // No session over MCLAG links or to servers.
    assert!(
        leaf_1
            .bgp
            .values()
            .all(|session| session.remote.starts_with("spine-"))
    );

    let leaf_3 = &intent.switches["leaf-3"];
    let to_gateway = &leaf_3.bgp[&session_key("default", "172.30.128.17")];
    assert_eq!(to_gateway.remote, "gateway-1");
    assert_eq!(to_gateway.session_type, "gateway");
    assert_eq!(to_gateway.remote_as, Some(65534));
    assert!(to_gateway.bfd);

    let gateway = &intent.gateways["gateway-1"];
    assert_eq!(gateway.asn, Some(65534));
    let to_leaf_3 = &gateway.bgp[&session_key("default", "172.30.128.16")];
    assert_eq!(to_leaf_3.remote, "leaf-3");
    assert_eq!(to_leaf_3.remote_as, Some(65102));
    assert_eq!(to_leaf_3.local_port.as_deref(), Some("enp2s1"));
    assert_eq!(
        gateway.bgp[&session_key("default", "172.30.128.18")].remote_as,
        Some(65103)
    );
    assert_eq!(gateway.bgp.len(), 2);
}

#[test]
fn lab_wiring_expects_external_sessions_in_their_vrf_but_not_static_ones() {
    let samples = testenv::shared_dir()
        .unwrap_or_else(|error| panic!("{error}"))
        .join("hedgehog/samples");
    let documents = documents_in(&samples.join("lab-ci/env-ci-1.l/wiring.yaml"));
    let intent = derive(&documents);
    let border = &intent.switches["ds3000-03"];
    assert_eq!(border.profile.as_deref(), Some("celestica-ds3000"));
    assert_eq!(
        border.port_breakouts.get("E1/1").map(String::as_str),
        Some("4x10G")
    );
    let external_port = &border.ports["E1/1/4"];
    assert_eq!(external_port.connection, "ds3000-03--external--ds2000-02");
    assert_eq!(external_port.connection_type, "external");
    assert_eq!(external_port.remote, Neighbor::default());
    assert!(!external_port.check_lldp);

    let default = &border.bgp[&session_key("VrfEdefault", "100.6.100.6")];
    assert_eq!(
        default,
        &ExpectedSession {
            remote: "default".into(),
            session_type: "external".into(),
            remote_as: Some(64102),
            local_port: Some("E1/1/4".into()),
            bfd: false,
        }
    );
    assert_eq!(
        border.bgp[&session_key("VrfEother", "100.6.200.6")].remote,
        "other"
    );
    // The static External's attachment has no BGP session.
    assert!(border.bgp.keys().all(|(vrf, _)| vrf != "VrfEstatic-ext"));
    assert!(
        !border.bgp.keys().any(|(_, ip)| ip == "100.6.210.6"),
        "{:?}",
        border.bgp.keys()
    );
    // Fabric links without IPs (hhfab's input wiring) expect ports but no link session.
    assert_eq!(border.ports["E1/28"].remote, neighbor("ds4000-01", "E1/5"));
    assert!(border.bgp.keys().all(|(vrf, _)| vrf.starts_with("VrfE")));
}

#[test]
fn a_port_two_connections_claim_keeps_the_first_and_reports_the_second() {
    let switch = json!({"kind": "Switch", "metadata": {"name": "leaf-1"},
        "spec": {"profile": "vs", "asn": 65101}});
    let first = json!({"kind": "Connection", "metadata": {"name": "a--unbundled--leaf-1"},
        "spec": {"unbundled": {"link": {"server": {"port": "a/eth0"}, "switch": {"port": "leaf-1/E1/5"}}}}});
    let second = json!({"kind": "Connection", "metadata": {"name": "b--unbundled--leaf-1"},
        "spec": {"unbundled": {"link": {"server": {"port": "b/eth0"}, "switch": {"port": "leaf-1/E1/5"}}}}});
    // The order in the desired set does not matter: Connections are taken by name.
    let intent = derive([&switch, &second, &first]);
    let leaf_1 = &intent.switches["leaf-1"];
    assert_eq!(leaf_1.ports["E1/5"].connection, "a--unbundled--leaf-1");
    assert_eq!(
        leaf_1.conflicts,
        vec![PortConflict {
            port: "E1/5".into(),
            kept: "a--unbundled--leaf-1".into(),
            ignored: "b--unbundled--leaf-1".into(),
        }]
    );
}

#[test]
fn ignores_other_kinds_and_connections_to_switches_not_in_git() {
    let vpc = json!({"kind": "VPC", "metadata": {"name": "vpc-1"}, "spec": {}});
    let orphan = json!({"kind": "Connection", "metadata": {"name": "x--unbundled--ghost"},
        "spec": {"unbundled": {"link": {"server": {"port": "x/eth0"}, "switch": {"port": "ghost/E1/1"}}}}});
    let intent = derive([&vpc, &orphan]);
    assert_eq!(intent, FabricIntent::default());
}

#[test]
fn a_static_external_or_attachment_expects_no_bgp_session() {
    let switch = json!({"kind": "Switch", "metadata": {"name": "border"}, "spec": {"asn": 65101}});
    let connection = json!({"kind": "Connection", "metadata": {"name": "border--external--edge"},
        "spec": {"external": {"link": {"switch": {"port": "border/E1/1"}}}}});
    let bgp_external = json!({"kind": "External", "metadata": {"name": "internet"},
        "spec": {"ipv4Namespace": "default"}});
    let static_external = json!({"kind": "External", "metadata": {"name": "legacy"},
        "spec": {"ipv4Namespace": "default", "static": {"prefixes": ["0.0.0.0/0"]}}});
    let attach = |name: &str, external: &str, ip: &str, is_static: bool| {
        let mut spec = json!({"external": external, "connection": "border--external--edge",
            "switch": {"vlan": 100, "ip": "100.0.0.2/24"}, "neighbor": {"asn": 64102, "ip": ip}});
        if is_static {
            spec["static"] = json!({"remoteIP": ip, "vlan": 210, "ip": "100.0.2.2/24"});
        }
        json!({"kind": "ExternalAttachment", "metadata": {"name": name}, "spec": spec})
    };
    let documents = [
        switch,
        connection,
        bgp_external,
        static_external,
        attach("border--internet", "internet", "100.0.0.6", false),
        attach("border--internet-static", "internet", "100.0.1.6", true),
        attach("border--legacy", "legacy", "100.0.2.6", false),
    ];
    let intent = derive(&documents);
    let sessions: Vec<&(String, String)> = intent.switches["border"].bgp.keys().collect();
    assert_eq!(sessions, [&session_key("VrfEinternet", "100.0.0.6")]);
}
