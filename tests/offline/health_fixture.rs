//! The Health fixture: the example fabric's six switches and its gateway (`examples/fabric`),
//! judged as the engine would send them, one fault per node so every signal shows once:
//! spine-1 lost its BGP session (and BFD) to leaf-1 with a reset reason, leaf-1 is miswired
//! (its uplink sees spine-2), leaf-2 has a flapping port with a low receive optic, leaf-3 a
//! failed PSU and routes 97 % full, leaf-4 is stale; spine-2 and gateway-1 are healthy.
//! Rows: four of the example Connections, live and in sync, except spine-1--fabric--leaf-1,
//! which is in Git only (Missing), so it shows in the Drift view.
#![allow(dead_code)]
// Every health struct is built with `..Default::default()`, even when all of today's fields are
// set: the judge may add fields (with defaults), and this fixture must keep compiling.
#![allow(clippy::needless_update)]

use std::path::Path;
use std::sync::Arc;

use hhdash::desired::{self, DesiredSet};
use hhdash::engine::EngineEvent;
use hhdash::health::{
    BfdRow, BgpRow, Level, Neighbor, NodeKind, OpticRow, PlatformRow, PortRow, Reason, ResourceRow,
    Signal, SignalCounts, SwitchDetail, SwitchHealth, SwitchState,
};
use hhdash::status::{DriftState, DriftStatus};
use hhdash::ui::{App, View};

use crate::ui_fixture::*;

fn neighbor(end: &str) -> Neighbor {
    let (device, port) = end.split_once('/').unwrap();
    Neighbor {
        device: device.into(),
        port: port.into(),
        ..Default::default()
    }
}

/// A port as the judge reports it: `E1/n` → `Ethernet{n-1}` (profile `vs`).
pub fn port(name: &str, connection: Option<(&str, &str)>, expected: &str, actual: &str) -> PortRow {
    let n: usize = name.trim_start_matches("E1/").parse().unwrap();
    PortRow {
        port: name.into(),
        nos_name: Some(format!("Ethernet{}", n - 1)),
        connection: connection.map(|(c, _)| c.to_string()),
        connection_type: connection.map(|(_, t)| t.to_string()),
        expected: (!expected.is_empty()).then(|| neighbor(expected)),
        actual: if actual.is_empty() {
            Vec::new()
        } else {
            vec![neighbor(actual)]
        },
        admin: "up".into(),
        oper: "up".into(),
        speed: "25G".into(),
        flaps: 0,
        errors: 0,
        err_disabled: false,
        level: Level::Healthy,
        ..Default::default()
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

pub fn session(peer: &str, remote: &str, asn: u32) -> BgpRow {
    BgpRow {
        vrf: "default".into(),
        peer: peer.into(),
        expected: true,
        remote: Some(remote.into()),
        session_type: Some("fabric".into()),
        state: "established".into(),
        peer_as: Some(asn),
        expected_as: Some(asn),
        established_at: Some(NOW - 3 * 3600),
        last_reset_at: None,
        last_reset_reason: None,
        transitions: 1,
        level: Level::Healthy,
        ..Default::default()
    }
}

fn bfd(peer: &str, state: &str, level: Level) -> BfdRow {
    BfdRow {
        vrf: "default".into(),
        peer: peer.into(),
        expected: true,
        state: state.into(),
        level,
        ..Default::default()
    }
}

fn optic(port: &str, rx: f64, level: Level) -> OpticRow {
    OpticRow {
        port: port.into(),
        description: "QSFP28 100GBASE-SR4".into(),
        oper: "up".into(),
        temperature: Some(38.5),
        rx_dbm: Some(rx),
        tx_dbm: Some(-1.2),
        level,
        ..Default::default()
    }
}

fn psu(name: &str, state: &str, level: Level) -> PlatformRow {
    PlatformRow {
        component: "psu".into(),
        name: name.into(),
        state: state.into(),
        level,
        ..Default::default()
    }
}

fn resource(name: &str, used: u64, available: u64, level: Level) -> ResourceRow {
    let percent = (used * 100 / (used + available)) as u8;
    ResourceRow {
        resource: name.into(),
        used,
        available,
        percent,
        level,
        ..Default::default()
    }
}

/// A node with its counts derived from its detail, so cells and detail never disagree.
fn node(
    name: &str,
    kind: NodeKind,
    state: SwitchState,
    age: Option<i64>,
    reasons: Vec<Reason>,
    detail: SwitchDetail,
) -> SwitchHealth {
    let counts = SignalCounts {
        ports_up: detail.ports.iter().filter(|p| p.oper == "up").count(),
        ports_expected: detail.ports.iter().filter(|p| p.expected.is_some()).count(),
        lldp_ok: detail
            .ports
            .iter()
            .filter(|p| p.expected.as_ref().is_some_and(|e| p.actual.contains(e)))
            .count(),
        lldp_expected: detail.ports.iter().filter(|p| p.expected.is_some()).count(),
        bgp_established: detail
            .bgp
            .iter()
            .filter(|b| b.state == "established")
            .count(),
        bgp_expected: detail.bgp.iter().filter(|b| b.expected).count(),
        bfd_up: detail.bfd.iter().filter(|b| b.state == "up").count(),
        bfd_expected: detail.bfd.iter().filter(|b| b.expected).count(),
        unstable_ports: detail
            .ports
            .iter()
            .filter(|p| p.flaps > 0 || p.err_disabled)
            .count(),
        optic_alarms: detail
            .optics
            .iter()
            .filter(|o| o.level > Level::Healthy)
            .count(),
        platform_alarms: detail
            .platform
            .iter()
            .filter(|p| p.level > Level::Healthy)
            .count(),
        resources_max_percent: detail
            .resources
            .iter()
            .map(|r| r.percent)
            .max()
            .unwrap_or(0),
    };
    SwitchHealth {
        name: name.into(),
        kind,
        state,
        heartbeat_age: age,
        applied_generation: Some(3),
        current_generation: Some(3),
        version: Some("v0.87.4".into()),
        reboot_required: false,
        level: reasons.iter().map(|r| r.level).max().unwrap_or_default(),
        reasons,
        counts,
        detail: Arc::new(detail),
        ..SwitchHealth::default()
    }
}

fn healthy_platform() -> Vec<PlatformRow> {
    vec![
        psu("PSU 1", "ok", Level::Healthy),
        psu("PSU 2", "ok", Level::Healthy),
    ]
}

fn routes(percent_used: u64) -> Vec<ResourceRow> {
    let level = if percent_used >= 90 {
        Level::Warning
    } else {
        Level::Healthy
    };
    vec![
        resource(
            "ipv4 routes",
            percent_used * 1000,
            (100 - percent_used) * 1000,
            level,
        ),
        resource("nexthops", 120, 3880, Level::Healthy),
    ]
}

pub fn health_nodes() -> Vec<SwitchHealth> {
    fn fabric(connection: &str) -> Option<(&str, &str)> {
        Some((connection, "fabric"))
    }
    let idle = BgpRow {
        state: "idle".into(),
        established_at: Some(NOW - 5 * 3600),
        last_reset_at: Some(NOW - 240),
        last_reset_reason: Some("Hold Timer Expired".into()),
        transitions: 5,
        level: Level::Unhealthy,
        ..session("172.30.128.1", "leaf-1", 65101)
    };
    let spine_1 = node(
        "spine-1",
        NodeKind::Switch,
        SwitchState::Ready,
        Some(4),
        vec![
            reason(
                Level::Unhealthy,
                Signal::Bgp,
                "default 172.30.128.1",
                "BGP 172.30.128.1 (leaf-1) idle, expected established: Hold Timer Expired 4m ago",
            ),
            reason(
                Level::Unhealthy,
                Signal::Bfd,
                "default 172.30.128.1",
                "BFD 172.30.128.1 (leaf-1) down",
            ),
        ],
        SwitchDetail {
            ports: vec![
                port(
                    "E1/1",
                    fabric("spine-1--fabric--leaf-1"),
                    "leaf-1/E1/9",
                    "leaf-1/E1/9",
                ),
                port(
                    "E1/2",
                    fabric("spine-1--fabric--leaf-2"),
                    "leaf-2/E1/9",
                    "leaf-2/E1/9",
                ),
            ],
            bgp: vec![idle, session("172.30.128.3", "leaf-2", 65102)],
            bfd: vec![
                bfd("172.30.128.1", "down", Level::Unhealthy),
                bfd("172.30.128.3", "up", Level::Healthy),
            ],
            optics: vec![optic("E1/1", -2.1, Level::Healthy)],
            platform: healthy_platform(),
            resources: routes(12),
        },
    );
    let spine_2 = node(
        "spine-2",
        NodeKind::Switch,
        SwitchState::Ready,
        Some(7),
        Vec::new(),
        SwitchDetail {
            ports: vec![port(
                "E1/1",
                fabric("spine-2--fabric--leaf-1"),
                "leaf-1/E1/10",
                "leaf-1/E1/10",
            )],
            bgp: vec![session("172.30.128.9", "leaf-1", 65101)],
            bfd: vec![bfd("172.30.128.9", "up", Level::Healthy)],
            platform: healthy_platform(),
            resources: routes(10),
            ..SwitchDetail::default()
        },
    );
    let mut miswired = port(
        "E1/9",
        fabric("spine-1--fabric--leaf-1"),
        "spine-1/E1/1",
        "spine-2/E1/1",
    );
    miswired.level = Level::Unhealthy;
    let leaf_1 = node(
        "leaf-1",
        NodeKind::Switch,
        SwitchState::Ready,
        Some(3),
        vec![reason(
            Level::Unhealthy,
            Signal::Lldp,
            "E1/9",
            "E1/9: expected neighbor spine-1/E1/1, got spine-2/E1/1 (miswired)",
        )],
        SwitchDetail {
            ports: vec![
                port(
                    "E1/7",
                    Some(("server-3--unbundled--leaf-1", "unbundled")),
                    "server-3/enp2s1",
                    "server-3/enp2s1",
                ),
                miswired,
                port(
                    "E1/10",
                    fabric("spine-2--fabric--leaf-1"),
                    "spine-2/E1/1",
                    "spine-2/E1/1",
                ),
            ],
            bgp: vec![session("172.30.128.8", "spine-2", 65100)],
            platform: healthy_platform(),
            resources: routes(14),
            ..SwitchDetail::default()
        },
    );
    let mut flapping = port(
        "E1/10",
        fabric("spine-1--fabric--leaf-2"),
        "spine-1/E1/2",
        "spine-1/E1/2",
    );
    flapping.flaps = 6;
    flapping.errors = 1312;
    flapping.level = Level::Warning;
    let leaf_2 = node(
        "leaf-2",
        NodeKind::Switch,
        SwitchState::Ready,
        Some(5),
        vec![
            reason(
                Level::Warning,
                Signal::Port,
                "E1/10",
                "E1/10 flapped 6 times in 10m",
            ),
            reason(
                Level::Warning,
                Signal::Optics,
                "E1/10",
                "E1/10 optic rx -14.2 dBm, below -12.0",
            ),
        ],
        SwitchDetail {
            ports: vec![flapping],
            bgp: vec![session("172.30.128.2", "spine-1", 65100)],
            optics: vec![optic("E1/10", -14.2, Level::Warning)],
            platform: healthy_platform(),
            resources: routes(20),
            ..SwitchDetail::default()
        },
    );
    let leaf_3 = node(
        "leaf-3",
        NodeKind::Switch,
        SwitchState::Ready,
        Some(2),
        vec![
            reason(Level::Unhealthy, Signal::Platform, "PSU 2", "PSU 2 failed"),
            reason(
                Level::Warning,
                Signal::Resources,
                "ipv4 routes",
                "ipv4 routes 97% full (above 90%)",
            ),
        ],
        SwitchDetail {
            ports: vec![port(
                "E1/8",
                Some(("leaf-3--gateway--gateway-1", "gateway")),
                "gateway-1/enp2s1",
                "gateway-1/enp2s1",
            )],
            bgp: vec![BgpRow {
                session_type: Some("gateway".into()),
                ..session("172.30.128.17", "gateway-1", 65534)
            }],
            platform: vec![
                psu("PSU 1", "ok", Level::Healthy),
                psu("PSU 2", "failed", Level::Unhealthy),
            ],
            resources: routes(97),
            ..SwitchDetail::default()
        },
    );
    let mut stale_port = port(
        "E1/8",
        Some(("leaf-4--gateway--gateway-1", "gateway")),
        "gateway-1/enp2s2",
        "",
    );
    stale_port.oper = "unknown".into();
    let leaf_4 = SwitchHealth {
        current_generation: Some(4),
        ..node(
            "leaf-4",
            NodeKind::Switch,
            SwitchState::Stale,
            Some(1260),
            vec![reason(
                Level::Unhealthy,
                Signal::Heartbeat,
                "",
                "no heartbeat for 21m (stale after 5m)",
            )],
            SwitchDetail {
                ports: vec![stale_port],
                ..SwitchDetail::default()
            },
        )
    };
    let gateway = node(
        "gateway-1",
        NodeKind::Gateway,
        SwitchState::Ready,
        Some(6),
        Vec::new(),
        SwitchDetail {
            bgp: vec![
                BgpRow {
                    session_type: Some("gateway".into()),
                    ..session("172.30.128.16", "leaf-3", 65103)
                },
                BgpRow {
                    session_type: Some("gateway".into()),
                    ..session("172.30.128.18", "leaf-4", 65104)
                },
            ],
            ..SwitchDetail::default()
        },
    );
    vec![spine_2, leaf_1, gateway, leaf_2, spine_1, leaf_4, leaf_3]
}

/// Fabric `health`: four example Connections (spine-1--fabric--leaf-1 Missing, the rest in
/// sync) and the judged nodes.
pub fn health_snapshot() -> EngineEvent {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fabric/connections");
    let mut set = DesiredSet::default();
    for name in [
        "spine-1--fabric--leaf-1.yaml",
        "spine-2--fabric--leaf-1.yaml",
        "server-3--unbundled--leaf-1.yaml",
        "leaf-3--gateway--gateway-1.yaml",
    ] {
        desired::parse_file(
            &mut set,
            name,
            &std::fs::read(examples.join(name)).unwrap(),
            &hhdash::config::Namespaces::single("default"),
            COMMIT,
        );
    }
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    EngineEvent::Snapshot {
        fabric: "health".into(),
        status: hhdash::status::FabricStatus {
            drift: DriftStatus {
                state: DriftState::DriftDetected,
                count: 1,
            },
            ..live_status()
        },
        rows: set
            .objects
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let live = (o.key.name != "spine-1--fabric--leaf-1")
                    .then(|| served(&o.object.value(), i as u32));
                row(Some(o), live)
            })
            .collect(),
        events: Vec::new(),
        switches: health_nodes(),
    }
}

/// The `health` fabric on its Health view.
pub fn health_app() -> App {
    let mut app = App::new(["health".to_string()], options(false), NOW);
    app.fold(health_snapshot());
    app.set_view(View::Health);
    app
}
