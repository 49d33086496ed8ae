//! The real `hhdash` binary, run as an operator would: `check`, `sync`, `status`, `secret set`.
//! Each run gets its own HOME/XDG dirs, so nothing on the machine leaks in.

use crate::common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

struct Env {
    temp: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            temp: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.temp.path()
    }

    fn hhdash(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hhdash"));
        let home = self.path().join("home");
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("HHDASH_LOG", "debug");
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        common::run_with_deadline(&mut self.hhdash(args), common::COMMAND_DEADLINE)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("home/.local/state/hhdash/hhdash.log"))
            .unwrap_or_default()
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn check_reports_every_problem_at_once_naming_fabric_and_key() {
    let env = Env::new();
    let open_token = env.path().join("open-token");
    std::fs::write(&open_token, "t").unwrap();
    std::fs::set_permissions(&open_token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = env.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[fabric]]
name = "east"
[fabric.kubernetes]
server = "https://10.0.0.1:6443"
token_file = "{}"
insecure_skip_tls_verify = true
[fabric.git]
url = "/srv/repo"
branch = "main"
directory = "../outside"

[[fabric]]
name = "east"
[fabric.git]
url = "https://user:pw@git.example/x.git"
branch = "main"

[[fabric]]
name = "west"
[fabric.kubernetes]
server = "http://10.0.0.2:6443"
token_env = "WEST_TOKEN"
[fabric.git]
url = "/srv/repo"
directory = "/etc"
[fabric.watch]
kinds = ["VPC", "Peering"]
"#,
            open_token.display()
        ),
    )
    .unwrap();
    // A kubeconfig that must never be used as a fallback.
    std::fs::create_dir_all(env.path().join("home/.kube")).unwrap();
    std::fs::write(
        env.path().join("home/.kube/config"),
        "apiVersion: v1\nkind: Config\n",
    )
    .unwrap();

    let output = env.run(&["--config", config.to_str().unwrap(), "check", "--offline"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report = text(&output);
    for expected in [
        "fabric east: kubernetes.token_file",
        "chmod 600",
        "fabric east: git.directory",
        "fabric east: name: is used by another fabric",
        "fabric east: kubernetes: missing",
        "no fallback to ~/.kube/config",
        "fabric east: git.url: contains credentials",
        "fabric west: kubernetes.server",
        "https://",
        "fabric west: kubernetes.ca_cert_file: missing",
        "fabric west: git.branch: missing",
        "fabric west: git.directory",
        "fabric west: watch.kinds: unknown kind \"Peering\"",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
    assert!(
        !report.contains("pw@"),
        "credentials from the URL are not echoed:\n{report}"
    );
}

#[test]
fn check_accepts_a_good_config_and_warns_about_insecure_tls() {
    let env = Env::new();
    let repo = env.path().join("repo");
    common::repo_with(&repo, &[("f/a.yaml", b"")]);
    let config = common::config_for(env.path(), &repo, &[("good", "f")]);
    let output = env.run(&["--config", config.to_str().unwrap(), "check", "--offline"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("1 fabric(s), no problems"));

    let insecure = std::fs::read_to_string(&config)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("ca_cert_file"))
        .map(|l| {
            if l.starts_with("token_env") {
                format!("{l}\ninsecure_skip_tls_verify = true")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&config, insecure).unwrap();
    let output = env.run(&["--config", config.to_str().unwrap(), "check", "--offline"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("warning: insecure_skip_tls_verify"));
}

#[test]
fn sync_then_status_show_commit_and_counts() {
    let env = Env::new();
    let repo = env.path().join("repo");
    let samples = common::samples_dir().join("demo-gitops/env-1");
    let demo = std::fs::read(samples.join("demo.yaml")).unwrap();
    let pre = std::fs::read(samples.join("pre-demo.yaml")).unwrap();
    let commit = common::repo_with(
        &repo,
        &[("env-1/demo.yaml", &demo), ("env-1/pre-demo.yaml", &pre)],
    );
    let config = common::config_for(env.path(), &repo, &[("demo", "env-1")]);
    let config = config.to_str().unwrap();

    let output = env.run(&["--config", config, "sync"]);
    assert!(output.status.success(), "{}", text(&output));
    let out = text(&output);
    assert!(out.contains(&commit[..12]), "{out}");
    assert!(out.contains("8 object(s)"), "{out}");

    let output = env.run(&["--config", config, "status", "--json"]);
    assert!(output.status.success(), "{}", text(&output));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let fabric = &status[0];
    assert_eq!(fabric["name"], "demo");
    assert_eq!(fabric["status"]["sync"]["state"], "Synced");
    assert_eq!(fabric["status"]["sync"]["commit"], commit.as_str());
    assert_eq!(fabric["desired"]["VPC"], 3);
    assert_eq!(fabric["desired"]["VPCAttachment"], 3);
    assert_eq!(fabric["desired"]["VPCPeering"], 1);
    assert_eq!(fabric["desired"]["ExternalPeering"], 1);

    let output = env.run(&["--config", config, "status"]);
    let out = text(&output);
    assert!(out.contains("sync        Synced"), "{out}");
    assert!(out.contains("desired     8"), "{out}");
}

#[test]
fn sync_prints_each_skipped_document_with_file_line_and_reason() {
    let env = Env::new();
    let repo = env.path().join("repo");
    let samples = common::samples_dir().join("demo-gitops/env-1");
    let demo = std::fs::read(samples.join("demo.yaml")).unwrap();
    let broken = "# a comment\napiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: broken\n  labels: a: b\n";
    let foreign = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: fine\n---\n\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n";
    common::repo_with(
        &repo,
        &[
            ("env-1/demo.yaml", &demo),
            ("env-1/broken.yaml", broken.as_bytes()),
            ("env-1/more.yaml", foreign.as_bytes()),
        ],
    );
    let config = common::config_for(env.path(), &repo, &[("demo", "env-1")]);
    let config = config.to_str().unwrap();

    let output = env.run(&["--config", config, "sync"]);
    let out = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        out.contains("  skipped 2 document(s):"),
        "{}",
        text(&output)
    );
    // The error line itself (line 6, `labels: a: b`), not where the document starts.
    assert!(
        out.lines()
            .any(|l| l.starts_with("    error env-1/broken.yaml:6: YAML syntax error")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l
            == "    skip  env-1/more.yaml:7: Widget (example.com/v1) is not a kind hhdash manages"),
        "{out}"
    );
}

#[test]
fn a_stored_git_token_never_shows_in_output_or_logs() {
    let env = Env::new();
    let repo = env.path().join("repo");
    common::repo_with(&repo, &[("f/a.yaml", b"")]);
    let config = common::config_for(env.path(), &repo, &[("prod", "f")]);
    // A git token from the encrypted store, on a branch that does not exist, so errors happen.
    let text_config = std::fs::read_to_string(&config).unwrap().replace(
        "branch = \"main\"",
        "branch = \"gone\"\ntoken_file = \"git-token\"",
    );
    std::fs::write(&config, text_config).unwrap();
    let token = "ghp_SuperSecretToken1234567890";
    let token_file = env.path().join("git-token");
    std::fs::write(&token_file, token).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = config.to_str().unwrap();

    let mut child = env
        .hhdash(&[
            "--config",
            config,
            "secret",
            "set",
            "prod",
            "kubernetes-token",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{token}\n").as_bytes())
        .unwrap();
    let output = common::wait_with_deadline(child, common::COMMAND_DEADLINE, "secret set");
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("stored kubernetes-token for fabric prod"));
    let key_file = env.path().join("home/.config/hhdash/secret.key");
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let sync = env.run(&["--config", config, "sync"]);
    assert_eq!(sync.status.code(), Some(1), "{}", text(&sync));
    let status = env.run(&["--config", config, "status", "--json"]);
    let check = env.run(&["--config", config, "check", "--offline"]);
    let store = std::fs::read(env.path().join("home/.local/share/hhdash/hhdash.redb")).unwrap();
    for (what, shown) in [
        ("sync", text(&sync)),
        ("status", text(&status)),
        ("check", text(&check)),
        ("log", env.log()),
        ("store", String::from_utf8_lossy(&store).to_string()),
    ] {
        assert!(
            !shown.contains(token),
            "the token leaked into {what}:\n{shown}"
        );
        assert!(
            !shown.contains("SuperSecret"),
            "part of the token leaked into {what}"
        );
    }
    assert!(
        text(&sync).contains("gone"),
        "the error names the branch: {}",
        text(&sync)
    );
}

#[test]
fn secret_set_refuses_unknown_fabrics_and_empty_input() {
    let env = Env::new();
    let repo = env.path().join("repo");
    common::repo_with(&repo, &[("f/a.yaml", b"")]);
    let config = common::config_for(env.path(), &repo, &[("prod", "f")]);
    let config = config.to_str().unwrap();
    let output = common::run_with_deadline(
        &mut env.hhdash(&["--config", config, "secret", "set", "nope", "git-token"]),
        common::COMMAND_DEADLINE,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains("no fabric named \"nope\""),
        "{}",
        text(&output)
    );
    let output = common::run_with_deadline(
        &mut env.hhdash(&["--config", config, "secret", "set", "prod", "git-token"]),
        common::COMMAND_DEADLINE,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains("no token on standard input"),
        "{}",
        text(&output)
    );
}

#[test]
fn inspect_before_any_sync_or_of_an_unknown_fabric_is_an_error_saying_what_to_do() {
    let env = Env::new();
    let repo = env.path().join("repo");
    common::repo_with(&repo, &[("f/a.yaml", b"")]);
    let config = common::config_for(env.path(), &repo, &[("east", "f")]);
    let config = config.to_str().unwrap();
    // Checked before any connection: the intent comes from the last sync.
    let output = env.run(&["--config", config, "inspect", "east", "--json"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output)
            .contains("fabric east: nothing synced from Git yet; run `hhdash sync east` first"),
        "{}",
        text(&output)
    );
    assert!(output.stdout.is_empty(), "no JSON on an error");
    let output = env.run(&["--config", config, "inspect", "west"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("no fabric named \"west\""),
        "{}",
        text(&output)
    );
}
