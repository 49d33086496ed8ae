//! cli::watch: `hhdash watch FABRIC` — the fabric's engine events, one line each, until
//! Ctrl-C. Attached to a server when one runs; otherwise this process runs the engine (and
//! serves it to any hhdash that comes later). A server that goes away mid-watch is said on
//! stderr and the watch goes on in-process: it only reads, so there is nothing to ask.

use color_eyre::eyre::{Result, eyre};

// The server's reason may quote anything: through the terminal sanitizer.
#[allow(unused_imports)]
use crate::sanitize::{errln as eprintln, out as print, outln as println};

use super::{Cli, Holder, Outcome, Paths, acquire, runtime, server_setup};
use crate::config::Config;
use crate::serve::Server;
use crate::serve::protocol::ServerKind;

pub(super) fn watch(cli: &Cli, paths: &Paths, fabric: &str, json: bool) -> Result<Outcome> {
    let config = Config::load(&paths.config)?;
    let fabric = config.fabric(fabric)?.clone();
    let runtime = runtime()?;
    let outcome = loop {
        match acquire(cli, &config)? {
            Holder::Store(store) => {
                let setup = server_setup(ServerKind::Watch, cli, paths, config, store);
                break runtime.block_on(async {
                    let server = Server::start(setup).await;
                    let names = [fabric.name.clone()];
                    let (_engines, events) =
                        server.local(Some(&names)).await.map_err(|e| eyre!(e))?;
                    let outcome = super::cluster::print_events(&fabric, events, json).await;
                    server
                        .shutdown("the `hhdash watch` that ran the engine has stopped")
                        .await;
                    outcome
                });
            }
            Holder::Server(socket) => {
                let (outcome, gone) = runtime.block_on(async {
                    // Read-only: watching never writes, and the server need not trust it to.
                    let attached =
                        crate::serve::client::subscribe(&socket, vec![fabric.name.clone()], true)
                            .await?;
                    let outcome =
                        super::cluster::print_events(&fabric, attached.events, json).await;
                    let gone = attached.ended.reason().map(|reason| {
                        crate::serve::client::gone_message(attached.server_pid, &reason)
                    });
                    Ok::<_, color_eyre::Report>((outcome, gone))
                })?;
                match gone {
                    Some(message) => eprintln!("{message}; watching in-process from here"),
                    None => break outcome,
                }
            }
        }
    };
    // A Git fetch on a blocking thread must not keep a stopped watch alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    outcome
}
