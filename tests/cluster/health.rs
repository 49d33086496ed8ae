//! Network health judged against the wiring in Git, against the real control plane: the
//! example fabric synced from a real Git repository, Agent and GatewayAgent statuses written
//! by an admin client in the real agents' shape (health-facts §1) — every port Git cables up
//! with the right LLDP neighbor, every BGP session Git expects established — and the engine's
//! verdicts, reasons and event-log lines, then `hhdash inspect` (the real binary) on the same
//! cluster.
//!
//! The statuses are built from `health::intent::derive` of the synced desired set, so they
//! follow Git's wiring (the SwitchProfile `vs` names the peers' ports for LLDP).

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hhdash::engine::{Command, EngineEvent};
use hhdash::health::intent::{FabricIntent, NodeIntent};
use hhdash::health::profile::PortMap;
use hhdash::health::{Level, Signal, SwitchHealth};
use hhdash::status::WatchState;
use hhdash::store::LogEntry;
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Map, Value, json};
use testenv::ControlPlane;

/// A temp dir with a Git repo of `examples/fabric` under `fabrics/demo`, and a config whose
/// fabric (named like the namespace) reads it and talks to `ns` of `plane`.
pub(crate) fn example_fabric(plane: &ControlPlane, ns: &str) -> (tempfile::TempDir, PathBuf) {
    let mut files = Vec::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fabric");
    common::read_tree(&examples, "fabrics/demo", &mut files);
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    common::git_fabric(plane, ns, ns, &refs, "fabrics/demo")
}

pub(crate) fn desired_intent(store: &hhdash::store::Store, fabric: &str) -> FabricIntent {
    let desired = store.desired(fabric).unwrap();
    hhdash::health::intent::derive(&hhdash::health::intent::decode_intent_kinds(&desired))
}

fn now_rfc3339(ago: i64) -> String {
    hhdash::time::format_rfc3339(hhdash::time::now() - ago)
}

/// A switch's status as its agent writes it when everything Git wires is up: each port up with
/// the neighbor Git puts there (a Hedgehog peer advertises its NOS port name), each expected
/// session established, each expected BFD peer up, counters moving.
fn healthy_switch_status(node: &NodeIntent, intent: &FabricIntent, ports: &PortMap) -> Value {
    let mut interfaces = Map::new();
    for (port, link) in &node.ports {
        let neighbor = if link.remote.device.is_empty() {
            Vec::new()
        } else if intent.switches.contains_key(&link.remote.device) {
            let port_id = ports
                .nos_name(&ports.normalize(&link.remote.port))
                .unwrap_or(&link.remote.port)
                .to_string();
            vec![
                json!({"sysName": link.remote.device, "sysDescr": "Hedgehog Fabric",
                        "portID": port_id}),
            ]
        } else {
            vec![json!({"sysName": link.remote.device, "portID": link.remote.port})]
        };
        interfaces.insert(
            ports.normalize(port),
            json!({"enabled": true, "admin": "up", "oper": "up", "speed": "25G",
                   "change": now_rfc3339(86_400),
                   "counters": {"inb": 123_456, "outb": 654_321, "ine": 0, "oute": 0},
                   "lldpNeighbors": neighbor}),
        );
    }
    let mut bgp: Map<String, Value> = Map::new();
    let mut bfd: Map<String, Value> = Map::new();
    for ((vrf, ip), session) in &node.bgp {
        let vrf_sessions = bgp.entry(vrf.clone()).or_insert_with(|| json!({}));
        vrf_sessions[ip] = json!({"state": "established", "enabled": true,
            "peerAS": session.remote_as.unwrap_or(0), "localAS": node.asn.unwrap_or(0),
            "lastEstab": now_rfc3339(3_600), "estabTrans": 1});
        if session.bfd {
            let peers = bfd.entry(vrf.clone()).or_insert_with(|| json!({}));
            peers[ip] = json!({"state": "up"});
        }
    }
    json!({"lastHeartbeat": now_rfc3339(0), "lastAppliedGen": 1, "lastAttemptGen": 1,
           "lastAppliedTime": now_rfc3339(600), "version": "v0.96.2",
           "state": {"interfaces": interfaces, "bgpNeighbors": bgp, "bfdPeers": bfd,
                     "nos": {"softwareVersion": "4.5.0"}}})
}

fn healthy_gateway_status(node: &NodeIntent) -> Value {
    let mut vrfs: Map<String, Value> = Map::new();
    for ((vrf, ip), session) in &node.bgp {
        let vrf = vrfs
            .entry(vrf.clone())
            .or_insert_with(|| json!({"neighbors": {}}));
        vrf["neighbors"][ip] = json!({"sessionState": "established", "enabled": true,
            "peerAS": session.remote_as.unwrap_or(0), "establishedTransitions": 1});
    }
    json!({"lastHeartbeat": now_rfc3339(0), "lastAppliedGen": 1, "agentVersion": "v0.3.0",
           "lastAppliedTime": now_rfc3339(600),
           "state": {"frr": {"lastAppliedGen": 1}, "bgp": {"vrfs": vrfs}}})
}

/// One cluster with the example fabric wired up: the SwitchProfile, an Agent per Switch and a
/// GatewayAgent per Gateway (the Agents' specs carry the secrets a real one does).
struct Fabric {
    plane: &'static ControlPlane,
    ns: String,
    temp: tempfile::TempDir,
    config: PathBuf,
    ports: PortMap,
}

const SECRET_HASH: &str = "$5$rounds=5000$SECRET-PASSWORD-HASH";
const SECRET_KEY: &str = "ssh-ed25519 AAAAC3SECRETSSHKEY admin@host";

impl Fabric {
    async fn new(ns: &str) -> Fabric {
        let plane = testenv::shared().await.expect("control plane");
        plane.grant(ns).await.unwrap();
        let (temp, config) = example_fabric(plane, ns);
        let profiles = common::admin_api(plane, "SwitchProfile", ns);
        let vs: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "SwitchProfile",
            "metadata": {"name": "vs", "namespace": ns}, "spec": testenv::sim::switch_profile_spec()}))
        .unwrap();
        profiles.create(&PostParams::default(), &vs).await.unwrap();
        let ports =
            PortMap::new(&testenv::sim::switch_profile_spec(), &Default::default()).unwrap();
        Fabric {
            plane,
            ns: ns.to_string(),
            temp,
            config,
            ports,
        }
    }

    fn dir(&self) -> &Path {
        self.temp.path()
    }

    /// Creates an Agent per Switch and a GatewayAgent per Gateway of the synced desired set,
    /// as the controller does, each with a first (empty) status.
    async fn create_agents(&self, store: &hhdash::store::Store) {
        for desired in store.desired(&self.ns).unwrap() {
            match desired.key.kind.as_str() {
                "Switch" => self.write_agent(&desired.key.name, json!({})).await,
                "Gateway" => {
                    let gateways = common::admin_api(self.plane, "GatewayAgent", &self.ns);
                    let object: DynamicObject = serde_json::from_value(json!({
                        "apiVersion": "gwint.githedgehog.com/v1alpha1", "kind": "GatewayAgent",
                        "metadata": {"name": desired.key.name, "namespace": self.ns},
                        "spec": {"agentVersion": "v0.3.0"}}))
                    .unwrap();
                    gateways
                        .create(&PostParams::default(), &object)
                        .await
                        .unwrap();
                }
                _ => {}
            }
        }
    }

    /// Writes every Agent and GatewayAgent a healthy status.
    async fn report_healthy(&self, intent: &FabricIntent) {
        for (name, node) in &intent.switches {
            self.write_agent(name, healthy_switch_status(node, intent, &self.ports))
                .await;
        }
        for (name, node) in &intent.gateways {
            let gateways = common::admin_api(self.plane, "GatewayAgent", &self.ns);
            let status = json!({"status": healthy_gateway_status(node)});
            gateways
                .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
                .await
                .unwrap();
        }
    }

    /// Replaces the status of Agent `name` (created first, with secrets in its spec).
    async fn write_agent(&self, name: &str, status: Value) {
        let agents = common::admin_api(self.plane, "Agent", &self.ns);
        if agents.get_opt(name).await.unwrap().is_none() {
            let object: DynamicObject = serde_json::from_value(json!({
                "apiVersion": "agent.githedgehog.com/v1beta1", "kind": "Agent",
                "metadata": {"name": name, "namespace": self.ns},
                "spec": {"role": "server-leaf", "description": name,
                         "users": [{"name": "admin", "role": "admin",
                                    "password": SECRET_HASH, "sshKeys": [SECRET_KEY]}]}}))
            .unwrap();
            agents
                .create(&PostParams::default(), &object)
                .await
                .unwrap();
        }
        // A whole-status rewrite, as the agent does: a merge would keep removed keys.
        let mut object = agents.get_status(name).await.unwrap();
        let mut status = status;
        // The CRD requires it; the agent writes an empty list.
        status["conditions"] = json!([]);
        object.data["status"] = status;
        agents
            .replace_status(name, &PostParams::default(), &object)
            .await
            .unwrap();
    }

    fn inspect(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let mut all = vec!["inspect", self.ns.as_str()];
        all.extend_from_slice(args);
        let out = common::hhdash(self.dir(), &self.config, &all);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            common::output_text(&out),
        )
    }
}

/// Engine events until one satisfies `want`; every event seen is kept in `seen`.
pub(crate) async fn until(
    rx: &mut tokio::sync::mpsc::Receiver<EngineEvent>,
    secs: u64,
    what: &str,
    seen: &mut Vec<EngineEvent>,
    mut want: impl FnMut(&EngineEvent) -> bool,
) -> EngineEvent {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(event)) => {
                seen.push(event.clone());
                if want(&event) {
                    return event;
                }
            }
            _ => {
                let health: Vec<&EngineEvent> = seen
                    .iter()
                    .rev()
                    .filter(|e| matches!(e, EngineEvent::Health { .. }))
                    .take(1)
                    .collect();
                panic!("no {what} within {secs}s; last health: {health:#?}")
            }
        }
    }
}

pub(crate) fn nodes(event: &EngineEvent) -> &[SwitchHealth] {
    match event {
        EngineEvent::Health { switches, .. } => switches,
        _ => &[],
    }
}

pub(crate) fn node<'a>(event: &'a EngineEvent, name: &str) -> Option<&'a SwitchHealth> {
    nodes(event).iter().find(|n| n.name == name)
}

pub(crate) fn all_healthy(event: &EngineEvent, intent: &FabricIntent) -> bool {
    let nodes = nodes(event);
    nodes.len() == intent.switches.len() + intent.gateways.len()
        && !nodes.is_empty()
        && nodes.iter().all(|n| n.level == Level::Healthy)
}

/// The log lines about `object` (`Agent/leaf-1`) among `seen`.
pub(crate) fn lines_about<'a>(seen: &'a [EngineEvent], object: &str) -> Vec<&'a LogEntry> {
    seen.iter()
        .filter_map(|event| match event {
            EngineEvent::Log { entry, .. } if entry.object.as_deref() == Some(object) => {
                Some(entry)
            }
            _ => None,
        })
        .collect()
}

/// `(name, level, reasons)` of each node, by name: what must agree between the engine's
/// Health event and `inspect --json`.
fn verdicts(nodes: &[SwitchHealth]) -> Vec<(String, Level, Vec<String>)> {
    let mut verdicts: Vec<_> = nodes
        .iter()
        .map(|n| {
            let reasons = n.reasons.iter().map(|r| r.message.clone()).collect();
            (n.name.clone(), n.level, reasons)
        })
        .collect();
    verdicts.sort();
    verdicts
}

fn parse_inspect(stdout: &str) -> Vec<SwitchHealth> {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("inspect --json: {e}:\n{stdout}"))
}

/// (a) healthy → Healthy; (b) a BGP session idle with a reset reason → exactly that reason
/// and one line, cleared with one line, no line for an identical heartbeat; (d) `inspect`
/// agrees with the engine and exits 0 / 1 / 2, and never prints an Agent's secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bgp_session_down_is_one_reason_and_one_line_until_it_clears_and_inspect_agrees() {
    let fabric = Fabric::new("health-bgp").await;
    let out = common::hhdash(fabric.dir(), &fabric.config, &["sync"]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    let mut engine = common::start_synced_engine(fabric.dir(), &fabric.config);
    let mut seen = Vec::new();
    until(&mut engine.events, 30, "watch Active", &mut seen, |e| {
        matches!(e, EngineEvent::Status { status, .. } if status.watch.state == WatchState::Active)
    })
    .await;
    fabric.create_agents(&engine.store).await;
    let intent = desired_intent(&engine.store, &fabric.ns);
    assert!(
        intent.switches.contains_key("leaf-1") && intent.gateways.contains_key("gateway-1"),
        "the example's wiring: {intent:#?}"
    );

    // (a) Everything Git wires is up: every switch and the gateway are Healthy.
    fabric.report_healthy(&intent).await;
    let healthy = until(
        &mut engine.events,
        30,
        "all nodes Healthy",
        &mut seen,
        |e| all_healthy(e, &intent),
    )
    .await;
    let (code, stdout, text) = fabric.inspect(&["--json"]);
    assert_eq!(code, Some(0), "healthy fabric: {text}");
    assert_eq!(verdicts(&parse_inspect(&stdout)), verdicts(nodes(&healthy)));
    for secret in [SECRET_HASH, "SECRETSSHKEY", "SECRET-PASSWORD"] {
        assert!(
            !text.contains(secret),
            "an Agent's secret in inspect: {text}"
        );
    }

    // (b) leaf-1's session to spine-1's link IP goes idle with a reset reason.
    let leaf = &intent.switches["leaf-1"];
    let (vrf, ip) = leaf
        .bgp
        .iter()
        .find(|(_, s)| s.remote == "spine-1" && s.local_port.is_some())
        .map(|(key, _)| key.clone())
        .expect("leaf-1 peers with spine-1 over their fabric link");
    let mut down = healthy_switch_status(leaf, &intent, &fabric.ports);
    let session = &mut down["state"]["bgpNeighbors"][&vrf][&ip];
    session["state"] = json!("idle");
    session["lastResetReason"] = json!("Hold Timer Expired");
    session["lastReset"] = json!(now_rfc3339(5));
    let log_start = seen.len();
    fabric.write_agent("leaf-1", down).await;
    let event = until(&mut engine.events, 30, "leaf-1 Unhealthy", &mut seen, |e| {
        node(e, "leaf-1").is_some_and(|n| n.level == Level::Unhealthy)
    })
    .await;
    let leaf_health = node(&event, "leaf-1").unwrap();
    assert_eq!(leaf_health.reasons.len(), 1, "{:#?}", leaf_health.reasons);
    let reason = &leaf_health.reasons[0];
    assert_eq!(
        (reason.level, reason.signal),
        (Level::Unhealthy, Signal::Bgp)
    );
    assert!(reason.subject.contains(&ip), "{reason:?}");
    assert!(reason.message.contains("Hold Timer Expired"), "{reason:?}");
    assert!(
        nodes(&event)
            .iter()
            .filter(|n| n.name != "leaf-1")
            .all(|n| n.level == Level::Healthy),
        "only leaf-1 is affected: {:#?}",
        verdicts(nodes(&event))
    );
    // Its one log line (written before the Health event goes out).
    let lines = lines_about(&seen[log_start..], "Agent/leaf-1");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0].message, reason.message);

    // (d) inspect sees the same, and exits 1; one switch in detail; an unknown one is an error.
    let (code, stdout, text) = fabric.inspect(&["--json"]);
    assert_eq!(code, Some(1), "unhealthy: {text}");
    assert_eq!(verdicts(&parse_inspect(&stdout)), verdicts(nodes(&event)));
    let (code, _, text) = fabric.inspect(&["leaf-1"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("Hold Timer Expired"), "{text}");
    assert!(text.contains(&ip), "{text}");
    let (code, _, text) = fabric.inspect(&["spine-1"]);
    assert_eq!(code, Some(0), "spine-1 alone is healthy: {text}");
    let (code, _, text) = fabric.inspect(&["leaf-99"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("fabric health-bgp") && text.contains("leaf-99"),
        "{text}"
    );

    // Back to established: one line that it cleared.
    let cleared_start = seen.len();
    fabric
        .write_agent(
            "leaf-1",
            healthy_switch_status(leaf, &intent, &fabric.ports),
        )
        .await;
    until(
        &mut engine.events,
        30,
        "leaf-1 Healthy again",
        &mut seen,
        |e| node(e, "leaf-1").is_some_and(|n| n.level == Level::Healthy),
    )
    .await;
    let lines = lines_about(&seen[cleared_start..], "Agent/leaf-1");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].message.starts_with("cleared"), "{lines:#?}");

    // The next heartbeat, identical but for its time: no line. leaf-2's session dropping
    // afterwards is the marker that leaf-1's heartbeat went through the engine before it.
    let quiet_start = seen.len();
    fabric
        .write_agent(
            "leaf-1",
            healthy_switch_status(leaf, &intent, &fabric.ports),
        )
        .await;
    let leaf2 = &intent.switches["leaf-2"];
    let mut marker = healthy_switch_status(leaf2, &intent, &fabric.ports);
    let (vrf2, ip2) = leaf2
        .bgp
        .keys()
        .next()
        .cloned()
        .expect("leaf-2 has sessions");
    marker["state"]["bgpNeighbors"][&vrf2][&ip2]["state"] = json!("active");
    fabric.write_agent("leaf-2", marker).await;
    until(&mut engine.events, 30, "leaf-2's line", &mut seen, |e| {
        matches!(e, EngineEvent::Log { entry, .. }
            if entry.object.as_deref() == Some("Agent/leaf-2"))
    })
    .await;
    assert_eq!(
        lines_about(&seen[quiet_start..], "Agent/leaf-1"),
        Vec::<&LogEntry>::new(),
        "a heartbeat with nothing new adds no line"
    );
    // And the event log in the store holds the same two leaf-1 lines from the session's drop
    // on (before it: the Agents' first, empty reports and their recovery).
    let stored: Vec<LogEntry> = engine
        .store
        .log(&fabric.ns, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.object.as_deref() == Some("Agent/leaf-1"))
        .collect();
    let dropped = stored
        .iter()
        .rposition(|e| {
            e.message.contains("Hold Timer Expired") && !e.message.starts_with("cleared")
        })
        .unwrap_or_else(|| panic!("the drop is in the stored log: {stored:#?}"));
    assert_eq!(stored.len() - dropped, 2, "{stored:#?}");
    assert!(
        stored[dropped + 1].message.starts_with("cleared"),
        "{stored:#?}"
    );
    engine.commands.send(Command::Shutdown).await.unwrap();
}

/// (c) A Connection added in Git but not cabled: after a sync, its switch port is expected
/// but not reported — Unhealthy for that port — while nothing else changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_added_in_git_but_not_cabled_shows_its_port_expected_but_down() {
    let fabric = Fabric::new("health-wiring").await;
    let mut engine = common::start_synced_engine(fabric.dir(), &fabric.config);
    let mut seen = Vec::new();
    until(&mut engine.events, 30, "watch Active", &mut seen, |e| {
        matches!(e, EngineEvent::Status { status, .. } if status.watch.state == WatchState::Active)
    })
    .await;
    fabric.create_agents(&engine.store).await;
    let intent = desired_intent(&engine.store, &fabric.ns);
    fabric.report_healthy(&intent).await;
    until(
        &mut engine.events,
        30,
        "all nodes Healthy",
        &mut seen,
        |e| all_healthy(e, &intent),
    )
    .await;

    // A new server link on leaf-2's E1/20 in Git; the switch still reports what it had.
    let connection = "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Connection\nmetadata:\n  name: server-8--unbundled--leaf-2-extra\nspec:\n  unbundled:\n    link:\n      server:\n        port: server-8/enp2s2\n      switch:\n        port: leaf-2/E1/20\n";
    common::commit_files(
        &fabric.dir().join("repo"),
        &[(
            "fabrics/demo/connections/server-8--unbundled--leaf-2-extra.yaml",
            connection.as_bytes(),
        )],
        "cable leaf-2/E1/20 in Git",
    );
    engine.commands.send(Command::Sync).await.unwrap();
    let event = until(&mut engine.events, 60, "leaf-2 Unhealthy", &mut seen, |e| {
        node(e, "leaf-2").is_some_and(|n| n.level == Level::Unhealthy)
    })
    .await;
    let leaf2 = node(&event, "leaf-2").unwrap();
    let port_reasons: Vec<_> = leaf2
        .reasons
        .iter()
        .filter(|r| r.subject == "E1/20")
        .collect();
    assert!(
        !port_reasons.is_empty()
            && port_reasons
                .iter()
                .any(|r| r.signal == Signal::Port && r.level == Level::Unhealthy),
        "E1/20 expected but not reported: {:#?}",
        leaf2.reasons
    );
    assert!(
        leaf2.reasons.iter().all(|r| r.subject == "E1/20"),
        "only the new port: {:#?}",
        leaf2.reasons
    );
    let row = leaf2
        .detail
        .ports
        .iter()
        .find(|p| p.port == "E1/20")
        .expect("the detail lists the port Git expects");
    assert_eq!(
        row.connection.as_deref(),
        Some("server-8--unbundled--leaf-2-extra")
    );
    assert_eq!(
        row.expected.as_ref().map(|n| n.device.as_str()),
        Some("server-8")
    );
    assert!(row.actual.is_empty(), "{row:?}");
    let lines = lines_about(&seen, "Agent/leaf-2");
    assert!(
        lines.iter().any(|l| l.message.contains("E1/20")),
        "{lines:#?}"
    );
    engine.commands.send(Command::Shutdown).await.unwrap();
}
