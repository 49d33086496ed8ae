//! drift: decides, per object, whether the cluster matches Git — InSync, Drifted (with the
//! differing paths and both values), Missing, Orphan or Unknown — and keeps the fabric-level
//! verdict up to date incrementally. Pure computation: no I/O, no clocks.
//!
//! ## Semantic mode ([`compare`])
//!
//! Only what Git sets is compared: the walk follows the desired object, so a field present
//! only in the live object is a server default and never drift. Rules, each kept in one place:
//!
//! * **Ignored everywhere**: the top-level fields in [`IGNORED_TOP_LEVEL`] (`status`, and
//!   `apiVersion`/`kind`, which the caller already matched) and the metadata fields in
//!   [`IGNORED_METADATA`] (server-owned metadata, plus `namespace`, which the webhooks
//!   default).
//! * **Webhook-owned labels and annotations**: keys of `metadata.labels` and
//!   `metadata.annotations` for which [`is_webhook_owned`] holds are ignored (the Hedgehog
//!   webhooks delete user labels containing `fabric.githedgehog.com/` and add their own, the
//!   gateway webhook adds `vpc.gateway.githedgehog.com/<side>`, and kubectl writes its
//!   last-applied annotation). Every other label or annotation Git sets is compared.
//! * **Unset**: `null` in Git means "unset" and matches anything live, absence included. An
//!   empty map or list in Git (`spec: {}`, `ecmp: {}`, `groups: []`) also sets nothing: the
//!   webhooks round-trip objects through Go structs, which drop `omitempty` empty values and
//!   materialise others as `{}`, and may then default the field — so no live value, present
//!   or absent, can contradict it. A live `null` counts as absent.
//! * **Numbers** compare by value: `1001` (YAML) equals `1001.0` (JSON).
//! * **Set lists**: the lists named by the kind's `KindInfo::set_lists` (paths where `*`
//!   matches any map key or list index) are sorted by the webhooks, so they compare as sets —
//!   order and duplicates are irrelevant. Today these are IPv4Namespace `spec.subnets`; Switch
//!   `spec.groups` and `spec.vlanNamespaces`; VPC `spec.subnets.*.dhcp.options.{dnsServers,
//!   timeServers,advertisedRoutes}`; ExternalPeering `spec.permit.vpc.subnets` and
//!   `spec.permit.external.prefixes`; Gateway `spec.groups`. A set element from Git matches a live element by the
//!   same semantic rules (a map element may gain server fields). A differing set is reported
//!   once, at the list's path, with both whole lists.
//! * **Other lists** compare element by element when both have the same length (so a changed
//!   element is reported at its own path, e.g. `spec.ranges[0].to`); a length difference is
//!   reported once, at the list's path, with both whole lists.
//! * **Missing in live**: a key Git sets that the live map lacks is reported at that key's path
//!   with the desired value (pruned of what would be ignored) and `live: None`.
//!
//! * **Webhook rewrites**: where the webhooks *rewrite* a value Git sets into the form they
//!   store, the Git value matches a live value equal to its rewrite ([`WEBHOOK_REWRITES`]):
//!   VPCAttachment `subnet: vpc-1` stored as `vpc-1/default`, Switch port (group) speeds
//!   stored without their `SPEED_` prefix; Gateway zero values (`workers: 0`, `logs.default:
//!   ""`, rate limit `0`s) stored as their defaults (4, `info`, 50 and 5); GatewayPeering NAT
//!   idle timeouts stored as Go writes durations (`5m` → `5m0s`), and, for two-sided peerings
//!   only (`GatewayPeering.Default()` stops before its spec otherwise), a zero timeout as
//!   `2m0s`, an empty `gatewayGroup` as `default`, an empty `acl.default` as
//!   `deny-unless-exposed` and an empty rule `scope` as `flow`. Any other live value is drift
//!   as usual. And a Switch's `groups` (a set list) gain its `redundancy.group`
//!   (`rewrite::as_stored`).
//!
//! What semantic mode cannot know: the other rewrites — normalised DHCP static MACs (map
//! keys), `dhcp.range`/`options` removed when `dhcp.enable` is false. Git written in the stored form (as hhfab output is) never hits
//! these; for the rest, exact mode against a dry-run is the answer.
//!
//! ## Exact mode ([`compare_exact`])
//!
//! Compares the object a server-side dry-run apply returned with the live object, like
//! `kubectl diff`: both directions (a field only in the dry-run has `live: None`, a field only
//! live has `desired: None`), over everything except [`IGNORED_TOP_LEVEL`] and
//! [`IGNORED_METADATA`]. Labels are all compared: the dry-run went through the same webhooks.
//! Numbers, set lists and other lists follow the rules above; only `null` counts as absent
//! (both sides come from the server, so an empty `{}` on one side is a real difference).
//!
//! ## Paths
//!
//! Dotted from the object root. A map key is written bare when it is made only of ASCII
//! letters, digits, `-`, `_` and `/`; any other key (one with a dot, a space, a quote, an empty
//! key) is written as a JSON string: `metadata.labels."app.kubernetes.io/name"`. List items
//! follow their list without a dot: `spec.ranges[0].from`. Diffs come sorted by path, segment
//! by segment (list indices numerically).
//!
//! ## The incremental engine ([`DriftIndex`])
//!
//! Per fabric, per object: desired value, live value and verdict. Each change (a Git sync, one
//! watch event, a kind's list completing) recomputes only the objects it touches, and the
//! per-kind and fabric counters are adjusted in a single place ([`DriftIndex`]'s `update`) from
//! the verdicts themselves, so `fabric_status()` is O(1) and cannot disagree with them.

//!
//! ## Where each part lives
//!
//! `compare` walks two objects in either mode; `rewrite` holds what the API server and the
//! webhooks write that is not drift; `path` renders, orders and matches paths; `index` is
//! the [`DriftIndex`] and its [`Transition`]s; `counts` keeps the counters the verdicts imply.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kinds::KindInfo;

mod compare;
mod counts;
mod go_duration;
mod index;
mod path;
mod rewrite;
#[cfg(test)]
mod test_support;

pub use compare::{compare, compare_exact};
pub use counts::KindCounts;
pub use index::{DriftIndex, LiveReplaced, Transition};
pub use path::{PathSegment, parse_path};
pub use rewrite::{
    IGNORED_METADATA, IGNORED_TOP_LEVEL, Rewrite, WEBHOOK_REWRITES, WebhookRewrite,
    is_webhook_owned,
};

/// One JSON path where live differs from what Git sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// Dotted path from the object root, e.g. `spec.subnets.default.vlan`; list items as `[3]`.
    pub path: String,
    /// What Git sets there (`None`: Git does not set it — only in exact mode).
    pub desired: Option<Value>,
    /// What the cluster has (`None`: absent).
    pub live: Option<Value>,
}

/// The drift verdict for one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub enum Drift {
    /// No live view yet (the watch has not listed this kind).
    #[default]
    Unknown,
    InSync,
    Drifted(Vec<FieldDiff>),
    /// In Git, not in the cluster.
    Missing,
    /// In the cluster, not in Git.
    Orphan,
}

/// The verdict for one object. `live_known`: the watch has listed this kind, so a missing live
/// object really is missing. Neither side present is a caller's bug and reads as Unknown.
pub fn classify(
    kind: &KindInfo,
    desired: Option<&Value>,
    live: Option<&Value>,
    live_known: bool,
) -> Drift {
    classify_by(desired, live, live_known, |desired, live| {
        compare(kind, desired, live)
    })
}

/// [`classify`] for objects of any form: `compare` is called only when both sides are there
/// (the drift index decodes its held objects in it, and only then).
pub fn classify_by<O: ?Sized>(
    desired: Option<&O>,
    live: Option<&O>,
    live_known: bool,
    compare: impl FnOnce(&O, &O) -> Vec<FieldDiff>,
) -> Drift {
    match (desired, live) {
        (Some(desired), Some(live)) => {
            let diffs = compare(desired, live);
            if diffs.is_empty() {
                Drift::InSync
            } else {
                Drift::Drifted(diffs)
            }
        }
        (Some(_), None) if live_known => Drift::Missing,
        (None, Some(_)) => Drift::Orphan,
        _ => Drift::Unknown,
    }
}

/// A verdict without its details, for counters and the event log. `Absent`: the index holds
/// nothing for the key (neither Git nor the cluster has it) — the `from` of an object's first
/// transition and the `to` of its last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DriftKindTag {
    Absent,
    Unknown,
    InSync,
    Drifted,
    Missing,
    Orphan,
}

impl fmt::Display for DriftKindTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl Drift {
    pub fn tag(&self) -> DriftKindTag {
        match self {
            Drift::Unknown => DriftKindTag::Unknown,
            Drift::InSync => DriftKindTag::InSync,
            Drift::Drifted(_) => DriftKindTag::Drifted,
            Drift::Missing => DriftKindTag::Missing,
            Drift::Orphan => DriftKindTag::Orphan,
        }
    }

    /// Counts toward the fabric's drift count (Drifted, Missing, Orphan).
    pub fn is_drift(&self) -> bool {
        matches!(self, Drift::Drifted(_) | Drift::Missing | Drift::Orphan)
    }
}

/// A value on one line for summaries: strings bare, the rest as compact JSON, long ones cut.
fn short_value(value: Option<&Value>) -> String {
    const MAX: usize = 60;
    let text = match value {
        None => return "<absent>".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if text.chars().count() <= MAX {
        text
    } else {
        let cut: String = text.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

impl fmt::Display for FieldDiff {
    /// `spec.subnets.default.vlan: 1001 → 1999` (desired → live).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} → {}",
            self.path,
            short_value(self.desired.as_ref()),
            short_value(self.live.as_ref())
        )
    }
}

impl fmt::Display for Drift {
    /// The tag, plus the first differing path for Drifted: `Drifted (a.b: 1 → 2, +3 more)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.tag())?;
        if let Drift::Drifted(diffs) = self
            && let Some(first) = diffs.first()
        {
            write!(f, " ({first}")?;
            if diffs.len() > 1 {
                write!(f, ", +{} more", diffs.len() - 1)?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{VPC, kind, yaml};
    use super::*;
    #[test]
    fn classify_covers_every_presence_case() {
        let info = kind("VPC");
        let object = yaml(VPC);
        assert_eq!(classify(info, Some(&object), None, true), Drift::Missing);
        assert_eq!(classify(info, Some(&object), None, false), Drift::Unknown);
        assert_eq!(classify(info, None, Some(&object), true), Drift::Orphan);
        assert_eq!(classify(info, None, Some(&object), false), Drift::Orphan);
        assert_eq!(classify(info, None, None, true), Drift::Unknown);
        assert_eq!(
            classify(info, Some(&object), Some(&object), false),
            Drift::InSync
        );
    }
}
