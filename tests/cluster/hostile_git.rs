//! Hostile or broken Git content costs one document, never the fabric or the process: the
//! reproduced triggers (an alias bomb, a 127-level document, oversized files and directories)
//! through the real `hhdash` binary on real Git repositories, and a stored record that cannot be
//! read surfacing as an error (headless and in the engine against the real control plane)
//! instead of an empty desired set that would make every live object an Orphan.

use crate::common;

use std::path::{Path, PathBuf};

use hhdash::desired::{DesiredObject, Source};
use hhdash::drift::Drift;
use hhdash::engine::{Command, EngineEvent, JobKind};
use hhdash::kinds::ObjectKey;
use hhdash::status::{SyncState, WatchState};
use hhdash::store::Store;

fn vpc(name: &str) -> String {
    format!(
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: {name}\nspec:\n  subnets:\n    default: {{subnet: 10.0.{}.0/24, vlan: {}}}\n",
        name.len(),
        1000 + name.len()
    )
}

/// The reproduced deep document: 329 bytes, nested 127 levels deep.
fn deep_document() -> String {
    let head = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: d\nspec: ";
    let depth = 127 - 1; // `spec` is one level below the document's own mapping.
    let text = format!("{head}{}{}\n", "[".repeat(depth), "]".repeat(depth));
    assert_eq!(text.len(), 329);
    text
}

/// A repo at `dir/repo` with `files` under `fabric/`, and a config for fabric `lab` with
/// `extra_git` lines added to its `[fabric.git]` table.
fn fabric_repo(dir: &Path, files: &[(&str, &str)], extra_git: &str) -> PathBuf {
    let repo = dir.join("repo");
    let paths: Vec<(String, &[u8])> = files
        .iter()
        .map(|(p, t)| (format!("fabric/{p}"), t.as_bytes()))
        .collect();
    let refs: Vec<(&str, &[u8])> = paths.iter().map(|(p, b)| (p.as_str(), *b)).collect();
    common::repo_with(&repo, &refs);
    let config = common::config_for(dir, &repo, &[("lab", "fabric")]);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(extra_git);
    std::fs::write(&config, text).unwrap();
    config
}

/// `hhdash` under a 2 GiB address-space limit, so an unbounded expansion dies quickly instead
/// of taking the machine's memory.
fn hhdash_limited(dir: &Path, config: &Path, args: &[&str]) -> std::process::Output {
    let hhdash = common::hhdash_command(dir, config, args);
    testenv::support::in_shell("ulimit -v 2097152", &hhdash)
        .output()
        .unwrap()
}

fn desired_names(dir: &Path) -> Vec<String> {
    let store = Store::open(&dir.join("store.redb")).unwrap();
    let desired = store
        .desired("lab")
        .expect("the stored desired set reads back");
    desired.into_iter().map(|d| d.key.name).collect()
}

#[test]
fn an_alias_bomb_costs_its_document_and_the_fabric_syncs() {
    let temp = tempfile::tempdir().unwrap();
    let mut bomb_file = vpc("before");
    bomb_file.push_str("---\n");
    bomb_file.push_str(&testenv::fixtures::alias_bomb());
    bomb_file.push_str("---\n");
    bomb_file.push_str(&vpc("after"));
    let config = fabric_repo(
        temp.path(),
        &[("bomb.yaml", &bomb_file), ("vpcs.yaml", &vpc("other"))],
        "",
    );
    let out = hhdash_limited(temp.path(), &config, &["sync", "lab"]);
    let text = common::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("3 object(s)"), "{text}");
    // The bomb document starts at line 9; the expansion runs out inside the anchor, line 14.
    assert!(
        text.contains("error fabric/bomb.yaml:14: YAML aliases (*name) expand this document past"),
        "{text}"
    );
    assert!(text.contains("skipped 1 document(s)"), "{text}");
    assert_eq!(desired_names(temp.path()), ["after", "before", "other"]);
}

#[test]
fn a_deeply_nested_document_is_refused_and_the_rest_reads_back() {
    let temp = tempfile::tempdir().unwrap();
    let deep_file = format!("{}---\n{}", vpc("shallow"), deep_document());
    let config = fabric_repo(temp.path(), &[("deep.yaml", &deep_file)], "");
    let out = common::hhdash(temp.path(), &config, &["sync", "lab"]);
    let text = common::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("error fabric/deep.yaml:13: mappings and lists nest deeper than 64 levels"),
        "{text}"
    );
    // What was stored can be read back: `diff` and the engine see the desired set.
    assert_eq!(desired_names(temp.path()), ["shallow"]);
}

#[test]
fn a_file_over_max_file_bytes_is_skipped_and_the_rest_syncs() {
    let temp = tempfile::tempdir().unwrap();
    let mut big = vpc("big");
    big.push_str(&format!("# {}\n", "padding ".repeat(200)));
    let config = fabric_repo(
        temp.path(),
        &[("big.yaml", &big), ("small.yaml", &vpc("small"))],
        "max_file_bytes = 1000\n",
    );
    let out = common::hhdash(temp.path(), &config, &["sync", "lab"]);
    let text = common::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "error fabric/big.yaml:1: the file is {} bytes, more than git.max_file_bytes (1000)",
            big.len()
        )),
        "{text}"
    );
    assert_eq!(desired_names(temp.path()), ["small"]);
}

#[test]
fn a_document_too_large_to_apply_is_refused_unparsed() {
    let temp = tempfile::tempdir().unwrap();
    // One 4 MiB document of tiny scalars: parsing it would cost ~400 MB.
    let mut huge = String::from(
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: huge\nspec:\n  x: [",
    );
    huge.push_str(&"1,".repeat(2 * 1024 * 1024));
    huge.push_str("]\n");
    let file = format!("{}---\n{huge}---\n{}", vpc("before"), vpc("after"));
    let config = fabric_repo(temp.path(), &[("huge.yaml", &file)], "");
    let out = hhdash_limited(temp.path(), &config, &["sync", "lab"]);
    let text = common::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "error fabric/huge.yaml:9: the document is {} bytes, more than the 3145728 the \
             Kubernetes API server accepts in one request",
            huge.len()
        )),
        "{text}"
    );
    assert_eq!(desired_names(temp.path()), ["after", "before"]);
}

#[test]
fn a_sync_over_max_sync_bytes_fails_and_keeps_the_previous_desired_set() {
    let temp = tempfile::tempdir().unwrap();
    let config = fabric_repo(
        temp.path(),
        &[("a.yaml", &vpc("first"))],
        "max_sync_bytes = 1000\nmax_file_bytes = 1000\n",
    );
    let out = common::hhdash(temp.path(), &config, &["sync", "lab"]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    let repo = temp.path().join("repo");
    let files: Vec<(String, String)> = (0..8)
        .map(|i| (format!("fabric/more-{i}.yaml"), vpc(&format!("more-{i}"))))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_bytes()))
        .collect();
    common::commit_files(&repo, &refs, "too much");
    let out = common::hhdash(temp.path(), &config, &["sync", "lab"]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("more than git.max_sync_bytes (1000)")
            && text.contains("the previous desired set is kept"),
        "{text}"
    );
    assert_eq!(desired_names(temp.path()), ["first"]);
    let out = common::hhdash(temp.path(), &config, &["status", "lab"]);
    assert!(
        common::output_text(&out).contains("git.max_sync_bytes"),
        "the fabric's sync error says why: {}",
        common::output_text(&out)
    );
}

#[test]
fn limits_that_contradict_each_other_are_a_config_problem() {
    let temp = tempfile::tempdir().unwrap();
    let config = fabric_repo(
        temp.path(),
        &[("a.yaml", &vpc("a"))],
        "max_file_bytes = 2000\nmax_sync_bytes = 1000\n",
    );
    let out = common::hhdash(temp.path(), &config, &["check", "--offline"]);
    let text = common::output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(
            "fabric lab: git.max_file_bytes: 2000 is more than git.max_sync_bytes (1000)"
        ),
        "{text}"
    );
}

/// A desired record this hhdash cannot read back (as an older hhdash stored a 127-level
/// document), written through the store's own API next to the readable `objects`.
fn store_unreadable_desired(
    store: &Store,
    fabric: &str,
    namespace: &str,
    objects: Vec<DesiredObject>,
) {
    let mut deep = serde_json::json!(1);
    for _ in 0..127 {
        deep = serde_json::json!([deep]);
    }
    let source = Source {
        file: "deep.yaml".into(),
        document: 0,
        line: 1,
        commit: "0".repeat(40),
    };
    let unreadable = DesiredObject {
        key: ObjectKey {
            kind: "VPC".into(),
            namespace: namespace.into(),
            name: "deep".into(),
        },
        object: serde_json::json!({"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC", "spec": deep}).into(),
        source,
    };
    store
        .replace_desired(
            fabric,
            objects
                .into_iter()
                .chain([unreadable])
                .map(Ok::<_, std::convert::Infallible>),
            |_| {},
            &[],
        )
        .unwrap();
}

#[test]
fn an_unreadable_desired_record_is_an_error_naming_it_not_corruption() {
    let temp = tempfile::tempdir().unwrap();
    let config = fabric_repo(temp.path(), &[("a.yaml", &vpc("a"))], "");
    let out = common::hhdash(temp.path(), &config, &["sync", "lab"]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    {
        let store = Store::open(&temp.path().join("store.redb")).unwrap();
        let objects = store.desired("lab").unwrap();
        store_unreadable_desired(&store, "lab", "default", objects);
        let error = store.desired("lab").unwrap_err().to_string();
        assert!(
            error.contains("cannot read the stored desired object VPC/deep of fabric lab")
                && error.contains("run `hhdash sync lab`")
                && error.contains("keep the store file")
                && !error.contains("corrupt"),
            "{error}"
        );
    }
    // `diff` reads the store before it contacts the cluster (unreachable here): exit 2.
    let text = std::fs::read_to_string(&config).unwrap();
    let ca_line = text
        .lines()
        .find(|l| l.starts_with("ca_cert_file"))
        .unwrap();
    std::fs::write(
        &config,
        text.replace(ca_line, "insecure_skip_tls_verify = true"),
    )
    .unwrap();
    let home = temp.path().join("home");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hhdash"))
        .arg("--config")
        .arg(&config)
        .arg("--store")
        .arg(temp.path().join("store.redb"))
        .args(["diff", "lab"])
        .env("HOME", &home)
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("HHDASH_TEST_UNUSED_TOKEN", "unused")
        .output()
        .unwrap();
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("desired object VPC/deep of fabric lab") && !text.contains("corrupt"),
        "{text}"
    );
    // The promised remedy works: a sync rewrites the desired set.
    let out = common::hhdash(temp.path(), &config, &["sync", "lab"]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    assert_eq!(desired_names(temp.path()), ["a"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_reports_an_unreadable_desired_set_instead_of_orphaning_everything() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "unreadable";
    plane.grant(ns).await.unwrap();
    let (temp, config_path) = common::demo_fabric(plane, ns, "unreadable");
    // No Git poll: the engine must not repair the record before the test looks.
    let mut text = std::fs::read_to_string(&config_path).unwrap();
    text.push_str("poll_interval_secs = 0\n");
    std::fs::write(&config_path, &text).unwrap();
    for args in [&["sync", "unreadable"][..], &["apply", "unreadable"][..]] {
        let out = common::hhdash(temp.path(), &config_path, args);
        assert!(out.status.success(), "{}", common::output_text(&out));
    }
    let store = std::sync::Arc::new(Store::open(&temp.path().join("store.redb")).unwrap());
    let objects = store.desired("unreadable").unwrap();
    assert_eq!(objects.len(), common::DEMO_OBJECTS);
    store_unreadable_desired(&store, "unreadable", ns, objects);

    let common::RunningEngine {
        events: mut rx,
        commands,
        ..
    } = common::start_engine_with_store(temp.path(), &config_path, store.clone());
    let EngineEvent::Snapshot { status, .. } =
        common::wait_for_event(&mut rx, 5, "snapshot", |e| {
            matches!(e, EngineEvent::Snapshot { .. })
        })
        .await
    else {
        unreachable!()
    };
    assert_eq!(status.sync.state, SyncState::Error);
    let error = status.sync.error.unwrap_or_default();
    assert!(
        error.contains("desired object VPC/deep of fabric unreadable")
            && error.contains("hhdash sync unreadable"),
        "{error}"
    );
    common::wait_for_event(
        &mut rx,
        10,
        "the error in the event log",
        |e| matches!(e, EngineEvent::Log { entry, .. } if entry.message.contains("VPC/deep")),
    )
    .await;
    // Once the watch has listed the cluster, the live objects are not judged Orphan.
    let mut verdicts: std::collections::BTreeMap<ObjectKey, Drift> = Default::default();
    let mut active = false;
    loop {
        let event = common::wait_for_event(
            &mut rx,
            30,
            "watch Active, then the connection test",
            |_| true,
        )
        .await;
        match event {
            EngineEvent::Rows { upserts, .. } => {
                verdicts.extend(upserts.into_iter().map(|r| (r.key, r.drift)));
            }
            EngineEvent::Status { status, .. }
                if !active && status.watch.state == WatchState::Active =>
            {
                active = true;
                // Answered only after the engine finished handling the list.
                commands.send(Command::TestConnection).await.unwrap();
            }
            EngineEvent::Job {
                job: JobKind::Connect,
                ..
            } if active => break,
            _ => {}
        }
    }
    assert_eq!(verdicts.len(), common::DEMO_OBJECTS, "{verdicts:?}");
    assert!(
        verdicts.values().all(|d| *d == Drift::Unknown),
        "no verdict without a readable desired set: {verdicts:?}"
    );
    assert_eq!(store.fabric_status("unreadable").unwrap().drift.count, 0);

    // A sync rewrites the desired set: everything is InSync again.
    commands.send(Command::Sync).await.unwrap();
    common::wait_for_event(&mut rx, 30, "rows after the sync", |e| {
        matches!(e, EngineEvent::Rows { upserts, .. }
            if upserts.len() == common::DEMO_OBJECTS
                && upserts.iter().all(|r| r.drift == Drift::InSync))
    })
    .await;
    commands.send(Command::Shutdown).await.unwrap();
}
