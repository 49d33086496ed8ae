//! Which nodes are judged, and their heartbeat and config.

use super::*;

#[test]
fn a_switch_in_git_without_an_agent_has_not_registered() {
    let mut world = World::healthy();
    world
        .agents
        .retain(|agent| agent["metadata"]["name"] != "spine-1");
    let spine = world.node("spine-1");
    assert_eq!(spine.state, SwitchState::Stale);
    assert_eq!(
        spine.reasons,
        vec![reason(
            Level::Unhealthy,
            Signal::Heartbeat,
            "",
            "no Agent object: the switch has not registered"
        )]
    );
    // The detail still shows Git's wiring.
    assert_eq!(spine.detail.ports[0].port, "E1/1");
    assert_eq!(
        spine.detail.ports[0].expected,
        Some(neighbor("leaf-1", "E1/9"))
    );
    assert_eq!(spine.counts.ports_expected, 1);
}

#[test]
fn a_stale_switch_is_one_reason_not_one_per_port() {
    let mut world = World::healthy();
    let agent = world.agent("leaf-1");
    agent["status"]["lastHeartbeat"] = json!(at(180));
    // Its last report was bad too: none of that is judged.
    agent["status"]["state"]["interfaces"]["E1/5"]["oper"] = json!("down");
    agent["status"]["state"]["bgpNeighbors"]["default"]["172.30.128.0"]["state"] = json!("idle");
    agent["status"]["state"]["platform"]["psus"]["PSU 2"]["status"] = json!(false);
    let leaf = world.node("leaf-1");
    assert_eq!(leaf.state, SwitchState::Stale);
    assert_eq!(leaf.heartbeat_age, Some(180));
    assert_eq!(
        leaf.reasons,
        vec![reason(
            Level::Unhealthy,
            Signal::Heartbeat,
            "",
            "no heartbeat for 3m"
        )]
    );
    assert_eq!(leaf.level, Level::Unhealthy);

    world.agent("leaf-1")["status"]
        .as_object_mut()
        .unwrap()
        .remove("lastHeartbeat");
    assert_eq!(
        world.node("leaf-1").reasons,
        vec![reason(
            Level::Unhealthy,
            Signal::Heartbeat,
            "",
            "agent never reported"
        )]
    );
}

#[test]
fn stuck_is_unhealthy_pending_is_routine_and_a_reboot_is_a_warning() {
    let mut world = World::healthy();
    let agent = world.agent("leaf-1");
    agent["metadata"]["generation"] = json!(8);
    agent["status"]["lastAttemptGen"] = json!(8);
    agent["status"]["lastAttemptTime"] = json!(at(120));
    let leaf = world.node("leaf-1");
    assert_eq!(leaf.state, SwitchState::Stuck);
    assert_eq!(
        leaf.reasons,
        vec![reason(
            Level::Unhealthy,
            Signal::Config,
            "",
            "generation 8 attempted, not applied (applied: 5)"
        )]
    );

    world.agent("leaf-1")["status"]["lastAttemptGen"] = json!(5);
    let leaf = world.node("leaf-1");
    assert_eq!(leaf.state, SwitchState::Pending);
    assert_eq!(leaf.reasons, vec![]);

    world.agent("leaf-1")["metadata"]["generation"] = json!(5);
    world.agent("leaf-1")["status"]["rebootRequired"] = json!(true);
    let leaf = world.node("leaf-1");
    assert!(leaf.reboot_required);
    assert_eq!(
        leaf.reasons,
        vec![reason(
            Level::Warning,
            Signal::Config,
            "reboot",
            "reboot required to apply the config"
        )]
    );
    assert_eq!(leaf.level, Level::Warning);
}

#[test]
fn an_agent_git_does_not_know_is_judged_on_what_it_reports() {
    let mut world = World::healthy();
    let mut stray = spine_agent();
    stray["metadata"]["name"] = json!("spine-9");
    world.agents.push(stray);
    let spine = world.node("spine-9");
    assert_eq!(spine.state, SwitchState::Ready);
    // Without a Switch in Git nothing is expected: its neighbor and sessions are unexpected.
    let signals: Vec<(Level, Signal, &str)> = spine
        .reasons
        .iter()
        .map(|r| (r.level, r.signal, r.subject.as_str()))
        .collect();
    assert_eq!(
        signals,
        [
            (Level::Warning, Signal::Lldp, "E1/1"),
            (Level::Warning, Signal::Bgp, "default 172.30.8.2"),
            (Level::Warning, Signal::Bgp, "default 172.30.128.1"),
        ]
    );
    assert_eq!(
        spine.reasons[0].message,
        "unexpected neighbor leaf-1/E1/9 on E1/1: no Connection in Git"
    );
}

#[test]
fn two_connections_on_one_port_are_unhealthy() {
    let mut world = World::healthy();
    world.desired.push(json!({"kind": "Connection",
        "metadata": {"name": "server-9--unbundled--leaf-1"},
        "spec": {"unbundled": {"link": {
            "server": {"port": "server-9/eth0"}, "switch": {"port": "leaf-1/E1/5"}}}}}));
    let leaf = world.node("leaf-1");
    assert_eq!(
        leaf.reasons,
        vec![reason(
            Level::Unhealthy,
            Signal::Port,
            "E1/5",
            "E1/5 is claimed by two Connections in Git: server-3--unbundled--leaf-1 (judged) and server-9--unbundled--leaf-1"
        )]
    );
}

#[test]
fn gateway_faults_each_give_their_reason() {
    let mut world = World::healthy();
    world.gateway_agents.clear();
    let gateway = world.node("gateway-1");
    assert_eq!(gateway.kind, crate::health::NodeKind::Gateway);
    assert_eq!(
        gateway.reasons,
        vec![reason(
            Level::Unhealthy,
            Signal::Heartbeat,
            "",
            "no GatewayAgent object: the gateway has not registered"
        )]
    );
    assert_eq!(gateway.detail.bgp.len(), 1, "Git's sessions still listed");

    let mut world = World::healthy();
    world.gateway_agents[0]["status"]["lastHeartbeat"] = json!(at(600));
    world.gateway_agents[0]["status"]["state"]["bgp"]["vrfs"]["default"]["neighbors"]["172.30.128.16"]
        ["sessionState"] = json!("idle");
    assert_eq!(
        world.node("gateway-1").reasons,
        vec![reason(
            Level::Unhealthy,
            Signal::Heartbeat,
            "",
            "no heartbeat for 10m"
        )]
    );

    let mut world = World::healthy();
    let neighbor = &mut world.gateway_agents[0]["status"]["state"]["bgp"]["vrfs"]["default"]["neighbors"]
        ["172.30.128.16"];
    neighbor["sessionState"] = json!("active");
    neighbor["lastResetReason"] = json!("Peer closed the session");
    world.gateway_agents[0]["status"]["state"]["frr"]["lastAppliedGen"] = json!(1);
    let gateway = world.node("gateway-1");
    assert_eq!(
        gateway.reasons,
        vec![
            reason(
                Level::Unhealthy,
                Signal::Bgp,
                "default 172.30.128.16",
                "BGP default 172.30.128.16 (leaf-1) active, last reset Peer closed the session"
            ),
            reason(
                Level::Warning,
                Signal::Config,
                "frr",
                "FRR applied generation 1, the gateway agent 2"
            ),
        ]
    );
    assert_eq!(gateway.level, Level::Unhealthy);

    let mut world = World::healthy();
    world.gateway_agents[0]["status"]["state"]["bgp"]["vrfs"]["default"]["neighbors"]["172.30.128.16"]
        ["peerAS"] = json!(65999);
    assert_eq!(
        world.node("gateway-1").reasons,
        vec![reason(
            Level::Unhealthy,
            Signal::Bgp,
            "default 172.30.128.16",
            "BGP default 172.30.128.16 (leaf-1) peer AS 65999 but Git says AS 65101"
        )]
    );
}

#[test]
fn a_switch_profile_with_breakouts_keys_ports_by_lane() {
    let mut world = World::healthy();
    world
        .profiles
        .push(json!({"metadata": {"name": "dell-s5248f-on"}, "spec": {
        "ports": {
            "E1/9": {"nos": "Ethernet8"},
            "E1/49": {"nos": "1/49", "baseNOSName": "Ethernet48", "profile": "QSFP28-100G"}
        },
        "portProfiles": {"QSFP28-100G": {"breakout": {"default": "1x100G",
            "supported": {"1x100G": {"offsets": ["0"]}}}}}}}));
    world.desired[0]["spec"]["profile"] = json!("dell-s5248f-on");
    world.desired[2]["spec"]["fabric"]["links"][0]["spine"]["port"] = json!("spine-1/E1/49");
    // spine-1 reports its breakout port by lane and sees leaf-1; leaf-1 sees Ethernet48,
    // which spine-1's profile names E1/49/1.
    let spine = world.agent("spine-1");
    let port = spine["status"]["state"]["interfaces"]["E1/1"].take();
    spine["status"]["state"]["interfaces"] = json!({"E1/49/1": port});
    world.leaf_state()["interfaces"]["E1/9"]["lldpNeighbors"][0]["portID"] = json!("Ethernet48");
    let judged = world.judge();
    for node in &judged {
        assert_eq!(node.reasons, vec![], "{}", node.name);
    }
    let spine = judged.iter().find(|node| node.name == "spine-1").unwrap();
    assert_eq!(spine.detail.ports[0].port, "E1/49/1");
    assert_eq!(
        spine.detail.ports[0].nos_name.as_deref(),
        Some("Ethernet48")
    );

    // A mode the profile lacks: said once, and ports judged by Git's names.
    world.desired[0]["spec"]["portBreakouts"] = json!({"E1/49": "4x25G"});
    let spine = world.node("spine-1");
    let config: Vec<&Reason> = spine
        .reasons
        .iter()
        .filter(|reason| reason.signal == Signal::Config)
        .collect();
    assert_eq!(config.len(), 1, "{:?}", spine.reasons);
    assert_eq!(
        config[0].message,
        "SwitchProfile dell-s5248f-on: port E1/49: breakout mode 4x25G is not supported; ports are judged by the names Git writes"
    );
}
