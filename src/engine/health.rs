//! health (engine side): the fabric's intent from the desired set, the flap history from the
//! Agents' reports, and the judgement of both (`health::judge`), re-evaluated when an Agent,
//! GatewayAgent or SwitchProfile changes, when the desired set changes, and on the slow tick
//! (heartbeats age) — with one log line per reason that appears or clears.

use std::sync::Arc;

use serde_json::Value;

use super::EngineEvent;
use super::live::log_line;
use super::task::Engine;
use crate::health::judge::{self, Observed};
use crate::health::{NodeKind, SwitchHealth, intent};
use crate::kinds::ObjectKey;
use crate::status;
use crate::store::{LogEntry, LogKind};

/// What the engine keeps between judgements: the port maps and the cached judgement of each
/// switch (`judge::judge_fabric_cached`), valid for one epoch of the intent and SwitchProfiles.
#[derive(Debug, Default)]
pub(super) struct Judging {
    /// The SwitchProfiles' resourceVersions the port maps were built from; `None`: rebuild.
    profiles: Option<Vec<String>>,
    port_maps: judge::PortMaps,
    epoch: u64,
    cache: judge::JudgeCache,
}

impl Engine {
    /// Derives the intent from the desired set: after a sync changed it, and after loading it
    /// from the store.
    pub(super) fn update_intent(&mut self) {
        let decoded = intent::decode_intent_kinds(self.desired.values().map(|d| d.as_ref()));
        self.intent = intent::derive(&decoded);
        // Port maps and every cached judgement were made with the old intent.
        self.judging.profiles = None;
    }

    /// Feeds Agent reports, as they arrive, to the flap history.
    pub(super) fn observe_reports(&mut self, reports: Vec<Arc<Value>>) {
        let now = status::now();
        let window = self.fabric.health.flap_window_secs;
        for report in reports {
            self.flaps.observe(&report, now, window);
        }
    }

    pub(super) fn compute_health(&mut self) -> Vec<SwitchHealth> {
        let of_kind = |kind: &str| -> Vec<&Value> {
            self.live
                .read_only
                .iter()
                .filter(|(key, _)| key.kind == kind)
                .map(|(_, object)| object.as_ref())
                .collect()
        };
        let agents = of_kind("Agent");
        let gateway_agents = of_kind("GatewayAgent");
        let switch_profiles = of_kind("SwitchProfile");
        let judging = &mut self.judging;
        // The fabric-wide inputs: rebuilt (and every cached judgement dropped) when the
        // intent or a SwitchProfile changed.
        let profiles: Vec<String> = switch_profiles
            .iter()
            .map(|p| {
                p.pointer("/metadata/resourceVersion")
                    .map(Value::to_string)
                    .unwrap_or_default()
            })
            .collect();
        if judging.profiles.as_ref() != Some(&profiles) {
            judging.port_maps = judge::PortMaps::build(&self.intent, &switch_profiles);
            judging.profiles = Some(profiles);
            judging.epoch += 1;
        }
        judge::judge_fabric_cached(
            &self.intent,
            Observed {
                agents: &agents,
                gateway_agents: &gateway_agents,
                switch_profiles: &switch_profiles,
            },
            &judging.port_maps,
            &self.flaps,
            &self.fabric.health,
            status::now(),
            judging.epoch,
            &mut judging.cache,
        )
    }

    /// New reports: judge now, unless the last judgement is younger than
    /// `HEALTH_AT_MOST_EVERY` — then the next due tick judges them all at once.
    pub(super) async fn request_health(&mut self) {
        let recent = self
            .health_judged_at
            .is_some_and(|at| at.elapsed() < super::task::HEALTH_AT_MOST_EVERY);
        if recent {
            self.health_due = true;
        } else {
            self.refresh_health().await;
        }
    }

    pub(super) async fn refresh_health(&mut self) {
        self.health_due = false;
        self.health_judged_at = Some(tokio::time::Instant::now());
        let switches = self.compute_health();
        if switches == self.switches {
            return;
        }
        let entries = health_lines(
            &self.switches,
            &switches,
            status::now(),
            &self.fabric.namespaces,
            |kind, name| self.node_key(kind, name),
        );
        self.switches = switches;
        if let Err(error) = self.ctx.store.append_log(&self.fabric.name, &entries) {
            tracing::warn!(fabric = %self.fabric.name, "cannot log health changes: {error}");
        }
        for entry in entries {
            self.emit_log(entry).await;
        }
        self.emit(EngineEvent::Health {
            fabric: self.fabric.name.clone(),
            switches: self.switches.clone(),
        })
        .await;
    }

    /// The agent object of a switch (`Agent/leaf-01`) or gateway (`GatewayAgent/gw-1`), in
    /// the namespace it lives in.
    fn node_key(&self, kind: NodeKind, name: &str) -> ObjectKey {
        let kind = match kind {
            NodeKind::Switch => "Agent",
            NodeKind::Gateway => "GatewayAgent",
        };
        let namespace = self
            .live
            .read_only
            .keys()
            .find(|key| key.kind == kind && key.name == name)
            .map(|key| key.namespace.clone())
            .unwrap_or_else(|| self.fabric.namespaces.default.clone());
        ObjectKey {
            kind: kind.to_string(),
            namespace,
            name: name.to_string(),
        }
    }
}

/// One log line per reason that appeared, changed or cleared between two judgements
/// (`judge::changes`), naming the node's agent object: a heartbeat with nothing new adds none.
pub(super) fn health_lines(
    old: &[SwitchHealth],
    new: &[SwitchHealth],
    now: status::Timestamp,
    namespaces: &crate::config::Namespaces,
    object: impl Fn(NodeKind, &str) -> ObjectKey,
) -> Vec<LogEntry> {
    let kind_of = |name: &str| {
        new.iter()
            .chain(old)
            .find(|node| node.name == name)
            .map(|node| node.kind)
            .unwrap_or_default()
    };
    judge::changes(old, new)
        .into_iter()
        .map(|change| {
            let key = object(kind_of(&change.node), &change.node);
            let object = Some(namespaces.object_name(&key));
            LogEntry {
                key: Some(key),
                ..log_line(now, LogKind::Health, object, change.line())
            }
        })
        .collect()
}
