//! cli::dashboard: `hhdash` / `hhdash ui`. With a server for the store, the dashboard attaches
//! to it; otherwise this process runs the engines (and serves them to any hhdash that comes
//! later) and the dashboard drives them in-process. An attached dashboard whose server goes
//! away offers to continue in-process: it then acquires the store again, as at start.

use color_eyre::eyre::{Result, eyre};

use super::{Cli, Holder, Outcome, Paths, acquire, runtime, server_setup};
use crate::config::Config;
use crate::serve::Server;
use crate::serve::protocol::ServerKind;
use crate::ui::Ending;

pub(super) fn dashboard(cli: &Cli, paths: &Paths, read_only: bool) -> Result<Outcome> {
    let runtime = runtime()?;
    let result = until_quit(cli, paths, read_only, &runtime);
    // A Git fetch on a blocking thread must not hold the quit hostage.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    result?;
    Ok(Outcome::Success)
}

/// Runs the dashboard, in-process or attached, until the operator quits; an attached one
/// whose server went away starts over when the operator asks to continue.
fn until_quit(
    cli: &Cli,
    paths: &Paths,
    read_only: bool,
    runtime: &tokio::runtime::Runtime,
) -> Result<()> {
    loop {
        let config = Config::load(&paths.config)?;
        let options = crate::ui::Options::from_config(&config.ui, read_only)
            .with_namespaces_of(&config.fabrics);
        // The configuration may say read-only too: the server must hear it either way.
        let read_only = options.read_only;
        match acquire(cli, &config)? {
            Holder::Store(store) => {
                let setup = server_setup(ServerKind::Dashboard, cli, paths, config, store);
                return runtime.block_on(async {
                    let server = Server::start(setup).await;
                    let (engines, events) = server.local(None).await.map_err(|e| eyre!(e))?;
                    let result = crate::ui::run(options, engines, events).await;
                    server
                        .shutdown("the dashboard that ran the engines has quit")
                        .await;
                    result.map_err(Into::into)
                });
            }
            Holder::Server(socket) => {
                let ending = runtime.block_on(async {
                    let attached =
                        crate::serve::client::subscribe(&socket, Vec::new(), read_only).await?;
                    let link = crate::ui::ServerLink {
                        pid: attached.server_pid,
                        ended: attached.ended,
                    };
                    crate::ui::run_attached(options, attached.engines, attached.events, link)
                        .await
                        .map_err(color_eyre::Report::from)
                })?;
                match ending {
                    Ending::Quit => return Ok(()),
                    Ending::ContinueInProcess => continue,
                }
            }
        }
    }
}
