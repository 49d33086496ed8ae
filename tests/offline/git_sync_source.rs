//! The Git source of a fabric, read from real repositories made with the `git` CLI in temp dirs:
//! local work trees and bare repositories, `file://` remotes cached under a cache dir, and an
//! `http://` remote behind a loopback server that runs `git http-backend` and demands a token,
//! and a redirect from one loopback origin to another that must not carry the token.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use hhdash::git::{
    GitError, GitSource, ReadLimits, Snapshot, TOKEN_USERNAME, fetch_snapshot, redact_url,
};
use hhdash::secret::Secret;
use tempfile::TempDir;

const TOKEN: &str = "tok-S3CRET-0123456789abcdef";

// ---------------------------------------------------------------------------------------------
// helpers

/// Runs git with a fixed identity and no user or system config, so results do not depend on the
/// machine's git setup.
fn git(dir: &Path, args: &[&str]) -> String {
    common::run_git(
        common::git_command(dir)
            .args(args)
            .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z"),
    )
}

struct Repo {
    dir: TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = TempDir::new().unwrap();
        git(dir.path(), &["init", "-q"]);
        Repo { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn url(&self) -> String {
        self.path().to_str().unwrap().to_owned()
    }

    fn file_url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    fn write(&self, rel: &str, content: &str) -> &Self {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    fn remove(&self, rel: &str) -> &Self {
        git(self.path(), &["rm", "-q", rel]);
        self
    }

    /// Commits everything and returns the new commit id.
    fn commit(&self, message: &str) -> String {
        git(self.path(), &["add", "-A"]);
        git(
            self.path(),
            &["commit", "-q", "--allow-empty", "-m", message],
        );
        git(self.path(), &["rev-parse", "HEAD"])
    }

    fn git(&self, args: &[&str]) -> String {
        git(self.path(), args)
    }
}

fn source<'a>(url: &'a str, branch: &'a str, directory: &'a str) -> GitSource<'a> {
    GitSource {
        fabric: "lab",
        url,
        branch,
        directory,
        token: None,
        limits: ReadLimits::default(),
    }
}

fn paths(snapshot: &Snapshot) -> Vec<&str> {
    snapshot.files.iter().map(|f| f.path.as_str()).collect()
}

fn content<'a>(snapshot: &'a Snapshot, path: &str) -> &'a str {
    let file = snapshot
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} missing from {:?}", paths(snapshot)));
    std::str::from_utf8(&file.bytes).unwrap()
}

/// Every file under `dir`, relative path → bytes; to prove nothing was written somewhere.
fn tree_listing(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(
                    path.strip_prefix(root).unwrap().to_owned(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The one cache repository made for a fabric under `cache_dir`.
fn single_cache(cache_dir: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = std::fs::read_dir(cache_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "exactly one cache repo, no leftovers: {entries:?}"
    );
    entries.into_iter().next().unwrap()
}

fn assert_no_token(err: &GitError) {
    let shown = err.to_string();
    let debug = format!("{err:?}");
    assert!(!shown.contains(TOKEN), "token in Display: {shown}");
    assert!(!debug.contains(TOKEN), "token in Debug: {debug}");
    // A fragment too, in case something truncates or splits it.
    assert!(
        !shown.contains("S3CRET") && !debug.contains("S3CRET"),
        "{shown} / {debug}"
    );
}

// ---------------------------------------------------------------------------------------------
// local repositories

/// A fabric repository with manifests in nested folders, other files, and unrelated YAML.
fn fabric_repo() -> Repo {
    let repo = Repo::new();
    repo.write("fabric/vpcs.yaml", "kind: VPC\n")
        .write("fabric/wiring/switches.yml", "kind: Switch\n")
        .write("fabric/wiring/leaf/connections.yaml", "kind: Connection\n")
        .write("fabric/README.md", "# not a manifest\n")
        .write("fabric/values.json", "{}\n")
        .write("fabric/notes.yaml.txt", "no\n")
        .write("fabric/.github/workflows/ci.yml", "on: push\n")
        .write("other/elsewhere.yaml", "kind: VPC\n")
        .write("top.yaml", "kind: External\n");
    repo.commit("initial fabric");
    repo
}

#[test]
fn reads_yaml_and_yml_under_nested_directory_and_ignores_everything_else() {
    let repo = fabric_repo();
    let url = repo.url();
    let cache = TempDir::new().unwrap();
    let snapshot = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();

    assert_eq!(snapshot.commit, repo.git(&["rev-parse", "HEAD"]));
    assert_eq!(
        paths(&snapshot),
        [
            "fabric/vpcs.yaml",
            "fabric/wiring/leaf/connections.yaml",
            "fabric/wiring/switches.yml",
        ]
    );
    assert_eq!(
        content(&snapshot, "fabric/wiring/switches.yml"),
        "kind: Switch\n"
    );
    assert_eq!(
        content(&snapshot, "fabric/wiring/leaf/connections.yaml"),
        "kind: Connection\n"
    );
    // Local paths are read in place: nothing is cached for them.
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn root_and_dotted_directories_read_the_whole_tree() {
    let repo = fabric_repo();
    let url = repo.url();
    let cache = TempDir::new().unwrap();
    for directory in ["", ".", "./", "fabric/..x/../"] {
        if directory.contains("..") {
            // A path that climbs is refused even when it would end up inside the repository.
            let err = fetch_snapshot(&source(&url, "main", directory), cache.path()).unwrap_err();
            assert!(matches!(err, GitError::InvalidDirectory { .. }), "{err}");
            assert!(err.to_string().contains("git.directory"), "{err}");
            continue;
        }
        let snapshot = fetch_snapshot(&source(&url, "main", directory), cache.path()).unwrap();
        assert_eq!(
            paths(&snapshot),
            [
                "fabric/vpcs.yaml",
                "fabric/wiring/leaf/connections.yaml",
                "fabric/wiring/switches.yml",
                "other/elsewhere.yaml",
                "top.yaml",
            ],
            "directory {directory:?}"
        );
    }
    let nested = fetch_snapshot(&source(&url, "main", "./fabric/wiring/"), cache.path()).unwrap();
    assert_eq!(
        paths(&nested),
        [
            "fabric/wiring/leaf/connections.yaml",
            "fabric/wiring/switches.yml"
        ]
    );
}

#[test]
fn each_branch_is_read_at_its_own_tip() {
    let repo = Repo::new();
    repo.write("fabric/vpc.yaml", "name: blue\n");
    let first = repo.commit("blue");
    repo.git(&["checkout", "-q", "-b", "staging"]);
    repo.write("fabric/vpc.yaml", "name: green\n")
        .write("fabric/extra.yml", "kind: Server\n");
    let staging = repo.commit("green on staging");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("fabric/vpc.yaml", "name: red\n");
    let main = repo.commit("red on main");
    assert_ne!(first, main);

    let url = repo.url();
    let cache = TempDir::new().unwrap();
    let on_main = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    let on_staging = fetch_snapshot(&source(&url, "staging", "fabric"), cache.path()).unwrap();
    let full_ref =
        fetch_snapshot(&source(&url, "refs/heads/staging", "fabric"), cache.path()).unwrap();

    assert_eq!(on_main.commit, main);
    assert_eq!(paths(&on_main), ["fabric/vpc.yaml"]);
    assert_eq!(content(&on_main, "fabric/vpc.yaml"), "name: red\n");
    assert_eq!(on_staging.commit, staging);
    assert_eq!(paths(&on_staging), ["fabric/extra.yml", "fabric/vpc.yaml"]);
    assert_eq!(content(&on_staging, "fabric/vpc.yaml"), "name: green\n");
    assert_eq!(full_ref, on_staging);
}

#[test]
fn a_deleted_file_is_gone_from_the_later_snapshot_and_the_repository_is_not_touched() {
    let repo = Repo::new();
    repo.write("fabric/a.yaml", "a: 1\n")
        .write("fabric/b.yaml", "b: 1\n");
    let first = repo.commit("two files");
    let url = repo.url();
    let cache = TempDir::new().unwrap();
    let before = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(before.commit, first);
    assert_eq!(paths(&before), ["fabric/a.yaml", "fabric/b.yaml"]);

    repo.remove("fabric/b.yaml");
    repo.write("fabric/a.yaml", "a: 2\n");
    let second = repo.commit("drop b, change a");
    // Uncommitted work is not what the branch says: it must not show up.
    repo.write("fabric/uncommitted.yaml", "x: 1\n");

    let listing = tree_listing(repo.path());
    let after = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(after.commit, second);
    assert_eq!(paths(&after), ["fabric/a.yaml"]);
    assert_eq!(content(&after, "fabric/a.yaml"), "a: 2\n");
    assert_eq!(
        tree_listing(repo.path()),
        listing,
        "reading wrote into the user's repository"
    );
}

#[test]
fn a_bare_repository_path_is_read_in_place() {
    let repo = fabric_repo();
    let bare = TempDir::new().unwrap();
    let bare_path = bare.path().join("fabric.git");
    git(
        bare.path(),
        &[
            "clone",
            "-q",
            "--bare",
            repo.path().to_str().unwrap(),
            bare_path.to_str().unwrap(),
        ],
    );
    let url = bare_path.to_str().unwrap();
    let cache = TempDir::new().unwrap();
    let snapshot = fetch_snapshot(&source(url, "main", "fabric/wiring"), cache.path()).unwrap();
    assert_eq!(snapshot.commit, repo.git(&["rev-parse", "HEAD"]));
    assert_eq!(
        paths(&snapshot),
        [
            "fabric/wiring/leaf/connections.yaml",
            "fabric/wiring/switches.yml"
        ]
    );
}

#[test]
fn a_missing_branch_names_the_branches_that_exist() {
    let repo = fabric_repo();
    repo.git(&["branch", "staging"]);
    repo.git(&["branch", "feature/vpc-peering"]);
    let url = repo.url();
    let cache = TempDir::new().unwrap();
    let err = fetch_snapshot(&source(&url, "mian", "fabric"), cache.path()).unwrap_err();
    match &err {
        GitError::BranchNotFound {
            fabric,
            branch,
            existing,
            more,
            ..
        } => {
            assert_eq!(fabric, "lab");
            assert_eq!(branch, "mian");
            assert_eq!(existing, &["feature/vpc-peering", "main", "staging"]);
            assert_eq!(*more, 0);
        }
        other => panic!("expected BranchNotFound, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("\"mian\""), "{text}");
    assert!(
        text.contains("feature/vpc-peering, main, staging"),
        "{text}"
    );
    assert!(text.contains("git.branch"), "{text}");
}

#[test]
fn many_branches_are_listed_up_to_ten() {
    let repo = fabric_repo();
    for i in 0..14 {
        repo.git(&["branch", &format!("b{i:02}")]);
    }
    let url = repo.url();
    let cache = TempDir::new().unwrap();
    let err = fetch_snapshot(&source(&url, "nope", ""), cache.path()).unwrap_err();
    let GitError::BranchNotFound { existing, more, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(existing.len(), 10);
    assert_eq!(*more, 5, "15 branches, 10 shown");
    assert!(err.to_string().contains("(and 5 more)"), "{err}");
}

#[test]
fn a_missing_directory_or_a_file_in_its_place_is_reported_with_the_commit() {
    let repo = fabric_repo();
    let head = repo.git(&["rev-parse", "HEAD"]);
    let url = repo.url();
    let cache = TempDir::new().unwrap();

    let err = fetch_snapshot(&source(&url, "main", "fabrik"), cache.path()).unwrap_err();
    let GitError::DirectoryNotFound {
        directory, commit, ..
    } = &err
    else {
        panic!("expected DirectoryNotFound, got {err:?}")
    };
    assert_eq!(directory, "fabrik");
    assert_eq!(commit, &head);
    let text = err.to_string();
    assert!(
        text.contains("directory \"fabrik\" does not exist"),
        "{text}"
    );
    assert!(text.contains(&head) && text.contains("\"main\""), "{text}");

    let err = fetch_snapshot(&source(&url, "main", "fabric/vpcs.yaml"), cache.path()).unwrap_err();
    assert!(matches!(err, GitError::NotADirectory { .. }), "{err:?}");
    assert!(
        err.to_string().contains("is a file, not a directory"),
        "{err}"
    );
}

#[test]
fn a_local_path_that_is_not_a_repository_is_a_clear_error() {
    let plain = TempDir::new().unwrap();
    std::fs::write(plain.path().join("vpc.yaml"), "kind: VPC\n").unwrap();
    let url = plain.path().to_str().unwrap();
    let cache = TempDir::new().unwrap();

    let err = fetch_snapshot(&source(url, "main", ""), cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::RepositoryNotFound { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("not a git repository"), "{text}");
    assert!(text.contains(url) && text.contains("fabric lab"), "{text}");

    let missing = plain.path().join("does-not-exist");
    let err =
        fetch_snapshot(&source(missing.to_str().unwrap(), "main", ""), cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::RepositoryNotFound { .. }),
        "{err:?}"
    );

    let file = plain.path().join("vpc.yaml");
    let err =
        fetch_snapshot(&source(file.to_str().unwrap(), "main", ""), cache.path()).unwrap_err();
    assert!(err.to_string().contains("is a file"), "{err}");

    // A directory inside a repository is not the repository: no silent discovery upwards.
    let repo = fabric_repo();
    let inside = repo.path().join("fabric");
    let err =
        fetch_snapshot(&source(inside.to_str().unwrap(), "main", ""), cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::RepositoryNotFound { .. }),
        "{err:?}"
    );
}

#[test]
fn invalid_branch_and_url_are_refused_before_any_io() {
    let cache = TempDir::new().unwrap();
    let err = fetch_snapshot(&source("/nonexistent", "bad..name", ""), cache.path()).unwrap_err();
    assert!(matches!(err, GitError::InvalidBranch { .. }), "{err:?}");
    assert!(err.to_string().contains("git.branch"), "{err}");

    let err = fetch_snapshot(
        &source("ftp://example.invalid/r.git", "main", ""),
        cache.path(),
    )
    .unwrap_err();
    assert!(matches!(err, GitError::InvalidUrl { .. }), "{err:?}");
    assert!(err.to_string().contains("git.url"), "{err}");
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------------------------
// file:// remotes and the cache

#[test]
fn a_file_url_is_cloned_into_the_cache_and_a_second_fetch_sees_the_new_commit() {
    let repo = Repo::new();
    repo.write("fabric/vpc.yaml", "name: one\n");
    repo.commit("one");
    repo.write("fabric/vpc.yaml", "name: two\n");
    let c2 = repo.commit("two");
    let url = repo.file_url();
    let cache = TempDir::new().unwrap();
    let source_listing = tree_listing(repo.path());

    let first = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(first.commit, c2);
    assert_eq!(content(&first, "fabric/vpc.yaml"), "name: two\n");

    let cached = single_cache(cache.path());
    let name = cached.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("lab-"),
        "cache named after the fabric: {name}"
    );
    assert_eq!(git(&cached, &["rev-parse", "--is-bare-repository"]), "true");
    assert_eq!(git(&cached, &["config", "remote.origin.url"]), url);
    // Shallow: only the tip was transferred, not the history.
    assert_eq!(
        git(
            &cached,
            &["rev-list", "--count", "refs/remotes/origin/main"]
        ),
        "1"
    );
    assert_eq!(
        tree_listing(repo.path()),
        source_listing,
        "the source was written to"
    );

    repo.write("fabric/vpc.yaml", "name: three\n")
        .write("fabric/new.yml", "kind: VPC\n");
    let c3 = repo.commit("three");
    let second = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(second.commit, c3);
    assert_eq!(paths(&second), ["fabric/new.yml", "fabric/vpc.yaml"]);
    assert_eq!(content(&second, "fabric/vpc.yaml"), "name: three\n");
    assert_eq!(
        single_cache(cache.path()),
        cached,
        "the same cache is fetched into"
    );

    // Nothing new upstream: the same commit again, no error.
    let third = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(third, second);

    // A force-push (history rewritten) is followed, as the branch tip is what counts.
    repo.git(&["reset", "-q", "--hard", "HEAD~2"]);
    repo.write("fabric/vpc.yaml", "name: rewritten\n");
    let rewritten = repo.commit("rewritten");
    let fourth = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(fourth.commit, rewritten);
    assert_eq!(content(&fourth, "fabric/vpc.yaml"), "name: rewritten\n");
}

#[test]
fn a_file_url_serves_other_branches_and_reports_missing_ones() {
    let repo = fabric_repo();
    repo.git(&["checkout", "-q", "-b", "staging"]);
    repo.write("fabric/vpcs.yaml", "kind: VPC\nname: staging\n");
    let staging = repo.commit("staging");
    let url = repo.file_url();
    let cache = TempDir::new().unwrap();

    let snapshot = fetch_snapshot(&source(&url, "staging", "fabric"), cache.path()).unwrap();
    assert_eq!(snapshot.commit, staging);
    assert_eq!(
        content(&snapshot, "fabric/vpcs.yaml"),
        "kind: VPC\nname: staging\n"
    );

    let err = fetch_snapshot(&source(&url, "production", "fabric"), cache.path()).unwrap_err();
    let GitError::BranchNotFound {
        existing,
        url: shown,
        ..
    } = &err
    else {
        panic!("expected BranchNotFound, got {err:?}")
    };
    assert_eq!(existing, &["main", "staging"]);
    assert_eq!(shown, &url);
    // The cache still serves the branch that exists.
    let again = fetch_snapshot(&source(&url, "staging", "fabric"), cache.path()).unwrap();
    assert_eq!(again.commit, staging);

    let err = fetch_snapshot(&source(&url, "main", "nope"), cache.path()).unwrap_err();
    assert!(matches!(err, GitError::DirectoryNotFound { .. }), "{err:?}");
}

#[test]
fn a_first_fetch_that_fails_leaves_no_cache_behind() {
    let repo = Repo::new();
    repo.write("fabric/a.yaml", "a: 1\n");
    repo.commit("one");
    let url = repo.file_url();
    let cache = TempDir::new().unwrap();
    let err = fetch_snapshot(&source(&url, "missing", "fabric"), cache.path()).unwrap_err();
    assert!(matches!(err, GitError::BranchNotFound { .. }), "{err:?}");
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        0,
        "a failed first fetch left files in the cache dir"
    );
}

#[test]
fn a_fetch_that_fails_half_way_leaves_the_cache_usable() {
    let repo = Repo::new();
    repo.write("fabric/a.yaml", "a: 1\n");
    let c1 = repo.commit("one");
    let url = repo.file_url();
    let cache = TempDir::new().unwrap();
    assert_eq!(
        fetch_snapshot(&source(&url, "main", "fabric"), cache.path())
            .unwrap()
            .commit,
        c1
    );

    // A new commit whose blob is missing upstream: the server dies while packing.
    repo.write("fabric/a.yaml", "a: 2 broken\n");
    let c2 = repo.commit("two");
    let blob = repo.git(&["rev-parse", "HEAD:fabric/a.yaml"]);
    let loose = repo
        .path()
        .join(".git/objects")
        .join(&blob[..2])
        .join(&blob[2..]);
    let saved = std::fs::read(&loose).unwrap();
    std::fs::remove_file(&loose).unwrap();

    let err = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap_err();
    assert!(matches!(err, GitError::Transport { .. }), "{err:?}");
    assert!(
        err.to_string().contains("cached copy was left as it was"),
        "{err}"
    );

    // Repaired upstream: the next fetch works from the same cache.
    std::fs::write(&loose, saved).unwrap();
    let after = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(after.commit, c2);
    assert_eq!(content(&after, "fabric/a.yaml"), "a: 2 broken\n");
    let cached = single_cache(cache.path());
    git(&cached, &["fsck", "--no-progress", "--connectivity-only"]);
}

#[test]
fn a_long_running_cache_stays_bounded_on_disk() {
    let repo = Repo::new();
    let url = repo.file_url();
    let cache = TempDir::new().unwrap();
    let (mut most_packs, mut packs) = (0, 0);
    for i in 0..40 {
        repo.write("fabric/counter.yaml", &format!("n: {i}\n"));
        let commit = repo.commit(&format!("sync {i}"));
        let snapshot = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
        assert_eq!(snapshot.commit, commit);
        assert_eq!(
            content(&snapshot, "fabric/counter.yaml"),
            format!("n: {i}\n")
        );
        packs = std::fs::read_dir(single_cache(cache.path()).join("objects/pack"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "pack")
            })
            .count();
        most_packs = most_packs.max(packs);
    }
    // Every fetch adds a pack; the cache is rebuilt before lookups have to search dozens.
    assert!(most_packs <= 33, "{most_packs} packs");
    assert!(
        packs < 10,
        "the cache was never rebuilt: {packs} packs after 40 fetches"
    );
}

#[test]
fn a_file_url_to_nothing_is_repository_not_found() {
    let nowhere = TempDir::new().unwrap();
    let url = format!("file://{}/missing.git", nowhere.path().display());
    let cache = TempDir::new().unwrap();
    let err = fetch_snapshot(&source(&url, "main", ""), cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::RepositoryNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("missing.git"), "{err}");
}

#[test]
fn two_fabrics_on_one_url_get_separate_caches() {
    let repo = fabric_repo();
    let url = repo.file_url();
    let cache = TempDir::new().unwrap();
    let mut east = source(&url, "main", "fabric");
    east.fabric = "east";
    let mut west = source(&url, "main", "fabric");
    west.fabric = "west/1";
    fetch_snapshot(&east, cache.path()).unwrap();
    fetch_snapshot(&west, cache.path()).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names[0].starts_with("east-") && names[1].starts_with("west_1-"),
        "{names:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// credentials

#[test]
fn a_url_with_userinfo_is_refused_and_not_echoed() {
    let cache = TempDir::new().unwrap();
    for url in [
        "https://deploy:hunter2@git.example.invalid/fabric.git",
        "https://hunter2@git.example.invalid/fabric.git",
    ] {
        let err = fetch_snapshot(&source(url, "main", ""), cache.path()).unwrap_err();
        assert!(matches!(err, GitError::CredentialsInUrl { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("token_env") && text.contains("token_file"),
            "{text}"
        );
        assert!(
            text.contains("https://git.example.invalid/fabric.git"),
            "{text}"
        );
        assert!(
            !text.contains("hunter2") && !format!("{err:?}").contains("hunter2"),
            "{text}"
        );
    }
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
    assert_eq!(
        redact_url("https://deploy:hunter2@git.example.invalid/fabric.git"),
        "https://git.example.invalid/fabric.git"
    );
}

#[test]
fn a_token_is_never_sent_over_plain_http_to_another_host() {
    let token = Secret::new(TOKEN);
    let cache = TempDir::new().unwrap();
    let mut src = source("http://git.example.invalid/fabric.git", "main", "");
    src.token = Some(&token);
    let err = fetch_snapshot(&src, cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::InsecureTokenTransport { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("https://"), "{err}");
    assert_no_token(&err);
}

#[test]
fn the_token_appears_in_no_error_text() {
    let token = Secret::new(TOKEN);
    let cache = TempDir::new().unwrap();
    let repo = fabric_repo();
    let local = repo.url();
    let file_url = repo.file_url();
    let plain = TempDir::new().unwrap();
    let server = GitHttpServer::start(Some(TOKEN));
    server.publish("fabric.git", &repo);
    let http_url = server.url("fabric.git");
    let url_with_token = format!("https://{TOKEN}@git.example.invalid/x.git");
    let url_with_pair = format!("https://user:{TOKEN}@git.example.invalid/x.git");
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}/fabric.git")
    };

    let mut src = source(&http_url, "main", "");
    src.token = Some(&token);
    assert!(!format!("{src:?}").contains(TOKEN), "{src:?}");

    let cases: Vec<(&str, &str, &str)> = vec![
        (&local, "main", "nope"),
        (&local, "nope", "fabric"),
        (&local, "main", "../.."),
        (&local, "main..x", ""),
        (plain.path().to_str().unwrap(), "main", ""),
        (&file_url, "nope", ""),
        (&file_url, "main", "nope"),
        (&url_with_token, "main", ""),
        (&url_with_pair, "main", ""),
        ("http://git.example.invalid/x.git", "main", ""),
        ("ftp://git.example.invalid/x.git", "main", ""),
        (&closed_port, "main", ""),
        (&http_url, "nope", ""),
        (&http_url, "main", "nope"),
    ];
    let mut kinds = std::collections::BTreeSet::new();
    for (url, branch, directory) in cases {
        let mut src = source(url, branch, directory);
        src.token = Some(&token);
        let err = fetch_snapshot(&src, cache.path()).unwrap_err();
        assert_no_token(&err);
        kinds.insert(
            format!("{err:?}")
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_owned(),
        );
    }
    // Wrong token against the server: the answer must not echo what was sent either.
    let wrong = Secret::new(format!("{TOKEN}-wrong"));
    let mut src = source(&http_url, "main", "");
    src.token = Some(&wrong);
    let err = fetch_snapshot(&src, cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::AuthenticationFailed { .. }),
        "{err:?}"
    );
    assert_no_token(&err);
    kinds.insert("AuthenticationFailed".to_owned());

    for kind in [
        "DirectoryNotFound",
        "BranchNotFound",
        "InvalidDirectory",
        "InvalidBranch",
        "RepositoryNotFound",
        "CredentialsInUrl",
        "InsecureTokenTransport",
        "InvalidUrl",
        "Transport",
        "AuthenticationFailed",
    ] {
        assert!(kinds.contains(kind), "no case provoked {kind}: {kinds:?}");
    }
}

#[test]
fn an_https_style_remote_gets_the_token_as_a_credential_never_on_disk() {
    let repo = fabric_repo();
    let server = GitHttpServer::start(Some(TOKEN));
    server.publish("fabric.git", &repo);
    let url = server.url("fabric.git");
    let token = Secret::new(format!("{TOKEN}\n"));
    let cache = TempDir::new().unwrap();
    let mut src = source(&url, "main", "fabric/wiring");
    src.token = Some(&token);

    let snapshot = fetch_snapshot(&src, cache.path()).unwrap();
    assert_eq!(snapshot.commit, repo.git(&["rev-parse", "HEAD"]));
    assert_eq!(
        paths(&snapshot),
        [
            "fabric/wiring/leaf/connections.yaml",
            "fabric/wiring/switches.yml"
        ]
    );

    // The server saw basic auth with the documented user name and the trimmed token.
    let expected = format!(
        "Basic {}",
        base64(format!("{TOKEN_USERNAME}:{TOKEN}").as_bytes())
    );
    let seen = server.authorizations();
    assert!(seen.contains(&expected), "{seen:?}");
    // The URL never carried it.
    assert!(server.request_lines().iter().all(|l| !l.contains(TOKEN)));

    // Not a byte of the token anywhere in the cache: config, refs, packs, logs.
    let cached = single_cache(cache.path());
    assert_eq!(git(&cached, &["config", "remote.origin.url"]), url);
    for (path, bytes) in tree_listing(&cached) {
        assert!(
            !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
            "token written to {}",
            path.display()
        );
    }

    // A second fetch after a push authenticates again and sees the new commit.
    repo.write("fabric/wiring/switches.yml", "kind: Switch\nname: s2\n");
    let c2 = repo.commit("second switch");
    server.publish("fabric.git", &repo);
    let again = fetch_snapshot(&src, cache.path()).unwrap();
    assert_eq!(again.commit, c2);
    assert_eq!(
        content(&again, "fabric/wiring/switches.yml"),
        "kind: Switch\nname: s2\n"
    );
}

#[test]
fn a_remote_that_wants_credentials_fails_with_advice() {
    let repo = fabric_repo();
    let server = GitHttpServer::start(Some(TOKEN));
    server.publish("fabric.git", &repo);
    let url = server.url("fabric.git");
    let cache = TempDir::new().unwrap();

    // No token configured: no prompt, no user credential helper, a clear error.
    let err = fetch_snapshot(&source(&url, "main", ""), cache.path()).unwrap_err();
    let GitError::AuthenticationFailed {
        token_configured, ..
    } = &err
    else {
        panic!("expected AuthenticationFailed, got {err:?}")
    };
    assert!(!token_configured);
    assert!(
        err.to_string()
            .contains("configure a token with token_env or token_file"),
        "{err}"
    );

    let wrong = Secret::new("not-the-token");
    let mut src = source(&url, "main", "");
    src.token = Some(&wrong);
    let err = fetch_snapshot(&src, cache.path()).unwrap_err();
    assert!(
        matches!(
            err,
            GitError::AuthenticationFailed {
                token_configured: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("check that the token"), "{err}");
    assert!(!err.to_string().contains("not-the-token"), "{err}");
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn an_http_remote_without_auth_and_a_missing_repository() {
    let repo = fabric_repo();
    let server = GitHttpServer::start(None);
    server.publish("open.git", &repo);
    let cache = TempDir::new().unwrap();

    let snapshot = fetch_snapshot(
        &source(&server.url("open.git"), "main", "fabric"),
        cache.path(),
    )
    .unwrap();
    assert_eq!(snapshot.files.len(), 3);

    let err =
        fetch_snapshot(&source(&server.url("gone.git"), "main", ""), cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::RepositoryNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("404"), "{err}");

    let err =
        fetch_snapshot(&source(&server.url("open.git"), "nope", ""), cache.path()).unwrap_err();
    let GitError::BranchNotFound { existing, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(existing, &["main"]);
}

#[test]
fn an_https_remote_that_does_not_speak_tls_is_a_transport_error() {
    // Proves the TLS stack is set up (a missing crypto provider would panic here) and that a
    // handshake failure becomes an actionable error rather than a hang.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        }
    });
    let url = format!("https://127.0.0.1:{port}/fabric.git");
    let token = Secret::new(TOKEN);
    let cache = TempDir::new().unwrap();
    let mut src = source(&url, "main", "");
    src.token = Some(&token);
    let err = fetch_snapshot(&src, cache.path()).unwrap_err();
    assert!(matches!(err, GitError::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains(&url), "{err}");
    assert_no_token(&err);
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn a_redirect_to_another_origin_never_gets_the_token() {
    // The other origin is a real git server that would accept the token: if hhdash sent it,
    // the fetch would succeed and the server would have seen it.
    let repo = fabric_repo();
    let elsewhere = GitHttpServer::start(Some(TOKEN));
    elsewhere.publish("fabric.git", &repo);
    let redirector = Redirector::start(elsewhere.port);
    let token = Secret::new(TOKEN);
    let cache = TempDir::new().unwrap();
    let redirecting_url = redirector.url("fabric.git");
    let mut src = source(&redirecting_url, "main", "");
    src.token = Some(&token);

    let err = fetch_snapshot(&src, cache.path()).unwrap_err();
    assert!(
        elsewhere.authorizations().is_empty(),
        "the other origin received credentials: {:?}",
        elsewhere.authorizations()
    );
    assert!(
        !elsewhere.request_lines().is_empty(),
        "the redirect was followed (without credentials)"
    );
    assert!(redirector.authorizations().is_empty());
    assert!(
        matches!(err, GitError::RedirectedElsewhere { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&elsewhere.url("fabric.git")), "{text}");
    assert!(text.contains("set git.url"), "{text}");
    assert_no_token(&err);

    // The same server asked directly gets the token: the refusal is about the origin.
    let direct_url = elsewhere.url("fabric.git");
    let mut direct = source(&direct_url, "main", "");
    direct.token = Some(&token);
    fetch_snapshot(&direct, cache.path()).unwrap();
    assert!(!elsewhere.authorizations().is_empty());
}

// ---------------------------------------------------------------------------------------------
// a loopback server that redirects every request to another port (another origin) and records
// any Authorization header it is sent

struct Redirector {
    port: u16,
    seen: Arc<Mutex<Seen>>,
}

impl Redirector {
    fn start(target_port: u16) -> Redirector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let seen_by_server = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = redirect(stream, target_port, &seen_by_server);
            }
        });
        Redirector { port, seen }
    }

    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    fn authorizations(&self) -> Vec<String> {
        self.seen.lock().unwrap().authorizations.clone()
    }
}

fn redirect(stream: TcpStream, target_port: u16, seen: &Mutex<Seen>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("authorization")
        {
            seen.lock()
                .unwrap()
                .authorizations
                .push(value.trim().to_owned());
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    writer.write_all(
        format!(
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{target_port}{target}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )?;
    writer.flush()
}

// ---------------------------------------------------------------------------------------------
// a smart-HTTP git server on loopback: `git http-backend` behind a tiny CGI bridge that demands
// basic auth with a given password

struct GitHttpServer {
    port: u16,
    root: TempDir,
    seen: Arc<Mutex<Seen>>,
}

#[derive(Default)]
struct Seen {
    authorizations: Vec<String>,
    request_lines: Vec<String>,
}

impl GitHttpServer {
    fn start(password: Option<&str>) -> GitHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let root = TempDir::new().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let expected = password.map(|p| {
            format!(
                "Basic {}",
                base64(format!("{TOKEN_USERNAME}:{p}").as_bytes())
            )
        });
        let project_root = root.path().to_owned();
        let seen_by_server = seen.clone();
        // Ends with the test process; it only ever listens on loopback.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let expected = expected.clone();
                let project_root = project_root.clone();
                let seen = seen_by_server.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, expected.as_deref(), &project_root, &seen);
                });
            }
        });
        GitHttpServer { port, root, seen }
    }

    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// (Re)publishes `repo` as a bare repository named `name`.
    fn publish(&self, name: &str, repo: &Repo) {
        let target = self.root.path().join(name);
        if target.exists() {
            std::fs::remove_dir_all(&target).unwrap();
        }
        git(
            self.root.path(),
            &[
                "clone",
                "-q",
                "--bare",
                repo.path().to_str().unwrap(),
                target.to_str().unwrap(),
            ],
        );
    }

    fn authorizations(&self) -> Vec<String> {
        self.seen.lock().unwrap().authorizations.clone()
    }

    fn request_lines(&self) -> Vec<String> {
        self.seen.lock().unwrap().request_lines.clone()
    }
}

fn serve(
    stream: TcpStream,
    expected: Option<&str>,
    root: &Path,
    seen: &Mutex<Seen>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    {
        let mut seen = seen.lock().unwrap();
        seen.request_lines.push(request_line.trim().to_owned());
        if let Some(auth) = headers.get("authorization") {
            seen.authorizations.push(auth.clone());
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("GET").to_owned();
    let target = parts.next().unwrap_or("/").to_owned();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));

    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        read_chunked(&mut reader)?
    } else {
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        body
    };

    if let Some(expected) = expected
        && headers.get("authorization").map(String::as_str) != Some(expected)
    {
        return writer.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\n\
              Content-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }

    let mut cgi = Command::new("git");
    cgi.arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(v) = headers.get("content-type") {
        cgi.env("CONTENT_TYPE", v);
    }
    if let Some(v) = headers.get("git-protocol") {
        cgi.env("GIT_PROTOCOL", v);
    }
    if let Some(v) = headers.get("content-encoding") {
        cgi.env("HTTP_CONTENT_ENCODING", v);
    }
    let mut child = cgi.spawn()?;
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&body));
    let mut output = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut output)?;
    let _ = feeder.join();
    child.wait()?;

    let split = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, 4))
        .or_else(|| output.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2)));
    let (head, payload) = match split {
        Some((p, n)) => (
            String::from_utf8_lossy(&output[..p]).into_owned(),
            &output[p + n..],
        ),
        None => (String::new(), &output[..]),
    };
    let mut status = "200 OK".to_owned();
    let mut response = Vec::new();
    for line in head.lines() {
        match line.split_once(':') {
            Some((name, value)) if name.eq_ignore_ascii_case("status") => {
                status = value.trim().to_owned()
            }
            Some(_) => response.extend_from_slice(format!("{}\r\n", line.trim_end()).as_bytes()),
            None => {}
        }
    }
    writer.write_all(format!("HTTP/1.1 {status}\r\n").as_bytes())?;
    writer.write_all(&response)?;
    writer.write_all(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            payload.len()
        )
        .as_bytes(),
    )?;
    writer.write_all(payload)?;
    writer.flush()
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line)?;
        let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if size == 0 {
            let mut trailer = String::new();
            while reader.read_line(&mut trailer)? > 2 {
                trailer.clear();
            }
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
