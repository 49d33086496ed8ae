//! cli::dashboard: `hhdash` / `hhdash ui`. With a server for the store, the dashboard attaches
//! to it; otherwise this process runs the engines (and serves them to any hhdash that comes
//! later) and the dashboard drives them in-process.

use color_eyre::eyre::{Result, eyre};

use super::{Cli, Holder, Outcome, Paths, acquire, runtime, server_setup};
use crate::config::Config;
use crate::serve::Server;
use crate::serve::protocol::ServerKind;

pub(super) fn dashboard(cli: &Cli, paths: &Paths, read_only: bool) -> Result<Outcome> {
    let config = Config::load(&paths.config)?;
    let options =
        crate::ui::Options::from_config(&config.ui, read_only).with_namespaces_of(&config.fabrics);
    let runtime = runtime()?;
    let result = match acquire(cli, &config)? {
        Holder::Store(store) => {
            let setup = server_setup(ServerKind::Dashboard, cli, paths, config, store);
            runtime.block_on(async {
                let server = Server::start(setup).await;
                let (engines, events) = server.local(None).await.map_err(|e| eyre!(e))?;
                let result = crate::ui::run(options, engines, events).await;
                server
                    .shutdown("the dashboard that ran the engines has quit")
                    .await;
                result.map_err(Into::into)
            })
        }
        Holder::Server(socket) => Err(eyre!(
            "attaching to the server on {} is not built yet",
            socket.display()
        )),
    };
    // A Git fetch on a blocking thread must not hold the quit hostage.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    result?;
    Ok(Outcome::Success)
}
