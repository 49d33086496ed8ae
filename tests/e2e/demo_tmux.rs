//! `scripts/demo` end to end, as a user runs it: in a real terminal (tmux), it reaches a live
//! dashboard with the simulated switches and gateway Ready and the example gateway in its views (Gateway,
//! GatewayPeering with its NAT), and quitting (the `q` key, or SIGTERM to the demo) leaves no
//! process behind and removes its temp dirs.
//!
//! Each test runs its own tmux server (`-L`), so it never touches the user's sessions.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use testenv::support::Tmux;

/// Every process below `root` (pid → command line), from /proc.
fn descendants(root: u32) -> HashMap<u32, String> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name may contain spaces and parentheses; fields resume after the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        if let Some(ppid) = rest.split(' ').nth(1).and_then(|p| p.parse().ok()) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = HashMap::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.insert(child, cmdline);
            queue.push(child);
        }
    }
    found
}

fn alive(pid: u32) -> bool {
    // A zombie has exited; only its parent's reaping is left.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// The temp dir holding the file named after `marker` in some process's command line
/// (`--config /tmp/hhdash-demo-…/config.toml`, `--data-dir=/tmp/hhdash-testenv-…/etcd-data`).
fn dir_from_args(processes: &HashMap<u32, String>, marker: &str) -> PathBuf {
    let cmd = processes
        .values()
        .find(|c| c.contains(marker))
        .unwrap_or_else(|| panic!("{marker} in {processes:#?}"));
    let start = cmd.find(marker).unwrap() + marker.len();
    let file = Path::new(cmd[start..].split_whitespace().next().unwrap());
    file.parent().unwrap().to_path_buf()
}

/// Starts `scripts/demo` in tmux and waits for the live dashboard. Returns the session, the
/// processes it started and the screen.
fn demo_until_dashboard(name: &str) -> (Tmux, HashMap<u32, String>, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The target dir this test was built in, so the demo reuses the same build.
    let target = Path::new(env!("CARGO_BIN_EXE_hhdash"))
        .parent()
        .and_then(Path::parent)
        .unwrap();
    let command = format!(
        "cd '{}' && env CARGO_TARGET_DIR='{}' scripts/demo --seed 5; echo DEMO-EXIT=$?; sleep 300",
        root.display(),
        target.display()
    );
    let started = Instant::now();
    let tmux = Tmux::start(name, (200, 50), &[], &command);
    // Generous: the first run may build the demo binary.
    // The example's six switches and its gateway, every agent Ready.
    let screen = tmux.wait_with_scrollback(600, "live dashboard with 7 Ready agents", |s| {
        s.contains("Ready 7/7") && s.contains("Fabrics") && s.contains("demo")
    });
    eprintln!(
        "{name}: dashboard live {:.1?} after start",
        started.elapsed()
    );
    let processes = descendants(tmux.pane_pid());
    for needed in ["debug/demo", "debug/hhdash", "kube-apiserver", "etcd"] {
        assert!(
            processes.values().any(|c| c.contains(needed)),
            "{needed} among {processes:#?}"
        );
    }
    (tmux, processes, screen)
}

/// After the demo printed its exit code: nothing it started runs, its temp dirs are gone.
fn assert_cleaned_up(tmux: &Tmux, processes: &HashMap<u32, String>) -> String {
    let screen = tmux.wait_with_scrollback(30, "the demo's exit", |s| s.contains("DEMO-EXIT="));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<&String> = processes
            .iter()
            .filter(|(pid, _)| alive(**pid))
            .map(|(_, cmd)| cmd)
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running after the demo: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for marker in ["--config ", "--data-dir="] {
        let dir = dir_from_args(processes, marker);
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
    assert!(
        screen.contains("kube-apiserver and etcd stopped"),
        "{screen}"
    );
    screen
}

#[test]
fn the_demo_reaches_a_live_dashboard_and_q_leaves_nothing_behind() {
    let (tmux, processes, _) = demo_until_dashboard("quit");
    // The example fabric's gateway, applied and live, each in its view with its columns.
    tmux.keys(&[":", "gw", "Enter"]);
    tmux.wait(30, "the Gateway view with gateway-1 live", |s| {
        s.contains("Gateway · demo · 1 row")
            && s.contains("ProtoIP")
            && s.contains("Neighbors")
            && s.contains("gateway-1")
            && s.contains("65534")
            && s.contains("172.30.8.6/32")
            && s.contains("● Live")
    });
    tmux.keys(&[":", "gwpeer", "Enter"]);
    tmux.wait(30, "the GatewayPeering view with its NAT", |s| {
        s.contains("GatewayPeering · demo · 1 row")
            && s.contains("NAT")
            && s.contains("db--mgmt")
            && s.contains("mgmt:masquerade")
    });
    tmux.keys(&["q"]);
    let screen = assert_cleaned_up(&tmux, &processes);
    assert!(screen.contains("DEMO-EXIT=0"), "{screen}");
    // Back on the normal screen: the banner said where things were.
    for line in [
        "Git repo",
        "simulator",
        "config",
        "press s in the dashboard",
    ] {
        assert!(screen.contains(line), "{line} in the banner:\n{screen}");
    }
}

#[test]
fn sigterm_to_the_demo_stops_everything_too() {
    let (tmux, processes, _) = demo_until_dashboard("term");
    let demo = processes
        .iter()
        .find(|(_, cmd)| cmd.contains("debug/demo"))
        .map(|(pid, _)| *pid)
        .unwrap();
    common::send_signal(demo, common::SIGTERM);
    let screen = assert_cleaned_up(&tmux, &processes);
    assert!(
        screen.contains("SIGTERM: stopped the dashboard"),
        "{screen}"
    );
}
