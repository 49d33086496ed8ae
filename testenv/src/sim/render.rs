//! What the Hedgehog controller would put in each switch's Agent: the Switch itself plus the
//! slice of the fabric that switch must configure (its connections, the VPCs attached through
//! them, their peerings and namespaces). Pure: JSON in, JSON out.
//!
//! Rendering the real dependencies, not a counter, is what makes the simulation honest: a VPC
//! edit bumps the generation of exactly the leaves that carry that VPC, as on a real fabric,
//! and a Server description edit bumps nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

/// The objects of one namespace the controller renders Agents from, each sorted by name.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub switches: Vec<Value>,
    pub connections: Vec<Value>,
    pub servers: Vec<Value>,
    pub vpcs: Vec<Value>,
    pub attachments: Vec<Value>,
    pub peerings: Vec<Value>,
    pub vlan_namespaces: Vec<Value>,
    pub ipv4_namespaces: Vec<Value>,
}

pub fn name(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn spec(object: &Value) -> Value {
    object.get("spec").cloned().unwrap_or_else(|| json!({}))
}

fn by_name(objects: &[Value]) -> BTreeMap<&str, &Value> {
    objects.iter().map(|o| (name(o), o)).collect()
}

/// Whether any `port` in a Connection spec is on `switch` (`"<switch>/<port>"`). The trailing
/// slash keeps `leaf-1` from matching `leaf-10/E1/1`.
fn touches(connection_spec: &Value, switch: &str) -> bool {
    let prefix = format!("{switch}/");
    fn walk(value: &Value, prefix: &str) -> bool {
        match value {
            Value::Object(map) => map.iter().any(|(key, v)| match v {
                Value::String(s) => key == "port" && s.starts_with(prefix),
                other => walk(other, prefix),
            }),
            Value::Array(items) => items.iter().any(|v| walk(v, prefix)),
            _ => false,
        }
    }
    walk(connection_spec, &prefix)
}

/// The Agent spec for `switch` (a Switch object) in `snapshot`, as `agent_version` would run.
pub fn agent_spec(switch: &Value, snapshot: &Snapshot, agent_version: &str) -> Value {
    let switch_name = name(switch);
    let switch_spec = spec(switch);
    let mut out = Map::new();
    for field in ["role", "description"] {
        if let Some(value) = switch_spec.get(field) {
            out.insert(field.into(), value.clone());
        }
    }

    // Redundancy peers: the other switches of the same MCLAG/ESLAG group.
    let group = switch_spec
        .pointer("/redundancy/group")
        .and_then(Value::as_str);
    let peers: Vec<&Value> = snapshot
        .switches
        .iter()
        .filter(|other| {
            name(other) != switch_name
                && group.is_some()
                && other
                    .pointer("/spec/redundancy/group")
                    .and_then(Value::as_str)
                    == group
        })
        .collect();
    let mut switches = Map::new();
    switches.insert(switch_name.to_string(), switch_spec.clone());
    for peer in &peers {
        switches.insert(name(peer).to_string(), spec(peer));
    }

    let connections: BTreeMap<&str, Value> = snapshot
        .connections
        .iter()
        .map(|c| (name(c), spec(c)))
        .filter(|(_, s)| touches(s, switch_name))
        .collect();
    let attachments: BTreeMap<&str, Value> = snapshot
        .attachments
        .iter()
        .map(|a| (name(a), spec(a)))
        .filter(|(_, s)| {
            s.get("connection")
                .and_then(Value::as_str)
                .is_some_and(|c| connections.contains_key(c))
        })
        .collect();
    let vpc_names: BTreeSet<&str> = attachments
        .values()
        .filter_map(|s| s.get("subnet").and_then(Value::as_str))
        .map(|subnet| subnet.split('/').next().unwrap_or(subnet))
        .collect();
    let vpcs: BTreeMap<&str, Value> = by_name(&snapshot.vpcs)
        .into_iter()
        .filter(|(n, _)| vpc_names.contains(n))
        .map(|(n, vpc)| (n, spec(vpc)))
        .collect();
    let peerings: BTreeMap<&str, Value> = snapshot
        .peerings
        .iter()
        .map(|p| (name(p), spec(p)))
        .filter(|(_, s)| {
            s.get("permit")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .any(|entry| entry.keys().any(|vpc| vpcs.contains_key(vpc.as_str())))
        })
        .collect();

    // The namespaces the switch and its VPCs draw from; both default to `default`, as the
    // webhooks would set them.
    let mut vlan_names: BTreeSet<String> = switch_spec
        .get("vlanNamespaces")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_else(|| BTreeSet::from(["default".to_string()]));
    let mut ipv4_names = BTreeSet::new();
    for vpc in vpcs.values() {
        let field = |key: &str| {
            vpc.get(key)
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string()
        };
        vlan_names.insert(field("vlanNamespace"));
        ipv4_names.insert(field("ipv4Namespace"));
    }
    let pick = |objects: &[Value], names: &BTreeSet<String>| -> Map<String, Value> {
        objects
            .iter()
            .filter(|o| names.contains(name(o)))
            .map(|o| (name(o).to_string(), spec(o)))
            .collect()
    };

    let to_map = |m: BTreeMap<&str, Value>| -> Value {
        Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    };
    if !peers.is_empty() {
        out.insert(
            "redundancyGroupPeers".into(),
            json!(peers.iter().map(|p| name(p)).collect::<Vec<_>>()),
        );
    }
    out.insert("switch".into(), switch_spec);
    out.insert("switches".into(), Value::Object(switches));
    out.insert("connections".into(), to_map(connections));
    out.insert("vpcAttachments".into(), to_map(attachments));
    out.insert("vpcs".into(), to_map(vpcs));
    out.insert("vpcPeers".into(), to_map(peerings));
    out.insert(
        "vlanNamespaces".into(),
        Value::Object(pick(&snapshot.vlan_namespaces, &vlan_names)),
    );
    out.insert(
        "ipv4Namespaces".into(),
        Value::Object(pick(&snapshot.ipv4_namespaces, &ipv4_names)),
    );
    out.insert("version".into(), json!({"default": agent_version}));
    Value::Object(out)
}

/// Which top-level fields of the Agent spec differ, for the log (`vpcs, vpcAttachments`).
pub(super) fn changed_fields(old: Option<&Value>, new: &Value) -> String {
    let empty = Value::Null;
    let old = old.unwrap_or(&empty);
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    for map in [old.as_object(), new.as_object()].into_iter().flatten() {
        keys.extend(map.keys().map(String::as_str));
    }
    let changed: Vec<&str> = keys
        .into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .collect();
    if changed.is_empty() {
        "nothing the simulator rendered".into()
    } else {
        changed.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(name: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name}, "spec": spec})
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            switches: vec![
                obj(
                    "leaf-1",
                    json!({"role": "server-leaf", "redundancy": {"group": "m", "type": "mclag"}}),
                ),
                obj("leaf-10", json!({"role": "server-leaf"})),
                obj(
                    "leaf-2",
                    json!({"role": "server-leaf", "redundancy": {"group": "m", "type": "mclag"}}),
                ),
                obj("spine-1", json!({"role": "spine", "description": "Spine"})),
            ],
            connections: vec![
                obj(
                    "s1--mclag",
                    json!({"mclag": {"links": [
                    {"server": {"port": "s1/e1"}, "switch": {"port": "leaf-1/E1/5"}},
                    {"server": {"port": "s1/e2"}, "switch": {"port": "leaf-2/E1/5"}}]}}),
                ),
                obj(
                    "s2--unbundled",
                    json!({"unbundled": {"link":
                    {"server": {"port": "s2/e1"}, "switch": {"port": "leaf-10/E1/1"}}}}),
                ),
                obj(
                    "spine-1--fabric--leaf-1",
                    json!({"fabric": {"links": [
                    {"spine": {"port": "spine-1/E1/1"}, "leaf": {"port": "leaf-1/E1/9"}}]}}),
                ),
            ],
            vpcs: vec![
                obj("a", json!({"subnets": {"x": {"vlan": 1001}}})),
                obj(
                    "b",
                    json!({"subnets": {"y": {"vlan": 1002}}, "ipv4Namespace": "other"}),
                ),
            ],
            attachments: vec![
                obj("a--s1", json!({"connection": "s1--mclag", "subnet": "a/x"})),
                obj(
                    "b--s2",
                    json!({"connection": "s2--unbundled", "subnet": "b/y"}),
                ),
            ],
            peerings: vec![obj(
                "a--b",
                json!({"permit": [{"a": {"subnets": ["x"]}, "b": {"subnets": ["y"]}}]}),
            )],
            vlan_namespaces: vec![obj(
                "default",
                json!({"ranges": [{"from": 1000, "to": 2999}]}),
            )],
            ipv4_namespaces: vec![
                obj("default", json!({"subnets": ["10.0.0.0/16"]})),
                obj("other", json!({"subnets": ["10.1.0.0/16"]})),
            ],
            servers: vec![],
        }
    }

    #[test]
    fn a_leaf_gets_its_connections_vpcs_peers_and_namespaces() {
        let snap = snapshot();
        let spec = agent_spec(&snap.switches[0], &snap, "v1");
        let keys = |field: &str| -> Vec<String> {
            spec[field].as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(spec["role"], "server-leaf");
        assert_eq!(
            keys("connections"),
            ["s1--mclag", "spine-1--fabric--leaf-1"]
        );
        assert_eq!(keys("vpcAttachments"), ["a--s1"]);
        assert_eq!(keys("vpcs"), ["a"]);
        assert_eq!(keys("vpcPeers"), ["a--b"]);
        assert_eq!(keys("switches"), ["leaf-1", "leaf-2"]);
        assert_eq!(spec["redundancyGroupPeers"], json!(["leaf-2"]));
        assert_eq!(keys("vlanNamespaces"), ["default"]);
        assert_eq!(keys("ipv4Namespaces"), ["default"]);
        assert_eq!(spec["version"]["default"], "v1");
    }

    #[test]
    fn port_prefixes_do_not_confuse_leaf_1_with_leaf_10() {
        let snap = snapshot();
        let spec = agent_spec(&snap.switches[1], &snap, "v1");
        let connections: Vec<&String> = spec["connections"].as_object().unwrap().keys().collect();
        assert_eq!(connections, ["s2--unbundled"]);
        assert!(spec.get("redundancyGroupPeers").is_none());
        assert_eq!(
            spec["ipv4Namespaces"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["other"]
        );
    }

    #[test]
    fn only_dependencies_change_a_spec() {
        let snap = snapshot();
        let before: Vec<Value> = snap
            .switches
            .iter()
            .map(|s| agent_spec(s, &snap, "v1"))
            .collect();
        let mut changed = snap.clone();
        changed.vpcs[0]["spec"]["subnets"]["x"]["vlan"] = json!(1999);
        changed
            .servers
            .push(obj("s9", json!({"description": "new"})));
        let after: Vec<Value> = changed
            .switches
            .iter()
            .map(|s| agent_spec(s, &changed, "v1"))
            .collect();
        let differs: Vec<&str> = snap
            .switches
            .iter()
            .zip(before.iter().zip(&after))
            .filter(|(_, (b, a))| b != a)
            .map(|(s, _)| name(s))
            .collect();
        // VPC a is attached through the MCLAG pair only; spine-1 and leaf-10 do not carry it.
        assert_eq!(differs, ["leaf-1", "leaf-2"]);
    }

    #[test]
    fn changed_fields_names_what_differs() {
        let old = json!({"vpcs": {"a": 1}, "role": "spine"});
        let new = json!({"vpcs": {"a": 2}, "role": "spine", "connections": {}});
        assert_eq!(changed_fields(Some(&old), &new), "connections, vpcs");
    }
}
