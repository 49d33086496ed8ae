//! CLI commands with `hhdash serve` running on the same store, as an operator runs them in a
//! second pane: each prints what it printed in-process (times masked), with the same exit
//! code and no "in use" error; `sync` goes through the server's engine; a prune is confirmed
//! at the client's own terminal; a read-only client cannot apply; and a client killed during
//! an apply leaves the apply to finish on the server, recorded in the timeline.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;

/// Text with the times that differ between two runs of the same command masked: RFC 3339
/// times (`2026-11-28T07:40:00Z`) and ages (`3s ago`).
fn mask(text: &str) -> String {
    let bytes = text.as_bytes();
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let rfc3339 = (0..20).all(|k| match k {
            4 | 7 => bytes.get(i + k) == Some(&b'-'),
            10 => bytes.get(i + k) == Some(&b'T'),
            13 | 16 => bytes.get(i + k) == Some(&b':'),
            19 => bytes.get(i + k) == Some(&b'Z'),
            _ => digit(i + k),
        });
        if rfc3339 {
            out.push_str("<time>");
            i += 20;
            continue;
        }
        if digit(i) && (i == 0 || !digit(i - 1)) {
            let end = (i..bytes.len()).find(|&j| !digit(j)).unwrap_or(bytes.len());
            if text[end..].len() >= 5
                && b"smhd".contains(&bytes[end])
                && text[end + 1..].starts_with(" ago")
            {
                out.push_str("<age> ago");
                i = end + 5;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn ran(out: std::process::Output) -> Ran {
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `hhdash ARGS` at a terminal (a pty made by `script`), typing `typed`; stdout and stderr
/// come back together, as a terminal shows them.
fn at_terminal(command: &Command, typed: &str) -> Ran {
    let quote = |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', "'\\''"));
    let line: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(quote)
        .collect();
    let mut script = Command::new("script");
    script.args(["-qec", &line.join(" "), "/dev/null"]);
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => script.env(name, value),
            None => script.env_remove(name),
        };
    }
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), typed.as_bytes()).unwrap();
    ran(common::wait_with_deadline(
        child,
        common::COMMAND_DEADLINE,
        "hhdash at a terminal",
    ))
}

/// Waits until `done` holds for a fresh `run()`, or fails with the last run.
fn eventually(what: &str, mut run: impl FnMut() -> Ran, done: impl Fn(&Ran) -> bool) -> Ran {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let last = run();
        if done(&last) {
            return last;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: never happened\n{last:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_attached_to_a_serve_print_what_they_print_in_process() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "serve-cli";
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, ns, "sc");
    let dir = temp.path();
    let command = |args: &[&str]| common::hhdash_command(dir, &config, args);
    let run = |args: &[&str]| ran(common::hhdash(dir, &config, args));
    let mut everything = Vec::new();

    // In-process, before any server: the answers to compare with.
    let sync = run(&["sync"]);
    assert_eq!(sync.code, Some(0), "{sync:?}");
    plane
        .apply_objects(&testenv::fixtures::demo_gitops_wiring(ns))
        .await
        .unwrap();
    let compared: [&[&str]; 5] = [
        &["apply", "sc", "--dry-run"],
        &["diff", "sc"],
        &["diff", "sc", "--json"],
        &["inspect", "sc"],
        &["history", "sc"],
    ];
    let here: Vec<Ran> = compared.iter().map(|args| run(args)).collect();
    assert_eq!(here[1].code, Some(1), "8 objects missing: {:?}", here[1]);
    // Everything recorded so far is at or before `before`; the server's lines come after.
    std::thread::sleep(Duration::from_millis(1100));
    let before = hhdash::status::format_rfc3339(hhdash::status::now());
    std::thread::sleep(Duration::from_millis(1100));

    let mut serve = command(&["serve"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut serving = common::StdoutLines::of(&mut serve);
    let serve = common::KillOnDrop::new(serve);
    assert!(
        serving.read_until(Duration::from_secs(60), |lines| lines
            .iter()
            .any(|l| l.starts_with("serving 1 fabric(s) on "))),
        "{:?}",
        serving.seen
    );

    // The same commands, asked of the server: the same output and exit code.
    let attached = run(&["sync"]);
    assert_eq!(
        (attached.code, &attached.stdout),
        (sync.code, &sync.stdout),
        "{attached:?}"
    );
    for (args, here) in compared.iter().zip(&here) {
        let mut args = args.to_vec();
        if args[0] == "history" {
            args.extend(["--until", &before]);
        }
        let attached = run(&args);
        assert_eq!(
            (attached.code, mask(&attached.stdout)),
            (here.code, mask(&here.stdout)),
            "{args:?} attached:\n{attached:?}\nin-process:\n{here:?}"
        );
        everything.push(attached);
    }

    // A read-only client may not apply, not even a dry run.
    let refused = run(&["--read-only", "apply", "sc", "--dry-run"]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("this client attached read-only: the server refuses its applies"),
        "{refused:?}"
    );
    assert!(!refused.stdout.contains("ok"), "{refused:?}");

    // A client killed during its apply: the server finishes it and records every object.
    let mut apply = command(&["apply", "sc"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut applying = common::StdoutLines::of(&mut apply);
    let apply = common::KillOnDrop::new(apply);
    assert!(
        applying.read_until(Duration::from_secs(60), |lines| lines
            .iter()
            .any(|l| l.contains("apply  ok"))),
        "{:?}",
        applying.seen
    );
    common::send_signal(apply.id(), libc::SIGKILL);
    drop(apply);
    let applied = eventually(
        "the killed client's apply finished on the server",
        || run(&["history", "sc", "--kind", "apply"]),
        |r| r.stdout.lines().filter(|l| l.contains("Apply ")).count() == 8,
    );
    everything.push(applied);
    let in_sync = run(&["diff", "sc"]);
    assert_eq!(in_sync.code, Some(0), "{in_sync:?}");

    // A new commit without the VPCPeering, synced through the server's engine: what the
    // commands see next is that commit.
    let demo = common::demo_files(ns)
        .into_iter()
        .find(|(path, _)| path == "env-1/demo.yaml")
        .unwrap();
    let text = String::from_utf8(demo.1).unwrap();
    let without: Vec<&str> = text
        .split("\n---\n")
        .filter(|doc| !doc.contains("kind: VPCPeering"))
        .collect();
    let commit = common::commit_files(
        &dir.join("repo"),
        &[("env-1/demo.yaml", without.join("\n---\n").as_bytes())],
        "no peering of vpc-1 and vpc-2",
    );
    let synced = run(&["sync"]);
    assert_eq!(synced.code, Some(0), "{synced:?}");
    assert!(synced.stdout.contains(&commit[..8]), "{synced:?}");
    let orphan = run(&["diff", "sc"]);
    assert_eq!(orphan.code, Some(1), "{orphan:?}");
    assert!(
        orphan.stdout.contains(&format!("Git {}", &commit[..8])),
        "{orphan:?}"
    );
    assert!(
        orphan.stdout.contains("- demo-vpc-1--demo-vpc-2  Orphan"),
        "{orphan:?}"
    );

    // The prune is confirmed at the client's terminal: "no" and no terminal refuse it.
    let prune = ["apply", "sc", "--prune"];
    let no = at_terminal(&command(&prune), "no\n");
    assert_eq!(no.code, Some(2), "{no:?}");
    assert!(
        no.stdout
            .contains("Delete these objects from the cluster? Type yes to continue: "),
        "{no:?}"
    );
    assert!(no.stdout.contains("prune not confirmed"), "{no:?}");
    let no_terminal = run(&prune);
    assert_eq!(no_terminal.code, Some(2), "{no_terminal:?}");
    assert!(
        no_terminal.stderr.contains("prune not confirmed"),
        "{no_terminal:?}"
    );
    assert!(!no_terminal.stdout.contains("Type yes"), "{no_terminal:?}");
    let yes = at_terminal(&command(&prune), "yes\n");
    assert_eq!(yes.code, Some(0), "{yes:?}");
    assert!(
        yes.stdout
            .contains("prune  ok     VPCPeering/demo-vpc-1--demo-vpc-2"),
        "{yes:?}"
    );

    // `status` attached, then in-process once the server has stopped: the same.
    let status_attached = [run(&["status"]), run(&["status", "--json"])];
    common::send_signal(serve.id(), common::SIGTERM);
    let stopped = serve.wait(Duration::from_secs(30), "hhdash serve");
    assert!(stopped.status.success(), "{stopped:?}");
    for (attached, args) in status_attached
        .iter()
        .zip([&["status"][..], &["status", "--json"]])
    {
        // The one change the stop made to the store: the engine recorded its watch stopped.
        let mut here = run(args);
        here.stdout = here.stdout.replace("Stopped", "Active");
        assert_eq!(
            (attached.code, mask(&attached.stdout)),
            (here.code, mask(&here.stdout)),
            "{args:?} attached:\n{attached:?}\nin-process:\n{here:?}"
        );
    }
    everything.extend(status_attached);
    everything.extend([refused, synced, orphan, no, no_terminal, yes]);
    for ran in &everything {
        assert!(!ran.stderr.contains("in use"), "{ran:?}");
        assert!(!ran.stderr.contains("waiting for the store"), "{ran:?}");
    }
}

#[test]
fn times_are_masked_and_nothing_else() {
    assert_eq!(
        mask("synced 3s ago at 2026-11-28T07:40:00Z; 12 object(s), 5m ago"),
        "synced <age> ago at <time>; 12 object(s), <age> ago"
    );
}
