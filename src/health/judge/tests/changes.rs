//! What changed between judgements: one line per fault appearing, changing or clearing.

use super::*;

#[test]
fn the_same_judgement_twice_changes_nothing() {
    let mut world = World::healthy();
    world.leaf_state()["interfaces"]["E1/5"]["oper"] = json!("down");
    let judged = world.judge();
    assert_eq!(changes(&judged, &judged), vec![]);
    assert_eq!(changes(&[], &[]), vec![]);
}

#[test]
fn a_fault_appears_once_and_clears_once() {
    let mut world = World::healthy();
    let healthy = world.judge();
    let session = &mut world.leaf_state()["bgpNeighbors"]["default"]["172.30.128.0"];
    session["state"] = json!("idle");
    session["lastResetReason"] = json!("Hold Timer Expired");
    let broken = world.judge();
    let appeared = changes(&healthy, &broken);
    assert_eq!(appeared.len(), 1, "{appeared:?}");
    assert_eq!(appeared[0].node, "leaf-1");
    assert!(appeared[0].appeared);
    assert_eq!(
        appeared[0].line(),
        "BGP default 172.30.128.0 (spine-1) idle, last reset Hold Timer Expired"
    );
    let cleared = changes(&broken, &healthy);
    assert_eq!(cleared.len(), 1);
    assert!(!cleared[0].appeared);
    assert_eq!(
        cleared[0].line(),
        "cleared: BGP default 172.30.128.0 (spine-1) idle, last reset Hold Timer Expired"
    );

    // The session moving on to another state is news; nothing else is.
    world.leaf_state()["bgpNeighbors"]["default"]["172.30.128.0"]["state"] = json!("active");
    let moved = changes(&broken, &world.judge());
    assert_eq!(moved.len(), 1);
    assert_eq!(
        moved[0].line(),
        "BGP default 172.30.128.0 (spine-1) active, last reset Hold Timer Expired"
    );
}

#[test]
fn heartbeats_counters_and_measurements_moving_change_nothing() {
    let mut world = World::healthy();
    world.leaf_state()["transceivers"]["E1/9"]["channels"]["0"]["in"] = json!(-14.2);
    let stats = &mut world.leaf_state()["criticalResources"]["stats"];
    stats["ipv4RoutesUsed"] = json!(8500);
    stats["ipv4RoutesAvailable"] = json!(1500);
    world.agent("spine-1")["status"]["lastHeartbeat"] = json!(at(180));
    let before = world.judge();

    let leaf = world.leaf_state();
    leaf["transceivers"]["E1/9"]["channels"]["0"]["in"] = json!(-14.25);
    leaf["criticalResources"]["stats"]["ipv4RoutesUsed"] = json!(8600);
    leaf["criticalResources"]["stats"]["ipv4RoutesAvailable"] = json!(1400);
    leaf["interfaces"]["E1/9"]["counters"]["inb"] = json!(99_999_999_u64);
    leaf["interfaces"]["E1/9"]["counters"]["ine"] = json!(50);
    leaf["bgpNeighbors"]["default"]["172.30.128.0"]["lastEstab"] = json!(at(3601));
    world.agent("leaf-1")["status"]["lastHeartbeat"] = json!(at(1));
    world.agent("spine-1")["status"]["lastHeartbeat"] = json!(at(250));
    let after = world.judge();
    assert_ne!(before, after, "the rows did move");
    assert_eq!(changes(&before, &after), vec![]);
}

#[test]
fn a_neighbor_changing_or_a_level_rising_is_news() {
    let mut world = World::healthy();
    world.leaf_state()["interfaces"]["E1/9"]["lldpNeighbors"][0]["sysName"] = json!("spine-2");
    let before = world.judge();
    world.leaf_state()["interfaces"]["E1/9"]["lldpNeighbors"][0]["sysName"] = json!("spine-3");
    let moved = changes(&before, &world.judge());
    assert_eq!(moved.len(), 1);
    assert!(
        moved[0].line().contains("spine-3/Ethernet0"),
        "{}",
        moved[0].line()
    );

    let mut world = World::healthy();
    world.leaf_state()["platform"]["temps"]["CPU"]["temp"] = json!(82.0);
    let warm = world.judge();
    world.leaf_state()["platform"]["temps"]["CPU"]["temp"] = json!(91.0);
    let hot = changes(&warm, &world.judge());
    assert_eq!(hot.len(), 1);
    assert_eq!(hot[0].reason.level, Level::Unhealthy);
}

#[test]
fn a_node_going_stale_replaces_its_faults_with_one_line() {
    let mut world = World::healthy();
    world.leaf_state()["interfaces"]["E1/5"]["oper"] = json!("down");
    let before = world.judge();
    world.agent("leaf-1")["status"]["lastHeartbeat"] = json!(at(120));
    let lines: Vec<String> = changes(&before, &world.judge())
        .iter()
        .map(HealthChange::line)
        .collect();
    assert_eq!(
        lines,
        [
            "no heartbeat for 2m",
            "cleared: E1/5 down (server-3--unbundled--leaf-1 to server-3/enp2s1)"
        ]
    );
}
