//! Wiring defaulting: what a Connection connects (its endpoint labels, also used by
//! validation) and a Switch's speeds, namespaces, groups and flap limits (see the module doc
//! of `defaulting`).

use serde_json::{Map, Value, json};

use super::{label, list_label, object_entry, sort_strings, str_at};

/// What a Connection connects, as `ConnectionSpec.Endpoints()` reads it.
pub(crate) struct Endpoints {
    pub kind: &'static str,
    pub switches: Vec<String>,
    pub servers: Vec<String>,
}

/// The variant keys of a Connection spec with the name the labels use, in the real code's
/// order of precedence. mclag and mclagDomain come first: the real code gives them no
/// endpoints and no labels.
const CONNECTION_TYPES: &[(&str, &str)] = &[
    ("mclag", "mclag"),
    ("mclagDomain", "mclag-domain"),
    ("unbundled", "unbundled"),
    ("bundled", "bundled"),
    ("eslag", "eslag"),
    ("fabric", "fabric"),
    ("mesh", "mesh"),
    ("gateway", "gateway"),
    ("vpcLoopback", "vpc-loopback"),
    ("external", "external"),
    ("staticExternal", "static-external"),
];

/// The device half of a `"<device>/<port>"` name.
fn device(port: &Value) -> Option<String> {
    let port = port.get("port")?.as_str()?;
    let (device, local) = port.split_once('/')?;
    (!device.is_empty() && !local.is_empty()).then(|| device.to_string())
}

/// `None` when the spec sets no known variant or more than one, or a port is malformed.
pub(crate) fn connection_endpoints(spec: &Map<String, Value>) -> Option<Endpoints> {
    let set: Vec<&(&str, &str)> = CONNECTION_TYPES
        .iter()
        .filter(|(key, _)| spec.get(*key).is_some_and(|v| !v.is_null()))
        .collect();
    let &&(key, kind) = set.first()?;
    let mut endpoints = Endpoints {
        kind,
        switches: Vec::new(),
        servers: Vec::new(),
    };
    if matches!(key, "mclag" | "mclagDomain") {
        return Some(endpoints);
    }
    if set.len() != 1 {
        return None;
    }
    let variant = &spec[key];
    let links: Vec<&Value> = match variant.get("links").and_then(Value::as_array) {
        Some(links) => links.iter().collect(),
        None => variant.get("link").into_iter().collect(),
    };
    let add = |list: &mut Vec<String>, name: String| {
        if !list.contains(&name) {
            list.push(name);
        }
    };
    for link in links {
        let (switch_sides, server_sides): (&[&str], &[&str]) = match key {
            "unbundled" | "bundled" | "eslag" => (&["switch"], &["server"]),
            "fabric" => (&["spine", "leaf"], &[]),
            "mesh" => (&["leaf1", "leaf2"], &[]),
            "vpcLoopback" => (&["switch1", "switch2"], &[]),
            _ => (&["switch"], &[]),
        };
        for side in switch_sides {
            add(&mut endpoints.switches, device(link.get(*side)?)?);
        }
        for side in server_sides {
            add(&mut endpoints.servers, device(link.get(*side)?)?);
        }
    }
    endpoints.switches.sort();
    endpoints.servers.sort();
    Some(endpoints)
}

pub(super) fn connection(spec: &mut Map<String, Value>, labels: &mut Map<String, Value>) -> bool {
    if ["mclag", "mclagDomain"]
        .iter()
        .any(|k| spec.get(*k).is_some_and(|v| !v.is_null()))
    {
        return true;
    }
    let endpoints = connection_endpoints(spec);
    let kind = endpoints.as_ref().map_or("<invalid>", |e| e.kind);
    labels.insert(label("connection-type"), json!(kind));
    let within_vpc = spec
        .get("staticExternal")
        .and_then(|s| s.get("withinVPC"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if !within_vpc.is_empty() {
        labels.insert(label("vpc"), json!(within_vpc));
    }
    if let Some(endpoints) = endpoints {
        for name in &endpoints.switches {
            labels.insert(list_label("switch", name), json!("true"));
        }
        for name in &endpoints.servers {
            labels.insert(list_label("server", name), json!("true"));
        }
    }
    true
}

pub(super) fn switch(spec: &mut Map<String, Value>, labels: &mut Map<String, Value>) -> bool {
    for speeds in ["portGroupSpeeds", "portSpeeds"] {
        if let Some(Value::Object(speeds)) = spec.get_mut(speeds) {
            for value in speeds.values_mut() {
                if let Some(stripped) = value.as_str().and_then(|s| s.strip_prefix("SPEED_")) {
                    *value = json!(stripped);
                }
            }
        }
    }
    let has_vlan_namespaces = spec
        .get("vlanNamespaces")
        .and_then(Value::as_array)
        .is_some_and(|l| !l.is_empty());
    if !has_vlan_namespaces {
        spec.insert("vlanNamespaces".into(), json!(["default"]));
    }
    let group = spec
        .get("redundancy")
        .and_then(|r| r.get("group"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !group.is_empty() {
        let groups = spec.entry("groups").or_insert_with(|| json!([]));
        if !groups.is_array() {
            *groups = json!([]);
        }
        let groups = groups.as_array_mut().expect("just made a list");
        if !groups.iter().any(|g| g.as_str() == Some(group.as_str())) {
            groups.push(json!(group));
        }
    }
    if let Some(Value::Object(flap)) = spec.get_mut("linkFlapErrDisable") {
        for (key, default) in [
            ("flapThreshold", 3),
            ("samplingInterval", 30),
            ("recoveryInterval", 300),
        ] {
            if flap.get(key).is_none_or(Value::is_null) {
                flap.insert(key.into(), json!(default));
            }
        }
    }
    for (list, list_name) in [("groups", "switchgroup"), ("vlanNamespaces", "vlanns")] {
        if let Some(Value::Array(items)) = spec.get_mut(list) {
            for item in items.iter() {
                if let Some(name) = item.as_str() {
                    labels.insert(list_label(list_name, name), json!("true"));
                }
            }
            sort_strings(items);
        }
    }
    labels.insert(label("profile"), str_at(spec, "profile").into());
    for materialised in ["boot", "redundancy", "ecmp"] {
        object_entry(spec, materialised);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::defaulted;
    use super::*;

    #[test]
    fn connections_get_type_and_endpoint_labels_except_mclag() {
        let conn = defaulted(
            "Connection",
            json!({"metadata": {"name": "c"}, "spec": {"bundled": {"links": [
                {"server": {"port": "srv-1/enp2s1"}, "switch": {"port": "leaf-1/E1/1"}},
                {"server": {"port": "srv-1/enp2s2"}, "switch": {"port": "leaf-1/E1/2"}}]}}}),
        );
        assert_eq!(
            conn["metadata"]["labels"],
            json!({"fabric.githedgehog.com/connection-type": "bundled",
                   "switch.fabric.githedgehog.com/leaf-1": "true",
                   "server.fabric.githedgehog.com/srv-1": "true"})
        );
        let fabric = defaulted(
            "Connection",
            json!({"metadata": {"name": "f"}, "spec": {"fabric": {"links": [
                {"spine": {"port": "spine-1/E1/1", "ip": "172.30.0.0/31"},
                 "leaf": {"port": "leaf-1/E1/49", "ip": "172.30.0.1/31"}}]}}}),
        );
        assert_eq!(
            fabric["metadata"]["labels"],
            json!({"fabric.githedgehog.com/connection-type": "fabric",
                   "switch.fabric.githedgehog.com/spine-1": "true",
                   "switch.fabric.githedgehog.com/leaf-1": "true"})
        );
        let mclag = defaulted(
            "Connection",
            json!({"metadata": {"name": "m", "labels": {"fabric.githedgehog.com/x": "y", "keep": "me"}},
                   "spec": {"mclag": {"links": []}}}),
        );
        assert_eq!(mclag["metadata"]["labels"], json!({"keep": "me"}));
    }

    #[test]
    fn switch_defaults() {
        let sw = defaulted(
            "Switch",
            json!({"metadata": {"name": "leaf-1"}, "spec": {"role": "server-leaf", "profile": "vs",
                "groups": ["zeta"], "redundancy": {"group": "mclag-1", "type": "mclag"},
                "portSpeeds": {"E1/1": "SPEED_25GB"}, "portGroupSpeeds": {"1": "10G"},
                "linkFlapErrDisable": {"flapThreshold": 5}}}),
        );
        let spec = &sw["spec"];
        assert_eq!(spec["groups"], json!(["mclag-1", "zeta"]));
        assert_eq!(spec["vlanNamespaces"], json!(["default"]));
        assert_eq!(spec["portSpeeds"]["E1/1"], "25GB");
        assert_eq!(spec["portGroupSpeeds"]["1"], "10G");
        assert_eq!(
            spec["linkFlapErrDisable"],
            json!({"flapThreshold": 5, "samplingInterval": 30, "recoveryInterval": 300})
        );
        assert_eq!(spec["boot"], json!({}));
        assert_eq!(spec["ecmp"], json!({}));
        assert_eq!(
            sw["metadata"]["labels"],
            json!({"fabric.githedgehog.com/profile": "vs",
                   "switchgroup.fabric.githedgehog.com/mclag-1": "true",
                   "switchgroup.fabric.githedgehog.com/zeta": "true",
                   "vlanns.fabric.githedgehog.com/default": "true"})
        );
    }
}
