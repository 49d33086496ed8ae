//! The examples shipped in `examples/` work as documented, with the real binary against the real
//! control plane: the example fabric syncs with nothing skipped and applies cleanly (then diffs
//! clean, also by server-side dry run), the demo's extra commit applies on top, and
//! `examples/rbac.yaml` gives a ServiceAccount token exactly what hhdash needs in one namespace
//! and nothing cluster-wide.

use crate::common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use testenv::Identity;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// The files of `examples/<example>`, as repository paths under `fabrics/demo`.
fn example_files(example: &str) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    common::read_tree(&examples_dir().join(example), "fabrics/demo", &mut files);
    files.sort();
    files
}

fn refs(files: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect()
}

/// Objects per kind in the example fabric: 2 spines + 4 leaves, 8 servers, 19 connections
/// (8 fabric, 1 MCLAG domain, 2 MCLAG, 2 ESLAG, 1 bundled, 3 unbundled, 2 gateway), 3 VPCs, and
/// a gateway: GatewayGroup `default`, Gateway `gateway-1`, GatewayPeering `db--mgmt` (NAT).
const EXAMPLE_COUNTS: [(&str, usize); 12] = [
    ("SwitchGroup", 2),
    ("VLANNamespace", 1),
    ("IPv4Namespace", 1),
    ("GatewayGroup", 1),
    ("Switch", 6),
    ("Server", 8),
    ("Connection", 19),
    ("Gateway", 1),
    ("VPC", 3),
    ("VPCAttachment", 7),
    ("VPCPeering", 1),
    ("GatewayPeering", 1),
];

#[test]
fn the_example_fabric_syncs_with_nothing_skipped() {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    common::repo_with(&repo, &refs(&example_files("fabric")));
    let config = common::config_for(temp.path(), &repo, &[("demo", "fabrics/demo")]);
    let out = common::hhdash(temp.path(), &config, &["sync", "--json"]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = &reports[0]["report"];
    assert_eq!(report["skipped"], json!([]), "{report:#}");
    let counts: BTreeMap<String, u64> = report["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_string(),
                pair[1].as_u64().unwrap(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let expected: BTreeMap<String, u64> = EXAMPLE_COUNTS
        .iter()
        .map(|(k, n)| (k.to_string(), *n as u64))
        .collect();
    assert_eq!(counts, expected);
    // One object per file, as in a GitOps tree.
    assert_eq!(report["files"], 51);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_fabric_applies_cleanly_and_the_demo_commit_on_top() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "examples-apply";
    plane.grant(ns).await.unwrap();
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    common::repo_with(&repo, &refs(&example_files("fabric")));
    let config = common::cluster_config(
        temp.path(),
        "demo",
        ns,
        &plane.server_url(),
        &plane.token_file(Identity::Operator),
        plane.ca_file(),
        &repo,
        "fabrics/demo",
    );
    let run = |args: &[&str]| common::hhdash(temp.path(), &config, args);

    let out = run(&["sync"]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    let out = run(&["apply", "demo"]);
    let text = common::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("51 object(s) applied, 0 failed"), "{text}");
    let out = run(&["diff", "demo"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    // Exact mode too: a server-side dry run of every Git object changes nothing live.
    let out = run(&["diff", "demo", "--server-side"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));

    // The demo's second commit (examples/demo): two Missing objects, then applied.
    common::commit_files(&repo, &refs(&example_files("demo")), "Add VPC staging");
    let out = run(&["sync"]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    let out = run(&["diff", "demo"]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("2 object(s) out of sync: 0 drifted, 2 missing, 0 orphan"),
        "{text}"
    );
    let out = run(&["apply", "demo"]);
    let text = common::output_text(&out);
    assert!(text.contains("2 object(s) applied, 0 failed"), "{text}");
    let out = run(&["diff", "demo"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
}

fn api_code<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> u16 {
    match result {
        Err(kube::Error::Api(status)) => status.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rbac_example_grants_what_hhdash_needs_in_one_namespace_and_nothing_more() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "examples-rbac";
    let admin = plane.client(Identity::Admin);
    // A bare namespace: no testenv grants, only what examples/rbac.yaml adds.
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    // The fabric's namespace, as `default` is on a real fabric: the admission webhook accepts
    // Hedgehog objects only there (no RBAC is added by this).
    plane.allow_namespace(ns);

    // Exactly the documented steps: apply the file in the namespace, create a token.
    let rbac = std::fs::read_to_string(examples_dir().join("rbac.yaml")).unwrap();
    assert!(rbac.contains("namespace: default"));
    let rbac = rbac.replace("namespace: default", &format!("namespace: {ns}"));
    common::kubectl(plane, &["apply", "-f", "-"], &rbac);
    let token = common::kubectl(
        plane,
        &["-n", ns, "create", "token", "hhdash", "--duration=1h"],
        "",
    );
    let temp = tempfile::tempdir().unwrap();
    let token_file = temp.path().join("token");
    std::fs::write(&token_file, token.trim()).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    let repo = temp.path().join("repo");
    common::repo_with(&repo, &refs(&example_files("fabric")));
    let config = common::cluster_config(
        temp.path(),
        "demo",
        ns,
        &plane.server_url(),
        &token_file,
        plane.ca_file(),
        &repo,
        "fabrics/demo",
    );
    let run = |args: &[&str]| common::hhdash(temp.path(), &config, args);

    // The RBAC authorizer learns new bindings a moment later; check until it has.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let out = run(&["check"]);
        let text = common::output_text(&out);
        if out.status.success() && text.contains("read and apply") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "hhdash check never passed:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(
        text.contains(&format!("RBAC: read and apply in namespace(s) {ns}")),
        "{text}"
    );
    assert!(!text.contains("warning"), "{text}");

    let out = run(&["sync"]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    let out = run(&["apply", "demo"]);
    let text = common::output_text(&out);
    assert!(text.contains("51 object(s) applied, 0 failed"), "{text}");
    let out = run(&["diff", "demo", "--server-side"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));

    // Prune (the reason for `delete`): an object only in the cluster goes away.
    let vpcs: Api<DynamicObject> = Api::namespaced_with(
        admin.clone(),
        ns,
        &hhdash::cluster::api_resource(hhdash::kinds::by_kind("VPC").unwrap()),
    );
    let orphan = json!({"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
        "metadata": {"name": "orphan", "namespace": ns},
        "spec": {"subnets": {"default": {"subnet": "10.10.99.0/24", "vlan": 1099}}}});
    // Applied with hhdash's field manager, as if from an earlier commit of Git: prune deletes
    // only what hhdash applied.
    vpcs.patch(
        "orphan",
        &PatchParams::apply("hhdash"),
        &Patch::Apply(&orphan),
    )
    .await
    .unwrap();
    let out = run(&["apply", "demo", "--prune", "--yes"]);
    let text = common::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ok     VPC/orphan"), "{text}");
    assert!(vpcs.get_opt("orphan").await.unwrap().is_none());

    // Nothing beyond that: not cluster-wide, not other namespaces, not other resources, and
    // Agents read-only.
    let mut config = plane.config(Identity::Nobody);
    config.auth_info.token = Some(token.trim().to_string().into());
    let sa = kube::Client::try_from(config).unwrap();
    let ok = Api::<DynamicObject>::namespaced_with(
        sa.clone(),
        ns,
        &hhdash::cluster::api_resource(hhdash::kinds::by_kind("VPC").unwrap()),
    );
    assert_eq!(
        ok.list(&ListParams::default()).await.unwrap().items.len(),
        3
    );
    let list = ListParams::default();
    assert_eq!(
        api_code(Api::<Namespace>::all(sa.clone()).list(&list).await),
        403
    );
    let resource =
        |kind: &str| hhdash::cluster::api_resource(hhdash::kinds::by_kind(kind).unwrap());
    let elsewhere = Api::<DynamicObject>::namespaced_with(sa.clone(), "default", &resource("VPC"));
    assert_eq!(api_code(elsewhere.list(&list).await), 403);
    let everywhere = Api::<DynamicObject>::all_with(sa.clone(), &resource("VPC"));
    assert_eq!(api_code(everywhere.list(&list).await), 403);
    let agents_everywhere = Api::<DynamicObject>::all_with(sa.clone(), &resource("Agent"));
    assert_eq!(api_code(agents_everywhere.list(&list).await), 403);
    let configmaps = Api::<ConfigMap>::namespaced(sa.clone(), ns);
    assert_eq!(api_code(configmaps.list(&list).await), 403);
    let agents = Api::<DynamicObject>::namespaced_with(sa.clone(), ns, &resource("Agent"));
    assert!(agents.list(&list).await.is_ok());
    let agent = json!({"apiVersion": "agent.githedgehog.com/v1beta1", "kind": "Agent",
        "metadata": {"name": "leaf-1", "namespace": ns}, "spec": {"role": "server-leaf"}});
    assert_eq!(
        api_code(
            agents
                .patch(
                    "leaf-1",
                    &PatchParams::apply("hhdash"),
                    &Patch::Apply(&agent)
                )
                .await
        ),
        403
    );
    // The gateway's controller-written kinds are read-only too.
    for kind in ["VPCInfo", "GatewayAgent"] {
        let api = Api::<DynamicObject>::namespaced_with(sa.clone(), ns, &resource(kind));
        assert!(api.list(&list).await.is_ok(), "{kind} is readable");
        let info = hhdash::kinds::by_kind(kind).unwrap();
        let object = json!({"apiVersion": info.api_version(), "kind": kind,
            "metadata": {"name": "x", "namespace": ns}, "spec": {}});
        let patched = api
            .patch("x", &PatchParams::apply("hhdash"), &Patch::Apply(&object))
            .await;
        assert_eq!(api_code(patched), 403, "{kind} is read-only");
    }
}
