//! Helpers shared by the integration tests: the shared reference data, real Git repositories in
//! temp dirs, and configs pointing at them; child processes waited for with a deadline.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod live_vpcs;

// Processes with a deadline and real Git repositories are shared with the benchmarks and the
// demo; these names stay here so every test reaches them as `common::…` (each test uses some).
#[allow(unused_imports)]
pub use testenv::support::{
    COMMAND_DEADLINE, SIGINT, SIGTERM, commit_files, git, git_command, repo_with, run_git,
    run_with_deadline, send_signal, wait_with_deadline,
};

/// `../shared` beside the repository (or `HHDASH_SHARED_DIR`), as testenv finds it. Panics
/// loudly when absent: tests that need the reference data must not pass without it.
pub fn shared_dir() -> PathBuf {
    testenv::shared_dir().unwrap_or_else(|error| panic!("{error}"))
}

/// Every file under `dir`, named `prefix/<path below dir>`, with its bytes.
pub fn read_tree(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("{prefix}/{}", path.file_name().unwrap().to_string_lossy());
        if path.is_dir() {
            read_tree(&path, &name, out);
        } else {
            out.push((name, std::fs::read(&path).unwrap()));
        }
    }
}

pub fn samples_dir() -> PathBuf {
    shared_dir().join("hedgehog/samples")
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

/// The real binary with an isolated HOME, not started yet.
pub fn hhdash_command(dir: &Path, config: &Path, args: &[&str]) -> Command {
    let home = dir.join("home");
    let mut command = Command::new(env!("CARGO_BIN_EXE_hhdash"));
    command
        .arg("--config")
        .arg(config)
        .arg("--store")
        .arg(dir.join("store.redb"))
        .args(args)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env_remove("KUBECONFIG");
    command
}

/// Runs the real binary with an isolated HOME; fails the test if it runs past the deadline.
pub fn hhdash(dir: &Path, config: &Path, args: &[&str]) -> std::process::Output {
    run_with_deadline(&mut hhdash_command(dir, config, args), COMMAND_DEADLINE)
}

/// Runs the control plane's `kubectl` as the admin with `stdin`; asserts success and returns
/// stdout. `args` include `-n NAMESPACE` where needed.
pub fn kubectl(plane: &testenv::ControlPlane, args: &[&str], stdin: &str) -> String {
    let mut child = plane
        .kubectl(testenv::Identity::Admin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes()).unwrap();
    let out = wait_with_deadline(child, COMMAND_DEADLINE, "kubectl");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        output_text(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes `files` (path relative to `dir`, content) and commits them as `author` at `date`
/// (ISO 8601), committer date the same; returns the commit id.
pub fn commit_as<P: AsRef<Path>, C: AsRef<[u8]>>(
    dir: &Path,
    author: &str,
    date: &str,
    files: &[(P, C)],
    message: &str,
) -> String {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    for args in [
        &["add", "-A"][..],
        &["commit", "-q", "--allow-empty", "-m", message],
    ] {
        run_git(
            git_command(dir)
                .args(args)
                .env("GIT_AUTHOR_NAME", author)
                .env("GIT_AUTHOR_DATE", date)
                .env("GIT_COMMITTER_DATE", date),
        );
    }
    git(dir, &["rev-parse", "HEAD"])
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
    let files = demo_files(namespace);
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    git_fabric(plane, namespace, name, &refs, "env-1")
}

/// A temp dir holding a real Git repo (`repo`) with `files` and a config whose fabric `name`
/// reads `directory` of it and talks to `namespace` of `plane` with the operator token.
/// Returns (dir, config path).
pub fn git_fabric(
    plane: &testenv::ControlPlane,
    namespace: &str,
    name: &str,
    files: &[(&str, &[u8])],
    directory: &str,
) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    repo_with(&repo, files);
    let config = cluster_config(
        temp.path(),
        name,
        namespace,
        &plane.server_url(),
        &plane.token_file(testenv::Identity::Operator),
        plane.ca_file(),
        &repo,
        directory,
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
    start_engine_with_store(dir, config_path, store)
}

/// A running engine for the first fabric of `config_path` on a fresh store in `dir`, not synced
/// from Git first (the engine syncs by itself).
pub fn start_engine(dir: &Path, config_path: &Path) -> RunningEngine {
    let store = std::sync::Arc::new(hhdash::store::Store::open(&dir.join("engine.redb")).unwrap());
    start_engine_with_store(dir, config_path, store)
}

/// A running engine for the first fabric of `config_path` on `store` as the test left it; its
/// key file and Git cache in `dir`.
pub fn start_engine_with_store(
    dir: &Path,
    config_path: &Path,
    store: std::sync::Arc<hhdash::store::Store>,
) -> RunningEngine {
    let config = hhdash::config::Config::load(config_path).unwrap();
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

/// A child process that is killed and reaped if the test fails before it ends.
pub struct KillOnDrop(Option<Child>);

impl KillOnDrop {
    pub fn new(child: Child) -> KillOnDrop {
        KillOnDrop(Some(child))
    }

    pub fn id(&self) -> u32 {
        self.0.as_ref().expect("the child is running").id()
    }

    /// Waits for the child with a deadline (see [`wait_with_deadline`]).
    pub fn wait(mut self, deadline: Duration, what: &str) -> Output {
        wait_with_deadline(self.0.take().expect("waited once"), deadline, what)
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `hhdash watch FABRIC` running with its own store, its stdout read line by line.
pub struct WatchProcess {
    pub child: KillOnDrop,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    /// Every line read so far, for failure messages.
    pub seen: Vec<String>,
    /// While set, nothing is read from the pipe, so it fills and the watch blocks printing.
    paused: Arc<std::sync::atomic::AtomicBool>,
    stdout_fd: i32,
}

/// Starts `hhdash watch FABRIC [--json]` with the store `store` and a log file in `dir`.
pub fn spawn_watch(
    dir: &Path,
    config: &Path,
    store: &Path,
    fabric: &str,
    json: bool,
) -> WatchProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hhdash"));
    command
        .arg("--config")
        .arg(config)
        .arg("--store")
        .arg(store)
        .arg("--log-file")
        .arg(dir.join(format!("watch-{fabric}.log")))
        .args(["watch", fabric])
        .args(json.then_some("--json"))
        .env("HOME", dir.join("home"))
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("hhdash watch starts");
    let stdout = child.stdout.take().unwrap();
    let stdout_fd = std::os::fd::AsRawFd::as_raw_fd(&stdout);
    let paused = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
    let pause = paused.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::with_capacity(256, stdout);
        loop {
            while pause.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line.trim_end_matches('\n').to_string()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    WatchProcess {
        child: KillOnDrop::new(child),
        lines,
        seen: Vec::new(),
        paused,
        stdout_fd,
    }
}

/// Bytes waiting in a pipe (FIONREAD).
fn pipe_bytes(fd: i32) -> usize {
    unsafe extern "C" {
        fn ioctl(fd: i32, request: u64, ...) -> i32;
    }
    const FIONREAD: u64 = 0x541B;
    let mut available: i32 = 0;
    // SAFETY: FIONREAD writes one int through the pointer; the fd is our open pipe end.
    let result = unsafe { ioctl(fd, FIONREAD, &mut available as *mut i32) };
    assert_eq!(result, 0, "FIONREAD on the watch's stdout failed");
    available.max(0) as usize
}

impl WatchProcess {
    /// The next line matching `want` within `deadline`; fails with every line seen otherwise.
    pub async fn wait_for_line(
        &mut self,
        deadline: Duration,
        what: &str,
        mut want: impl FnMut(&str) -> bool,
    ) -> String {
        let end = Instant::now() + deadline;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.lines.recv()).await {
                Ok(Some(line)) => {
                    self.seen.push(line.clone());
                    if want(&line) {
                        return line;
                    }
                }
                Ok(None) => panic!(
                    "{what}: hhdash watch closed its output; it printed:\n{}",
                    self.seen.join("\n")
                ),
                Err(_) => panic!(
                    "{what}: not within {deadline:?}; hhdash watch printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Lines printed so far and not read yet, without waiting.
    pub fn drain(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line.clone());
            lines.push(line);
        }
        lines
    }

    pub fn signal(&self, signal: i32) {
        send_signal(self.child.id(), signal);
    }

    /// Stops reading the watch's output and waits (up to `deadline`) until the pipe is full:
    /// from then on the watch is blocked in the middle of printing an event.
    pub async fn block_output(&mut self, deadline: Duration) {
        self.paused.store(true, std::sync::atomic::Ordering::SeqCst);
        // A Linux pipe holds 64 KiB; a blocked writer leaves at most one line's room free.
        const FULL: usize = 64 * 1024 - 4096;
        let end = Instant::now() + deadline;
        while pipe_bytes(self.stdout_fd) < FULL {
            assert!(
                Instant::now() < end,
                "the watch's output never filled its pipe ({} bytes) within {deadline:?}",
                pipe_bytes(self.stdout_fd)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Reads the watch's output again after [`block_output`](Self::block_output).
    pub fn unblock_output(&self) {
        self.paused
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Waits for the process to end within `deadline`; fails with everything it printed.
    pub async fn wait(mut self, deadline: Duration, what: &str) -> Output {
        let mut child = self.child.0.take().expect("running");
        let end = Instant::now() + deadline;
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for hhdash watch") {
                break Some(status);
            }
            if Instant::now() >= end {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let mut stderr = Vec::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_end(&mut stderr);
        }
        // The reader thread may still be passing on the last lines.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.drain();
        match status {
            Some(status) => Output {
                status,
                stdout: self.seen.join("\n").into_bytes(),
                stderr,
            },
            None => panic!(
                "{what}: hhdash watch still running after {deadline:?}; killed it. It printed:\n{}\n--- stderr\n{}",
                self.seen.join("\n"),
                String::from_utf8_lossy(&stderr)
            ),
        }
    }
}

/// Waits until the engine reports the watch in `state`.
pub async fn wait_for_watch_state(
    rx: &mut tokio::sync::mpsc::Receiver<hhdash::engine::EngineEvent>,
    secs: u64,
    state: hhdash::status::WatchState,
) {
    use hhdash::engine::EngineEvent;
    wait_for_event(
        rx,
        secs,
        &format!("watch {state:?}"),
        |e| matches!(e, EngineEvent::Status { status, .. } if status.watch.state == state),
    )
    .await;
}

/// The dashboard's `A`: applies every Missing and Drifted object (no force, not a dry run).
pub async fn apply_out_of_sync(commands: &tokio::sync::mpsc::Sender<hhdash::engine::Command>) {
    use hhdash::engine::{ApplyRequest, ApplyScope, Command};
    commands
        .send(Command::Apply(ApplyRequest {
            scope: ApplyScope::OutOfSync,
            dry_run: false,
            force_conflicts: false,
        }))
        .await
        .expect("the engine takes commands");
}

/// Waits for an engine event matching `want`, failing with the last events seen on timeout.
pub async fn wait_for_event(
    rx: &mut tokio::sync::mpsc::Receiver<hhdash::engine::EngineEvent>,
    secs: u64,
    what: &str,
    mut want: impl FnMut(&hhdash::engine::EngineEvent) -> bool,
) -> hhdash::engine::EngineEvent {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(event)) if want(&event) => return event,
            Ok(Some(_)) => {}
            _ => panic!("no {what} within {secs}s"),
        }
    }
}

/// Waits for the end of the engine's apply job, Succeeded or Failed, and returns that event.
pub async fn wait_for_apply_end(
    rx: &mut tokio::sync::mpsc::Receiver<hhdash::engine::EngineEvent>,
    secs: u64,
) -> hhdash::engine::EngineEvent {
    use hhdash::engine::{EngineEvent, JobKind, JobPhase};
    wait_for_event(rx, secs, "apply result", |e| {
        matches!(
            e,
            EngineEvent::Job {
                job: JobKind::Apply,
                phase: JobPhase::Succeeded { .. } | JobPhase::Failed { .. },
                ..
            }
        )
    })
    .await
}

/// A child's stdout read line by line on a thread of its own, so a test can wait for lines
/// with a deadline while the child keeps running.
pub struct StdoutLines {
    lines: std::sync::mpsc::Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl StdoutLines {
    /// Takes `child`'s piped stdout.
    pub fn of(child: &mut Child) -> StdoutLines {
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        StdoutLines {
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads until `done` holds for the lines seen so far, or `deadline` passes; says which.
    pub fn read_until(&mut self, deadline: Duration, done: impl Fn(&[String]) -> bool) -> bool {
        let end = Instant::now() + deadline;
        while !done(&self.seen) {
            match self
                .lines
                .recv_timeout(end.saturating_duration_since(Instant::now()))
            {
                Ok(line) => self.seen.push(line),
                Err(_) => return false,
            }
        }
        true
    }

    /// The lines already printed and not read yet, added to `seen`.
    pub fn drain(&mut self) -> &[String] {
        self.seen.extend(self.lines.try_iter());
        &self.seen
    }
}
