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
//!   materialised as `{}`.
//!
//! Not imitated: the rest of the Go round trip (zero values of `omitempty` fields dropped,
//! other nested structs materialised) and the VLANNamespace range normaliser (whose result
//! the real code keeps only when it fails).

use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

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

/// An IPv4 prefix as Go's `iputil.ParseCIDR` sees it: the network, its length and the last
/// address.
struct Cidr {
    network: u32,
    bits: u8,
    last: u32,
}

fn parse_cidr(text: &str) -> Option<Cidr> {
    let (addr, bits) = text.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let bits: u8 = bits.parse().ok().filter(|b| *b <= 32)?;
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    let network = u32::from(addr) & mask;
    Some(Cidr {
        network,
        bits,
        last: network | !mask,
    })
}

fn ip(addr: u32) -> Value {
    json!(Ipv4Addr::from(addr).to_string())
}

fn vpc(spec: &mut Map<String, Value>, labels: &mut Map<String, Value>) -> bool {
    default_string(spec, "ipv4Namespace", "default");
    default_string(spec, "vlanNamespace", "default");
    labels.insert(label("ipv4ns"), str_at(spec, "ipv4Namespace").into());
    labels.insert(label("vlanns"), str_at(spec, "vlanNamespace").into());
    if let Some(Value::Object(subnets)) = spec.get_mut("subnets") {
        for subnet in subnets.values_mut().filter_map(Value::as_object_mut) {
            object_entry(subnet, "dhcp");
            vpc_subnet(subnet);
        }
    }
    true
}

fn vpc_subnet(subnet: &mut Map<String, Value>) {
    let Some(cidr) = parse_cidr(str_at(subnet, "subnet")) else {
        return;
    };
    if str_at(subnet, "gateway").is_empty() && !bool_at(subnet, "hostBGP") {
        subnet.insert("gateway".into(), ip(cidr.network.wrapping_add(1)));
    }
    if cidr.bits > 30 {
        return;
    }
    let dhcp = object_entry(subnet, "dhcp");
    if !bool_at(dhcp, "enable") {
        dhcp.remove("range");
        dhcp.remove("options");
        return;
    }
    let range = object_entry(dhcp, "range");
    default_string(
        range,
        "start",
        &Ipv4Addr::from(cidr.network + 2).to_string(),
    );
    default_string(range, "end", &Ipv4Addr::from(cidr.last).to_string());
    if let Some(options) = dhcp.get_mut("options").and_then(Value::as_object_mut) {
        let sets_nothing = str_at(options, "pxeURL").is_empty()
            && is_nil(options, "dnsServers")
            && is_nil(options, "timeServers")
            && number_is_zero(options, "interfaceMTU")
            && number_is_zero(options, "leaseTimeSeconds")
            && !bool_at(options, "disableDefaultRoute")
            && is_nil(options, "advertisedRoutes");
        if sets_nothing {
            dhcp.remove("options");
            // The real code `continue`s here, past the MAC normalisation.
            return;
        }
        if number_is_zero(options, "interfaceMTU") {
            options.insert("interfaceMTU".into(), json!(9036));
        }
        if number_is_zero(options, "leaseTimeSeconds") {
            options.insert("leaseTimeSeconds".into(), json!(3600));
        }
        for list in ["dnsServers", "timeServers"] {
            let entry = options.entry(list).or_insert_with(|| json!([]));
            if !entry.is_array() {
                *entry = json!([]);
            }
            sort_strings(entry.as_array_mut().expect("just made a list"));
        }
        match options.get_mut("advertisedRoutes") {
            Some(Value::Array(routes)) if !routes.is_empty() => routes.sort_by(|a, b| {
                let key = |r: &Value| {
                    (
                        r["destination"].as_str().unwrap_or("").to_string(),
                        r["gateway"].as_str().unwrap_or("").to_string(),
                    )
                };
                key(a).cmp(&key(b))
            }),
            _ => {
                options.remove("advertisedRoutes");
            }
        }
    }
    if let Some(Value::Object(statics)) = dhcp.get_mut("static") {
        let renamed: Vec<(String, String)> = statics
            .keys()
            .filter_map(|mac| {
                normalise_mac(mac)
                    .filter(|n| n != mac)
                    .map(|n| (mac.clone(), n))
            })
            .collect();
        for (from, to) in renamed {
            if let Some(value) = statics.remove(&from) {
                statics.insert(to, value);
            }
        }
    }
}

/// A 48-bit MAC in any of Go's `net.ParseMAC` notations (`aa:bb:…`, `aa-bb-…`,
/// `aabb.ccdd.eeff`), written as Go prints it: lowercase, colon-separated.
pub(crate) fn normalise_mac(text: &str) -> Option<String> {
    let hex_pairs = |parts: Vec<&str>, width: usize| -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        for part in parts {
            if part.len() != width || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            for i in (0..width).step_by(2) {
                bytes.push(u8::from_str_radix(&part[i..i + 2], 16).ok()?);
            }
        }
        Some(bytes)
    };
    let bytes = if text.len() == 17 && text.contains(':') {
        hex_pairs(text.split(':').collect(), 2)?
    } else if text.len() == 17 && text.contains('-') {
        hex_pairs(text.split('-').collect(), 2)?
    } else if text.len() == 14 && text.contains('.') {
        hex_pairs(text.split('.').collect(), 4)?
    } else {
        return None;
    };
    (bytes.len() == 6).then(|| {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    })
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

fn connection(spec: &mut Map<String, Value>, labels: &mut Map<String, Value>) -> bool {
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

fn switch(spec: &mut Map<String, Value>, labels: &mut Map<String, Value>) -> bool {
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
    use super::*;

    fn defaulted(kind: &str, object: Value) -> Value {
        let mut object = object;
        default_object(kind, &mut object);
        object
    }

    #[test]
    fn vpc_gets_namespaces_gateway_dhcp_range_and_its_labels_only() {
        let vpc = defaulted(
            "VPC",
            json!({"metadata": {"name": "v", "namespace": "default", "labels": {
                "fabric.githedgehog.com/ipv4ns": "other", "team": "a",
                "x.fabric.githedgehog.com/y": "true"}},
              "spec": {"subnets": {
                "a": {"subnet": "10.10.1.0/24", "vlan": 1001, "dhcp": {"enable": true}},
                "b": {"subnet": "10.10.2.0/24", "vlan": 1002,
                      "dhcp": {"range": {"start": "10.10.2.10"}, "options": {"dnsServers": ["9.9.9.9"]}}},
                "c": {"subnet": "10.10.3.0/24", "vlan": 1003, "hostBGP": true},
                "d": {"subnet": "10.10.4.0/24", "vlan": 1004, "gateway": "10.10.4.254",
                      "dhcp": {"enable": true, "range": {"end": "10.10.4.99"},
                               "options": {"dnsServers": ["9.9.9.9", "1.1.1.1"], "leaseTimeSeconds": 60}}}}}}),
        );
        assert_eq!(
            vpc["metadata"]["labels"],
            json!({"team": "a", "fabric.githedgehog.com/ipv4ns": "default",
                   "fabric.githedgehog.com/vlanns": "default"})
        );
        let spec = &vpc["spec"];
        assert_eq!(spec["ipv4Namespace"], "default");
        assert_eq!(spec["vlanNamespace"], "default");
        let a = &spec["subnets"]["a"];
        assert_eq!(a["gateway"], "10.10.1.1");
        assert_eq!(
            a["dhcp"],
            json!({"enable": true, "range": {"start": "10.10.1.2", "end": "10.10.1.255"}})
        );
        // DHCP off: range and options go.
        assert_eq!(spec["subnets"]["b"]["dhcp"], json!({}));
        // hostBGP: no gateway; DHCP materialised as {}.
        assert_eq!(spec["subnets"]["c"].get("gateway"), None);
        assert_eq!(spec["subnets"]["c"]["dhcp"], json!({}));
        let d = &spec["subnets"]["d"];
        assert_eq!(d["gateway"], "10.10.4.254");
        assert_eq!(
            d["dhcp"],
            json!({"enable": true, "range": {"start": "10.10.4.2", "end": "10.10.4.99"},
                   "options": {"dnsServers": ["1.1.1.1", "9.9.9.9"], "timeServers": [],
                               "interfaceMTU": 9036, "leaseTimeSeconds": 60}})
        );
    }

    #[test]
    fn vpc_options_that_set_nothing_are_removed_and_macs_normalised() {
        let vpc = defaulted(
            "VPC",
            json!({"metadata": {"name": "v"}, "spec": {"subnets": {
                "a": {"subnet": "10.0.0.0/24", "dhcp": {"enable": true, "options": {},
                      "static": {"AA:BB:CC:DD:EE:FF": {"ip": "10.0.0.9"}}}},
                "b": {"subnet": "10.0.1.0/24", "dhcp": {"enable": true, "options": {"pxeURL": "tftp://x"},
                      "static": {"AA-BB-CC-DD-EE-01": {"ip": "10.0.1.9"}, "aabb.ccdd.ee02": {"ip": "10.0.1.8"}}}},
                "c": {"subnet": "10.0.2.8/31", "dhcp": {"enable": false, "range": {"start": "x"}}}}}}),
        );
        assert_eq!(vpc["metadata"]["namespace"], "default");
        let a = &vpc["spec"]["subnets"]["a"]["dhcp"];
        assert_eq!(a.get("options"), None);
        // The real code skips the normalisation after removing empty options.
        assert_eq!(
            a["static"],
            json!({"AA:BB:CC:DD:EE:FF": {"ip": "10.0.0.9"}})
        );
        let b = &vpc["spec"]["subnets"]["b"]["dhcp"];
        assert_eq!(
            b["static"],
            json!({"aa:bb:cc:dd:ee:01": {"ip": "10.0.1.9"}, "aa:bb:cc:dd:ee:02": {"ip": "10.0.1.8"}})
        );
        assert_eq!(b["options"]["interfaceMTU"], 9036);
        assert_eq!(b["options"]["dnsServers"], json!([]));
        // Longer than /30: gateway only, DHCP left alone.
        let c = &vpc["spec"]["subnets"]["c"];
        assert_eq!(c["gateway"], "10.0.2.9");
        assert_eq!(c["dhcp"]["range"]["start"], "x");
    }

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

    #[test]
    fn macs_in_go_notations() {
        assert_eq!(
            normalise_mac("0C:20:12:FF:02:00").as_deref(),
            Some("0c:20:12:ff:02:00")
        );
        assert_eq!(
            normalise_mac("0c20.12ff.0200").as_deref(),
            Some("0c:20:12:ff:02:00")
        );
        assert_eq!(normalise_mac("not-a-mac"), None);
    }
}
