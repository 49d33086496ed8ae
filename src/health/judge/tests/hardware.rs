//! Transceivers, platform and critical resources.

use super::*;

fn only(node: &SwitchHealth) -> &Reason {
    assert_eq!(node.reasons.len(), 1, "{:?}", node.reasons);
    &node.reasons[0]
}

#[test]
fn an_optic_outside_its_thresholds_is_a_warning_with_value_and_limit() {
    let mut world = World::healthy();
    world.leaf_state()["transceivers"]["E1/9"]["channels"]["1"]["in"] = json!(-14.2);
    let leaf = world.node("leaf-1");
    assert_eq!(
        only(&leaf),
        &reason(
            Level::Warning,
            Signal::Optics,
            "E1/9",
            "E1/9 optic: receive power -14.20 dBm below -12.00 dBm"
        )
    );
    assert_eq!(leaf.counts.optic_alarms, 1);
    let row = leaf
        .detail
        .optics
        .iter()
        .find(|row| row.port == "E1/9")
        .unwrap();
    assert_eq!((row.rx_dbm, row.level), (Some(-14.2), Level::Warning));

    let mut world = World::healthy();
    let optic = &mut world.leaf_state()["transceivers"]["E1/9"];
    optic["temp"] = json!(75.0);
    optic["channels"]["0"]["in"] = json!(4.0);
    optic["channels"]["0"]["out"] = json!(-9.5);
    assert_eq!(
        only(&world.node("leaf-1")).message,
        "E1/9 optic: receive power 4.00 dBm above 3.50 dBm; transmit power -9.50 dBm below -8.00 dBm; temperature 75.0°C above 70.0°C"
    );
}

#[test]
fn a_spare_optic_without_light_on_an_unused_port_is_quiet() {
    // E1/20 has no Connection and is down; its receiver reads -40 dBm in the healthy world.
    let leaf = World::healthy().node("leaf-1");
    assert_eq!(leaf.reasons, vec![]);
    let spare = leaf
        .detail
        .optics
        .iter()
        .find(|row| row.port == "E1/20")
        .unwrap();
    assert_eq!((spare.rx_dbm, spare.level), (Some(-40.0), Level::Healthy));
}

#[test]
fn a_failed_psu_or_fan_is_unhealthy_and_an_empty_slot_is_not() {
    let mut world = World::healthy();
    world.leaf_state()["platform"]["psus"]["PSU 2"]
        .as_object_mut()
        .unwrap()
        .remove("status");
    let leaf = world.node("leaf-1");
    assert_eq!(
        only(&leaf),
        &reason(Level::Unhealthy, Signal::Platform, "PSU 2", "PSU 2 failed")
    );
    assert_eq!(leaf.counts.platform_alarms, 1);
    assert_eq!(leaf.detail.platform[1].state, "failed");

    let mut world = World::healthy();
    world.leaf_state()["platform"]["psus"]["PSU 2"] = json!({});
    world.leaf_state()["platform"]["fans"]["FAN 1"]["status"] = json!(false);
    let leaf = world.node("leaf-1");
    assert_eq!(
        only(&leaf),
        &reason(Level::Unhealthy, Signal::Platform, "FAN 1", "FAN 1 failed")
    );
    assert_eq!(leaf.detail.platform[1].state, "absent");
}

#[test]
fn a_temperature_at_its_limits_warns_then_is_unhealthy() {
    let mut world = World::healthy();
    world.leaf_state()["platform"]["temps"]["CPU"]["temp"] = json!(82.0);
    assert_eq!(
        only(&world.node("leaf-1")),
        &reason(
            Level::Warning,
            Signal::Platform,
            "CPU",
            "temperature CPU at 82.0°C (high 80°C, critical 90°C)"
        )
    );
    world.leaf_state()["platform"]["temps"]["CPU"]["temp"] = json!(90.0);
    assert_eq!(only(&world.node("leaf-1")).level, Level::Unhealthy);
    // Unknown thresholds (0) never alarm.
    let sensor = &mut world.leaf_state()["platform"]["temps"]["CPU"];
    sensor["highThreshold"] = json!(0.0);
    sensor["critHighThreshold"] = json!(0.0);
    assert_eq!(world.node("leaf-1").reasons, vec![]);
}

#[test]
fn a_critical_resource_filling_up_warns_then_is_unhealthy() {
    let mut world = World::healthy();
    let stats = &mut world.leaf_state()["criticalResources"]["stats"];
    stats["ipv4RoutesUsed"] = json!(8500);
    stats["ipv4RoutesAvailable"] = json!(1500);
    let leaf = world.node("leaf-1");
    assert_eq!(
        only(&leaf),
        &reason(
            Level::Warning,
            Signal::Resources,
            "ipv4Routes",
            "ipv4Routes 85% full (8500 used, 1500 free; limit 80%)"
        )
    );
    assert_eq!(leaf.counts.resources_max_percent, 85);
    let stats = &mut world.leaf_state()["criticalResources"]["stats"];
    stats["ipv4RoutesUsed"] = json!(9600);
    stats["ipv4RoutesAvailable"] = json!(400);
    assert_eq!(
        only(&world.node("leaf-1")),
        &reason(
            Level::Unhealthy,
            Signal::Resources,
            "ipv4Routes",
            "ipv4Routes 96% full (9600 used, 400 free; limit 95%)"
        )
    );
}

#[test]
fn reasons_are_sorted_worst_first_then_by_signal_and_subject() {
    let mut world = World::healthy();
    world.leaf_state()["transceivers"]["E1/9"]["temp"] = json!(80.0);
    world.leaf_state()["platform"]["psus"]["PSU 1"]["status"] = json!(false);
    world.leaf_state()["interfaces"]["E1/9"]["oper"] = json!("down");
    world.leaf_state()["interfaces"]["E1/5"]["oper"] = json!("down");
    world.agent("leaf-1")["status"]["rebootRequired"] = json!(true);
    let leaf = world.node("leaf-1");
    let order: Vec<(Level, Signal, &str)> = leaf
        .reasons
        .iter()
        .map(|r| (r.level, r.signal, r.subject.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            (Level::Unhealthy, Signal::Port, "E1/5"),
            (Level::Unhealthy, Signal::Port, "E1/9"),
            (Level::Unhealthy, Signal::Platform, "PSU 1"),
            (Level::Warning, Signal::Config, "reboot"),
            (Level::Warning, Signal::Optics, "E1/9"),
        ]
    );
    assert_eq!(leaf.level, Level::Unhealthy);
}
