//! End to end: the real `hhdash` binary in tmux against the real control plane (testenv) and a
//! real Git repository. It connects, syncs on `s`, applies everything on `A` after the confirm
//! dialog, shows a change made by another client as drift in the table and the event pane,
//! opens the diff on `enter`, and quits on `q` with the terminal restored. `--read-only`
//! refuses `A`.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams};
use testenv::support::Tmux;

/// A 160×45 terminal running `command` with `home` as HOME and a 256-colour TERM.
fn start_terminal(command: &str, home: &Path) -> Tmux {
    let env = [
        format!("HOME={}", home.display()),
        "TERM=xterm-256color".to_string(),
    ];
    Tmux::start("e2e", (160, 45), &env, command)
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

/// A namespace `ns` of the shared control plane and a temp dir (with a `home`) holding the demo
/// fabric's repository and a config that does not poll.
async fn setup(ns: &str) -> (&'static testenv::ControlPlane, tempfile::TempDir, PathBuf) {
    let plane = testenv::shared().await.expect("control plane");
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, ns, "e2e");
    // No polling: the desired state arrives only when the operator presses `s`.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("poll_interval_secs = 0\n");
    std::fs::write(&config, text).unwrap();
    std::fs::create_dir_all(temp.path().join("home")).unwrap();
    (plane, temp, config)
}

/// The dashboard in tmux, its store and log in `temp`, once its fabric is connected and the
/// watch is live.
fn start_connected_dashboard(temp: &Path, config: &Path, global: &str, command: &str) -> Tmux {
    let tmux = start_terminal(
        &dashboard_command(
            config,
            &temp.join("store.redb"),
            &temp.join("log"),
            global,
            command,
        ),
        &temp.join("home"),
    );
    tmux.wait(30, "the fabric to connect and watch", |s| {
        s.contains("Connected") && s.contains("Active")
    });
    tmux
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_syncs_applies_sees_drift_and_quits_cleanly() {
    let ns = "e2e";
    let (plane, temp, config) = setup(ns).await;
    // It connects and the watch goes live, before anything is synced.
    let tmux = start_connected_dashboard(temp.path(), &config, "", "ui");

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
    tmux.escape("the detail closed", |s| !s.contains("esc back"));
    tmux.escape("the filter cleared", |s| s.contains("filter cleared"));
    tmux.keys(&["A", "y"]);
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

    // `a` applies just the selected object: another client deletes the ExternalPeering (nothing
    // refers to it), it turns Missing, and `a` on it brings it back.
    let peerings = common::admin_api(plane, "ExternalPeering", ns);
    peerings
        .delete("demo-vpc-1--default", &Default::default())
        .await
        .unwrap();
    tmux.keys(&[":", "extpeering", "Enter"]);
    tmux.wait(15, "the peering Missing", |s| {
        s.contains("demo-vpc-1--default") && s.contains("Missing")
    });
    tmux.keys(&["a"]);
    tmux.wait(20, "the peering applied again", |s| {
        s.contains("demo-vpc-1--default") && s.contains("drifted 0 missing 0 orphan 0")
    });
    assert!(
        peerings
            .get_opt("demo-vpc-1--default")
            .await
            .unwrap()
            .is_some(),
        "`a` applied the selected object"
    );

    // `q` quits; the terminal is restored.
    tmux.keys(&["q"]);
    tmux.wait(10, "hhdash to exit 0", |s| s.contains("hhdash exited 0"));
    assert!(
        !tmux.alternate_screen_on(),
        "the alternate screen was left on"
    );
}

/// `H` opens the History view of the real engine's timeline: a change made by another client
/// is there (its drift entry), `/` narrows to the object, `enter` opens the object's detail,
/// `esc` comes back to the History view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_view_lists_the_timeline_and_opens_an_object() {
    let ns = "e2e-history";
    let (plane, temp, config) = setup(ns).await;
    let tmux = start_connected_dashboard(temp.path(), &config, "", "ui");
    tmux.keys(&[":", "vpc", "Enter", "s"]);
    tmux.wait(30, "synced VPCs shown Missing", |s| {
        s.contains("demo-vpc-3") && s.contains("Missing")
    });
    tmux.keys(&["A", "y"]);
    tmux.wait(30, "everything applied", |s| {
        s.contains("drifted 0 missing 0 orphan 0")
    });
    let vpcs = common::admin_api(plane, "VPC", ns);
    let patch = serde_json::json!({"spec": {"subnets": {"subnet-1": {"vlan": 1999}}}});
    vpcs.patch("demo-vpc-3", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    tmux.wait(15, "the drift in the table", |s| s.contains("Drifted"));

    tmux.keys(&["H"]);
    let screen = tmux.wait(15, "the History view with the drift entry", |s| {
        s.contains("TIME (UTC)") && s.contains("InSync → Drifted")
    });
    assert!(
        screen.contains("History · e2e ·") && screen.contains("VPC/demo-vpc-3"),
        "the timeline names the fabric and the object:\n{screen}"
    );
    tmux.keys(&["/", "demo-vpc-3", "Enter"]);
    tmux.wait(10, "the History view filtered", |s| {
        s.contains("last 24h · /demo-vpc-3")
    });
    tmux.keys(&["Enter"]);
    let detail = tmux.wait(10, "the object's detail", |s| {
        s.contains("VPC demo-vpc-3") && s.contains("esc back")
    });
    assert!(
        detail.contains("spec.subnets.subnet-1.vlan: 1131 → 1999"),
        "the detail shows the drift:\n{detail}"
    );
    tmux.escape("back to the History view", |s| {
        s.contains("TIME (UTC)") && !s.contains("esc back")
    });
    tmux.keys(&["q"]);
    tmux.wait(10, "hhdash to exit 0", |s| s.contains("hhdash exited 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_level_read_only_refuses_every_write() {
    let ns = "e2e-ro";
    let (plane, temp, config) = setup(ns).await;
    // The top-level flag, with no command: `hhdash --read-only`.
    let tmux = start_connected_dashboard(temp.path(), &config, "--read-only", "");
    tmux.keys(&[":", "vpc", "Enter", "s"]);
    tmux.wait(30, "synced VPCs", |s| {
        s.contains("demo-vpc-3") && s.contains("Missing")
    });
    // Every write key an operator might try, the confirm dialog's answers included: `A` then
    // `y`, `F`, and `a` on a Missing VPC.
    tmux.keys(&["A", "y", "F", "/", "demo-vpc-1", "Enter", "a"]);
    tmux.escape("the filter cleared", |s| s.contains("filter cleared"));
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

/// An sshd of our own on a loopback port: throwaway host key, one authorized key made here,
/// killed on drop. Fails loudly when OpenSSH is not installed (`.ci/run` installs it).
struct Sshd {
    port: u16,
    key: PathBuf,
    process: std::process::Child,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn ssh_keygen(path: &Path) {
    let out = common::run_with_deadline(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(path),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "ssh-keygen (apt-get install openssh-client): {}",
        common::output_text(&out)
    );
}

impl Sshd {
    fn start(dir: &Path) -> Sshd {
        let sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("sshd is installed (apt-get install openssh-server; .ci/run does)");
        std::fs::create_dir_all(dir).unwrap();
        let host_key = dir.join("host_key");
        let key = dir.join("client_key");
        ssh_keygen(&host_key);
        ssh_keygen(&key);
        let authorized = dir.join("authorized_keys");
        std::fs::copy(key.with_extension("pub"), &authorized).unwrap();
        // sshd running as root insists on its privilege separation directory.
        if !Path::new("/run/sshd").exists() {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        // Any port the kernel hands out; should another process take it before sshd binds,
        // sshd exits and the wait below fails saying so.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
                 PidFile {}\nUsePAM no\nStrictModes no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin yes\n\
                 PermitUserEnvironment no\nLogLevel VERBOSE\n",
                host_key.display(),
                authorized.display(),
                dir.join("sshd.pid").display()
            ),
        )
        .unwrap();
        let log = dir.join("sshd.log");
        let mut sshd = Sshd {
            port,
            key,
            process: Command::new(sshd)
                .args(["-D", "-f"])
                .arg(&config)
                .arg("-E")
                .arg(&log)
                .stdin(std::process::Stdio::null())
                .spawn()
                .expect("sshd starts"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                sshd.process.try_wait().unwrap().is_none() && Instant::now() < deadline,
                "sshd did not listen on 127.0.0.1:{port}; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        sshd
    }

    /// `ssh -t` to this server as the current user, running `remote`.
    fn command(&self, remote: &str) -> String {
        format!(
            "ssh -t -p {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
             -o BatchMode=yes -o LogLevel=ERROR -i {} 127.0.0.1 '{remote}'",
            self.port,
            self.key.display()
        )
    }
}

/// Pids of live (not zombie) processes whose first argument is `program` and whose command
/// line contains `marker`.
fn processes_running(program: &str, marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let zombie = std::fs::read_to_string(entry.path().join("stat")).is_ok_and(|stat| {
            stat.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        });
        if !zombie && args[0] == program && args.iter().any(|a| a.contains(marker)) {
            found.push(pid);
        }
    }
    found
}

/// The way operators use hhdash: over SSH, in tmux. The dashboard draws through the session,
/// follows a window resize, its OSC 52 copy reaches the outer terminal, and a dropped
/// connection (the ssh client killed: SIGHUP on the far side) ends it with the store intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_ssh_it_draws_resizes_copies_and_ends_on_hangup() {
    let ns = "e2e-ssh";
    let (_, temp, config) = setup(ns).await;
    let sshd = Sshd::start(&temp.path().join("sshd"));
    let store = temp.path().join("store.redb");
    let hhdash = env!("CARGO_BIN_EXE_hhdash");
    let remote = format!(
        "env HOME={} {hhdash} --config {} --store {} --log-file {} ui",
        temp.path().join("home").display(),
        config.display(),
        store.display(),
        temp.path().join("log").display()
    );
    let tmux = start_terminal(
        &format!(
            "{}; echo \"ssh exited $?\"; sleep 120",
            sshd.command(&remote)
        ),
        &temp.path().join("home"),
    );

    // The dashboard draws through the session.
    tmux.wait(60, "the dashboard over ssh, connected", |s| {
        s.contains("Connected") && s.contains("Active") && s.contains("? help")
    });
    let dashboards = processes_running(hhdash, &store.display().to_string());
    assert_eq!(
        dashboards.len(),
        1,
        "one hhdash behind sshd: {dashboards:?}"
    );

    // A resize reaches it through ssh (SIGWINCH, window-change) and it redraws to the new
    // width: the table's bottom-right corner sits in column 200, beyond the old 160.
    tmux.run(&[
        "resize-window",
        "-t",
        tmux.target(),
        "-x",
        "200",
        "-y",
        "50",
    ]);
    tmux.wait(20, "a redraw at 200 columns", |s| {
        s.lines()
            .any(|l| l.ends_with('┛') && l.chars().count() == 200)
    });

    // `Y` on a VPC: the YAML goes out as OSC 52 through ssh and tmux takes it as a buffer.
    tmux.keys(&[":", "vpc", "Enter", "s"]);
    tmux.wait(30, "synced VPCs", |s| s.contains("demo-vpc-1"));
    tmux.keys(&["Y"]);
    tmux.wait(10, "the copy notice", |s| s.contains("copied YAML"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let copied = loop {
        let buffers = tmux.run(&["list-buffers", "-F", "#{buffer_name}"]);
        if !buffers.trim().is_empty() {
            break tmux.run(&["show-buffer"]);
        }
        assert!(
            Instant::now() < deadline,
            "no OSC 52 reached tmux (no paste buffer); screen:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        copied.contains("kind: VPC") && copied.contains("name: demo-vpc-"),
        "the YAML of a VPC was copied:\n{copied}"
    );

    // Killing the ssh client drops the connection: sshd hangs up the far terminal, hhdash
    // gets SIGHUP, restores and ends; nothing is left running and the store opens again.
    let clients = processes_running("ssh", &sshd.port.to_string());
    assert_eq!(clients.len(), 1, "one ssh client: {clients:?}");
    common::send_signal(clients[0], 9);
    tmux.wait(20, "the ssh client gone", |s| s.contains("ssh exited"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = processes_running(hhdash, &store.display().to_string());
        if left.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            for pid in &left {
                common::send_signal(*pid, 9);
            }
        }
        assert!(
            Instant::now() < deadline,
            "hhdash still running 20 s after the ssh connection dropped: {left:?} (killed now); its log:\n{}",
            std::fs::read_to_string(temp.path().join("log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = common::run_with_deadline(
        Command::new(hhdash)
            .env("HOME", temp.path().join("home"))
            .arg("--config")
            .arg(&config)
            .arg("--store")
            .arg(&store)
            .arg("status"),
        common::COMMAND_DEADLINE,
    );
    let text = common::output_text(&status);
    assert!(status.status.success(), "the store reopens: {text}");
    assert!(text.contains("e2e"), "status shows the fabric: {text}");
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
    let ns = "e2e-nocolor";
    let (_, temp, config) = setup(ns).await;
    let start = |env: &str, store: &str| {
        let command = dashboard_command(
            &config,
            &temp.path().join(store),
            &temp.path().join(format!("{store}.log")),
            "",
            "",
        );
        start_terminal(&format!("{env} {command}"), &temp.path().join("home"))
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
