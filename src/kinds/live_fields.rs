//! kinds::live_fields: what hhdash keeps of the live objects of controller-owned kinds it only
//! reads for health (Agent, GatewayAgent): identity, generation and the status health reads,
//! never their secrets or their bulk.

use serde_json::Value;

use super::KindInfo;

/// What every cut-down live object keeps: its identity, version and generation.
const IDENTITY: &[&str] = &[
    "/apiVersion",
    "/kind",
    "/metadata/name",
    "/metadata/namespace",
    "/metadata/uid",
    "/metadata/resourceVersion",
    "/metadata/generation",
    "/metadata/creationTimestamp",
];

/// What hhdash keeps of a live Agent besides [`IDENTITY`]: identity, generation and the status fields health and the
/// Agents table read — nothing else. An Agent's `spec` carries secrets (`users[].password`
/// hashes, `users[].sshKeys`, `version.password` registry credentials) and its `status.state`
/// is the switch's whole NOS state; neither may reach the store, the screen, a copy, a log or
/// `--json`.
const AGENT_LIVE_FIELDS: &[&str] = &[
    "/status/lastHeartbeat",
    "/status/lastAppliedGen",
    "/status/lastAppliedTime",
    "/status/lastAttemptGen",
    "/status/lastAttemptTime",
    "/status/version",
    "/status/rebootRequired",
];

/// What hhdash keeps of a live GatewayAgent besides [`IDENTITY`]: the status health reads.
/// Its spec is a full copy of the Gateway, its peerings and VPCs (large, and Git already has
/// it), and its per-VPC/per-peering traffic counters change every few seconds.
const GATEWAY_AGENT_LIVE_FIELDS: &[&str] = &[
    "/spec/agentVersion",
    "/status/agentVersion",
    "/status/lastHeartbeat",
    "/status/lastAppliedGen",
    "/status/lastAppliedTime",
    "/status/state/frr",
    "/status/state/dataplane",
    "/status/state/bgp",
];

impl KindInfo {
    /// The JSON pointers of the fields kept, besides [`IDENTITY`], from live objects of this
    /// kind, or `None` to keep them whole. Controller-owned kinds hhdash only reads for health
    /// are cut down to what health needs, since they carry secrets or bulk; the kinds Git
    /// manages are kept whole for drift.
    fn health_fields(&self) -> Option<&'static [&'static str]> {
        match self.kind {
            "Agent" => Some(AGENT_LIVE_FIELDS),
            "GatewayAgent" => Some(GATEWAY_AGENT_LIVE_FIELDS),
            _ => None,
        }
    }

    /// `object` reduced to its identity and [`KindInfo::health_fields`] (unchanged for kinds
    /// kept whole).
    pub fn keep_live_fields(&self, object: serde_json::Value) -> serde_json::Value {
        let Some(fields) = self.health_fields() else {
            return object;
        };
        let mut kept = Value::Object(Default::default());
        for pointer in IDENTITY.iter().chain(fields) {
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
