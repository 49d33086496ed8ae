//! A fabric spanning two namespaces, against the real control plane: the Gateway lives in the
//! fabric's second namespace (`kind_namespaces`), the GatewayPeering in its default one; both
//! are applied, watched (a live edit of each is drift with its path) and pruned, while an
//! object of a managed kind in a namespace the fabric does not list is never listed, shown or
//! pruned. And `check` names the namespace a token's Role is missing in.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hhdash::engine::EngineEvent;
use hhdash::status::WatchState;
use hhdash::store::LogKind;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use testenv::Identity;

const GATEWAY: &str = "\
apiVersion: gateway.githedgehog.com/v1alpha1
kind: Gateway
metadata:
  name: gw-1
spec:
  asn: 65534
  protocolIP: 172.30.8.3/32
  vtepIP: 172.30.12.3/32
  vtepMAC: 02:00:00:00:01:02
  interfaces:
    enp2s1:
      ips:
        - 172.30.128.1/31
  neighbors:
    - asn: 65101
      ip: 172.30.128.0
      source: enp2s1
  groups:
    - name: gw-group
      priority: 0
";

const PEERING: &str = "\
apiVersion: gateway.githedgehog.com/v1alpha1
kind: GatewayPeering
metadata:
  name: vpc-1--vpc-2
spec:
  gatewayGroup: gw-group
  peering:
    vpc-1:
      expose:
        - ips:
            - cidr: 10.0.0.0/24
    vpc-2:
      expose:
        - ips:
            - cidr: 192.168.0.0/16
";

/// Stays in Git when the other two leave, so the desired set is never empty.
const GROUP: &str = "\
apiVersion: gateway.githedgehog.com/v1alpha1
kind: GatewayGroup
metadata:
  name: gw-group
spec: {}
";

fn run(dir: &Path, config: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = common::hhdash(dir, config, args);
    (out.status.code(), common::output_text(&out))
}

/// A config whose fabric `name` manages `namespace` and `{namespace}-fab`, with Gateways placed
/// in the second, talking to `plane` with the token of `who`.
fn two_namespace_fabric(
    plane: &testenv::ControlPlane,
    who: Identity,
    namespace: &str,
    name: &str,
    files: &[(&str, &[u8])],
) -> (tempfile::TempDir, PathBuf) {
    let (temp, config) = common::git_fabric(plane, namespace, name, files, "env");
    let mut text = std::fs::read_to_string(&config).unwrap();
    let operator = plane.token_file(Identity::Operator).display().to_string();
    assert!(text.contains(&operator), "{text}");
    text = text.replace(&operator, &plane.token_file(who).display().to_string());
    let single = format!("namespace = \"{namespace}\"\n");
    assert!(text.contains(&single), "{text}");
    let two = format!(
        "{single}namespaces = [\"{namespace}\", \"{namespace}-fab\"]\nkind_namespaces = {{ Gateway = \"{namespace}-fab\" }}\n"
    );
    std::fs::write(&config, text.replace(&single, &two)).unwrap();
    (temp, config)
}

/// Every engine event until `done` says the wanted ones have all arrived (or the deadline).
async fn events_until(
    rx: &mut tokio::sync::mpsc::Receiver<EngineEvent>,
    secs: u64,
    what: &str,
    mut done: impl FnMut(&[EngineEvent]) -> bool,
    seen: &mut Vec<EngineEvent>,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done(seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(event)) => seen.push(event),
            _ => panic!("no {what} within {secs}s; saw {seen:#?}"),
        }
    }
}

/// Whether `events` hold a drift log line for `object` whose message names `path`.
fn drift_line(events: &[EngineEvent], object: &str, path: &str) -> bool {
    events.iter().any(|event| {
        matches!(event, EngineEvent::Log { entry, .. }
            if entry.what == LogKind::Drift
                && entry.object.as_deref() == Some(object)
                && entry.message.contains("Drifted")
                && entry.message.contains(path))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fabric_over_two_namespaces_applies_watches_and_prunes_each_and_leaves_a_third_alone() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "ns-two";
    let fab = "ns-two-fab";
    let other = "ns-two-other";
    // A cluster-admin token, which may act in every namespace: only the fabric's config keeps
    // hhdash out of the third.
    for namespace in [ns, fab, other] {
        plane.grant(namespace).await.unwrap();
    }
    // A peering in the third namespace, even written with hhdash's field manager: were it
    // ever listed, it would be an orphan hhdash applied, and prune would delete it.
    let stranger = json!({"apiVersion": "gateway.githedgehog.com/v1alpha1",
        "kind": "GatewayPeering", "metadata": {"name": "stranger", "namespace": other},
        "spec": {"gatewayGroup": "gw-group", "peering": {"vpc-3": {"expose": []}}}});
    let others = common::admin_api(plane, "GatewayPeering", other);
    others
        .patch(
            "stranger",
            &PatchParams::apply("hhdash"),
            &Patch::Apply(&stranger),
        )
        .await
        .unwrap();

    let files = [
        ("env/gateway.yaml", GATEWAY.as_bytes()),
        ("env/peering.yaml", PEERING.as_bytes()),
        ("env/group.yaml", GROUP.as_bytes()),
    ];
    let (temp, config) = two_namespace_fabric(plane, Identity::Admin, ns, ns, &files);
    let (code, text) = run(temp.path(), &config, &["sync"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(temp.path(), &config, &["apply", ns]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("3 object(s) applied, 0 failed"), "{text}");
    assert!(text.contains(&format!("Gateway/{fab}/gw-1")), "{text}");
    assert!(!text.contains("stranger"), "{text}");

    // Each landed in its own namespace, and nowhere else.
    let gateways = common::admin_api(plane, "Gateway", fab);
    let peerings = common::admin_api(plane, "GatewayPeering", ns);
    assert!(gateways.get_opt("gw-1").await.unwrap().is_some());
    assert!(peerings.get_opt("vpc-1--vpc-2").await.unwrap().is_some());
    let misplaced = common::admin_api(plane, "Gateway", ns);
    assert!(misplaced.get_opt("gw-1").await.unwrap().is_none());

    let (code, text) = run(temp.path(), &config, &["diff", ns]);
    assert_eq!(code, Some(0), "in sync, the stranger is no orphan: {text}");
    assert!(!text.contains("stranger"), "{text}");

    // The engine watches both namespaces: a live edit of each is drift with its path.
    let watched = tempfile::tempdir().unwrap();
    let mut engine = common::start_synced_engine(watched.path(), &config);
    common::wait_for_watch_state(&mut engine.events, 60, WatchState::Active).await;
    gateways
        .patch(
            "gw-1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"asn": 65000}})),
        )
        .await
        .unwrap();
    peerings
        .patch(
            "vpc-1--vpc-2",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"gatewayGroup": "edited"}})),
        )
        .await
        .unwrap();
    let gateway_name = format!("Gateway/{fab}/gw-1");
    let peering_name = format!("GatewayPeering/{ns}/vpc-1--vpc-2");
    let mut seen = Vec::new();
    events_until(
        &mut engine.events,
        30,
        "drift on both objects",
        |events| {
            drift_line(events, &gateway_name, "spec.asn: 65534 → 65000")
                && drift_line(events, &peering_name, "spec.gatewayGroup")
        },
        &mut seen,
    )
    .await;
    let shown_elsewhere = seen.iter().any(|event| match event {
        EngineEvent::Rows { upserts, .. } => upserts.iter().any(|r| r.key.namespace == other),
        EngineEvent::Snapshot { rows, .. } => rows.iter().any(|r| r.key.namespace == other),
        EngineEvent::Log { entry, .. } => {
            entry.object.as_deref().is_some_and(|o| o.contains(other))
        }
        _ => false,
    });
    assert!(
        !shown_elsewhere,
        "the third namespace is never shown: {seen:#?}"
    );
    let _ = engine
        .commands
        .send(hhdash::engine::Command::Shutdown)
        .await;

    // Both leave Git: both are orphans, named with their namespace, and prune deletes them
    // (the peering first: it refers to what the gateway serves), never the stranger.
    let repo = temp.path().join("repo");
    common::commit_files(
        &repo,
        &[
            ("env/gateway.yaml", b"# moved out\n"),
            ("env/peering.yaml", b"# moved out\n"),
        ],
        "remove the gateway",
    );
    let (code, text) = run(temp.path(), &config, &["sync"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(temp.path(), &config, &["diff", ns]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(&format!("{fab}/gw-1  Orphan")), "{text}");
    assert!(
        text.contains(&format!("{ns}/vpc-1--vpc-2  Orphan")),
        "{text}"
    );
    assert!(!text.contains("stranger"), "{text}");
    let (code, text) = run(temp.path(), &config, &["apply", ns, "--prune", "--yes"]);
    assert_eq!(code, Some(0), "{text}");
    let pruned_peering = text
        .find(&format!("prune  ok     {peering_name}"))
        .unwrap_or_else(|| panic!("the peering is pruned: {text}"));
    let pruned_gateway = text
        .find(&format!("prune  ok     {gateway_name}"))
        .unwrap_or_else(|| panic!("the gateway is pruned: {text}"));
    assert!(
        pruned_peering < pruned_gateway,
        "reverse apply order: {text}"
    );
    assert!(!text.contains("stranger"), "{text}");
    assert!(gateways.get_opt("gw-1").await.unwrap().is_none());
    assert!(peerings.get_opt("vpc-1--vpc-2").await.unwrap().is_none());
    assert!(
        others.get_opt("stranger").await.unwrap().is_some(),
        "the third namespace's object is left alone"
    );
    let group = common::admin_api(plane, "GatewayGroup", ns);
    assert!(group.get_opt("gw-group").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_the_namespace_a_role_is_missing_in() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "ns-half";
    // The operator's Role exists in ns only; ns-half-fab has none.
    plane.grant(ns).await.unwrap();
    let (temp, config) = two_namespace_fabric(
        plane,
        Identity::Operator,
        ns,
        ns,
        &[("env/group.yaml", GROUP.as_bytes())],
    );
    let (code, text) = run(temp.path(), &config, &["check"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("RBAC forbids"), "{text}");
    assert!(
        text.contains(&format!("in namespace {ns}-fab (403)")),
        "{text}"
    );
    assert!(!text.contains(&format!("in namespace {ns} ")), "{text}");

    // With the Role in both, the same token passes.
    plane.grant(&format!("{ns}-fab")).await.unwrap();
    let (code, text) = run(temp.path(), &config, &["check"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "RBAC: read and apply in namespace(s) {ns},{ns}-fab"
        )),
        "{text}"
    );
}
