//! What the API server and the Hedgehog webhooks write on their own, which is never drift:
//! server-owned metadata, webhook-owned labels and annotations, values the webhooks rewrite
//! into their stored form, and set-list members they add. The comparison in `compare` asks
//! here; the rules themselves are listed in the module doc of `drift`.

use std::borrow::Cow;

use serde_json::Value;

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
/// delete every user label containing `fabric.githedgehog.com/` and write their own, and
/// kubectl keeps its client-side apply record in an annotation.
pub fn is_webhook_owned(key: &str) -> bool {
    key.contains("fabric.githedgehog.com/")
        || key == "kubectl.kubernetes.io/last-applied-configuration"
}

/// What a webhook stores for a Git value; `None` when it keeps the value as it is.
pub type Rewrite = fn(&str) -> Option<String>;

/// Scalars the Hedgehog webhooks rewrite before storing them: (kind, path pattern as in
/// `KindInfo::set_lists`, the rewrite). In semantic mode a Git value matches a live value
/// equal to its rewrite.
pub const WEBHOOK_REWRITES: &[(&str, &str, Rewrite)] = &[
    // `subnet: vpc-1` means the VPC's subnet `default`; the webhook writes it out.
    ("VPCAttachment", "spec.subnet", |subnet| {
        (!subnet.is_empty() && !subnet.starts_with('/') && !subnet.contains('/'))
            .then(|| format!("{subnet}/default"))
    }),
    // `SPEED_25G` is stored as `25G`.
    ("Switch", "spec.portSpeeds.*", |speed| {
        speed.strip_prefix("SPEED_").map(str::to_string)
    }),
    ("Switch", "spec.portGroupSpeeds.*", |speed| {
        speed.strip_prefix("SPEED_").map(str::to_string)
    }),
];

/// Whether `live` is what the webhooks store for the Git value `desired` at `path` of a `kind`
/// object ([`WEBHOOK_REWRITES`]).
pub(super) fn is_stored_form(kind: &str, path: &[Seg], desired: &Value, live: &Value) -> bool {
    let (Some(desired), Some(live)) = (desired.as_str(), live.as_str()) else {
        return false;
    };
    WEBHOOK_REWRITES
        .iter()
        .any(|(rewritten_kind, pattern, rewrite)| {
            *rewritten_kind == kind
                && matches_any(&[pattern], path)
                && rewrite(desired).as_deref() == Some(live)
        })
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
}
