use super::*;
use serde_json::json;

#[test]
fn registry_holds_the_fabric_and_gateway_kinds_and_four_read_only_ones() {
    assert_eq!(desired_kinds().count(), 15);
    assert_eq!(KINDS.len(), 19);
    for read_only in ["Agent", "SwitchProfile", "VPCInfo", "GatewayAgent"] {
        assert!(!by_kind(read_only).unwrap().writable(), "{read_only}");
    }
    assert_eq!(
        by_kind("GatewayAgent").unwrap().api_version(),
        "gwint.githedgehog.com/v1alpha1"
    );
    assert!(is_hedgehog_group("gwint.githedgehog.com/v1alpha1"));
    assert_eq!(
        renamed("gateway.githedgehog.com/v1alpha1", "Peering")
            .unwrap()
            .now,
        "GatewayPeering"
    );
    assert!(renamed("example.com/v1", "Peering").is_none());
}

#[test]
fn apply_ranks_put_references_before_referrers() {
    let rank = |k: &str| by_kind(k).unwrap().apply_rank.unwrap();
    assert!(rank("SwitchGroup") < rank("Switch"));
    assert!(rank("Switch") < rank("Connection"));
    assert!(rank("Server") < rank("Connection"));
    assert!(rank("Connection") < rank("VPC"));
    assert!(rank("VPC") < rank("VPCAttachment"));
    assert!(rank("External") < rank("ExternalPeering"));
    assert!(rank("GatewayGroup") < rank("Gateway"));
    assert!(
        rank("Connection") < rank("Gateway"),
        "gateway-add.md: Connections first"
    );
    for referenced in ["Gateway", "GatewayGroup", "VPC", "External"] {
        assert!(rank(referenced) < rank("GatewayPeering"), "{referenced}");
    }
    let ranks: Vec<u8> = desired_kinds().map(|k| k.apply_rank.unwrap()).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "KINDS is in apply order"
    );
}

#[test]
fn operators_can_name_kinds_like_kubectl() {
    assert_eq!(lookup("vpcs").unwrap().kind, "VPC");
    assert_eq!(lookup("conn").unwrap().kind, "Connection");
    assert_eq!(lookup("switch").unwrap().kind, "Switch");
    assert_eq!(lookup("gw").unwrap().kind, "Gateway");
    assert_eq!(lookup("gatewaypeerings").unwrap().kind, "GatewayPeering");
    assert!(lookup("peering").is_none());
}

#[test]
fn live_agents_keep_what_health_reads_and_no_secret() {
    let agent = json!({
        "apiVersion": "agent.githedgehog.com/v1beta1", "kind": "Agent",
        "metadata": {"name": "leaf-1", "namespace": "default", "generation": 4,
                     "annotations": {"note": "x"}},
        "spec": {"users": [{"name": "admin", "password": "$5$hash", "sshKeys": ["ssh-ed25519 AAAA"]}],
                 "version": {"password": "registry-pass"}},
        "status": {"lastHeartbeat": "2025-01-02T03:04:05Z", "lastAppliedGen": 4,
                   "version": "v0.87.4", "rebootRequired": false,
                   "state": {"nos": {"serialNumber": "SN1"}}}
    });
    let info = by_kind("Agent").unwrap();
    let kept = info.keep_live_fields(agent.clone());
    assert_eq!(
        kept,
        json!({
            "apiVersion": "agent.githedgehog.com/v1beta1", "kind": "Agent",
            "metadata": {"name": "leaf-1", "namespace": "default", "generation": 4},
            "status": {"lastHeartbeat": "2025-01-02T03:04:05Z", "lastAppliedGen": 4,
                       "version": "v0.87.4"}
        })
    );
    let now = crate::health::parse_rfc3339("2025-01-02T03:04:10Z").unwrap();
    assert_eq!(
        crate::health::classify_agent(&kept, now, 60),
        crate::health::classify_agent(&agent, now, 60)
    );
    let vpc = json!({"kind": "VPC", "spec": {"subnets": {}}, "metadata": {"labels": {}}});
    assert_eq!(by_kind("VPC").unwrap().keep_live_fields(vpc.clone()), vpc);
}

#[test]
fn columns_read_kind_specific_fields() {
    let vpc = json!({"spec": {"ipv4Namespace": "default", "subnets": {
        "subnet-1": {"subnet": "10.0.1.0/24", "vlan": 1001}}}});
    let info = by_kind("VPC").unwrap();
    let cells: Vec<String> = info.columns.iter().map(|c| (c.cell)(&vpc)).collect();
    assert_eq!(cells, ["default", "", "subnet-1=10.0.1.0/24@1001"]);

    let conn = json!({"spec": {"unbundled": {"link": {
        "server": {"port": "server-01/enp2s1"}, "switch": {"port": "leaf-01/E1/1"}}}}});
    let info = by_kind("Connection").unwrap();
    let cells: Vec<String> = info.columns.iter().map(|c| (c.cell)(&conn)).collect();
    assert_eq!(cells, ["unbundled", "server-01/enp2s1 leaf-01/E1/1"]);

    let gateway = json!({"spec": {"asn": 65534, "protocolIP": "172.30.8.2/32",
        "vtepIP": "172.30.12.2/32",
        "interfaces": {"enp2s1": {"ips": ["172.30.128.1/31"]}, "enp2s2": {}},
        "neighbors": [{"ip": "172.30.128.0", "asn": 65101, "source": "enp2s1"}],
        "groups": [{"name": "default"}, {"name": "group-1", "priority": 10}]}});
    let info = by_kind("Gateway").unwrap();
    let cells: Vec<String> = info.columns.iter().map(|c| (c.cell)(&gateway)).collect();
    assert_eq!(
        cells,
        [
            "65534",
            "172.30.8.2/32",
            "172.30.12.2/32",
            "enp2s1 enp2s2",
            "172.30.128.0@65101",
            "default group-1:10"
        ]
    );

    let peering = json!({"spec": {"gatewayGroup": "", "peering": {
        "vpc-1": {"expose": [{"ips": [{"cidr": "10.0.1.0/24"}]}]},
        "vpc-2": {"expose": [{"ips": [{"cidr": "10.0.2.0/24"}], "as": [{"cidr": "192.168.0.0/24"}],
                              "nat": {"masquerade": {"idleTimeout": "2m0s"}}}]}},
        "acl": {"rules": [{"action": "allow"}]}}});
    let info = by_kind("GatewayPeering").unwrap();
    let cells: Vec<String> = info.columns.iter().map(|c| (c.cell)(&peering)).collect();
    assert_eq!(
        cells,
        [
            "vpc-1 vpc-2",
            "vpc-2:masquerade",
            "deny-unless-exposed (1 rules)",
            ""
        ]
    );
}

#[test]
fn live_gateway_agents_keep_health_state_not_the_copied_spec_or_counters() {
    let agent = json!({
        "apiVersion": "gwint.githedgehog.com/v1alpha1", "kind": "GatewayAgent",
        "metadata": {"name": "gateway-1", "namespace": "default", "generation": 3},
        "spec": {"agentVersion": "v1", "gateway": {"asn": 65534}, "peerings": {"p": {}}},
        "status": {"lastHeartbeat": "2026-01-01T00:00:00Z", "lastAppliedGen": 3,
                   "state": {"frr": {"lastAppliedGen": 3},
                             "vpcs": {"vpc-1": {"p": 1, "b": 2, "d": 0}},
                             "bgp": {"vrfs": {"default": {"neighbors": {
                                 "172.30.128.0": {"sessionState": "established"},
                                 "172.30.128.2": {"sessionState": "active"}}}}}}}
    });
    let info = by_kind("GatewayAgent").unwrap();
    let kept = info.keep_live_fields(agent);
    assert!(kept.pointer("/spec/gateway").is_none());
    assert!(kept.pointer("/status/state/vpcs").is_none());
    assert_eq!(kept["spec"]["agentVersion"], "v1");
    let cells: Vec<String> = info.columns.iter().map(|c| (c.cell)(&kept)).collect();
    assert_eq!(cells, ["2026-01-01T00:00:00Z", "3/3", "3", "", "1/2 up"]);
}
