//! The Git side of drift attribution against real repositories made with the `git` CLI: the
//! commit (and author) that set a drifted value — not the repository's latest commit — and the
//! value's line; exact at a root commit, "at or before" at a shallow clone's boundary or the
//! walk's bound; objects found by key wherever they move in the file.

use std::path::Path;

use hhdash::attribution::GitExplanation;
use hhdash::config::Namespaces;
use hhdash::desired::Source;
use hhdash::git::{GitSource, HistoryCache, ReadLimits, fetch_snapshot};
use hhdash::kinds::ObjectKey;
use tempfile::TempDir;

use crate::common;

fn vpc(vlan: u32, extra: &str) -> String {
    format!(
        "# VPCs of the lab\n\
         apiVersion: vpc.githedgehog.com/v1beta1\n\
         kind: VPC\n\
         metadata:\n  name: vpc-1\n\
         spec:\n  subnets:\n    default:\n      subnet: 10.0.1.0/24\n      vlan: {vlan}\n{extra}"
    )
}

const OTHER: &str =
    "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-9\n";

/// Alice creates the VPC, Bob changes its vlan, Carol changes another file and then another
/// field of the VPC. Returns the commits (alice, bob, carol1, carol2).
fn history(dir: &Path) -> [String; 4] {
    common::git(dir, &["init", "-q"]);
    let alice = common::commit_as(
        dir,
        "Alice",
        "2026-11-01T10:00:00Z",
        &[
            ("fabric/vpcs.yaml", vpc(1001, "").as_str()),
            ("fabric/other.yaml", OTHER),
        ],
        "add vpc-1",
    );
    let bob = common::commit_as(
        dir,
        "Bob",
        "2026-11-10T11:00:00Z",
        &[("fabric/vpcs.yaml", &vpc(1020, ""))],
        "raise vpc-1 vlan",
    );
    let carol1 = common::commit_as(
        dir,
        "Carol",
        "2026-11-20T12:00:00Z",
        &[("fabric/other.yaml", &format!("{OTHER}spec: {{}}\n"))],
        "touch another vpc",
    );
    let backend = "    backend:\n      subnet: 10.0.2.0/24\n      vlan: 1030\n";
    let carol2 = common::commit_as(
        dir,
        "Carol",
        "2026-11-21T12:00:00Z",
        &[("fabric/vpcs.yaml", &vpc(1020, backend))],
        "add a backend subnet",
    );
    [alice, bob, carol1, carol2]
}

fn key() -> ObjectKey {
    ObjectKey {
        kind: "VPC".into(),
        namespace: "default".into(),
        name: "vpc-1".into(),
    }
}

fn explain(
    url: &str,
    cache: &Path,
    commit: &str,
    limits: ReadLimits,
    paths: &[&str],
) -> GitExplanation {
    let source = GitSource {
        fabric: "lab",
        url,
        branch: "main",
        directory: "fabric",
        token: None,
        limits,
    };
    let desired = Source {
        file: "fabric/vpcs.yaml".into(),
        document: 0,
        line: 2,
        commit: commit.into(),
    };
    let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    HistoryCache::default().explain(
        &source,
        cache,
        &Namespaces::single("default"),
        &key(),
        &desired,
        &paths,
    )
}

#[test]
fn a_drifted_value_is_attributed_to_the_commit_and_author_that_set_it() {
    let temp = TempDir::new().unwrap();
    let repo = temp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let [alice, bob, _, carol2] = history(&repo);
    let explained = explain(
        repo.to_str().unwrap(),
        temp.path(),
        &carol2,
        ReadLimits::default(),
        &[
            "spec.subnets.default.vlan",
            "spec.subnets.default.subnet",
            "spec.subnets.backend",
            "spec.subnets.default.dhcp",
        ],
    );
    assert_eq!(explained.problem, None);
    let [vlan, subnet, backend, unset] = &explained.paths[..] else {
        panic!("{explained:?}");
    };
    // Bob set the vlan: not Carol, whose commits are the latest of the repository and file.
    let origin = vlan.git.as_ref().expect("the vlan's origin");
    assert_eq!(
        (origin.commit.as_str(), origin.author.as_str()),
        (bob.as_str(), "Bob")
    );
    assert_eq!(origin.subject, "raise vpc-1 vlan");
    assert_eq!(
        hhdash::time::format_rfc3339(origin.time),
        "2026-11-10T11:00:00Z"
    );
    assert!(!origin.at_or_before);
    assert_eq!(
        vlan.line,
        Some(10),
        "the vlan's own line, not the document's first"
    );
    // Unchanged since the root commit: Alice's, exact.
    let origin = subnet.git.as_ref().expect("the subnet's origin");
    assert_eq!(
        (origin.commit.as_str(), origin.author.as_str()),
        (alice.as_str(), "Alice")
    );
    assert!(
        !origin.at_or_before,
        "a root commit that introduced a value is exact"
    );
    assert_eq!(subnet.line, Some(9));
    let origin = backend.git.as_ref().expect("the backend's origin");
    assert_eq!(
        (origin.commit.as_str(), origin.author.as_str()),
        (carol2.as_str(), "Carol")
    );
    assert_eq!(backend.line, Some(11));
    // A path Git does not set has no origin and no line.
    assert_eq!((&unset.git, unset.line), (&None, None));
    let shown = explained.paths[0].git.as_ref().unwrap().to_string();
    assert!(
        shown.starts_with(&bob[..12])
            && shown.contains("Bob")
            && shown.contains("\"raise vpc-1 vlan\""),
        "{shown}"
    );
}

#[test]
fn a_reverted_value_belongs_to_the_revert_and_a_moved_object_keeps_its_origin() {
    let temp = TempDir::new().unwrap();
    let repo = temp.path();
    let [alice, ..] = history(repo);
    // Dave puts the vlan back to Alice's value: the value today was set by Dave, not Alice.
    let dave = common::commit_as(
        repo,
        "Dave",
        "2026-11-22T09:00:00Z",
        &[("fabric/vpcs.yaml", &vpc(1001, ""))],
        "revert vlan",
    );
    // Erin moves the VPC down the file (another document first) and names its namespace:
    // the same object, found by key, with the same values.
    let moved = format!(
        "{OTHER}---\n{}",
        vpc(1001, "").replace("  name: vpc-1\n", "  name: vpc-1\n  namespace: default\n")
    );
    let erin = common::commit_as(
        repo,
        "Erin",
        "2026-11-23T09:00:00Z",
        &[("fabric/vpcs.yaml", &moved)],
        "reorder",
    );
    let desired = |document| Source {
        file: "fabric/vpcs.yaml".into(),
        document,
        line: 1,
        commit: erin.clone(),
    };
    let source = GitSource {
        fabric: "lab",
        url: repo.to_str().unwrap(),
        branch: "main",
        directory: "fabric",
        token: None,
        limits: ReadLimits::default(),
    };
    let paths = [
        "spec.subnets.default.vlan".to_string(),
        "spec.subnets.default.subnet".to_string(),
    ];
    let mut cache = HistoryCache::default();
    let explained = cache.explain(
        &source,
        temp.path(),
        &Namespaces::single("default"),
        &key(),
        &desired(1),
        &paths,
    );
    assert_eq!(explained.problem, None);
    let vlan = explained.paths[0].git.as_ref().unwrap();
    assert_eq!(
        (vlan.commit.as_str(), vlan.author.as_str()),
        (dave.as_str(), "Dave")
    );
    let subnet = explained.paths[1].git.as_ref().unwrap();
    assert_eq!(
        subnet.commit, alice,
        "moving the object changed none of its values"
    );
    // Lines in the file at the synced commit: the second document.
    assert_eq!(explained.paths[0].line, Some(16));
    // Asked again (the detail view reopened): the same answer, from the cache.
    let again = cache.explain(
        &source,
        temp.path(),
        &Namespaces::single("default"),
        &key(),
        &desired(1),
        &paths,
    );
    assert_eq!(again, explained);
}

#[test]
fn the_walk_bound_and_a_shallow_clone_give_at_or_before() {
    let temp = TempDir::new().unwrap();
    let repo = temp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let [_, bob, carol1, carol2] = history(&repo);
    let vlan = |explained: &GitExplanation| explained.paths[0].git.clone().expect("an origin");

    // At most two commits read: carol2 and carol1; Bob's is beyond.
    let limits = ReadLimits {
        history_commits: 2,
        ..Default::default()
    };
    let origin = vlan(&explain(
        repo.to_str().unwrap(),
        temp.path(),
        &carol2,
        limits,
        &["spec.subnets.default.vlan"],
    ));
    assert_eq!(
        (origin.commit.as_str(), origin.at_or_before),
        (carol1.as_str(), true)
    );
    assert!(origin.to_string().starts_with("at or before "), "{origin}");

    // A remote cloned at depth 2 holds carol2 and carol1 only.
    let url = format!("file://{}", repo.display());
    let cache = temp.path().join("cache");
    let shallow = ReadLimits {
        history_depth: 2,
        ..Default::default()
    };
    let source = GitSource {
        fabric: "lab",
        url: &url,
        branch: "main",
        directory: "fabric",
        token: None,
        limits: shallow,
    };
    assert_eq!(fetch_snapshot(&source, &cache).unwrap().commit, carol2);
    let origin = vlan(&explain(
        &url,
        &cache,
        &carol2,
        shallow,
        &["spec.subnets.default.vlan"],
    ));
    assert_eq!(
        (origin.commit.as_str(), origin.at_or_before),
        (carol1.as_str(), true)
    );

    // The default depth fetches enough history: Bob's commit, exact.
    let deep = ReadLimits::default();
    let source = GitSource {
        limits: deep,
        ..source
    };
    fetch_snapshot(&source, &cache).unwrap();
    let origin = vlan(&explain(
        &url,
        &cache,
        &carol2,
        deep,
        &["spec.subnets.default.vlan"],
    ));
    assert_eq!(
        (origin.commit.as_str(), origin.at_or_before),
        (bob.as_str(), false)
    );
}

#[test]
fn history_that_cannot_be_read_is_a_problem_naming_the_fabric_and_what_to_do() {
    let temp = TempDir::new().unwrap();
    let repo = temp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let [.., carol2] = history(&repo);
    // A remote never synced: no clone to read.
    let url = format!("file://{}", repo.display());
    let explained = explain(
        &url,
        &temp.path().join("cache"),
        &carol2,
        ReadLimits::default(),
        &["spec.subnets.default.vlan"],
    );
    let problem = explained.problem.expect("a problem");
    assert!(
        problem.contains("fabric lab") && problem.contains("sync the fabric first"),
        "{problem}"
    );
    assert_eq!(explained.paths[0].git, None);
    // A commit the repository does not have (history rewritten since the sync).
    let explained = explain(
        repo.to_str().unwrap(),
        temp.path(),
        &"0".repeat(40),
        ReadLimits::default(),
        &["spec.subnets.default.vlan"],
    );
    let problem = explained.problem.expect("a problem");
    assert!(
        problem.contains("fabric lab") && problem.contains("fabric/vpcs.yaml"),
        "{problem}"
    );
}

#[test]
fn history_depth_and_commits_are_configured_per_fabric_and_checked() {
    let temp = TempDir::new().unwrap();
    let config = common::config_for(temp.path(), temp.path(), &[("lab", "fabric")]);
    let text = std::fs::read_to_string(&config).unwrap();
    let loaded = hhdash::config::Config::parse(&text, &config).unwrap();
    let limits = loaded.fabrics[0].git.limits;
    assert_eq!(
        (limits.history_depth, limits.history_commits),
        (300, 1000),
        "defaults"
    );
    let set = format!("{text}history_depth = 1\nhistory_commits = 50\n");
    let limits = hhdash::config::Config::parse(&set, &config)
        .unwrap()
        .fabrics[0]
        .git
        .limits;
    assert_eq!((limits.history_depth, limits.history_commits), (1, 50));
    let zero = format!("{text}history_depth = 0\n");
    let error = hhdash::config::Config::parse(&zero, &config)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("lab")
            && error.contains("git.history_depth")
            && error.contains("at least 1"),
        "{error}"
    );
}
