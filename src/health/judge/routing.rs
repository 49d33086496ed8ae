//! BGP sessions and BFD peers: expected (from Git) against reported, for switches and
//! gateways alike.

use std::collections::BTreeMap;

use super::Findings;
use crate::health::intent::ExpectedSession;
use crate::health::model::{BfdPeer, BgpNeighbor, GatewayNeighbor};
use crate::health::{BfdRow, BgpRow, Level, Signal, SignalCounts, parse_rfc3339};

/// BGP's word for a working session.
const ESTABLISHED: &str = "established";

/// (VRF, peer IP) → what Git expects of the session.
type Expected = BTreeMap<(String, String), ExpectedSession>;

/// One reported session, in the terms both agents share.
#[derive(Default)]
pub(super) struct SeenSession {
    pub state: String,
    pub peer_as: u32,
    pub established_at: Option<i64>,
    pub last_reset_at: Option<i64>,
    pub last_reset_reason: String,
    pub transitions: u64,
}

impl From<&BgpNeighbor> for SeenSession {
    fn from(neighbor: &BgpNeighbor) -> Self {
        SeenSession {
            state: neighbor.state.clone(),
            peer_as: neighbor.peer_as,
            established_at: neighbor.last_estab.as_deref().and_then(parse_rfc3339),
            last_reset_at: neighbor.last_reset.as_deref().and_then(parse_rfc3339),
            last_reset_reason: neighbor.last_reset_reason.clone(),
            transitions: neighbor.estab_trans,
        }
    }
}

impl From<&GatewayNeighbor> for SeenSession {
    fn from(neighbor: &GatewayNeighbor) -> Self {
        SeenSession {
            state: neighbor.session_state.clone(),
            peer_as: neighbor.peer_as,
            last_reset_reason: neighbor.last_reset_reason.clone(),
            transitions: neighbor.established_transitions,
            ..SeenSession::default()
        }
    }
}

/// A switch's BGP sessions and, when it reports BFD at all (BFD may be disabled), its BFD
/// peers.
pub(super) fn judge_switch_sessions(
    expected: &Expected,
    neighbors: &BTreeMap<String, BTreeMap<String, BgpNeighbor>>,
    bfd_peers: &BTreeMap<String, BTreeMap<String, BfdPeer>>,
    findings: &mut Findings,
    counts: &mut SignalCounts,
) -> (Vec<BgpRow>, Vec<BfdRow>) {
    let seen: BTreeMap<(String, String), SeenSession> = neighbors
        .iter()
        .flat_map(|(vrf, peers)| {
            peers
                .iter()
                .map(move |(ip, neighbor)| ((vrf.clone(), ip.clone()), neighbor.into()))
        })
        .collect();
    let bgp = judge_sessions(expected, &seen, findings, counts);
    let bfd = judge_bfd(expected, bfd_peers, findings, counts);
    (bgp, bfd)
}

/// Rows for the sessions Git expects, none reported (a switch that does not report).
pub(super) fn expected_rows(expected: &Expected) -> Vec<BgpRow> {
    expected
        .iter()
        .map(|((vrf, peer), session)| expected_row(vrf, peer, session))
        .collect()
}

fn expected_row(vrf: &str, peer: &str, session: &ExpectedSession) -> BgpRow {
    BgpRow {
        vrf: vrf.to_string(),
        peer: peer.to_string(),
        expected: true,
        remote: Some(session.remote.clone()).filter(|remote| !remote.is_empty()),
        session_type: Some(session.session_type.clone()),
        expected_as: session.remote_as,
        ..BgpRow::default()
    }
}

/// Every expected session not established or with the wrong peer AS, and every established
/// one Git does not know; a row for each expected or reported session.
pub(super) fn judge_sessions(
    expected: &Expected,
    seen: &BTreeMap<(String, String), SeenSession>,
    findings: &mut Findings,
    counts: &mut SignalCounts,
) -> Vec<BgpRow> {
    let mut rows = Vec::new();
    for ((vrf, peer), session) in expected {
        counts.bgp_expected += 1;
        let subject = format!("{vrf} {peer}");
        let who = if session.remote.is_empty() {
            format!("BGP {subject}")
        } else {
            format!("BGP {subject} ({})", session.remote)
        };
        let mut row = expected_row(vrf, peer, session);
        match seen.get(&(vrf.clone(), peer.clone())) {
            None => findings.add(
                Level::Unhealthy,
                Signal::Bgp,
                &subject,
                format!("{who} not reported: the session is not configured"),
            ),
            Some(actual) => {
                fill_seen(&mut row, actual);
                if actual.state != ESTABLISHED {
                    let state = if actual.state.is_empty() {
                        "not established"
                    } else {
                        &actual.state
                    };
                    let reset = if actual.last_reset_reason.is_empty() {
                        String::new()
                    } else {
                        format!(", last reset {}", actual.last_reset_reason)
                    };
                    findings.add(
                        Level::Unhealthy,
                        Signal::Bgp,
                        &subject,
                        format!("{who} {state}{reset}"),
                    );
                } else if let Some(remote_as) = session.remote_as
                    && remote_as != 0
                    && actual.peer_as != 0
                    && actual.peer_as != remote_as
                {
                    findings.add(
                        Level::Unhealthy,
                        Signal::Bgp,
                        &subject,
                        format!(
                            "{who} peer AS {} but Git says AS {remote_as}",
                            actual.peer_as
                        ),
                    );
                } else {
                    counts.bgp_established += 1;
                }
            }
        }
        row.level = findings.level_of(&[Signal::Bgp], &subject);
        rows.push(row);
    }
    for ((vrf, peer), actual) in seen {
        if expected.contains_key(&(vrf.clone(), peer.clone())) {
            continue;
        }
        let subject = format!("{vrf} {peer}");
        if actual.state == ESTABLISHED {
            findings.add(
                Level::Warning,
                Signal::Bgp,
                &subject,
                format!(
                    "unexpected BGP session {subject} (AS {}): established but not in Git",
                    actual.peer_as
                ),
            );
        }
        let mut row = BgpRow {
            vrf: vrf.clone(),
            peer: peer.clone(),
            ..BgpRow::default()
        };
        fill_seen(&mut row, actual);
        row.level = findings.level_of(&[Signal::Bgp], &subject);
        rows.push(row);
    }
    rows
}

fn fill_seen(row: &mut BgpRow, actual: &SeenSession) {
    row.state = actual.state.clone();
    row.peer_as = Some(actual.peer_as).filter(|asn| *asn != 0);
    row.established_at = actual.established_at;
    row.last_reset_at = actual.last_reset_at;
    row.last_reset_reason =
        Some(actual.last_reset_reason.clone()).filter(|reason| !reason.is_empty());
    row.transitions = actual.transitions;
}

/// BFD peers of the expected link sessions, judged only when the switch reports any BFD peer.
fn judge_bfd(
    expected: &Expected,
    peers: &BTreeMap<String, BTreeMap<String, BfdPeer>>,
    findings: &mut Findings,
    counts: &mut SignalCounts,
) -> Vec<BfdRow> {
    let reports_bfd = peers.values().any(|peers| !peers.is_empty());
    let mut rows = Vec::new();
    let state_of = |vrf: &str, peer: &str| peers.get(vrf).and_then(|peers| peers.get(peer));
    for ((vrf, peer), session) in expected {
        if !session.bfd || !reports_bfd {
            continue;
        }
        counts.bfd_expected += 1;
        let subject = format!("{vrf} {peer}");
        let state = state_of(vrf, peer)
            .map(|bfd| bfd.state.clone())
            .unwrap_or_default();
        if state == "up" {
            counts.bfd_up += 1;
        } else {
            let what = if state.is_empty() {
                "missing".to_string()
            } else {
                state.clone()
            };
            findings.add(
                Level::Unhealthy,
                Signal::Bfd,
                &subject,
                format!("BFD {subject} ({}) {what}", session.remote),
            );
        }
        rows.push(BfdRow {
            vrf: vrf.clone(),
            peer: peer.clone(),
            expected: true,
            state,
            level: findings.level_of(&[Signal::Bfd], &subject),
        });
    }
    for (vrf, vrf_peers) in peers {
        for (peer, bfd) in vrf_peers {
            let known = expected
                .get(&(vrf.clone(), peer.clone()))
                .is_some_and(|session| session.bfd);
            if !known {
                rows.push(BfdRow {
                    vrf: vrf.clone(),
                    peer: peer.clone(),
                    expected: false,
                    state: bfd.state.clone(),
                    level: Level::Healthy,
                });
            }
        }
    }
    rows
}
