//! The Git source of a fabric, read from real repositories made with the `git` CLI in temp dirs:
//! local work trees and bare repositories, `file://` remotes cached under a cache dir, and an
//! `http://` remote behind a loopback server that runs `git http-backend` and demands a token,
//! and a redirect from one loopback origin to another that must not carry the token.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hhdash::git::{GitError, GitSource, ReadLimits, Snapshot};
use tempfile::TempDir;

use crate::common;

mod cache;
mod credentials;
mod local;
mod loopback;

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
