//! The headless CLI against the real control plane (testenv), as an operator runs it:
//! `apply --dry-run` writes nothing, `apply --only` writes exactly what it names, a change by
//! another client shows in `diff` as `path: git → live`, `apply` refuses to take that field back
//! and `apply --force-conflicts` takes it; `diff --server-side` and the semantic `diff` disagree
//! where they must (a field Git stopped setting: no drift by Git's values, but applying Git
//! would remove it).

use crate::common;

use kube::api::{Patch, PatchParams};

fn vpc_names(list: &[kube::api::DynamicObject]) -> Vec<String> {
    let mut names: Vec<String> = list
        .iter()
        .filter_map(|o| o.metadata.name.clone())
        .collect();
    names.sort();
    names
}

/// `diff` output with demo-vpc-3 as the one object out of sync, Drifted, its first difference
/// on the line after it.
fn assert_only_demo_vpc_3_drifted(text: &str, difference: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("  ~ demo-vpc-3  Drifted"))
        .unwrap_or_else(|| panic!("no Drifted demo-vpc-3 line:\n{text}"));
    assert_eq!(lines[at + 1], difference, "{text}");
    assert!(
        text.contains("1 object(s) out of sync: 1 drifted, 0 missing, 0 orphan"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_dry_run_only_and_force_conflicts_from_the_cli() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "cli-apply";
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, ns, "cli");
    let run = |args: &[&str]| {
        let out = common::hhdash(temp.path(), &config, args);
        let text = common::output_text(&out);
        (out.status.code(), text)
    };
    let vpcs = common::admin_api(plane, "VPC", ns);
    let live_vpcs = || async { vpc_names(&vpcs.list(&Default::default()).await.unwrap().items) };

    let (code, text) = run(&["sync"]);
    assert_eq!(code, Some(0), "{text}");

    // The wiring is there first, as hhfab installs it (the same objects Git has, so InSync):
    // the admission webhook checks a VPC's references against what exists, dry run or not.
    plane
        .apply_objects(&testenv::fixtures::demo_gitops_wiring(ns))
        .await
        .unwrap();
    // --dry-run: the server validates and defaults each object, nothing is stored.
    let (code, text) = run(&[
        "apply",
        "cli",
        "--dry-run",
        "--only",
        "VPC/demo-vpc-1",
        "--only",
        "VPC/demo-vpc-2",
        "--only",
        "VPC/demo-vpc-3",
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("dry-run apply  ok     VPC/demo-vpc-1"),
        "{text}"
    );
    assert!(
        text.contains("3 object(s) passed the dry run, 0 failed"),
        "{text}"
    );
    assert_eq!(
        live_vpcs().await,
        Vec::<String>::new(),
        "a dry run wrote to the cluster"
    );

    // --only: exactly the named object.
    let (code, text) = run(&["apply", "cli", "--only", "VPC/demo-vpc-2"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("1 object(s) applied, 0 failed"), "{text}");
    assert_eq!(live_vpcs().await, ["demo-vpc-2"]);
    let (code, text) = run(&["apply", "cli", "--only", "VPC/no-such-vpc"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("--only VPC/no-such-vpc: not in the synced desired set of fabric cli"),
        "{text}"
    );

    // The rest: what is still Missing.
    let (code, text) = run(&["apply", "cli"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("7 object(s) applied, 0 failed"), "{text}");
    assert_eq!(
        live_vpcs().await,
        ["demo-vpc-1", "demo-vpc-2", "demo-vpc-3"]
    );

    // Another client changes a VLAN: `diff` names the path with Git's and the live value.
    let patch = serde_json::json!({"spec": {"subnets": {"subnet-1": {"vlan": 1999}}}});
    vpcs.patch("demo-vpc-3", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let (code, text) = run(&["diff", "cli"]);
    assert_eq!(code, Some(1), "{text}");
    assert_only_demo_vpc_3_drifted(&text, "      spec.subnets.subnet-1.vlan: 1131 → 1999");

    // A plain apply does not take the field from its new owner: a conflict, nothing changes.
    let (code, text) = run(&["apply", "cli"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("FAILED VPC/demo-vpc-3"), "{text}");
    assert!(text.contains("conflict"), "{text}");
    let live = vpcs.get("demo-vpc-3").await.unwrap();
    assert_eq!(live.data["spec"]["subnets"]["subnet-1"]["vlan"], 1999);

    // --force-conflicts is the explicit choice: Git wins.
    let (code, text) = run(&["apply", "cli", "--force-conflicts"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("1 object(s) applied, 0 failed"), "{text}");
    let live = vpcs.get("demo-vpc-3").await.unwrap();
    assert_eq!(live.data["spec"]["subnets"]["subnet-1"]["vlan"], 1131);
    let (code, text) = run(&["diff", "cli"]);
    assert_eq!(code, Some(0), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_diff_sees_a_field_git_stopped_setting_semantic_diff_does_not() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "cli-server-side";
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, ns, "ss");
    let run = |args: &[&str]| {
        let out = common::hhdash(temp.path(), &config, args);
        (out.status.code(), common::output_text(&out))
    };
    let (code, text) = run(&["sync"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&["apply", "ss"]);
    assert_eq!(code, Some(0), "{text}");

    // A new commit drops `restricted: true` from demo-vpc-3's subnet-2. Live still has it, owned
    // by hhdash alone, so the next apply of Git would remove it.
    let demo = common::demo_files(ns)
        .into_iter()
        .find(|(path, _)| path == "env-1/demo.yaml")
        .unwrap();
    let text = String::from_utf8(demo.1).unwrap();
    let at = text.find("name: demo-vpc-3").unwrap();
    let (head, tail) = text.split_at(at);
    let dropped = format!("{head}{}", tail.replacen("      restricted: true\n", "", 1));
    assert_ne!(dropped, text);
    common::commit_files(
        &temp.path().join("repo"),
        &[("env-1/demo.yaml", dropped.as_bytes())],
        "demo-vpc-3 subnet-2 no longer restricted",
    );
    let (code, text) = run(&["sync"]);
    assert_eq!(code, Some(0), "{text}");
    let vpcs = common::admin_api(plane, "VPC", ns);
    let live = vpcs.get("demo-vpc-3").await.unwrap();
    assert_eq!(live.data["spec"]["subnets"]["subnet-2"]["restricted"], true);

    // Semantic: Git no longer sets the field, and an extra live field is no drift (exit 0).
    let (code, text) = run(&["diff", "ss"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("in sync: "), "{text}");
    // Server-side: the dry run of Git drops the field, live has it: drift (exit 1).
    let (code, text) = run(&["diff", "ss", "--server-side"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("[server-side dry run]"), "{text}");
    assert_only_demo_vpc_3_drifted(
        &text,
        "      spec.subnets.subnet-2.restricted: <absent> → true",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_connects_with_a_token_stored_by_secret_set() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "cli-secret";
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, ns, "sec");
    // No token_file, no token_env: the token comes from the store only.
    let text = std::fs::read_to_string(&config).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("token_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, text);
    std::fs::write(&config, without).unwrap();

    let out = common::hhdash(temp.path(), &config, &["check"]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "no token yet: {}",
        common::output_text(&out)
    );

    let token = plane.token(testenv::Identity::Operator).to_string();
    let mut set = common::hhdash_command(
        temp.path(),
        &config,
        &["secret", "set", "sec", "kubernetes-token"],
    );
    set.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = set.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{token}\n").as_bytes()).unwrap();
    }
    let out = common::wait_with_deadline(child, common::COMMAND_DEADLINE, "secret set");
    assert!(out.status.success(), "{}", common::output_text(&out));

    let out = common::hhdash(temp.path(), &config, &["check"]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("ok  fabric sec: connected to") && text.contains("RBAC: read and apply"),
        "{text}"
    );
    assert!(!text.contains(&token), "the token never shows: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_against_a_cluster_without_the_hedgehog_crds_names_what_is_missing() {
    let ns = "default";
    let plane = testenv::ControlPlane::start_with(testenv::Options {
        install_crds: false,
        webhook: false,
        ..Default::default()
    })
    .await
    .expect("control plane without CRDs");
    let (temp, config) = common::demo_fabric(&plane, ns, "bare");
    let out = common::hhdash(temp.path(), &config, &["check"]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL fabric bare: ")
            && text.contains("the Hedgehog CRDs are not installed on")
            && text.contains("VPC")
            && text.contains("install the fabric's CRDs first"),
        "{text}"
    );
}

/// A second hhdash on the same store attaches to the first (here a `watch`, which serves its
/// engine) instead of failing on the store's lock, says so, and its `sync` is the engine's own:
/// the watch prints the sync's line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_same_store_attaches_to_the_first() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "cli-store";
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, ns, "store");
    let out = common::hhdash(temp.path(), &config, &["sync"]);
    assert!(out.status.success(), "{}", common::output_text(&out));

    let store = temp.path().join("store.redb");
    let mut watch = common::spawn_watch(temp.path(), &config, &store, "store", false);
    // The watch's own first sync (its poll fires at start), so the next one is the command's.
    watch
        .wait_for_line(
            std::time::Duration::from_secs(30),
            "the watch's first sync",
            |line| line.contains("synced "),
        )
        .await;
    let out = common::hhdash(temp.path(), &config, &["sync"]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("fabric store: synced commit")
            && text.contains("the store is held by `hhdash watch` (pid ")
            && !text.contains("in use"),
        "{text}"
    );
    watch
        .wait_for_line(
            std::time::Duration::from_secs(30),
            "the attached sync, run by the watch's engine",
            |line| line.contains("synced "),
        )
        .await;
    drop(watch);
    // Once the first process is gone, the store (and what it held) is usable again.
    let out = common::hhdash(temp.path(), &config, &["status", "--json"]);
    let text = common::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("\"Synced\""), "{text}");
}
