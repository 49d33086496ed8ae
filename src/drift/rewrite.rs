//! What the API server and the Hedgehog webhooks write on their own, which is never drift:
//! server-owned metadata, webhook-owned labels and annotations, values the webhooks rewrite
//! into their stored form, and set-list members they add. The comparison in `compare` asks
//! here; the rules themselves are listed in the module doc of `drift`.

use std::borrow::Cow;

use serde_json::Value;

use super::go_duration;
use super::path::{Seg, matches_any};
use crate::kinds::KindInfo;
/// Top-level fields never compared: `status` is the controller's (and always empty for the
/// Hedgehog kinds), `apiVersion`/`kind` were matched to find the pair.
pub const IGNORED_TOP_LEVEL: &[&str] = &["status", "apiVersion", "kind"];

/// `metadata` fields never compared: the API server and controllers own all of them except
/// `namespace`, which the Hedgehog webhooks set to `default` when Git leaves it out (objects
/// are matched by namespace already, through their `ObjectKey`).
pub const IGNORED_METADATA: &[&str] = &[
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "finalizers",
    "namespace",
];

/// Whether a label or annotation key belongs to someone other than Git: the Hedgehog webhooks
/// delete every user label containing `fabric.githedgehog.com/` and write their own, the
/// gateway webhook writes `vpc.gateway.githedgehog.com/<side>: "true"` on every two-sided
/// GatewayPeering, and kubectl keeps its client-side apply record in an annotation.
pub fn is_webhook_owned(key: &str) -> bool {
    key.contains("fabric.githedgehog.com/")
        || key.starts_with(GATEWAY_LIST_LABEL_PREFIX)
        || key == "kubectl.kubernetes.io/last-applied-configuration"
}

/// The gateway webhook's list labels (githedgehog/fabric `api/gateway/v1alpha1/meta.go`,
/// `ListLabel("vpc", side)`).
const GATEWAY_LIST_LABEL_PREFIX: &str = "vpc.gateway.githedgehog.com/";

/// What a webhook stores for a Git value; `None` when it keeps the value as it is.
pub type Rewrite = fn(&Value) -> Option<Value>;

/// One value a webhook's `Default()` (or its Go round trip) stores in place of the one Git
/// sets. In semantic mode a Git value matches a live value equal to its rewrite.
pub struct WebhookRewrite {
    pub kind: &'static str,
    /// Path pattern as in `KindInfo::set_lists` (`*`: any map key or list index).
    pub path: &'static str,
    pub rewrite: Rewrite,
    /// Whether `Default()` reaches `path` for this (Git) object at all: GatewayPeering's
    /// returns before its spec defaults unless the peering has exactly two sides.
    pub applies: fn(&Value) -> bool,
}

fn always(_: &Value) -> bool {
    true
}

/// `GatewayPeering.Default()` defaults the spec only when `spec.peering` has two sides.
fn two_sided_peering(object: &Value) -> bool {
    object
        .pointer("/spec/peering")
        .and_then(Value::as_object)
        .is_some_and(|sides| sides.len() == 2)
}

/// Go's zero value of a string field (`""`) replaced by `default`.
fn empty_string_as(value: &Value, default: &str) -> Option<Value> {
    (value.as_str() == Some("")).then(|| Value::from(default))
}

/// Go's zero value of a number field (`0`) replaced by `default`.
fn zero_as(value: &Value, default: u64) -> Option<Value> {
    (value.as_f64() == Some(0.0)).then(|| Value::from(default))
}

/// A `metav1.Duration` as Go writes it back (`5m` → `5m0s`).
fn canonical_duration(value: &Value) -> Option<Value> {
    let nanos = go_duration::parse(value.as_str()?)?;
    Some(Value::from(go_duration::format(nanos)))
}

/// A zero `metav1.Duration` replaced by 2 minutes (`DefaultMasqueradeIdleTimeout`,
/// `DefaultPortForwardIdleTimeout`).
fn zero_idle_timeout(value: &Value) -> Option<Value> {
    (go_duration::parse(value.as_str()?)? == 0).then(|| Value::from("2m0s"))
}

/// Everything the Hedgehog webhooks rewrite before storing it, by kind and path (the
/// `Default()` methods of githedgehog/fabric `api/*/`; gateway facts in
/// `docs/dev/gateway-facts.md` §2b). Defaults for fields Git leaves out need no entry:
/// semantic mode compares only what Git sets.
pub const WEBHOOK_REWRITES: &[WebhookRewrite] = &[
    // `subnet: vpc-1` means the VPC's subnet `default`; the webhook writes it out.
    WebhookRewrite {
        kind: "VPCAttachment",
        path: "spec.subnet",
        rewrite: |subnet| {
            let subnet = subnet.as_str()?;
            (!subnet.is_empty() && !subnet.starts_with('/') && !subnet.contains('/'))
                .then(|| Value::from(format!("{subnet}/default")))
        },
        applies: always,
    },
    // `SPEED_25G` is stored as `25G`.
    WebhookRewrite {
        kind: "Switch",
        path: "spec.portSpeeds.*",
        rewrite: |speed| Some(Value::from(speed.as_str()?.strip_prefix("SPEED_")?)),
        applies: always,
    },
    WebhookRewrite {
        kind: "Switch",
        path: "spec.portGroupSpeeds.*",
        rewrite: |speed| Some(Value::from(speed.as_str()?.strip_prefix("SPEED_")?)),
        applies: always,
    },
    // Gateway.Default(): log level `info`, 4 workers; a rate limit Git sets gets burst 50
    // and 5 per second. (Empty `logs.tags` and `groups` become `{all: info}` and
    // `[{name: default}]`, but an empty map or list in Git sets nothing anyway; `groups` is
    // a set list, for the sorting.)
    WebhookRewrite {
        kind: "Gateway",
        path: "spec.logs.default",
        rewrite: |level| empty_string_as(level, "info"),
        applies: always,
    },
    WebhookRewrite {
        kind: "Gateway",
        path: "spec.logs.rateLimit.burst",
        rewrite: |burst| zero_as(burst, 50),
        applies: always,
    },
    WebhookRewrite {
        kind: "Gateway",
        path: "spec.logs.rateLimit.replenishPerSecond",
        rewrite: |rate| zero_as(rate, 5),
        applies: always,
    },
    WebhookRewrite {
        kind: "Gateway",
        path: "spec.workers",
        rewrite: |workers| zero_as(workers, 4),
        applies: always,
    },
    // GatewayPeering: NAT idle timeouts are Go durations, stored in canonical form
    // (`5m` → `5m0s`), and for two-sided peerings a zero one becomes 2 minutes; the group
    // defaults to `default`, an ACL's default action to `deny-unless-exposed` and each
    // rule's scope to `flow`.
    WebhookRewrite {
        kind: "GatewayPeering",
        path: "spec.peering.*.expose.*.nat.masquerade.idleTimeout",
        rewrite: canonical_duration,
        applies: always,
    },
    WebhookRewrite {
        kind: "GatewayPeering",
        path: "spec.peering.*.expose.*.nat.portForward.idleTimeout",
        rewrite: canonical_duration,
        applies: always,
    },
    WebhookRewrite {
        kind: "GatewayPeering",
        path: "spec.peering.*.expose.*.nat.masquerade.idleTimeout",
        rewrite: zero_idle_timeout,
        applies: two_sided_peering,
    },
    WebhookRewrite {
        kind: "GatewayPeering",
        path: "spec.peering.*.expose.*.nat.portForward.idleTimeout",
        rewrite: zero_idle_timeout,
        applies: two_sided_peering,
    },
    WebhookRewrite {
        kind: "GatewayPeering",
        path: "spec.gatewayGroup",
        rewrite: |group| empty_string_as(group, "default"),
        applies: two_sided_peering,
    },
    WebhookRewrite {
        kind: "GatewayPeering",
        path: "spec.acl.default",
        rewrite: |action| empty_string_as(action, "deny-unless-exposed"),
        applies: two_sided_peering,
    },
    WebhookRewrite {
        kind: "GatewayPeering",
        path: "spec.acl.rules.*.scope",
        rewrite: |scope| empty_string_as(scope, "flow"),
        applies: two_sided_peering,
    },
];

/// What the webhooks may store for the Git scalar `desired` at `path` of the Git object
/// `object` of `kind` ([`WEBHOOK_REWRITES`]); the caller compares each with the live value.
pub(super) fn stored_forms<'v>(
    kind: &'v str,
    object: &'v Value,
    path: &'v [Seg],
    desired: &'v Value,
) -> impl Iterator<Item = Value> + 'v {
    WEBHOOK_REWRITES
        .iter()
        .filter(move |rule| rule.kind == kind && matches_any(&[rule.path], path))
        .filter(move |rule| (rule.applies)(object))
        .filter_map(move |rule| (rule.rewrite)(desired))
}

/// What Git sets, with what the webhooks add to a set list Git sets from another field of the
/// same object: a Switch's `redundancy.group` joins the `groups` Git lists (the webhook
/// appends it when missing). Borrowed unchanged when there is nothing to add.
pub(super) fn as_stored<'v>(kind: &KindInfo, desired: &'v Value) -> Cow<'v, Value> {
    if kind.kind != "Switch" {
        return Cow::Borrowed(desired);
    }
    let group = desired
        .pointer("/spec/redundancy/group")
        .and_then(Value::as_str);
    match (
        group,
        desired.pointer("/spec/groups").and_then(Value::as_array),
    ) {
        (Some(group), Some(groups))
            if !group.is_empty()
                && !groups.is_empty()
                && !groups.iter().any(|g| g.as_str() == Some(group)) =>
        {
            let mut stored = desired.clone();
            stored["spec"]["groups"]
                .as_array_mut()
                .expect("checked above")
                .push(Value::from(group));
            Cow::Owned(stored)
        }
        _ => Cow::Borrowed(desired),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::drift::test_support::{VPC, diff, kind, vpc_live, yaml};
    use crate::drift::{classify, compare, compare_exact};
    #[test]
    fn webhook_labels_and_last_applied_are_ignored_user_labels_are_not() {
        let mut desired = yaml(VPC);
        desired["metadata"]["labels"]["fabric.githedgehog.com/ipv4ns"] = json!("from-git");
        desired["metadata"]["annotations"] = json!({
            "fabric.githedgehog.com/route-summ": "vpc-0=10.0.0.0/24",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        });
        let live = vpc_live();
        assert_eq!(compare(kind("VPC"), &desired, &live), vec![]);

        let mut relabelled = live.clone();
        relabelled["metadata"]["labels"]["team"] = json!("red");
        assert_eq!(
            compare(kind("VPC"), &desired, &relabelled),
            vec![diff(
                "metadata.labels.team",
                Some(json!("blue")),
                Some(json!("red"))
            )]
        );
        let mut unlabelled = live;
        unlabelled["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove("team");
        assert_eq!(
            compare(kind("VPC"), &desired, &unlabelled),
            vec![diff("metadata.labels.team", Some(json!("blue")), None)]
        );
    }

    #[test]
    fn annotations_git_sets_are_compared_webhook_ones_are_not() {
        let mut desired = yaml(VPC);
        desired["metadata"]["annotations"] = json!({
            "owner": "alice",
            "fabric.githedgehog.com/route-summ": "from-git",
        });
        let mut live = vpc_live();
        live["metadata"]["annotations"] = json!({
            "owner": "alice",
            "fabric.githedgehog.com/route-summ": "vpc-0=10.0.0.0/24",
        });
        assert_eq!(compare(kind("VPC"), &desired, &live), vec![]);

        live["metadata"]["annotations"]["owner"] = json!("bob");
        assert_eq!(
            compare(kind("VPC"), &desired, &live),
            vec![diff(
                "metadata.annotations.owner",
                Some(json!("alice")),
                Some(json!("bob"))
            )]
        );
        assert!(classify(kind("VPC"), Some(&desired), Some(&live), true).is_drift());
    }

    #[test]
    fn server_metadata_status_and_namespace_are_ignored() {
        let desired = json!({"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
            "metadata": {"name": "a", "namespace": "", "generation": 1, "uid": "x"},
            "status": {"vni": 5}});
        let live = json!({"apiVersion": "vpc.githedgehog.com/v1", "kind": "Other",
            "metadata": {"name": "a", "namespace": "default", "generation": 9, "uid": "y"}});
        assert_eq!(compare(kind("VPC"), &desired, &live), vec![]);
        let renamed = json!({"metadata": {"name": "b"}});
        assert_eq!(
            compare(kind("VPC"), &desired, &renamed),
            vec![diff("metadata.name", Some(json!("a")), Some(json!("b")))]
        );
    }

    #[test]
    fn values_the_webhook_rewrites_match_their_stored_form_only() {
        let attachment = |subnet: &str| {
            json!({"kind": "VPCAttachment", "metadata": {"name": "a"},
                   "spec": {"subnet": subnet, "connection": "c"}})
        };
        let attach = kind("VPCAttachment");
        assert_eq!(
            compare(attach, &attachment("vpc-1"), &attachment("vpc-1/default")),
            vec![]
        );
        assert_eq!(
            compare(attach, &attachment("vpc-1/s"), &attachment("vpc-1/s")),
            vec![]
        );
        // Only the rewrite matches: another subnet, or a stored short form, is drift.
        assert_eq!(
            compare(attach, &attachment("vpc-1"), &attachment("vpc-1/other")),
            vec![diff(
                "spec.subnet",
                Some(json!("vpc-1")),
                Some(json!("vpc-1/other"))
            )]
        );
        assert_eq!(
            compare(attach, &attachment("vpc-1/default"), &attachment("vpc-1")).len(),
            1
        );
        assert_eq!(
            compare(attach, &attachment(""), &attachment("/default")).len(),
            1
        );
        // Exact mode compares two stored forms: no rewrite there.
        assert_eq!(
            compare_exact(attach, &attachment("vpc-1"), &attachment("vpc-1/default")).len(),
            1
        );

        let switch = |speeds: Value| {
            json!({"kind": "Switch", "metadata": {"name": "s"},
                   "spec": {"role": "server-leaf", "portSpeeds": speeds, "portGroupSpeeds": speeds}})
        };
        assert_eq!(
            compare(
                kind("Switch"),
                &switch(json!({"E1/1": "SPEED_25G", "E1/2": "10G"})),
                &switch(json!({"E1/1": "25G", "E1/2": "10G"}))
            ),
            vec![]
        );
        assert_eq!(
            compare(
                kind("Switch"),
                &switch(json!({"E1/1": "SPEED_25G"})),
                &switch(json!({"E1/1": "10G"}))
            )
            .len(),
            2
        );
        // The rules belong to their kind and path.
        let server = |description: &str| json!({"kind": "Server", "metadata": {"name": "s"}, "spec": {"description": description}});
        assert_eq!(
            compare(kind("Server"), &server("x"), &server("x/default")).len(),
            1
        );
        let other_path = json!({"kind": "VPCAttachment", "metadata": {"name": "a"},
                                "spec": {"connection": "c"}});
        let other_live = json!({"kind": "VPCAttachment", "metadata": {"name": "a"},
                                "spec": {"connection": "c/default"}});
        assert_eq!(compare(attach, &other_path, &other_live).len(), 1);
    }

    #[test]
    fn a_switch_redundancy_group_joins_the_groups_git_lists() {
        let switch = |groups: Value, redundancy: &str| {
            json!({"kind": "Switch", "metadata": {"name": "s"},
                   "spec": {"role": "server-leaf", "groups": groups,
                            "redundancy": {"group": redundancy, "type": "eslag"}}})
        };
        let info = kind("Switch");
        let stored = switch(json!(["border", "eslag-1"]), "eslag-1");
        assert_eq!(
            compare(info, &switch(json!(["border"]), "eslag-1"), &stored),
            vec![]
        );
        assert_eq!(compare(info, &stored, &stored), vec![]);
        // Another extra group, or a missing listed one, is still drift, shown as stored.
        assert_eq!(
            compare(
                info,
                &switch(json!(["border"]), "eslag-1"),
                &switch(json!(["border", "eslag-2"]), "eslag-1")
            ),
            vec![diff(
                "spec.groups",
                Some(json!(["border", "eslag-1"])),
                Some(json!(["border", "eslag-2"]))
            )]
        );
        assert_eq!(
            compare(
                info,
                &switch(json!(["border"]), ""),
                &switch(json!(["border", "eslag-1"]), "")
            )
            .len(),
            1
        );
        // Only for Switches.
        let vpc = json!({"kind": "VPC", "metadata": {"name": "v"},
                         "spec": {"groups": ["a"], "redundancy": {"group": "b"}}});
        let vpc_live = json!({"kind": "VPC", "metadata": {"name": "v"},
                              "spec": {"groups": ["a", "b"], "redundancy": {"group": "b"}}});
        assert_eq!(compare(kind("VPC"), &vpc, &vpc_live).len(), 1);
    }

    /// A Gateway as Git may write it, and as the gateway webhook stores it.
    fn gateway(spec: Value) -> Value {
        json!({"apiVersion": "gateway.githedgehog.com/v1alpha1", "kind": "Gateway",
               "metadata": {"name": "gateway-1"}, "spec": spec})
    }

    fn stored_gateway(spec: Value) -> Value {
        let mut live = gateway(spec);
        live["metadata"]["namespace"] = json!("default");
        live["metadata"]["generation"] = json!(1);
        live
    }

    #[test]
    fn gateway_webhook_defaults_are_not_drift() {
        let info = kind("Gateway");
        // Left out in Git, filled in live: logs, workers, groups, profiling.
        let sparse = gateway(json!({"asn": 65534, "interfaces": {"enp2s1": {}}}));
        let defaulted = stored_gateway(json!({"asn": 65534, "interfaces": {"enp2s1": {}},
            "logs": {"default": "info", "tags": {"all": "info"}}, "workers": 4,
            "groups": [{"name": "default"}], "profiling": {}}));
        assert_eq!(compare(info, &sparse, &defaulted), vec![]);
        // Written as Go's zero values in Git: each is what Default() replaces.
        let zeros = gateway(
            json!({"asn": 65534, "workers": 0, "groups": [], "profiling": {},
            "logs": {"default": "", "tags": {}, "rateLimit": {"burst": 0, "replenishPerSecond": 0}}}),
        );
        let stored = stored_gateway(json!({"asn": 65534, "workers": 4,
            "groups": [{"name": "default"}], "profiling": {},
            "logs": {"default": "info", "tags": {"all": "info"},
                     "rateLimit": {"burst": 50, "replenishPerSecond": 5}}}));
        assert_eq!(compare(info, &zeros, &stored), vec![]);
        // Groups are sorted by name.
        let groups =
            gateway(json!({"groups": [{"name": "zeta", "priority": 1}, {"name": "alpha"}]}));
        let sorted =
            stored_gateway(json!({"groups": [{"name": "alpha"}, {"name": "zeta", "priority": 1}]}));
        assert_eq!(compare(info, &groups, &sorted), vec![]);
    }

    #[test]
    fn a_real_gateway_change_is_drift() {
        let info = kind("Gateway");
        let git = gateway(json!({"workers": 4, "logs": {"default": "debug"},
            "groups": [{"name": "default"}]}));
        let mut live = stored_gateway(json!({"workers": 8, "logs": {"default": "debug",
            "tags": {"all": "info"}}, "groups": [{"name": "default"}]}));
        assert_eq!(
            compare(info, &git, &live),
            vec![diff("spec.workers", Some(json!(4)), Some(json!(8)))]
        );
        // A zero in Git matches the default only: another value is drift.
        let zero = gateway(json!({"workers": 0, "logs": {"default": ""}}));
        live["spec"]["logs"]["default"] = json!("trace");
        assert_eq!(
            compare(info, &zero, &live),
            vec![
                diff("spec.logs.default", Some(json!("")), Some(json!("trace"))),
                diff("spec.workers", Some(json!(0)), Some(json!(8))),
            ]
        );
        let limited =
            gateway(json!({"logs": {"rateLimit": {"burst": 0, "replenishPerSecond": 0}}}));
        let other_limits =
            stored_gateway(json!({"logs": {"rateLimit": {"burst": 10, "replenishPerSecond": 5}}}));
        assert_eq!(
            compare(info, &limited, &other_limits),
            vec![diff(
                "spec.logs.rateLimit.burst",
                Some(json!(0)),
                Some(json!(10))
            )]
        );
        let member = gateway(json!({"groups": [{"name": "group-1", "priority": 10}]}));
        assert_eq!(
            compare(
                info,
                &member,
                &stored_gateway(json!({"groups": [{"name": "default"}]}))
            )
            .len(),
            1,
            "another group is drift"
        );
    }

    /// The docs' masquerade peering (gateway-peering.md), as Git may spell it.
    fn peering(spec: Value) -> Value {
        json!({"apiVersion": "gateway.githedgehog.com/v1alpha1", "kind": "GatewayPeering",
               "metadata": {"name": "vpc-1--vpc-2", "namespace": "default"}, "spec": spec})
    }

    fn sides(vpc1_nat: Value) -> Value {
        json!({
            "vpc-1": {"expose": [{"ips": [{"cidr": "10.0.0.0/24"}], "as": [{"cidr": "10.0.1.0/31"}],
                                  "nat": vpc1_nat}]},
            "vpc-2": {"expose": [{"ips": [{"cidr": "192.168.0.0/16"}]}]},
        })
    }

    fn stored_peering(spec: Value) -> Value {
        let mut live = peering(spec);
        live["metadata"]["labels"] = json!({"vpc.gateway.githedgehog.com/vpc-1": "true",
                                            "vpc.gateway.githedgehog.com/vpc-2": "true"});
        live["metadata"]["uid"] = json!("u");
        live
    }

    #[test]
    fn gateway_peering_webhook_defaults_are_not_drift() {
        let info = kind("GatewayPeering");
        // Left out in Git: labels, group, idle timeout, `match: {}`, scope all appear live.
        let git = peering(json!({"peering": sides(json!({"masquerade": {}})),
            "acl": {"default": "deny", "rules": [{"from": "vpc-1", "action": "allow"}]}}));
        let live = stored_peering(json!({"gatewayGroup": "default",
            "peering": sides(json!({"masquerade": {"idleTimeout": "2m0s"}})),
            "acl": {"default": "deny", "rules": [{"from": "vpc-1", "action": "allow",
                                                  "match": {}, "scope": "flow"}]}}));
        assert_eq!(compare(info, &git, &live), vec![]);
        // Git's zero values and a short duration: what Default() and Go's round trip store.
        let zeros = peering(json!({"gatewayGroup": "",
            "peering": sides(json!({"portForward": {"idleTimeout": "0s",
                "ports": [{"port": "22", "as": "2222"}]}})),
            "acl": {"default": "", "rules": [{"from": "vpc-1", "action": "deny", "scope": ""}]}}));
        let stored = stored_peering(json!({"gatewayGroup": "default",
            "peering": sides(json!({"portForward": {"idleTimeout": "2m0s",
                "ports": [{"port": "22", "as": "2222"}]}})),
            "acl": {"default": "deny-unless-exposed",
                    "rules": [{"from": "vpc-1", "action": "deny", "scope": "flow", "match": {}}]}}));
        assert_eq!(compare(info, &zeros, &stored), vec![]);
        let short =
            peering(json!({"peering": sides(json!({"masquerade": {"idleTimeout": "5m"}}))}));
        let canonical = stored_peering(json!({"gatewayGroup": "default",
            "peering": sides(json!({"masquerade": {"idleTimeout": "5m0s"}}))}));
        assert_eq!(compare(info, &short, &canonical), vec![]);
        // The side labels are the webhook's: it writes "true" over whatever Git says.
        let mut labelled = short.clone();
        labelled["metadata"]["labels"] = json!({"vpc.gateway.githedgehog.com/vpc-1": "false"});
        assert_eq!(compare(info, &labelled, &canonical), vec![]);
        labelled["metadata"]["labels"] = json!({"team": "red"});
        assert_eq!(
            compare(info, &labelled, &canonical).len(),
            1,
            "a user label is compared"
        );
    }

    #[test]
    fn gateway_peering_defaults_only_apply_to_two_sided_peerings() {
        let info = kind("GatewayPeering");
        // Default() returns before its spec defaults unless there are exactly two sides, so
        // an empty group stays empty: a live `default` there is someone else's change.
        let one_side = json!({"gatewayGroup": "", "peering": {"vpc-1": {"expose": []}}});
        let mut live_one = peering(one_side.clone());
        live_one["spec"]["gatewayGroup"] = json!("default");
        assert_eq!(
            compare(info, &peering(one_side), &live_one),
            vec![diff(
                "spec.gatewayGroup",
                Some(json!("")),
                Some(json!("default"))
            )]
        );
        // A zero idle timeout keeps its canonical form only.
        let mut three = sides(json!({"masquerade": {"idleTimeout": "0s"}}));
        three["vpc-3"] = json!({"expose": []});
        let mut live_three = peering(json!({"peering": three.clone()}));
        live_three["spec"]["peering"]["vpc-1"]["expose"][0]["nat"]["masquerade"]["idleTimeout"] =
            json!("2m0s");
        assert_eq!(
            compare(
                info,
                &peering(json!({"peering": three.clone()})),
                &live_three
            )
            .len(),
            1
        );
        live_three["spec"]["peering"]["vpc-1"]["expose"][0]["nat"]["masquerade"]["idleTimeout"] =
            json!("0s");
        assert_eq!(
            compare(info, &peering(json!({"peering": three})), &live_three),
            vec![]
        );
    }

    #[test]
    fn a_changed_gateway_peering_expose_is_drift_at_its_path() {
        let info = kind("GatewayPeering");
        let git = peering(json!({"peering": sides(json!({"masquerade": {"idleTimeout": "5m"}}))}));
        let mut live = stored_peering(json!({"gatewayGroup": "default",
            "peering": sides(json!({"masquerade": {"idleTimeout": "5m0s"}}))}));
        live["spec"]["peering"]["vpc-1"]["expose"][0]["ips"][0]["cidr"] = json!("10.0.9.0/24");
        assert_eq!(
            compare(info, &git, &live),
            vec![diff(
                "spec.peering.vpc-1.expose[0].ips[0].cidr",
                Some(json!("10.0.0.0/24")),
                Some(json!("10.0.9.0/24"))
            )]
        );
        // Another idle timeout, another group, another ACL default: all drift.
        let changed = stored_peering(json!({"gatewayGroup": "group-1",
            "peering": sides(json!({"masquerade": {"idleTimeout": "10m0s"}})),
            "acl": {"default": "deny"}}));
        let git_acl = peering(json!({"gatewayGroup": "",
            "peering": sides(json!({"masquerade": {"idleTimeout": "5m"}})), "acl": {"default": ""}}));
        assert_eq!(
            compare(info, &git_acl, &changed)
                .iter()
                .map(|d| d.path.as_str())
                .collect::<Vec<_>>(),
            [
                "spec.acl.default",
                "spec.gatewayGroup",
                "spec.peering.vpc-1.expose[0].nat.masquerade.idleTimeout"
            ]
        );
    }
}
