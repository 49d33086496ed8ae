//! A gateway's judgement from its GatewayAgent (gateway-facts §6): heartbeat, applied
//! generation (the agent's and FRR's), and its BGP sessions against the Gateway's
//! `spec.neighbors` in Git.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::routing::{self, SeenSession};
use super::{Context, Findings, duration};
use crate::health::intent::NodeIntent;
use crate::health::model::GatewayAgentStatus;
use crate::health::{
    Level, NodeKind, Signal, SignalCounts, SwitchDetail, SwitchHealth, SwitchState, classify_agent,
};

pub(super) fn judge(
    context: &Context<'_>,
    name: &str,
    intent: Option<&NodeIntent>,
    agent: Option<&Value>,
) -> SwitchHealth {
    let mut findings = Findings::default();
    let empty = NodeIntent::default();
    let intent = intent.unwrap_or(&empty);
    let unreported = |health: &mut SwitchHealth| {
        health.counts.bgp_expected = intent.bgp.len();
        health.detail = Arc::new(SwitchDetail {
            bgp: routing::expected_rows(&intent.bgp),
            ..SwitchDetail::default()
        });
    };
    let Some(agent) = agent else {
        findings.add(
            Level::Unhealthy,
            Signal::Heartbeat,
            "",
            "no GatewayAgent object: the gateway has not registered".to_string(),
        );
        let mut health = SwitchHealth {
            name: name.to_string(),
            kind: NodeKind::Gateway,
            state: SwitchState::Stale,
            ..SwitchHealth::default()
        };
        unreported(&mut health);
        findings.finish(&mut health);
        return health;
    };
    let status = agent
        .get("status")
        .and_then(|status| GatewayAgentStatus::deserialize(status).ok())
        .unwrap_or_default();
    let mut health = classify_agent(agent, context.now, context.thresholds.stale_after_secs);
    health.name = name.to_string();
    health.kind = NodeKind::Gateway;
    health.version = status.agent_version.clone();
    if health.state == SwitchState::Stale {
        let message = match health.heartbeat_age {
            Some(age) => format!("no heartbeat for {}", duration(age)),
            None => "gateway agent never reported".to_string(),
        };
        findings.add(Level::Unhealthy, Signal::Heartbeat, "", message);
        unreported(&mut health);
        findings.finish(&mut health);
        return health;
    }
    if health.state == SwitchState::Stuck {
        findings.add(
            Level::Unhealthy,
            Signal::Config,
            "",
            format!(
                "generation {} attempted, not applied",
                health.current_generation.unwrap_or_default()
            ),
        );
    }
    let frr_generation = status
        .state
        .frr
        .as_ref()
        .and_then(|frr| frr.last_applied_gen);
    if let (Some(frr), Some(applied)) = (frr_generation, status.last_applied_gen)
        && frr != applied
    {
        findings.add(
            Level::Warning,
            Signal::Config,
            "frr",
            format!("FRR applied generation {frr}, the gateway agent {applied}"),
        );
    }

    let seen: BTreeMap<(String, String), SeenSession> = status
        .state
        .bgp
        .iter()
        .flat_map(|bgp| &bgp.vrfs)
        .flat_map(|(vrf, peers)| {
            peers
                .neighbors
                .iter()
                .map(move |(ip, neighbor)| ((vrf.clone(), ip.clone()), neighbor.into()))
        })
        .collect();
    let mut counts = SignalCounts::default();
    let bgp = routing::judge_sessions(&intent.bgp, &seen, &mut findings, &mut counts);
    health.counts = counts;
    health.detail = Arc::new(SwitchDetail {
        bgp,
        ..SwitchDetail::default()
    });
    findings.finish(&mut health);
    health
}
