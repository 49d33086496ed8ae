//! BGP and BFD.

use super::*;

fn only(node: &SwitchHealth) -> &Reason {
    assert_eq!(node.reasons.len(), 1, "{:?}", node.reasons);
    &node.reasons[0]
}

fn leaf_session<'a>(world: &'a mut World, ip: &str) -> &'a mut Value {
    &mut world.leaf_state()["bgpNeighbors"]["default"][ip]
}

#[test]
fn an_expected_session_not_established_names_peer_state_and_reset_reason() {
    let mut world = World::healthy();
    let session = leaf_session(&mut world, "172.30.128.0");
    session["state"] = json!("idle");
    session["lastResetReason"] = json!("Hold Timer Expired");
    let leaf = world.node("leaf-1");
    assert_eq!(
        only(&leaf),
        &reason(
            Level::Unhealthy,
            Signal::Bgp,
            "default 172.30.128.0",
            "BGP default 172.30.128.0 (spine-1) idle, last reset Hold Timer Expired"
        )
    );
    assert_eq!(leaf.counts.bgp_established, 2);
    let row = leaf
        .detail
        .bgp
        .iter()
        .find(|row| row.peer == "172.30.128.0")
        .unwrap();
    assert_eq!(row.level, Level::Unhealthy);
    assert_eq!(row.last_reset_reason.as_deref(), Some("Hold Timer Expired"));

    // Not reported at all: not configured on the switch.
    world.leaf_state()["bgpNeighbors"]["default"]
        .as_object_mut()
        .unwrap()
        .remove("172.30.8.0");
    world.leaf_state()["bgpNeighbors"]["default"]["172.30.128.0"]["state"] = json!("established");
    assert_eq!(
        only(&world.node("leaf-1")),
        &reason(
            Level::Unhealthy,
            Signal::Bgp,
            "default 172.30.8.0",
            "BGP default 172.30.8.0 (spine-1) not reported: the session is not configured"
        )
    );
}

#[test]
fn a_peer_with_another_as_than_git_says_is_unhealthy() {
    let mut world = World::healthy();
    leaf_session(&mut world, "172.30.128.17")["peerAS"] = json!(65000);
    assert_eq!(
        only(&world.node("leaf-1")),
        &reason(
            Level::Unhealthy,
            Signal::Bgp,
            "default 172.30.128.17",
            "BGP default 172.30.128.17 (gateway-1) peer AS 65000 but Git says AS 65534"
        )
    );
    // A peer AS the NOS could not report (0) is not a mismatch.
    leaf_session(&mut world, "172.30.128.17")["peerAS"] = json!(0);
    assert_eq!(world.node("leaf-1").reasons, vec![]);
}

#[test]
fn an_established_session_git_does_not_expect_is_a_warning() {
    let mut world = World::healthy();
    world.leaf_state()["bgpNeighbors"]["VrfEinternet"] =
        json!({"100.64.0.1": bgp_peer("established", 64999)});
    let leaf = world.node("leaf-1");
    assert_eq!(
        only(&leaf),
        &reason(
            Level::Warning,
            Signal::Bgp,
            "VrfEinternet 100.64.0.1",
            "unexpected BGP session VrfEinternet 100.64.0.1 (AS 64999): established but not in Git"
        )
    );
    let row = leaf.detail.bgp.last().unwrap();
    assert!(!row.expected);
    assert_eq!(row.vrf, "VrfEinternet");
    // One that is not up is listed, not judged.
    world.leaf_state()["bgpNeighbors"]["VrfEinternet"]["100.64.0.1"]["state"] = json!("active");
    let leaf = world.node("leaf-1");
    assert_eq!(leaf.reasons, vec![]);
    assert_eq!(leaf.detail.bgp.len(), 4);
}

#[test]
fn bfd_down_is_unhealthy_only_when_the_switch_reports_bfd() {
    let mut world = World::healthy();
    world.leaf_state()["bfdPeers"]["default"]["172.30.128.0"]["state"] = json!("down");
    let leaf = world.node("leaf-1");
    assert_eq!(
        only(&leaf),
        &reason(
            Level::Unhealthy,
            Signal::Bfd,
            "default 172.30.128.0",
            "BFD default 172.30.128.0 (spine-1) down"
        )
    );
    assert_eq!((leaf.counts.bfd_up, leaf.counts.bfd_expected), (1, 2));

    world.leaf_state()["bfdPeers"]["default"]
        .as_object_mut()
        .unwrap()
        .remove("172.30.128.0");
    assert_eq!(
        only(&world.node("leaf-1")).message,
        "BFD default 172.30.128.0 (spine-1) missing"
    );

    // No BFD peers at all: BFD is off on this fabric, nothing to judge.
    world
        .leaf_state()
        .as_object_mut()
        .unwrap()
        .remove("bfdPeers");
    let leaf = world.node("leaf-1");
    assert_eq!(leaf.reasons, vec![]);
    assert_eq!(leaf.counts.bfd_expected, 0);
}
