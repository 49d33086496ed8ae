//! Helpers shared by the integration tests: the shared reference data, real Git repositories in
//! temp dirs, and configs pointing at them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `../shared` beside the repository (or `HHDASH_SHARED_DIR`), as testenv finds it. Panics
/// loudly when absent: tests that need the reference data must not pass without it.
pub fn shared_dir() -> PathBuf {
    testenv::shared_dir().unwrap_or_else(|error| panic!("{error}"))
}

pub fn samples_dir() -> PathBuf {
    shared_dir().join("hedgehog/samples")
}

/// Runs git with a fixed identity and default branch, regardless of the machine's config.
pub fn git(repo: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(repo)
        .env("GIT_AUTHOR_NAME", "hhdash tests")
        .env("GIT_AUTHOR_EMAIL", "tests@hhdash.invalid")
        .env("GIT_COMMITTER_NAME", "hhdash tests")
        .env("GIT_COMMITTER_EMAIL", "tests@hhdash.invalid")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A fresh repository with one commit of `files` (path → content).
pub fn repo_with(dir: &Path, files: &[(&str, &[u8])]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q"]);
    commit_files(dir, files, "initial")
}

/// Writes `files` and commits everything; returns the new commit id.
pub fn commit_files(dir: &Path, files: &[(&str, &[u8])], message: &str) -> String {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A config with one fabric per (name, directory) over one repo; fake but well-formed
/// Kubernetes settings (these tests do not contact a cluster).
pub fn config_for(dir: &Path, repo: &Path, fabrics: &[(&str, &str)]) -> PathBuf {
    let ca = dir.join("ca.crt");
    std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
    let mut text = String::new();
    for (name, directory) in fabrics {
        text.push_str(&format!(
            "[[fabric]]\nname = \"{name}\"\n[fabric.kubernetes]\nserver = \"https://127.0.0.1:1\"\ntoken_env = \"HHDASH_TEST_UNUSED_TOKEN\"\nca_cert_file = \"{}\"\n[fabric.git]\nurl = \"{}\"\nbranch = \"main\"\ndirectory = \"{directory}\"\n\n",
            ca.display(),
            repo.display()
        ));
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The demo-gitops env-1 sample files (real Hedgehog Argo CD demo), moved to `namespace`, and
/// `env-1/wiring.yaml`: the wiring they refer to (testenv's fixture), without which the
/// control plane's admission webhook refuses the VPCs, attachments and peerings, as a real
/// fabric would. [`DEMO_OBJECTS`] objects in all.
pub fn demo_files(namespace: &str) -> Vec<(String, Vec<u8>)> {
    let dir = samples_dir().join("demo-gitops/env-1");
    let mut files: Vec<(String, Vec<u8>)> = ["pre-demo.yaml", "demo.yaml"]
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            (
                format!("env-1/{name}"),
                text.replace("namespace: default", &format!("namespace: {namespace}"))
                    .into_bytes(),
            )
        })
        .collect();
    files.push((
        "env-1/wiring.yaml".into(),
        testenv::fixtures::demo_gitops_wiring_yaml(namespace).into_bytes(),
    ));
    files
}

/// Objects in [`demo_files`]: 8 from the samples (3 VPCs, 3 VPCAttachments, a VPCPeering, an
/// ExternalPeering) and the 12 of the wiring.
pub const DEMO_OBJECTS: usize = 20;

/// A config file with one fabric pointed at a real control plane with the given token file.
#[allow(clippy::too_many_arguments)]
pub fn cluster_config(
    dir: &Path,
    name: &str,
    namespace: &str,
    server: &str,
    token_file: &Path,
    ca_file: &Path,
    repo: &Path,
    directory: &str,
) -> PathBuf {
    let text = format!(
        "[[fabric]]\nname = \"{name}\"\nnamespace = \"{namespace}\"\n[fabric.kubernetes]\nserver = \"{server}\"\ntoken_file = \"{}\"\nca_cert_file = \"{}\"\n[fabric.git]\nurl = \"{}\"\nbranch = \"main\"\ndirectory = \"{directory}\"\n",
        token_file.display(),
        ca_file.display(),
        repo.display()
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the real binary with an isolated HOME.
pub fn hhdash(dir: &Path, config: &Path, args: &[&str]) -> std::process::Output {
    let home = dir.join("home");
    Command::new(env!("CARGO_BIN_EXE_hhdash"))
        .arg("--config")
        .arg(config)
        .arg("--store")
        .arg(dir.join("store.redb"))
        .args(args)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env_remove("KUBECONFIG")
        .output()
        .unwrap()
}

pub fn output_text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A temp dir holding a real Git repo with the demo samples (moved to `namespace`) and a config
/// whose fabric `name` talks to `plane` with the operator token. Returns (dir, config path).
pub fn demo_fabric(
    plane: &testenv::ControlPlane,
    namespace: &str,
    name: &str,
) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    let files = demo_files(namespace);
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    repo_with(&repo, &refs);
    let config = cluster_config(
        temp.path(),
        name,
        namespace,
        &plane.server_url(),
        &plane.token_file(testenv::Identity::Operator),
        plane.ca_file(),
        &repo,
        "env-1",
    );
    (temp, config)
}

/// An admin API for one kind in `namespace` of `plane` (the "other client" of the tests).
pub fn admin_api(
    plane: &testenv::ControlPlane,
    kind: &str,
    namespace: &str,
) -> kube::Api<kube::api::DynamicObject> {
    kube::Api::namespaced_with(
        plane.client(testenv::Identity::Admin),
        namespace,
        &hhdash::cluster::api_resource(hhdash::kinds::by_kind(kind).expect("a registry kind")),
    )
}

/// A running engine for the first fabric of `config_path`, its store synced from Git first.
pub struct RunningEngine {
    pub store: std::sync::Arc<hhdash::store::Store>,
    pub events: tokio::sync::mpsc::Receiver<hhdash::engine::EngineEvent>,
    pub commands: tokio::sync::mpsc::Sender<hhdash::engine::Command>,
}

pub fn start_synced_engine(dir: &Path, config_path: &Path) -> RunningEngine {
    let config = hhdash::config::Config::load(config_path).unwrap();
    let store = std::sync::Arc::new(hhdash::store::Store::open(&dir.join("engine.redb")).unwrap());
    hhdash::sync::sync_fabric(&config.fabrics[0], &store, &dir.join("cache"), |_, _| {
        Ok(None)
    })
    .unwrap();
    let (tx, events) = tokio::sync::mpsc::channel(4096);
    let ctx = hhdash::engine::EngineContext {
        store: store.clone(),
        key_file: dir.join("key"),
        git_cache_dir: dir.join("cache"),
    };
    let commands = hhdash::engine::start_all(&config.fabrics, ctx, tx)
        .remove(0)
        .1;
    RunningEngine {
        store,
        events,
        commands,
    }
}
