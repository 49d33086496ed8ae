//! cli::inspect: `hhdash inspect FABRIC [SWITCH] [--json]` — the health judgement the
//! dashboard shows, once, from a cron job or a runbook. It lists the Agents, GatewayAgents and
//! SwitchProfiles in the fabric's namespaces with the fabric's own credentials (cut down like
//! the watch does: no spec, no secret), derives the intent from the store's last sync and
//! judges with `health::judge`. A single run has no flap history: only the agents' own
//! `linkFlapCount` counts as flaps.

use std::fmt::Write as _;
use std::path::Path;

use color_eyre::eyre::{Result, bail};
use serde_json::Value;

#[allow(unused_imports)]
use crate::sanitize::{errln as eprintln, out as print, outln as println};

use super::Outcome;
use super::cluster::fabric_client;
use super::output::warn_insecure;
use crate::config::FabricConfig;
use crate::health::judge::{FlapHistory, Observed};
use crate::health::{Level, SwitchHealth, intent, judge};
use crate::kinds;
use crate::status::{self, SyncState};
use crate::store::Store;

/// The kinds inspect reads: what the agents report and how ports are named.
const OBSERVED_KINDS: [&str; 3] = ["Agent", "GatewayAgent", "SwitchProfile"];

pub async fn inspect(
    fabric: &FabricConfig,
    store: &Store,
    key_file: &Path,
    switch: Option<&str>,
    json: bool,
) -> Result<Outcome> {
    warn_insecure(fabric);
    let name = &fabric.name;
    // Like `diff`: the intent is Git's as last synced; no sync, nothing to judge against.
    if store.fabric_status(name)?.sync.state == SyncState::NeverSynced {
        bail!("fabric {name}: nothing synced from Git yet; run `hhdash sync {name}` first");
    }
    let desired = store.desired(name)?;
    let intent = intent::derive(&intent::decode_intent_kinds(&desired));
    let client = fabric_client(fabric, store, key_file)?;
    let mut observed: [Vec<Value>; 3] = Default::default();
    for (kind, objects) in OBSERVED_KINDS.iter().zip(observed.iter_mut()) {
        let info = kinds::by_kind(kind).expect("health kinds are registered");
        // `list` cuts each object down (`kinds::live_fields`) before anything sees it.
        *objects = client
            .list(info)
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
    }
    let [agents, gateway_agents, switch_profiles] = observed
        .each_ref()
        .map(|objects| objects.iter().collect::<Vec<&Value>>());
    let mut nodes = judge::judge_fabric(
        &intent,
        Observed {
            agents: &agents,
            gateway_agents: &gateway_agents,
            switch_profiles: &switch_profiles,
        },
        &FlapHistory::default(),
        &fabric.health,
        status::now(),
    );
    worst_first(&mut nodes);
    if let Some(switch) = switch {
        nodes.retain(|node| node.name == switch);
        if nodes.is_empty() {
            bail!(
                "fabric {name}: no switch or gateway named {switch:?} in Git or the cluster; `hhdash inspect {name}` lists them"
            );
        }
    }
    if json {
        crate::sanitize::print_json(&nodes)?;
    } else if switch.is_some() {
        print!("{}", detail(&nodes[0]));
    } else {
        print!("{}", table(name, &nodes));
    }
    Ok(verdict(&nodes))
}

/// Exit 1 when any node is Unhealthy; Warnings alone exit 0.
pub fn verdict(nodes: &[SwitchHealth]) -> Outcome {
    if nodes.iter().any(|node| node.level == Level::Unhealthy) {
        Outcome::Failed
    } else {
        Outcome::Success
    }
}

/// Worst first, then by name: the order of the Health view.
pub fn worst_first(nodes: &mut [SwitchHealth]) {
    nodes.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then_with(|| crate::natural::natural_cmp(&a.name, &b.name))
    });
}

fn heartbeat(node: &SwitchHealth) -> String {
    node.heartbeat_age
        .map(|age| format!("{age}s ago"))
        .unwrap_or_else(|| "never".into())
}

fn config(node: &SwitchHealth) -> String {
    if node.reboot_required {
        format!("{} reboot", node.state)
    } else {
        node.state.to_string()
    }
}

fn ratio(good: usize, expected: usize) -> String {
    format!("{good}/{expected}")
}

/// One row per switch and gateway, worst first.
pub fn table(fabric: &str, nodes: &[SwitchHealth]) -> String {
    let mut rows = vec![
        [
            "NAME",
            "KIND",
            "VERDICT",
            "HEARTBEAT",
            "CONFIG",
            "PORTS",
            "LLDP",
            "BGP",
            "BFD",
            "REASONS",
        ]
        .map(String::from),
    ];
    for node in nodes {
        let counts = &node.counts;
        let reasons = match node.reasons.as_slice() {
            [] => "-".to_string(),
            [only] => only.message.clone(),
            [first, rest @ ..] => format!("{} (+{} more)", first.message, rest.len()),
        };
        rows.push([
            node.name.clone(),
            format!("{:?}", node.kind).to_lowercase(),
            node.level.to_string(),
            heartbeat(node),
            config(node),
            ratio(counts.ports_up, counts.ports_expected),
            ratio(counts.lldp_ok, counts.lldp_expected),
            ratio(counts.bgp_established, counts.bgp_expected),
            ratio(counts.bfd_up, counts.bfd_expected),
            reasons,
        ]);
    }
    let summary = crate::health::summarize(nodes);
    let mut out = format!(
        "fabric {fabric}: {} node(s): {} healthy, {} warning, {} unhealthy\n",
        summary.total, summary.healthy, summary.warning, summary.unhealthy
    );
    out.push_str(&columns(&rows));
    out
}

/// Left-aligned columns, two spaces apart; the last column is not padded.
fn columns<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One switch or gateway: its verdict and reasons, its ports (Git's neighbor beside LLDP's)
/// and its BGP sessions.
pub fn detail(node: &SwitchHealth) -> String {
    let mut out = format!(
        "{} {}: {} — heartbeat {}, config {}, version {}\n",
        format!("{:?}", node.kind).to_lowercase(),
        node.name,
        node.level,
        heartbeat(node),
        config(node),
        node.version.as_deref().unwrap_or("-"),
    );
    if node.reasons.is_empty() {
        out.push_str("\nno reasons: healthy\n");
    } else {
        out.push_str("\nREASONS\n");
        for reason in &node.reasons {
            let _ = writeln!(
                out,
                "  {:<9}  {:<9}  {}",
                reason.level.to_string(),
                format!("{:?}", reason.signal).to_lowercase(),
                reason.message
            );
        }
    }
    let neighbor = |n: &crate::health::Neighbor| {
        if n.port.is_empty() {
            n.device.clone()
        } else {
            format!("{}/{}", n.device, n.port)
        }
    };
    if !node.detail.ports.is_empty() {
        let mut rows = vec![
            [
                "PORT",
                "NOS",
                "CONNECTION",
                "EXPECTED",
                "ACTUAL",
                "OPER",
                "SPEED",
                "FLAPS",
                "ERRORS",
                "VERDICT",
            ]
            .map(String::from),
        ];
        for port in &node.detail.ports {
            let actual: Vec<String> = port.actual.iter().map(neighbor).collect();
            rows.push([
                port.port.clone(),
                port.nos_name.clone().unwrap_or_else(|| "-".into()),
                port.connection.clone().unwrap_or_else(|| "-".into()),
                port.expected
                    .as_ref()
                    .map(neighbor)
                    .unwrap_or_else(|| "-".into()),
                if actual.is_empty() {
                    "-".into()
                } else {
                    actual.join(", ")
                },
                if port.err_disabled {
                    format!("{} errDisabled", port.oper)
                } else {
                    or_dash(&port.oper)
                },
                or_dash(&port.speed),
                port.flaps.to_string(),
                port.errors.to_string(),
                port.level.to_string(),
            ]);
        }
        out.push_str("\nPORTS\n");
        out.push_str(&columns(&rows));
    }
    if !node.detail.bgp.is_empty() {
        let mut rows = vec![
            [
                "VRF",
                "PEER",
                "REMOTE",
                "TYPE",
                "EXPECTED",
                "STATE",
                "PEER-AS",
                "LAST-RESET",
                "VERDICT",
            ]
            .map(String::from),
        ];
        for session in &node.detail.bgp {
            rows.push([
                session.vrf.clone(),
                session.peer.clone(),
                session.remote.clone().unwrap_or_else(|| "-".into()),
                session.session_type.clone().unwrap_or_else(|| "-".into()),
                if session.expected { "yes" } else { "no" }.into(),
                or_dash(&session.state),
                session
                    .peer_as
                    .map(|asn| asn.to_string())
                    .unwrap_or_else(|| "-".into()),
                session
                    .last_reset_reason
                    .clone()
                    .unwrap_or_else(|| "-".into()),
                session.level.to_string(),
            ]);
        }
        out.push_str("\nBGP\n");
        out.push_str(&columns(&rows));
    }
    out
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".into()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::health::{
        BgpRow, Neighbor, NodeKind, PortRow, Reason, Signal, SignalCounts, SwitchDetail,
        SwitchState,
    };

    fn reason(level: Level, signal: Signal, subject: &str, message: &str) -> Reason {
        Reason {
            level,
            signal,
            subject: subject.into(),
            message: message.into(),
        }
    }

    fn node(name: &str, reasons: Vec<Reason>) -> SwitchHealth {
        SwitchHealth {
            name: name.into(),
            state: SwitchState::Ready,
            heartbeat_age: Some(7),
            level: reasons.iter().map(|r| r.level).max().unwrap_or_default(),
            reasons,
            counts: SignalCounts {
                ports_up: 3,
                ports_expected: 4,
                bgp_established: 1,
                bgp_expected: 2,
                ..SignalCounts::default()
            },
            ..SwitchHealth::default()
        }
    }

    fn bgp_down() -> Reason {
        reason(
            Level::Unhealthy,
            Signal::Bgp,
            "default 172.30.128.0",
            "BGP default 172.30.128.0 (spine-1) not established: idle, last reset \"Hold Timer Expired\"",
        )
    }

    #[test]
    fn any_unhealthy_node_exits_1_and_warnings_alone_exit_0() {
        let flapping = reason(Level::Warning, Signal::Port, "E1/3", "E1/3 flaps");
        assert!(matches!(verdict(&[]), Outcome::Success));
        assert!(matches!(
            verdict(&[node("leaf-1", vec![flapping.clone()])]),
            Outcome::Success
        ));
        assert!(matches!(
            verdict(&[
                node("leaf-1", vec![flapping]),
                node("leaf-2", vec![bgp_down()])
            ]),
            Outcome::Failed
        ));
    }

    #[test]
    fn the_table_lists_worst_first_with_counts_and_the_first_reason() {
        let mut nodes = vec![
            node("a-healthy", vec![]),
            node(
                "b-warning",
                vec![reason(Level::Warning, Signal::Port, "E1/3", "E1/3 flaps")],
            ),
            node(
                "c-unhealthy",
                vec![
                    bgp_down(),
                    reason(Level::Unhealthy, Signal::Port, "E1/9", "E1/9 down"),
                ],
            ),
        ];
        nodes[1].kind = NodeKind::Gateway;
        nodes[0].heartbeat_age = None;
        worst_first(&mut nodes);
        let table = table("east", &nodes);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "fabric east: 3 node(s): 1 healthy, 1 warning, 1 unhealthy"
        );
        let header: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            header,
            [
                "NAME",
                "KIND",
                "VERDICT",
                "HEARTBEAT",
                "CONFIG",
                "PORTS",
                "LLDP",
                "BGP",
                "BFD",
                "REASONS"
            ]
        );
        assert!(
            lines[2].starts_with("c-unhealthy  switch   Unhealthy"),
            "{table}"
        );
        assert!(
            lines[2].contains("3/4") && lines[2].contains("1/2"),
            "{table}"
        );
        assert!(
            lines[2].ends_with("last reset \"Hold Timer Expired\" (+1 more)"),
            "{table}"
        );
        assert!(
            lines[3].starts_with("b-warning    gateway  Warning"),
            "{table}"
        );
        assert!(lines[4].starts_with("a-healthy") && lines[4].contains("never"));
        assert!(lines[4].ends_with(" -"), "{table}");
    }

    #[test]
    fn the_detail_shows_reasons_git_neighbors_beside_lldp_and_sessions() {
        let mut leaf = node("leaf-1", vec![bgp_down()]);
        leaf.detail = Arc::new(SwitchDetail {
            ports: vec![PortRow {
                port: "E1/9".into(),
                nos_name: Some("Ethernet8".into()),
                connection: Some("spine-1--fabric--leaf-1".into()),
                connection_type: Some("fabric".into()),
                expected: Some(Neighbor {
                    device: "spine-1".into(),
                    port: "E1/1".into(),
                }),
                actual: vec![Neighbor {
                    device: "spine-2".into(),
                    port: "E1/1".into(),
                }],
                oper: "up".into(),
                speed: "25G".into(),
                level: Level::Unhealthy,
                ..PortRow::default()
            }],
            bgp: vec![BgpRow {
                vrf: "default".into(),
                peer: "172.30.128.0".into(),
                expected: true,
                remote: Some("spine-1".into()),
                session_type: Some("fabric".into()),
                state: "idle".into(),
                peer_as: Some(65100),
                last_reset_reason: Some("Hold Timer Expired".into()),
                level: Level::Unhealthy,
                ..BgpRow::default()
            }],
            ..SwitchDetail::default()
        });
        let text = detail(&leaf);
        assert!(
            text.starts_with("switch leaf-1: Unhealthy — heartbeat 7s ago, config Ready"),
            "{text}"
        );
        assert!(
            text.contains("Unhealthy  bgp        BGP default 172.30.128.0"),
            "{text}"
        );
        let port = text.lines().find(|l| l.starts_with("E1/9")).unwrap();
        let cells: Vec<&str> = port.split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "E1/9",
                "Ethernet8",
                "spine-1--fabric--leaf-1",
                "spine-1/E1/1",
                "spine-2/E1/1",
                "up",
                "25G",
                "0",
                "0",
                "Unhealthy"
            ]
        );
        let session = text.lines().find(|l| l.starts_with("default")).unwrap();
        assert!(
            session.contains("spine-1") && session.contains("Hold Timer Expired"),
            "{session}"
        );
    }
}
