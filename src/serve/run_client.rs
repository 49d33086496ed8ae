//! serve::run_client: a CLI command asked of the server that holds the store. The client sends
//! the command with what the server cannot know of this process (its configuration and key
//! file paths, the secret variables its configuration names, whether its standard input is a
//! terminal, and standard input itself for `secret set`), prints the output frames as they
//! come (the server already sanitized them), answers prompts from its own terminal, and ends
//! as the command ended.

use std::path::Path;

use color_eyre::eyre::{Result, WrapErr};

use super::client::{ClientError, Connection, handshake};
use super::protocol::{
    self, ClientFrame, Hello, ProtocolError, Role, RunRequest, ServerFrame, ServerKind,
};
use crate::cli::Outcome;

/// How a command asked of a server ended.
pub enum Ended {
    /// The server ran it: its outcome, or its error report rebuilt from the messages.
    Done(Result<Outcome>),
    /// Nothing was asked: no server answers on the socket any more.
    NotReached,
    /// The server went away before the command ended (what it printed so far was printed);
    /// the reason it gave, if it said it was stopping.
    Gone(Option<String>),
}

/// Asks the server on `socket` to run `request`, printing what it prints.
pub fn run(socket: &Path, request: RunRequest, read_only: bool) -> Result<Ended> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .wrap_err("starting the async runtime")?;
    runtime.block_on(ask(socket, request, read_only))
}

async fn ask(socket: &Path, request: RunRequest, read_only: bool) -> Result<Ended> {
    let hello = Hello::new(Role::Run(Box::new(request)), read_only);
    let Connection {
        mut input,
        mut output,
        kind,
        pid,
        ..
    } = match handshake(socket, &hello).await {
        Ok(connection) => connection,
        // Nobody (any more) on the socket: the caller looks for the store again.
        Err(
            ClientError::Connect { .. }
            | ClientError::Closed { .. }
            | ClientError::Protocol {
                source: ProtocolError::Io(_),
                ..
            },
        ) => return Ok(Ended::NotReached),
        Err(error) => return Err(error.into()),
    };
    // A second hhdash beside a dashboard or `watch` says where its command ran (that
    // process's engines, its store); under `hhdash serve` that is the normal way, unsaid.
    let holder = match kind {
        ServerKind::Serve => None,
        ServerKind::Dashboard => Some("a dashboard"),
        ServerKind::Watch => Some("`hhdash watch`"),
    };
    if let Some(holder) = holder {
        eprintln!("hhdash: the store is held by {holder} (pid {pid}); this command runs there");
    }
    let mut closing = None;
    loop {
        let frame = match protocol::read_frame::<_, ServerFrame>(&mut input).await {
            Ok(Some(frame)) => frame,
            Ok(None) | Err(protocol::ProtocolError::Io(_)) => return Ok(Ended::Gone(closing)),
            Err(error) => return Err(error.into()),
        };
        match frame {
            ServerFrame::Stdout(text) => print!("{text}"),
            ServerFrame::Stderr(text) => eprint!("{text}"),
            ServerFrame::Prompt(question) => {
                // Asked here as in-process: a line from this terminal, None at its end.
                let answer = crate::sanitize::console::prompt(&question)?;
                // A server gone meanwhile shows as the end of the connection, next.
                let _ = protocol::write_frame(&mut output, &ClientFrame::Answer(answer)).await;
            }
            ServerFrame::Done { exit, error } => {
                return Ok(Ended::Done(match error {
                    Some(messages) => Err(crate::cli::report_of(messages)),
                    None => Ok(Outcome::from_exit_code(exit)),
                }));
            }
            ServerFrame::Closing { reason } => closing = Some(reason),
            ServerFrame::Event(_)
            | ServerFrame::SnapshotPart { .. }
            | ServerFrame::Resync
            | ServerFrame::Refused { .. } => {}
        }
    }
}
