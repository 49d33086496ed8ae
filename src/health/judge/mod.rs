//! health::judge: reported state against intent, with thresholds — one [`SwitchHealth`] per
//! switch and gateway with a verdict, reasons and the detail the dashboard shows; and the
//! changes between two judgements, one log line each.
//!
//! * `switch` — a switch: heartbeat, config, ports and LLDP.
//! * `routing` — BGP sessions and BFD peers (switches and gateways).
//! * `hardware` — transceivers, PSUs, fans, temperatures, critical resources.
//! * `gateway` — a gateway.
//! * `changes` — what appeared, changed or cleared between two judgements.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;

use super::intent::FabricIntent;
use super::profile::PortMap;
use super::{Level, Reason, Signal, SwitchHealth, Thresholds};
use crate::natural::natural_cmp;

mod changes;
mod gateway;
mod hardware;
mod routing;
mod switch;
#[cfg(test)]
mod tests;

pub use changes::{HealthChange, changes};

/// What the cluster reports, as the engine keeps it: the compact live objects of the
/// read-only kinds (`kinds::live_fields`), by name.
#[derive(Debug, Default, Clone, Copy)]
pub struct Observed<'a> {
    pub agents: &'a [&'a Value],
    pub gateway_agents: &'a [&'a Value],
    pub switch_profiles: &'a [&'a Value],
}

/// Oper-state changes seen per (switch, port) over successive reports: a flap history the
/// engine keeps between judgements (a report carries only the last change).
#[derive(Debug, Clone, Default)]
pub struct FlapHistory {
    /// Switch → port → oper-change times within the window, oldest first.
    changes: HashMap<String, BTreeMap<String, VecDeque<i64>>>,
}

impl FlapHistory {
    /// Records the oper changes in `agent`'s (compact live object) report that are new since
    /// the last one, and forgets those older than `window_secs` before `now`.
    pub fn observe(&mut self, agent: &Value, now: i64, window_secs: i64) {
        let Some(switch) = agent.pointer("/metadata/name").and_then(Value::as_str) else {
            return;
        };
        let since = now - window_secs;
        let ports = self.changes.entry(switch.to_string()).or_default();
        if let Some(interfaces) = agent
            .pointer("/status/state/interfaces")
            .and_then(Value::as_object)
        {
            for (port, interface) in interfaces {
                let Some(change) = interface
                    .get("change")
                    .and_then(Value::as_str)
                    .and_then(super::parse_rfc3339)
                else {
                    continue;
                };
                if change < since {
                    continue;
                }
                let seen = ports.entry(port.clone()).or_default();
                // A report repeats the last change until the next one: only a new time counts.
                if !seen.contains(&change) {
                    let at = seen.partition_point(|&earlier| earlier < change);
                    seen.insert(at, change);
                }
            }
        }
        for seen in ports.values_mut() {
            while seen.front().is_some_and(|&at| at < since) {
                seen.pop_front();
            }
        }
        ports.retain(|_, seen| !seen.is_empty());
        if ports.is_empty() {
            self.changes.remove(switch);
        }
    }

    /// Oper changes of `port` on `switch` within the window.
    pub fn flaps(&self, switch: &str, port: &str) -> u32 {
        self.changes
            .get(switch)
            .and_then(|ports| ports.get(port))
            .map_or(0, |changes| changes.len() as u32)
    }

    /// How many oper changes of `switch` are within the window: a judgement of the switch
    /// depends on its flap history only through these.
    pub fn count(&self, switch: &str) -> usize {
        self.changes
            .get(switch)
            .map_or(0, |ports| ports.values().map(VecDeque::len).sum())
    }

    /// Drops everything known about `switch` (its Agent was deleted).
    pub fn forget(&mut self, switch: &str) {
        self.changes.remove(switch);
    }
}

/// Every switch's port names: its SwitchProfile (observed live) with its breakouts (from
/// Git). Switches with the same profile and breakouts share one map, so a fabric of 100
/// identical leaves builds it once. The engine may keep one between judgements (rebuilt when
/// the intent or a SwitchProfile changes) and pass it to [`judge_fabric_with`].
#[derive(Debug, Clone, Default)]
pub struct PortMaps {
    maps: BTreeMap<String, Arc<PortMap>>,
    /// Switch → why its map could not be built (a breakout mode its profile lacks).
    errors: BTreeMap<String, String>,
}

impl PortMaps {
    pub fn build(intent: &FabricIntent, switch_profiles: &[&Value]) -> PortMaps {
        let profiles: HashMap<&str, &Value> = switch_profiles
            .iter()
            .filter_map(|profile| {
                let name = profile.pointer("/metadata/name")?.as_str()?;
                Some((name, profile.get("spec").unwrap_or(&Value::Null)))
            })
            .collect();
        // (profile, breakouts) → the map they make, built once per distinct pair.
        type Built<'i> =
            HashMap<(&'i str, &'i BTreeMap<String, String>), Result<Arc<PortMap>, String>>;
        let mut built: Built<'_> = HashMap::new();
        let mut port_maps = PortMaps::default();
        for (switch, node) in &intent.switches {
            let Some(profile) = node.profile.as_deref() else {
                continue;
            };
            let Some(spec) = profiles.get(profile) else {
                continue;
            };
            let map = built
                .entry((profile, &node.port_breakouts))
                .or_insert_with(|| PortMap::new(spec, &node.port_breakouts).map(Arc::new));
            match map {
                Ok(map) => {
                    port_maps.maps.insert(switch.clone(), Arc::clone(map));
                }
                Err(error) => {
                    port_maps
                        .errors
                        .insert(switch.clone(), format!("SwitchProfile {profile}: {error}"));
                }
            }
        }
        port_maps
    }

    /// The switch's map, when its SwitchProfile is observed and fits its breakouts.
    pub fn get(&self, switch: &str) -> Option<&PortMap> {
        self.maps.get(switch).map(Arc::as_ref)
    }

    pub fn error(&self, switch: &str) -> Option<&str> {
        self.errors.get(switch).map(String::as_str)
    }
}

/// Every switch and gateway Git names or the cluster reports, judged, sorted by name.
pub fn judge_fabric(
    intent: &FabricIntent,
    observed: Observed<'_>,
    flaps: &FlapHistory,
    thresholds: &Thresholds,
    now: i64,
) -> Vec<SwitchHealth> {
    let port_maps = PortMaps::build(intent, observed.switch_profiles);
    judge_fabric_with(intent, observed, &port_maps, flaps, thresholds, now)
}

/// [`judge_fabric`] with port maps the caller keeps.
pub fn judge_fabric_with(
    intent: &FabricIntent,
    observed: Observed<'_>,
    port_maps: &PortMaps,
    flaps: &FlapHistory,
    thresholds: &Thresholds,
    now: i64,
) -> Vec<SwitchHealth> {
    let mut fresh = JudgeCache::default();
    judge_fabric_cached(
        intent, observed, port_maps, flaps, thresholds, now, 0, &mut fresh,
    )
}

/// What a switch's judgement read besides the fabric-wide inputs (intent, port maps,
/// thresholds): its report's version, its config state, its flap count.
#[derive(Debug, Clone, PartialEq)]
struct SwitchInputs {
    report: Option<String>,
    state: super::SwitchState,
    flaps: usize,
}

/// The last judgement of each switch with what it read, so a fabric whose agents report one
/// at a time re-judges only the switches whose report changed. Valid for one `epoch` of the
/// fabric-wide inputs: the caller bumps it when the intent, the SwitchProfiles or the
/// thresholds change.
#[derive(Debug, Default)]
pub struct JudgeCache {
    epoch: u64,
    switches: HashMap<String, (SwitchInputs, SwitchHealth)>,
}

/// Every switch and gateway Git names or the cluster reports, judged, sorted by name —
/// re-judging only the switches whose inputs changed since `cache` last saw them (a stale
/// switch is always re-judged: its reason names the heartbeat's age). An empty cache judges
/// every node.
#[allow(clippy::too_many_arguments)]
pub fn judge_fabric_cached(
    intent: &FabricIntent,
    observed: Observed<'_>,
    port_maps: &PortMaps,
    flaps: &FlapHistory,
    thresholds: &Thresholds,
    now: i64,
    epoch: u64,
    cache: &mut JudgeCache,
) -> Vec<SwitchHealth> {
    if cache.epoch != epoch {
        cache.epoch = epoch;
        cache.switches.clear();
    }
    let context = Context {
        intent,
        port_maps,
        flaps,
        thresholds,
        now,
    };
    let agents: BTreeMap<&str, &Value> = named(observed.agents);
    let gateway_agents: BTreeMap<&str, &Value> = named(observed.gateway_agents);
    let mut judged = Vec::new();
    let switches: std::collections::BTreeSet<&str> = intent
        .switches
        .keys()
        .map(String::as_str)
        .chain(agents.keys().copied())
        .collect();
    for name in &switches {
        let agent = agents.get(name).copied();
        let fresh =
            agent.map(|agent| super::classify_agent(agent, now, thresholds.stale_after_secs));
        let inputs = SwitchInputs {
            report: agent
                .and_then(|a| a.pointer("/metadata/resourceVersion"))
                .and_then(Value::as_str)
                .map(str::to_string),
            state: fresh
                .as_ref()
                .map_or(super::SwitchState::Stale, |f| f.state),
            flaps: flaps.count(name),
        };
        let cached = cache
            .switches
            .get(*name)
            .filter(|(seen, _)| *seen == inputs && inputs.state != super::SwitchState::Stale);
        let health = match (cached, fresh) {
            (Some((_, health)), Some(fresh)) => SwitchHealth {
                heartbeat_age: fresh.heartbeat_age,
                ..health.clone()
            },
            _ => {
                let health = switch::judge(&context, name, intent.switches.get(*name), agent);
                cache
                    .switches
                    .insert(name.to_string(), (inputs, health.clone()));
                health
            }
        };
        judged.push(health);
    }
    cache
        .switches
        .retain(|name, _| switches.contains(name.as_str()));
    let gateways: std::collections::BTreeSet<&str> = intent
        .gateways
        .keys()
        .map(String::as_str)
        .chain(gateway_agents.keys().copied())
        .collect();
    for name in gateways {
        judged.push(gateway::judge(
            &context,
            name,
            intent.gateways.get(name),
            gateway_agents.get(name).copied(),
        ));
    }
    judged.sort_by(|a, b| (a.name.as_str(), a.kind).cmp(&(b.name.as_str(), b.kind)));
    judged
}

fn named<'a>(objects: &[&'a Value]) -> BTreeMap<&'a str, &'a Value> {
    objects
        .iter()
        .filter_map(|object| Some((object.pointer("/metadata/name")?.as_str()?, *object)))
        .collect()
}

/// What every node's judgement reads besides its own objects.
struct Context<'a> {
    intent: &'a FabricIntent,
    port_maps: &'a PortMaps,
    flaps: &'a FlapHistory,
    thresholds: &'a Thresholds,
    now: i64,
}

/// The reasons found for one node so far.
#[derive(Default)]
struct Findings {
    reasons: Vec<Reason>,
}

impl Findings {
    fn add(&mut self, level: Level, signal: Signal, subject: &str, message: String) {
        self.reasons.push(Reason {
            level,
            signal,
            subject: subject.to_string(),
            message,
        });
    }

    /// The worst level of the reasons about `subject` under any of `signals`.
    fn level_of(&self, signals: &[Signal], subject: &str) -> Level {
        self.reasons
            .iter()
            .filter(|reason| reason.subject == subject && signals.contains(&reason.signal))
            .map(|reason| reason.level)
            .max()
            .unwrap_or_default()
    }

    fn count(&self, signal: Signal) -> usize {
        self.reasons
            .iter()
            .filter(|reason| reason.signal == signal)
            .count()
    }

    /// Worst first, then by signal and subject; and the worst level.
    fn finish(mut self, health: &mut SwitchHealth) {
        self.reasons.sort_by(|a, b| {
            b.level
                .cmp(&a.level)
                .then(a.signal.cmp(&b.signal))
                .then_with(|| natural_cmp(&a.subject, &b.subject))
                .then_with(|| a.message.cmp(&b.message))
        });
        health.level = self
            .reasons
            .first()
            .map(|reason| reason.level)
            .unwrap_or_default();
        health.reasons = self.reasons;
    }
}

/// How long ago, for people: `45s`, `3m`, `2h`, `4d`.
fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}
