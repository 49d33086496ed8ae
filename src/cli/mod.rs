//! cli: the dashboard entry point (`hhdash`, `hhdash ui`) and the headless commands (`check`,
//! `sync`, `status`, `secret set`, …) — argument parsing and human/JSON output. It composes
//! config, store, vault and sync; it holds no logic of its own beyond presentation and exit
//! codes. Here: the arguments, `Outcome` and the dispatch; `local` runs the commands that need
//! no cluster, `cluster` those that talk to one, and `output` prints for both.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use color_eyre::eyre::{Result, WrapErr, eyre};

// Every line printed here quotes Git or the cluster somewhere: these print through the one
// terminal sanitizer (JSON goes through `sanitize::print_json`).
#[allow(unused_imports)]
use crate::sanitize::{errln as eprintln, out as print, outln as println};

pub mod cluster;
mod dashboard;
pub mod history;
pub mod inspect;
mod local;
mod output;
mod serve;
mod watch;

use crate::config::Config;
use crate::secret::token;
use crate::serve::run_client::Ended;
use crate::store::Store;
use crate::xdg;

#[derive(Debug, Parser)]
#[command(
    name = "hhdash",
    version,
    about = "Terminal dashboard for Hedgehog Open Network Fabrics: Git desired state, live cluster, drift"
)]
pub struct Cli {
    /// Configuration file [default: $XDG_CONFIG_HOME/hhdash/config.toml]
    #[arg(long, global = true, env = "HHDASH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Store file (redb) [default: store_file from the config, else $XDG_DATA_HOME/hhdash/hhdash.redb]
    #[arg(long, global = true, env = "HHDASH_STORE")]
    pub store: Option<PathBuf>,
    /// Log file; hhdash never logs to the terminal [default: $XDG_STATE_HOME/hhdash/hhdash.log]
    #[arg(long, global = true, env = "HHDASH_LOG_FILE")]
    pub log_file: Option<PathBuf>,
    /// Key file for secrets in the store [default: $XDG_CONFIG_HOME/hhdash/secret.key]
    #[arg(long, global = true, env = "HHDASH_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// With no command: open the dashboard without any write to a cluster (no apply)
    #[arg(long)]
    pub read_only: bool,
    /// Without a command, hhdash opens the terminal dashboard.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, PartialEq, Subcommand, serde::Serialize, serde::Deserialize)]
pub enum Command {
    /// Validate the configuration (every problem at once), then test each fabric's connection
    Check {
        /// Only validate the file; do not contact any server
        #[arg(long)]
        offline: bool,
    },
    /// Sync fabrics' desired state from Git into the store (all fabrics when none named)
    Sync {
        fabrics: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show fabric statuses and per-kind counts from the store
    Status {
        fabrics: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Compare the synced desired state with the live cluster (exit 0 in sync, 1 drift, 2 error)
    Diff {
        fabric: String,
        /// Exact mode: compare live with a server-side dry-run apply of Git (like kubectl diff)
        #[arg(long)]
        server_side: bool,
        #[arg(long)]
        json: bool,
    },
    /// Judge the network's health against Git's wiring: every switch and gateway, worst first,
    /// or one in detail (exit 0 healthy or warnings only, 1 unhealthy, 2 error)
    Inspect {
        fabric: String,
        /// One switch or gateway: its reasons, ports (Git's neighbor beside LLDP's) and BGP
        switch: Option<String>,
        /// The judgement as JSON (the list the dashboard's Health view shows)
        #[arg(long)]
        json: bool,
    },
    /// Server-side apply Git to the cluster: every Missing and Drifted object, in dependency order
    Apply {
        fabric: String,
        /// Ask the server to validate and default without persisting anything
        #[arg(long)]
        dry_run: bool,
        /// Also delete orphans (in the cluster, not in Git), in reverse order, after confirmation
        #[arg(long)]
        prune: bool,
        /// Confirm pruning without asking
        #[arg(long)]
        yes: bool,
        /// Let --prune run although Git holds no objects for the fabric (deletes everything
        /// hhdash applied)
        #[arg(long, requires = "prune")]
        allow_empty: bool,
        /// Apply only these objects (KIND/NAME, e.g. VPC/vpc-1, in the namespace the fabric puts
        /// that kind; or KIND/NAMESPACE/NAME); repeatable
        #[arg(long = "only", value_name = "KIND/NAME")]
        only: Vec<String>,
        /// Take ownership of fields another field manager owns
        #[arg(long)]
        force_conflicts: bool,
    },
    /// Watch a fabric live and print its events until Ctrl-C
    Watch {
        fabric: String,
        #[arg(long)]
        json: bool,
    },
    /// A fabric's timeline from the store, oldest first (no cluster needed); with --object,
    /// also when that object started drifting and what else started at the same sync
    History {
        fabric: String,
        /// Entries at or after this: a duration before now (90s, 15m, 1h, 7d) or an RFC 3339 time
        #[arg(long)]
        since: Option<String>,
        /// Entries at or before this (same forms as --since)
        #[arg(long)]
        until: Option<String>,
        /// Only entries about this object (KIND/NAME, or KIND/NAMESPACE/NAME)
        #[arg(long, value_name = "KIND/NAME")]
        object: Option<String>,
        /// Only these kinds of entry: drift, apply, sync, connection, health, error, added,
        /// modified, deleted, watch (comma-separated or repeated)
        #[arg(long = "kind", value_name = "KIND,…")]
        kinds: Vec<String>,
        /// A JSON array of entries, times in RFC 3339
        #[arg(long)]
        json: bool,
    },
    /// Open the terminal dashboard (also what `hhdash` alone does)
    Ui {
        /// Refuse every write to a cluster: `a` and `A` are disabled (`s` still syncs Git into
        /// the local store)
        #[arg(long)]
        read_only: bool,
    },
    /// Run every fabric's engine headless and share it: every other hhdash of this user with
    /// the same store (dashboards, commands) attaches to it over a Unix socket, and the
    /// timeline keeps recording while none is open
    Serve,
    /// Manage tokens kept encrypted in the store
    Secret {
        #[command(subcommand)]
        action: SecretAction,
    },
}

#[derive(Debug, Clone, PartialEq, Subcommand, serde::Serialize, serde::Deserialize)]
pub enum SecretAction {
    /// Read a token from standard input and store it encrypted for FABRIC
    Set { fabric: String, slot: SecretSlot },
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum, serde::Serialize, serde::Deserialize)]
pub enum SecretSlot {
    KubernetesToken,
    GitToken,
}

impl SecretSlot {
    fn name(self) -> &'static str {
        match self {
            SecretSlot::KubernetesToken => token::KUBERNETES_TOKEN_SLOT,
            SecretSlot::GitToken => token::GIT_TOKEN_SLOT,
        }
    }
}

/// What main needs to turn a command's outcome into an exit status.
pub enum Outcome {
    Success,
    /// The command ran and found problems (e.g. a failed sync); report already printed.
    Failed,
    /// The command could not give a whole answer (e.g. `diff` on a desired set that cannot
    /// name orphans); report already printed. Exit 2, like an error.
    Error,
}

struct Paths {
    config: PathBuf,
    key_file: PathBuf,
}

impl Cli {
    fn paths(&self) -> Paths {
        Paths {
            config: self.config.clone().unwrap_or_else(xdg::default_config_file),
            key_file: self.key_file.clone().unwrap_or_else(xdg::default_key_file),
        }
    }

    fn store_path(&self, config: &Config) -> PathBuf {
        self.store
            .clone()
            .or_else(|| config.store_file.clone())
            .unwrap_or_else(xdg::default_store_file)
    }

    pub fn log_file(&self) -> PathBuf {
        self.log_file.clone().unwrap_or_else(xdg::default_log_file)
    }
}

/// What `hhdash` with no command runs.
static DASHBOARD: Command = Command::Ui { read_only: false };

pub fn run(cli: &Cli) -> Result<Outcome> {
    let paths = cli.paths();
    match cli.command.as_ref().unwrap_or(&DASHBOARD) {
        Command::Ui { read_only } => dashboard::dashboard(cli, &paths, cli.read_only || *read_only),
        Command::Serve => serve::serve(cli, &paths),
        Command::Watch { fabric, json } => watch::watch(cli, &paths, fabric, *json),
        Command::Check { offline } => check(cli, &paths, *offline),
        command => {
            let config = Config::load(&paths.config)?;
            preflight(command, &config)?;
            run_anywhere(cli, &paths, &config, command)
        }
    }
}

impl Outcome {
    /// The process exit status of this outcome.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::Error => 2,
        }
    }

    /// The outcome a command that exited with `code` had.
    pub fn from_exit_code(code: u8) -> Outcome {
        match code {
            0 => Outcome::Success,
            1 => Outcome::Failed,
            _ => Outcome::Error,
        }
    }
}

/// An error report with these messages, outermost first (as `Report::chain` lists them): how
/// a client reports the error of a command a server ran, and how `main` rebuilds a report
/// whose messages it had to escape.
pub fn report_of(mut messages: Vec<String>) -> color_eyre::Report {
    let root = messages.pop().unwrap_or_default();
    messages
        .into_iter()
        .rev()
        .fold(eyre!(root), |report, message| report.wrap_err(message))
}

/// One fabric's sync as `sync` needs it: what it committed, or why it failed.
pub(crate) type SyncOne<'a> =
    dyn Fn(&crate::config::FabricConfig) -> Result<crate::sync::SyncSummary, String> + 'a;

/// What a command runs against: this process's store, or the server's for a client.
pub(crate) struct Context<'a> {
    pub config: &'a Config,
    pub store: &'a Store,
    pub key_file: &'a Path,
    pub git_cache_dir: PathBuf,
    /// How `sync` syncs one fabric: here, or through the server's engine.
    pub sync_one: &'a SyncOne<'a>,
    /// The runtime an async command runs to its end on.
    pub runtime: fn() -> Result<tokio::runtime::Runtime>,
    /// Standard input already read (`secret set` for a client); `None`: this process's.
    pub stdin: Option<&'a [u8]>,
    /// Why an apply is refused (a read-only client), if it is.
    pub refuse_apply: Option<&'a str>,
    /// Where the timeline lines a command records are published too: the dashboards of the
    /// server running it for a client (none in-process: no dashboard shares this process).
    pub publish: Option<&'a tokio::sync::mpsc::Sender<crate::engine::EngineEvent>>,
}

/// The checks a command makes of its arguments before it needs the store: an unknown fabric is
/// an error at once, whoever would run the command.
pub(crate) fn preflight(command: &Command, config: &Config) -> Result<()> {
    match command {
        Command::Sync { fabrics, .. } | Command::Status { fabrics, .. } => {
            config.select(fabrics)?;
        }
        Command::Diff { fabric, .. }
        | Command::Inspect { fabric, .. }
        | Command::Apply { fabric, .. }
        | Command::History { fabric, .. }
        | Command::Secret {
            action: SecretAction::Set { fabric, .. },
        } => {
            config.fabric(fabric)?;
        }
        Command::Check { .. } | Command::Watch { .. } | Command::Ui { .. } | Command::Serve => {}
    }
    Ok(())
}

/// Runs a store command (everything but the dashboard, `watch` and `serve`; `check` only its
/// connection part) against `ctx`: the same code in-process and on a server for a client.
pub(crate) fn execute(command: &Command, ctx: &Context) -> Result<Outcome> {
    let (config, store, key_file) = (ctx.config, ctx.store, ctx.key_file);
    match command {
        Command::Check { .. } => {
            (ctx.runtime)()?.block_on(cluster::check_connections(config, store, key_file))
        }
        Command::Sync { fabrics, json } => {
            local::sync_fabrics(config, ctx.sync_one, fabrics, *json)
        }
        Command::Status { fabrics, json } => local::status(config, store, fabrics, *json),
        Command::Diff {
            fabric,
            server_side,
            json,
        } => {
            let fabric = config.fabric(fabric)?.clone();
            (ctx.runtime)()?.block_on(cluster::diff(
                &fabric,
                store,
                key_file,
                &ctx.git_cache_dir,
                *server_side,
                *json,
            ))
        }
        Command::Inspect {
            fabric,
            switch,
            json,
        } => {
            let fabric = config.fabric(fabric)?.clone();
            (ctx.runtime)()?.block_on(inspect::inspect(
                &fabric,
                store,
                key_file,
                switch.as_deref(),
                *json,
            ))
        }
        Command::Apply {
            fabric,
            dry_run,
            prune,
            yes,
            allow_empty,
            only,
            force_conflicts,
        } => {
            if let Some(refusal) = ctx.refuse_apply {
                return Err(eyre!("{refusal}"));
            }
            let fabric = config.fabric(fabric)?.clone();
            let options = cluster::ApplyOptions {
                dry_run: *dry_run,
                prune: *prune,
                yes: *yes,
                allow_empty: *allow_empty,
                only: only.clone(),
                force_conflicts: *force_conflicts,
            };
            (ctx.runtime)()?.block_on(cluster::apply(
                &fabric,
                store,
                key_file,
                &options,
                ctx.publish,
            ))
        }
        Command::History {
            fabric,
            since,
            until,
            object,
            kinds,
            json,
        } => {
            let fabric = config.fabric(fabric)?.clone();
            let args = history::HistoryArgs {
                since: since.as_deref(),
                until: until.as_deref(),
                object: object.as_deref(),
                kinds,
                json: *json,
            };
            history::history(&fabric, store, &args)
        }
        Command::Secret {
            action: SecretAction::Set { fabric, slot },
        } => {
            config.fabric(fabric)?;
            local::set_secret(store, key_file, fabric, *slot, ctx.stdin)
        }
        Command::Ui { .. } | Command::Watch { .. } | Command::Serve => Err(eyre!(
            "this command is not one a server runs for a client; run it in its own terminal"
        )),
    }
}

/// Why an in-process apply with `--read-only` is refused.
const READ_ONLY_APPLY_HERE: &str =
    "--read-only: this hhdash may not write to any cluster; run apply without --read-only";

/// Runs a store command where the store is: asked of the server that holds it (its output
/// printed here as it comes), or in this process. Silent about which (like kubectl through a
/// proxy): only waiting for the store, or a server gone mid-command, is said on stderr.
fn run_anywhere(cli: &Cli, paths: &Paths, config: &Config, command: &Command) -> Result<Outcome> {
    // `secret set`'s token, once read for a server, is what a retry here reads.
    let mut stdin: Option<zeroize::Zeroizing<Vec<u8>>> = None;
    // A server that vanishes between being found and being asked is looked for once more.
    for _ in 0..3 {
        let socket = match acquire(cli, config)? {
            Holder::Store(store) => {
                let sync_one = |fabric: &crate::config::FabricConfig| {
                    local::sync_here(config, &store, &paths.key_file, fabric)
                };
                let context = Context {
                    config,
                    store: &store,
                    key_file: &paths.key_file,
                    git_cache_dir: git_cache_dir(config),
                    sync_one: &sync_one,
                    runtime,
                    stdin: stdin.as_ref().map(|bytes| bytes.as_slice()),
                    refuse_apply: cli.read_only.then_some(READ_ONLY_APPLY_HERE),
                    publish: None,
                };
                return execute(command, &context);
            }
            Holder::Server(socket) => socket,
        };
        if matches!(command, Command::Secret { .. }) && stdin.is_none() {
            stdin = Some(read_stdin()?);
        }
        let request = crate::serve::protocol::RunRequest {
            command: command.clone(),
            config: std::path::absolute(&paths.config)?,
            key_file: std::path::absolute(&paths.key_file)?,
            env: crate::secret::env::values(&crate::secret::env::names(config)),
            stdin_terminal: std::io::stdin().is_terminal(),
            stdin: stdin.as_ref().map(|bytes| bytes.to_vec()),
        };
        match crate::serve::run_client::run(&socket, request, cli.read_only)? {
            Ended::Done(result) => return result,
            Ended::NotReached => continue,
            Ended::Gone(reason) => {
                let gone = match reason {
                    Some(reason) => format!("the hhdash server stopped ({reason})"),
                    None => "the hhdash server went away".to_string(),
                };
                if reads_only(command) {
                    eprintln!(
                        "{gone} before the command ended; running it in this process instead"
                    );
                    continue;
                }
                return Err(eyre!("{}", gone_during(command, &gone)));
            }
        }
    }
    Err(eyre!(
        "no hhdash server answered on the store's socket, and the store stayed in use; try again"
    ))
}

/// Whether a command leaves the cluster and the desired state as they were (safe to run again
/// here when the server went away during it).
fn reads_only(command: &Command) -> bool {
    matches!(
        command,
        Command::Status { .. }
            | Command::Diff { .. }
            | Command::Inspect { .. }
            | Command::History { .. }
            | Command::Check { .. }
    )
}

/// What a server gone during a writing command leaves, and what to do.
fn gone_during(command: &Command, gone: &str) -> String {
    match command {
        Command::Apply { fabric, .. } => format!(
            "{gone} during the apply of fabric {fabric}; what was sent may be partly applied: \
             see `hhdash history {fabric}`, then `hhdash diff {fabric}`"
        ),
        Command::Sync { .. } => format!(
            "{gone} during the sync; the store has the previous or the new desired state: see \
             `hhdash status`, or run `hhdash sync` again"
        ),
        _ => format!("{gone} before the command ended; it may not have taken effect: run it again"),
    }
}

/// Standard input whole, for a server to read (`secret set`); wiped when dropped.
fn read_stdin() -> Result<zeroize::Zeroizing<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(crate::secret::MAX_TOKEN_BYTES + 1));
    std::io::stdin()
        .lock()
        .take(crate::secret::MAX_TOKEN_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .wrap_err("reading the token from standard input")?;
    Ok(bytes)
}

/// Opens the store with the configuration's `[timeline]` bounds.
fn open_store(cli: &Cli, config: &Config) -> Result<Store> {
    let mut store = Store::open(&cli.store_path(config))?;
    store.set_timeline_limits(config.timeline);
    Ok(store)
}

/// How long a command waits for a store another hhdash holds without serving it (a command
/// still running: `sync`, `apply`…), checking meanwhile whether a server takes it over.
const STORE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Who has the store for this process: this process (it opened it), or a server that
/// answers on the store's socket (attach to it).
pub(crate) enum Holder {
    Store(Store),
    Server(PathBuf),
}

/// Finds the server of the store, or opens the store. A store held by an hhdash that does not
/// serve it is waited for (`STORE_WAIT`), saying so once on stderr.
pub(crate) fn acquire(cli: &Cli, config: &Config) -> Result<Holder> {
    let path = cli.store_path(config);
    let socket = crate::serve::paths::socket_for(&path)?;
    let deadline = std::time::Instant::now() + STORE_WAIT;
    let mut told = false;
    loop {
        // A socket file nobody listens on (a killed server's) refuses the connection.
        if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
            return Ok(Holder::Server(socket));
        }
        match open_store(cli, config) {
            Ok(store) => return Ok(Holder::Store(store)),
            Err(error) => {
                let in_use = matches!(
                    error.downcast_ref::<crate::store::StoreError>(),
                    Some(crate::store::StoreError::InUse { .. })
                );
                if !in_use {
                    return Err(error);
                }
                if std::time::Instant::now() >= deadline {
                    return Err(error.wrap_err(format!(
                        "another hhdash command has held the store for over {} s without \
                         sharing it; wait for it to finish, or run `hhdash serve` so that \
                         every hhdash shares one engine",
                        STORE_WAIT.as_secs()
                    )));
                }
                if !told {
                    eprintln!(
                        "waiting for the store {}: another hhdash command is using it",
                        path.display()
                    );
                    told = true;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
}

/// A server over `store` for this process's engines (its socket lets other hhdash attach).
fn server_setup(
    kind: crate::serve::protocol::ServerKind,
    cli: &Cli,
    paths: &Paths,
    config: Config,
    store: Store,
) -> crate::serve::ServerSetup {
    crate::serve::ServerSetup {
        kind,
        git_cache_dir: git_cache_dir(&config),
        store_path: cli.store_path(&config),
        store: std::sync::Arc::new(store),
        key_file: paths.key_file.clone(),
        config,
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .wrap_err("starting the async runtime")
}

/// `hhdash check`: the file here (it needs no store), then each fabric's connection where the
/// store is.
fn check(cli: &Cli, paths: &Paths, offline: bool) -> Result<Outcome> {
    let outcome = local::check_file(paths)?;
    if offline || !matches!(outcome, Outcome::Success) {
        return Ok(outcome);
    }
    let config = Config::load(&paths.config)?;
    run_anywhere(cli, paths, &config, &Command::Check { offline })
}

pub fn git_cache_dir(config: &Config) -> PathBuf {
    config
        .git_cache_dir
        .clone()
        .unwrap_or_else(|| xdg::cache_dir().join("git"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_report_is_rebuilt_with_its_chain_in_order() {
        let original = color_eyre::eyre::eyre!("connection refused")
            .wrap_err("fabric lab: listing VPCs")
            .wrap_err("diff of fabric lab failed");
        let messages: Vec<String> = original.chain().map(|e| e.to_string()).collect();
        let rebuilt = super::report_of(messages.clone());
        let again: Vec<String> = rebuilt.chain().map(|e| e.to_string()).collect();
        assert_eq!(again, messages);
        assert_eq!(rebuilt.to_string(), "diff of fabric lab failed");
    }
}
