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

mod columns;
mod live_fields;
#[cfg(test)]
mod tests;

pub use columns::connection_ports;
use columns::*;

const VPC: &str = "vpc.githedgehog.com";
const WIRING: &str = "wiring.githedgehog.com";
const AGENT: &str = "agent.githedgehog.com";
const GATEWAY: &str = "gateway.githedgehog.com";
const GWINT: &str = "gwint.githedgehog.com";

/// The registry, in apply order: the 12 fabric kinds and the three gateway kinds Git holds,
/// then the read-only kinds the controller writes (Agent, SwitchProfile, VPCInfo, GatewayAgent).
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
        kind: "SwitchProfile",
        group: WIRING,
        version: "v1beta1",
        plural: "switchprofiles",
        short_names: &["sp"],
        namespaced: true,
        apply_rank: None,
        wiring: false,
        set_lists: &[],
        columns: &[Column {
            header: "Ports",
            cell: |o| map_len(o, "/spec/ports"),
        }],
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
