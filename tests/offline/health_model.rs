//! health's typed status model against the real CRDs in ../shared: a status built from the
//! Agent and GatewayAgent schemas — every field the schema declares, with a value of its
//! declared type — must parse. The API server enforces those types, so a model field typed
//! otherwise would make every real agent's status unreadable (and every switch read as
//! reporting nothing).

use crate::common;

use hhdash::health::model::{AgentStatus, GatewayAgentStatus};
use serde_json::{Map, Value, json};

/// A value for `schema` with every declared property filled in (maps get one entry).
fn example(schema: &Value) -> Value {
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let object: Map<String, Value> = properties
            .iter()
            .map(|(key, property)| (key.clone(), example(property)))
            .collect();
        return Value::Object(object);
    }
    if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        return json!({"k": example(values)});
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => json!([example(&schema["items"])]),
        Some("string") => json!("2026-01-01T00:00:00Z"),
        Some("integer") => json!(7),
        Some("number") => json!(1.5),
        Some("boolean") => json!(true),
        _ => json!({}),
    }
}

fn status_schema(file: &str) -> Value {
    let path = common::shared_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let crd: Value = serde_yaml::from_str(&text).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"].clone()
}

#[test]
fn every_agent_status_field_the_crd_declares_parses_into_the_model() {
    let status = example(&status_schema(
        "hedgehog/crds/agent.githedgehog.com_agents.yaml",
    ));
    let parsed: AgentStatus = serde_json::from_value(status.clone())
        .unwrap_or_else(|e| panic!("the Agent model disagrees with the CRD: {e}"));
    // It read the parts health judges, not just an empty default.
    let port = &parsed.state.interfaces["k"];
    assert_eq!(port.link_flap_count, Some(7));
    assert_eq!(port.lldp_neighbors.len(), 1);
    assert_eq!(
        parsed.state.transceivers["k"].channels["k"].rx_dbm,
        Some(1.5)
    );
    assert_eq!(parsed.state.bgp_neighbors["k"]["k"].peer_as, 7);
    assert!(parsed.state.platform.psus["k"].status);
    assert_eq!(parsed.state.critical_resources.usage().len(), 12);
}

#[test]
fn every_gateway_agent_status_field_the_crd_declares_parses_into_the_model() {
    let status = example(&status_schema(
        "hedgehog/crds-gateway/gwint.githedgehog.com_gatewayagents.yaml",
    ));
    let parsed: GatewayAgentStatus = serde_json::from_value(status)
        .unwrap_or_else(|e| panic!("the GatewayAgent model disagrees with the CRD: {e}"));
    let bgp = parsed.state.bgp.expect("state.bgp read");
    assert_eq!(bgp.vrfs["k"].neighbors["k"].peer_as, 7);
    assert_eq!(parsed.state.frr.and_then(|f| f.last_applied_gen), Some(7));
}
