//! Secrets stay secret, tried through the real binary and the real control plane: credentials
//! in a Kubernetes server URL and a token pasted into `token_env` are refused without being
//! repeated; the store, logs, caches and keys are private whatever the umask; insecure settings
//! are warned about by every command that uses them; and an Agent's secrets (user password
//! hashes, SSH keys, registry password) never reach the store, the log, `--json`, the screen or
//! a copy.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn text(output: &Output) -> String {
    common::output_text(output)
}

/// The real binary with HOME (and so every XDG default) inside `dir`.
fn hhdash(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hhdash"));
    command
        .args(args)
        .env("HOME", dir.join("home"))
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("HHDASH_STORE")
        .env_remove("HHDASH_SECRET_KEY")
        .env("HHDASH_LOG", "debug");
    command
}

/// Every file below `dir`, read whole (store, log, caches).
fn all_bytes_below(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(all_bytes_below(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn write_config(dir: &Path, kubernetes: &str, git_url: &str) -> PathBuf {
    let ca = dir.join("ca.crt");
    std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[[fabric]]\nname = \"prod\"\n[fabric.kubernetes]\n{kubernetes}\nca_cert_file = \"{}\"\n[fabric.git]\nurl = \"{git_url}\"\nbranch = \"main\"\ndirectory = \"f\"\n",
            ca.display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_server_url_with_credentials_is_refused_and_never_printed() {
    for server in [
        "https://admin:hunter2-pw@10.0.0.1:6443",
        "https://hunter2-pw@10.0.0.1:6443/",
        "http://admin:hunter2-pw@10.0.0.1:6443",
        "admin:hunter2-pw@10.0.0.1:6443",
    ] {
        let temp = tempfile::tempdir().unwrap();
        let config = write_config(
            temp.path(),
            &format!("server = \"{server}\"\ntoken_env = \"PROD_TOKEN\""),
            "/srv/repo",
        );
        for args in [&["check"][..], &["check", "--offline"], &["status"]] {
            let mut full = vec!["--config", config.to_str().unwrap()];
            full.extend_from_slice(args);
            let out = hhdash(temp.path(), &full).output().unwrap();
            assert_ne!(out.status.code(), Some(0), "{server}: {}", text(&out));
            let shown = text(&out);
            assert!(
                shown.contains("kubernetes.server: contains a user name or password"),
                "{server} {args:?}: {shown}"
            );
            assert!(!shown.contains("hunter2"), "{server} {args:?}: {shown}");
        }
        for (path, bytes) in all_bytes_below(temp.path()) {
            if path != config {
                assert!(!contains(&bytes, "hunter2"), "{}", path.display());
            }
        }
    }
}

#[test]
fn a_token_pasted_into_token_env_is_never_echoed_nor_stored() {
    for (section, pasted) in [
        (
            "kubernetes",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJoaGRhc2gifQ.c2lnbmF0dXJlLXNlY3JldA",
        ),
        ("kubernetes", "ghp_Sup3rS3cretT0kenValue0123456789abcd"),
        ("git", "glpat-Sup3rS3cretT0kenValue"),
    ] {
        let temp = tempfile::tempdir().unwrap();
        let (kubernetes, git_extra) = if section == "kubernetes" {
            (
                format!("server = \"https://127.0.0.1:1\"\ntoken_env = \"{pasted}\""),
                "",
            )
        } else {
            (
                "server = \"https://127.0.0.1:1\"\ntoken_env = \"PROD_TOKEN\"".to_string(),
                pasted,
            )
        };
        let config = write_config(temp.path(), &kubernetes, "/srv/repo");
        if !git_extra.is_empty() {
            let mut text = std::fs::read_to_string(&config).unwrap();
            text.push_str(&format!("token_env = \"{git_extra}\"\n"));
            std::fs::write(&config, text).unwrap();
        }
        let config = config.to_str().unwrap();
        for args in [
            &["check"][..],
            &["check", "--offline"],
            &["sync"],
            &["status", "--json"],
            &["diff", "prod"],
        ] {
            let mut full = vec!["--config", config];
            full.extend_from_slice(args);
            let out = hhdash(temp.path(), &full)
                .env("PROD_TOKEN", "unused")
                .output()
                .unwrap();
            assert_ne!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
            let shown = text(&out);
            assert!(
                shown.contains(&format!(
                    "{section}.token_env: token_env must name an environment variable"
                )),
                "{args:?}: {shown}"
            );
            assert!(!shown.contains(pasted), "{args:?}: {shown}");
            assert!(
                !shown.contains("S3cret") && !shown.contains("eyJ"),
                "{args:?}: {shown}"
            );
        }
        // Nothing else holds it either: no store status, no event log, no log line.
        for (path, bytes) in all_bytes_below(temp.path()) {
            if !path.ends_with("config.toml") {
                assert!(!contains(&bytes, pasted), "{}", path.display());
            }
        }
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `hhdash ARGS` in a shell that sets `umask` first.
fn with_umask(dir: &Path, umask: &str, args: &[&str]) -> Command {
    testenv::support::in_shell(&format!("umask {umask}"), &hhdash(dir, args))
}

#[test]
fn store_log_cache_and_key_are_private_whatever_the_umask() {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    common::repo_with(&repo, &[("f/a.yaml", b"")]);
    let config = write_config(
        temp.path(),
        "server = \"https://127.0.0.1:1\"\ntoken_env = \"PROD_TOKEN\"",
        &format!("file://{}", repo.display()),
    );
    let config = config.to_str().unwrap();
    let out = with_umask(temp.path(), "022", &["--config", config, "sync"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let mut child = with_umask(
        temp.path(),
        "022",
        &["--config", config, "secret", "set", "prod", "git-token"],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"tok-123\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));

    let home = temp.path().join("home");
    // A file made by the shell under the same umask, to show what the umask alone gives.
    let probe = temp.path().join("probe");
    let made = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 022 && mkdir {0} && touch {0}/f",
            probe.display()
        ))
        .status()
        .unwrap();
    assert!(made.success());
    assert_eq!((mode(&probe), mode(&probe.join("f"))), (0o755, 0o644));

    for dir in [
        ".local/share/hhdash",
        ".local/state/hhdash",
        ".cache/hhdash",
        ".cache/hhdash/git",
        ".config/hhdash",
    ] {
        assert_eq!(mode(&home.join(dir)), 0o700, "{dir}");
    }
    for file in [
        ".local/share/hhdash/hhdash.redb",
        ".local/state/hhdash/hhdash.log",
        ".config/hhdash/secret.key",
    ] {
        assert_eq!(mode(&home.join(file)), 0o600, "{file}");
    }
    assert!(
        std::fs::read_dir(home.join(".cache/hhdash/git"))
            .unwrap()
            .count()
            > 0,
        "the git cache was used"
    );

    // A store and a log an older hhdash left world-readable are made private on the next run.
    let store = home.join(".local/share/hhdash/hhdash.redb");
    let log = home.join(".local/state/hhdash/hhdash.log");
    for file in [&store, &log] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = with_umask(temp.path(), "022", &["--config", config, "status"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!((mode(&store), mode(&log)), (0o600, 0o600));
}

#[test]
fn plain_http_git_and_insecure_tls_are_warned_about_by_every_command() {
    let temp = tempfile::tempdir().unwrap();
    let config = write_config(
        temp.path(),
        "server = \"https://127.0.0.1:1\"\ntoken_env = \"PROD_TOKEN\"\ninsecure_skip_tls_verify = true",
        "http://127.0.0.1:9/fabric.git",
    );
    // The config above has both a CA file and insecure_skip_tls_verify: keep only the latter.
    let text_config = std::fs::read_to_string(&config).unwrap();
    let text_config: String = text_config
        .lines()
        .filter(|l| !l.starts_with("ca_cert_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&config, text_config).unwrap();
    let config = config.to_str().unwrap();
    let tls = "warning: fabric prod: insecure_skip_tls_verify is on";
    let http = "warning: fabric prod: git.url uses plain http://";

    let check = hhdash(temp.path(), &["--config", config, "check", "--offline"])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    // `check` prints them under the fabric's "ok" line.
    for warning in [tls, http] {
        let short = warning.replace("fabric prod: ", "");
        assert!(text(&check).contains(&short), "{}", text(&check));
    }

    let sync = hhdash(temp.path(), &["--config", config, "sync", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&sync.stderr);
    assert!(stderr.contains(http), "{}", text(&sync));
    // JSON on stdout stays JSON.
    serde_json::from_slice::<serde_json::Value>(&sync.stdout).unwrap();

    for args in [&["diff", "prod"][..], &["apply", "prod", "--dry-run"]] {
        let mut full = vec!["--config", config];
        full.extend_from_slice(args);
        let out = hhdash(temp.path(), &full)
            .env("PROD_TOKEN", "t")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(tls), "{args:?}: {}", text(&out));
    }
}

// ---------------------------------------------------------------------------------------------
// Agents, against the real control plane

const PASSWORD_HASH: &str = "$5$rounds=1000$AGENTPWHASHSECRET";
const SSH_KEY: &str = "ssh-ed25519 AAAAC3AGENTSSHKEYSECRET operator@laptop";
const REGISTRY_PASSWORD: &str = "AGENTREGISTRYPASSWORDSECRET";
const SECRETS: [&str; 4] = [
    PASSWORD_HASH,
    "AGENTPWHASHSECRET",
    "AGENTSSHKEYSECRET",
    REGISTRY_PASSWORD,
];

fn assert_no_agent_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} holds {secret:?}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_secrets_reach_no_store_log_json_or_screen() {
    use hhdash::engine::EngineEvent;
    use hhdash::ui::{App, Options, Theme, View};
    use kube::api::{DynamicObject, Patch, PatchParams, PostParams};

    let plane = testenv::shared().await.expect("control plane");
    let ns = "agentsecrets";
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, ns, "agsec");
    let agents = common::admin_api(plane, "Agent", ns);
    let agent: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "agent.githedgehog.com/v1beta1", "kind": "Agent",
        "metadata": {"name": "leaf-01", "namespace": ns},
        "spec": {
            "role": "server-leaf",
            "users": [{"name": "admin", "role": "admin", "password": PASSWORD_HASH,
                       "sshKeys": [SSH_KEY]}],
            "version": {"repo": "registry.local/fabric", "username": "puller",
                        "password": REGISTRY_PASSWORD}
        }
    }))
    .unwrap();
    agents.create(&PostParams::default(), &agent).await.unwrap();
    let heartbeat = hhdash::status::format_rfc3339(hhdash::status::now());
    let status = serde_json::json!({"status": {
        "lastHeartbeat": heartbeat, "lastAppliedGen": 1, "lastAttemptGen": 1,
        "version": "v0.87.0", "conditions": [], "state": {"nos": {"serialNumber": "SN-1"}}
    }});
    agents
        .patch_status("leaf-01", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    let synced = common::hhdash(temp.path(), &config, &["sync"]);
    assert!(synced.status.success(), "{}", text(&synced));

    // `watch --json` with a debug log: it lists the Agent and stores it.
    let store = temp.path().join("watch.redb");
    let log = temp.path().join("watch.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hhdash"))
        .arg("--config")
        .arg(&config)
        .arg("--store")
        .arg(&store)
        .arg("--log-file")
        .arg(&log)
        .args(["watch", "agsec", "--json"])
        .env("HHDASH_LOG", "debug")
        .env("HOME", temp.path().join("home"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = common::StdoutLines::of(&mut child);
    let active = stdout.read_until(Duration::from_secs(30), |lines| {
        lines.iter().any(|l| l.contains("watch active"))
    });
    assert!(active, "watch never became active: {:#?}", stdout.seen);
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let watched = stdout.drain().join("\n");
    assert!(watched.contains("listed 1 agents"), "{watched}");
    assert_no_agent_secret("watch --json", &watched);
    assert_no_agent_secret("watch stderr", &String::from_utf8_lossy(&output.stderr));
    assert_no_agent_secret("the log file", &std::fs::read_to_string(&log).unwrap());
    let store_bytes = std::fs::read(&store).unwrap();
    // The Agent is in the store (so the search below can fail) — without its secrets.
    assert!(
        contains(&store_bytes, &heartbeat),
        "the store holds the Agent"
    );
    assert_no_agent_secret("the store", &String::from_utf8_lossy(&store_bytes));
    assert!(
        !contains(&store_bytes, "SN-1"),
        "not even the NOS state is kept"
    );
    let status_json = Command::new(env!("CARGO_BIN_EXE_hhdash"))
        .arg("--config")
        .arg(&config)
        .arg("--store")
        .arg(&store)
        .arg("--log-file")
        .arg(&log)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(status_json.status.success(), "{}", text(&status_json));
    assert_no_agent_secret("status --json", &text(&status_json));

    // The dashboard's model, fed by a real engine on that store until its watch is active:
    // every event it gets (the UI shows only what these carry) and the Agents view on screen.
    let fabric = hhdash::config::Config::load(&config).unwrap().fabrics[0].clone();
    let store = std::sync::Arc::new(hhdash::store::Store::open(&store).unwrap());
    let (events_tx, mut events_rx) = tokio::sync::mpsc::channel(4096);
    let ctx = hhdash::engine::EngineContext {
        store,
        key_file: temp.path().join("key"),
        git_cache_dir: temp.path().join("cache"),
    };
    let commands = hhdash::engine::start_all(std::slice::from_ref(&fabric), ctx, events_tx)
        .remove(0)
        .1;
    let mut app = App::new(
        ["agsec".to_string()],
        Options {
            theme: Theme::plain(),
            ..Options::default()
        },
        hhdash::status::now(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let event = tokio::time::timeout(
            deadline.saturating_duration_since(Instant::now()),
            events_rx.recv(),
        )
        .await
        .ok()
        .flatten()
        .expect("the engine's watch becomes active");
        assert_no_agent_secret("an engine event", &format!("{event:?}"));
        let active = matches!(&event, EngineEvent::Status { status, .. }
            if status.watch.state == hhdash::status::WatchState::Active);
        app.fold(event);
        if active {
            break;
        }
    }
    let _ = commands.send(hhdash::engine::Command::Shutdown).await;
    app.set_view(View::Health);
    app.prepare();
    let screen = ui_render(&mut app);
    assert!(screen.contains("leaf-01"), "{screen}");
    assert_no_agent_secret("the Health view", &screen);
    // The switch detail shows what the agent reported (its version) and still no secret.
    // (The view sorts worst first: the Switches without an Agent come before leaf-01.)
    for c in "/leaf-01".chars() {
        app.on_key(hhdash::ui::Key::char(c));
    }
    app.on_key(hhdash::ui::Key::plain(crossterm::event::KeyCode::Enter));
    app.prepare();
    app.on_key(hhdash::ui::Key::plain(crossterm::event::KeyCode::Enter));
    let screen = ui_render(&mut app);
    assert!(
        screen.contains("leaf-01") && screen.contains("v0.87.0"),
        "{screen}"
    );
    assert_no_agent_secret("the switch detail", &screen);
}

fn ui_render(app: &mut hhdash::ui::App) -> String {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 50)).unwrap();
    terminal.draw(|frame| hhdash::ui::draw(frame, app)).unwrap();
    terminal.backend().to_string()
}
