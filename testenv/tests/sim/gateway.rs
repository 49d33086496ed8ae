//! The gateway as the simulator plays it: a GatewayAgent per Gateway of the example fabric,
//! heartbeating with its generation applied and a BGP session established per neighbor, read
//! through hhdash's own GatewayAgent columns; a Gateway edit bumps the GatewayAgent's generation
//! and the status follows; a deleted Gateway takes its GatewayAgent with it.

use hhdash::kinds;
use hhdash::time::now;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use testenv::Identity;
use testenv::sim::Action;

use super::{common, config, eventually, fabric_namespace, start_sim};

/// The cell of the registry's GatewayAgent column `header`.
fn column(agent: &Value, header: &str) -> String {
    let info = kinds::by_kind("GatewayAgent").unwrap();
    let column = info.columns.iter().find(|c| c.header == header).unwrap();
    (column.cell)(agent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_agent_per_gateway_heartbeats_with_its_bgp_sessions_established() {
    let ns = "sim-gateway";
    let plane = fabric_namespace(ns).await;
    let mut sim = start_sim(plane, config(ns)).await;
    let admin = plane.client(Identity::Admin);
    let agents = common::api(&admin, plane, "GatewayAgent", ns);

    let read = || async {
        let agent = agents
            .get_opt("gateway-1")
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no GatewayAgent gateway-1 yet")?;
        Ok::<Value, String>(serde_json::to_value(agent).unwrap())
    };
    let agent = eventually(20, "GatewayAgent gateway-1 reporting", || async {
        let agent = read().await?;
        if agent["status"]["lastHeartbeat"].is_string() {
            Ok(agent)
        } else {
            Err(format!("{agent:#}"))
        }
    })
    .await;
    assert_eq!(agent["spec"]["gateway"]["asn"], 65534);
    assert_eq!(agent["status"]["agentVersion"], "v0.87.4-sim");
    assert_eq!(column(&agent, "Applied/Gen"), "1/1");
    assert_eq!(column(&agent, "FRRGen"), "1");
    assert_eq!(column(&agent, "BGP"), "2/2 up");
    let neighbors = &agent["status"]["state"]["bgp"]["vrfs"]["default"]["neighbors"];
    assert_eq!(neighbors["172.30.128.16"]["sessionState"], "established");
    assert_eq!(neighbors["172.30.128.18"]["peerAS"], 65103);
    // Heartbeats keep coming (every second here).
    let first = agent["status"]["lastHeartbeat"]
        .as_str()
        .unwrap()
        .to_string();
    eventually(10, "a later heartbeat", || async {
        let agent = read().await?;
        let beat = agent["status"]["lastHeartbeat"]
            .as_str()
            .unwrap_or_default();
        if beat > first.as_str() {
            Ok(())
        } else {
            Err(beat.to_string())
        }
    })
    .await;

    // One neighbor less on the Gateway: a new generation, applied, one session reported.
    let gateways = common::api(&admin, plane, "Gateway", ns);
    let patch =
        json!({"spec": {"neighbors": [{"source": "enp2s1", "ip": "172.30.128.16", "asn": 65102}]}});
    gateways
        .patch("gateway-1", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let agent = eventually(15, "GatewayAgent gateway-1 at generation 2", || async {
        let agent = read().await?;
        if column(&agent, "Applied/Gen") == "2/2" && column(&agent, "BGP") == "1/1 up" {
            Ok(agent)
        } else {
            Err(format!("{agent:#}"))
        }
    })
    .await;
    assert_eq!(column(&agent, "FRRGen"), "2");
    let heartbeat = agent["status"]["lastHeartbeat"].as_str().unwrap();
    let heartbeat = heartbeat.parse::<jiff::Timestamp>().unwrap().as_second();
    assert!(now() - heartbeat < 10, "{heartbeat} vs {}", now());

    // The Gateway goes: so does its GatewayAgent.
    gateways
        .delete("gateway-1", &DeleteParams::default())
        .await
        .unwrap();
    eventually(15, "GatewayAgent gateway-1 deleted", || async {
        match read().await {
            Err(gone) => Ok(gone),
            Ok(agent) => Err(format!("{agent:#}")),
        }
    })
    .await;
    let events = sim.drain();
    assert!(
        events
            .iter()
            .any(|e| e.action == Action::Created && e.object == "GatewayAgent/gateway-1"),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.action == Action::Deleted && e.object == "GatewayAgent/gateway-1"),
        "{events:#?}"
    );
    sim.stop().await;
}
