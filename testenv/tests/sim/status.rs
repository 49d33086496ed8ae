//! The switch status the simulator writes, checked against the example fabric's wiring read
//! straight from the YAML (not through the simulator's own wiring code): an LLDP neighbor on
//! every cabled port, BGP established per fabric and gateway link and per linked loopback, BFD
//! up on the links, counters that move while nothing else does, the SwitchProfile `vs`; each
//! health fault bends exactly its part of one switch's status and clearing it restores it; the
//! same seed picks the same targets; scheduled faults come and go in the event log.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};
use testenv::Identity;
use testenv::sim::{Action, HealthFault, InjectedFault, SimConfig, SimEvent, Simulator};

use super::{
    agents, common, config, eventually, example_objects, fabric_namespace, of_kind, start_sim,
};

/// `leaf-1/E1/5` → (`leaf-1`, `E1/5`).
fn end(port: &Value) -> (String, String) {
    let (device, port) = port.as_str().unwrap().split_once('/').unwrap();
    (device.to_string(), port.to_string())
}

/// `E1/5` → `Ethernet4`, the vs profile's NOS name, which a switch peer advertises.
fn nos(port: &str) -> String {
    let n: u32 = port.strip_prefix("E1/").unwrap().parse().unwrap();
    format!("Ethernet{}", n - 1)
}

/// (switch, port) → (neighbor name, neighbor portID) for every cabled port of the examples.
fn expected_lldp() -> BTreeMap<(String, String), (String, String)> {
    let mut out = BTreeMap::new();
    for connection in of_kind(&example_objects(), "Connection") {
        let spec = &connection["spec"];
        let list = |pointer: &str| -> Vec<Value> {
            spec.pointer(pointer)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let mut pairs = Vec::new();
        for link in list("/fabric/links") {
            pairs.push((link["spine"]["port"].clone(), link["leaf"]["port"].clone()));
        }
        for key in ["/mclagDomain/peerLinks", "/mclagDomain/sessionLinks"] {
            for link in list(key) {
                pairs.push((
                    link["switch1"]["port"].clone(),
                    link["switch2"]["port"].clone(),
                ));
            }
        }
        for (a, b) in pairs {
            let ((sa, pa), (sb, pb)) = (end(&a), end(&b));
            out.insert((sa.clone(), pa.clone()), (sb.clone(), nos(&pb)));
            out.insert((sb, pb), (sa, nos(&pa)));
        }
        let mut hosts = Vec::new();
        for key in ["/mclag/links", "/eslag/links", "/bundled/links"] {
            hosts.extend(list(key));
        }
        hosts.extend(spec.pointer("/unbundled/link").cloned());
        for link in hosts {
            out.insert(end(&link["switch"]["port"]), end(&link["server"]["port"]));
        }
        for link in list("/gateway/links") {
            out.insert(end(&link["switch"]["port"]), end(&link["gateway"]["port"]));
        }
    }
    out
}

/// The status with what moves at every heartbeat taken out: `lastHeartbeat` and counters.
fn steady(agent: &Value) -> Value {
    let mut status = agent["status"].clone();
    status.as_object_mut().unwrap().remove("lastHeartbeat");
    if let Some(ports) = status
        .pointer_mut("/state/interfaces")
        .and_then(Value::as_object_mut)
    {
        for port in ports.values_mut() {
            port.as_object_mut().unwrap().remove("counters");
        }
    }
    status
}

/// JSON pointers (`/leaf-1/state/...`) where `a` and `b` differ, down to leaves and arrays.
fn differences(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let (va, vb) = (
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                );
                differences(va, vb, format!("{at}/{key}"), out);
            }
        }
        _ if a != b => out.push(at),
        _ => {}
    }
}

async fn steady_all(plane: &testenv::ControlPlane, ns: &str) -> Value {
    let all = agents(plane, ns).await;
    Value::Object(all.iter().map(|(n, a)| (n.clone(), steady(a))).collect())
}

fn diff(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    differences(before, after, String::new(), &mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_fabric_reports_what_its_wiring_says() {
    let ns = "sim-status";
    let plane = fabric_namespace(ns).await;
    let sim = start_sim(plane, config(ns)).await;
    let all = eventually(20, "every Agent with a state", || async {
        let all = agents(plane, ns).await;
        if all.len() == 6
            && all
                .values()
                .all(|a| a["status"]["state"]["interfaces"].is_object())
        {
            Ok(all)
        } else {
            Err(format!("{:?}", all.keys()))
        }
    })
    .await;

    let expected = expected_lldp();
    assert_eq!(expected.len(), 39, "the examples' cabled switch ports");
    for ((switch, port), (name, port_id)) in &expected {
        let interface = &all[switch]["status"]["state"]["interfaces"][port];
        assert_eq!(interface["oper"], "up", "{switch} {port}");
        let neighbors = interface["lldpNeighbors"].as_array().unwrap();
        assert_eq!(neighbors.len(), 1, "{switch} {port}: {neighbors:?}");
        assert_eq!(neighbors[0]["sysName"], *name, "{switch} {port}");
        assert_eq!(neighbors[0]["portID"], *port_id, "{switch} {port}");
        let optic = &all[switch]["status"]["state"]["transceivers"][port];
        assert_eq!(optic["oper"], "active", "{switch} {port}");
    }
    // Exactly the cabled ports and M1, no more.
    for (switch, agent) in &all {
        let ports: BTreeSet<&str> = agent["status"]["state"]["interfaces"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut wanted: BTreeSet<&str> = expected
            .keys()
            .filter(|(s, _)| s == switch)
            .map(|(_, p)| p.as_str())
            .collect();
        wanted.insert("M1");
        assert_eq!(ports, wanted, "{switch}");
        let nos = &agent["status"]["state"]["nos"];
        assert_eq!(nos["platformName"], "x86_64-kvm_x86_64-r0");
        let psus = agent["status"]["state"]["platform"]["psus"]
            .as_object()
            .unwrap();
        assert_eq!(psus.len(), 2);
        assert!(
            psus.values()
                .all(|p| p["status"] == true && p["presence"] == true)
        );
    }
    let serials: BTreeSet<&str> = all
        .values()
        .map(|a| {
            a["status"]["state"]["nos"]["serialNumber"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(serials.len(), 6, "a serial number per switch");

    // BGP: spine-1 to leaf-1 over spine-1--fabric--leaf-1 (172.30.128.0/31 ↔ .1), both ways,
    // with BFD; the loopbacks of the linked switches without; leaf-3 to the gateway.
    let bgp = |switch: &str, ip: &str| {
        all[switch]["status"]["state"]["bgpNeighbors"]["default"][ip].clone()
    };
    let bfd =
        |switch: &str, ip: &str| all[switch]["status"]["state"]["bfdPeers"]["default"][ip].clone();
    assert_eq!(bgp("spine-1", "172.30.128.1")["state"], "established");
    assert_eq!(bgp("spine-1", "172.30.128.1")["peerAS"], 65101);
    assert_eq!(bgp("spine-1", "172.30.128.1")["localAS"], 65100);
    assert_eq!(bgp("leaf-1", "172.30.128.0")["peerAS"], 65100);
    assert_eq!(bfd("leaf-1", "172.30.128.0")["state"], "up");
    assert_eq!(
        bgp("leaf-1", "172.30.8.0")["state"],
        "established",
        "spine-1's protocolIP"
    );
    assert!(
        bfd("leaf-1", "172.30.8.0").is_null(),
        "no BFD on loopback sessions"
    );
    assert_eq!(
        bgp("leaf-3", "172.30.128.17")["peerAS"],
        65534,
        "the Gateway's ASN"
    );
    assert_eq!(bfd("leaf-3", "172.30.128.17")["state"], "up");
    // Every fabric link: a session each way; a spine peers with all four leaves' links and
    // loopbacks, a leaf with both spines'.
    for connection in of_kind(&example_objects(), "Connection") {
        for link in connection["spec"]["fabric"]["links"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let ip = |side: &str| {
                link[side]["ip"]
                    .as_str()
                    .unwrap()
                    .split('/')
                    .next()
                    .unwrap()
                    .to_string()
            };
            let ((spine, _), (leaf, _)) = (end(&link["spine"]["port"]), end(&link["leaf"]["port"]));
            assert_eq!(
                bgp(&spine, &ip("leaf"))["state"],
                "established",
                "{spine} → {leaf}"
            );
            assert_eq!(
                bgp(&leaf, &ip("spine"))["state"],
                "established",
                "{leaf} → {spine}"
            );
        }
    }
    let count = |switch: &str| {
        all[switch]["status"]["state"]["bgpNeighbors"]["default"]
            .as_object()
            .unwrap()
            .len()
    };
    assert_eq!(count("spine-1"), 8);
    assert_eq!(count("leaf-1"), 4);
    assert_eq!(
        count("leaf-3"),
        5,
        "two spines' links and loopbacks, the gateway"
    );
    let stats = &all["leaf-1"]["status"]["state"]["criticalResources"]["stats"];
    let used = stats["ipv4RoutesUsed"].as_u64().unwrap();
    let available = stats["ipv4RoutesAvailable"].as_u64().unwrap();
    assert!(used * 10 < used + available, "{used} of {available}");

    // The SwitchProfile every Switch names, created by the simulator.
    let profiles = common::api(
        &plane.client(Identity::Operator),
        plane,
        "SwitchProfile",
        ns,
    );
    let vs = serde_json::to_value(profiles.get("vs").await.unwrap()).unwrap();
    assert_eq!(vs["spec"]["ports"]["E1/5"]["nos"], "Ethernet4");
    assert_eq!(vs["spec"]["ports"]["M1"]["management"], true);
    assert_eq!(vs["metadata"]["managedFields"][0]["manager"], "fabric-sim");

    // Between two heartbeats the counters move and nothing else does.
    let first = all["leaf-1"].clone();
    let second = eventually(10, "the next heartbeat", || async {
        let agent = agents(plane, ns).await.remove("leaf-1").unwrap();
        if agent["status"]["lastHeartbeat"] != first["status"]["lastHeartbeat"] {
            Ok(agent)
        } else {
            Err("same heartbeat".to_string())
        }
    })
    .await;
    for port in expected
        .keys()
        .filter(|(s, _)| s == "leaf-1")
        .map(|(_, p)| p)
    {
        let bits = |agent: &Value| {
            agent["status"]["state"]["interfaces"][port]["counters"]["inb"]
                .as_u64()
                .unwrap()
        };
        assert!(
            bits(&second) > bits(&first),
            "{port}: {} -> {}",
            bits(&first),
            bits(&second)
        );
    }
    assert_eq!(
        diff(&steady(&first), &steady(&second)),
        Vec::<String>::new()
    );
    sim.stop().await;
}

/// Where a fault may change the status of its switch, as pointer prefixes under `state`.
fn allowed(fault: &InjectedFault) -> Vec<String> {
    let port = format!("/state/interfaces/{}/", fault.target);
    match fault.fault {
        HealthFault::BgpDown => vec![
            format!("/state/bgpNeighbors/default/{}/", fault.target),
            format!("/state/bfdPeers/default/{}/", fault.target),
        ],
        HealthFault::Miswire => vec![format!("{port}lldpNeighbors")],
        HealthFault::Flap => vec![port],
        HealthFault::PsuFailed => vec![format!("/state/platform/psus/{}/", fault.target)],
        HealthFault::LowRxPower => vec![format!(
            "/state/transceivers/{}/channels/0/in",
            fault.target
        )],
        HealthFault::ResourcesFull => {
            vec![format!("/state/criticalResources/stats/{}", fault.target)]
        }
    }
}

/// Whether `state` (of the faulted switch) shows `fault`.
fn shows(state: &Value, fault: &InjectedFault) -> bool {
    let t = fault.target.as_str();
    let port = &state["interfaces"][t];
    match fault.fault {
        HealthFault::BgpDown => {
            state["bgpNeighbors"]["default"][t]["state"] == "active"
                && state["bfdPeers"]["default"][t]["state"] == "down"
        }
        HealthFault::Miswire => {
            let shown = &port["lldpNeighbors"][0];
            let (name, port_id) = (shown["sysName"].as_str(), shown["portID"].as_str());
            name.zip(port_id)
                .is_some_and(|(n, p)| fault.detail.contains(&format!("shows {n} {p};")))
        }
        HealthFault::Flap => port["linkFlapCount"].as_u64().is_some_and(|n| n >= 1),
        HealthFault::PsuFailed => {
            state["platform"]["psus"][t]["status"] == false
                && state["platform"]["psus"][t]["presence"] == true
        }
        HealthFault::LowRxPower => state["transceivers"][t]["channels"]["0"]["in"] == json!(-15.5),
        HealthFault::ResourcesFull => {
            let used = state["criticalResources"]["stats"][format!("{t}Used")]
                .as_u64()
                .unwrap_or(0);
            let free = state["criticalResources"]["stats"][format!("{t}Available")]
                .as_u64()
                .unwrap_or(0);
            used * 100 >= (used + free) * 95
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_bends_only_its_part_and_clearing_restores_it() {
    let ns = "sim-faults";
    let plane = fabric_namespace(ns).await;
    let mut sim = start_sim(plane, config(ns)).await;
    let switch = "leaf-3";
    let ready = |all: &Value| {
        all.as_object().unwrap().len() == 6
            && all
                .as_object()
                .unwrap()
                .values()
                .all(|s| s["state"]["interfaces"].is_object())
    };
    let mut baseline = eventually(20, "every Agent with a state", || async {
        let all = steady_all(plane, ns).await;
        if ready(&all) {
            Ok(all)
        } else {
            Err(format!("{all}"))
        }
    })
    .await;
    for fault in HealthFault::ALL {
        let injected = sim
            .faults
            .inject(fault, switch)
            .unwrap_or_else(|| panic!("{fault} on {switch}"));
        assert_eq!(injected.switch, switch);
        assert_eq!(sim.faults.active(), std::slice::from_ref(&injected));
        let after = eventually(10, &format!("{fault} showing"), || async {
            let all = steady_all(plane, ns).await;
            if shows(&all[switch]["state"], &injected) {
                Ok(all)
            } else {
                Err(format!("{:#}", all[switch]["state"]))
            }
        })
        .await;
        let changed = diff(&baseline, &after);
        assert!(!changed.is_empty(), "{fault}");
        let prefixes = allowed(&injected);
        for path in &changed {
            let inside = path
                .strip_prefix(&format!("/{switch}"))
                .is_some_and(|p| prefixes.iter().any(|prefix| p.starts_with(prefix.as_str())));
            assert!(
                inside,
                "{fault} ({injected:?}) changed {path}; allowed {prefixes:?}"
            );
        }

        assert_eq!(sim.faults.clear(switch, fault), Some(injected.clone()));
        assert!(sim.faults.active().is_empty());
        let restored = eventually(10, &format!("{fault} cleared"), || async {
            let all = steady_all(plane, ns).await;
            if shows(&all[switch]["state"], &injected) {
                Err(format!("{:#}", all[switch]["state"]))
            } else {
                Ok(all)
            }
        })
        .await;
        let left: Vec<String> = diff(&baseline, &restored);
        let history: &[&str] = match fault {
            // A session that came back has its history: one more establishment, the reset.
            HealthFault::BgpDown => &[
                "estabTrans",
                "connDropped",
                "lastEstab",
                "lastReset",
                "lastResetReason",
                "fails",
                "lastUpTime",
            ],
            // A port that flapped came up again at a new time.
            HealthFault::Flap => &["change"],
            _ => &[],
        };
        for path in &left {
            let field = path.rsplit('/').next().unwrap();
            assert!(history.contains(&field), "{fault}: {path} not restored");
        }
        if fault == HealthFault::BgpDown {
            let session = &restored[switch]["state"]["bgpNeighbors"]["default"][&injected.target];
            assert_eq!(session["state"], "established");
            assert_eq!(session["estabTrans"], 2);
            assert_eq!(session["lastResetReason"], "Hold Timer Expired");
        }
        baseline = restored;
    }
    let events = sim.drain().to_vec();
    let faults = events
        .iter()
        .filter(|e| e.action == Action::Fault && e.object == "Agent/leaf-3")
        .count();
    let cleared = events
        .iter()
        .filter(|e| e.action == Action::Cleared && e.object == "Agent/leaf-3")
        .count();
    assert_eq!((faults, cleared), (6, 6), "{events:#?}");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_picks_the_same_targets() {
    let ns = "sim-fault-seed";
    let plane = fabric_namespace(ns).await;
    let picks = |seed: u64| async move {
        let mut sim = Simulator::new(
            plane.client(Identity::Admin),
            SimConfig { seed, ..config(ns) },
        );
        sim.start(&mut |_: &SimEvent| {}).await.unwrap();
        let mut picked = Vec::new();
        for switch in ["leaf-1", "leaf-3", "spine-2"] {
            for fault in HealthFault::ALL {
                let hit = sim
                    .inject(fault, switch)
                    .unwrap_or_else(|| panic!("{fault} on {switch}"));
                picked.push(hit.target);
            }
        }
        assert_eq!(sim.faults().len(), 18);
        assert!(
            sim.inject(HealthFault::Flap, "leaf-1").is_none(),
            "one flap per switch"
        );
        assert!(
            sim.inject(HealthFault::Flap, "leaf-9").is_none(),
            "no such switch"
        );
        picked
    };
    let first = picks(11).await;
    assert_eq!(picks(11).await, first);
    let mut others = Vec::new();
    for seed in 12..16 {
        others.push(picks(seed).await);
    }
    assert!(
        others.iter().any(|o| *o != first),
        "{first:?} for every seed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_faults_come_and_go() {
    let ns = "sim-fault-schedule";
    let plane = fabric_namespace(ns).await;
    let mut sim = start_sim(
        plane,
        SimConfig {
            fault_every: Duration::from_secs(2),
            fault_for: Duration::from_secs(3),
            ..config(ns)
        },
    )
    .await;
    let (object, message) = eventually(20, "a scheduled fault and its clear", || {
        let events = sim.drain().to_vec();
        async move {
            let fault = events
                .iter()
                .find(|e| e.action == Action::Fault)
                .ok_or("no fault yet")?;
            let switch = fault.object.trim_start_matches("Agent/");
            let kind = fault.message.split(':').next().unwrap_or_default();
            if events.iter().any(|e| {
                e.action == Action::Cleared
                    && e.object == fault.object
                    && e.message.starts_with(kind)
            }) {
                Ok((switch.to_string(), fault.message.clone()))
            } else {
                Err(format!("{events:#?}"))
            }
        }
    })
    .await;
    assert!(
        HealthFault::ALL
            .iter()
            .any(|f| message.starts_with(f.word())),
        "{message}"
    );
    assert!(agents(plane, ns).await.contains_key(&object));
    sim.stop().await;
}
