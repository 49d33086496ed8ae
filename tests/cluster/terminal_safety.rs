//! Nothing from Git or the cluster drives the operator's terminal: the real binary runs against
//! a real Git repository whose file names, kinds, branch names and values carry terminal escapes
//! (ESC[2J, an OSC 0 title, an OSC 52 clipboard write, colour codes, a C1 CSI), and against the
//! real control plane for drift values. Every human-readable byte on stdout and stderr shows
//! those characters escaped; JSON stays exact JSON. Also: error reports carry colour only for a
//! terminal without NO_COLOR, and JSON timestamps are RFC 3339.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What a hostile commit puts in a kind: clear screen, window title, clipboard write, colour.
const EVIL_KIND_YAML: &str = r#""VPC\e[2J\e]0;owned\a\e]52;c;cHduZWQ=\a\e[31m\x9b1m""#;
const EVIL_KIND_SHOWN: &str = r"VPC\x1b[2J\x1b]0;owned\x07\x1b]52;c;cHduZWQ=\x07\x1b[31m\u{9b}1m";
/// A file name with a window-title escape in it.
const EVIL_FILE: &str = "fabric/evil\x1b]0;title\x07.yaml";
const EVIL_FILE_SHOWN: &str = r"fabric/evil\x1b]0;title\x07.yaml";

/// Fails if `bytes` hold anything a terminal would act on: C0 controls other than newline and
/// tab, DEL, or C1 controls (raw or UTF-8 encoded).
fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Some(bad) = text
        .chars()
        .find(|c| matches!(*c, '\0'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'))
    {
        panic!(
            "{what} carries a raw control character U+{:04X}:\n{text}",
            bad as u32
        );
    }
}

fn text(output: &Output) -> String {
    common::output_text(output)
}

/// A repository with one good VPC and a hostile file beside it.
fn hostile_repo(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    let evil = format!(
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: {EVIL_KIND_YAML}\nmetadata:\n  name: x\n"
    );
    let good = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: good\nspec:\n  subnets:\n    default:\n      subnet: 10.0.1.0/24\n      vlan: 1001\n";
    common::repo_with(
        &repo,
        &[
            (EVIL_FILE, evil.as_bytes()),
            ("fabric/good.yaml", good.as_bytes()),
        ],
    );
    repo
}

#[test]
fn sync_shows_escapes_from_file_names_and_kinds_visibly() {
    let temp = tempfile::tempdir().unwrap();
    let repo = hostile_repo(temp.path());
    let config = common::config_for(temp.path(), &repo, &[("evil", "fabric")]);

    let out = common::hhdash(temp.path(), &config, &["sync"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_terminal_safe("sync stdout", &out.stdout);
    assert_terminal_safe("sync stderr", &out.stderr);
    let shown = text(&out);
    assert!(shown.contains("skipped 1 document(s)"), "{shown}");
    assert!(shown.contains(EVIL_FILE_SHOWN), "{shown}");
    assert!(shown.contains(EVIL_KIND_SHOWN), "{shown}");

    // JSON keeps the exact strings (a parser reads the very bytes Git holds), yet no raw
    // control character reaches the terminal.
    let out = common::hhdash(temp.path(), &config, &["sync", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_terminal_safe("sync --json", &out.stdout);
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped = &reports[0]["report"]["skipped"][0];
    assert_eq!(skipped["file"], EVIL_FILE, "{reports}");
    let kind = skipped["reason"]["UnknownKind"]["kind"].as_str().unwrap();
    assert_eq!(
        kind,
        "VPC\x1b[2J\x1b]0;owned\x07\x1b]52;c;cHduZWQ=\x07\x1b[31m\u{9b}1m"
    );
}

#[test]
fn error_texts_from_git_are_escaped_in_sync_and_status() {
    // A branch name may hold C1 characters (git refuses only C0 and DEL); the "branch not
    // found" error lists it, and `status` repeats the stored error.
    let temp = tempfile::tempdir().unwrap();
    let repo = hostile_repo(temp.path());
    common::git(&repo, &["branch", "evil\u{9b}2J\u{9d}0;t\u{9c}"]);
    let config = common::config_for(temp.path(), &repo, &[("evil", "fabric")]);
    let text_config = std::fs::read_to_string(&config)
        .unwrap()
        .replace("branch = \"main\"", "branch = \"nope\"");
    std::fs::write(&config, text_config).unwrap();

    let sync = common::hhdash(temp.path(), &config, &["sync"]);
    assert_eq!(sync.status.code(), Some(1), "{}", text(&sync));
    let status = common::hhdash(temp.path(), &config, &["status"]);
    let status_json = common::hhdash(temp.path(), &config, &["status", "--json"]);
    for (what, output) in [
        ("sync", &sync),
        ("status", &status),
        ("status --json", &status_json),
    ] {
        assert_terminal_safe(&format!("{what} stdout"), &output.stdout);
        assert_terminal_safe(&format!("{what} stderr"), &output.stderr);
    }
    for (what, output) in [("sync", &sync), ("status", &status)] {
        assert!(
            text(output).contains(r"evil\u{9b}2J\u{9d}0;t\u{9c}"),
            "{what} names the branch visibly:\n{}",
            text(output)
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&status_json.stdout).unwrap();
    let error = json[0]["status"]["sync"]["error"].as_str().unwrap();
    assert!(error.contains("evil\u{9b}2J\u{9d}0;t\u{9c}"), "{error}");
}

#[test]
fn the_error_report_of_main_escapes_what_it_quotes() {
    // A configuration line with escapes in it: the parser quotes the line in its error, which
    // main reports.
    let temp = tempfile::tempdir().unwrap();
    let config = temp.path().join("config.toml");
    std::fs::write(
        &config,
        "[[fabric]]\nname = \"a\x1b]52;c;cHduZWQ=\x07\x1b[2J\u{9b}1m\n",
    )
    .unwrap();
    let out = common::hhdash(temp.path(), &config, &["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_terminal_safe("the error report", &out.stderr);
    let shown = text(&out);
    assert!(shown.contains("Error:"), "{shown}");
    assert!(
        shown.contains(r"\x1b]52;c;cHduZWQ=\x07\x1b[2J\u{9b}1m"),
        "{shown}"
    );
}

/// Runs `hhdash` under a pseudo-terminal (`script`), so that stderr is a terminal.
fn on_a_terminal(temp: &Path, args: &str, no_color: Option<&str>) -> String {
    let mut command = Command::new("script");
    command
        .args(["-qec"])
        .arg(format!(
            "{} --store {} {args}",
            env!("CARGO_BIN_EXE_hhdash"),
            temp.join("store.redb").display()
        ))
        .arg("/dev/null")
        .env("HOME", temp.join("home"))
        .env("XDG_STATE_HOME", temp.join("home/state"))
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let out = command.output().expect("script(1) runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn error_reports_are_coloured_only_on_a_terminal_without_no_color() {
    let temp = tempfile::tempdir().unwrap();
    let missing = temp.path().join("missing.toml");
    let args = format!("--config {} status", missing.display());

    // Piped (not a terminal): plain text.
    let out = common::hhdash(temp.path(), &missing, &["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("cannot read the configuration"),
        "{}",
        text(&out)
    );
    assert!(!out.stderr.contains(&0x1b), "{}", text(&out));

    // A terminal: colour (this proves the two checks below can fail) …
    let coloured = on_a_terminal(temp.path(), &args, None);
    assert!(
        coloured.contains("cannot read the configuration"),
        "{coloured}"
    );
    assert!(coloured.contains('\x1b'), "{coloured:?}");
    // … unless NO_COLOR is set (to anything but the empty string).
    let plain = on_a_terminal(temp.path(), &args, Some("1"));
    assert!(plain.contains("cannot read the configuration"), "{plain}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    let empty = on_a_terminal(temp.path(), &args, Some(""));
    assert!(
        empty.contains('\x1b'),
        "an empty NO_COLOR does not count: {empty:?}"
    );
}

/// `2026-11-27T15:22:37Z`.
/// `hhdash watch ARGS` with its own store, log and home under `dir`.
fn watch_command(dir: &Path, config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hhdash"));
    command
        .arg("--config")
        .arg(config)
        .arg("--store")
        .arg(dir.join("watch.redb"))
        .arg("--log-file")
        .arg(dir.join("watch.log"))
        .arg("watch")
        .args(args)
        .env("HOME", dir.join("home"))
        .env("XDG_CACHE_HOME", dir.join("home/.cache"));
    command
}

fn is_rfc3339(value: &serde_json::Value) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    let bytes = text.as_bytes();
    bytes.len() == 20
        && bytes[10] == b'T'
        && bytes[19] == b'Z'
        && hhdash::health::parse_rfc3339(text).is_some()
}

#[test]
fn json_timestamps_of_status_and_watch_are_rfc3339() {
    let temp = tempfile::tempdir().unwrap();
    let repo = hostile_repo(temp.path());
    let config = common::config_for(temp.path(), &repo, &[("evil", "fabric")]);
    assert!(
        common::hhdash(temp.path(), &config, &["sync"])
            .status
            .success()
    );
    let out = common::hhdash(temp.path(), &config, &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sync = &json[0]["status"]["sync"];
    assert!(is_rfc3339(&sync["last_sync"]), "{sync}");
    assert!(is_rfc3339(&sync["last_attempt"]), "{sync}");

    // `watch --json` against a server that is not there: its events still carry times.
    let mut child = watch_command(temp.path(), &config, &["evil", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = common::StdoutLines::of(&mut child);
    stdout.read_until(Duration::from_secs(20), |lines| lines.len() >= 2);
    let lines = stdout.seen;
    let _ = child.kill();
    let _ = child.wait();
    assert!(lines.len() >= 2, "watch printed {lines:?}");
    for line in &lines {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(is_rfc3339(&event["time"]), "{line}");
    }
}

// ---------------------------------------------------------------------------------------------
// against the real control plane: drift values and file names in `diff` and `watch`

/// A Server whose description carries escapes; Git and the cluster disagree on it.
fn server_yaml(name: &str, description_yaml: &str) -> String {
    format!(
        "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: {name}\nspec:\n  description: {description_yaml}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_and_watch_show_escapes_in_values_and_file_names_visibly() {
    use kube::api::{DynamicObject, PostParams};
    let plane = testenv::shared().await.expect("control plane");
    let ns = "termsafe";
    plane.grant(ns).await.unwrap();
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    let git_value = r#""git\e[2J\x9b31m""#;
    common::repo_with(
        &repo,
        &[
            (
                "fabric/drifted.yaml",
                server_yaml("srv-drift", git_value).as_bytes(),
            ),
            (
                "fabric/missing\x1b]0;title\x07.yaml",
                server_yaml("srv-missing", "plain").as_bytes(),
            ),
        ],
    );
    let config = common::cluster_config(
        temp.path(),
        "termsafe",
        ns,
        &plane.server_url(),
        &plane.token_file(testenv::Identity::Operator),
        plane.ca_file(),
        &repo,
        "fabric",
    );
    let servers = common::admin_api(plane, "Server", ns);
    let live: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "Server",
        "metadata": {"name": "srv-drift", "namespace": ns},
        "spec": {"description": "live\u{1b}]52;c;cHduZWQ=\u{7}\u{7f}"}
    }))
    .unwrap();
    servers.create(&PostParams::default(), &live).await.unwrap();
    let sync = common::hhdash(temp.path(), &config, &["sync"]);
    assert!(sync.status.success(), "{}", text(&sync));

    let diff = common::hhdash(temp.path(), &config, &["diff", "termsafe"]);
    assert_eq!(diff.status.code(), Some(1), "{}", text(&diff));
    assert_terminal_safe("diff stdout", &diff.stdout);
    assert_terminal_safe("diff stderr", &diff.stderr);
    let shown = text(&diff);
    assert!(
        shown.contains(r"spec.description: git\x1b[2J\u{9b}31m → live\x1b]52;c;cHduZWQ=\x07\x7f"),
        "{shown}"
    );
    assert!(
        shown.contains(r"[fabric/missing\x1b]0;title\x07.yaml:1]"),
        "{shown}"
    );
    let diff_json = common::hhdash(temp.path(), &config, &["diff", "termsafe", "--json"]);
    assert_terminal_safe("diff --json", &diff_json.stdout);
    let review: serde_json::Value = serde_json::from_slice(&diff_json.stdout).unwrap();
    let drifted = review["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"]["name"] == "srv-drift")
        .unwrap();
    assert_eq!(
        drifted["drift"]["Drifted"][0]["live"], "live\u{1b}]52;c;cHduZWQ=\u{7}\u{7f}",
        "{drifted}"
    );

    // `watch` prints the drift event with both values; all of it escaped.
    let mut child = watch_command(temp.path(), &config, &["termsafe"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        loop {
            match std::io::Read::read(&mut stdout, &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = tx.send(buffer[..n].to_vec());
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("Drifted (spec.description") {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(chunk) => seen.extend(chunk),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        shown.contains("Drifted (spec.description"),
        "watch printed:\n{shown}"
    );
    assert_terminal_safe("watch stdout", &seen);
    assert_terminal_safe("watch stderr", &output.stderr);
    assert!(
        shown.contains(r"git\x1b[2J\u{9b}31m → live\x1b]52;c;cHduZWQ=\x07\x7f"),
        "{shown}"
    );
}
