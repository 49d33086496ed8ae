//! The fabric simulator against a real control plane, judged by hhdash's own health model
//! (`hhdash::health::classify_agent`): an Agent per Switch with fresh heartbeats (Ready), a
//! silent switch (Stale), a generation not yet picked up (Pending) or attempted but held
//! (Stuck), drift edits owned by field manager `sim-drift`, and seeded decisions that repeat.
//! Every test applies `examples/fabric` into its own namespace of the shared control plane.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hhdash::health::{SwitchState, classify_agent};
use hhdash::time::now;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use testenv::sim::{Action, DRIFT_MANAGER, Director, SimConfig, SimEvent, Simulator, Summary};
use testenv::{ControlPlane, Identity};
use tokio::sync::{mpsc, oneshot};

fn example_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            example_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

/// Every object of `examples/fabric`, sorted by file path.
fn example_objects() -> Vec<Value> {
    let mut files = Vec::new();
    example_files(
        &testenv::workspace_root().join("examples/fabric"),
        &mut files,
    );
    files.sort();
    files
        .iter()
        .flat_map(|f| testenv::read_yaml_docs(f).unwrap())
        .collect()
}

fn of_kind(objects: &[Value], kind: &str) -> Vec<Value> {
    objects
        .iter()
        .filter(|o| o["kind"] == kind)
        .cloned()
        .collect()
}

/// A fresh namespace holding the example fabric, applied as the admin in hhdash's apply order
/// (the admission webhook refuses an object before what it refers to).
async fn fabric_namespace(ns: &str) -> &'static ControlPlane {
    let plane = testenv::shared().await.expect("control plane");
    plane.grant(ns).await.expect("namespace");
    let client = plane.client(Identity::Admin);
    let mut objects = example_objects();
    objects.sort_by_key(|o| {
        hhdash::kinds::by_kind(o["kind"].as_str().unwrap()).and_then(|k| k.apply_rank)
    });
    for mut object in objects {
        object["metadata"]["namespace"] = json!(ns);
        let kind = object["kind"].as_str().unwrap().to_string();
        let name = object["metadata"]["name"].as_str().unwrap().to_string();
        common::api(&client, plane, &kind, ns)
            .patch(
                &name,
                &PatchParams::apply("sim-test").force(),
                &Patch::Apply(&object),
            )
            .await
            .unwrap_or_else(|e| panic!("applying {kind}/{name}: {e}"));
    }
    plane
}

/// Deletes a Switch the way a fabric allows it (the admission webhook refuses to delete what is
/// still referenced): the VPCAttachments on its Connections, the Connections, then the Switch.
async fn decommission_switch(plane: &ControlPlane, ns: &str, switch: &str) {
    let admin = plane.client(Identity::Admin);
    let connections = common::api(&admin, plane, "Connection", ns);
    let attachments = common::api(&admin, plane, "VPCAttachment", ns);
    let on_switch = ListParams::default().labels(&format!(
        "switch.{}{switch}=true",
        testenv::webhook::LABEL_DOMAIN
    ));
    for connection in connections.list(&on_switch).await.unwrap() {
        let name = connection.metadata.name.unwrap();
        let on_connection = ListParams::default().labels(&format!(
            "{}connection={name}",
            testenv::webhook::LABEL_DOMAIN
        ));
        for attachment in attachments.list(&on_connection).await.unwrap() {
            let attachment = attachment.metadata.name.unwrap();
            attachments
                .delete(&attachment, &DeleteParams::default())
                .await
                .unwrap_or_else(|e| panic!("deleting VPCAttachment {attachment}: {e}"));
        }
        connections
            .delete(&name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("deleting Connection {name}: {e}"));
    }
    common::api(&admin, plane, "Switch", ns)
        .delete(switch, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("deleting Switch {switch}: {e}"));
}

struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Summary>,
    events: mpsc::UnboundedReceiver<SimEvent>,
    seen: Vec<SimEvent>,
}

impl Running {
    /// Every event so far.
    fn drain(&mut self) -> &[SimEvent] {
        while let Ok(event) = self.events.try_recv() {
            self.seen.push(event);
        }
        &self.seen
    }

    async fn stop(self) -> Summary {
        let _ = self.stop.send(());
        self.task.await.expect("the simulator task")
    }
}

async fn start_sim(plane: &ControlPlane, config: SimConfig) -> Running {
    let (tx, events) = mpsc::unbounded_channel();
    let mut emit = move |event: &SimEvent| {
        let _ = tx.send(event.clone());
    };
    let mut sim = Simulator::new(plane.client(Identity::Admin), config);
    sim.start(&mut emit).await.expect("the first tick");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        sim.run(&mut emit, async {
            let _ = stopped.await;
        })
        .await
    });
    Running {
        stop,
        task,
        events,
        seen: Vec::new(),
    }
}

fn config(ns: &str) -> SimConfig {
    SimConfig {
        namespace: ns.into(),
        seed: 7,
        heartbeat: Duration::from_secs(1),
        apply_delay: Duration::from_secs(1),
        stale_every: Duration::ZERO,
        lag_probability: 0.0,
        drift_every: Duration::ZERO,
        ..SimConfig::default()
    }
}

async fn agents(plane: &ControlPlane, ns: &str) -> BTreeMap<String, Value> {
    let api = common::api(&plane.client(Identity::Admin), plane, "Agent", ns);
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|a| {
            let value = serde_json::to_value(&a).unwrap();
            (a.metadata.name.unwrap(), value)
        })
        .collect()
}

/// Each agent's state as hhdash classifies it, with `stale_after` seconds as the bound.
async fn states(plane: &ControlPlane, ns: &str, stale_after: i64) -> BTreeMap<String, SwitchState> {
    agents(plane, ns)
        .await
        .iter()
        .map(|(name, agent)| {
            (
                name.clone(),
                classify_agent(agent, now(), stale_after).state,
            )
        })
        .collect()
}

/// Polls `check` until it returns `Some`, failing after `secs` with the last thing it saw.
async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if Instant::now() > deadline => {
                panic!("{what} not within {secs}s; last: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(150)).await,
        }
    }
}

async fn all_ready(plane: &ControlPlane, ns: &str, count: usize) {
    eventually(30, "all agents Ready", || async {
        let states = states(plane, ns, 60).await;
        let ready = states
            .values()
            .filter(|s| **s == SwitchState::Ready)
            .count();
        if states.len() == count && ready == count {
            Ok(())
        } else {
            Err(format!("{states:?}"))
        }
    })
    .await
}

fn names<'a>(object: &'a Value, field: &str) -> Vec<&'a str> {
    object["spec"][field]
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_per_switch_with_fresh_heartbeats() {
    let ns = "sim-agents";
    let plane = fabric_namespace(ns).await;
    let mut sim = start_sim(plane, config(ns)).await;
    all_ready(plane, ns, 6).await;

    let agents_now = agents(plane, ns).await;
    let names_now: Vec<&str> = agents_now.keys().map(String::as_str).collect();
    assert_eq!(
        names_now,
        ["leaf-1", "leaf-2", "leaf-3", "leaf-4", "spine-1", "spine-2"]
    );
    let leaf = &agents_now["leaf-1"];
    assert_eq!(leaf["spec"]["role"], "server-leaf");
    assert_eq!(leaf["spec"]["switch"]["asn"], 65101);
    assert_eq!(leaf["spec"]["redundancyGroupPeers"], json!(["leaf-2"]));
    let connections = names(leaf, "connections");
    for expected in [
        "leaf-1--mclag-domain--leaf-2",
        "server-1--mclag--leaf-1--leaf-2",
        "server-3--unbundled--leaf-1",
        "spine-1--fabric--leaf-1",
        "spine-2--fabric--leaf-1",
    ] {
        assert!(
            connections.contains(&expected),
            "{expected} in {connections:?}"
        );
    }
    assert!(
        !connections.iter().any(|c| c.contains("leaf-3")),
        "{connections:?}"
    );
    assert_eq!(names(leaf, "vpcs"), ["mgmt", "web"]);
    assert_eq!(names(leaf, "vpcPeers"), ["web--db"]);
    let spine = &agents_now["spine-1"];
    assert_eq!(spine["spec"]["role"], "spine");
    assert_eq!(names(spine, "connections").len(), 4);
    assert!(names(spine, "vpcs").is_empty());
    let status = &leaf["status"];
    assert_eq!(status["version"], "v0.87.4-sim");
    assert_eq!(status["conditions"], json!([]));
    assert_eq!(status["lastAppliedGen"], leaf["metadata"]["generation"]);
    let health = classify_agent(leaf, now(), 60);
    assert!(health.heartbeat_age.unwrap() <= 5, "{health:?}");

    // Heartbeats keep coming.
    let first = status["lastHeartbeat"].as_str().unwrap().to_string();
    eventually(10, "a newer heartbeat", || async {
        let agent = agents(plane, ns).await.remove("leaf-1").unwrap();
        let beat = agent["status"]["lastHeartbeat"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if beat > first { Ok(()) } else { Err(beat) }
    })
    .await;

    // The controller follows the Switches: a removed Switch loses its Agent, a new one gets one.
    let admin = plane.client(Identity::Admin);
    let switches = common::api(&admin, plane, "Switch", ns);
    decommission_switch(plane, ns, "leaf-4").await;
    let mut leaf5 = of_kind(&example_objects(), "Switch")
        .into_iter()
        .find(|s| s["metadata"]["name"] == "leaf-4")
        .unwrap();
    leaf5["metadata"] = json!({"name": "leaf-5", "namespace": ns});
    switches
        .patch(
            "leaf-5",
            &PatchParams::apply("sim-test"),
            &Patch::Apply(&leaf5),
        )
        .await
        .unwrap();
    eventually(15, "Agent leaf-4 gone and leaf-5 Ready", || async {
        let states = states(plane, ns, 60).await;
        if !states.contains_key("leaf-4") && states.get("leaf-5") == Some(&SwitchState::Ready) {
            Ok(())
        } else {
            Err(format!("{states:?}"))
        }
    })
    .await;
    let events = sim.drain().to_vec();
    assert!(
        events
            .iter()
            .any(|e| e.action == Action::Deleted && e.object == "Agent/leaf-4")
    );
    assert!(
        events
            .iter()
            .any(|e| e.action == Action::Created && e.object == "Agent/leaf-5")
    );
    let summary = sim.stop().await;
    assert!(summary[&Action::Heartbeat] >= 6, "{summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_switch_is_stale_and_the_others_stay_ready() {
    let ns = "sim-stale";
    let plane = fabric_namespace(ns).await;
    let mut sim = start_sim(
        plane,
        SimConfig {
            stale_every: Duration::from_secs(6),
            stale_for: Duration::from_secs(600),
            ..config(ns)
        },
    )
    .await;
    all_ready(plane, ns, 6).await;
    // A 5 s bound instead of hhdash's 60 s keeps the test short. On a loaded machine a beating
    // switch may miss it for a moment, so every judgement comes from one listing taken at one
    // instant, retried until it shows the silent switch Stale and every beating one Ready.
    let (victim, agents) = eventually(30, "a silent switch Stale, the others Ready", || {
        let silent: Vec<String> = sim
            .drain()
            .iter()
            .filter(|e| e.action == Action::Silent)
            .map(|e| e.object.trim_start_matches("Agent/").to_string())
            .collect();
        async move {
            let first = silent.first().cloned().ok_or("no switch silent yet")?;
            let agents = agents(plane, ns).await;
            let at = now();
            let states: BTreeMap<&String, SwitchState> = agents
                .iter()
                .map(|(name, agent)| (name, classify_agent(agent, at, 5).state))
                .collect();
            let beating_ready = states
                .iter()
                .all(|(name, state)| silent.contains(name) || *state == SwitchState::Ready);
            if states.get(&first) == Some(&SwitchState::Stale) && beating_ready {
                // The same agent is still Ready by hhdash's real 60 s bound: silence has to last.
                let by_60 = classify_agent(&agents[&first], at, 60).state;
                Ok((first, (by_60, states.len())))
            } else {
                Err(format!("{first} silent of {silent:?}: {states:?}"))
            }
        }
    })
    .await;
    let (by_60, count) = agents;
    assert_eq!(count, 6, "every switch has its Agent");
    assert_eq!(by_60, SwitchState::Ready, "{victim} by the 60 s bound");
    sim.stop().await;
}

async fn change_vlan(plane: &ControlPlane, ns: &str, vpc: &str, subnet: &str, vlan: u16) {
    let vpcs = common::api(&plane.client(Identity::Admin), plane, "VPC", ns);
    let patch = json!({"spec": {"subnets": {subnet: {"vlan": vlan}}}});
    vpcs.patch(vpc, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_generation_is_pending_until_the_agent_picks_it_up() {
    let ns = "sim-pending";
    let plane = fabric_namespace(ns).await;
    // Agents pick generations up at their heartbeat: a 40 s period leaves a long Pending window.
    let sim = start_sim(
        plane,
        SimConfig {
            heartbeat: Duration::from_secs(40),
            ..config(ns)
        },
    )
    .await;
    all_ready(plane, ns, 6).await;
    // VPC db is attached through server-5 (ESLAG leaf-3/leaf-4) and server-7 (leaf-3).
    change_vlan(plane, ns, "db", "default", 1777).await;
    // States and fields from one listing: a heartbeat after it may pick generation 2 up.
    let (states, agent) = eventually(10, "leaf-3 and leaf-4 Pending", || async {
        let mut agents = agents(plane, ns).await;
        let at = now();
        let states: BTreeMap<String, SwitchState> = agents
            .iter()
            .map(|(name, agent)| (name.clone(), classify_agent(agent, at, 60).state))
            .collect();
        let pending = |n: &str| states.get(n) == Some(&SwitchState::Pending);
        if pending("leaf-3") && pending("leaf-4") {
            Ok((states, agents.remove("leaf-3").unwrap()))
        } else {
            Err(format!("{states:?}"))
        }
    })
    .await;
    for other in ["leaf-1", "leaf-2", "spine-1", "spine-2"] {
        assert_eq!(
            states[other],
            SwitchState::Ready,
            "{other} does not carry VPC db"
        );
    }
    assert_eq!(agent["metadata"]["generation"], 2);
    assert_eq!(agent["status"]["lastAttemptGen"], 1);
    assert_eq!(
        agent["spec"]["vpcs"]["db"]["subnets"]["default"]["vlan"],
        1777
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_switch_is_stuck_then_applies() {
    let ns = "sim-lag";
    let plane = fabric_namespace(ns).await;
    let mut sim = start_sim(
        plane,
        SimConfig {
            lag_probability: 1.0,
            // Longer than the 15 s an attempt may take before hhdash calls it Stuck (a quarter
            // of the 60 s stale bound).
            lag_for: Duration::from_secs(22),
            ..config(ns)
        },
    )
    .await;
    all_ready(plane, ns, 6).await;
    // VPC mgmt is attached to server-3 (leaf-1) and server-6 (leaf-4).
    change_vlan(plane, ns, "mgmt", "default", 1888).await;
    let stuck = eventually(30, "leaf-1 Stuck", || async {
        let agent = agents(plane, ns).await.remove("leaf-1").unwrap();
        let health = classify_agent(&agent, now(), 60);
        if health.state == SwitchState::Stuck {
            Ok(agent)
        } else {
            Err(format!("{health:?}"))
        }
    })
    .await;
    assert_eq!(
        stuck["status"]["lastAttemptGen"],
        stuck["metadata"]["generation"]
    );
    assert_eq!(stuck["status"]["lastAppliedGen"], 1);
    eventually(
        20,
        "leaf-1 and leaf-4 Ready again at generation 2",
        || async {
            let all = agents(plane, ns).await;
            let done = ["leaf-1", "leaf-4"].iter().all(|n| {
                classify_agent(&all[*n], now(), 60).state == SwitchState::Ready
                    && all[*n]["status"]["lastAppliedGen"] == 2
            });
            if done {
                Ok(())
            } else {
                Err(format!("{:?}", all.keys()))
            }
        },
    )
    .await;
    let events = sim.drain().to_vec();
    let lagged: Vec<&str> = events
        .iter()
        .filter(|e| e.action == Action::Lagging)
        .map(|e| e.object.as_str())
        .collect();
    assert_eq!(lagged, ["Agent/leaf-1", "Agent/leaf-4"], "{events:#?}");
    // Switches that do not carry VPC mgmt were never asked to change.
    assert_eq!(
        agents(plane, ns).await["spine-1"]["metadata"]["generation"],
        1
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_edits_carry_the_sim_drift_field_manager() {
    let ns = "sim-drift";
    let plane = fabric_namespace(ns).await;
    let mut sim = start_sim(
        plane,
        SimConfig {
            drift_every: Duration::from_secs(1),
            ..config(ns)
        },
    )
    .await;
    let edit = eventually(15, "a drift edit", || {
        let drift = sim
            .drain()
            .iter()
            .find(|e| e.action == Action::Drift)
            .cloned();
        async move { drift.ok_or_else(|| "none yet".to_string()) }
    })
    .await;
    sim.stop().await;

    // The first edit of seed 7, as the Director decides it from the example's objects.
    let objects = example_objects();
    let expected = Director::new(7)
        .drift_edit(&of_kind(&objects, "VPC"), &of_kind(&objects, "Server"))
        .unwrap();
    assert_eq!(edit.object, format!("{}/{}", expected.kind, expected.name));
    let live = common::api(&plane.client(Identity::Admin), plane, expected.kind, ns)
        .get(&expected.name)
        .await
        .unwrap();
    let managers: Vec<&str> = live
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.as_deref())
        .collect();
    assert!(managers.contains(&DRIFT_MANAGER), "{managers:?}");
    let live = serde_json::to_value(&live).unwrap();
    let original = objects
        .iter()
        .find(|o| o["kind"] == expected.kind && o["metadata"]["name"] == expected.name.as_str())
        .unwrap();
    assert_ne!(
        live["spec"], original["spec"],
        "the edit changed the object"
    );
    let mut patched = original["spec"].clone();
    merge(&mut patched, &expected.patch["spec"]);
    assert_eq!(live["spec"], patched, "exactly the decided edit");
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[test]
fn the_same_seed_makes_the_same_decisions() {
    let objects = example_objects();
    let (vpcs, servers) = (of_kind(&objects, "VPC"), of_kind(&objects, "Server"));
    let switches = ["leaf-1", "leaf-2", "leaf-3", "leaf-4", "spine-1", "spine-2"];
    let decide = |seed: u64, interleave_lags: bool| {
        let mut director = Director::new(seed);
        let mut log = Vec::new();
        for i in 0..60 {
            log.push(format!(
                "stale {:?}",
                director.pick_stale(&switches[..6 - i % 3])
            ));
            if interleave_lags || i % 2 == 0 {
                log.push(format!("lag {}", director.lags(0.3)));
            }
            let edit = director.drift_edit(&vpcs, &servers).unwrap();
            log.push(format!(
                "drift {}/{} {}",
                edit.kind, edit.name, edit.summary
            ));
        }
        log
    };
    assert_eq!(decide(42, true), decide(42, true));
    assert_ne!(decide(42, true), decide(43, true));
    // Streams are independent: asking lag questions more often changes no drift or stale pick.
    let without_lags = |log: Vec<String>| -> Vec<String> {
        log.into_iter().filter(|l| !l.starts_with("lag")).collect()
    };
    assert_eq!(
        without_lags(decide(42, true)),
        without_lags(decide(42, false))
    );
    // Sixty edits over the example touch both kinds and several objects.
    let log = decide(42, true);
    assert!(log.iter().any(|l| l.starts_with("drift VPC/")));
    assert!(log.iter().any(|l| l.starts_with("drift Server/")));
}

fn sim_cli(plane: &ControlPlane, ns: &str, who: Identity, extra: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    common::run_with_deadline(
        std::process::Command::new(env!("CARGO_BIN_EXE_fabric-sim"))
            .arg("--server")
            .arg(plane.server_url())
            .arg("--token-file")
            .arg(plane.token_file(who))
            .arg("--ca-file")
            .arg(plane.ca_file())
            .args(["--namespace", ns])
            .args(extra)
            // Proof that it reads only its flags: no usable kubeconfig anywhere.
            .env("HOME", home.path())
            .env("KUBECONFIG", home.path().join("missing")),
        common::COMMAND_DEADLINE,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_runs_from_its_flags_alone_and_stops_after_its_duration() {
    let ns = "sim-cli";
    let plane = fabric_namespace(ns).await;
    let args = [
        "--duration-secs",
        "3",
        "--heartbeat-secs",
        "1",
        "--verbose",
        "--seed",
        "9",
    ];
    let out = tokio::task::spawn_blocking(move || sim_cli(plane, ns, Identity::Admin, &args))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for name in ["leaf-1", "spine-2"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains("created") && l.contains(&format!("Agent/{name} "))),
            "{stdout}"
        );
    }
    assert!(
        stdout.lines().filter(|l| l.contains("heartbeat")).count() >= 6,
        "{stdout}"
    );
    assert!(stderr.contains("stopped ("), "{stderr}");
    assert_eq!(states(plane, ns, 60).await.len(), 6);

    // The operator may read Agents but not write them: a clear error, exit 1.
    let out = tokio::task::spawn_blocking(move || sim_cli(plane, ns, Identity::Operator, &[]))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot apply Agent") && stderr.contains("forbidden"),
        "{stderr}"
    );

    let out = common::run_with_deadline(
        std::process::Command::new(env!("CARGO_BIN_EXE_fabric-sim")).args([
            "--server",
            "http://127.0.0.1:1",
            "--token-file",
            "/dev/null",
            "--ca-file",
            "/dev/null",
        ]),
        common::COMMAND_DEADLINE,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use https://"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_api_is_what_hhdash_reads() {
    // hhdash watches Agents with the operator's token: the simulator's Agents must be readable
    // there, with the status fields the health model uses.
    let ns = "sim-read";
    let plane = fabric_namespace(ns).await;
    let sim = start_sim(plane, config(ns)).await;
    all_ready(plane, ns, 6).await;
    let operator: Api<DynamicObject> =
        common::api(&plane.client(Identity::Operator), plane, "Agent", ns);
    let list = operator.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 6);
    for agent in list.items {
        let agent = serde_json::to_value(&agent).unwrap();
        for field in [
            "lastHeartbeat",
            "lastAppliedGen",
            "lastAttemptGen",
            "version",
        ] {
            assert!(agent["status"].get(field).is_some(), "{field} in {agent}");
        }
    }
    sim.stop().await;
}
