//! sim::gateway: the gateway's part of the simulator — one GatewayAgent per Gateway, written
//! as the controller does (spec from the Gateway) and reported on as a healthy dataplane does
//! (heartbeat, applied generation, every BGP neighbor established).

use std::collections::BTreeSet;

use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    Action, SimEvent, Simulator, agent_generations, apply_agent_spec, apply_agent_status,
    delete_agent, rfc3339, unix_now,
};

/// The gateway kinds' version (`gateway.` and `gwint.githedgehog.com`).
const GATEWAY_VERSION: &str = "v1alpha1";

fn gateway_resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, GATEWAY_VERSION, kind), plural)
}

/// One simulated gateway dataplane: it reports on its GatewayAgent every heartbeat.
#[derive(Debug)]
pub(super) struct GatewayState {
    /// The GatewayAgent's `metadata.generation` as last seen.
    generation: i64,
    /// The generation last reported applied (the dataplane applies at once).
    applied: i64,
    applied_at: i64,
    next_heartbeat: Instant,
}

impl Simulator {
    fn gateway_api(&self, group: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            &self.config.namespace,
            &gateway_resource(group, kind, plural),
        )
    }

    /// The controller's and the gateways' part: one GatewayAgent per Gateway with the Gateway's
    /// spec, its status heartbeating with every BGP neighbor established; GatewayAgents whose
    /// Gateway is gone are deleted. Gateway kinds that are not served (no gateway CRDs) mean no
    /// gateways.
    pub(super) async fn follow_gateways(
        &mut self,
        now: Instant,
        emit: &mut (dyn FnMut(&SimEvent) + Send),
    ) -> Result<(), (String, kube::Error)> {
        let gateways = match self
            .gateway_api("gateway.githedgehog.com", "Gateway", "gateways")
            .list(&ListParams::default())
            .await
        {
            Ok(list) => list.items,
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
            Err(e) => return Err(("list gateways.gateway.githedgehog.com".into(), e)),
        };
        let api = self.gateway_api("gwint.githedgehog.com", "GatewayAgent", "gatewayagents");
        let live = agent_generations(&api, "gatewayagents.gwint.githedgehog.com").await?;
        let mut wanted = BTreeSet::new();

        for gateway in gateways {
            let Some(name) = gateway.metadata.name.clone() else {
                continue;
            };
            wanted.insert(name.clone());
            let gateway_spec = gateway.data.get("spec").cloned().unwrap_or(json!({}));
            if let Some(asn) = gateway_spec.get("asn").and_then(Value::as_u64) {
                self.gateway_asns.insert(name.clone(), asn);
            }
            let spec = json!({
                "agentVersion": self.config.agent_version,
                "gateway": gateway_spec,
            });
            let mut generation = live.get(&name).copied();
            if generation.is_none() || self.gateway_rendered.get(&name) != Some(&spec) {
                let api_version = format!("gwint.githedgehog.com/{GATEWAY_VERSION}");
                let agent = (api_version.as_str(), "GatewayAgent");
                let new_generation =
                    apply_agent_spec(&api, agent, &self.config.namespace, &name, &spec).await?;
                match generation {
                    None => self.emit(
                        emit,
                        Action::Created,
                        format!("GatewayAgent/{name}"),
                        format!("for Gateway {name} (generation {new_generation})"),
                    ),
                    Some(old) if old != new_generation => self.emit(
                        emit,
                        Action::Spec,
                        format!("GatewayAgent/{name}"),
                        format!("generation {old} -> {new_generation} (gateway changed)"),
                    ),
                    Some(_) => {}
                }
                generation = Some(new_generation);
                self.gateway_rendered.insert(name.clone(), spec.clone());
            }
            let generation = generation.unwrap_or(1);
            let state = self.gateways.entry(name.clone()).or_insert(GatewayState {
                generation,
                applied: 0,
                applied_at: 0,
                next_heartbeat: now,
            });
            state.generation = generation;
            let new_generation = state.applied != generation;
            if now < state.next_heartbeat && !new_generation {
                continue;
            }
            let wall = unix_now();
            state.next_heartbeat = now + self.config.heartbeat;
            if new_generation {
                state.applied = generation;
                state.applied_at = wall;
            }
            let status = gateway_agent_status(
                &spec["gateway"],
                &self.config.agent_version,
                wall,
                state.applied,
                state.applied_at,
            );
            let body = json!({
                "apiVersion": format!("gwint.githedgehog.com/{GATEWAY_VERSION}"),
                "kind": "GatewayAgent",
                "metadata": {"name": name, "namespace": self.config.namespace},
                "status": status,
            });
            if !apply_agent_status(&api, "GatewayAgent", &name, &body).await? {
                continue;
            }
            let object = format!("GatewayAgent/{name}");
            self.emit(emit, Action::Heartbeat, object.clone(), String::new());
            if new_generation {
                self.emit(
                    emit,
                    Action::Applied,
                    object,
                    format!("generation {generation}"),
                );
            }
        }

        for name in live.keys().filter(|n| !wanted.contains(*n)) {
            delete_agent(&api, "GatewayAgent", name).await?;
            self.emit(
                emit,
                Action::Deleted,
                format!("GatewayAgent/{name}"),
                "its Gateway is gone".into(),
            );
        }
        self.gateways.retain(|name, _| wanted.contains(name));
        self.gateway_asns.retain(|name, _| wanted.contains(name));
        self.gateway_rendered
            .retain(|name, _| wanted.contains(name));
        Ok(())
    }
}

/// What a healthy gateway dataplane reports on its GatewayAgent: alive at `now`, generation
/// `applied` applied (by the dataplane and FRR), and every neighbor of `gateway_spec` (the
/// Gateway's spec) an established BGP session in VRF `default`.
fn gateway_agent_status(
    gateway_spec: &Value,
    agent_version: &str,
    now: i64,
    applied: i64,
    applied_at: i64,
) -> Value {
    let local_as = gateway_spec.get("asn").cloned().unwrap_or(Value::Null);
    let mut neighbors = serde_json::Map::new();
    for neighbor in gateway_spec
        .get("neighbors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(ip) = neighbor.get("ip").and_then(Value::as_str) else {
            continue;
        };
        neighbors.insert(
            ip.to_string(),
            json!({
                "enabled": true,
                "localAS": local_as,
                "peerAS": neighbor.get("asn").cloned().unwrap_or(Value::Null),
                "sessionState": "established",
                "establishedTransitions": 1,
            }),
        );
    }
    json!({
        "agentVersion": agent_version,
        "lastHeartbeat": rfc3339(now),
        "lastAppliedGen": applied,
        "lastAppliedTime": rfc3339(applied_at),
        "state": {
            "lastCollectedTime": rfc3339(now),
            "dataplane": {"version": agent_version},
            "frr": {"lastAppliedGen": applied},
            "bgp": {"vrfs": {"default": {"neighbors": neighbors}}},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_agent_reports_each_neighbor_established_and_its_generation_applied() {
        let spec = json!({"asn": 65534, "neighbors": [
            {"source": "enp2s1", "ip": "172.30.128.16", "asn": 65102},
            {"source": "enp2s2", "ip": "172.30.128.18", "asn": 65103},
        ]});
        let status = gateway_agent_status(&spec, "v1", 0, 3, 0);
        assert_eq!(status["lastAppliedGen"], 3);
        assert_eq!(status["state"]["frr"]["lastAppliedGen"], 3);
        assert_eq!(status["lastHeartbeat"], "1970-01-01T00:00:00Z");
        let neighbors = &status["state"]["bgp"]["vrfs"]["default"]["neighbors"];
        assert_eq!(neighbors.as_object().unwrap().len(), 2);
        assert_eq!(neighbors["172.30.128.18"]["sessionState"], "established");
        assert_eq!(neighbors["172.30.128.18"]["peerAS"], 65103);
        assert_eq!(neighbors["172.30.128.16"]["localAS"], 65534);
    }
}
