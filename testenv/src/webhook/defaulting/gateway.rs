//! Gateway defaulting: what the `Default()` methods of githedgehog/fabric
//! `api/gateway/v1alpha1/{gateway,gatewaypeering}_types.go` do (summarised in hhdash's
//! `docs/dev/gateway-facts.md` §2b). GatewayGroup's only default is the namespace, done for
//! every kind in `defaulting`. None of them touches `fabric.githedgehog.com/` labels.

use serde_json::{Map, Value, json};

use super::{number_is_zero, object_entry, str_at};

/// The gateway kinds with a mutating webhook: (group, kind, plural), all at
/// [`GATEWAY_VERSION`]. VPCInfo has one too, but only the controller writes it.
pub const GATEWAY_KINDS: &[(&str, &str, &str)] = &[
    ("gateway.githedgehog.com", "Gateway", "gateways"),
    ("gateway.githedgehog.com", "GatewayGroup", "gatewaygroups"),
    (
        "gateway.githedgehog.com",
        "GatewayPeering",
        "gatewaypeerings",
    ),
];

/// The version every gateway kind serves.
pub const GATEWAY_VERSION: &str = "v1alpha1";

/// `gateway.githedgehog.com` list labels: `vpc.gateway.githedgehog.com/<side>`.
const PEERING_SIDE_LABEL: &str = "vpc.gateway.githedgehog.com/";

/// Gateway: log level `info`, log tags `{all: info}` when empty, a present rate limit's
/// burst 50 and 5 per second when zero, 4 workers when zero, groups sorted by name and
/// `[{name: default}]` when empty; `logs` and `profiling` materialised (Go structs).
pub(super) fn gateway(spec: &mut Map<String, Value>) {
    let logs = object_entry(spec, "logs");
    if str_at(logs, "default").is_empty() {
        logs.insert("default".into(), json!("info"));
    }
    if logs
        .get("tags")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty)
    {
        logs.insert("tags".into(), json!({"all": "info"}));
    }
    if let Some(Value::Object(limit)) = logs.get_mut("rateLimit") {
        for (key, default) in [("burst", 50), ("replenishPerSecond", 5)] {
            if number_is_zero(limit, key) {
                limit.insert(key.into(), json!(default));
            }
        }
    }
    object_entry(spec, "profiling");
    if number_is_zero(spec, "workers") {
        spec.insert("workers".into(), json!(4));
    }
    match spec.get_mut("groups") {
        Some(Value::Array(groups)) if !groups.is_empty() => groups.sort_by(|a, b| {
            let name = |v: &Value| v["name"].as_str().unwrap_or("").to_string();
            name(a).cmp(&name(b))
        }),
        _ => {
            spec.insert("groups".into(), json!([{"name": "default"}]));
        }
    }
}

/// GatewayPeering, only when `peering` has exactly two sides (the real method returns before
/// anything else otherwise): the side labels, NAT idle timeouts `2m0s` when absent or zero,
/// group `default`, ACL default `deny-unless-exposed`, rule scope `flow`, and each rule's
/// `match` materialised (no `omitempty` on a struct).
pub(super) fn peering(spec: &mut Map<String, Value>, labels: &mut Map<String, Value>) {
    let Some(Value::Object(sides)) = spec.get_mut("peering") else {
        return;
    };
    if sides.len() != 2 {
        return;
    }
    for (side, entry) in sides.iter_mut() {
        labels.insert(format!("{PEERING_SIDE_LABEL}{side}"), json!("true"));
        let exposes = entry.get_mut("expose").and_then(Value::as_array_mut);
        for expose in exposes.into_iter().flatten() {
            for mode in ["masquerade", "portForward"] {
                if let Some(Value::Object(nat)) = expose.pointer_mut(&format!("/nat/{mode}"))
                    && is_zero_duration(nat.get("idleTimeout"))
                {
                    nat.insert("idleTimeout".into(), json!("2m0s"));
                }
            }
        }
    }
    if str_at(spec, "gatewayGroup").is_empty() {
        spec.insert("gatewayGroup".into(), json!("default"));
    }
    if let Some(Value::Object(acl)) = spec.get_mut("acl") {
        if str_at(acl, "default").is_empty() {
            acl.insert("default".into(), json!("deny-unless-exposed"));
        }
        if let Some(Value::Array(rules)) = acl.get_mut("rules") {
            for rule in rules.iter_mut().filter_map(Value::as_object_mut) {
                if str_at(rule, "scope").is_empty() {
                    rule.insert("scope".into(), json!("flow"));
                }
                object_entry(rule, "match");
            }
        }
    }
}

/// A `metav1.Duration` Go would read as zero: absent, `null`, or zero in any unit (`0`,
/// `0s`, `0m0s`). Other values are kept as written (Go would print them canonically; the
/// samples already are).
fn is_zero_duration(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(text)) => {
            !text.is_empty()
                && text
                    .trim_start_matches(['-', '+'])
                    .chars()
                    .all(|c| matches!(c, '0' | '.') || c.is_ascii_alphabetic() || c == 'µ')
        }
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::defaulted;
    use super::*;

    #[test]
    fn gateway_gets_logs_workers_sorted_groups() {
        let bare = defaulted(
            "Gateway",
            json!({"metadata": {"name": "gateway-1", "labels": {"fabric.githedgehog.com/x": "kept"}},
                   "spec": {"asn": 65534, "workers": 0}}),
        );
        assert_eq!(
            bare["spec"],
            json!({"asn": 65534, "workers": 4, "groups": [{"name": "default"}], "profiling": {},
                   "logs": {"default": "info", "tags": {"all": "info"}}})
        );
        assert_eq!(bare["metadata"]["namespace"], "default");
        assert_eq!(
            bare["metadata"]["labels"],
            json!({"fabric.githedgehog.com/x": "kept"}),
            "the gateway webhooks leave labels alone"
        );
        let set = defaulted(
            "Gateway",
            json!({"metadata": {"name": "g", "namespace": "t"}, "spec": {"workers": 8,
                "groups": [{"name": "zeta", "priority": 1}, {"name": "alpha"}],
                "logs": {"default": "debug", "tags": {"x": "off"},
                         "rateLimit": {"burst": 0, "replenishPerSecond": 7}}}}),
        );
        assert_eq!(set["spec"]["workers"], 8);
        assert_eq!(
            set["spec"]["groups"],
            json!([{"name": "alpha"}, {"name": "zeta", "priority": 1}])
        );
        assert_eq!(
            set["spec"]["logs"],
            json!({"default": "debug", "tags": {"x": "off"},
                   "rateLimit": {"burst": 50, "replenishPerSecond": 7}})
        );
        assert_eq!(set["metadata"]["namespace"], "t");
        let group = defaulted("GatewayGroup", json!({"metadata": {"name": "default"}}));
        assert_eq!(
            group,
            json!({"metadata": {"name": "default", "namespace": "default"}, "spec": {}})
        );
    }

    #[test]
    fn two_sided_peering_gets_labels_timeouts_group_and_acl_defaults() {
        let peering = defaulted(
            "GatewayPeering",
            json!({"metadata": {"name": "p", "namespace": "t"}, "spec": {
                "peering": {
                    "vpc-1": {"expose": [{"ips": [{"cidr": "10.0.0.0/24"}], "as": [{"cidr": "10.0.1.0/31"}],
                                          "nat": {"masquerade": {}}}]},
                    "ext.internet": {"expose": [{"default": true}]}},
                "acl": {"rules": [{"from": "vpc-1", "action": "deny"},
                                  {"to": "vpc-1", "action": "allow", "scope": "packet", "match": {"proto": "tcp"}}]}}}),
        );
        assert_eq!(
            peering["metadata"]["labels"],
            json!({"vpc.gateway.githedgehog.com/vpc-1": "true",
                   "vpc.gateway.githedgehog.com/ext.internet": "true"})
        );
        let spec = &peering["spec"];
        assert_eq!(spec["gatewayGroup"], "default");
        assert_eq!(
            spec["peering"]["vpc-1"]["expose"][0]["nat"]["masquerade"]["idleTimeout"],
            "2m0s"
        );
        assert_eq!(
            spec["acl"],
            json!({"default": "deny-unless-exposed", "rules": [
                {"from": "vpc-1", "action": "deny", "scope": "flow", "match": {}},
                {"to": "vpc-1", "action": "allow", "scope": "packet", "match": {"proto": "tcp"}}]})
        );
        let kept = defaulted(
            "GatewayPeering",
            json!({"metadata": {"name": "p"}, "spec": {"gatewayGroup": "g", "peering": {
                "a": {"expose": [{"nat": {"portForward": {"idleTimeout": "5m0s"}}}]},
                "b": {"expose": [{"nat": {"portForward": {"idleTimeout": "0s"}}}]}}}}),
        );
        assert_eq!(kept["spec"]["gatewayGroup"], "g");
        assert_eq!(
            kept["spec"]["peering"]["a"]["expose"][0]["nat"]["portForward"]["idleTimeout"],
            "5m0s"
        );
        assert_eq!(
            kept["spec"]["peering"]["b"]["expose"][0]["nat"]["portForward"]["idleTimeout"],
            "2m0s"
        );
        assert_eq!(kept["spec"].get("acl"), None);
    }

    #[test]
    fn a_peering_without_two_sides_gets_only_its_namespace() {
        let one = json!({"metadata": {"name": "p"}, "spec": {"peering": {"vpc-1": {}},
            "acl": {"rules": [{"action": "deny"}]}}});
        let defaulted_one = defaulted("GatewayPeering", one.clone());
        let mut expected = one;
        expected["metadata"]["namespace"] = json!("default");
        assert_eq!(defaulted_one, expected);
    }

    #[test]
    fn gateway_defaulting_twice_changes_nothing_more() {
        for (kind, object) in [
            (
                "Gateway",
                json!({"metadata": {"name": "g"}, "spec": {"groups": [{"name": "b"}, {"name": "a"}]}}),
            ),
            (
                "GatewayPeering",
                json!({"metadata": {"name": "p"}, "spec": {"peering": {"a": {}, "b": {}},
                "acl": {"rules": [{"action": "deny"}]}}}),
            ),
        ] {
            let once = defaulted(kind, object);
            assert_eq!(defaulted(kind, once.clone()), once, "{kind}");
        }
    }
}
