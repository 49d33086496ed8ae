//! Ports and LLDP.

use super::*;

fn only(node: &SwitchHealth) -> &Reason {
    assert_eq!(node.reasons.len(), 1, "{:?}", node.reasons);
    &node.reasons[0]
}

#[test]
fn an_expected_port_down_names_its_connection_and_neighbor() {
    let mut world = World::healthy();
    let port = &mut world.leaf_state()["interfaces"]["E1/5"];
    port["oper"] = json!("down");
    port["lldpNeighbors"] = json!([]);
    let leaf = world.node("leaf-1");
    assert_eq!(
        only(&leaf),
        &reason(
            Level::Unhealthy,
            Signal::Port,
            "E1/5",
            "E1/5 down (server-3--unbundled--leaf-1 to server-3/enp2s1)"
        )
    );
    assert_eq!(leaf.counts.ports_up, 2);
    let row = leaf
        .detail
        .ports
        .iter()
        .find(|row| row.port == "E1/5")
        .unwrap();
    assert_eq!(row.level, Level::Unhealthy);
    assert_eq!(row.oper, "down");

    world.leaf_state()["interfaces"]["E1/5"]["admin"] = json!("down");
    assert_eq!(
        only(&world.node("leaf-1")).message,
        "E1/5 admin down (server-3--unbundled--leaf-1 to server-3/enp2s1)"
    );
    world.leaf_state()["interfaces"]["E1/5"]["admin"] = json!("up");
    world.leaf_state()["interfaces"]["E1/5"]["oper"] = json!("notPresent");
    assert_eq!(
        only(&world.node("leaf-1")).message,
        "E1/5 down (notPresent) (server-3--unbundled--leaf-1 to server-3/enp2s1)"
    );
}

#[test]
fn an_expected_port_the_switch_does_not_report_is_unhealthy() {
    let mut world = World::healthy();
    world.leaf_state()["interfaces"]
        .as_object_mut()
        .unwrap()
        .remove("E1/5");
    assert_eq!(
        only(&world.node("leaf-1")),
        &reason(
            Level::Unhealthy,
            Signal::Port,
            "E1/5",
            "E1/5 not reported by the switch (server-3--unbundled--leaf-1 to server-3/enp2s1)"
        )
    );
}

#[test]
fn err_disabled_is_unhealthy_on_any_port() {
    let mut world = World::healthy();
    let port = &mut world.leaf_state()["interfaces"]["E1/5"];
    port["errDisabled"] = json!(true);
    port["oper"] = json!("down");
    port["linkFlapCount"] = json!(7);
    let leaf = world.node("leaf-1");
    assert_eq!(
        only(&leaf),
        &reason(
            Level::Unhealthy,
            Signal::Port,
            "E1/5",
            "E1/5 errDisabled after link flaps (server-3--unbundled--leaf-1 to server-3/enp2s1)"
        )
    );
    assert_eq!(leaf.counts.unstable_ports, 1);

    let mut world = World::healthy();
    world.leaf_state()["interfaces"]["E1/20"]["errDisabled"] = json!(true);
    assert_eq!(
        only(&world.node("leaf-1")).message,
        "E1/20 errDisabled after link flaps (no Connection in Git)"
    );
}

#[test]
fn a_port_flapping_in_the_window_is_a_warning() {
    let mut world = World::healthy();
    // Three reports, each with a new oper change on E1/9 (and the same one repeated).
    for (report, change) in [(0, 250), (1, 250), (2, 100), (3, 10)] {
        let mut agent = leaf_agent();
        agent["status"]["state"]["interfaces"]["E1/9"]["change"] = json!(at(change));
        world.flaps.observe(&agent, NOW - 40 + report, 300);
    }
    assert_eq!(world.flaps.flaps("leaf-1", "E1/9"), 3);
    let leaf = world.node("leaf-1");
    assert_eq!(
        only(&leaf),
        &reason(
            Level::Warning,
            Signal::Port,
            "E1/9",
            "E1/9 flapping: 3 oper changes in 5m (spine-1--fabric--leaf-1 to spine-1/E1/1)"
        )
    );
    assert_eq!(leaf.counts.unstable_ports, 1);
    let row = leaf
        .detail
        .ports
        .iter()
        .find(|row| row.port == "E1/9")
        .unwrap();
    assert_eq!((row.flaps, row.level), (3, Level::Warning));

    // One below the threshold is quiet.
    world.thresholds.max_flaps = 4;
    assert_eq!(world.node("leaf-1").reasons, vec![]);
    // The agent's own link-flap count counts when higher.
    world.leaf_state()["interfaces"]["E1/9"]["linkFlapCount"] = json!(5);
    assert_eq!(only(&world.node("leaf-1")).level, Level::Warning);
}

#[test]
fn flap_history_counts_distinct_changes_in_the_window_and_forgets() {
    let mut flaps = FlapHistory::default();
    let mut agent = leaf_agent();
    agent["status"]["state"]["interfaces"]["E1/5"]["change"] = json!(at(200));
    flaps.observe(&agent, NOW, 300);
    flaps.observe(&agent, NOW, 300);
    assert_eq!(flaps.flaps("leaf-1", "E1/5"), 1, "a repeated change is one");
    assert_eq!(
        flaps.flaps("leaf-1", "E1/9"),
        0,
        "a day-old change is outside"
    );
    agent["status"]["state"]["interfaces"]["E1/5"]["change"] = json!(at(20));
    flaps.observe(&agent, NOW, 300);
    assert_eq!(flaps.flaps("leaf-1", "E1/5"), 2);
    // 150 s later the first change is out of the window.
    flaps.observe(&agent, NOW + 150, 300);
    assert_eq!(flaps.flaps("leaf-1", "E1/5"), 1);
    // Works on the compact form the engine keeps too.
    let compact = serde_json::json!({"metadata": {"name": "leaf-2"}, "status":
        serde_json::to_value(crate::health::model::AgentStatus::of(&agent)).unwrap()});
    flaps.observe(&compact, NOW + 150, 300);
    assert_eq!(flaps.flaps("leaf-2", "E1/5"), 1);
    flaps.forget("leaf-1");
    assert_eq!(flaps.flaps("leaf-1", "E1/5"), 0);
    assert_eq!(flaps.flaps("leaf-2", "E1/5"), 1);
}

#[test]
fn a_neighbor_of_another_device_is_a_miswire() {
    let mut world = World::healthy();
    world.leaf_state()["interfaces"]["E1/9"]["lldpNeighbors"][0]["sysName"] = json!("spine-2");
    let leaf = world.node("leaf-1");
    assert_eq!(
        only(&leaf),
        &reason(
            Level::Unhealthy,
            Signal::Lldp,
            "E1/9",
            "E1/9 miswired: expected spine-1/E1/1, LLDP sees spine-2/Ethernet0 (spine-1--fabric--leaf-1)"
        )
    );
    assert_eq!(leaf.counts.lldp_ok, 2);
    let row = leaf
        .detail
        .ports
        .iter()
        .find(|row| row.port == "E1/9")
        .unwrap();
    assert_eq!(row.actual, vec![neighbor("spine-2", "Ethernet0")]);

    // A server cabled to the wrong switch port shows up the same way.
    let mut world = World::healthy();
    world.leaf_state()["interfaces"]["E1/5"]["lldpNeighbors"][0]["sysName"] = json!("server-4");
    assert_eq!(
        only(&world.node("leaf-1")).message,
        "E1/5 miswired: expected server-3/enp2s1, LLDP sees server-4/enp2s1 (server-3--unbundled--leaf-1)"
    );
}

#[test]
fn the_right_device_on_the_wrong_port_is_a_miswire() {
    let mut world = World::healthy();
    // spine-1's Ethernet1 is its E1/2.
    world.leaf_state()["interfaces"]["E1/9"]["lldpNeighbors"][0]["portID"] = json!("Ethernet1");
    assert_eq!(
        only(&world.node("leaf-1")),
        &reason(
            Level::Unhealthy,
            Signal::Lldp,
            "E1/9",
            "E1/9 miswired: expected spine-1/E1/1, LLDP sees spine-1/E1/2 (spine-1--fabric--leaf-1)"
        )
    );
    // Without spine-1's profile its NOS port name cannot be checked: the device matches.
    world.profiles.clear();
    assert_eq!(world.node("leaf-1").reasons, vec![]);

    // A host advertising its MAC as the port ID is not a miswire.
    let mut world = World::healthy();
    world.leaf_state()["interfaces"]["E1/5"]["lldpNeighbors"][0]["portID"] =
        json!("0c:20:12:fe:03:01");
    assert_eq!(world.node("leaf-1").reasons, vec![]);
    world.leaf_state()["interfaces"]["E1/5"]["lldpNeighbors"][0]["portID"] = json!("enp2s2");
    assert_eq!(
        only(&world.node("leaf-1")).message,
        "E1/5 miswired: expected server-3/enp2s1, LLDP sees server-3/enp2s2 (server-3--unbundled--leaf-1)"
    );
}

#[test]
fn no_neighbor_is_unhealthy_between_switches_and_a_warning_toward_servers() {
    let mut world = World::healthy();
    world.leaf_state()["interfaces"]["E1/9"]["lldpNeighbors"] = json!([]);
    assert_eq!(
        only(&world.node("leaf-1")),
        &reason(
            Level::Unhealthy,
            Signal::Lldp,
            "E1/9",
            "no LLDP neighbor on E1/9, expected spine-1/E1/1 (spine-1--fabric--leaf-1)"
        )
    );
    let mut world = World::healthy();
    world.leaf_state()["interfaces"]["E1/5"]
        .as_object_mut()
        .unwrap()
        .remove("lldpNeighbors");
    world.leaf_state()["interfaces"]["E1/8"]["lldpNeighbors"] = json!([]);
    let leaf = world.node("leaf-1");
    assert_eq!(
        leaf.reasons,
        vec![
            reason(
                Level::Warning,
                Signal::Lldp,
                "E1/5",
                "no LLDP neighbor on E1/5, expected server-3/enp2s1 (server-3--unbundled--leaf-1)"
            ),
            reason(
                Level::Warning,
                Signal::Lldp,
                "E1/8",
                "no LLDP neighbor on E1/8, expected gateway-1/enp2s1 (leaf-1--gateway--gateway-1)"
            ),
        ]
    );
    assert_eq!(leaf.level, Level::Warning);
}

#[test]
fn a_neighbor_on_a_port_without_connection_is_unexpected_but_management_is_not() {
    let mut world = World::healthy();
    world.leaf_state()["interfaces"]["E1/20"] = up_port("server-9", "Ubuntu", "eth1");
    world.leaf_state()["transceivers"]["E1/20"]["channels"]["0"]["in"] = json!(-3.0);
    let leaf = world.node("leaf-1");
    assert_eq!(
        only(&leaf),
        &reason(
            Level::Warning,
            Signal::Lldp,
            "E1/20",
            "unexpected neighbor server-9/eth1 on E1/20: no Connection in Git"
        )
    );
    let row = leaf
        .detail
        .ports
        .iter()
        .find(|row| row.port == "E1/20")
        .unwrap();
    assert_eq!((row.expected.clone(), row.level), (None, Level::Warning));
}

#[test]
fn lldp_is_not_judged_on_external_ports() {
    let mut world = World::healthy();
    world.desired.push(json!({"kind": "Connection",
        "metadata": {"name": "leaf-1--external--edge"},
        "spec": {"external": {"link": {"switch": {"port": "leaf-1/E1/20"}}}}}));
    world.leaf_state()["interfaces"]["E1/20"] = up_port("edge-router", "JunOS", "xe-0/0/1");
    world.leaf_state()["transceivers"]["E1/20"]["channels"]["0"]["in"] = json!(-3.0);
    let leaf = world.node("leaf-1");
    assert_eq!(leaf.reasons, vec![]);
    assert_eq!(leaf.counts.ports_expected, 4);
    assert_eq!(leaf.counts.lldp_expected, 3);
    // Its optic is watched now that Git expects the port: a dark receiver alarms even while
    // the port is down.
    world.leaf_state()["interfaces"]["E1/20"]["oper"] = json!("down");
    world.leaf_state()["transceivers"]["E1/20"]["channels"]["0"]["in"] = json!(-40.0);
    let leaf = world.node("leaf-1");
    let signals: Vec<(Level, Signal, &str)> = leaf
        .reasons
        .iter()
        .map(|r| (r.level, r.signal, r.subject.as_str()))
        .collect();
    assert_eq!(
        signals,
        [
            (Level::Unhealthy, Signal::Port, "E1/20"),
            (Level::Warning, Signal::Optics, "E1/20")
        ]
    );
    assert_eq!(
        leaf.reasons[0].message,
        "E1/20 down (leaf-1--external--edge, external)"
    );
}
