//! The mutating half: what the Hedgehog webhooks' `Default()` methods do to an object before
//! it is stored (githedgehog/fabric `api/*/v1beta1/*_types.go`, summarised in
//! `shared/hedgehog/README.md` §3). Pure functions on the object's JSON; no I/O.
//!
//! Imitated, per kind:
//!
//! * every kind: `metadata.namespace` set to `default` when empty (the API server fills it in
//!   from the request path first, so this only matters for objects without one), every label
//!   containing `fabric.githedgehog.com/` deleted, then the kind's own reference labels added;
//!   `spec` materialised as `{}` (the Go round trip: `Spec` is a struct, never omitted);
//! * VPC: `ipv4Namespace`/`vlanNamespace` default to `default`; each subnet gets `dhcp: {}`
//!   (Go struct), `gateway` = the first host unless set or `hostBGP`; for prefixes up to /30:
//!   DHCP off removes `dhcp.range` and `dhcp.options`, DHCP on fills `range.start` (the
//!   second host) and `range.end` (the last address); present `options` get `interfaceMTU`
//!   9036, `leaseTimeSeconds` 3600, sorted `dnsServers`/`timeServers` (`[]` when unset) and
//!   sorted `advertisedRoutes` (dropped when empty: `omitempty`), and options that set nothing
//!   are removed; DHCP static MACs are normalised to lowercase `aa:bb:cc:dd:ee:ff`;
//! * VPCAttachment: `subnet: vpc-1` becomes `vpc-1/default`; labels vpc, subnet, connection
//!   (and nativevlan);
//! * VPCPeering: labels `vpc1`/`vpc2` (sorted names) and `vpc.fabric.githedgehog.com/<vpc>`;
//! * External: `ipv4Namespace` defaults to `default`; label ipv4ns;
//! * ExternalAttachment: `switch` and `neighbor` materialised as `{}`; labels connection,
//!   external;
//! * ExternalPeering: `permit.vpc.subnets` and `permit.external.prefixes` sorted; labels vpc,
//!   external;
//! * IPv4Namespace: `subnets` sorted;
//! * Connection: label connection-type and `switch.`/`server.fabric.githedgehog.com/<name>`
//!   list labels (none at all for mclag and mclagDomain, which the real code skips);
//! * Switch: `SPEED_` stripped from port (group) speeds, `vlanNamespaces` defaults to
//!   `[default]`, the redundancy group appended to `groups`, both lists sorted,
//!   `linkFlapErrDisable` sub-fields defaulted (3, 30, 300); labels profile,
//!   `switchgroup.`/`vlanns.fabric.githedgehog.com/<name>`; `boot`, `redundancy`, `ecmp`
//!   materialised as `{}`;
//! * Gateway, GatewayGroup, GatewayPeering (`gateway.githedgehog.com/v1alpha1`): their labels
//!   are left alone (no `fabric.githedgehog.com/` rule there); Gateway gets log level, tags,
//!   rate limit, workers and sorted groups, GatewayPeering (two-sided only) its side labels,
//!   NAT idle timeouts, group, ACL default and rule scopes (details in `gateway`).
//!
//! Not imitated: the rest of the Go round trip (zero values of `omitempty` fields dropped,
//! other nested structs materialised, `metav1.Duration`s rewritten in Go's form: `5m` →
//! `5m0s`) and the VLANNamespace range normaliser (whose result the real code keeps only
//! when it fails).

//!
//! This module holds the shared steps (namespace, labels, Go-struct materialising) and the
//! VPC-side references; `vpc` the subnet defaults, `wiring` Connections and Switches,
//! `gateway` the gateway kinds.

use serde_json::{Map, Value, json};

mod gateway;
mod vpc;
mod wiring;

pub use gateway::{GATEWAY_KINDS, GATEWAY_VERSION};

use vpc::vpc;
pub(crate) use wiring::connection_endpoints;
use wiring::{connection, switch};

/// The label domain the webhooks own: every label key containing it is replaced.
pub const LABEL_DOMAIN: &str = "fabric.githedgehog.com/";

/// `fabric.githedgehog.com/<name>`.
pub(crate) fn label(name: &str) -> String {
    format!("{LABEL_DOMAIN}{name}")
}

/// `<list>.fabric.githedgehog.com/<value>`, whose value is always `true`.
pub(crate) fn list_label(list: &str, value: &str) -> String {
    format!("{list}.{LABEL_DOMAIN}{value}")
}

/// Applies the defaulting of `kind` to `object` in place (see the module doc).
pub fn default_object(kind: &str, object: &mut Value) {
    let Some(root) = object.as_object_mut() else {
        return;
    };
    let metadata = object_entry(root, "metadata");
    if str_at(metadata, "namespace").is_empty() {
        metadata.insert("namespace".into(), json!("default"));
    }
    let original = match metadata.get("labels") {
        Some(Value::Object(labels)) => labels.clone(),
        _ => Map::new(),
    };
    let mut labels = original.clone();
    labels.retain(|key, _| !key.contains(LABEL_DOMAIN));
    let spec = object_entry(root, "spec");
    let relabel = match kind {
        "VPC" => vpc(spec, &mut labels),
        "VPCAttachment" => vpc_attachment(spec, &mut labels),
        "VPCPeering" => vpc_peering(spec, &mut labels),
        "External" => {
            default_string(spec, "ipv4Namespace", "default");
            labels.insert(label("ipv4ns"), str_at(spec, "ipv4Namespace").into());
            true
        }
        "ExternalAttachment" => {
            object_entry(spec, "switch");
            object_entry(spec, "neighbor");
            labels.insert(label("connection"), str_at(spec, "connection").into());
            labels.insert(label("external"), str_at(spec, "external").into());
            true
        }
        "ExternalPeering" => external_peering(spec, &mut labels),
        "IPv4Namespace" => {
            if let Some(Value::Array(subnets)) = spec.get_mut("subnets") {
                sort_strings(subnets);
            }
            true
        }
        "Connection" => connection(spec, &mut labels),
        "Switch" => switch(spec, &mut labels),
        "Gateway" => {
            gateway::gateway(spec);
            false
        }
        "GatewayPeering" => {
            labels = original.clone();
            gateway::peering(spec, &mut labels);
            true
        }
        "GatewayGroup" => false,
        _ => true,
    };
    put_labels(
        object_entry(root, "metadata"),
        if relabel { labels } else { original },
    );
}

/// Writes the labels back; an empty map is dropped, as Go's `omitempty` does.
fn put_labels(metadata: &mut Map<String, Value>, labels: Map<String, Value>) {
    if labels.is_empty() {
        metadata.remove("labels");
    } else {
        metadata.insert("labels".into(), Value::Object(labels));
    }
}

/// The map at `key`, created (replacing a non-map) when absent: a Go struct field that is
/// never omitted.
fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = map.entry(key).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry.as_object_mut().expect("just made an object")
}

fn str_at<'a>(map: &'a Map<String, Value>, key: &str) -> &'a str {
    map.get(key).and_then(Value::as_str).unwrap_or("")
}

fn bool_at(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn number_is_zero(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).and_then(Value::as_f64).unwrap_or(0.0) == 0.0
}

/// Whether a Go slice field would be nil: absent or `null`.
fn is_nil(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).is_none_or(Value::is_null)
}

fn default_string(map: &mut Map<String, Value>, key: &str, value: &str) {
    if str_at(map, key).is_empty() {
        map.insert(key.into(), json!(value));
    }
}

fn sort_strings(items: &mut [Value]) {
    items.sort_by(|a, b| a.as_str().unwrap_or("").cmp(b.as_str().unwrap_or("")));
}

/// Returns false when the real code returns early, before the labels (no VPC in `subnet`).
fn vpc_attachment(spec: &mut Map<String, Value>, labels: &mut Map<String, Value>) -> bool {
    let subnet = str_at(spec, "subnet").to_string();
    let (vpc, subnet_name) = match subnet.split_once('/') {
        Some((vpc, name)) => (vpc.to_string(), name.to_string()),
        None => (subnet.clone(), String::new()),
    };
    if vpc.is_empty() {
        return false;
    }
    if !subnet.contains('/') {
        spec.insert("subnet".into(), json!(format!("{vpc}/default")));
    }
    let subnet_name = if subnet_name.is_empty() {
        "default".to_string()
    } else {
        subnet_name
    };
    labels.insert(label("vpc"), json!(vpc));
    labels.insert(label("subnet"), json!(subnet_name));
    labels.insert(label("connection"), str_at(spec, "connection").into());
    if bool_at(spec, "nativeVLAN") {
        labels.insert(label("nativevlan"), json!("true"));
    }
    true
}

/// The two VPCs of a peering, sorted, as `VPCPeeringSpec.VPCs()` finds them; `None` when the
/// permit list does not name exactly two (validation reports that).
pub(crate) fn peering_vpcs(spec: &Map<String, Value>) -> Option<(String, String)> {
    let mut vpcs: Vec<String> = Vec::new();
    for permit in spec.get("permit").and_then(Value::as_array)? {
        let permit = permit.as_object()?;
        if permit.len() != 2 {
            return None;
        }
        for name in permit.keys() {
            if !vpcs.contains(name) {
                vpcs.push(name.clone());
            }
        }
    }
    if vpcs.len() != 2 {
        return None;
    }
    vpcs.sort();
    Some((vpcs[0].clone(), vpcs[1].clone()))
}

fn vpc_peering(spec: &mut Map<String, Value>, labels: &mut Map<String, Value>) -> bool {
    if let Some((vpc1, vpc2)) = peering_vpcs(spec) {
        labels.insert(list_label("vpc", &vpc1), json!("true"));
        labels.insert(list_label("vpc", &vpc2), json!("true"));
        labels.insert(label("vpc1"), json!(vpc1));
        labels.insert(label("vpc2"), json!(vpc2));
    }
    true
}

fn external_peering(spec: &mut Map<String, Value>, labels: &mut Map<String, Value>) -> bool {
    let permit = object_entry(spec, "permit");
    let vpc = object_entry(permit, "vpc");
    labels.insert(label("vpc"), str_at(vpc, "name").into());
    if let Some(Value::Array(subnets)) = vpc.get_mut("subnets") {
        sort_strings(subnets);
    }
    let external = object_entry(permit, "external");
    labels.insert(label("external"), str_at(external, "name").into());
    if let Some(Value::Array(prefixes)) = external.get_mut("prefixes") {
        prefixes.sort_by(|a, b| {
            let prefix = |v: &Value| v["prefix"].as_str().unwrap_or("").to_string();
            prefix(a).cmp(&prefix(b))
        });
    }
    true
}

/// `object` after [`default_object`], for the tests of every kind.
#[cfg(test)]
fn defaulted(kind: &str, object: Value) -> Value {
    let mut object = object;
    default_object(kind, &mut object);
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_short_subnet_gets_default_and_labels() {
        let attach = defaulted(
            "VPCAttachment",
            json!({"metadata": {"name": "a", "namespace": "n"},
                   "spec": {"subnet": "vpc-1", "connection": "c-1", "nativeVLAN": true}}),
        );
        assert_eq!(attach["spec"]["subnet"], "vpc-1/default");
        assert_eq!(attach["metadata"]["namespace"], "n");
        assert_eq!(
            attach["metadata"]["labels"],
            json!({"fabric.githedgehog.com/vpc": "vpc-1", "fabric.githedgehog.com/subnet": "default",
                   "fabric.githedgehog.com/connection": "c-1", "fabric.githedgehog.com/nativevlan": "true"})
        );
        let full = defaulted(
            "VPCAttachment",
            json!({"metadata": {"name": "a"}, "spec": {"subnet": "vpc-1/s2", "connection": "c"}}),
        );
        assert_eq!(full["spec"]["subnet"], "vpc-1/s2");
        assert_eq!(
            full["metadata"]["labels"]["fabric.githedgehog.com/subnet"],
            "s2"
        );
        // No VPC part: returned before the labels, as the real code does.
        let empty = defaulted(
            "VPCAttachment",
            json!({"metadata": {"name": "a", "labels": {"fabric.githedgehog.com/vpc": "x"}},
                   "spec": {"subnet": "/s"}}),
        );
        assert_eq!(
            empty["metadata"]["labels"],
            json!({"fabric.githedgehog.com/vpc": "x"})
        );
    }

    #[test]
    fn peerings_and_externals_get_reference_labels_and_sorted_lists() {
        let peering = defaulted(
            "VPCPeering",
            json!({"metadata": {"name": "p"}, "spec": {"permit": [
                {"vpc-2": {"subnets": ["default"]}, "vpc-1": {"subnets": ["default"]}}]}}),
        );
        assert_eq!(
            peering["metadata"]["labels"],
            json!({"fabric.githedgehog.com/vpc1": "vpc-1", "fabric.githedgehog.com/vpc2": "vpc-2",
                   "vpc.fabric.githedgehog.com/vpc-1": "true", "vpc.fabric.githedgehog.com/vpc-2": "true"})
        );
        let ext_peering = defaulted(
            "ExternalPeering",
            json!({"metadata": {"name": "e"}, "spec": {"permit": {
                "vpc": {"name": "v", "subnets": ["s2", "s1"]},
                "external": {"name": "x", "prefixes": [{"prefix": "10.0.0.0/8"}, {"prefix": "0.0.0.0/0"}]}}}}),
        );
        assert_eq!(
            ext_peering["spec"]["permit"]["vpc"]["subnets"],
            json!(["s1", "s2"])
        );
        assert_eq!(
            ext_peering["spec"]["permit"]["external"]["prefixes"],
            json!([{"prefix": "0.0.0.0/0"}, {"prefix": "10.0.0.0/8"}])
        );
        assert_eq!(
            ext_peering["metadata"]["labels"]["fabric.githedgehog.com/vpc"],
            "v"
        );
        let attach = defaulted(
            "ExternalAttachment",
            json!({"metadata": {"name": "a"}, "spec": {"external": "x", "connection": "c"}}),
        );
        assert_eq!(attach["spec"]["switch"], json!({}));
        assert_eq!(attach["spec"]["neighbor"], json!({}));
        let external = defaulted("External", json!({"metadata": {"name": "x"}}));
        assert_eq!(external["spec"]["ipv4Namespace"], "default");
        let ipns = defaulted(
            "IPv4Namespace",
            json!({"metadata": {"name": "i"}, "spec": {"subnets": ["10.2.0.0/16", "10.1.0.0/16"]}}),
        );
        assert_eq!(
            ipns["spec"]["subnets"],
            json!(["10.1.0.0/16", "10.2.0.0/16"])
        );
        assert_eq!(ipns["metadata"].get("labels"), None);
    }

    #[test]
    fn defaulting_twice_changes_nothing_more() {
        let objects = [
            (
                "VPC",
                json!({"metadata": {"name": "v"}, "spec": {"subnets": {"a": {
                "subnet": "10.0.0.0/24", "dhcp": {"enable": true, "options": {"timeServers": ["b", "a"]}}}}}}),
            ),
            (
                "VPCAttachment",
                json!({"metadata": {"name": "a"}, "spec": {"subnet": "v", "connection": "c"}}),
            ),
            (
                "Switch",
                json!({"metadata": {"name": "s"}, "spec": {"redundancy": {"group": "g"}}}),
            ),
        ];
        for (kind, object) in objects {
            let once = defaulted(kind, object);
            assert_eq!(defaulted(kind, once.clone()), once, "{kind}");
        }
    }
}
