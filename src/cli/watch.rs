//! cli::watch: `hhdash watch FABRIC` — the fabric's engine events, one line each, until
//! Ctrl-C. Attached to a server when one runs; otherwise this process runs the engine (and
//! serves it to any hhdash that comes later).

use color_eyre::eyre::{Result, eyre};

use super::{Cli, Holder, Outcome, Paths, acquire, runtime, server_setup};
use crate::config::Config;
use crate::serve::Server;
use crate::serve::protocol::ServerKind;

pub(super) fn watch(cli: &Cli, paths: &Paths, fabric: &str, json: bool) -> Result<Outcome> {
    let config = Config::load(&paths.config)?;
    let fabric = config.fabric(fabric)?.clone();
    let runtime = runtime()?;
    let outcome = match acquire(cli, &config)? {
        Holder::Store(store) => {
            let setup = server_setup(ServerKind::Watch, cli, paths, config, store);
            runtime.block_on(async {
                let server = Server::start(setup).await;
                let names = [fabric.name.clone()];
                let (_engines, events) = server.local(Some(&names)).await.map_err(|e| eyre!(e))?;
                let outcome = super::cluster::print_events(&fabric, events, json).await;
                server
                    .shutdown("the `hhdash watch` that ran the engine has stopped")
                    .await;
                outcome
            })
        }
        Holder::Server(socket) => Err(eyre!(
            "attaching to the server on {} is not built yet",
            socket.display()
        )),
    };
    // A Git fetch on a blocking thread must not keep a stopped watch alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    outcome
}
