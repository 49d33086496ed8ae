//! A switch's judgement: heartbeat and config (from `classify_agent`), then — only while its
//! agent reports — ports, LLDP, BGP/BFD and hardware against what Git expects.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::{Context, Findings, duration, hardware, natural_cmp, routing};
use crate::health::intent::{ExpectedLink, NodeIntent};
use crate::health::model::{AgentStatus, Interface, LldpNeighbor};
use crate::health::profile::PortMap;
use crate::health::{
    Level, Neighbor, NodeKind, PortRow, Signal, SignalCounts, SwitchDetail, SwitchHealth,
    SwitchState, classify_agent,
};

pub(super) fn judge(
    context: &Context<'_>,
    name: &str,
    intent: Option<&NodeIntent>,
    agent: Option<&Value>,
) -> SwitchHealth {
    let mut findings = Findings::default();
    let Some(agent) = agent else {
        findings.add(
            Level::Unhealthy,
            Signal::Heartbeat,
            "",
            "no Agent object: the switch has not registered".to_string(),
        );
        let mut health = SwitchHealth {
            name: name.to_string(),
            kind: NodeKind::Switch,
            state: SwitchState::Stale,
            ..SwitchHealth::default()
        };
        unreported(&mut health, intent, context.port_maps.get(name));
        findings.finish(&mut health);
        return health;
    };
    let mut health = classify_agent(agent, context.now, context.thresholds.stale_after_secs);
    health.name = name.to_string();
    health.kind = NodeKind::Switch;
    if health.state == SwitchState::Stale {
        // A dead switch is one reason, not one per port and session of its last report.
        let message = match health.heartbeat_age {
            Some(age) => format!("no heartbeat for {}", duration(age)),
            None => "agent never reported".to_string(),
        };
        findings.add(Level::Unhealthy, Signal::Heartbeat, "", message);
        unreported(&mut health, intent, context.port_maps.get(name));
        findings.finish(&mut health);
        return health;
    }
    if health.state == SwitchState::Stuck {
        let attempted = health.current_generation.unwrap_or_default();
        let applied = health
            .applied_generation
            .map_or("none".to_string(), |generation| generation.to_string());
        findings.add(
            Level::Unhealthy,
            Signal::Config,
            "",
            format!("generation {attempted} attempted, not applied (applied: {applied})"),
        );
    }
    if health.reboot_required {
        findings.add(
            Level::Warning,
            Signal::Config,
            "reboot",
            "reboot required to apply the config".to_string(),
        );
    }
    if let Some(error) = context.port_maps.error(name) {
        findings.add(
            Level::Warning,
            Signal::Config,
            "profile",
            format!("{error}; ports are judged by the names Git writes"),
        );
    }

    let status = agent
        .get("status")
        .and_then(|status| AgentStatus::deserialize(status).ok())
        .unwrap_or_default();
    let empty = NodeIntent::default();
    let intent = intent.unwrap_or(&empty);
    let map = context.port_maps.get(name);
    let mut counts = SignalCounts::default();
    let ports = judge_ports(
        context,
        name,
        intent,
        map,
        &status.state.interfaces,
        &mut findings,
        &mut counts,
    );
    let (bgp, bfd) = routing::judge_switch_sessions(
        &intent.bgp,
        &status.state.bgp_neighbors,
        &status.state.bfd_peers,
        &mut findings,
        &mut counts,
    );
    let watched_optics: BTreeSet<&str> = ports
        .iter()
        .filter(|row| row.expected.is_some() || row.oper == "up")
        .map(|row| crate::health::profile::transceiver_port(&row.port))
        .collect();
    let optics = hardware::judge_optics(
        &status.state.transceivers,
        &watched_optics,
        context.thresholds,
        &mut findings,
    );
    let platform = hardware::judge_platform(&status.state.platform, &mut findings);
    let resources = hardware::judge_resources(
        &status.state.critical_resources,
        context.thresholds,
        &mut findings,
    );
    counts.optic_alarms = findings.count(Signal::Optics);
    counts.platform_alarms = findings.count(Signal::Platform);
    counts.resources_max_percent = resources.iter().map(|row| row.percent).max().unwrap_or(0);

    health.counts = counts;
    health.detail = Arc::new(SwitchDetail {
        ports,
        bgp,
        bfd,
        optics,
        platform,
        resources,
    });
    findings.finish(&mut health);
    health
}

/// The detail of a switch with no usable report: Git's wiring only.
fn unreported(health: &mut SwitchHealth, intent: Option<&NodeIntent>, map: Option<&PortMap>) {
    let Some(intent) = intent else { return };
    let mut ports: Vec<PortRow> = intent
        .ports
        .iter()
        .map(|(git_port, link)| {
            let port = map.map_or_else(|| git_port.clone(), |map| map.normalize(git_port));
            expected_row(port, map, link)
        })
        .collect();
    ports.sort_by(|a, b| natural_cmp(&a.port, &b.port));
    health.counts.ports_expected = ports.len();
    health.counts.lldp_expected = intent.ports.values().filter(|link| link.check_lldp).count();
    health.counts.bgp_expected = intent.bgp.len();
    health.detail = Arc::new(SwitchDetail {
        ports,
        bgp: routing::expected_rows(&intent.bgp),
        ..SwitchDetail::default()
    });
}

fn expected_row(port: String, map: Option<&PortMap>, link: &ExpectedLink) -> PortRow {
    PortRow {
        nos_name: map.and_then(|map| map.nos_name(&port)).map(str::to_string),
        port,
        connection: Some(link.connection.clone()),
        connection_type: Some(link.connection_type.clone()),
        expected: Some(link.remote.clone()),
        ..PortRow::default()
    }
}

/// Expected ports (oper state, errDisabled, flaps, LLDP neighbor), two Connections on one
/// port, and reported ports with a neighbor but no Connection.
fn judge_ports(
    context: &Context<'_>,
    switch: &str,
    intent: &NodeIntent,
    map: Option<&PortMap>,
    interfaces: &BTreeMap<String, Interface>,
    findings: &mut Findings,
    counts: &mut SignalCounts,
) -> Vec<PortRow> {
    let thresholds = context.thresholds;
    let normalize = |port: &str| map.map_or_else(|| port.to_string(), |map| map.normalize(port));
    let mut rows: BTreeMap<String, PortRow> = BTreeMap::new();

    for conflict in &intent.conflicts {
        let port = normalize(&conflict.port);
        findings.add(
            Level::Unhealthy,
            Signal::Port,
            &port,
            format!(
                "{port} is claimed by two Connections in Git: {} (judged) and {}",
                conflict.kept, conflict.ignored
            ),
        );
    }

    for (git_port, link) in &intent.ports {
        let port = normalize(git_port);
        counts.ports_expected += 1;
        if link.check_lldp {
            counts.lldp_expected += 1;
        }
        let mut row = expected_row(port.clone(), map, link);
        let Some(interface) = interfaces.get(&port) else {
            findings.add(
                Level::Unhealthy,
                Signal::Port,
                &port,
                format!("{port} not reported by the switch ({})", link.describe()),
            );
            rows.insert(port, row);
            continue;
        };
        fill_reported(&mut row, context, switch, interface);
        if interface.err_disabled {
            findings.add(
                Level::Unhealthy,
                Signal::Port,
                &port,
                format!("{port} errDisabled after link flaps ({})", link.describe()),
            );
        } else if interface.oper != "up" {
            let state = if interface.admin == "down" {
                "admin down".to_string()
            } else if interface.oper.is_empty() || interface.oper == "down" {
                "down".to_string()
            } else {
                format!("down ({})", interface.oper)
            };
            findings.add(
                Level::Unhealthy,
                Signal::Port,
                &port,
                format!("{port} {state} ({})", link.describe()),
            );
        } else {
            counts.ports_up += 1;
            if row.flaps >= thresholds.max_flaps {
                findings.add(
                    Level::Warning,
                    Signal::Port,
                    &port,
                    flapping(
                        &port,
                        row.flaps,
                        thresholds.flap_window_secs,
                        &link.describe(),
                    ),
                );
            }
            if link.check_lldp && judge_lldp(context, &port, link, &row.actual, findings) {
                counts.lldp_ok += 1;
            }
        }
        rows.insert(port, row);
    }

    for (port, interface) in interfaces {
        if rows.contains_key(port) {
            continue;
        }
        let mut row = PortRow {
            port: port.clone(),
            nos_name: map.and_then(|map| map.nos_name(port)).map(str::to_string),
            ..PortRow::default()
        };
        fill_reported(&mut row, context, switch, interface);
        let unconnected = "no Connection in Git";
        if interface.err_disabled {
            findings.add(
                Level::Unhealthy,
                Signal::Port,
                port,
                format!("{port} errDisabled after link flaps ({unconnected})"),
            );
        } else if row.flaps >= thresholds.max_flaps {
            findings.add(
                Level::Warning,
                Signal::Port,
                port,
                flapping(port, row.flaps, thresholds.flap_window_secs, unconnected),
            );
        }
        // The management port's neighbor is the out-of-band network, not the fabric.
        if !port.starts_with('M')
            && let Some(seen) = row.actual.first()
        {
            findings.add(
                Level::Warning,
                Signal::Lldp,
                port,
                format!(
                    "unexpected neighbor {} on {port}: no Connection in Git",
                    neighbor_text(seen)
                ),
            );
        }
        let listed =
            interface.err_disabled || row.flaps >= thresholds.max_flaps || !row.actual.is_empty();
        if listed {
            rows.insert(port.clone(), row);
        }
    }

    let mut rows: Vec<PortRow> = rows.into_values().collect();
    for row in &mut rows {
        row.level = findings.level_of(&[Signal::Port, Signal::Lldp], &row.port);
        if row.err_disabled || row.flaps >= thresholds.max_flaps {
            counts.unstable_ports += 1;
        }
    }
    rows.sort_by(|a, b| natural_cmp(&a.port, &b.port));
    rows
}

fn flapping(port: &str, flaps: u32, window_secs: i64, describe: &str) -> String {
    format!(
        "{port} flapping: {flaps} oper changes in {} ({describe})",
        duration(window_secs)
    )
}

/// The switch's report of one port into its row.
fn fill_reported(row: &mut PortRow, context: &Context<'_>, switch: &str, interface: &Interface) {
    row.admin = interface.admin.clone();
    row.oper = interface.oper.clone();
    row.speed = interface.speed.clone();
    row.err_disabled = interface.err_disabled;
    row.flaps = context
        .flaps
        .flaps(switch, &row.port)
        .max(interface.link_flap_count.unwrap_or(0));
    row.errors = interface
        .counters
        .map_or(0, |counters| counters.ine.saturating_add(counters.oute));
    row.actual = interface
        .lldp_neighbors
        .iter()
        .map(|neighbor| seen_neighbor(context, neighbor))
        .collect();
}

/// An LLDP neighbor as Git would name it: a Hedgehog peer advertises its NOS port name,
/// mapped back through the peer's own profile when it is known.
fn seen_neighbor(context: &Context<'_>, neighbor: &LldpNeighbor) -> Neighbor {
    let port = context
        .port_maps
        .get(&neighbor.sys_name)
        .and_then(|peer| peer.api_name(&neighbor.port_id))
        .unwrap_or(&neighbor.port_id);
    Neighbor {
        device: neighbor.sys_name.clone(),
        port: port.to_string(),
    }
}

/// Many hosts advertise their MAC address as the LLDP port ID, not the interface name.
fn looks_like_mac(port_id: &str) -> bool {
    let hex: String = port_id
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    hex.len() == 12 && hex.len() < port_id.len() && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// Whether the port sees the neighbor Git expects; a reason when not. `seen` is the row's
/// neighbors, already named as Git names them.
fn judge_lldp(
    context: &Context<'_>,
    port: &str,
    link: &ExpectedLink,
    seen: &[Neighbor],
    findings: &mut Findings,
) -> bool {
    let expected = &link.remote;
    let expected_port = context.port_maps.get(&expected.device).map_or_else(
        || expected.port.clone(),
        |peer| peer.normalize(&expected.port),
    );
    let want = format!("{}/{}", expected.device, expected.port);
    if seen.is_empty() {
        let level = if link.is_switch_to_switch() {
            Level::Unhealthy
        } else {
            Level::Warning
        };
        findings.add(
            level,
            Signal::Lldp,
            port,
            format!(
                "no LLDP neighbor on {port}, expected {want} ({})",
                link.connection
            ),
        );
        return false;
    }
    let same_device: Vec<&Neighbor> = seen
        .iter()
        .filter(|neighbor| neighbor.device == expected.device)
        .collect();
    // A port name is checked when it is an API name (mapped through the peer's profile) or a
    // host's interface name; a Hedgehog peer without a known profile, or a MAC, says nothing.
    let port_matches = |neighbor: &Neighbor| {
        let trusted = context.port_maps.get(&neighbor.device).is_some()
            || !(context.intent.switches.contains_key(&neighbor.device)
                || looks_like_mac(&neighbor.port));
        !trusted || neighbor.port == expected_port || neighbor.port == expected.port
    };
    if same_device.iter().any(|neighbor| port_matches(neighbor)) {
        return true;
    }
    let actual = same_device.first().copied().unwrap_or(&seen[0]);
    findings.add(
        Level::Unhealthy,
        Signal::Lldp,
        port,
        format!(
            "{port} miswired: expected {want}, LLDP sees {} ({})",
            neighbor_text(actual),
            link.connection
        ),
    );
    false
}

fn neighbor_text(neighbor: &Neighbor) -> String {
    if neighbor.port.is_empty() {
        neighbor.device.clone()
    } else {
        format!("{}/{}", neighbor.device, neighbor.port)
    }
}
