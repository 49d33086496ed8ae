//! VPCs on a control plane for the outage tests: three to start from, the changes made while a
//! watch is away, and the store's live VPCs compared with a fresh list from the server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hhdash::store::Store;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::Value;
use testenv::{ControlPlane, Identity};

/// A VPC in `namespace` with one subnet on `vlan`.
pub fn vpc(name: &str, namespace: &str, vlan: u32) -> DynamicObject {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"subnets": {"default": {"subnet": "10.1.0.0/24", "vlan": vlan}}}
    }))
    .unwrap()
}

/// What every VPC refers to (the admission webhook checks), as hhfab installs it, then the
/// VPCs `keep`, `change` and `remove`. Returns the admin API for VPCs in `namespace`.
pub async fn three_vpcs(plane: &ControlPlane, namespace: &str) -> Api<DynamicObject> {
    plane
        .apply_objects(&testenv::fixtures::vpc_prerequisites(namespace))
        .await
        .unwrap();
    let vpcs = super::admin_api(plane, "VPC", namespace);
    for (name, vlan) in [("keep", 1001), ("change", 1002), ("remove", 1003)] {
        vpcs.create(&PostParams::default(), &vpc(name, namespace, vlan))
            .await
            .unwrap();
    }
    vpcs
}

/// The changes made while a watch is away: `change` gets another VLAN, `remove` goes and
/// `added` comes. Afterwards the server holds `added`, `change` and `keep`.
pub async fn change_while_away(vpcs: &Api<DynamicObject>, namespace: &str) {
    let patch = serde_json::json!({"spec": {"subnets": {"default": {"vlan": 1999}}}});
    vpcs.patch("change", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    vpcs.delete("remove", &Default::default()).await.unwrap();
    vpcs.create(&PostParams::default(), &vpc("added", namespace, 1004))
        .await
        .unwrap();
}

/// Live VPCs (name → spec) as a store holds them.
pub fn stored(store: &Store, fabric: &str) -> BTreeMap<String, Value> {
    store
        .live(fabric)
        .unwrap()
        .into_iter()
        .filter(|(k, _)| k.kind == "VPC")
        .map(|(k, v)| (k.name, v.value()["spec"].clone()))
        .collect()
}

/// A fresh list of VPCs (name → spec) from the server.
pub async fn fresh(vpcs: &Api<DynamicObject>) -> BTreeMap<String, Value> {
    vpcs.list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|o| (o.metadata.name.clone().unwrap(), o.data["spec"].clone()))
        .collect()
}

/// Waits until the store's live VPCs satisfy `done`, failing after `within` with `what` and
/// what the store holds.
pub async fn wait_for_stored(
    store: &Store,
    fabric: &str,
    within: Duration,
    what: &str,
    done: impl Fn(&BTreeMap<String, Value>) -> bool,
) {
    let deadline = Instant::now() + within;
    loop {
        let live = stored(store, fabric);
        if done(&live) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {live:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A config whose fabric `name` watches `namespace` through `server` (the plane's own URL, or a
/// relay in front of it) with the plane's operator token; Git holds nothing yet.
pub fn empty_git_config(
    dir: &Path,
    plane: &ControlPlane,
    server: &str,
    namespace: &str,
    name: &str,
) -> PathBuf {
    let repo = dir.join("repo");
    super::repo_with(&repo, &[("f/empty.yaml", b"# nothing yet\n")]);
    super::cluster_config(
        dir,
        name,
        namespace,
        server,
        &plane.token_file(Identity::Operator),
        plane.ca_file(),
        &repo,
        "f",
    )
}
