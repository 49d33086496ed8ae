//! The comparison itself: one walk over two objects, in semantic mode (what Git sets against
//! live) or exact mode (a dry-run against live), collecting the differing paths. The rules
//! are in the module doc of `drift`; what the server and webhooks write is asked of
//! `rewrite`.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use super::FieldDiff;
use super::path::{Seg, compare_paths, matches_any, render_path};
use super::rewrite::{
    IGNORED_METADATA, IGNORED_TOP_LEVEL, as_stored, is_webhook_owned, stored_forms,
};
use crate::kinds::KindInfo;
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
    /// The whole object on the Git (or dry-run) side: some webhook rewrites depend on it.
    object: &'a Value,
    diffs: Vec<(Vec<Seg<'a>>, FieldDiff)>,
}

impl<'a> Walk<'a> {
    fn new(mode: Mode, kind: &'a KindInfo, object: &'a Value) -> Self {
        Walk {
            mode,
            kind: kind.kind,
            set_lists: kind.set_lists,
            object,
            diffs: Vec::new(),
        }
    }

    /// Whether `live` is what the webhooks store for the Git value `desired` at `path`
    /// ([`super::WEBHOOK_REWRITES`]; semantic mode only, exact mode compares two stored forms).
    fn rewritten(&self, path: &[Seg], desired: &Value, live: &Value) -> bool {
        self.mode == Mode::Semantic
            && stored_forms(self.kind, self.object, path, desired)
                .any(|stored| scalars_equal(&stored, live))
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

    /// The one place that decides which keys are not compared (see the `drift` module doc).
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
            object: self.object,
            diffs: Vec::new(),
        };
        let mut path = path.to_vec();
        probe.element(&mut path, wanted, have);
        probe.diffs.is_empty()
    }

    fn lists(&mut self, path: &mut Vec<Seg<'a>>, wanted: &'a [Value], have: &'a [Value]) {
        let whole = |items: &[Value]| Some(Value::Array(items.to_vec()));
        if matches_any(self.set_lists, path) {
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
/// path. Empty means in sync. Rules: see the `drift` module doc.
pub fn compare(kind: &KindInfo, desired: &Value, live: &Value) -> Vec<FieldDiff> {
    let desired = as_stored(kind, desired);
    let mut walk = Walk::new(Mode::Semantic, kind, &desired);
    walk.semantic(&mut Vec::new(), &desired, Some(live));
    walk.finish()
}

/// Exact drift: every path where a server-side dry-run apply of the Git object (`dry_run`)
/// and `live` differ, in both directions, sorted by path. Rules: see the `drift` module doc.
pub fn compare_exact(kind: &KindInfo, dry_run: &Value, live: &Value) -> Vec<FieldDiff> {
    let mut walk = Walk::new(Mode::Exact, kind, dry_run);
    walk.exact(&mut Vec::new(), Some(dry_run), Some(live));
    walk.finish()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::drift::test_support::{VPC, diff, kind, serverside, vpc_live, yaml};
    use crate::drift::{Drift, classify};
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
}
