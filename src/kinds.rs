//! kinds: the one registry of the Kubernetes kinds hhdash knows — group, version, plural,
//! apply rank, whether it is wiring, which lists the webhooks sort, and the table columns.
//! Kind-specific behaviour is data here; no other module matches on kind names.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Identifies one object of a fabric: kind, namespace and name. The shared vocabulary of every
/// module that handles objects (desired set, live view, store, drift, engine, UI).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectKey {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    /// `Kind/name`, without the namespace: how a fabric of one namespace names its objects
    /// (`config::Namespaces::object_name` picks this or `Kind/namespace/name`).
    pub fn kind_name(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// A column of a kind's table: a header and how to read the cell from the object.
#[derive(Debug)]
pub struct Column {
    pub header: &'static str,
    pub cell: fn(&Value) -> String,
}

/// Everything hhdash knows about one kind.
#[derive(Debug)]
pub struct KindInfo {
    pub kind: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub short_names: &'static [&'static str],
    pub namespaced: bool,
    /// Apply order: lower ranks first; prune runs in reverse. `None` for read-only kinds.
    pub apply_rank: Option<u8>,
    /// Wiring kinds make fabric drift Critical when Missing or Drifted.
    pub wiring: bool,
    /// JSON paths (`*` matches any map key or list index) of lists the Hedgehog webhooks sort,
    /// so drift compares them as sets.
    pub set_lists: &'static [&'static str],
    pub columns: &'static [Column],
}

impl KindInfo {
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }

    /// Whether hhdash may write this kind (Agent is read-only: the controller owns it).
    pub fn writable(&self) -> bool {
        self.apply_rank.is_some()
    }
}

/// Reads the string (or number/bool, printed) at a dotted path; "" when absent.
fn text_at(object: &Value, path: &[&str]) -> String {
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

fn label(object: &Value, key: &str) -> String {
    object
        .pointer("/metadata/labels")
        .and_then(|labels| labels.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn vpc_subnets(object: &Value) -> String {
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
fn connection_type(object: &Value) -> String {
    object
        .get("spec")
        .and_then(Value::as_object)
        .and_then(|spec| spec.keys().next().cloned())
        .unwrap_or_default()
}

/// The `device/port` strings a Connection links, collected from anywhere in its spec.
fn connection_endpoints(object: &Value) -> String {
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
    ports.join(" ")
}

fn ranges(object: &Value) -> String {
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

fn agent_heartbeat(object: &Value) -> String {
    text_at(object, &["status", "lastHeartbeat"])
}

fn agent_generations(object: &Value) -> String {
    format!(
        "{}/{}",
        text_at(object, &["status", "lastAppliedGen"]),
        text_at(object, &["metadata", "generation"])
    )
}

/// The keys of the map at `path`, space-separated (Gateway interfaces, GatewayPeering sides).
fn map_keys(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_object)
        .map(|map| map.keys().cloned().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// `a@b` for each entry of the list at `pointer` (an empty `b` leaves `a` alone).
fn list_pairs(object: &Value, pointer: &str, first: &str, second: &str, sep: &str) -> String {
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
fn peering_nat(object: &Value) -> String {
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
fn peering_acl(object: &Value) -> String {
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
fn gateway_bgp(object: &Value) -> String {
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
        Column { header: $header, cell: |o| text_at(o, &[$($path),+]) }
    };
}

const VPC: &str = "vpc.githedgehog.com";
const WIRING: &str = "wiring.githedgehog.com";
const AGENT: &str = "agent.githedgehog.com";
const GATEWAY: &str = "gateway.githedgehog.com";
const GWINT: &str = "gwint.githedgehog.com";

/// The registry, in apply order: the 12 fabric kinds and the three gateway kinds Git holds,
/// then the read-only kinds the controller writes (Agent, VPCInfo, GatewayAgent).
///
/// Gateway ranks follow the documented procedure and the references: GatewayGroup references
/// nothing (0); a Gateway names its groups and is created after its gateway Connections (3,
/// after Connection's 2); a GatewayPeering names a group, VPCs and `ext.` Externals (4, after
/// VPC and External's 3). Prune runs the ranks in reverse.
pub static KINDS: &[KindInfo] = &[
    KindInfo {
        kind: "SwitchGroup",
        group: WIRING,
        version: "v1beta1",
        plural: "switchgroups",
        short_names: &["sg"],
        namespaced: true,
        apply_rank: Some(0),
        wiring: true,
        set_lists: &[],
        columns: &[],
    },
    KindInfo {
        kind: "VLANNamespace",
        group: WIRING,
        version: "v1beta1",
        plural: "vlannamespaces",
        short_names: &["vlanns"],
        namespaced: true,
        apply_rank: Some(0),
        wiring: true,
        set_lists: &[],
        columns: &[Column {
            header: "Ranges",
            cell: ranges,
        }],
    },
    KindInfo {
        kind: "IPv4Namespace",
        group: VPC,
        version: "v1beta1",
        plural: "ipv4namespaces",
        short_names: &["ipns"],
        namespaced: true,
        apply_rank: Some(0),
        wiring: false,
        set_lists: &["spec.subnets"],
        columns: &[col!("Subnets", "spec", "subnets")],
    },
    KindInfo {
        kind: "GatewayGroup",
        group: GATEWAY,
        version: "v1alpha1",
        plural: "gatewaygroups",
        short_names: &["gwgr"],
        namespaced: true,
        apply_rank: Some(0),
        wiring: true,
        set_lists: &[],
        columns: &[],
    },
    KindInfo {
        kind: "Switch",
        group: WIRING,
        version: "v1beta1",
        plural: "switches",
        short_names: &["sw"],
        namespaced: true,
        apply_rank: Some(1),
        wiring: true,
        set_lists: &["spec.groups", "spec.vlanNamespaces"],
        columns: &[
            col!("Role", "spec", "role"),
            col!("Profile", "spec", "profile"),
            col!("ASN", "spec", "asn"),
            col!("IP", "spec", "ip"),
            col!("Groups", "spec", "groups"),
            col!("Descr", "spec", "description"),
        ],
    },
    KindInfo {
        kind: "Server",
        group: WIRING,
        version: "v1beta1",
        plural: "servers",
        short_names: &["srv"],
        namespaced: true,
        apply_rank: Some(1),
        wiring: true,
        set_lists: &[],
        columns: &[
            col!("Profile", "spec", "profile"),
            col!("Descr", "spec", "description"),
        ],
    },
    KindInfo {
        kind: "Connection",
        group: WIRING,
        version: "v1beta1",
        plural: "connections",
        short_names: &["conn"],
        namespaced: true,
        apply_rank: Some(2),
        wiring: true,
        set_lists: &[],
        columns: &[
            Column {
                header: "Type",
                cell: connection_type,
            },
            Column {
                header: "Endpoints",
                cell: connection_endpoints,
            },
        ],
    },
    KindInfo {
        kind: "VPC",
        group: VPC,
        version: "v1beta1",
        plural: "vpcs",
        short_names: &[],
        namespaced: true,
        apply_rank: Some(3),
        wiring: false,
        set_lists: &[
            "spec.subnets.*.dhcp.options.dnsServers",
            "spec.subnets.*.dhcp.options.timeServers",
            "spec.subnets.*.dhcp.options.advertisedRoutes",
        ],
        columns: &[
            col!("IPv4NS", "spec", "ipv4Namespace"),
            col!("VLANNS", "spec", "vlanNamespace"),
            Column {
                header: "Subnets",
                cell: vpc_subnets,
            },
        ],
    },
    KindInfo {
        kind: "External",
        group: VPC,
        version: "v1beta1",
        plural: "externals",
        short_names: &["ext"],
        namespaced: true,
        apply_rank: Some(3),
        wiring: false,
        set_lists: &[],
        columns: &[
            col!("IPv4NS", "spec", "ipv4Namespace"),
            col!("InComm", "spec", "inboundCommunity"),
            col!("OutComm", "spec", "outboundCommunity"),
        ],
    },
    KindInfo {
        kind: "Gateway",
        group: GATEWAY,
        version: "v1alpha1",
        plural: "gateways",
        short_names: &["gw"],
        namespaced: true,
        apply_rank: Some(3),
        wiring: true,
        // Gateway.Default() sorts groups by name (and Validate refuses duplicate names).
        set_lists: &["spec.groups"],
        columns: &[
            col!("ASN", "spec", "asn"),
            col!("ProtoIP", "spec", "protocolIP"),
            col!("VTEPIP", "spec", "vtepIP"),
            Column {
                header: "Interfaces",
                cell: |o| map_keys(o, "/spec/interfaces"),
            },
            Column {
                header: "Neighbors",
                cell: |o| list_pairs(o, "/spec/neighbors", "ip", "asn", "@"),
            },
            Column {
                header: "Groups",
                cell: |o| list_pairs(o, "/spec/groups", "name", "priority", ":"),
            },
        ],
    },
    KindInfo {
        kind: "ExternalAttachment",
        group: VPC,
        version: "v1beta1",
        plural: "externalattachments",
        short_names: &["extattach"],
        namespaced: true,
        apply_rank: Some(4),
        wiring: false,
        set_lists: &[],
        columns: &[
            col!("External", "spec", "external"),
            col!("Connection", "spec", "connection"),
        ],
    },
    KindInfo {
        kind: "ExternalPeering",
        group: VPC,
        version: "v1beta1",
        plural: "externalpeerings",
        short_names: &["extpeering", "extpeer"],
        namespaced: true,
        apply_rank: Some(4),
        wiring: false,
        set_lists: &["spec.permit.vpc.subnets", "spec.permit.external.prefixes"],
        columns: &[
            col!("VPC", "spec", "permit", "vpc", "name"),
            col!("External", "spec", "permit", "external", "name"),
        ],
    },
    KindInfo {
        kind: "VPCAttachment",
        group: VPC,
        version: "v1beta1",
        plural: "vpcattachments",
        short_names: &["vpcattach"],
        namespaced: true,
        apply_rank: Some(4),
        wiring: false,
        set_lists: &[],
        columns: &[
            col!("VPCSubnet", "spec", "subnet"),
            col!("Connection", "spec", "connection"),
            col!("NativeVLAN", "spec", "nativeVLAN"),
        ],
    },
    KindInfo {
        kind: "VPCPeering",
        group: VPC,
        version: "v1beta1",
        plural: "vpcpeerings",
        short_names: &["vpcpeer"],
        namespaced: true,
        apply_rank: Some(4),
        wiring: false,
        set_lists: &[],
        columns: &[
            Column {
                header: "VPC1",
                cell: |o| label(o, "fabric.githedgehog.com/vpc1"),
            },
            Column {
                header: "VPC2",
                cell: |o| label(o, "fabric.githedgehog.com/vpc2"),
            },
            col!("Remote", "spec", "remote"),
        ],
    },
    KindInfo {
        kind: "GatewayPeering",
        group: GATEWAY,
        version: "v1alpha1",
        plural: "gatewaypeerings",
        short_names: &["gwpeer"],
        namespaced: true,
        apply_rank: Some(4),
        wiring: false,
        // No list is sorted by the webhook: ACL rules are evaluated top-down, and expose, ips,
        // as and ports are plain ordered lists.
        set_lists: &[],
        columns: &[
            Column {
                header: "Sides",
                cell: |o| map_keys(o, "/spec/peering"),
            },
            Column {
                header: "NAT",
                cell: peering_nat,
            },
            Column {
                header: "ACL",
                cell: peering_acl,
            },
            col!("Group", "spec", "gatewayGroup"),
        ],
    },
    KindInfo {
        kind: "Agent",
        group: AGENT,
        version: "v1beta1",
        plural: "agents",
        short_names: &["ag"],
        namespaced: true,
        apply_rank: None,
        wiring: false,
        set_lists: &[],
        columns: &[
            col!("Reboot", "status", "rebootRequired"),
            Column {
                header: "Heartbeat",
                cell: agent_heartbeat,
            },
            Column {
                header: "Applied/Gen",
                cell: agent_generations,
            },
            col!("Version", "status", "version"),
        ],
    },
    KindInfo {
        kind: "VPCInfo",
        group: GATEWAY,
        version: "v1alpha1",
        plural: "vpcinfos",
        short_names: &["gwvpc"],
        namespaced: true,
        apply_rank: None,
        wiring: false,
        set_lists: &[],
        columns: &[
            col!("VNI", "spec", "vni"),
            Column {
                header: "Subnets",
                cell: |o| map_keys(o, "/spec/subnets"),
            },
            col!("InternalID", "status", "internalID"),
        ],
    },
    KindInfo {
        kind: "GatewayAgent",
        group: GWINT,
        version: "v1alpha1",
        plural: "gatewayagents",
        short_names: &["gwag"],
        namespaced: true,
        apply_rank: None,
        wiring: false,
        set_lists: &[],
        columns: &[
            Column {
                header: "Heartbeat",
                cell: agent_heartbeat,
            },
            Column {
                header: "Applied/Gen",
                cell: agent_generations,
            },
            col!("FRRGen", "status", "state", "frr", "lastAppliedGen"),
            col!("Version", "status", "agentVersion"),
            Column {
                header: "BGP",
                cell: gateway_bgp,
            },
        ],
    },
];

/// What hhdash keeps of a live Agent: identity, generation and the status fields health and the
/// Agents table read — nothing else. An Agent's `spec` carries secrets (`users[].password`
/// hashes, `users[].sshKeys`, `version.password` registry credentials) and its `status.state`
/// is the switch's whole NOS state; neither may reach the store, the screen, a copy, a log or
/// `--json`.
const AGENT_LIVE_FIELDS: &[&str] = &[
    "/apiVersion",
    "/kind",
    "/metadata/name",
    "/metadata/namespace",
    "/metadata/uid",
    "/metadata/resourceVersion",
    "/metadata/generation",
    "/metadata/creationTimestamp",
    "/status/lastHeartbeat",
    "/status/lastAppliedGen",
    "/status/lastAppliedTime",
    "/status/lastAttemptGen",
    "/status/lastAttemptTime",
    "/status/version",
    "/status/rebootRequired",
];

/// What hhdash keeps of a live GatewayAgent: identity, generation and the status health reads.
/// Its spec is a full copy of the Gateway, its peerings and VPCs (large, and Git already has
/// it), and its per-VPC/per-peering traffic counters change every few seconds.
const GATEWAY_AGENT_LIVE_FIELDS: &[&str] = &[
    "/apiVersion",
    "/kind",
    "/metadata/name",
    "/metadata/namespace",
    "/metadata/uid",
    "/metadata/resourceVersion",
    "/metadata/generation",
    "/metadata/creationTimestamp",
    "/spec/agentVersion",
    "/status/agentVersion",
    "/status/lastHeartbeat",
    "/status/lastAppliedGen",
    "/status/lastAppliedTime",
    "/status/state/frr",
    "/status/state/dataplane",
    "/status/state/bgp",
];

/// A kind name Hedgehog used before and no longer serves, with what to write instead.
#[derive(Debug)]
pub struct RenamedKind {
    pub group: &'static str,
    pub kind: &'static str,
    pub now: &'static str,
    /// What else changed besides the kind, for the per-document message.
    pub also: &'static str,
}

/// Older spellings a Git repository may still hold. hhdash does not rewrite them: the old
/// `Peering` also had other NAT fields (`as` alone for stateless NAT, `nat.stateful`), which
/// today's schema silently drops, so a blind rename could apply a different peering than the
/// author meant. Each such document is a per-document error naming the new spelling.
pub static RENAMED_KINDS: &[RenamedKind] = &[RenamedKind {
    group: GATEWAY,
    kind: "Peering",
    now: "GatewayPeering",
    also: "check its NAT too: `as` without `nat` (old stateless NAT) and `nat.stateful` were \
           replaced by `nat.static`, `nat.masquerade` and `nat.portForward`",
}];

/// The renamed kind a document's apiVersion and kind spell, if any.
pub fn renamed(api_version: &str, kind: &str) -> Option<&'static RenamedKind> {
    let group = api_version.split('/').next().unwrap_or_default();
    RENAMED_KINDS
        .iter()
        .find(|renamed| renamed.group == group && renamed.kind == kind)
}

impl KindInfo {
    /// The JSON pointers of the only fields kept from live objects of this kind, or `None` to
    /// keep them whole. Controller-owned kinds hhdash only reads for health are cut down to what
    /// health needs, since they carry secrets; the kinds Git manages are kept whole for drift.
    pub fn live_fields(&self) -> Option<&'static [&'static str]> {
        match self.kind {
            "Agent" => Some(AGENT_LIVE_FIELDS),
            "GatewayAgent" => Some(GATEWAY_AGENT_LIVE_FIELDS),
            _ => None,
        }
    }

    /// `object` reduced to [`KindInfo::live_fields`] (unchanged for kinds kept whole).
    pub fn keep_live_fields(&self, object: serde_json::Value) -> serde_json::Value {
        let Some(fields) = self.live_fields() else {
            return object;
        };
        let mut kept = Value::Object(Default::default());
        for pointer in fields {
            if let Some(value) = object.pointer(pointer) {
                insert_at(&mut kept, pointer, value.clone());
            }
        }
        kept
    }
}

/// Sets `value` at a JSON pointer of plain object keys, creating the objects on the way.
fn insert_at(root: &mut Value, pointer: &str, value: Value) {
    let mut node = root;
    let mut keys = pointer.split('/').skip(1).peekable();
    while let Some(key) = keys.next() {
        let Value::Object(map) = node else { return };
        if keys.peek().is_none() {
            map.insert(key.to_string(), value);
            return;
        }
        node = map
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
}

/// Looks a kind up by its `kind` name (exact, as in manifests).
pub fn by_kind(kind: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|info| info.kind == kind)
}

/// Looks a kind up the way an operator types it: kind, plural or short name, any case.
pub fn lookup(name: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|info| {
        info.kind.eq_ignore_ascii_case(name)
            || info.plural.eq_ignore_ascii_case(name)
            || info
                .short_names
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name))
    })
}

/// Whether an apiVersion belongs to one of the Hedgehog groups (served version or not).
pub fn is_hedgehog_group(api_version: &str) -> bool {
    let group = api_version.split('/').next().unwrap_or_default();
    KINDS.iter().any(|info| info.group == group)
}

/// The kinds Git may hold (everything writable), in apply order.
pub fn desired_kinds() -> impl Iterator<Item = &'static KindInfo> {
    KINDS.iter().filter(|info| info.writable())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registry_holds_the_fabric_and_gateway_kinds_and_three_read_only_ones() {
        assert_eq!(desired_kinds().count(), 15);
        assert_eq!(KINDS.len(), 18);
        for read_only in ["Agent", "VPCInfo", "GatewayAgent"] {
            assert!(!by_kind(read_only).unwrap().writable(), "{read_only}");
        }
        assert_eq!(
            by_kind("GatewayAgent").unwrap().api_version(),
            "gwint.githedgehog.com/v1alpha1"
        );
        assert!(is_hedgehog_group("gwint.githedgehog.com/v1alpha1"));
        assert_eq!(
            renamed("gateway.githedgehog.com/v1alpha1", "Peering")
                .unwrap()
                .now,
            "GatewayPeering"
        );
        assert!(renamed("example.com/v1", "Peering").is_none());
    }

    #[test]
    fn apply_ranks_put_references_before_referrers() {
        let rank = |k: &str| by_kind(k).unwrap().apply_rank.unwrap();
        assert!(rank("SwitchGroup") < rank("Switch"));
        assert!(rank("Switch") < rank("Connection"));
        assert!(rank("Server") < rank("Connection"));
        assert!(rank("Connection") < rank("VPC"));
        assert!(rank("VPC") < rank("VPCAttachment"));
        assert!(rank("External") < rank("ExternalPeering"));
        assert!(rank("GatewayGroup") < rank("Gateway"));
        assert!(
            rank("Connection") < rank("Gateway"),
            "gateway-add.md: Connections first"
        );
        for referenced in ["Gateway", "GatewayGroup", "VPC", "External"] {
            assert!(rank(referenced) < rank("GatewayPeering"), "{referenced}");
        }
        let ranks: Vec<u8> = desired_kinds().map(|k| k.apply_rank.unwrap()).collect();
        assert!(
            ranks.windows(2).all(|w| w[0] <= w[1]),
            "KINDS is in apply order"
        );
    }

    #[test]
    fn operators_can_name_kinds_like_kubectl() {
        assert_eq!(lookup("vpcs").unwrap().kind, "VPC");
        assert_eq!(lookup("conn").unwrap().kind, "Connection");
        assert_eq!(lookup("switch").unwrap().kind, "Switch");
        assert_eq!(lookup("gw").unwrap().kind, "Gateway");
        assert_eq!(lookup("gatewaypeerings").unwrap().kind, "GatewayPeering");
        assert!(lookup("peering").is_none());
    }

    #[test]
    fn live_agents_keep_what_health_reads_and_no_secret() {
        let agent = json!({
            "apiVersion": "agent.githedgehog.com/v1beta1", "kind": "Agent",
            "metadata": {"name": "leaf-1", "namespace": "default", "generation": 4,
                         "annotations": {"note": "x"}},
            "spec": {"users": [{"name": "admin", "password": "$5$hash", "sshKeys": ["ssh-ed25519 AAAA"]}],
                     "version": {"password": "registry-pass"}},
            "status": {"lastHeartbeat": "2025-01-02T03:04:05Z", "lastAppliedGen": 4,
                       "version": "v0.87.4", "rebootRequired": false,
                       "state": {"nos": {"serialNumber": "SN1"}}}
        });
        let info = by_kind("Agent").unwrap();
        let kept = info.keep_live_fields(agent.clone());
        assert_eq!(
            kept,
            json!({
                "apiVersion": "agent.githedgehog.com/v1beta1", "kind": "Agent",
                "metadata": {"name": "leaf-1", "namespace": "default", "generation": 4},
                "status": {"lastHeartbeat": "2025-01-02T03:04:05Z", "lastAppliedGen": 4,
                           "version": "v0.87.4", "rebootRequired": false}
            })
        );
        let now = crate::health::parse_rfc3339("2025-01-02T03:04:10Z").unwrap();
        assert_eq!(
            crate::health::classify_agent(&kept, now, 60),
            crate::health::classify_agent(&agent, now, 60)
        );
        let vpc = json!({"kind": "VPC", "spec": {"subnets": {}}, "metadata": {"labels": {}}});
        assert_eq!(by_kind("VPC").unwrap().keep_live_fields(vpc.clone()), vpc);
    }

    #[test]
    fn columns_read_kind_specific_fields() {
        let vpc = json!({"spec": {"ipv4Namespace": "default", "subnets": {
            "subnet-1": {"subnet": "10.0.1.0/24", "vlan": 1001}}}});
        let info = by_kind("VPC").unwrap();
        let cells: Vec<String> = info.columns.iter().map(|c| (c.cell)(&vpc)).collect();
        assert_eq!(cells, ["default", "", "subnet-1=10.0.1.0/24@1001"]);

        let conn = json!({"spec": {"unbundled": {"link": {
            "server": {"port": "server-01/enp2s1"}, "switch": {"port": "leaf-01/E1/1"}}}}});
        let info = by_kind("Connection").unwrap();
        let cells: Vec<String> = info.columns.iter().map(|c| (c.cell)(&conn)).collect();
        assert_eq!(cells, ["unbundled", "server-01/enp2s1 leaf-01/E1/1"]);

        let gateway = json!({"spec": {"asn": 65534, "protocolIP": "172.30.8.2/32",
            "vtepIP": "172.30.12.2/32",
            "interfaces": {"enp2s1": {"ips": ["172.30.128.1/31"]}, "enp2s2": {}},
            "neighbors": [{"ip": "172.30.128.0", "asn": 65101, "source": "enp2s1"}],
            "groups": [{"name": "default"}, {"name": "group-1", "priority": 10}]}});
        let info = by_kind("Gateway").unwrap();
        let cells: Vec<String> = info.columns.iter().map(|c| (c.cell)(&gateway)).collect();
        assert_eq!(
            cells,
            [
                "65534",
                "172.30.8.2/32",
                "172.30.12.2/32",
                "enp2s1 enp2s2",
                "172.30.128.0@65101",
                "default group-1:10"
            ]
        );

        let peering = json!({"spec": {"gatewayGroup": "", "peering": {
            "vpc-1": {"expose": [{"ips": [{"cidr": "10.0.1.0/24"}]}]},
            "vpc-2": {"expose": [{"ips": [{"cidr": "10.0.2.0/24"}], "as": [{"cidr": "192.168.0.0/24"}],
                                  "nat": {"masquerade": {"idleTimeout": "2m0s"}}}]}},
            "acl": {"rules": [{"action": "allow"}]}}});
        let info = by_kind("GatewayPeering").unwrap();
        let cells: Vec<String> = info.columns.iter().map(|c| (c.cell)(&peering)).collect();
        assert_eq!(
            cells,
            [
                "vpc-1 vpc-2",
                "vpc-2:masquerade",
                "deny-unless-exposed (1 rules)",
                ""
            ]
        );
    }

    #[test]
    fn live_gateway_agents_keep_health_state_not_the_copied_spec_or_counters() {
        let agent = json!({
            "apiVersion": "gwint.githedgehog.com/v1alpha1", "kind": "GatewayAgent",
            "metadata": {"name": "gateway-1", "namespace": "default", "generation": 3},
            "spec": {"agentVersion": "v1", "gateway": {"asn": 65534}, "peerings": {"p": {}}},
            "status": {"lastHeartbeat": "2026-01-01T00:00:00Z", "lastAppliedGen": 3,
                       "state": {"frr": {"lastAppliedGen": 3},
                                 "vpcs": {"vpc-1": {"p": 1, "b": 2, "d": 0}},
                                 "bgp": {"vrfs": {"default": {"neighbors": {
                                     "172.30.128.0": {"sessionState": "established"},
                                     "172.30.128.2": {"sessionState": "active"}}}}}}}
        });
        let info = by_kind("GatewayAgent").unwrap();
        let kept = info.keep_live_fields(agent);
        assert!(kept.pointer("/spec/gateway").is_none());
        assert!(kept.pointer("/status/state/vpcs").is_none());
        assert_eq!(kept["spec"]["agentVersion"], "v1");
        let cells: Vec<String> = info.columns.iter().map(|c| (c.cell)(&kept)).collect();
        assert_eq!(cells, ["2026-01-01T00:00:00Z", "3/3", "3", "", "1/2 up"]);
    }
}
