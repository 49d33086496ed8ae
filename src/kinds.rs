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
    /// `Kind/name`: how logs, prompts and messages name an object (a fabric's objects share
    /// one namespace, so it is left out).
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

macro_rules! col {
    ($header:expr, $($path:expr),+) => {
        Column { header: $header, cell: |o| text_at(o, &[$($path),+]) }
    };
}

const VPC: &str = "vpc.githedgehog.com";
const WIRING: &str = "wiring.githedgehog.com";
const AGENT: &str = "agent.githedgehog.com";

/// The registry, in apply order. The 12 Hedgehog kinds of the seed, then Agent (read-only).
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

impl KindInfo {
    /// The JSON pointers of the only fields kept from live objects of this kind, or `None` to
    /// keep them whole. Controller-owned kinds hhdash only reads for health are cut down to what
    /// health needs, since they carry secrets; the kinds Git manages are kept whole for drift.
    pub fn live_fields(&self) -> Option<&'static [&'static str]> {
        match self.kind {
            "Agent" => Some(AGENT_LIVE_FIELDS),
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
    fn registry_holds_the_twelve_seed_kinds_plus_agent() {
        assert_eq!(desired_kinds().count(), 12);
        assert_eq!(KINDS.len(), 13);
        assert!(!by_kind("Agent").unwrap().writable());
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
        assert!(lookup("gateway").is_none());
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
    }
}
