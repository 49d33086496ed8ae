//! End to end: the real `hhdash` binary in tmux against the real control plane (testenv) and a
//! real Git repository. It connects, syncs on `s`, applies everything on `A` after the confirm
//! dialog, shows a change made by another client as drift in the table and the event pane,
//! opens the diff on `enter`, and quits on `q` with the terminal restored. `hhdash --read-only`
//! refuses `A`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams};

/// One tmux server of our own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str, home: &Path) -> Tmux {
        let socket = format!(
            "hhdash-e2e-{}-{}",
            std::process::id(),
            home.display().to_string().len() ^ rand_suffix()
        );
        let tmux = Tmux { socket };
        let status = Command::new("tmux")
            .args([
                "-L",
                &tmux.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "45",
            ])
            .arg("-e")
            .arg(format!("HOME={}", home.display()))
            .args(["-e", "TERM=xterm-256color"])
            .arg(command)
            .status()
            .expect("tmux runs (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            let status = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "0", key])
                .status()
                .unwrap();
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// The screen with its styles as SGR escape sequences (`capture-pane -e`).
    fn styled_screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-e", "-t", "0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn alternate_screen_on(&self) -> bool {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display-message",
                "-p",
                "-t",
                "0",
                "#{alternate_on}",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Waits until the screen satisfies `want`; on timeout fails showing the screen.
    fn wait(&self, secs: u64, what: &str, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if want(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn rand_suffix() -> usize {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// `hhdash <global> --config … <command>`: `command` may be empty (the dashboard is the default).
fn dashboard_command(
    config: &Path,
    store: &Path,
    log: &Path,
    global: &str,
    command: &str,
) -> String {
    format!(
        "{} {global} --config {} --store {} --log-file {} {command}; echo \"hhdash exited $?\"; sleep 120",
        env!("CARGO_BIN_EXE_hhdash"),
        config.display(),
        store.display(),
        log.display()
    )
}

fn setup(ns: &str, plane: &testenv::ControlPlane) -> (tempfile::TempDir, PathBuf) {
    let (temp, config) = common::demo_fabric(plane, ns, "e2e");
    // No polling: the desired state arrives only when the operator presses `s`.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("poll_interval_secs = 0\n");
    std::fs::write(&config, text).unwrap();
    std::fs::create_dir_all(temp.path().join("home")).unwrap();
    (temp, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_syncs_applies_sees_drift_and_quits_cleanly() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "e2e";
    plane.grant(ns).await.unwrap();
    let (temp, config) = setup(ns, plane);
    let tmux = Tmux::start(
        &dashboard_command(
            &config,
            &temp.path().join("store.redb"),
            &temp.path().join("log"),
            "",
            "ui",
        ),
        &temp.path().join("home"),
    );

    // It connects and the watch goes live, before anything is synced.
    tmux.wait(30, "the fabric to connect and watch", |s| {
        s.contains("Connected") && s.contains("Active")
    });

    // `s` syncs Git: the VPCs appear, Missing.
    tmux.keys(&[":", "vpc", "Enter"]);
    tmux.keys(&["s"]);
    tmux.wait(30, "synced VPCs shown Missing", |s| {
        s.contains("demo-vpc-3") && s.contains("Missing")
    });

    // `A` opens a confirmation listing what will change; `y` applies; everything goes Live and InSync.
    tmux.keys(&["A"]);
    let apply_all = format!("Apply {} object(s) from Git", common::DEMO_OBJECTS);
    let dialog = tmux.wait(10, "the confirm dialog", |s| s.contains(&apply_all));
    assert!(
        dialog.contains("demo-vpc-1"),
        "the dialog lists the objects:\n{dialog}"
    );
    tmux.keys(&["y"]);
    tmux.wait(30, "VPCs Live and InSync", |s| {
        s.matches("✓ InSync    ● Live").count() == 3 && s.contains("drifted 0 missing 0 orphan 0")
    });

    // Another client changes a VLAN: the table shows Drifted and the event pane says where.
    let vpcs = common::admin_api(plane, "VPC", ns);
    let patch = serde_json::json!({"spec": {"subnets": {"subnet-1": {"vlan": 1999}}}});
    vpcs.patch("demo-vpc-3", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let screen = tmux.wait(15, "the drift in table and event pane", |s| {
        s.contains("Drifted") && s.contains("spec.subnets.subnet-1.vlan")
    });
    assert!(
        screen.contains("1131") && screen.contains("1999"),
        "both values shown:\n{screen}"
    );

    // `enter` on the drifted row opens the detail with the diff.
    tmux.keys(&["/", "demo-vpc-3", "Enter", "Enter"]);
    let detail = tmux.wait(10, "the detail view", |s| {
        s.contains("spec.subnets.subnet-1.vlan") && s.contains("env-1/demo.yaml")
    });
    assert!(detail.contains("1999"), "{detail}");

    // `A` then `y` applies without forcing: the VLAN now belongs to the other client's field
    // manager, so the server reports a conflict and nothing changes.
    tmux.keys(&["Escape", "Escape", "A", "y"]);
    tmux.wait(20, "the conflict reported", |s| s.contains("conflict"));
    let live = vpcs.get("demo-vpc-3").await.unwrap();
    assert_eq!(live.data["spec"]["subnets"]["subnet-1"]["vlan"], 1999);
    // `A` then `F` is the explicit choice to take the field back: Git wins, InSync again.
    tmux.keys(&["A", "F"]);
    tmux.wait(20, "demo-vpc-3 back in sync", |s| {
        s.contains("drifted 0 missing 0 orphan 0")
    });
    let live = vpcs.get("demo-vpc-3").await.unwrap();
    assert_eq!(live.data["spec"]["subnets"]["subnet-1"]["vlan"], 1131);

    // `q` quits; the terminal is restored.
    tmux.keys(&["q"]);
    tmux.wait(10, "hhdash to exit 0", |s| s.contains("hhdash exited 0"));
    assert!(
        !tmux.alternate_screen_on(),
        "the alternate screen was left on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_level_read_only_refuses_every_write() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "e2e-ro";
    plane.grant(ns).await.unwrap();
    let (temp, config) = setup(ns, plane);
    let tmux = Tmux::start(
        &dashboard_command(
            &config,
            &temp.path().join("store.redb"),
            &temp.path().join("log"),
            // The top-level flag, with no command: `hhdash --read-only`.
            "--read-only",
            "",
        ),
        &temp.path().join("home"),
    );
    tmux.wait(30, "the fabric to connect", |s| {
        s.contains("Connected") && s.contains("Active")
    });
    tmux.keys(&[":", "vpc", "Enter", "s"]);
    tmux.wait(30, "synced VPCs", |s| {
        s.contains("demo-vpc-3") && s.contains("Missing")
    });
    // Every write key an operator might try, the confirm dialog's answers included: `A` then
    // `y`, `F`, and `a` on a Missing VPC.
    tmux.keys(&["A", "y", "F", "/", "demo-vpc-1", "Enter", "a", "Escape"]);
    // A round trip through the engine (`c` tests the connection), so anything sent before it
    // has been handled by the time its notice shows.
    tmux.keys(&["c"]);
    tmux.wait(15, "the connection test answered", |s| {
        s.contains("connection test done")
    });
    // Nothing reached the cluster.
    let vpcs = common::admin_api(plane, "VPC", ns);
    let live = vpcs.list(&Default::default()).await.unwrap().items;
    assert!(
        live.is_empty(),
        "read-only mode wrote {} VPC(s) to the cluster",
        live.len()
    );
    // And the operator is told why: a notice, no dialog.
    tmux.keys(&["A"]);
    let screen = tmux.wait(10, "the read-only notice", |s| s.contains("read-only mode"));
    assert!(
        !screen.contains(&format!("Apply {} object(s)", common::DEMO_OBJECTS)),
        "no confirm dialog in read-only mode:\n{screen}"
    );
    tmux.keys(&["q"]);
    tmux.wait(10, "hhdash to exit 0", |s| s.contains("hhdash exited 0"));
}

/// The SGR parameters of `styled` that set a foreground or background colour (not the
/// defaults 39/49).
fn colour_codes(styled: &str) -> Vec<String> {
    let mut found = Vec::new();
    for sequence in styled.split("\x1b[").skip(1) {
        let Some(end) = sequence.find('m') else {
            continue;
        };
        let params = &sequence[..end];
        if !params.chars().all(|c| c.is_ascii_digit() || c == ';') {
            continue;
        }
        let codes = params.split(';').filter_map(|p| p.parse::<u32>().ok());
        for code in codes {
            match code {
                38 | 48 => {
                    found.push(params.to_string());
                    break;
                }
                30..=37 | 40..=47 | 90..=97 | 100..=107 => found.push(params.to_string()),
                _ => {}
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_color_draws_the_dashboard_without_colour() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "e2e-nocolor";
    plane.grant(ns).await.unwrap();
    let (temp, config) = setup(ns, plane);
    let start = |env: &str, store: &str| {
        let command = dashboard_command(
            &config,
            &temp.path().join(store),
            &temp.path().join(format!("{store}.log")),
            "",
            "",
        );
        Tmux::start(&format!("{env} {command}"), &temp.path().join("home"))
    };
    let coloured = start("env -u NO_COLOR", "coloured.redb");
    let plain = start("env NO_COLOR=1", "plain.redb");
    for tmux in [&coloured, &plain] {
        tmux.wait(30, "the fabric connected and watched", |s| {
            s.contains("Connected") && s.contains("Active")
        });
        // Synced and not applied: the VPCs are Missing, bad news in red (or bold).
        tmux.keys(&[":", "vpc", "Enter", "s"]);
        tmux.wait(30, "synced VPCs shown Missing", |s| {
            s.contains("demo-vpc-3") && s.contains("Missing")
        });
    }
    // The same dashboard: with colour by default, without any under NO_COLOR.
    let styled = coloured.styled_screen();
    assert!(
        !colour_codes(&styled).is_empty(),
        "the default dashboard has colours:\n{styled:?}"
    );
    let styled = plain.styled_screen();
    assert_eq!(
        colour_codes(&styled),
        Vec::<String>::new(),
        "NO_COLOR=1 leaves no colour on screen"
    );
    // Without colour, what colour would mark is still marked: bad news (Missing) in bold,
    // the focused table's border in bold.
    assert!(
        styled.contains(" demo-vpc-3 \x1b[1m✗ Missing"),
        "Missing in bold:\n{styled:?}"
    );
    assert!(
        styled.contains("\x1b[1m┃"),
        "the focused border in bold:\n{styled:?}"
    );
}
