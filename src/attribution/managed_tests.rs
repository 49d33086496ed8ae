//! Field sets as the testenv API server (kube-apiserver v1.34) returned them: a VPC applied by
//! hhdash, then patched, re-applied by two other managers, labelled, annotated and given a
//! status; a Service with keyed ports and a finalizer, one port patched.

use serde_json::{Value, json};

use super::*;
use crate::time::format_rfc3339;

/// `kubectl get vpc web -o json --show-managed-fields` after: hhdash applied examples/fabric
/// `vpcs/web.yaml`; `kubectl patch` set frontend's vlan; JSON patches removed backend's
/// gateway and vlan (the webhook defaulted the gateway back, owned by nobody); `ops-script`
/// then `second-applier` applied frontend's vlan server-side; `kubectl label`, `kubectl
/// annotate`; `fabric-ctrl` wrote the status subresource.
fn vpc() -> Value {
    json!({"apiVersion":"vpc.githedgehog.com/v1beta1","kind":"VPC","metadata":{"annotations":{"note.example.com/x":"y"},"labels":{"fabric.githedgehog.com/ipv4ns":"default","fabric.githedgehog.com/vlanns":"default","team":"blue"},"managedFields":[{"fieldsV1":{"f:spec":{"f:subnets":{"f:frontend":{".":{},"f:vlan":{}}}}},"manager":"second-applier","operation":"Apply"},{"fieldsV1":{"f:spec":{"f:ipv4Namespace":{},"f:permit":{},"f:subnets":{"f:backend":{".":{},"f:subnet":{}},"f:frontend":{".":{},"f:dhcp":{"f:enable":{},"f:range":{"f:end":{},"f:start":{}}},"f:gateway":{},"f:subnet":{}}},"f:vlanNamespace":{}}},"manager":"hhdash","operation":"Apply","time":"2026-11-28T04:19:12Z"},{"fieldsV1":{"f:spec":{"f:subnets":{"f:frontend":{".":{},"f:vlan":{}}}}},"manager":"ops-script","operation":"Apply","time":"2026-11-28T04:19:53Z"},{"fieldsV1":{"f:metadata":{"f:labels":{"f:team":{}}}},"manager":"kubectl-label","operation":"Update","time":"2026-11-28T04:19:53Z"},{"fieldsV1":{"f:metadata":{"f:annotations":{".":{},"f:note.example.com/x":{}}}},"manager":"kubectl-annotate","operation":"Update","time":"2026-11-28T04:19:54Z"},{"fieldsV1":{"f:status":{}},"manager":"fabric-ctrl","operation":"Update","subresource":"status","time":"2026-11-28T04:20:55Z"}],"name":"web","namespace":"default"},"spec":{"ipv4Namespace":"default","permit":[["frontend","backend"]],"subnets":{"backend":{"dhcp":{},"gateway":"10.10.2.1","subnet":"10.10.2.0/24"},"frontend":{"dhcp":{"enable":true,"range":{"end":"10.10.1.99","start":"10.10.1.10"}},"gateway":"10.10.1.1","subnet":"10.10.1.0/24","vlan":1500}},"vlanNamespace":"default"},"status":{}})
}

/// The same VPC right after the `kubectl patch` of frontend's vlan (merge patch).
fn patched_vpc() -> Value {
    json!({"apiVersion":"vpc.githedgehog.com/v1beta1","kind":"VPC","metadata":{"managedFields":[{"fieldsV1":{"f:spec":{"f:ipv4Namespace":{},"f:permit":{},"f:subnets":{"f:backend":{".":{},"f:gateway":{},"f:subnet":{},"f:vlan":{}},"f:frontend":{".":{},"f:dhcp":{"f:enable":{},"f:range":{"f:end":{},"f:start":{}}},"f:gateway":{},"f:subnet":{}}},"f:vlanNamespace":{}}},"manager":"hhdash","operation":"Apply","time":"2026-11-28T04:19:12Z"},{"fieldsV1":{"f:spec":{"f:subnets":{"f:frontend":{"f:vlan":{}}}}},"manager":"kubectl-patch","operation":"Update","time":"2026-11-28T04:19:18Z"}],"name":"web","namespace":"default"},"spec":{"ipv4Namespace":"default","permit":[["frontend","backend"]],"subnets":{"backend":{"gateway":"10.10.2.1","subnet":"10.10.2.0/24","vlan":1002},"frontend":{"dhcp":{"enable":true,"range":{"end":"10.10.1.99","start":"10.10.1.10"}},"gateway":"10.10.1.1","subnet":"10.10.1.0/24","vlan":1431}},"vlanNamespace":"default"}})
}

/// [`vpc`] after a JSON patch removed frontend's vlan and moved its DHCP range's start (the
/// webhook then defaulted the range's end, owned by nobody). The two appliers of the vlan keep
/// frontend itself (`"f:frontend": {}`, what remains of `{".": {}, "f:vlan": {}}`).
fn vpc_after_removal() -> Value {
    json!({"apiVersion":"vpc.githedgehog.com/v1beta1","kind":"VPC","metadata":{"managedFields":[{"fieldsV1":{"f:spec":{"f:subnets":{"f:frontend":{}}}},"manager":"second-applier","operation":"Apply"},{"fieldsV1":{"f:spec":{"f:ipv4Namespace":{},"f:permit":{},"f:subnets":{"f:backend":{".":{},"f:subnet":{}},"f:frontend":{".":{},"f:dhcp":{"f:enable":{}},"f:gateway":{},"f:subnet":{}}},"f:vlanNamespace":{}}},"manager":"hhdash","operation":"Apply","time":"2026-11-28T04:19:12Z"},{"fieldsV1":{"f:spec":{"f:subnets":{"f:frontend":{}}}},"manager":"ops-script","operation":"Apply","time":"2026-11-28T04:19:53Z"},{"fieldsV1":{"f:spec":{"f:subnets":{"f:frontend":{"f:dhcp":{"f:range":{"f:start":{}}}}}}},"manager":"kubectl-patch","operation":"Update","time":"2026-11-28T04:43:16Z"}],"name":"web","namespace":"default"},"spec":{"ipv4Namespace":"default","permit":[["frontend","backend"]],"subnets":{"backend":{"dhcp":{},"gateway":"10.10.2.1","subnet":"10.10.2.0/24"},"frontend":{"dhcp":{"enable":true,"range":{"end":"10.10.1.255","start":"10.10.1.21"}},"gateway":"10.10.1.1","subnet":"10.10.1.0/24"}},"vlanNamespace":"default"}})
}

/// A Service applied by hhdash (two ports keyed by port and protocol, a finalizer), then the
/// https port's targetPort changed by a JSON patch.
fn service() -> Value {
    json!({"apiVersion":"v1","kind":"Service","metadata":{"finalizers":["example.com/keep"],"managedFields":[{"fieldsV1":{"f:metadata":{"f:finalizers":{"v:\"example.com/keep\"":{}}},"f:spec":{"f:ports":{"k:{\"port\":443,\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:port":{},"f:protocol":{}},"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:port":{},"f:protocol":{},"f:targetPort":{}}},"f:selector":{}}},"manager":"hhdash","operation":"Apply","time":"2026-11-28T04:20:05Z"},{"fieldsV1":{"f:spec":{"f:ports":{"k:{\"port\":443,\"protocol\":\"TCP\"}":{"f:targetPort":{}}}}},"manager":"kubectl-patch","operation":"Update","time":"2026-11-28T04:20:05Z"}],"name":"svc","namespace":"default"},"spec":{"clusterIP":"10.96.15.165","clusterIPs":["10.96.15.165"],"internalTrafficPolicy":"Cluster","ipFamilies":["IPv4"],"ipFamilyPolicy":"SingleStack","ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":8080},{"name":"https","port":443,"protocol":"TCP","targetPort":8443}],"selector":{"app":"web"},"sessionAffinity":"None","type":"ClusterIP"}})
}

/// (manager, operation, time) of each writer, newest first.
fn writers(live: &Value, path: &str) -> (Vec<(String, String, Option<String>)>, bool) {
    let attribution = attribute(live, path).unwrap_or_else(|| panic!("{path}: no field sets"));
    let writers = attribution
        .writers
        .iter()
        .map(|w| {
            (
                w.manager.clone(),
                w.operation.clone(),
                w.time.map(format_rfc3339),
            )
        })
        .collect();
    (writers, attribution.exact)
}

fn one(manager: &str, operation: &str, time: &str) -> Vec<(String, String, Option<String>)> {
    vec![(manager.into(), operation.into(), Some(time.into()))]
}

#[test]
fn a_patched_field_belongs_to_the_patcher_and_the_rest_to_the_applier() {
    let live = patched_vpc();
    assert_eq!(
        writers(&live, "spec.subnets.frontend.vlan"),
        (one("kubectl-patch", "Update", "2026-11-28T04:19:18Z"), true)
    );
    assert_eq!(
        attribute(&live, "spec.subnets.frontend.vlan")
            .unwrap()
            .to_string(),
        "by kubectl-patch (Update) 04:19:18Z"
    );
    for path in [
        "spec.subnets.backend.vlan",
        "spec.subnets.frontend.dhcp.range.start",
    ] {
        assert_eq!(
            writers(&live, path),
            (one("hhdash", "Apply", "2026-11-28T04:19:12Z"), true),
            "{path}"
        );
    }
    // A map node hhdash holds itself (`.`), and everything under an atomic list.
    assert!(writers(&live, "spec.subnets.backend").1);
    assert_eq!(
        writers(&live, "spec.permit[0][1]"),
        (one("hhdash", "Apply", "2026-11-28T04:19:12Z"), true)
    );
}

#[test]
fn shared_fields_name_every_owner_newest_first_and_status_writers_own_nothing() {
    let live = vpc();
    // Two appliers of the same value share it; the second applied no change, so the server
    // recorded no time for it: it comes last.
    assert_eq!(
        writers(&live, "spec.subnets.frontend.vlan"),
        (
            vec![
                (
                    "ops-script".into(),
                    "Apply".into(),
                    Some("2026-11-28T04:19:53Z".into())
                ),
                ("second-applier".into(), "Apply".into(), None),
            ],
            true
        )
    );
    assert_eq!(
        writers(&live, "metadata.labels.team"),
        (one("kubectl-label", "Update", "2026-11-28T04:19:53Z"), true)
    );
    assert_eq!(
        writers(&live, "metadata.annotations.\"note.example.com/x\""),
        (
            one("kubectl-annotate", "Update", "2026-11-28T04:19:54Z"),
            true
        )
    );
    // The newest writer, fabric-ctrl, wrote only the status subresource.
    let (status, _) = writers(&live, "status");
    assert!(status.is_empty(), "{status:?}");
}

#[test]
fn a_removed_or_unowned_field_names_the_newest_writer_next_to_it() {
    let live = vpc();
    // backend's vlan was removed and its gateway defaulted back by the webhook: nobody owns
    // either; hhdash is the only writer of `spec.subnets.backend`.
    for path in ["spec.subnets.backend.vlan", "spec.subnets.backend.gateway"] {
        assert_eq!(
            writers(&live, path),
            (one("hhdash", "Apply", "2026-11-28T04:19:12Z"), false),
            "{path}"
        );
    }
    // Under `spec.subnets.frontend` both hhdash and the appliers wrote: the newest is named.
    assert_eq!(
        writers(&live, "spec.subnets.frontend.isolated"),
        (one("ops-script", "Apply", "2026-11-28T04:19:53Z"), false)
    );
    assert_eq!(
        attribute(&live, "spec.subnets.frontend.isolated")
            .unwrap()
            .to_string(),
        "likely by ops-script (Apply) 04:19:53Z"
    );
    // A whole subnet missing: the nearest level is `spec.subnets`.
    assert_eq!(
        writers(&live, "spec.subnets.db"),
        (one("ops-script", "Apply", "2026-11-28T04:19:53Z"), false)
    );
    // Nobody wrote anything under the top-level field: no guess from elsewhere.
    let (nobody, exact) = writers(&live, "data.x");
    assert!(nobody.is_empty() && !exact, "{nobody:?}");
}

#[test]
fn a_leaf_on_a_map_others_write_inside_holds_only_the_map() {
    let live = vpc_after_removal();
    // The appliers hold `frontend` as a leaf, but hhdash and the patch have fields inside it:
    // the removed vlan is nobody's, and the patch is the newest writer in `frontend`.
    assert_eq!(
        writers(&live, "spec.subnets.frontend.vlan"),
        (
            one("kubectl-patch", "Update", "2026-11-28T04:43:16Z"),
            false
        )
    );
    assert_eq!(
        writers(&live, "spec.subnets.frontend.dhcp.range.end"),
        (
            one("kubectl-patch", "Update", "2026-11-28T04:43:16Z"),
            false
        )
    );
    // The subnet itself is held by all three, newest first (no time: last).
    let (holders, exact) = writers(&live, "spec.subnets.frontend");
    assert!(exact);
    assert_eq!(
        holders.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(),
        ["ops-script", "hhdash", "second-applier"]
    );
    // An atomic list stays owned as a whole, and so does a map nobody writes inside
    // (a Service's `selector`).
    assert!(writers(&live, "spec.permit[0][0]").1);
    assert_eq!(
        writers(&service(), "spec.selector.app"),
        (one("hhdash", "Apply", "2026-11-28T04:20:05Z"), true)
    );
}

#[test]
fn keyed_list_items_and_set_items_resolve_against_the_live_item() {
    let live = service();
    assert_eq!(
        writers(&live, "spec.ports[1].targetPort"),
        (one("kubectl-patch", "Update", "2026-11-28T04:20:05Z"), true)
    );
    for path in [
        "spec.ports[0].targetPort",
        "spec.ports[1].name",
        "spec.ports[1]",
    ] {
        assert_eq!(
            writers(&live, path),
            (one("hhdash", "Apply", "2026-11-28T04:20:05Z"), true),
            "{path}"
        );
    }
    assert_eq!(
        writers(&live, "metadata.finalizers[0]"),
        (one("hhdash", "Apply", "2026-11-28T04:20:05Z"), true)
    );
    // A list that changed length (no third item live), reported at the list: nobody holds
    // the keyed list itself; both writers of its items wrote at the same second.
    let (both, exact) = writers(&live, "spec.ports");
    assert!(!exact);
    assert_eq!(
        both.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(),
        ["hhdash", "kubectl-patch"]
    );
    let (third, exact) = writers(&live, "spec.ports[2].port");
    assert!(!exact && third.len() == 2, "{third:?}");
    // The item is found by its key fields, not by its position in the set.
    let mut moved = live.clone();
    moved["spec"]["ports"].as_array_mut().unwrap().swap(0, 1);
    assert_eq!(
        writers(&moved, "spec.ports[0].targetPort").0[0].0,
        "kubectl-patch"
    );
}

#[test]
fn no_field_sets_no_attribution() {
    // The summary hhdash kept before attribution, a read-only kind's cut-down object, a
    // status-only writer.
    let summary = json!({"metadata": {"managedFields": [
        {"manager": "hhdash", "operation": "Apply", "time": "2026-11-28T04:19:12Z"}
    ]}, "spec": {"vlan": 1}});
    assert_eq!(attribute(&summary, "spec.vlan"), None);
    assert_eq!(attribute(&json!({"metadata": {}}), "spec.vlan"), None);
    let status_only = json!({"metadata": {"managedFields": [
        {"fieldsV1":{"f:status":{}},"manager":"fabric-ctrl","operation":"Update","subresource":"status","time":"2026-11-28T04:20:55Z"}
    ]}});
    assert_eq!(attribute(&status_only, "spec.vlan"), None);
    // A path that is not one.
    assert_eq!(attribute(&vpc(), "spec..vlan"), None);
}
