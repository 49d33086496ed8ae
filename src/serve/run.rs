//! serve::run: a CLI command run by the server for a client, printing through it.

use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

use super::protocol::{self, ProtocolError, RunRequest, ServerFrame};
use super::server::Shared;

/// Runs `request` and streams its output, prompts and outcome to the client.
pub async fn serve_run(
    _request: RunRequest,
    _read_only: bool,
    _input: OwnedReadHalf,
    mut output: OwnedWriteHalf,
    _shared: Shared,
    _closing: watch::Receiver<Option<String>>,
) -> Result<(), ProtocolError> {
    // Placeholder until the run helper lands (never on main).
    let done = ServerFrame::Done {
        exit: 2,
        error: Some(vec!["this server cannot run commands yet".into()]),
    };
    protocol::write_frame(&mut output, &done).await
}
