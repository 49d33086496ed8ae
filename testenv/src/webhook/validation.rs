//! The validating half: the checks of the Hedgehog webhooks that make order matter
//! (githedgehog/fabric `Validate()` in `api/*/v1beta1/*_types.go` and `ValidateDelete` in
//! `pkg/ctrl/*_wh.go`; `shared/hedgehog/README.md` §2 and §8).
//!
//! On create and update (the object arrives already defaulted, as the mutating webhook runs
//! first): the namespace must be a fabric namespace and the name a lowercase RFC 1123
//! subdomain; then what the object refers to must exist in its namespace:
//!
//! | kind | needs |
//! |---|---|
//! | VPC | its IPv4Namespace and VLANNamespace |
//! | External | its IPv4Namespace |
//! | VPCAttachment | the VPC and that subnet of it, and the Connection |
//! | VPCPeering | exactly two VPCs, both present, with the listed subnets |
//! | ExternalPeering | the VPC (with the listed subnets) and the External |
//! | ExternalAttachment | the External and the Connection |
//! | Connection | its Switches and Servers (none for mclag/mclagDomain, as in the real code) |
//! | Switch | its VLANNamespaces and SwitchGroups |
//!
//! On delete, like the real code, by the reference labels the mutating webhook wrote: a VPC
//! with attachments, peerings, external peerings or static-external connections; a Connection
//! with VPC or External attachments; a Switch or Server with connections; an External with
//! attachments or peerings; an IPv4Namespace with VPCs or Externals; a VLANNamespace with
//! Switches or VPCs is refused.
//!
//! Differences from the real webhooks, on purpose: lookups stay in the object's namespace (the
//! real deletes list cluster-wide, which would let the tests' namespaces see each other), and
//! SwitchProfiles are not looked up (the real controller creates them from a built-in catalog
//! that testenv does not have). Not imitated: the field checks that need no other object
//! (IP ranges, name lengths, VLAN ranges, port names, ACLs) and the other cross-object rules
//! (subnets inside the IPv4Namespace, one native VLAN per connection, …).

use std::collections::BTreeSet;

use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use super::defaulting::{connection_endpoints, label, list_label, peering_vpcs};

/// The Hedgehog kinds users write: (group, kind, plural). The webhooks cover all of them but
/// SwitchGroup ([`webhook_kinds`]); checks look SwitchGroups up.
pub const KINDS: &[(&str, &str, &str)] = &[
    ("vpc.githedgehog.com", "VPC", "vpcs"),
    ("vpc.githedgehog.com", "External", "externals"),
    (
        "vpc.githedgehog.com",
        "ExternalAttachment",
        "externalattachments",
    ),
    ("vpc.githedgehog.com", "ExternalPeering", "externalpeerings"),
    ("vpc.githedgehog.com", "IPv4Namespace", "ipv4namespaces"),
    ("vpc.githedgehog.com", "VPCAttachment", "vpcattachments"),
    ("vpc.githedgehog.com", "VPCPeering", "vpcpeerings"),
    ("wiring.githedgehog.com", "Connection", "connections"),
    ("wiring.githedgehog.com", "Server", "servers"),
    ("wiring.githedgehog.com", "Switch", "switches"),
    ("wiring.githedgehog.com", "VLANNamespace", "vlannamespaces"),
    ("wiring.githedgehog.com", "SwitchGroup", "switchgroups"),
];

/// The kinds with webhooks: all of [`KINDS`] but SwitchGroup, which has none in the real
/// fabric either.
pub fn webhook_kinds() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)>
{
    KINDS.iter().filter(|(_, kind, _)| *kind != "SwitchGroup")
}

/// The version every Hedgehog kind serves.
pub const VERSION: &str = "v1beta1";

pub(crate) fn resource(kind: &str) -> ApiResource {
    let (group, kind, plural) = KINDS
        .iter()
        .find(|(_, k, _)| *k == kind)
        .copied()
        .expect("a kind of the table");
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, VERSION, kind), plural)
}

/// Reads what a check needs from the API server, as the webhook's own (admin) client.
pub(crate) struct Lookup<'a> {
    pub client: &'a kube::Client,
    pub namespace: &'a str,
}

impl Lookup<'_> {
    fn api(&self, kind: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), self.namespace, &resource(kind))
    }

    /// The object's `spec`, `None` when it does not exist.
    async fn spec(&self, kind: &str, name: &str) -> Result<Option<Value>, String> {
        match self.api(kind).get_opt(name).await {
            Ok(found) => Ok(found.map(|o| o.data["spec"].clone())),
            Err(e) => Err(format!("failed to get {kind} {name}: {e}")),
        }
    }

    async fn require(&self, kind: &str, name: &str, what: &str) -> Result<Value, String> {
        self.spec(kind, name)
            .await?
            .ok_or_else(|| format!("{what} {name} not found"))
    }

    /// Whether any object of `kind` carries the label `key=value`.
    async fn any_labelled(&self, kind: &str, key: &str, value: &str) -> Result<bool, String> {
        let params = ListParams::default()
            .labels(&format!("{key}={value}"))
            .limit(1);
        match self.api(kind).list_metadata(&params).await {
            Ok(list) => Ok(!list.items.is_empty()),
            Err(e) => Err(format!("error listing {kind}s: {e}")),
        }
    }
}

/// Whether `name` is a lowercase RFC 1123 subdomain (the real `nameChecker`).
fn is_rfc1123_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The string at `pointer`, or the real validator's "<what> is required" when it is empty.
fn required<'a>(spec: &'a Value, pointer: &str, what: &str) -> Result<&'a str, String> {
    let value = str_at(spec, pointer);
    if value.is_empty() {
        return Err(format!("{what} is required"));
    }
    Ok(value)
}

fn subnet_names(vpc_spec: &Value) -> BTreeSet<String> {
    vpc_spec["subnets"]
        .as_object()
        .map(|s| s.keys().cloned().collect())
        .unwrap_or_default()
}

/// Every subnet name in `listed` (a list, or nothing) is one of the VPC's; else the denial
/// `missing` words for the first that is not.
fn listed_subnets_exist(
    vpc_spec: &Value,
    listed: &Value,
    missing: impl Fn(&str) -> String,
) -> Result<(), String> {
    let known = subnet_names(vpc_spec);
    let names = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    for subnet in names {
        if !known.contains(subnet) {
            return Err(missing(subnet));
        }
    }
    Ok(())
}

/// Checks a create or update of `object` (already defaulted). `Err` is the denial message.
pub(crate) async fn check_write(
    lookup: &Lookup<'_>,
    kind: &str,
    object: &Value,
    fabric_namespaces: &BTreeSet<String>,
) -> Result<(), String> {
    let name = str_at(object, "/metadata/name");
    if !is_rfc1123_subdomain(name) {
        return Err(format!(
            "invalid resource name: name {name:?} does not match a lowercase RFC 1123 subdomain"
        ));
    }
    if !fabric_namespaces.contains(lookup.namespace) {
        let accepted: Vec<&str> = fabric_namespaces.iter().map(String::as_str).collect();
        return Err(format!(
            "invalid resource namespace: only default namespace is currently supported \
             (namespace {:?}; testenv treats {} as the fabric's default namespace)",
            lookup.namespace,
            accepted.join(", ")
        ));
    }
    let spec = &object["spec"];
    match kind {
        "VPC" | "External" => {
            let ipv4_namespace = str_at(spec, "/ipv4Namespace");
            lookup
                .require("IPv4Namespace", ipv4_namespace, "IPv4Namespace")
                .await?;
            if kind == "VPC" {
                let vlan_namespace = str_at(spec, "/vlanNamespace");
                lookup
                    .require("VLANNamespace", vlan_namespace, "VLANNamespace")
                    .await?;
            }
        }
        "VPCAttachment" => {
            let subnet = required(spec, "/subnet", "subnet")?;
            let Some((vpc_name, subnet_name)) = subnet.split_once('/') else {
                return Err("subnet should be in <vpc>/<subnet> format, subnet is missing".into());
            };
            if vpc_name.is_empty() {
                return Err("subnet should be in <vpc>/<subnet> format, vpc is missing".into());
            }
            let connection = required(spec, "/connection", "connection")?;
            let vpc = lookup.require("VPC", vpc_name, "vpc").await?;
            if !subnet_names(&vpc).contains(subnet_name) {
                return Err(format!("subnet {subnet_name} not found in vpc {vpc_name}"));
            }
            lookup
                .require("Connection", connection, "connection")
                .await?;
        }
        "VPCPeering" => {
            let map = spec.as_object().cloned().unwrap_or_default();
            let Some((vpc1, vpc2)) = peering_vpcs(&map) else {
                return Err("VPCPeering must have exactly 2 VPCs in each permit entry".into());
            };
            for vpc_name in [vpc1, vpc2] {
                let vpc = lookup.require("VPC", &vpc_name, "VPC").await?;
                for permit in spec["permit"].as_array().into_iter().flatten() {
                    listed_subnets_exist(&vpc, &permit[&vpc_name]["subnets"], |subnet| {
                        format!("subnet {subnet} not found in VPC {vpc_name}")
                    })?;
                }
            }
        }
        "ExternalPeering" => {
            let vpc_name = required(spec, "/permit/vpc/name", "vpc.name")?;
            let external = required(spec, "/permit/external/name", "external.name")?;
            let vpc = lookup.require("VPC", vpc_name, "vpc").await?;
            lookup.require("External", external, "external").await?;
            listed_subnets_exist(&vpc, &spec["permit"]["vpc"]["subnets"], |subnet| {
                format!("vpc {vpc_name} does not have subnet {subnet}")
            })?;
        }
        "ExternalAttachment" => {
            let external = required(spec, "/external", "external")?;
            let connection = required(spec, "/connection", "connection")?;
            lookup.require("External", external, "external").await?;
            lookup
                .require("Connection", connection, "connection")
                .await?;
        }
        "Connection" => {
            let map = spec.as_object().cloned().unwrap_or_default();
            let endpoints = connection_endpoints(&map).ok_or_else(|| {
                "exactly one connection type must be used, with ports as \"<device>/<port>\""
                    .to_string()
            })?;
            for switch in &endpoints.switches {
                lookup.require("Switch", switch, "switch").await?;
            }
            for server in &endpoints.servers {
                lookup.require("Server", server, "server").await?;
            }
        }
        "Switch" => {
            let names = |list: &str| -> Vec<String> {
                spec[list]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            };
            for namespace in names("vlanNamespaces") {
                if lookup.spec("VLANNamespace", &namespace).await?.is_none() {
                    return Err(format!(
                        "specified VLANNamespace {namespace} does not exist"
                    ));
                }
            }
            for group in names("groups") {
                if group.is_empty() {
                    return Err("group name cannot be empty".into());
                }
                if lookup.spec("SwitchGroup", &group).await?.is_none() {
                    return Err(format!("switch group {group} does not exist"));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Checks a delete of the object `name` of `kind`. `Err` is the denial message.
pub(crate) async fn check_delete(
    lookup: &Lookup<'_>,
    kind: &str,
    name: &str,
) -> Result<(), String> {
    // (kind of the referrer, label key, label value, what the denial says it has)
    let referrers: Vec<(&str, String, String, &str)> = match kind {
        "VPC" => vec![
            (
                "VPCAttachment",
                label("vpc"),
                name.into(),
                "VPC has attachments",
            ),
            (
                "VPCPeering",
                list_label("vpc", name),
                "true".into(),
                "VPC has peerings",
            ),
            (
                "ExternalPeering",
                label("vpc"),
                name.into(),
                "VPC has external peerings",
            ),
            (
                "Connection",
                label("vpc"),
                name.into(),
                "VPC has static external connections (using withinVPC option)",
            ),
        ],
        "Connection" => vec![
            (
                "VPCAttachment",
                label("connection"),
                name.into(),
                "connection has attachments",
            ),
            (
                "ExternalAttachment",
                label("connection"),
                name.into(),
                "connection has external attachments",
            ),
        ],
        "Switch" => vec![(
            "Connection",
            list_label("switch", name),
            "true".into(),
            "switch has connections",
        )],
        "Server" => vec![(
            "Connection",
            list_label("server", name),
            "true".into(),
            "server has connections",
        )],
        "External" => vec![
            (
                "ExternalAttachment",
                label("external"),
                name.into(),
                "external has attachments",
            ),
            (
                "ExternalPeering",
                label("external"),
                name.into(),
                "external has peerings",
            ),
        ],
        "IPv4Namespace" => vec![
            (
                "VPC",
                label("ipv4ns"),
                name.into(),
                "IPv4Namespace has VPCs",
            ),
            (
                "External",
                label("ipv4ns"),
                name.into(),
                "IPv4Namespace has externals",
            ),
        ],
        "VLANNamespace" => vec![
            (
                "Switch",
                list_label("vlanns", name),
                "true".into(),
                "VLANNamespace has switches",
            ),
            (
                "VPC",
                label("vlanns"),
                name.into(),
                "VLANNamespace has VPCs",
            ),
        ],
        _ => Vec::new(),
    };
    for (referrer, key, value, denial) in referrers {
        if lookup.any_labelled(referrer, &key, &value).await? {
            return Err(denial.to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_missing_references_are_required_by_name() {
        let spec =
            serde_json::json!({"external": "ext-1", "connection": "", "permit": {"vpc": {}}});
        assert_eq!(required(&spec, "/external", "external"), Ok("ext-1"));
        assert_eq!(
            required(&spec, "/connection", "connection"),
            Err("connection is required".to_string())
        );
        assert_eq!(
            required(&spec, "/permit/vpc/name", "vpc.name"),
            Err("vpc.name is required".to_string())
        );
    }

    #[test]
    fn names_must_be_lowercase_rfc1123_subdomains() {
        for good in ["vpc-1", "a", "a.b-c.d0", "0a"] {
            assert!(is_rfc1123_subdomain(good), "{good}");
        }
        for bad in ["", "VPC-1", "-a", "a-", "a..b", "a_b", "a/b"] {
            assert!(!is_rfc1123_subdomain(bad), "{bad}");
        }
    }
}
