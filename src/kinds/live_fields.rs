//! kinds::live_fields: what hhdash keeps of the live objects of controller-owned kinds it only
//! reads for health (Agent, GatewayAgent, SwitchProfile): identity, generation and what health
//! reads, never their secrets or their bulk.

use serde_json::Value;

use super::KindInfo;
use crate::health::model::{AgentStatus, GatewayAgentStatus};

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

/// What hhdash keeps of a live SwitchProfile besides [`IDENTITY`]: the port naming health
/// needs (`health::profile`), not the feature flags and descriptions.
const SWITCH_PROFILE_LIVE_FIELDS: &[&str] = &["/spec/ports", "/spec/portProfiles"];

/// How a read-only kind's live object is cut down: [`IDENTITY`], these JSON pointers and,
/// with `status`, the `status` round-tripped through health's typed model (the agents' own
/// keys, only what health reads). An Agent's `spec` carries secrets (`users[].password`
/// hashes, `users[].sshKeys`, `version.password` registry credentials) and its status the
/// switch's whole NOS state with counters that change every heartbeat; a GatewayAgent's spec
/// is a copy of the Gateway and its status has traffic counters. None of that may reach the
/// store, the screen, a copy, a log or `--json`.
struct Keep {
    fields: &'static [&'static str],
    status: Option<fn(&Value) -> Value>,
}

fn agent_status(object: &Value) -> Value {
    serde_json::to_value(AgentStatus::of(object)).unwrap_or_default()
}

fn gateway_agent_status(object: &Value) -> Value {
    serde_json::to_value(GatewayAgentStatus::of(object)).unwrap_or_default()
}

impl KindInfo {
    /// How live objects of this kind are cut down, or `None` to keep them whole.
    /// Controller-owned kinds hhdash only reads for health are cut down to what health needs,
    /// since they carry secrets or bulk; the kinds Git manages are kept whole for drift.
    fn kept(&self) -> Option<Keep> {
        match self.kind {
            "Agent" => Some(Keep {
                fields: &[],
                status: Some(agent_status),
            }),
            "GatewayAgent" => Some(Keep {
                fields: &["/spec/agentVersion"],
                status: Some(gateway_agent_status),
            }),
            "SwitchProfile" => Some(Keep {
                fields: SWITCH_PROFILE_LIVE_FIELDS,
                status: None,
            }),
            _ => None,
        }
    }

    /// Whether live objects of this kind are cut down (`keep_live_fields` changes them).
    pub fn cuts_live_fields(&self) -> bool {
        self.kept().is_some()
    }

    /// `object` reduced to its identity and what [`KindInfo::kept`] says (unchanged for kinds
    /// kept whole).
    pub fn keep_live_fields(&self, object: serde_json::Value) -> serde_json::Value {
        let Some(keep) = self.kept() else {
            return object;
        };
        let mut kept = Value::Object(Default::default());
        for pointer in IDENTITY.iter().chain(keep.fields) {
            if let Some(value) = object.pointer(pointer) {
                insert_at(&mut kept, pointer, value.clone());
            }
        }
        if let (Some(status), Some(_)) = (keep.status, object.get("status")) {
            insert_at(&mut kept, "/status", status(&object));
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
