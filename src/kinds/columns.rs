//! kinds::columns: how the registry's table columns read their cells from an object — plain
//! paths (`col!`) and the few kinds whose cells need a little logic (Connection endpoints,
//! GatewayPeering NAT, GatewayAgent BGP sessions).

use serde_json::Value;

/// Reads the string (or number/bool, printed) at a dotted path; "" when absent.
pub(super) fn text_at(object: &Value, path: &[&str]) -> String {
    let mut node = object;
    for key in path {
        match node.get(key) {
            Some(next) => node = next,
            None => return String::new(),
        }
    }
    match node {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

pub(super) fn label(object: &Value, key: &str) -> String {
    object
        .pointer("/metadata/labels")
        .and_then(|labels| labels.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

pub(super) fn vpc_subnets(object: &Value) -> String {
    let Some(subnets) = object.pointer("/spec/subnets").and_then(Value::as_object) else {
        return String::new();
    };
    subnets
        .iter()
        .map(|(name, subnet)| {
            let cidr = text_at(subnet, &["subnet"]);
            let vlan = text_at(subnet, &["vlan"]);
            format!("{name}={cidr}@{vlan}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The one variant key a Connection's spec sets (its type).
pub(super) fn connection_type(object: &Value) -> String {
    object
        .get("spec")
        .and_then(Value::as_object)
        .and_then(|spec| spec.keys().next().cloned())
        .unwrap_or_default()
}

/// The `device/port` strings a Connection links (every string under a key `port`, anywhere in
/// its spec), in spec order.
pub fn connection_ports(object: &Value) -> Vec<String> {
    fn collect(node: &Value, out: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("port", Value::String(port)) => out.push(port.clone()),
                        _ => collect(value, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
            _ => {}
        }
    }
    let mut ports = Vec::new();
    if let Some(spec) = object.get("spec") {
        collect(spec, &mut ports);
    }
    ports
}

/// The `device/port` strings a Connection links, as one cell.
pub(super) fn connection_endpoints(object: &Value) -> String {
    connection_ports(object).join(" ")
}

pub(super) fn ranges(object: &Value) -> String {
    object
        .pointer("/spec/ranges")
        .and_then(Value::as_array)
        .map(|ranges| {
            ranges
                .iter()
                .map(|r| format!("{}-{}", text_at(r, &["from"]), text_at(r, &["to"])))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

pub(super) fn agent_heartbeat(object: &Value) -> String {
    text_at(object, &["status", "lastHeartbeat"])
}

pub(super) fn agent_generations(object: &Value) -> String {
    format!(
        "{}/{}",
        text_at(object, &["status", "lastAppliedGen"]),
        text_at(object, &["metadata", "generation"])
    )
}

/// The keys of the map at `path`, space-separated (Gateway interfaces, GatewayPeering sides).
pub(super) fn map_keys(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_object)
        .map(|map| map.keys().cloned().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// How many entries the map at `pointer` has (empty when there is no map).
pub(super) fn map_len(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_object)
        .map(|map| map.len().to_string())
        .unwrap_or_default()
}

/// `a@b` for each entry of the list at `pointer` (an empty `b` leaves `a` alone).
pub(super) fn list_pairs(
    object: &Value,
    pointer: &str,
    first: &str,
    second: &str,
    sep: &str,
) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let (a, b) = (text_at(item, &[first]), text_at(item, &[second]));
                    if b.is_empty() {
                        a
                    } else {
                        format!("{a}{sep}{b}")
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Per side of a GatewayPeering, the NAT modes its exposes use (`vpc-1:masquerade`), or
/// `none` when no expose translates.
pub(super) fn peering_nat(object: &Value) -> String {
    let Some(sides) = object.pointer("/spec/peering").and_then(Value::as_object) else {
        return String::new();
    };
    let mut modes = Vec::new();
    for (side, peer) in sides {
        let exposes = peer.get("expose").and_then(Value::as_array);
        for expose in exposes.into_iter().flatten() {
            if let Some(nat) = expose.get("nat").and_then(Value::as_object) {
                for mode in nat.keys() {
                    let entry = format!("{side}:{mode}");
                    if !modes.contains(&entry) {
                        modes.push(entry);
                    }
                }
            }
        }
    }
    if modes.is_empty() {
        "none".to_string()
    } else {
        modes.join(" ")
    }
}

/// `-` without an ACL, else its default action (`deny-unless-exposed` when left empty, as
/// the webhook fills in) and the number of rules.
pub(super) fn peering_acl(object: &Value) -> String {
    let Some(acl) = object.pointer("/spec/acl") else {
        return "-".to_string();
    };
    let default = match text_at(acl, &["default"]) {
        empty if empty.is_empty() => "deny-unless-exposed".to_string(),
        default => default,
    };
    let rules = acl
        .get("rules")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    format!("{default} ({rules} rules)")
}

/// How many BGP neighbors a GatewayAgent reports `established`, of all it reports.
pub(super) fn gateway_bgp(object: &Value) -> String {
    let Some(vrfs) = object
        .pointer("/status/state/bgp/vrfs")
        .and_then(Value::as_object)
    else {
        return String::new();
    };
    let states: Vec<&str> = vrfs
        .values()
        .filter_map(|vrf| vrf.get("neighbors").and_then(Value::as_object))
        .flat_map(|neighbors| neighbors.values())
        .map(|n| n.get("sessionState").and_then(Value::as_str).unwrap_or(""))
        .collect();
    let up = states.iter().filter(|s| **s == "established").count();
    format!("{up}/{} up", states.len())
}

macro_rules! col {
    ($header:expr, $($path:expr),+) => {
        $crate::kinds::Column { header: $header, cell: |o| $crate::kinds::columns::text_at(o, &[$($path),+]) }
    };
}

pub(super) use col;
