//! Prune never deletes what Git still wants, against the real control plane: a failed or empty
//! sync makes `diff` say why instead of listing orphans (exit 2) and prune refuse; documents
//! Git has but could not use keep their objects; failed applies stop the prune; only objects
//! hhdash applied are deleted, each only if unchanged since it was judged.

use crate::common;

use std::path::{Path, PathBuf};

use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::json;

const KINDS: [&str; 4] = ["VPC", "VPCAttachment", "VPCPeering", "ExternalPeering"];

fn run(dir: &Path, config: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = common::hhdash(dir, config, args);
    (out.status.code(), common::output_text(&out))
}

/// Every demo object's `Kind/name` in the namespace, as an admin sees it.
async fn live_objects(plane: &testenv::ControlPlane, ns: &str) -> Vec<String> {
    let mut names = Vec::new();
    for kind in KINDS {
        let list = common::admin_api(plane, kind, ns)
            .list(&Default::default())
            .await
            .unwrap();
        for object in list.items {
            names.push(format!("{kind}/{}", object.metadata.name.unwrap()));
        }
    }
    names.sort();
    names
}

/// The demo fabric synced and applied by hhdash into `ns` (its wiring too; all hhdash's).
async fn applied_fabric(ns: &str) -> (tempfile::TempDir, PathBuf) {
    let plane = testenv::shared().await.expect("control plane");
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, ns, ns);
    let (code, text) = run(temp.path(), &config, &["sync"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(temp.path(), &config, &["apply", ns]);
    assert_eq!(code, Some(0), "{text}");
    let applied = format!("{} object(s) applied, 0 failed", common::DEMO_OBJECTS);
    assert!(text.contains(&applied), "{text}");
    (temp, config)
}

/// `text` (a multi-document YAML file) without the documents of `kind`.
fn without(text: &str, kind: &str) -> String {
    let kept: Vec<&str> = text
        .split("\n---\n")
        .filter(|doc| !doc.contains(&format!("\nkind: {kind}\n")))
        .collect();
    assert_ne!(
        kept.len(),
        text.split("\n---\n").count(),
        "no {kind} in {text}"
    );
    kept.join("\n---\n")
}

fn rewrite(config: &Path, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(config).unwrap();
    assert!(text.contains(from), "{text}");
    let path = config.with_extension("edited.toml");
    std::fs::write(&path, text.replace(from, to)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_first_sync_lists_no_orphans_and_prunes_nothing() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "prune-branch";
    let (temp, config) = applied_fabric(ns).await;
    let before = live_objects(plane, ns).await;
    assert_eq!(before.len(), 8);

    // The same fabric from a fresh store, with a typo in the branch: the first sync fails.
    let other = tempfile::tempdir().unwrap();
    let typo = rewrite(&config, "branch = \"main\"", "branch = \"mian\"");
    let (code, text) = run(other.path(), &typo, &["sync"]);
    assert_ne!(code, Some(0), "{text}");

    let (code, text) = run(other.path(), &typo, &["diff", ns]);
    assert_eq!(code, Some(2), "diff cannot be complete: {text}");
    assert!(text.contains("last sync failed"), "{text}");
    assert!(text.contains("mian"), "the reason names the branch: {text}");
    assert!(
        !text.contains("Orphan"),
        "no live object is an orphan: {text}"
    );

    for args in [
        &["apply", ns, "--prune", "--dry-run"][..],
        &["apply", ns, "--prune", "--yes"][..],
        &["apply", ns, "--prune", "--yes", "--allow-empty"][..],
    ] {
        let (code, text) = run(other.path(), &typo, args);
        assert_eq!(code, Some(2), "{args:?}: {text}");
        assert!(text.contains("prune refused"), "{args:?}: {text}");
        assert!(text.contains("last sync failed"), "{args:?}: {text}");
        assert!(!text.contains("prune ok"), "{args:?}: {text}");
    }
    assert_eq!(live_objects(plane, ns).await, before, "nothing was deleted");

    // The good config still works from its own store.
    let (code, text) = run(temp.path(), &config, &["diff", ns]);
    assert_eq!(code, Some(0), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_git_directory_needs_allow_empty_and_then_deletes_only_what_hhdash_applied() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "prune-empty";
    let (temp, config) = applied_fabric(ns).await;
    // An object someone else made by hand.
    let vpcs = common::admin_api(plane, "VPC", ns);
    let by_hand = json!({"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
        "metadata": {"name": "by-hand", "namespace": ns},
        "spec": {"subnets": {"default": {"subnet": "10.77.0.0/24", "vlan": 1077}}}});
    vpcs.patch(
        "by-hand",
        &PatchParams::apply("kubectl"),
        &Patch::Apply(&by_hand),
    )
    .await
    .unwrap();

    // The config now points at a directory without YAML: the sync succeeds with 0 objects.
    let repo = temp.path().join("repo");
    common::commit_files(&repo, &[("docs/README.md", b"no manifests here\n")], "docs");
    let empty = rewrite(&config, "directory = \"env-1\"", "directory = \"docs\"");
    let (code, text) = run(temp.path(), &empty, &["sync"]);
    assert_eq!(code, Some(0), "{text}");

    let (code, text) = run(temp.path(), &empty, &["diff", ns]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("holds no objects"), "{text}");
    assert!(!text.contains("Orphan"), "{text}");

    let (code, text) = run(temp.path(), &empty, &["apply", ns, "--prune", "--yes"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("prune refused") && text.contains("--allow-empty"),
        "{text}"
    );
    assert_eq!(live_objects(plane, ns).await.len(), 9, "nothing deleted");

    let (code, text) = run(
        temp.path(),
        &empty,
        &["apply", ns, "--prune", "--yes", "--allow-empty"],
    );
    // The namespaces the hand-made VPC refers to cannot go (the webhook refuses, as on a real
    // fabric): those deletes fail, everything else hhdash applied goes.
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("kept   VPC/by-hand: not applied by hhdash"),
        "{text}"
    );
    assert!(text.contains("FAILED IPv4Namespace/default"), "{text}");
    assert_eq!(
        live_objects(plane, ns).await,
        ["VPC/by-hand"],
        "everything hhdash applied went, the hand-made object stayed: {text}"
    );
    // Referrers go before what they refer to: everything in reverse apply order (all but the
    // two namespaces the hand-made VPC holds), so every attachment, peering and external
    // peering is gone before any VPC, and the VPCs before the wiring.
    let pruned: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("prune  ok     "))
        .collect();
    assert_eq!(pruned.len(), common::DEMO_OBJECTS - 2, "{text}");
    let ranks: Vec<u8> = pruned
        .iter()
        .map(|object| {
            let kind = object.split('/').next().unwrap();
            hhdash::kinds::by_kind(kind).unwrap().apply_rank.unwrap()
        })
        .collect();
    assert!(
        ranks.windows(2).all(|pair| pair[0] >= pair[1]),
        "pruned in reverse apply order: {pruned:?}"
    );
    let first_vpc = pruned.iter().position(|o| o.starts_with("VPC/")).unwrap();
    assert!(
        pruned[..first_vpc].len() == 5
            && pruned[..first_vpc].iter().all(|o| {
                ["VPCAttachment/", "VPCPeering/", "ExternalPeering/"]
                    .iter()
                    .any(|kind| o.starts_with(kind))
            }),
        "every referrer before the VPCs: {pruned:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_documents_keep_their_objects_and_unreadable_ones_stop_the_prune() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "prune-skipped";
    let (temp, config) = applied_fabric(ns).await;
    let repo = temp.path().join("repo");
    let pre = std::fs::read_to_string(repo.join("env-1/pre-demo.yaml")).unwrap();
    let demo = std::fs::read_to_string(repo.join("env-1/demo.yaml")).unwrap();
    // demo-vpc-2 written at an unserved version; the ExternalPeering really leaves Git.
    let (head, tail) = pre.split_at(pre.find("name: demo-vpc-2").unwrap());
    let head = match head.rfind("vpc.githedgehog.com/v1beta1") {
        Some(at) => format!(
            "{}vpc.githedgehog.com/v1alpha2{}",
            &head[..at],
            &head[at + "vpc.githedgehog.com/v1beta1".len()..]
        ),
        None => panic!("the sample's VPC apiVersion moved: {head}"),
    };
    let demo_without_peering = without(&demo, "ExternalPeering");
    common::commit_files(
        &repo,
        &[
            ("env-1/pre-demo.yaml", format!("{head}{tail}").as_bytes()),
            ("env-1/demo.yaml", demo_without_peering.as_bytes()),
        ],
        "vpc-2 at v1alpha2; external peering gone",
    );
    let (code, text) = run(temp.path(), &config, &["sync"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("v1alpha2"), "{text}");

    let (code, text) = run(temp.path(), &config, &["diff", ns]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("demo-vpc-2  Orphan (in the cluster, not in Git; prune keeps it: Git still has a document for it that was skipped: env-1/pre-demo.yaml:"),
        "{text}"
    );
    let (code, text) = run(temp.path(), &config, &["apply", ns, "--prune", "--yes"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("kept   VPC/demo-vpc-2"), "{text}");
    assert!(
        text.contains("prune  ok     ExternalPeering/demo-vpc-1--default"),
        "{text}"
    );
    let live = live_objects(plane, ns).await;
    assert!(live.contains(&"VPC/demo-vpc-2".to_string()), "{live:?}");
    assert!(
        !live.iter().any(|o| o.starts_with("ExternalPeering/")),
        "{live:?}"
    );

    // A document that cannot be read at all (and the VPCPeering gone from Git): no prune.
    let demo_without_vpc_peering = without(&demo_without_peering, "VPCPeering");
    common::commit_files(
        &repo,
        &[
            (
                "env-1/broken.yaml",
                b"kind: VPC\nmetadata: {name: [unclosed\n",
            ),
            ("env-1/demo.yaml", demo_without_vpc_peering.as_bytes()),
        ],
        "a broken file",
    );
    let (code, text) = run(temp.path(), &config, &["sync"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(temp.path(), &config, &["apply", ns, "--prune", "--yes"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("prune refused") && text.contains("could not be read"),
        "{text}"
    );
    assert_eq!(
        live_objects(plane, ns).await,
        live,
        "nothing deleted: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_apply_stops_the_prune_of_the_same_run() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "prune-failed-apply";
    let (temp, config) = applied_fabric(ns).await;
    let repo = temp.path().join("repo");
    let pre = std::fs::read_to_string(repo.join("env-1/pre-demo.yaml")).unwrap();
    let demo = std::fs::read_to_string(repo.join("env-1/demo.yaml")).unwrap();
    // The API server rejects a VLAN that is not a number (CRD schema); the ExternalPeering
    // leaves Git, so there is an orphan to prune.
    let broken_vlan = pre.replacen("vlan: 1101", "vlan: not-a-number", 1);
    assert_ne!(broken_vlan, pre, "the sample's first VLAN moved");
    common::commit_files(
        &repo,
        &[
            ("env-1/pre-demo.yaml", broken_vlan.as_bytes()),
            (
                "env-1/demo.yaml",
                without(&demo, "ExternalPeering").as_bytes(),
            ),
        ],
        "bad vlan",
    );
    let (code, text) = run(temp.path(), &config, &["sync"]);
    assert_eq!(code, Some(0), "{text}");
    let before = live_objects(plane, ns).await;
    let (code, text) = run(temp.path(), &config, &["apply", ns, "--prune", "--yes"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("FAILED VPC/demo-vpc-1"), "{text}");
    assert!(
        text.contains("prune refused") && text.contains("apply(s) of this run failed"),
        "{text}"
    );
    assert_eq!(live_objects(plane, ns).await, before, "nothing deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orphan_changed_since_the_review_is_not_deleted() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "prune-precondition";
    let (temp, config_path) = applied_fabric(ns).await;
    let repo = temp.path().join("repo");
    let demo = std::fs::read_to_string(repo.join("env-1/demo.yaml")).unwrap();
    common::commit_files(
        &repo,
        &[(
            "env-1/demo.yaml",
            without(&demo, "ExternalPeering").as_bytes(),
        )],
        "external peering gone",
    );
    let (code, text) = run(temp.path(), &config_path, &["sync"]);
    assert_eq!(code, Some(0), "{text}");

    let config = hhdash::config::Config::load(&config_path).unwrap();
    let fabric = &config.fabrics[0];
    let store = hhdash::store::Store::open(&temp.path().join("store.redb")).unwrap();
    let client =
        hhdash::cli::cluster::fabric_client(fabric, &store, &temp.path().join("unused.key"))
            .unwrap();
    let review = hhdash::review::review(fabric, &store, &client, false, false)
        .await
        .unwrap();
    let orphan = review
        .objects
        .iter()
        .find(|o| o.key.kind == "ExternalPeering")
        .expect("the peering is an orphan");
    assert_eq!(orphan.drift, hhdash::drift::Drift::Orphan);
    assert_eq!(orphan.keep, None, "hhdash applied it");

    // Someone changes it after the review: the delete the review planned must not happen.
    let peerings = common::admin_api(plane, "ExternalPeering", ns);
    let name = orphan.key.name.clone();
    peerings
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"changed": "after-review"}}})),
        )
        .await
        .unwrap();
    let info = hhdash::kinds::by_kind("ExternalPeering").unwrap();
    let result = client
        .delete(info, &orphan.key, orphan.live_version.as_ref(), false)
        .await;
    assert!(result.is_err(), "a changed object is not deleted");
    let still: Option<DynamicObject> = peerings.get_opt(&name).await.unwrap();
    assert!(still.is_some());
}
