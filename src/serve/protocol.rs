//! serve::protocol: what a client and a server say over the socket. Every frame is a 4-byte
//! big-endian length and that many bytes of JSON. The first frame each way is the handshake
//! (`Hello`, then `Welcome`); it is read as plain JSON first, so that a client and server of
//! different protocol versions can still tell each other so in words.

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::engine::{Command, EngineEvent, ResourceRow};

/// Bumped whenever a frame's meaning or shape changes. A client and a server of different
/// versions refuse each other (`check_version`).
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest frame either side accepts: a snapshot of a 50,000-object fabric fits.
pub const MAX_FRAME: usize = 1 << 30;

/// The hhdash release this binary is, for the messages about versions.
pub const HHDASH_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A client's first frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub version: String,
    pub pid: u32,
    /// This client may not write to any cluster: the server refuses its applies.
    pub read_only: bool,
    pub role: Role,
}

impl Hello {
    pub fn new(role: Role, read_only: bool) -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            version: HHDASH_VERSION.to_string(),
            pid: std::process::id(),
            read_only,
            role,
        }
    }
}

/// What the client wants of the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Role {
    /// Engine events for these fabrics (every fabric the server has when empty): a `Snapshot`
    /// of each, then updates; the client may send `ClientFrame::Command`s.
    Subscribe { fabrics: Vec<String> },
    /// Run one CLI command as if the client ran it in-process, printing through the client.
    Run(Box<RunRequest>),
}

/// One CLI command to run on the server, with what it would have read from the client's
/// process: its configuration and key file paths, and the environment variables the
/// configuration names for tokens (the server's own environment is not the client's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRequest {
    pub command: crate::cli::Command,
    pub config: PathBuf,
    pub key_file: PathBuf,
    pub env: Vec<(String, String)>,
    /// Whether the client's standard input is a terminal (a prompt is only asked there).
    pub stdin_terminal: bool,
    /// Standard input, for the commands that read it whole (`secret set`).
    pub stdin: Option<Vec<u8>>,
}

/// What kind of process serves the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerKind {
    /// `hhdash serve`.
    Serve,
    /// A dashboard that runs the engines in-process.
    Dashboard,
    /// `hhdash watch` running its engine in-process.
    Watch,
}

/// The server's first frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Welcome {
    Accepted {
        protocol: u32,
        version: String,
        pid: u32,
        kind: ServerKind,
        /// The fabrics the server runs engines for.
        fabrics: Vec<String>,
        store: PathBuf,
    },
    Refused {
        protocol: u32,
        version: String,
        reason: String,
    },
}

impl Welcome {
    /// A refusal from this release, saying why.
    pub fn refused(reason: String) -> Welcome {
        Welcome::Refused {
            protocol: PROTOCOL_VERSION,
            version: HHDASH_VERSION.to_string(),
            reason,
        }
    }
}

/// A client's frames after the handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientFrame {
    /// A command for one fabric's engine (a subscriber's).
    Command { fabric: String, command: Command },
    /// The line the operator typed at a `ServerFrame::Prompt` (None: no answer, e.g. end of
    /// input).
    Answer(Option<String>),
}

/// A server's frames after the handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ServerFrame {
    Event(Box<EngineEvent>),
    /// Rows of a fabric's `Snapshot` sent ahead of it (`encode_snapshot`): the client keeps
    /// them and puts them in front of the `Snapshot`'s own rows, which end it.
    SnapshotPart {
        fabric: String,
        rows: Vec<ResourceRow>,
    },
    /// The client fell behind and events were dropped: a `Snapshot` of every subscribed
    /// fabric follows, then updates again.
    Resync,
    /// A command this client may not send (read-only, unknown fabric).
    Refused {
        fabric: String,
        message: String,
    },
    /// A running command's output, exactly as it printed it.
    Stdout(String),
    Stderr(String),
    /// The command asks the operator: print this, read a line, send `ClientFrame::Answer`.
    Prompt(String),
    /// The command ended: its exit code and, for an error, its report's messages, outermost
    /// first (the client reports it as the command would have).
    Done {
        exit: u8,
        error: Option<Vec<String>>,
    },
    /// The server is stopping; the client says why.
    Closing {
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("a frame of {0} bytes is larger than the {MAX_FRAME} allowed")]
    TooLarge(usize),
    #[error("a frame could not be read: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("{0}")]
    Version(String),
}

/// Writes one frame.
pub async fn write_frame<W, T>(out: &mut W, frame: &T) -> Result<(), ProtocolError>
where
    W: AsyncWrite + Unpin,
    T: Serialize + ?Sized,
{
    let bytes = serde_json::to_vec(frame)?;
    write_bytes(out, &bytes).await
}

/// A `ServerFrame::Event` frame's bytes, encoded from a shared event without copying it.
pub fn encode_event(event: &EngineEvent) -> serde_json::Result<Vec<u8>> {
    #[derive(Serialize)]
    enum Borrowed<'a> {
        Event(&'a EngineEvent),
    }
    serde_json::to_vec(&Borrowed::Event(event))
}

/// Rows a snapshot frame carries at most: a large fabric's snapshot goes as several frames,
/// so the client parses one while the server encodes the next (attaching to 10,000 objects
/// costs about the larger of the two, not their sum).
pub const SNAPSHOT_PART_ROWS: usize = 1000;

/// An event's frames: one, or for a large `Snapshot` its `SnapshotPart`s and then the
/// `Snapshot` with its last rows. Each frame is encoded when it is taken, without copying rows.
pub fn encode_event_frames(
    event: &EngineEvent,
) -> Box<dyn Iterator<Item = serde_json::Result<Vec<u8>>> + Send + '_> {
    #[derive(Serialize)]
    enum Borrowed<'a> {
        SnapshotPart {
            fabric: &'a str,
            rows: &'a [ResourceRow],
        },
        Event(BorrowedEvent<'a>),
    }
    #[derive(Serialize)]
    enum BorrowedEvent<'a> {
        Snapshot {
            fabric: &'a str,
            status: &'a crate::status::FabricStatus,
            rows: &'a [ResourceRow],
            events: &'a [crate::store::LogEntry],
            switches: &'a [crate::health::SwitchHealth],
        },
    }
    let EngineEvent::Snapshot {
        fabric,
        status,
        rows,
        events,
        switches,
    } = event
    else {
        return Box::new(std::iter::once_with(move || encode_event(event)));
    };
    let mut chunks: Vec<&[ResourceRow]> = rows.chunks(SNAPSHOT_PART_ROWS).collect();
    let last = chunks.pop().unwrap_or_default();
    let ahead = chunks
        .into_iter()
        .map(move |rows| serde_json::to_vec(&Borrowed::SnapshotPart { fabric, rows }));
    let end = std::iter::once_with(move || {
        serde_json::to_vec(&Borrowed::Event(BorrowedEvent::Snapshot {
            fabric,
            status,
            rows: last,
            events,
            switches,
        }))
    });
    Box::new(ahead.chain(end))
}

/// Writes one frame already encoded (`encode`), e.g. one event sent to many clients.
pub async fn write_bytes<W>(out: &mut W, bytes: &[u8]) -> Result<(), ProtocolError>
where
    W: AsyncWrite + Unpin,
{
    if bytes.len() > MAX_FRAME {
        return Err(ProtocolError::TooLarge(bytes.len()));
    }
    let length = u32::try_from(bytes.len()).map_err(|_| ProtocolError::TooLarge(bytes.len()))?;
    out.write_all(&length.to_be_bytes()).await?;
    out.write_all(bytes).await?;
    out.flush().await?;
    Ok(())
}

/// Reads one frame's bytes; `None` when the peer closed the connection between frames.
pub async fn read_bytes<R>(input: &mut R) -> Result<Option<Vec<u8>>, ProtocolError>
where
    R: AsyncRead + Unpin,
{
    let mut length = [0u8; 4];
    match input.read_exact(&mut length).await {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error.into()),
    }
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_FRAME {
        return Err(ProtocolError::TooLarge(length));
    }
    let mut bytes = vec![0u8; length];
    input.read_exact(&mut bytes).await?;
    Ok(Some(bytes))
}

/// Reads one frame; `None` when the peer closed the connection between frames.
pub async fn read_frame<R, T>(input: &mut R) -> Result<Option<T>, ProtocolError>
where
    R: AsyncRead + Unpin,
    T: DeserializeOwned,
{
    match read_bytes(input).await? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

/// The version check both sides make on the other's first frame, before reading the rest of
/// it: the message names both releases and what to do.
pub fn check_version(peer: &str, bytes: &[u8]) -> Result<(), ProtocolError> {
    #[derive(Deserialize)]
    struct Versions {
        protocol: Option<u32>,
        version: Option<String>,
    }
    // Both `Hello` and `Welcome`'s variants carry the two fields, at the top or one level in.
    let value: serde_json::Value = serde_json::from_slice(bytes)?;
    let object = match &value {
        serde_json::Value::Object(map) if map.len() == 1 && !map.contains_key("protocol") => {
            map.values().next().cloned().unwrap_or_default()
        }
        other => other.clone(),
    };
    let versions: Versions = serde_json::from_value(object).unwrap_or(Versions {
        protocol: None,
        version: None,
    });
    if versions.protocol == Some(PROTOCOL_VERSION) {
        return Ok(());
    }
    let theirs = versions.version.unwrap_or_else(|| "unknown".into());
    let protocol = versions
        .protocol
        .map_or_else(|| "unknown".to_string(), |p| p.to_string());
    Err(ProtocolError::Version(format!(
        "the {peer} is hhdash {theirs} (protocol {protocol}) and this is hhdash {HHDASH_VERSION} \
         (protocol {PROTOCOL_VERSION}): they cannot work together; restart the server with this \
         binary (`systemctl --user restart hhdash`, or stop `hhdash serve` and start it again)"
    )))
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
