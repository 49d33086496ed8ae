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
//!   webhooks delete user labels containing `fabric.githedgehog.com/` and add their own, and
//!   kubectl writes its last-applied annotation). Every other label or annotation Git sets is
//!   compared.
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
//!   `spec.permit.external.prefixes`. A set element from Git matches a live element by the
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
//!   stored without their `SPEED_` prefix. Any other live value is drift as usual. And a
//!   Switch's `groups` (a set list) gain its `redundancy.group` ([`as_stored`]).
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

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::desired::ObjectKey;
use crate::kinds::{self, KindInfo};
use crate::status::{DriftState, DriftStatus};

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

/// One step of a path while walking; borrowed from the values being compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Sorts paths segment by segment, so `[2]` comes before `[10]`.
fn compare_paths(a: &[Seg], b: &[Seg]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x, y) {
            (Seg::Key(x), Seg::Key(y)) => x.cmp(y),
            (Seg::Index(x), Seg::Index(y)) => x.cmp(y),
            (Seg::Index(_), Seg::Key(_)) => Ordering::Less,
            (Seg::Key(_), Seg::Index(_)) => Ordering::Greater,
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

fn is_bare_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/'))
}

/// Renders a path in the documented form (see the module doc, "Paths").
fn render_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for (position, seg) in path.iter().enumerate() {
        match seg {
            Seg::Key(key) => {
                if position > 0 {
                    out.push('.');
                }
                if is_bare_key(key) {
                    out.push_str(key);
                } else {
                    out.push_str(&Value::String((*key).to_string()).to_string());
                }
            }
            Seg::Index(index) => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Whether `path` is one of the registry's set-list patterns (`*`: any key or index); also
/// matches [`WEBHOOK_REWRITES`] paths.
fn is_set_list(patterns: &[&str], path: &[Seg]) -> bool {
    patterns.iter().any(|pattern| {
        let mut depth = 0;
        for part in pattern.split('.') {
            let matches = match path.get(depth) {
                None => return false,
                Some(_) if part == "*" => true,
                Some(Seg::Key(key)) => *key == part,
                Some(Seg::Index(_)) => false,
            };
            if !matches {
                return false;
            }
            depth += 1;
        }
        depth == path.len()
    })
}

fn numbers_equal(a: &Number, b: &Number) -> bool {
    // Integers compare exactly (no f64 rounding above 2^53); anything else by value.
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn scalars_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => numbers_equal(x, y),
        _ => a == b,
    }
}

fn non_null(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !v.is_null())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Semantic,
    Exact,
}

/// One comparison: the rules of a mode for one kind, and the diffs found so far.
struct Walk<'a> {
    mode: Mode,
    kind: &'a str,
    set_lists: &'a [&'a str],
    diffs: Vec<(Vec<Seg<'a>>, FieldDiff)>,
}

impl<'a> Walk<'a> {
    fn new(mode: Mode, kind: &'a KindInfo) -> Self {
        Walk {
            mode,
            kind: kind.kind,
            set_lists: kind.set_lists,
            diffs: Vec::new(),
        }
    }

    /// Whether `live` is what the webhooks store for the Git value `desired` at `path`
    /// ([`WEBHOOK_REWRITES`]; semantic mode only, exact mode compares two stored forms).
    fn rewritten(&self, path: &[Seg], desired: &Value, live: &Value) -> bool {
        let (Some(desired), Some(live)) = (desired.as_str(), live.as_str()) else {
            return false;
        };
        self.mode == Mode::Semantic
            && WEBHOOK_REWRITES.iter().any(|(kind, pattern, rewrite)| {
                *kind == self.kind
                    && is_set_list(&[pattern], path)
                    && rewrite(desired).as_deref() == Some(live)
            })
    }

    fn finish(mut self) -> Vec<FieldDiff> {
        self.diffs.sort_by(|(a, _), (b, _)| compare_paths(a, b));
        self.diffs.into_iter().map(|(_, diff)| diff).collect()
    }

    fn report(&mut self, path: &[Seg<'a>], desired: Option<Value>, live: Option<Value>) {
        let diff = FieldDiff {
            path: render_path(path),
            desired,
            live,
        };
        self.diffs.push((path.to_vec(), diff));
    }

    /// The one place that decides which keys are not compared (see the module doc).
    fn ignored(&self, path: &[Seg], key: &str) -> bool {
        match path {
            [] => IGNORED_TOP_LEVEL.contains(&key),
            [Seg::Key("metadata")] => IGNORED_METADATA.contains(&key),
            [Seg::Key("metadata"), Seg::Key("labels" | "annotations")] => {
                self.mode == Mode::Semantic && is_webhook_owned(key)
            }
            _ => false,
        }
    }

    /// Semantic mode: what Git sets at `path`, against what live has there.
    fn semantic(&mut self, path: &mut Vec<Seg<'a>>, desired: &'a Value, live: Option<&'a Value>) {
        let live = non_null(live);
        match desired {
            Value::Null => {}
            Value::Object(wanted) if wanted.is_empty() => {}
            Value::Array(wanted) if wanted.is_empty() => {}
            Value::Object(wanted) => match live {
                Some(Value::Object(have)) => {
                    // Both maps iterate in key order, so one pass pairs them up without a
                    // lookup per key (the hot path of a full recompute). Should a build turn
                    // on serde_json's `preserve_order`, a miss is confirmed by a real lookup.
                    let mut cursor = have.iter().peekable();
                    for (key, value) in wanted {
                        if self.ignored(path, key) {
                            continue;
                        }
                        let mut found = None;
                        while let Some(&(live_key, live_value)) = cursor.peek() {
                            match live_key.as_str().cmp(key.as_str()) {
                                Ordering::Less => {
                                    cursor.next();
                                }
                                Ordering::Equal => {
                                    found = Some(live_value);
                                    cursor.next();
                                    break;
                                }
                                Ordering::Greater => break,
                            }
                        }
                        let found = found.or_else(|| have.get(key));
                        path.push(Seg::Key(key));
                        self.semantic(path, value, found);
                        path.pop();
                    }
                }
                other => {
                    if let Some(effective) = self.effective(path, desired) {
                        self.report(path, Some(effective), other.cloned());
                    }
                }
            },
            Value::Array(wanted) => match live {
                Some(Value::Array(have)) => self.lists(path, wanted, have),
                other => self.report(path, Some(desired.clone()), other.cloned()),
            },
            scalar => match live {
                Some(have) if scalars_equal(scalar, have) => {}
                Some(have) if self.rewritten(path, scalar, have) => {}
                other => self.report(path, Some(scalar.clone()), other.cloned()),
            },
        }
    }

    /// What Git really sets in `value`: without nulls, empty containers and ignored keys.
    /// `None` when that is nothing, so an absent live value is no drift.
    fn effective(&self, path: &mut Vec<Seg<'a>>, value: &'a Value) -> Option<Value> {
        match value {
            Value::Null => None,
            Value::Object(map) => {
                let mut kept = Map::new();
                for (key, child) in map {
                    if self.ignored(path, key) {
                        continue;
                    }
                    path.push(Seg::Key(key));
                    if let Some(child) = self.effective(path, child) {
                        kept.insert(key.clone(), child);
                    }
                    path.pop();
                }
                (!kept.is_empty()).then_some(Value::Object(kept))
            }
            Value::Array(items) if items.is_empty() => None,
            other => Some(other.clone()),
        }
    }

    /// Exact mode: both sides count; a field on one side only is drift.
    fn exact(&mut self, path: &mut Vec<Seg<'a>>, dry: Option<&'a Value>, live: Option<&'a Value>) {
        match (non_null(dry), non_null(live)) {
            (None, None) => {}
            (Some(Value::Object(dry)), Some(Value::Object(live))) => {
                for (key, value) in dry {
                    if self.ignored(path, key) {
                        continue;
                    }
                    path.push(Seg::Key(key));
                    self.exact(path, Some(value), live.get(key));
                    path.pop();
                }
                for (key, value) in live {
                    if dry.contains_key(key) || self.ignored(path, key) {
                        continue;
                    }
                    path.push(Seg::Key(key));
                    self.exact(path, None, Some(value));
                    path.pop();
                }
            }
            (Some(Value::Array(dry)), Some(Value::Array(live))) => self.lists(path, dry, live),
            (Some(dry), Some(live))
                if !dry.is_object() && !dry.is_array() && scalars_equal(dry, live) => {}
            (dry, live) => self.report(path, dry.cloned(), live.cloned()),
        }
    }

    /// Compares one element pair in this walk's mode.
    fn element(&mut self, path: &mut Vec<Seg<'a>>, wanted: &'a Value, have: &'a Value) {
        match self.mode {
            Mode::Semantic => self.semantic(path, wanted, Some(have)),
            Mode::Exact => self.exact(path, Some(wanted), Some(have)),
        }
    }

    /// Whether two elements match, by this walk's rules, without recording anything.
    fn element_matches(&self, path: &[Seg<'a>], wanted: &'a Value, have: &'a Value) -> bool {
        let container = |v: &Value| v.is_object() || v.is_array();
        if !container(wanted) && !container(have) {
            // The usual set item (a CIDR, a group name): no walk, no allocation per pair.
            return (self.mode == Mode::Semantic && wanted.is_null())
                || scalars_equal(wanted, have);
        }
        let mut probe = Walk {
            mode: self.mode,
            kind: self.kind,
            set_lists: self.set_lists,
            diffs: Vec::new(),
        };
        let mut path = path.to_vec();
        probe.element(&mut path, wanted, have);
        probe.diffs.is_empty()
    }

    fn lists(&mut self, path: &mut Vec<Seg<'a>>, wanted: &'a [Value], have: &'a [Value]) {
        let whole = |items: &[Value]| Some(Value::Array(items.to_vec()));
        if is_set_list(self.set_lists, path) {
            // Elements are matched under a `[0]` path, so patterns with `*` below a set list
            // still apply inside its elements.
            path.push(Seg::Index(0));
            let equal = {
                let at = path.as_slice();
                let covered = |from: &'a [Value], within: &'a [Value], forward: bool| {
                    from.iter().all(|x| {
                        (self.mode == Mode::Semantic && forward && x.is_null())
                            || within.iter().any(|y| {
                                if forward {
                                    self.element_matches(at, x, y)
                                } else {
                                    self.element_matches(at, y, x)
                                }
                            })
                    })
                };
                covered(wanted, have, true) && covered(have, wanted, false)
            };
            path.pop();
            if !equal {
                self.report(path, whole(wanted), whole(have));
            }
            return;
        }
        if wanted.len() != have.len() {
            self.report(path, whole(wanted), whole(have));
            return;
        }
        for (index, (x, y)) in wanted.iter().zip(have).enumerate() {
            path.push(Seg::Index(index));
            self.element(path, x, y);
            path.pop();
        }
    }
}

/// Semantic drift: the paths where `live` contradicts what Git (`desired`) sets, sorted by
/// path. Empty means in sync. Rules: see the module doc.
pub fn compare(kind: &KindInfo, desired: &Value, live: &Value) -> Vec<FieldDiff> {
    let desired = as_stored(kind, desired);
    let mut walk = Walk::new(Mode::Semantic, kind);
    walk.semantic(&mut Vec::new(), &desired, Some(live));
    walk.finish()
}

/// What Git sets, with what the webhooks add to a set list Git sets from another field of the
/// same object: a Switch's `redundancy.group` joins the `groups` Git lists (the webhook
/// appends it when missing). Borrowed unchanged when there is nothing to add.
fn as_stored<'v>(kind: &KindInfo, desired: &'v Value) -> Cow<'v, Value> {
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

/// Exact drift: every path where a server-side dry-run apply of the Git object (`dry_run`)
/// and `live` differ, in both directions, sorted by path. Rules: see the module doc.
pub fn compare_exact(kind: &KindInfo, dry_run: &Value, live: &Value) -> Vec<FieldDiff> {
    let mut walk = Walk::new(Mode::Exact, kind);
    walk.exact(&mut Vec::new(), Some(dry_run), Some(live));
    walk.finish()
}

/// The verdict for one object. `live_known`: the watch has listed this kind, so a missing live
/// object really is missing. Neither side present is a caller's bug and reads as Unknown.
pub fn classify(
    kind: &KindInfo,
    desired: Option<&Value>,
    live: Option<&Value>,
    live_known: bool,
) -> Drift {
    match (desired, live) {
        (Some(desired), Some(live)) => {
            let diffs = compare(kind, desired, live);
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

/// A change of one object's verdict, for the event log. Emitted whenever the verdict changes,
/// including Drifted → Drifted with different diffs.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub key: ObjectKey,
    pub from: DriftKindTag,
    pub to: DriftKindTag,
    /// The new verdict (`Unknown` when `to` is `Absent`).
    pub drift: Drift,
}

impl fmt::Display for Transition {
    /// `VPC/vpc-1 InSync → Drifted (spec.subnets.default.vlan: 1001 → 1999)`. The namespace is
    /// left out: a fabric manages one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} {} → ", self.key.kind, self.key.name, self.from)?;
        if self.to == DriftKindTag::Absent {
            // `drift` is only a placeholder once the object is gone.
            write!(f, "{}", self.to)
        } else {
            write!(f, "{}", self.drift)
        }
    }
}

/// Objects per verdict for one kind (or the whole fabric), derived from the per-object
/// verdicts. `desired`/`live`: objects Git has / the cluster has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    pub desired: usize,
    pub live: usize,
    pub in_sync: usize,
    pub drifted: usize,
    pub missing: usize,
    pub orphan: usize,
    pub unknown: usize,
}

impl KindCounts {
    /// Drifted + Missing + Orphan: what the fabric's drift count counts.
    pub fn drift_count(&self) -> usize {
        self.drifted + self.missing + self.orphan
    }
}

/// For kinds outside the registry: no set lists, not wiring.
static UNREGISTERED: KindInfo = KindInfo {
    kind: "",
    group: "",
    version: "",
    plural: "",
    short_names: &[],
    namespaced: true,
    apply_rank: None,
    wiring: false,
    set_lists: &[],
    columns: &[],
};

#[derive(Debug, Default)]
struct Entry {
    desired: Option<Value>,
    live: Option<Value>,
    drift: Drift,
    /// The bulk operation that last delivered `desired` / `live`; what a bulk replace did not
    /// deliver is swept afterwards (no second map of the incoming keys needed).
    desired_epoch: u64,
    live_epoch: u64,
}

/// What one object adds to the counters; zero for an absent object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Contribution {
    desired: bool,
    live: bool,
    tag: DriftKindTag,
    critical: bool,
}

impl Contribution {
    const ABSENT: Contribution = Contribution {
        desired: false,
        live: false,
        tag: DriftKindTag::Absent,
        critical: false,
    };

    fn of(info: &KindInfo, entry: &Entry) -> Self {
        let tag = entry.drift.tag();
        Contribution {
            desired: entry.desired.is_some(),
            live: entry.live.is_some(),
            tag,
            critical: info.wiring && matches!(tag, DriftKindTag::Missing | DriftKindTag::Drifted),
        }
    }

    /// Adds (`sign` = 1) or removes (`sign` = -1) this contribution.
    fn apply(self, counts: &mut KindCounts, critical: &mut usize, sign: isize) {
        let add = |n: &mut usize, on: bool| {
            if on {
                *n = n.wrapping_add_signed(sign);
            }
        };
        add(&mut counts.desired, self.desired);
        add(&mut counts.live, self.live);
        add(&mut counts.in_sync, self.tag == DriftKindTag::InSync);
        add(&mut counts.drifted, self.tag == DriftKindTag::Drifted);
        add(&mut counts.missing, self.tag == DriftKindTag::Missing);
        add(&mut counts.orphan, self.tag == DriftKindTag::Orphan);
        add(&mut counts.unknown, self.tag == DriftKindTag::Unknown);
        add(critical, self.critical);
    }
}

/// One change to one object.
enum Change {
    /// A new desired value, delivered by the bulk operation of the given epoch.
    Desired(Option<Value>, u64),
    Live(Option<Value>, u64),
    /// Nothing changed in the object, but something its verdict depends on did (whether its
    /// kind's live view or the desired set is known).
    Recheck,
}

impl Change {
    fn brings_value(&self) -> bool {
        matches!(self, Change::Desired(Some(_), _) | Change::Live(Some(_), _))
    }
}

/// Everything the index holds for one kind.
#[derive(Debug)]
struct KindSlot {
    info: &'static KindInfo,
    live_known: bool,
    counts: KindCounts,
    entries: BTreeMap<ObjectKey, Entry>,
}

impl KindSlot {
    fn new(kind: &str) -> Self {
        KindSlot {
            info: kinds::by_kind(kind).unwrap_or(&UNREGISTERED),
            live_known: false,
            counts: KindCounts::default(),
            entries: BTreeMap::new(),
        }
    }
}

/// The incremental drift engine of one fabric: desired and live objects per key, their
/// verdicts, and counters kept in step with the verdicts (see the module doc).
///
/// Until the first [`DriftIndex::set_desired_all`], an object seen only live is Unknown rather
/// than Orphan: nobody knows yet whether Git has it, and a dashboard that opens with the whole
/// cluster "orphaned" would cry wolf.
#[derive(Debug)]
pub struct DriftIndex {
    critical_threshold: Option<usize>,
    desired_known: bool,
    /// The desired set may say what Git does not want (`trust::desired_trust`); while it may
    /// not, live-only objects stay Unknown instead of Orphan.
    orphans_trusted: bool,
    /// Per kind: its objects, counters and live-known flag. Two ordered levels rather than one
    /// map of all keys: a lookup compares keys within one kind only, and a kind's re-list
    /// walks just that kind, while iteration stays in key order.
    kinds: BTreeMap<String, KindSlot>,
    total: KindCounts,
    /// Wiring objects that are Missing or Drifted.
    critical: usize,
    /// Numbers bulk operations, for their sweeps.
    epoch: u64,
}

impl DriftIndex {
    /// `critical_threshold`: fabric drift is Critical once this many objects drift.
    pub fn new(critical_threshold: Option<usize>) -> Self {
        DriftIndex {
            critical_threshold,
            desired_known: false,
            orphans_trusted: true,
            kinds: BTreeMap::new(),
            total: KindCounts::default(),
            critical: 0,
            epoch: 0,
        }
    }

    fn slot_mut(&mut self, kind: &str) -> &mut KindSlot {
        self.kinds
            .entry(kind.to_string())
            .or_insert_with(|| KindSlot::new(kind))
    }

    /// The single place where objects change and counters follow: takes the object's
    /// contribution out, applies the change, re-derives the verdict if its inputs changed, and
    /// puts the new contribution back.
    fn update(&mut self, key: ObjectKey, change: Change) -> Option<Transition> {
        let orphans_known = self.desired_known && self.orphans_trusted;
        let slot = match self.kinds.get_mut(&key.kind) {
            Some(slot) => slot,
            None if change.brings_value() => self
                .kinds
                .entry(key.kind.clone())
                .or_insert_with(|| KindSlot::new(&key.kind)),
            None => return None,
        };
        let info = slot.info;
        let (existed, entry) = match slot.entries.get_mut(&key) {
            Some(entry) => (true, entry),
            None if change.brings_value() => (false, slot.entries.entry(key.clone()).or_default()),
            None => return None,
        };
        let before = if existed {
            Contribution::of(info, entry)
        } else {
            Contribution::ABSENT
        };
        match change {
            Change::Desired(value, epoch) => {
                entry.desired_epoch = epoch;
                if entry.desired == value {
                    return None;
                }
                entry.desired = value;
            }
            Change::Live(value, epoch) => {
                entry.live_epoch = epoch;
                if entry.live == value {
                    return None;
                }
                entry.live = value;
            }
            Change::Recheck => {}
        }

        let from = if existed {
            entry.drift.tag()
        } else {
            DriftKindTag::Absent
        };
        let (after, transition) = match (&entry.desired, &entry.live) {
            (None, None) => {
                slot.entries.remove(&key);
                let gone = Transition {
                    key,
                    from,
                    to: DriftKindTag::Absent,
                    drift: Drift::Unknown,
                };
                (Contribution::ABSENT, Some(gone))
            }
            (desired, live) => {
                let drift = if desired.is_none() && !orphans_known {
                    Drift::Unknown
                } else {
                    classify(info, desired.as_ref(), live.as_ref(), slot.live_known)
                };
                let transition = (!existed || drift != entry.drift).then(|| Transition {
                    key,
                    from,
                    to: drift.tag(),
                    drift: drift.clone(),
                });
                entry.drift = drift;
                (Contribution::of(info, entry), transition)
            }
        };

        if before != after {
            before.apply(&mut slot.counts, &mut self.critical, -1);
            before.apply(&mut self.total, &mut 0, -1);
            after.apply(&mut slot.counts, &mut self.critical, 1);
            after.apply(&mut self.total, &mut 0, 1);
        }
        transition
    }

    fn next_epoch(&mut self) -> u64 {
        self.epoch += 1;
        self.epoch
    }

    /// Replaces the whole desired set (after a Git sync); later duplicates of a key win.
    /// Objects whose desired value did not change are not recompared. Returns the verdict
    /// changes in the order they happened: the given objects in their order, then what left
    /// Git, in key order.
    pub fn set_desired_all(
        &mut self,
        objects: impl IntoIterator<Item = (ObjectKey, Value)>,
    ) -> Vec<Transition> {
        let epoch = self.next_epoch();
        let first_sync = !self.desired_known;
        self.desired_known = true;

        let mut transitions: Vec<Transition> = objects
            .into_iter()
            .filter_map(|(key, value)| self.update(key, Change::Desired(Some(value), epoch)))
            .collect();
        // What this sync did not deliver left Git; and on the first sync, live-only objects
        // (Unknown until now) become orphans.
        let mut dropped = Vec::new();
        let mut live_only = Vec::new();
        for slot in self.kinds.values() {
            for (key, entry) in &slot.entries {
                if entry.desired.is_some() && entry.desired_epoch != epoch {
                    dropped.push(key.clone());
                } else if first_sync && entry.desired.is_none() {
                    live_only.push(key.clone());
                }
            }
        }
        for key in dropped {
            transitions.extend(self.update(key, Change::Desired(None, epoch)));
        }
        for key in live_only {
            transitions.extend(self.update(key, Change::Recheck));
        }
        transitions
    }

    /// Whether live-only objects may be called Orphan (see `trust`); re-judges them when the
    /// answer changes. Transitions in key order.
    pub fn set_orphans_trusted(&mut self, trusted: bool) -> Vec<Transition> {
        if self.orphans_trusted == trusted {
            return Vec::new();
        }
        self.orphans_trusted = trusted;
        let live_only: Vec<ObjectKey> = self
            .kinds
            .values()
            .flat_map(|slot| {
                slot.entries
                    .iter()
                    .filter(|(_, entry)| entry.desired.is_none())
                    .map(|(key, _)| key.clone())
            })
            .collect();
        live_only
            .into_iter()
            .filter_map(|key| self.update(key, Change::Recheck))
            .collect()
    }

    pub fn orphans_trusted(&self) -> bool {
        self.orphans_trusted
    }

    /// One watch event: the object's new live value (`None`: deleted). O(size of the object).
    pub fn set_live(&mut self, key: ObjectKey, live: Option<Value>) -> Option<Transition> {
        let epoch = self.epoch;
        self.update(key, Change::Live(live, epoch))
    }

    /// Marks a kind's live view as known (its watch has listed it) or not (the watch stopped);
    /// objects of that kind without a live value become Missing or Unknown accordingly. Live
    /// values already seen are kept and still compared. Transitions in key order.
    pub fn set_live_known(&mut self, kind: &str, known: bool) -> Vec<Transition> {
        let slot = self.slot_mut(kind);
        if slot.live_known == known {
            return Vec::new();
        }
        slot.live_known = known;
        self.recheck_without_live(kind)
    }

    fn recheck_without_live(&mut self, kind: &str) -> Vec<Transition> {
        let keys: Vec<ObjectKey> = self
            .kinds
            .get(kind)
            .map(|slot| {
                slot.entries
                    .iter()
                    .filter(|(_, entry)| entry.live.is_none())
                    .map(|(key, _)| key.clone())
                    .collect()
            })
            .unwrap_or_default();
        keys.into_iter()
            .filter_map(|key| self.update(key, Change::Recheck))
            .collect()
    }

    /// A re-list of one kind: `objects` is now the whole live set of `kind` (objects of other
    /// kinds in it are applied too, but nothing of theirs is removed). Marks the kind's live
    /// view known. Each object changes at most once (no Unknown → Missing → InSync chains);
    /// transitions come for the given objects in their order, then for the rest of the kind
    /// in key order.
    pub fn replace_live_kind(
        &mut self,
        kind: &str,
        objects: impl IntoIterator<Item = (ObjectKey, Value)>,
    ) -> Vec<Transition> {
        let epoch = self.next_epoch();
        self.slot_mut(kind).live_known = true;
        let mut transitions: Vec<Transition> = objects
            .into_iter()
            .filter_map(|(key, value)| self.update(key, Change::Live(Some(value), epoch)))
            .collect();
        let gone: Vec<ObjectKey> = self.kinds[kind]
            .entries
            .iter()
            .filter(|(_, entry)| entry.live.is_some() && entry.live_epoch != epoch)
            .map(|(key, _)| key.clone())
            .collect();
        for key in gone {
            transitions.extend(self.update(key, Change::Live(None, epoch)));
        }
        // Objects never listed may have been Unknown until now: Missing, once.
        transitions.extend(self.recheck_without_live(kind));
        transitions
    }

    fn entry(&self, key: &ObjectKey) -> Option<&Entry> {
        self.kinds.get(&key.kind)?.entries.get(key)
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Drift> {
        self.entry(key).map(|entry| &entry.drift)
    }

    /// The desired (Git) value of an object, for the side-by-side view.
    pub fn desired(&self, key: &ObjectKey) -> Option<&Value> {
        self.entry(key).and_then(|entry| entry.desired.as_ref())
    }

    /// The last-seen live value of an object.
    pub fn live(&self, key: &ObjectKey) -> Option<&Value> {
        self.entry(key).and_then(|entry| entry.live.as_ref())
    }

    /// Every object Git or the cluster has, with its verdict, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &Drift)> {
        self.kinds
            .values()
            .flat_map(|slot| slot.entries.iter().map(|(key, entry)| (key, &entry.drift)))
    }

    pub fn len(&self) -> usize {
        self.kinds.values().map(|slot| slot.entries.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a Git sync has delivered the desired set yet.
    pub fn desired_known(&self) -> bool {
        self.desired_known
    }

    pub fn live_known(&self, kind: &str) -> bool {
        self.kinds.get(kind).is_some_and(|slot| slot.live_known)
    }

    /// Counts for one kind (all zero for a kind the index has never held).
    pub fn counts(&self, kind: &str) -> KindCounts {
        self.kinds
            .get(kind)
            .map(|slot| slot.counts)
            .unwrap_or_default()
    }

    /// Counts per kind, for every kind the index has held or been told about, by kind name.
    pub fn kind_counts(&self) -> impl Iterator<Item = (&str, KindCounts)> {
        self.kinds
            .iter()
            .map(|(kind, slot)| (kind.as_str(), slot.counts))
    }

    /// Counts over the whole fabric.
    pub fn totals(&self) -> KindCounts {
        self.total
    }

    /// The fabric verdict, O(1): Critical when a wiring object is Missing or Drifted or when
    /// the drift count reaches the threshold (a threshold of 0 needs at least one drifted
    /// object), DriftDetected when anything drifts, else InSync.
    pub fn fabric_status(&self) -> DriftStatus {
        let count = self.total.drift_count();
        let over_threshold = self
            .critical_threshold
            .is_some_and(|threshold| count > 0 && count >= threshold);
        let state = if self.critical > 0 || over_threshold {
            DriftState::Critical
        } else if count > 0 {
            DriftState::DriftDetected
        } else {
            DriftState::InSync
        };
        DriftStatus { state, count }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(name: &str) -> &'static KindInfo {
        kinds::by_kind(name).unwrap()
    }

    fn key(kind: &str, name: &str) -> ObjectKey {
        ObjectKey {
            kind: kind.into(),
            namespace: "default".into(),
            name: name.into(),
        }
    }

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    fn diff(path: &str, desired: Option<Value>, live: Option<Value>) -> FieldDiff {
        FieldDiff {
            path: path.into(),
            desired,
            live,
        }
    }

    /// What the API server and the Hedgehog webhooks add to every object they store.
    fn serverside(mut object: Value, fabric_labels: Value) -> Value {
        let metadata = object["metadata"].as_object_mut().unwrap();
        metadata.insert("namespace".into(), json!("default"));
        metadata.insert("uid".into(), json!("0b6f3c1e-1d9e-4c1b-9d7a-2f4c1d1e0a77"));
        metadata.insert("resourceVersion".into(), json!("48213"));
        metadata.insert("generation".into(), json!(3));
        metadata.insert("creationTimestamp".into(), json!("2025-01-02T03:04:05Z"));
        metadata.insert(
            "managedFields".into(),
            json!([{"manager": "hhdash", "operation": "Apply", "fieldsV1": {"f:spec": {}}}]),
        );
        metadata.insert(
            "finalizers".into(),
            json!(["fabric.githedgehog.com/cleanup"]),
        );
        let labels = metadata.entry("labels").or_insert_with(|| json!({}));
        let labels = labels.as_object_mut().unwrap();
        labels.retain(|k, _| !k.contains("fabric.githedgehog.com/"));
        labels.extend(fabric_labels.as_object().unwrap().clone());
        object["status"] = json!({});
        object
    }

    const VPC: &str = r#"
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-1
  labels:
    team: blue
spec:
  subnets:
    default:
      subnet: 10.0.1.0/24
      vlan: 1001
      dhcp:
        enable: true
        options:
          dnsServers: [10.10.10.1, 10.10.10.2]
"#;

    fn vpc_live() -> Value {
        let mut live = serverside(
            yaml(VPC),
            json!({"fabric.githedgehog.com/ipv4ns": "default", "fabric.githedgehog.com/vlanns": "default"}),
        );
        // The VPC webhook's defaults (README: gateway, namespaces, DHCP option defaults).
        live["spec"]["ipv4Namespace"] = json!("default");
        live["spec"]["vlanNamespace"] = json!("default");
        let subnet = &mut live["spec"]["subnets"]["default"];
        subnet["gateway"] = json!("10.0.1.1");
        subnet["dhcp"]["options"]["interfaceMTU"] = json!(9036);
        subnet["dhcp"]["options"]["leaseTimeSeconds"] = json!(3600);
        subnet["dhcp"]["options"]["timeServers"] = json!([]);
        live
    }

    #[test]
    fn vpc_with_webhook_defaults_is_in_sync() {
        let desired = yaml(VPC);
        assert_eq!(compare(kind("VPC"), &desired, &vpc_live()), vec![]);
        assert_eq!(
            classify(kind("VPC"), Some(&desired), Some(&vpc_live()), true),
            Drift::InSync
        );
    }

    #[test]
    fn changed_vlan_is_drift_at_exactly_that_path() {
        let mut live = vpc_live();
        live["spec"]["subnets"]["default"]["vlan"] = json!(1999);
        let verdict = classify(kind("VPC"), Some(&yaml(VPC)), Some(&live), true);
        assert_eq!(
            verdict,
            Drift::Drifted(vec![diff(
                "spec.subnets.default.vlan",
                Some(json!(1001)),
                Some(json!(1999))
            )])
        );
        assert_eq!(
            verdict.to_string(),
            "Drifted (spec.subnets.default.vlan: 1001 → 1999)"
        );
    }

    #[test]
    fn numbers_compare_by_value() {
        let mut live = vpc_live();
        live["spec"]["subnets"]["default"]["vlan"] = json!(1001.0);
        assert_eq!(compare(kind("VPC"), &yaml(VPC), &live), vec![]);
        let big = json!({"spec": {"asn": u64::MAX}});
        assert_eq!(compare(kind("Switch"), &big, &big.clone()), vec![]);
        let near = json!({"spec": {"asn": u64::MAX - 1}});
        assert_eq!(compare(kind("Switch"), &big, &near).len(), 1);
        assert_eq!(
            compare(
                kind("Switch"),
                &json!({"spec": {"asn": 1}}),
                &json!({"spec": {"asn": "1"}})
            ),
            vec![diff("spec.asn", Some(json!(1)), Some(json!("1")))],
            "a string is not a number"
        );
    }

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
    fn switch_defaults_and_sorted_lists_are_in_sync() {
        let desired = yaml(
            r#"
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: leaf-01
spec:
  role: server-leaf
  profile: vs
  asn: 65101
  ecmp: {}
  redundancy:
    group: mclag-1
    type: mclag
  groups: [mclag-1, border, border]
  vlanNamespaces: [zeta, default]
"#,
        );
        let mut live = serverside(
            desired.clone(),
            json!({"fabric.githedgehog.com/profile": "vs", "fabric.githedgehog.com/group.mclag-1": "true"}),
        );
        live["spec"]["groups"] = json!(["border", "mclag-1"]);
        live["spec"]["vlanNamespaces"] = json!(["default", "zeta"]);
        live["spec"]["linkFlapErrDisable"] =
            json!({"flapThreshold": 3, "samplingInterval": 30, "recoveryInterval": 300});
        live["spec"].as_object_mut().unwrap().remove("ecmp");
        assert_eq!(compare(kind("Switch"), &desired, &live), vec![]);

        live["spec"]["groups"] = json!(["border", "mclag-2"]);
        assert_eq!(
            compare(kind("Switch"), &desired, &live),
            vec![diff(
                "spec.groups",
                Some(json!(["mclag-1", "border", "border"])),
                Some(json!(["border", "mclag-2"]))
            )]
        );
    }

    #[test]
    fn ipv4namespace_subnets_reordered_is_in_sync() {
        let desired = json!({"metadata": {"name": "default"},
            "spec": {"subnets": ["10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16"]}});
        let live = json!({"metadata": {"name": "default"},
            "spec": {"subnets": ["10.2.0.0/16", "10.0.0.0/16", "10.1.0.0/16"]}});
        assert_eq!(compare(kind("IPv4Namespace"), &desired, &live), vec![]);
        let grown = json!({"metadata": {"name": "default"},
            "spec": {"subnets": ["10.2.0.0/16", "10.0.0.0/16", "10.1.0.0/16", "10.3.0.0/16"]}});
        assert_eq!(
            compare(kind("IPv4Namespace"), &desired, &grown)
                .iter()
                .map(|d| d.path.as_str())
                .collect::<Vec<_>>(),
            ["spec.subnets"]
        );
    }

    #[test]
    fn set_lists_of_maps_match_elements_semantically() {
        let desired = json!({"spec": {"subnets": {"default": {"dhcp": {"options": {
            "advertisedRoutes": [{"destination": "10.1.0.0/16"}, {"destination": "10.0.0.0/16"}]}}}}}});
        let live = json!({"spec": {"subnets": {"default": {"dhcp": {"options": {
            "advertisedRoutes": [
                {"destination": "10.0.0.0/16", "gateway": "10.0.1.1"},
                {"destination": "10.1.0.0/16", "gateway": "10.0.1.1"}]}}}}}});
        assert_eq!(compare(kind("VPC"), &desired, &live), vec![]);
    }

    #[test]
    fn other_lists_compare_by_index() {
        let desired =
            json!({"spec": {"ranges": [{"from": 1000, "to": 2999}, {"from": 3000, "to": 3999}]}});
        let reordered =
            json!({"spec": {"ranges": [{"from": 3000, "to": 3999}, {"from": 1000, "to": 2999}]}});
        assert_eq!(
            compare(kind("VLANNamespace"), &desired, &reordered)
                .iter()
                .map(|d| d.path.as_str())
                .collect::<Vec<_>>(),
            [
                "spec.ranges[0].from",
                "spec.ranges[0].to",
                "spec.ranges[1].from",
                "spec.ranges[1].to"
            ]
        );
        let shorter = json!({"spec": {"ranges": [{"from": 1000, "to": 2999}]}});
        assert_eq!(
            compare(kind("VLANNamespace"), &desired, &shorter),
            vec![diff(
                "spec.ranges",
                Some(desired["spec"]["ranges"].clone()),
                Some(shorter["spec"]["ranges"].clone())
            )]
        );
        // Server fields inside list elements are still defaults, not drift.
        let defaulted = json!({"spec": {"ranges": [{"from": 1000, "to": 2999, "x": 1}, {"from": 3000, "to": 3999}]}});
        assert_eq!(compare(kind("VLANNamespace"), &desired, &defaulted), vec![]);
    }

    #[test]
    fn external_attachment_materialised_empty_structs_are_in_sync() {
        let desired = yaml(
            r#"
apiVersion: vpc.githedgehog.com/v1beta1
kind: ExternalAttachment
metadata:
  name: ext-attach
spec:
  connection: leaf-01--external
  external: ext-1
  switch: {}
  neighbor: {}
"#,
        );
        // Omitted in Git, `{}` live (the webhook's Go round-trip) …
        let mut bare = desired.clone();
        let spec = bare["spec"].as_object_mut().unwrap();
        spec.remove("switch");
        spec.remove("neighbor");
        let live = serverside(
            desired.clone(),
            json!({"fabric.githedgehog.com/external": "ext-1"}),
        );
        assert_eq!(compare(kind("ExternalAttachment"), &bare, &live), vec![]);
        // … and `{}` in Git, absent or filled live.
        let mut live_without = live.clone();
        live_without["spec"]
            .as_object_mut()
            .unwrap()
            .remove("switch");
        live_without["spec"]["neighbor"] = json!({"asn": 65000, "ip": "100.1.0.6"});
        assert_eq!(
            compare(kind("ExternalAttachment"), &desired, &live_without),
            vec![]
        );
    }

    #[test]
    fn null_and_empty_in_git_mean_unset() {
        let desired = json!({"spec": {"description": null, "ecmp": {}, "groups": [],
            "boot": {"mac": null}}});
        let live = json!({"spec": {"description": "set by someone", "groups": ["a"]}});
        assert_eq!(compare(kind("Switch"), &desired, &live), vec![]);
        let live_null = json!({"spec": {"role": null}});
        assert_eq!(
            compare(
                kind("Switch"),
                &json!({"spec": {"role": "spine"}}),
                &live_null
            ),
            vec![diff("spec.role", Some(json!("spine")), None)],
            "a live null is absent"
        );
    }

    #[test]
    fn missing_map_is_reported_once_with_what_git_sets() {
        let desired = json!({"spec": {"subnets": {"extra": {"subnet": "10.9.0.0/24", "gateway": null,
            "dhcp": {}}}}});
        let live = json!({"spec": {"subnets": {}}});
        assert_eq!(
            compare(kind("VPC"), &desired, &live),
            vec![diff(
                "spec.subnets.extra",
                Some(json!({"subnet": "10.9.0.0/24"})),
                None
            )]
        );
        // Only webhook-owned labels in Git: nothing to miss.
        let labels_only = json!({"metadata": {"labels": {"fabric.githedgehog.com/x": "y"}}});
        assert_eq!(
            compare(kind("VPC"), &labels_only, &json!({"metadata": {}})),
            vec![]
        );
    }

    #[test]
    fn type_changes_are_drift() {
        assert_eq!(
            compare(
                kind("VPC"),
                &json!({"spec": {"a": {"b": 1}}}),
                &json!({"spec": {"a": 5}})
            ),
            vec![diff("spec.a", Some(json!({"b": 1})), Some(json!(5)))]
        );
        assert_eq!(
            compare(
                kind("VPC"),
                &json!({"spec": {"a": [1]}}),
                &json!({"spec": {"a": {"0": 1}}})
            ),
            vec![diff("spec.a", Some(json!([1])), Some(json!({"0": 1})))]
        );
    }

    #[test]
    fn paths_quote_keys_with_dots_and_sort_by_segment() {
        let desired = json!({"metadata": {"labels": {"app.kubernetes.io/name": "x", "team/a": "b"}},
            "spec": {"list": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "": 1, "a b": 2}});
        let live = json!({"metadata": {"labels": {"app.kubernetes.io/name": "y", "team/a": "c"}},
            "spec": {"list": [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0], "": 2, "a b": 3}});
        let paths: Vec<String> = compare(kind("VPC"), &desired, &live)
            .into_iter()
            .map(|d| d.path)
            .collect();
        assert_eq!(
            paths,
            [
                r#"metadata.labels."app.kubernetes.io/name""#,
                "metadata.labels.team/a",
                r#"spec."""#,
                r#"spec."a b""#,
                "spec.list[0]",
                "spec.list[2]",
                "spec.list[10]",
            ]
        );
    }

    #[test]
    fn exact_mode_sees_both_directions_but_not_server_metadata() {
        let dry = serverside(
            yaml(VPC),
            json!({"fabric.githedgehog.com/ipv4ns": "default"}),
        );
        let mut live = dry.clone();
        live["metadata"]["resourceVersion"] = json!("99999");
        live["metadata"]["managedFields"] = json!([]);
        live["status"] = json!({"anything": 1});
        live["spec"]["subnets"]["default"]["vlan"] = json!(1001.0);
        live["spec"]["subnets"]["default"]["dhcp"]["options"]["dnsServers"] =
            json!(["10.10.10.2", "10.10.10.1"]);
        assert_eq!(compare_exact(kind("VPC"), &dry, &live), vec![]);

        live["spec"]["subnets"]["default"]["gateway"] = json!("10.0.1.1");
        live["metadata"]["labels"]["fabric.githedgehog.com/ipv4ns"] = json!("other");
        live["spec"]["subnets"]["default"]["dhcp"]
            .as_object_mut()
            .unwrap()
            .remove("enable");
        assert_eq!(
            compare_exact(kind("VPC"), &dry, &live),
            vec![
                diff(
                    "metadata.labels.\"fabric.githedgehog.com/ipv4ns\"",
                    Some(json!("default")),
                    Some(json!("other"))
                ),
                diff("spec.subnets.default.dhcp.enable", Some(json!(true)), None),
                diff(
                    "spec.subnets.default.gateway",
                    None,
                    Some(json!("10.0.1.1"))
                ),
            ]
        );
        // `{}` against absent is a difference here: both sides came from the server.
        assert_eq!(
            compare_exact(
                kind("Switch"),
                &json!({"spec": {"ecmp": {}}}),
                &json!({"spec": {}})
            ),
            vec![diff("spec.ecmp", Some(json!({})), None)]
        );
    }

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

    fn vpc_named(name: &str, vlan: i64) -> Value {
        let mut object = yaml(VPC);
        object["metadata"]["name"] = json!(name);
        object["spec"]["subnets"]["default"]["vlan"] = json!(vlan);
        object
    }

    fn switch_named(name: &str) -> Value {
        json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "Switch",
            "metadata": {"name": name}, "spec": {"role": "spine", "asn": 65100}})
    }

    #[test]
    fn live_only_objects_are_orphans_only_while_the_desired_set_is_trusted() {
        let mut index = DriftIndex::new(None);
        let vpc = json!({"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
            "metadata": {"name": "left", "namespace": "default"}, "spec": {}});
        index.replace_live_kind("VPC", vec![(key("VPC", "left"), vpc)]);
        let untrusted = index.set_orphans_trusted(false);
        assert!(untrusted.is_empty(), "Unknown before any sync either way");
        index.set_desired_all(Vec::new());
        assert_eq!(index.get(&key("VPC", "left")), Some(&Drift::Unknown));
        assert_eq!(index.totals().orphan, 0);
        let trusted = index.set_orphans_trusted(true);
        assert_eq!(trusted.len(), 1);
        assert_eq!(trusted[0].to, DriftKindTag::Orphan);
        assert_eq!(index.totals().orphan, 1);
        let again = index.set_orphans_trusted(false);
        assert_eq!(again[0].to, DriftKindTag::Unknown);
        assert_eq!(index.fabric_status().count, 0);
    }

    #[test]
    fn index_follows_git_and_watch_events() {
        let mut index = DriftIndex::new(None);
        let vpc1 = key("VPC", "vpc-1");

        let transitions = index.set_desired_all([(vpc1.clone(), vpc_named("vpc-1", 1001))]);
        assert_eq!(transitions.len(), 1);
        assert_eq!(transitions[0].to_string(), "VPC/vpc-1 Absent → Unknown");
        assert_eq!(index.fabric_status(), DriftStatus::default());

        let transitions = index.set_live_known("VPC", true);
        assert_eq!(transitions[0].to_string(), "VPC/vpc-1 Unknown → Missing");
        assert_eq!(
            index.fabric_status(),
            DriftStatus {
                state: DriftState::DriftDetected,
                count: 1
            }
        );

        let t = index
            .set_live(vpc1.clone(), Some(vpc_named("vpc-1", 1001)))
            .unwrap();
        assert_eq!(
            (t.from, t.to),
            (DriftKindTag::Missing, DriftKindTag::InSync)
        );
        assert_eq!(index.fabric_status().state, DriftState::InSync);
        // The same live value again (a resync) changes nothing.
        assert_eq!(
            index.set_live(vpc1.clone(), Some(vpc_named("vpc-1", 1001))),
            None
        );

        let t = index
            .set_live(vpc1.clone(), Some(vpc_named("vpc-1", 1999)))
            .unwrap();
        assert_eq!(
            t.to_string(),
            "VPC/vpc-1 InSync → Drifted (spec.subnets.default.vlan: 1001 → 1999)"
        );
        let t = index
            .set_live(vpc1.clone(), Some(vpc_named("vpc-1", 2000)))
            .unwrap();
        assert_eq!(
            (t.from, t.to),
            (DriftKindTag::Drifted, DriftKindTag::Drifted)
        );
        assert_eq!(
            index.counts("VPC"),
            KindCounts {
                desired: 1,
                live: 1,
                drifted: 1,
                ..KindCounts::default()
            }
        );

        // Git drops it: the live object is now an orphan; the cluster deletes it: gone.
        let t = index.set_desired_all([]);
        assert_eq!(
            (t[0].from, t[0].to),
            (DriftKindTag::Drifted, DriftKindTag::Orphan)
        );
        let t = index.set_live(vpc1.clone(), None).unwrap();
        assert_eq!(t.to_string(), "VPC/vpc-1 Orphan → Absent");
        assert!(index.is_empty());
        assert_eq!(index.get(&vpc1), None);
        assert_eq!(index.totals(), KindCounts::default());
    }

    #[test]
    fn live_objects_before_the_first_git_sync_are_unknown_not_orphans() {
        let mut index = DriftIndex::new(Some(1));
        index.set_live_known("VPC", true);
        index.set_live(key("VPC", "vpc-1"), Some(vpc_named("vpc-1", 1)));
        assert_eq!(index.get(&key("VPC", "vpc-1")), Some(&Drift::Unknown));
        assert_eq!(index.fabric_status().state, DriftState::InSync);
        let t = index.set_desired_all([]);
        assert_eq!(
            (t[0].from, t[0].to),
            (DriftKindTag::Unknown, DriftKindTag::Orphan)
        );
        assert_eq!(index.fabric_status().state, DriftState::Critical);
    }

    #[test]
    fn wiring_missing_or_drifted_is_critical_orphan_is_not() {
        let mut index = DriftIndex::new(None);
        let sw = key("Switch", "spine-01");
        index.set_desired_all([(sw.clone(), switch_named("spine-01"))]);
        index.replace_live_kind("Switch", []);
        assert_eq!(
            index.fabric_status(),
            DriftStatus {
                state: DriftState::Critical,
                count: 1
            }
        );
        let mut changed = switch_named("spine-01");
        changed["spec"]["asn"] = json!(65999);
        index.set_live(sw.clone(), Some(changed));
        assert_eq!(index.fabric_status().state, DriftState::Critical);
        index.set_live(sw.clone(), Some(switch_named("spine-01")));
        assert_eq!(index.fabric_status().state, DriftState::InSync);
        index.set_live(key("Switch", "stray"), Some(switch_named("stray")));
        assert_eq!(
            index.fabric_status(),
            DriftStatus {
                state: DriftState::DriftDetected,
                count: 1
            }
        );
    }

    #[test]
    fn threshold_makes_many_drifted_objects_critical() {
        let mut index = DriftIndex::new(Some(2));
        index.set_desired_all((1..=3).map(|i| {
            let name = format!("vpc-{i}");
            (key("VPC", &name), vpc_named(&name, 1000 + i))
        }));
        index.replace_live_kind(
            "VPC",
            [
                (key("VPC", "vpc-1"), vpc_named("vpc-1", 1001)),
                (key("VPC", "vpc-2"), vpc_named("vpc-2", 1002)),
            ],
        );
        assert_eq!(
            index.fabric_status(),
            DriftStatus {
                state: DriftState::DriftDetected,
                count: 1
            }
        );
        index.set_live(key("VPC", "vpc-2"), Some(vpc_named("vpc-2", 5)));
        assert_eq!(
            index.fabric_status(),
            DriftStatus {
                state: DriftState::Critical,
                count: 2
            }
        );
    }

    #[test]
    fn relist_changes_each_object_once_and_marks_the_kind_known() {
        let mut index = DriftIndex::new(None);
        index.set_desired_all([
            (key("VPC", "a"), vpc_named("a", 1)),
            (key("VPC", "b"), vpc_named("b", 2)),
            (key("Switch", "s"), switch_named("s")),
        ]);
        index.set_live(key("VPC", "c"), Some(vpc_named("c", 3)));
        let transitions = index.replace_live_kind("VPC", [(key("VPC", "a"), vpc_named("a", 1))]);
        let summary: Vec<String> = transitions.iter().map(ToString::to_string).collect();
        assert_eq!(
            summary,
            [
                "VPC/a Unknown → InSync",
                "VPC/c Orphan → Absent",
                "VPC/b Unknown → Missing"
            ]
        );
        assert!(index.live_known("VPC"));
        assert!(!index.live_known("Switch"));
        assert_eq!(index.get(&key("Switch", "s")), Some(&Drift::Unknown));

        // The watch stops: what was never seen is Unknown again; what was seen stays compared.
        let transitions = index.set_live_known("VPC", false);
        assert_eq!(transitions.len(), 1);
        assert_eq!(transitions[0].to_string(), "VPC/b Missing → Unknown");
        assert_eq!(index.get(&key("VPC", "a")), Some(&Drift::InSync));
    }

    #[test]
    fn unchanged_git_sync_recomputes_nothing() {
        let mut index = DriftIndex::new(None);
        let objects = vec![
            (key("VPC", "a"), vpc_named("a", 1)),
            (key("VPC", "b"), vpc_named("b", 2)),
        ];
        index.set_desired_all(objects.clone());
        index.replace_live_kind("VPC", objects.clone());
        assert_eq!(index.set_desired_all(objects.clone()), vec![]);
        let mut edited = objects;
        edited[1].1 = vpc_named("b", 7);
        let t = index.set_desired_all(edited);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].key, key("VPC", "b"));
        assert_eq!(index.desired(&key("VPC", "b")), Some(&vpc_named("b", 7)));
        assert_eq!(index.live(&key("VPC", "b")), Some(&vpc_named("b", 2)));
    }

    #[test]
    fn kinds_outside_the_registry_are_still_compared() {
        let mut index = DriftIndex::new(None);
        let odd = key("Gateway", "gw");
        index.set_desired_all([(odd.clone(), json!({"spec": {"a": [1, 2]}}))]);
        index.set_live(odd.clone(), Some(json!({"spec": {"a": [2, 1]}})));
        assert!(matches!(index.get(&odd), Some(Drift::Drifted(_))));
        assert_eq!(index.kind_counts().count(), 1);
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
