//! The fabric simulator against a real control plane, judged by hhdash's own health model
//! (`hhdash::health::classify_agent`): an Agent per Switch with fresh heartbeats (Ready), a
//! silent switch (Stale), a generation not yet picked up (Pending) or attempted but held
//! (Stuck), drift edits owned by field manager `sim-drift`, and seeded decisions that repeat.
//! Every test applies `examples/fabric` into its own namespace of the shared control plane.

mod cli;
#[path = "../common/mod.rs"]
mod common;
mod drift;
mod gateway;
mod health;
mod status;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hhdash::health::{SwitchState, classify_agent};
use hhdash::time::now;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use testenv::sim::{FaultControl, SimConfig, SimEvent, Simulator, Summary};
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
    /// Health faults of the running simulator.
    faults: FaultControl,
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
    let faults = sim.fault_control();
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
        faults,
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
