//! Switch health as hhdash's classifier reads it from the simulated Agents: Ready with fresh
//! heartbeats, Stale when silent, Pending until a new generation is picked up, Stuck while a
//! lagging switch holds it; and all of it readable with the operator's token.

use hhdash::health::SwitchState;
use hhdash::health::classify_agent;
use hhdash::time::now;
use kube::api::Api;
use kube::api::DynamicObject;
use kube::api::ListParams;
use kube::api::Patch;
use kube::api::PatchParams;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use testenv::ControlPlane;
use testenv::Identity;
use testenv::sim::Action;
use testenv::sim::SimConfig;

use super::{
    agents, all_ready, common, config, decommission_switch, eventually, example_objects,
    fabric_namespace, names, of_kind, start_sim, states,
};

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
