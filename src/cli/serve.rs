//! cli::serve: `hhdash serve` — every fabric's engine, headless, shared over the store's socket
//! until SIGINT or SIGTERM. It refuses to start while another hhdash holds the store.

use color_eyre::eyre::{Result, eyre};

// Every line printed here may quote a path or an error: through the terminal sanitizer.
#[allow(unused_imports)]
use crate::sanitize::{errln as eprintln, out as print, outln as println};

use super::{Cli, Holder, Outcome, Paths, acquire, runtime, server_setup};
use crate::config::Config;
use crate::serve::Server;
use crate::serve::protocol::ServerKind;

pub(super) fn serve(cli: &Cli, paths: &Paths) -> Result<Outcome> {
    let config = Config::load(&paths.config)?;
    let store = match acquire(cli, &config)? {
        Holder::Store(store) => store,
        Holder::Server(socket) => {
            return Err(eyre!(
                "another hhdash already serves the store {} on {}; attach to it (run any hhdash \
                 command) or stop it first",
                cli.store_path(&config).display(),
                socket.display()
            ));
        }
    };
    let fabrics = config.fabrics.len();
    let setup = server_setup(ServerKind::Serve, cli, paths, config, store);
    let runtime = runtime()?;
    let outcome = runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let server = Server::start(setup).await;
        let socket = match server.listening() {
            Ok(socket) => socket.to_path_buf(),
            Err(error) => {
                let error = eyre!("hhdash serve cannot listen: {error}");
                server.shutdown("the server could not listen").await;
                return Err(error);
            }
        };
        server.shared().engines.ensure(None).map_err(|e| eyre!(e))?;
        println!(
            "serving {fabrics} fabric(s) on {} (pid {}); stop with Ctrl-C or SIGTERM",
            socket.display(),
            std::process::id()
        );
        let reason = tokio::select! {
            _ = interrupt.recv() => "the server was interrupted (SIGINT)",
            _ = terminate.recv() => "the server was stopped (SIGTERM)",
        };
        server.shutdown(reason).await;
        Ok::<_, color_eyre::Report>(Outcome::Success)
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    outcome
}
