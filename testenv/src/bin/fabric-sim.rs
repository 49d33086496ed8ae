//! `fabric-sim`: play the Hedgehog controller and switch agents against a Kubernetes API server
//! (see `testenv::sim`): one Agent per Switch with heartbeats, generations picked up and applied,
//! switches going silent or lagging now and then, optional out-of-band edits (drift), and one
//! GatewayAgent per Gateway heartbeating with its BGP sessions established.
//! Prints one line per action until Ctrl-C/SIGTERM or `--duration-secs`.
//!
//! It reads only its flags: never `~/.kube` or `KUBECONFIG`. The token needs write access to
//! Agents and GatewayAgents and their status (and to VPCs and Servers for `--drift-every-secs`): the controller's
//! rights, e.g. testenv's admin token.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use testenv::sim::{SimConfig, SimEvent, Simulator};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Debug, Parser)]
#[command(
    name = "fabric-sim",
    about = "Simulate a Hedgehog fabric's controller and switch agents (Agents, heartbeats, faults, drift)"
)]
struct Args {
    /// API server URL (https://)
    #[arg(long)]
    server: String,
    /// File holding the bearer token (needs write access to Agents and their status)
    #[arg(long)]
    token_file: PathBuf,
    /// PEM file with the API server's CA certificate
    #[arg(long)]
    ca_file: PathBuf,
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Seed of every random decision: the same seed makes the same decisions
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Heartbeat period of each agent; agents pick new generations up at a heartbeat
    #[arg(long, default_value_t = 5)]
    heartbeat_secs: u64,
    /// From attempting a generation to applying it
    #[arg(long, default_value_t = 3)]
    apply_delay_secs: u64,
    /// A switch stops heartbeating this often (0 = never)
    #[arg(long, default_value_t = 120)]
    stale_every_secs: u64,
    /// How long a switch stays silent (hhdash calls it Stale after 60 s)
    #[arg(long, default_value_t = 100)]
    stale_for_secs: u64,
    /// Chance that a switch lags on a new generation: attempts it but does not apply it
    #[arg(long, default_value_t = 0.2)]
    lag_probability: f64,
    /// How long a lagging switch holds a generation unapplied
    #[arg(long, default_value_t = 40)]
    lag_secs: u64,
    /// Edit a VPC subnet VLAN or a Server description out of band this often, with field
    /// manager sim-drift (0 = never)
    #[arg(long, default_value_t = 0)]
    drift_every_secs: u64,
    /// A health fault (BGP down, miswire, flap, failed PSU, low optic power, resources nearly
    /// full) on a random switch this often (0 = never)
    #[arg(long, default_value_t = 0)]
    fault_every_secs: u64,
    /// How long each scheduled health fault lasts
    #[arg(long, default_value_t = 90)]
    fault_for_secs: u64,
    /// Stop after this long (0 = run until Ctrl-C or SIGTERM)
    #[arg(long, default_value_t = 0)]
    duration_secs: u64,
    /// The agent version the switches report
    #[arg(long, default_value = "v0.87.4-sim")]
    agent_version: String,
    /// Append the log here instead of printing it
    #[arg(long)]
    log_file: Option<PathBuf>,
    /// Log every heartbeat (otherwise one status line a minute)
    #[arg(long)]
    verbose: bool,
}

fn client(args: &Args) -> Result<kube::Client, String> {
    if !args.server.starts_with("https://") {
        return Err(format!(
            "--server {}: use https:// (the token must not travel in clear text)",
            args.server
        ));
    }
    let url = args
        .server
        .parse()
        .map_err(|e| format!("--server {}: {e}", args.server))?;
    let token = std::fs::read_to_string(&args.token_file)
        .map_err(|e| format!("--token-file {}: {e}", args.token_file.display()))?;
    let token = token.trim();
    if token.is_empty() {
        return Err(format!(
            "--token-file {} is empty",
            args.token_file.display()
        ));
    }
    let certs = read_ca(&args.ca_file)?;
    let mut config = kube::Config::new(url);
    config.root_cert = Some(certs);
    config.auth_info.token = Some(token.to_string().into());
    config.default_namespace = args.namespace.clone();
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(30));
    kube::Client::try_from(config).map_err(|e| format!("building the Kubernetes client: {e}"))
}

fn read_ca(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "--ca-file {}: no PEM certificate in it",
            path.display()
        ));
    }
    Ok(certs)
}

fn sim_config(args: &Args) -> Result<SimConfig, String> {
    if !(0.0..=1.0).contains(&args.lag_probability) {
        return Err(format!(
            "--lag-probability {}: use a number from 0 to 1",
            args.lag_probability
        ));
    }
    if args.heartbeat_secs == 0 {
        return Err("--heartbeat-secs must be at least 1".into());
    }
    let secs = Duration::from_secs;
    Ok(SimConfig {
        namespace: args.namespace.clone(),
        seed: args.seed,
        heartbeat: secs(args.heartbeat_secs),
        apply_delay: secs(args.apply_delay_secs),
        stale_every: secs(args.stale_every_secs),
        stale_for: secs(args.stale_for_secs),
        lag_probability: args.lag_probability,
        lag_for: secs(args.lag_secs),
        drift_every: secs(args.drift_every_secs),
        fault_every: secs(args.fault_every_secs),
        fault_for: secs(args.fault_for_secs),
        duration: secs(args.duration_secs),
        agent_version: args.agent_version.clone(),
        verbose: args.verbose,
        ..SimConfig::default()
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let (client, config) = match client(&args).and_then(|c| Ok((c, sim_config(&args)?))) {
        Ok(pair) => pair,
        Err(message) => {
            eprintln!("fabric-sim: {message}");
            return ExitCode::from(2);
        }
    };
    let mut out: Box<dyn Write + Send> = match &args.log_file {
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(file) => Box::new(file),
            Err(e) => {
                eprintln!("fabric-sim: --log-file {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => Box::new(std::io::stdout()),
    };
    let mut emit = move |event: &SimEvent| {
        // A full disk or closed pipe must not stop the switches; the line is lost, nothing else.
        let _ = writeln!(out, "{event}");
        let _ = out.flush();
    };

    eprintln!(
        "fabric-sim: namespace {} on {}, seed {}; Ctrl-C stops",
        config.namespace, args.server, config.seed
    );
    let mut sim = Simulator::new(client, config);
    if let Err(error) = sim.start(&mut emit).await {
        eprintln!("{error}");
        return ExitCode::from(1);
    }
    let shutdown = async {
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    let summary = sim.run(&mut emit, shutdown).await;
    let counts: Vec<String> = summary
        .iter()
        .map(|(action, n)| format!("{n} {}", action.word()))
        .collect();
    eprintln!("fabric-sim: stopped ({})", counts.join(", "));
    ExitCode::SUCCESS
}
