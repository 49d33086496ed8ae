//! `demo`: the whole hhdash story on one machine. Starts a real control plane (testenv) with
//! the Hedgehog CRDs, makes a real Git repository from `examples/fabric`, writes an hhdash
//! config for both, syncs and applies the fabric, commits one more VPC without applying it (so
//! there is something to apply), starts the fabric simulator (switch agents, faults, drift on a
//! schedule) and opens the hhdash dashboard in the foreground.
//!
//! When the dashboard exits, or on Ctrl-C/SIGTERM/SIGHUP at any point, everything it started
//! stops (simulator, kube-apiserver, etcd, hhdash) and its temp dirs are removed (`--keep`
//! keeps the state dir). Run it through `scripts/demo`, which builds what it needs first.

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use testenv::sim::{SimConfig, SimEvent, Simulator};
use testenv::{ControlPlane, Identity, Options};
use tokio::signal::unix::{Signal, SignalKind, signal};

#[derive(Debug, Parser)]
#[command(
    name = "demo",
    about = "Run hhdash against a local control plane, a Git repo and a simulated fabric"
)]
struct Args {
    /// The hhdash binary [default: next to this program]
    #[arg(long)]
    hhdash: Option<PathBuf>,
    /// Seed of the simulator's decisions (which switch fails, which edit drifts)
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// An out-of-band edit (drift) this often; 0 = none
    #[arg(long, default_value_t = 45)]
    drift_every_secs: u64,
    /// A switch goes silent (Stale after 60 s) this often; 0 = never
    #[arg(long, default_value_t = 60)]
    stale_every_secs: u64,
    /// A health fault (BGP down, miswire, flapping port, failed PSU, weak optic, resources
    /// nearly full) on a random switch this often; 0 = never
    #[arg(long, default_value_t = 30)]
    fault_every_secs: u64,
    /// How long each health fault lasts
    #[arg(long, default_value_t = 90)]
    fault_for_secs: u64,
    /// Keep the state dir (repository, config, store, logs) after the demo ends
    #[arg(long)]
    keep: bool,
    /// Set everything up and wait for Ctrl-C instead of opening the dashboard (to run hhdash
    /// yourself with the printed config)
    #[arg(long)]
    no_dashboard: bool,
    /// Run the API server bare, without testenv's imitation of the Hedgehog admission webhooks
    /// (reference checks, protected deletes, defaulting)
    #[arg(long)]
    no_webhook: bool,
    /// Arguments for hhdash after `--config FILE`; repeat for several [default: none, the
    /// dashboard]
    #[arg(long = "dashboard-arg", value_name = "ARG", allow_hyphen_values = true)]
    dashboard_args: Vec<String>,
}

/// Where the demo's files live; all inside one temp dir.
struct Paths {
    state: tempfile::TempDir,
    repo: PathBuf,
    config: PathBuf,
    hhdash_log: PathBuf,
    sim_log: PathBuf,
}

/// What setup leaves running.
struct Demo {
    plane: ControlPlane,
    paths: Paths,
    setup_time: Duration,
}

const FABRIC_DIR: &str = "fabrics/demo";

/// Runs git with a fixed identity and branch, whatever the user's git config says (the same
/// git the tests use, under the demo's name).
async fn git(repo: &Path, args: &[&str]) -> Result<(), String> {
    let mut command = tokio::process::Command::from(testenv::support::git_command(repo));
    let output = command
        .args(args)
        .env("GIT_AUTHOR_NAME", "hhdash demo")
        .env("GIT_AUTHOR_EMAIL", "demo@hhdash.invalid")
        .env("GIT_COMMITTER_NAME", "hhdash demo")
        .env("GIT_COMMITTER_EMAIL", "demo@hhdash.invalid")
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("running git (is it installed?): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<usize, String> {
    let mut copied = 0;
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("reading {}: {e}", from.display()))?;
    std::fs::create_dir_all(to).map_err(|e| format!("creating {}: {e}", to.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("reading {}: {e}", from.display()))?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copied += copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| format!("copying {}: {e}", entry.path().display()))?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// Runs hhdash with the demo's config and isolated state; fails with its output.
async fn hhdash(hhdash: &Path, paths: &Paths, args: &[&str]) -> Result<String, String> {
    let output = hhdash_command(hhdash, paths)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("running {}: {e}", hhdash.display()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        return Err(format!("hhdash {} failed:\n{text}", args.join(" ")));
    }
    Ok(text)
}

/// hhdash pointed at the demo's config, with its log, key and XDG dirs in the state dir so the
/// demo never touches the user's own hhdash files.
fn hhdash_command(hhdash: &Path, paths: &Paths) -> tokio::process::Command {
    let state = paths.state.path();
    let mut cmd = tokio::process::Command::new(hhdash);
    cmd.arg("--config")
        .arg(&paths.config)
        .env("HHDASH_LOG_FILE", &paths.hhdash_log)
        .env("HHDASH_KEY_FILE", state.join("secret.key"))
        .env("XDG_CONFIG_HOME", state.join("xdg/config"))
        .env("XDG_DATA_HOME", state.join("xdg/data"))
        .env("XDG_STATE_HOME", state.join("xdg/state"))
        .env("XDG_CACHE_HOME", state.join("xdg/cache"))
        .env_remove("HHDASH_CONFIG")
        .env_remove("HHDASH_STORE")
        .env_remove("KUBECONFIG");
    cmd
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

fn step(started: Instant, what: impl std::fmt::Display) {
    eprintln!("demo: [{:5.1}s] {what}", started.elapsed().as_secs_f64());
}

async fn setup(hhdash_bin: &Path, started: Instant, webhook: bool) -> Result<Demo, String> {
    let examples = testenv::workspace_root().join("examples");
    let fabric = examples.join("fabric");
    if !fabric.is_dir() {
        return Err(format!("{} is missing", fabric.display()));
    }

    step(
        started,
        format!(
            "starting etcd and kube-apiserver (Kubernetes {}) with the Hedgehog CRDs{}",
            testenv::KUBERNETES_VERSION,
            if webhook {
                " and an imitation of their admission webhooks"
            } else {
                " (bare: no admission webhooks)"
            }
        ),
    );
    let plane = ControlPlane::start_with(Options {
        webhook,
        ..Options::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    step(
        started,
        format!("control plane ready at {}", plane.server_url()),
    );

    let state = tempfile::Builder::new()
        .prefix("hhdash-demo-")
        .tempdir()
        .map_err(|e| format!("creating the state dir: {e}"))?;
    let paths = Paths {
        repo: state.path().join("repo"),
        config: state.path().join("config.toml"),
        hhdash_log: state.path().join("hhdash.log"),
        sim_log: state.path().join("fabric-sim.log"),
        state,
    };

    std::fs::create_dir_all(&paths.repo).map_err(|e| format!("creating the repo: {e}"))?;
    git(&paths.repo, &["init", "-q"]).await?;
    let files = copy_tree(&fabric, &paths.repo.join(FABRIC_DIR))?;
    git(&paths.repo, &["add", "-A"]).await?;
    git(
        &paths.repo,
        &[
            "commit",
            "-q",
            "-m",
            "Example fabric: 2 spines, 4 leaves, 8 servers, 3 VPCs",
        ],
    )
    .await?;
    step(
        started,
        format!(
            "Git repository with {files} files of examples/fabric at {}",
            paths.repo.display()
        ),
    );

    let config = format!(
        "# Written by the hhdash demo; removed when it ends.\n\
         store_file = \"hhdash.redb\"\n\
         git_cache_dir = \"git-cache\"\n\n\
         [[fabric]]\n\
         name = \"demo\"\n\
         namespace = \"default\"\n\n\
         [fabric.kubernetes]\n\
         server = \"{}\"\n\
         token_file = \"{}\"\n\
         ca_cert_file = \"{}\"\n\n\
         [fabric.git]\n\
         url = \"{}\"\n\
         branch = \"main\"\n\
         directory = \"{FABRIC_DIR}\"\n",
        plane.server_url(),
        plane.token_file(Identity::Operator).display(),
        plane.ca_file().display(),
        paths.repo.display()
    );
    std::fs::write(&paths.config, config).map_err(|e| format!("writing the config: {e}"))?;

    hhdash(hhdash_bin, &paths, &["sync"]).await?;
    let applied = hhdash(hhdash_bin, &paths, &["apply", "demo"]).await?;
    step(
        started,
        format!("hhdash sync + apply: {}", last_line(&applied)),
    );

    // One more commit, synced but not applied: the dashboard opens with work to do.
    let extra = copy_tree(&examples.join("demo"), &paths.repo.join(FABRIC_DIR))?;
    git(&paths.repo, &["add", "-A"]).await?;
    git(
        &paths.repo,
        &["commit", "-q", "-m", "Add VPC staging for server-8"],
    )
    .await?;
    hhdash(hhdash_bin, &paths, &["sync"]).await?;
    step(
        started,
        format!("committed VPC staging ({extra} files) and synced it, not applied"),
    );

    Ok(Demo {
        plane,
        paths,
        setup_time: started.elapsed(),
    })
}

/// SIGINT, SIGTERM and SIGHUP as one stream: any of them ends the demo.
struct StopSignals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl StopSignals {
    fn new() -> std::io::Result<Self> {
        Ok(StopSignals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
        }
    }
}

fn banner(demo: &Demo, args: &Args, dashboard: &str) {
    let p = &demo.paths;
    let kubectl = testenv::bin_dir()
        .map(|d| d.join("kubectl").display().to_string())
        .unwrap_or_else(|_| "kubectl".into());
    let faults = if args.fault_every_secs == 0 {
        "no health faults".to_string()
    } else {
        format!(
            "a health fault (BGP, LLDP, flap, PSU, optic, resources) every {} s for {} s",
            args.fault_every_secs, args.fault_for_secs
        )
    };
    let drift = if args.drift_every_secs == 0 {
        "no drift".to_string()
    } else {
        format!("an out-of-band edit every {} s", args.drift_every_secs)
    };
    eprintln!(
        "
hhdash demo — ready in {:.1} s
  fabric     demo: 2 spines, 4 leaves (MCLAG + ESLAG pairs), 8 servers, 3 VPCs, a gateway
             (Gateway gateway-1, GatewayPeering db--mgmt with NAT), all applied;
             VPC staging is in Git but not applied yet (select it and apply).
             Views: ] and [ step through them, :gw and :gwpeer jump to the gateway's.
  simulator  6 switch agents and the gateway's GatewayAgent heartbeating;
             a switch goes silent every {} s; {faults}; {drift}
             (field manager sim-drift). Log: {}
  config     {}
  Git repo   {}  (branch main, directory {FABRIC_DIR})
             edit and commit there, then press s in the dashboard to sync:
             cd {}/{FABRIC_DIR} && $EDITOR vpcs/web.yaml && git commit -am 'change web'
  kubectl    {kubectl} --kubeconfig={} get vpcs,agents,gatewayagents
  hhdash log {}
Everything stops and these files are removed when you quit{}.
{dashboard}",
        demo.setup_time.as_secs_f64(),
        args.stale_every_secs,
        p.sim_log.display(),
        p.config.display(),
        p.repo.display(),
        p.repo.display(),
        demo.plane.kubeconfig_file(Identity::Admin).display(),
        p.hhdash_log.display(),
        if args.keep {
            " (except the state dir: --keep)"
        } else {
            ""
        },
    );
}

/// Runs the dashboard in the foreground until it exits or a stop signal arrives (then it gets
/// SIGTERM, and SIGKILL 5 s later). Returns its exit code.
async fn dashboard(
    hhdash_bin: &Path,
    demo: &Demo,
    args: &Args,
    stop: &mut StopSignals,
) -> Result<i32, String> {
    let mut cmd = hhdash_command(hhdash_bin, &demo.paths);
    cmd.args(&args.dashboard_args).kill_on_drop(true);
    // SAFETY: only async-signal-safe calls. If the demo dies, the dashboard gets SIGTERM and
    // can restore the terminal. It stays in our process group: it needs the terminal.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", hhdash_bin.display()))?;
    let status = tokio::select! {
        status = child.wait() => status,
        name = stop.recv() => {
            if let Some(pid) = child.id() {
                // SAFETY: signalling our own child.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
            }
            let status = match tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    let _ = child.kill().await;
                    child.wait().await
                }
            };
            // Only now: printed while the dashboard held the screen, it would vanish with it.
            eprintln!("demo: {name}: stopped the dashboard");
            status
        }
    };
    let status = status.map_err(|e| format!("waiting for hhdash: {e}"))?;
    Ok(status.code().unwrap_or(1))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let started = Instant::now();
    let hhdash_bin = match args.hhdash.clone().or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join("hhdash")))
    }) {
        Some(path) if path.is_file() => path,
        other => {
            eprintln!(
                "demo: hhdash binary not found{}; run scripts/demo or pass --hhdash PATH",
                other
                    .map(|p| format!(" at {}", p.display()))
                    .unwrap_or_default()
            );
            return ExitCode::from(2);
        }
    };
    // Installed before anything starts, so an early Ctrl-C still cleans up.
    let mut stop = match StopSignals::new() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("demo: installing signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };

    let demo = tokio::select! {
        result = setup(&hhdash_bin, started, !args.no_webhook) => match result {
            Ok(demo) => demo,
            Err(message) => {
                eprintln!("demo: {message}");
                return ExitCode::FAILURE;
            }
        },
        name = stop.recv() => {
            // Dropping the setup future dropped the control plane and the state dir.
            eprintln!("demo: {name} during setup; stopped and cleaned up");
            return ExitCode::from(130);
        }
    };

    let sim_log = match std::fs::File::create(&demo.paths.sim_log) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("demo: creating {}: {e}", demo.paths.sim_log.display());
            return ExitCode::FAILURE;
        }
    };
    let mut log = {
        let mut file = std::io::LineWriter::new(sim_log);
        move |event: &SimEvent| {
            use std::io::Write as _;
            let _ = writeln!(file, "{event}");
        }
    };
    let config = SimConfig {
        seed: args.seed,
        drift_every: Duration::from_secs(args.drift_every_secs),
        stale_every: Duration::from_secs(args.stale_every_secs),
        fault_every: Duration::from_secs(args.fault_every_secs),
        fault_for: Duration::from_secs(args.fault_for_secs),
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(demo.plane.client(Identity::Admin), config);
    // The first tick creates the Agents, so the dashboard opens with switch health.
    if let Err(error) = sim.start(&mut log).await {
        eprintln!("demo: {error}");
        return ExitCode::FAILURE;
    }
    let (sim_stop, sim_stopped) = tokio::sync::oneshot::channel::<()>();
    let sim_task = tokio::spawn(async move {
        sim.run(&mut log, async {
            let _ = sim_stopped.await;
        })
        .await
    });

    let code = if args.no_dashboard {
        banner(
            &demo,
            &args,
            "Running without the dashboard; press Ctrl-C to stop.\n",
        );
        let name = stop.recv().await;
        eprintln!("demo: {name}: stopping");
        0
    } else {
        let shown = std::iter::once(format!("hhdash --config {}", demo.paths.config.display()))
            .chain(args.dashboard_args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        banner(&demo, &args, &format!("Opening the dashboard: {shown}\n"));
        // A moment to read the banner before the dashboard takes the screen.
        let interrupted = tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => None,
            name = stop.recv() => Some(name),
        };
        match interrupted {
            Some(name) => {
                eprintln!("demo: {name}: stopping");
                130
            }
            None => match dashboard(&hhdash_bin, &demo, &args, &mut stop).await {
                Ok(code) => code,
                Err(message) => {
                    eprintln!("demo: {message}");
                    1
                }
            },
        }
    };

    let _ = sim_stop.send(());
    let summary = tokio::time::timeout(Duration::from_secs(5), sim_task).await;
    let state_dir = demo.paths.state.path().to_path_buf();
    let Demo { plane, paths, .. } = demo;
    drop(plane);
    if args.keep {
        let kept = paths.state.keep();
        eprintln!("demo: kept {}", kept.display());
    } else {
        drop(paths);
    }
    let did = match summary {
        Ok(Ok(summary)) => summary
            .iter()
            .map(|(action, n)| format!("{n} {}", action.word()))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "did not stop in time".into(),
    };
    eprintln!("demo: simulator stopped ({did}); kube-apiserver and etcd stopped");
    if !args.keep {
        eprintln!("demo: removed {}", state_dir.display());
    }
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
