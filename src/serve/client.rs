//! serve::client: a subscriber's side of the socket — what an attached dashboard or `watch`
//! runs on. It gives them what the in-process path gives: one command channel per fabric and
//! one stream of engine events, so the dashboard cannot tell the two apart. A refusal from the
//! server becomes a failed job of that fabric (the footer shows it); the server closing or
//! vanishing ends the event stream, and `Ended` keeps why, for the client to say.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::protocol::{
    self, ClientFrame, Hello, ProtocolError, Role, ServerFrame, ServerKind, Welcome,
};
use super::server::EngineHandle;
use crate::engine::{Command, EngineEvent, JobKind, JobPhase, ResourceRow};

/// How long the server has to answer the handshake.
const HANDSHAKE_WITHIN: Duration = Duration::from_secs(10);
/// Commands a fabric's channel holds, as many as an engine's own channel.
const COMMANDS: usize = 64;
/// Events waiting for the dashboard; behind this the client stops reading the socket and the
/// server's per-client queue takes over (it resynchronises a client that falls too far).
const EVENTS: usize = super::hub::SUBSCRIBER_QUEUE;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the hhdash server on {socket}: {source}")]
    Connect {
        socket: PathBuf,
        source: std::io::Error,
    },
    #[error("the hhdash server on {socket} did not answer within {} s", HANDSHAKE_WITHIN.as_secs())]
    Silent { socket: PathBuf },
    #[error("the hhdash server on {socket} closed the connection before answering")]
    Closed { socket: PathBuf },
    #[error("the hhdash server on {socket}: {source}")]
    Protocol {
        socket: PathBuf,
        source: ProtocolError,
    },
    #[error("the hhdash server on {socket} refused this client: {reason}")]
    Refused { socket: PathBuf, reason: String },
}

/// Why a subscription's event stream ended, once it has (set before the stream closes).
#[derive(Debug, Clone, Default)]
pub struct Ended(Arc<Mutex<Option<String>>>);

impl Ended {
    /// The reason the server gave (`Closing`), or what the connection did; None while the
    /// stream runs.
    pub fn reason(&self) -> Option<String> {
        self.0.lock().expect("end reason").clone()
    }

    fn set(&self, reason: String) {
        self.0.lock().expect("end reason").get_or_insert(reason);
    }
}

/// An attached subscriber: what `ui::run` and `cli::cluster::print_events` take.
pub struct Subscription {
    pub server_pid: u32,
    pub server_kind: ServerKind,
    pub engines: Vec<EngineHandle>,
    pub events: mpsc::Receiver<EngineEvent>,
    pub ended: Ended,
}

/// The line a client says when its server has gone (`reason` from `Ended`).
pub fn gone_message(server_pid: u32, reason: &str) -> String {
    format!("the hhdash server (pid {server_pid}) has gone away: {reason}")
}

/// A connection the server accepted: its two halves and who the server is.
pub(super) struct Connection {
    pub input: OwnedReadHalf,
    pub output: OwnedWriteHalf,
    pub pid: u32,
    pub kind: ServerKind,
    /// The fabrics the server runs engines for.
    pub fabrics: Vec<String>,
}

/// Connects to the server on `socket` and says `hello`: the connection once the server
/// accepts it, or why not (its refusal, another protocol version, silence, nobody there).
pub(super) async fn handshake(socket: &Path, hello: &Hello) -> Result<Connection, ClientError> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|source| ClientError::Connect {
            socket: socket.to_path_buf(),
            source,
        })?;
    let (mut input, mut output) = stream.into_split();
    let protocol_error = |source| ClientError::Protocol {
        socket: socket.to_path_buf(),
        source,
    };
    protocol::write_frame(&mut output, hello)
        .await
        .map_err(protocol_error)?;
    let first = tokio::time::timeout(HANDSHAKE_WITHIN, protocol::read_bytes(&mut input))
        .await
        .map_err(|_| ClientError::Silent {
            socket: socket.to_path_buf(),
        })?
        .map_err(protocol_error)?
        .ok_or_else(|| ClientError::Closed {
            socket: socket.to_path_buf(),
        })?;
    protocol::check_version("server", &first).map_err(protocol_error)?;
    let welcome: Welcome =
        serde_json::from_slice(&first).map_err(|e| protocol_error(ProtocolError::Malformed(e)))?;
    match welcome {
        Welcome::Accepted {
            pid, kind, fabrics, ..
        } => Ok(Connection {
            input,
            output,
            pid,
            kind,
            fabrics,
        }),
        Welcome::Refused { reason, .. } => Err(ClientError::Refused {
            socket: socket.to_path_buf(),
            reason,
        }),
    }
}

/// Attaches to the server on `socket` as a subscriber of these fabrics (every fabric the
/// server runs when empty). `read_only`: the server refuses this client's applies.
pub async fn subscribe(
    socket: &Path,
    fabrics: Vec<String>,
    read_only: bool,
) -> Result<Subscription, ClientError> {
    let hello = Hello::new(
        Role::Subscribe {
            fabrics: fabrics.clone(),
        },
        read_only,
    );
    let Connection {
        input,
        output,
        pid: server_pid,
        kind: server_kind,
        fabrics: served,
    } = handshake(socket, &hello).await?;
    let names = if fabrics.is_empty() { served } else { fabrics };
    let asked = Asked::default();
    let (frames_tx, frames) = mpsc::channel(COMMANDS);
    tokio::spawn(write_frames(output, frames));
    let engines = names
        .into_iter()
        .map(|fabric| {
            let (tx, rx) = mpsc::channel(COMMANDS);
            tokio::spawn(forward(
                fabric.clone(),
                rx,
                frames_tx.clone(),
                asked.clone(),
            ));
            (fabric, tx)
        })
        .collect();
    let (events_tx, events) = mpsc::channel(EVENTS);
    let ended = Ended::default();
    tokio::spawn(read_frames(input, events_tx, asked, ended.clone()));
    Ok(Subscription {
        server_pid,
        server_kind,
        engines,
        events,
        ended,
    })
}

/// The kind of job each fabric was last asked for: a refusal names only the fabric, and the
/// dashboard shows it as that job failing.
#[derive(Clone, Default)]
struct Asked(Arc<Mutex<HashMap<String, JobKind>>>);

impl Asked {
    fn note(&self, fabric: &str, command: &Command) {
        let job = match command {
            Command::Sync | Command::SyncAndReport(_) => JobKind::Sync,
            Command::Apply(_) => JobKind::Apply,
            Command::TestConnection => JobKind::Connect,
            Command::Refresh | Command::SetWatch(_) => JobKind::Refresh,
            _ => return,
        };
        self.0
            .lock()
            .expect("asked jobs")
            .insert(fabric.to_string(), job);
    }

    fn last(&self, fabric: &str) -> JobKind {
        self.0
            .lock()
            .expect("asked jobs")
            .get(fabric)
            .copied()
            // The one refusal a dashboard meets in normal use is a read-only apply.
            .unwrap_or(JobKind::Apply)
    }
}

/// One fabric's commands, onto the socket (the server refuses a client's `Shutdown`: the
/// engines are everyone's).
async fn forward(
    fabric: String,
    mut commands: mpsc::Receiver<Command>,
    frames: mpsc::Sender<ClientFrame>,
    asked: Asked,
) {
    while let Some(command) = commands.recv().await {
        asked.note(&fabric, &command);
        let frame = ClientFrame::Command {
            fabric: fabric.clone(),
            command,
        };
        if frames.send(frame).await.is_err() {
            return;
        }
    }
}

/// Writes the forwarded commands until every fabric's channel is dropped (the connection's
/// write side then closes, which ends the server's session).
async fn write_frames(mut output: OwnedWriteHalf, mut frames: mpsc::Receiver<ClientFrame>) {
    while let Some(frame) = frames.recv().await {
        if let Err(error) = protocol::write_frame(&mut output, &frame).await {
            tracing::info!("sending a command to the hhdash server failed: {error}");
            return;
        }
    }
}

/// Reads the server's frames into the event stream until the server closes or vanishes, or
/// the subscriber drops the stream.
async fn read_frames(
    mut input: OwnedReadHalf,
    events: mpsc::Sender<EngineEvent>,
    asked: Asked,
    ended: Ended,
) {
    // Rows of snapshots sent ahead of their `Snapshot` (`SnapshotPart`), by fabric.
    let mut parts: HashMap<String, Vec<ResourceRow>> = HashMap::new();
    let reason = loop {
        let event = match protocol::read_frame::<_, ServerFrame>(&mut input).await {
            Ok(Some(ServerFrame::SnapshotPart { fabric, rows })) => {
                parts.entry(fabric).or_default().extend(rows);
                continue;
            }
            Ok(Some(ServerFrame::Event(event))) => match *event {
                EngineEvent::Snapshot {
                    fabric,
                    status,
                    rows,
                    events,
                    switches,
                } => {
                    let mut all = parts.remove(&fabric).unwrap_or_default();
                    all.extend(rows);
                    EngineEvent::Snapshot {
                        fabric,
                        status,
                        rows: all,
                        events,
                        switches,
                    }
                }
                event => event,
            },
            // The snapshots that follow replace each fabric whole: nothing to do here.
            Ok(Some(ServerFrame::Resync)) => continue,
            Ok(Some(ServerFrame::Refused { fabric, message })) => EngineEvent::Job {
                job: asked.last(&fabric),
                fabric,
                phase: JobPhase::Failed {
                    message: format!("the hhdash server refused: {message}"),
                },
            },
            Ok(Some(ServerFrame::Closing { reason })) => break reason,
            // A command's output frames are not a subscriber's.
            Ok(Some(_)) => continue,
            Ok(None) => {
                break "the connection closed without a word (was the server killed?)".to_string();
            }
            Err(error) => break error.to_string(),
        };
        if events.send(event).await.is_err() {
            // The subscriber has gone: nobody is left to tell.
            return;
        }
    };
    tracing::info!("the hhdash server's event stream ended: {reason}");
    ended.set(reason);
}
