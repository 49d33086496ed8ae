//! sim: a fabric simulator that plays the Hedgehog controller and the switch agents against a
//! control plane, so hhdash has live switch health to show without switches.
//!
//! For every Switch in its namespace it keeps an Agent of the same name, whose spec is what the
//! controller would render for that switch (see [`agent_spec`]): the Switch plus its
//! connections, the VPCs attached through them, their peerings and namespaces. When any of that
//! changes, the Agent's spec changes and the API server bumps `metadata.generation`. Each agent
//! heartbeats (`status.lastHeartbeat`), picks a new generation up at its next heartbeat
//! (`lastAttemptGen`) and applies it after a delay (`lastAppliedGen`), the fields hhdash's
//! health model reads. Every heartbeat also writes the whole `status.state` a healthy switch
//! wired as the namespace says would report (ports, LLDP, optics, BGP, BFD, platform,
//! resources; [`status`]), and the simulator creates the SwitchProfile `vs` the switches name.
//! On a schedule it injects faults: a switch stops heartbeating for a while
//! (Stale), a switch attempts a generation but does not apply it for a while (Stuck), a health
//! fault bends one switch's status ([`HealthFault`], also injected by hand), and, when
//! asked, someone edits a VPC or Server out of band with field manager [`DRIFT_MANAGER`] (drift).
//!
//! It plays the gateway too: for every Gateway (`gateway.githedgehog.com`) it keeps a
//! GatewayAgent (`gwint.githedgehog.com`) of the same name whose spec is the Gateway's, and
//! heartbeats its status as the gateway dataplane does: `lastHeartbeat`, `lastAppliedGen` (the
//! current generation), `agentVersion`, `state.frr.lastAppliedGen` and, for each of the
//! Gateway's `spec.neighbors`, a BGP session `established` in VRF `default`. Without the gateway
//! CRDs installed it simply has no gateways to play.
//!
//! Every random decision comes from a [`Director`] seeded by [`SimConfig::seed`]; timing decides
//! only *when* a question is asked. The simulator never reads a kubeconfig: the caller hands it
//! a [`kube::Client`]. It needs write access to Agents and GatewayAgents (status included) and,
//! for drift, to VPCs and Servers: the controller's rights, i.e. [`Identity::Admin`](crate::Identity::Admin) in
//! testenv.

mod config;
mod director;
mod event;
mod faults;
mod gateway;
mod render;
mod status;
mod wiring;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use tokio::time::Instant;

pub use config::SimConfig;
pub use director::{Director, DriftEdit, SplitMix64};
pub use event::{Action, SimEvent, Summary, rfc3339};
pub use faults::{FaultControl, HealthFault, InjectedFault};
pub use render::{Snapshot, agent_spec};
pub use status::{LLDP_DESCRIPTION, VIRTUAL_PROFILE, nos_name, switch_profile_spec};

use gateway::GatewayState;

/// The field manager of the simulated controller (Agent specs) and agents (Agent status).
pub const AGENT_MANAGER: &str = "fabric-sim";
/// The field manager of out-of-band edits, so drift shows who made it.
pub const DRIFT_MANAGER: &str = "sim-drift";

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The first look at the namespace failed: wrong server, token, CA or missing CRDs.
    /// Later failures are logged and retried instead.
    #[error("fabric-sim: cannot {what} in namespace {namespace}: {source}")]
    Start {
        what: String,
        namespace: String,
        #[source]
        source: kube::Error,
    },
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The kinds the controller renders Agents from (group, kind, plural).
const INPUTS: [(&str, &str, &str); 8] = [
    ("wiring.githedgehog.com", "Switch", "switches"),
    ("wiring.githedgehog.com", "Connection", "connections"),
    ("wiring.githedgehog.com", "Server", "servers"),
    ("vpc.githedgehog.com", "VPC", "vpcs"),
    ("vpc.githedgehog.com", "VPCAttachment", "vpcattachments"),
    ("vpc.githedgehog.com", "VPCPeering", "vpcpeerings"),
    ("wiring.githedgehog.com", "VLANNamespace", "vlannamespaces"),
    ("vpc.githedgehog.com", "IPv4Namespace", "ipv4namespaces"),
];

fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1beta1", kind), plural)
}

/// One simulated switch agent.
#[derive(Debug)]
struct AgentState {
    /// The Agent's `metadata.generation` as last seen.
    generation: i64,
    attempted: i64,
    attempted_at: i64,
    applied: i64,
    applied_at: i64,
    next_heartbeat: Instant,
    last_heartbeat: i64,
    /// When the attempted generation gets applied, and whether that wait is a lag fault.
    apply_at: Option<(Instant, bool)>,
    silent_until: Option<Instant>,
    boots: u64,
    /// When this boot came up (its ports and sessions with it), Unix seconds.
    up_since: i64,
}

/// The simulator: its state between ticks. [`Simulator::step`] does one tick;
/// [`Simulator::run`] ticks until told to stop.
pub struct Simulator {
    config: SimConfig,
    client: kube::Client,
    director: Director,
    agents: BTreeMap<String, AgentState>,
    /// The spec last rendered per Agent, so unchanged specs are not sent again.
    rendered: BTreeMap<String, Value>,
    gateways: BTreeMap<String, GatewayState>,
    /// The spec last rendered per GatewayAgent.
    gateway_rendered: BTreeMap<String, Value>,
    /// Each Gateway's `spec.asn`, the peer AS of the switches' gateway sessions.
    gateway_asns: BTreeMap<String, u64>,
    faults: FaultControl,
    /// SwitchProfiles made (or found) already.
    profiles: BTreeSet<String>,
    started: Instant,
    next_stale: Option<Instant>,
    next_drift: Option<Instant>,
    next_fault: Option<Instant>,
    next_status: Instant,
    last_error: Option<String>,
    summary: Summary,
}

impl Simulator {
    pub fn new(client: kube::Client, config: SimConfig) -> Self {
        let now = Instant::now();
        let after = |every: Duration| (!every.is_zero()).then(|| now + every);
        Simulator {
            director: Director::new(config.seed),
            next_stale: after(config.stale_every),
            next_drift: after(config.drift_every),
            next_fault: after(config.fault_every),
            faults: FaultControl::new(config.seed),
            next_status: now + Duration::from_secs(60),
            config,
            client,
            agents: BTreeMap::new(),
            rendered: BTreeMap::new(),
            gateways: BTreeMap::new(),
            gateway_rendered: BTreeMap::new(),
            gateway_asns: BTreeMap::new(),
            profiles: BTreeSet::new(),
            started: now,
            last_error: None,
            summary: Summary::new(),
        }
    }

    fn api(&self, group: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            &self.config.namespace,
            &resource(group, kind, plural),
        )
    }

    fn agents_api(&self) -> Api<DynamicObject> {
        self.api("agent.githedgehog.com", "Agent", "agents")
    }

    /// The first tick, failing instead of logging: if the namespace cannot be read or the
    /// Agents cannot be written now, the configuration is wrong and retrying will not help.
    pub async fn start(
        &mut self,
        emit: &mut (dyn FnMut(&SimEvent) + Send),
    ) -> Result<(), SimError> {
        self.try_step(emit)
            .await
            .map_err(|(what, source)| SimError::Start {
                what,
                namespace: self.config.namespace.clone(),
                source,
            })
    }

    /// One tick. A failed API call is reported as an [`Action::Error`] event (once per
    /// distinct message) and the next tick tries again: the API server may be restarting.
    pub async fn step(&mut self, emit: &mut (dyn FnMut(&SimEvent) + Send)) {
        match self.try_step(emit).await {
            Ok(()) => self.last_error = None,
            Err((what, error)) => {
                let message = format!("cannot {what}: {error}");
                if self.last_error.as_ref() != Some(&message) {
                    self.emit(emit, Action::Error, String::new(), message.clone());
                    self.last_error = Some(message);
                }
            }
        }
    }

    /// Ticks until `shutdown` completes or [`SimConfig::duration`] passes; returns what it did.
    /// Call [`start`](Self::start) first to fail fast on a wrong configuration.
    pub async fn run(
        mut self,
        emit: &mut (dyn FnMut(&SimEvent) + Send),
        shutdown: impl Future<Output = ()>,
    ) -> Summary {
        let mut ticks = tokio::time::interval(self.config.tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let deadline =
            (!self.config.duration.is_zero()).then(|| self.started + self.config.duration);
        tokio::pin!(shutdown);
        loop {
            let until_deadline = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut shutdown => break,
                _ = until_deadline => break,
                _ = ticks.tick() => self.step(emit).await,
            }
        }
        self.summary
    }

    fn emit(
        &mut self,
        emit: &mut (dyn FnMut(&SimEvent) + Send),
        action: Action,
        object: String,
        message: String,
    ) {
        *self.summary.entry(action).or_default() += 1;
        if action == Action::Heartbeat && !self.config.verbose {
            return;
        }
        emit(&SimEvent {
            time: unix_now(),
            action,
            object,
            message,
        });
    }

    async fn snapshot(&self) -> Result<Snapshot, (String, kube::Error)> {
        let mut lists = Vec::with_capacity(INPUTS.len());
        for (group, kind, plural) in INPUTS {
            let list = self
                .api(group, kind, plural)
                .list(&ListParams::default())
                .await
                .map_err(|e| (format!("list {plural}.{group}"), e))?;
            let mut objects: Vec<Value> = list
                .items
                .into_iter()
                .filter_map(|o| serde_json::to_value(o).ok())
                .collect();
            objects.sort_by(|a, b| render::name(a).cmp(render::name(b)));
            lists.push(objects);
        }
        let mut lists = lists.into_iter();
        let mut next = || lists.next().unwrap_or_default();
        Ok(Snapshot {
            switches: next(),
            connections: next(),
            servers: next(),
            vpcs: next(),
            attachments: next(),
            peerings: next(),
            vlan_namespaces: next(),
            ipv4_namespaces: next(),
        })
    }

    async fn try_step(
        &mut self,
        emit: &mut (dyn FnMut(&SimEvent) + Send),
    ) -> Result<(), (String, kube::Error)> {
        let snapshot = self.snapshot().await?;
        self.follow_switches(&snapshot, emit).await?;
        self.ensure_profiles(&snapshot, emit).await?;
        let now = Instant::now();
        // Gateways first: the switches' gateway sessions need their ASNs.
        self.follow_gateways(now, emit).await?;
        let wiring = status::wiring(&snapshot, &self.gateway_asns);
        self.faults.book().set_wiring(wiring);
        self.schedule_faults(now, emit);
        self.inject_stale(now, emit);
        self.run_agents(now, emit).await?;
        self.inject_drift(now, &snapshot, emit).await?;
        if now >= self.next_status {
            self.next_status = now + Duration::from_secs(60);
            let message = self.status_line(now);
            self.emit(emit, Action::Status, String::new(), message);
        }
        Ok(())
    }

    /// The controller's part: one Agent per Switch, with the spec rendered from the namespace;
    /// Agents whose Switch is gone are deleted.
    async fn follow_switches(
        &mut self,
        snapshot: &Snapshot,
        emit: &mut (dyn FnMut(&SimEvent) + Send),
    ) -> Result<(), (String, kube::Error)> {
        let api = self.agents_api();
        let live = agent_generations(&api, "agents.agent.githedgehog.com").await?;
        let wanted: BTreeSet<&str> = snapshot.switches.iter().map(render::name).collect();

        for switch in &snapshot.switches {
            let name = render::name(switch).to_string();
            let spec = agent_spec(switch, snapshot, &self.config.agent_version);
            let mut generation = live.get(&name).copied();
            if generation.is_none() || self.rendered.get(&name) != Some(&spec) {
                let agent = ("agent.githedgehog.com/v1beta1", "Agent");
                let new_generation =
                    apply_agent_spec(&api, agent, &self.config.namespace, &name, &spec).await?;
                match generation {
                    None => self.emit(
                        emit,
                        Action::Created,
                        format!("Agent/{name}"),
                        format!("for Switch {name} (generation {new_generation})"),
                    ),
                    Some(old) if old != new_generation => {
                        let changed = render::changed_fields(self.rendered.get(&name), &spec);
                        self.emit(
                            emit,
                            Action::Spec,
                            format!("Agent/{name}"),
                            format!("generation {old} -> {new_generation} ({changed} changed)"),
                        );
                    }
                    Some(_) => {}
                }
                generation = Some(new_generation);
                self.rendered.insert(name.clone(), spec);
            }
            let generation = generation.unwrap_or(1);
            let now = Instant::now();
            self.agents
                .entry(name)
                .and_modify(|agent| agent.generation = generation)
                // A switch the simulator meets boots with its current config applied.
                .or_insert_with(|| AgentState {
                    generation,
                    attempted: generation,
                    attempted_at: unix_now(),
                    applied: generation,
                    applied_at: unix_now(),
                    next_heartbeat: now,
                    last_heartbeat: 0,
                    apply_at: None,
                    silent_until: None,
                    boots: 1,
                    up_since: unix_now(),
                });
        }

        for name in live.keys().filter(|n| !wanted.contains(n.as_str())) {
            delete_agent(&api, "Agent", name).await?;
            self.emit(
                emit,
                Action::Deleted,
                format!("Agent/{name}"),
                "its Switch is gone".into(),
            );
        }
        self.agents.retain(|name, _| wanted.contains(name.as_str()));
        self.rendered
            .retain(|name, _| wanted.contains(name.as_str()));
        Ok(())
    }

    fn inject_stale(&mut self, now: Instant, emit: &mut (dyn FnMut(&SimEvent) + Send)) {
        let Some(due) = self.next_stale.filter(|due| now >= *due) else {
            return;
        };
        self.next_stale = Some(due + self.config.stale_every);
        let candidates: Vec<&str> = self
            .agents
            .iter()
            .filter(|(_, a)| a.silent_until.is_none())
            .map(|(name, _)| name.as_str())
            .collect();
        let Some(victim) = self.director.pick_stale(&candidates).map(String::from) else {
            return;
        };
        if let Some(agent) = self.agents.get_mut(&victim) {
            agent.silent_until = Some(now + self.config.stale_for);
        }
        let message = format!(
            "stops heartbeating for {}s (switch down)",
            self.config.stale_for.as_secs()
        );
        self.emit(emit, Action::Silent, format!("Agent/{victim}"), message);
    }

    /// The agents' part: heartbeats, picking generations up, applying them; one status write
    /// per agent that has something to report.
    async fn run_agents(
        &mut self,
        now: Instant,
        emit: &mut (dyn FnMut(&SimEvent) + Send),
    ) -> Result<(), (String, kube::Error)> {
        let api = self.agents_api();
        let names: Vec<String> = self.agents.keys().cloned().collect();
        for name in names {
            let mut events = Vec::new();
            let Some(agent) = self.agents.get_mut(&name) else {
                continue;
            };
            if let Some(until) = agent.silent_until {
                if now < until {
                    continue;
                }
                agent.silent_until = None;
                agent.boots += 1;
                agent.up_since = unix_now();
                agent.next_heartbeat = now;
                events.push((
                    Action::Back,
                    "heartbeating again after a reboot".to_string(),
                ));
            }
            let wall = unix_now();
            let heartbeat = now >= agent.next_heartbeat;
            let mut changed = heartbeat;
            if heartbeat {
                agent.next_heartbeat = now + self.config.heartbeat;
                agent.last_heartbeat = wall;
                events.push((Action::Heartbeat, String::new()));
                if agent.generation > agent.attempted {
                    agent.attempted = agent.generation;
                    agent.attempted_at = wall;
                    // A switch already lagging keeps holding until its lag ends.
                    let lagging = match agent.apply_at {
                        Some((at, true)) if at > now => Some(at),
                        _ if self.director.lags(self.config.lag_probability) => {
                            Some(now + self.config.lag_for)
                        }
                        _ => None,
                    };
                    events.push((Action::Attempt, format!("generation {}", agent.generation)));
                    agent.apply_at = Some(match lagging {
                        Some(at) => {
                            events.push((
                                Action::Lagging,
                                format!(
                                    "holds generation {} unapplied for {}s",
                                    agent.generation,
                                    at.saturating_duration_since(now).as_secs()
                                ),
                            ));
                            (at, true)
                        }
                        None => (now + self.config.apply_delay, false),
                    });
                }
            }
            if let Some((at, _)) = agent.apply_at
                && now >= at
            {
                agent.apply_at = None;
                agent.applied = agent.attempted;
                agent.applied_at = wall;
                changed = true;
                events.push((Action::Applied, format!("generation {}", agent.applied)));
            }
            if !changed {
                continue;
            }
            let status = self.agent_status(&name);
            // Deleted between the list and now: the next tick forgets it.
            if !apply_agent_status(&api, "Agent", &name, &status).await? {
                continue;
            }
            for (action, message) in events {
                self.emit(emit, action, format!("Agent/{name}"), message);
            }
        }
        Ok(())
    }

    async fn inject_drift(
        &mut self,
        now: Instant,
        snapshot: &Snapshot,
        emit: &mut (dyn FnMut(&SimEvent) + Send),
    ) -> Result<(), (String, kube::Error)> {
        let Some(due) = self.next_drift.filter(|due| now >= *due) else {
            return Ok(());
        };
        self.next_drift = Some(due + self.config.drift_every);
        let Some(edit) = self.director.drift_edit(&snapshot.vpcs, &snapshot.servers) else {
            return Ok(());
        };
        let (group, plural) = match edit.kind {
            "VPC" => ("vpc.githedgehog.com", "vpcs"),
            _ => ("wiring.githedgehog.com", "servers"),
        };
        let params = PatchParams {
            field_manager: Some(DRIFT_MANAGER.into()),
            ..Default::default()
        };
        self.api(group, edit.kind, plural)
            .patch(&edit.name, &params, &Patch::Merge(&edit.patch))
            .await
            .map_err(|e| (format!("edit {} {}", edit.kind, edit.name), e))?;
        self.emit(
            emit,
            Action::Drift,
            format!("{}/{}", edit.kind, edit.name),
            format!("{} (field manager {DRIFT_MANAGER})", edit.summary),
        );
        Ok(())
    }

    fn status_line(&self, now: Instant) -> String {
        let silent: Vec<&str> = self
            .agents
            .iter()
            .filter(|(_, a)| a.silent_until.is_some_and(|until| until > now))
            .map(|(n, _)| n.as_str())
            .collect();
        let behind: Vec<&str> = self
            .agents
            .iter()
            .filter(|(_, a)| a.applied < a.generation)
            .map(|(n, _)| n.as_str())
            .collect();
        let list = |names: &[&str]| {
            if names.is_empty() {
                String::new()
            } else {
                format!(" ({})", names.join(", "))
            }
        };
        let gateways = if self.gateways.is_empty() {
            String::new()
        } else {
            format!("; {} gateway agents heartbeating", self.gateways.len())
        };
        let faults: Vec<String> = self
            .faults
            .active()
            .iter()
            .map(|f| format!("{} {} {}", f.switch, f.fault, f.target))
            .collect();
        let faults = format!(
            "; {} health faults{}",
            faults.len(),
            list(&faults.iter().map(String::as_str).collect::<Vec<_>>())
        );
        format!(
            "{} agents: {} heartbeating, {} silent{}, {} behind their generation{}{gateways}{faults}; {} heartbeats so far",
            self.agents.len(),
            self.agents.len() - silent.len(),
            silent.len(),
            list(&silent),
            behind.len(),
            list(&behind),
            self.summary.get(&Action::Heartbeat).copied().unwrap_or(0)
        )
    }
}

/// The controller's agent objects (Agent, GatewayAgent) that exist, by name, with their
/// generation.
async fn agent_generations(
    api: &Api<DynamicObject>,
    resource: &str,
) -> Result<BTreeMap<String, i64>, (String, kube::Error)> {
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| (format!("list {resource}"), e))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|a| Some((a.metadata.name?, a.metadata.generation.unwrap_or(1))))
        .collect())
}

/// Writes an agent object's spec as the controller does (server-side apply, forced); returns
/// the generation the server gave it. `agent` is (apiVersion, kind).
async fn apply_agent_spec(
    api: &Api<DynamicObject>,
    (api_version, kind): (&str, &str),
    namespace: &str,
    name: &str,
    spec: &Value,
) -> Result<i64, (String, kube::Error)> {
    let body = json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    });
    let applied = api
        .patch(
            name,
            &PatchParams::apply(AGENT_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|e| (format!("apply {kind} {name}"), e))?;
    Ok(applied.metadata.generation.unwrap_or(1))
}

/// Server-side applies an agent's whole status (so what it no longer reports leaves with it).
/// `Ok(false)`: the object was deleted meanwhile.
async fn apply_agent_status(
    api: &Api<DynamicObject>,
    kind: &str,
    name: &str,
    body: &Value,
) -> Result<bool, (String, kube::Error)> {
    match api
        .patch_status(
            name,
            &PatchParams::apply(AGENT_MANAGER).force(),
            &Patch::Apply(body),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(e) => Err((format!("update the status of {kind} {name}"), e)),
    }
}

/// Deletes an agent object whose switch or gateway is gone (already gone is fine).
async fn delete_agent(
    api: &Api<DynamicObject>,
    kind: &str,
    name: &str,
) -> Result<(), (String, kube::Error)> {
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err((format!("delete {kind} {name}"), e)),
    }
}
