//! serve::server: the store owner's side of the socket. It binds the store's socket (a socket
//! file left by a crash is replaced: holding the store's lock proves no live server owns it),
//! starts fabric engines on demand, feeds their events to the hub, and serves each client in a
//! session: a subscriber gets the hub's deliveries and may send engine commands (applies
//! refused when it attached read-only); a command runs through `serve::run`.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};

use super::hub::{self, Delivery, HubHandle};
use super::protocol::{
    self, ClientFrame, HHDASH_VERSION, Hello, PROTOCOL_VERSION, Role, ServerFrame, ServerKind,
    Welcome,
};
use crate::config::Config;
use crate::engine::{Command, EngineContext, EngineEvent};
use crate::kinds::ObjectKey;
use crate::store::{Store, TimelineQuery};

/// A fabric's name and the channel its engine takes commands on (what the dashboard drives).
pub type EngineHandle = (String, mpsc::Sender<Command>);

/// How long a client has to say who it is.
const HANDSHAKE_WITHIN: Duration = Duration::from_secs(10);
/// Room for the engines' events before the hub takes them (it never waits on a client).
const ENGINE_EVENTS: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    SocketDir(#[from] super::paths::SocketDirError),
    #[error("cannot listen on {path}: {source}")]
    Bind {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a server is made of.
pub struct ServerSetup {
    pub kind: ServerKind,
    pub config: Config,
    pub store: Arc<Store>,
    pub store_path: PathBuf,
    pub key_file: PathBuf,
    pub git_cache_dir: PathBuf,
}

/// The fabric engines a server runs, started on first use (a `watch` server runs one; a
/// dashboard attaching to it starts the others).
pub struct Engines {
    config: Config,
    ctx: Arc<EngineContext>,
    events: mpsc::Sender<EngineEvent>,
    running: Mutex<BTreeMap<String, mpsc::Sender<Command>>>,
}

impl Engines {
    /// The handles of these fabrics' engines (every configured fabric when `None`), starting
    /// any not running yet. Err names a fabric the configuration does not have.
    pub fn ensure(&self, fabrics: Option<&[String]>) -> Result<Vec<EngineHandle>, String> {
        let wanted: Vec<&crate::config::FabricConfig> = match fabrics {
            None => self.config.fabrics.iter().collect(),
            Some(names) => names
                .iter()
                .map(|name| self.config.fabric(name).map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?,
        };
        let mut running = self.running.lock().expect("engine directory");
        Ok(wanted
            .into_iter()
            .map(|fabric| {
                let sender = running
                    .entry(fabric.name.clone())
                    .or_insert_with(|| {
                        crate::engine::spawn(fabric.clone(), self.ctx.clone(), self.events.clone())
                    })
                    .clone();
                (fabric.name.clone(), sender)
            })
            .collect())
    }

    /// The engine of a running fabric.
    pub fn sender(&self, fabric: &str) -> Option<mpsc::Sender<Command>> {
        self.running
            .lock()
            .expect("engine directory")
            .get(fabric)
            .cloned()
    }

    /// The fabrics whose engines run.
    pub fn names(&self) -> Vec<String> {
        self.running
            .lock()
            .expect("engine directory")
            .keys()
            .cloned()
            .collect()
    }

    /// Where engines (and a command run by the server) publish events for every subscriber.
    pub fn events(&self) -> mpsc::Sender<EngineEvent> {
        self.events.clone()
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.ctx.store
    }

    async fn shutdown(&self) {
        let senders: Vec<_> = self
            .running
            .lock()
            .expect("engine directory")
            .values()
            .cloned()
            .collect();
        for sender in senders {
            let _ = sender.send(Command::Shutdown).await;
        }
    }
}

/// What a command run on the server may use (`serve::run`).
#[derive(Clone)]
pub struct Shared {
    pub kind: ServerKind,
    pub store_path: PathBuf,
    pub git_cache_dir: PathBuf,
    pub engines: Arc<Engines>,
    pub hub: HubHandle,
    /// Tickets for `Command::SyncAndReport`, unique in this server.
    pub tickets: Arc<AtomicU64>,
}

impl Shared {
    pub fn next_ticket(&self) -> u64 {
        self.tickets.fetch_add(1, Ordering::Relaxed)
    }
}

/// A running server. Dropping it without `shutdown` leaves the socket file behind (the next
/// server replaces it).
pub struct Server {
    shared: Shared,
    /// Where clients reach it, or why they cannot (the engines run either way).
    listening: Result<PathBuf, ServeError>,
    closing: watch::Sender<Option<String>>,
    accept: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Starts the engines' hub and listens on the store's socket, on the current runtime.
    /// Call with the store open (its lock held): that is what makes a socket file found there
    /// stale. A socket that cannot be bound leaves a server only this process uses
    /// (`listening` says why); `hhdash serve` refuses to run so, a dashboard goes on.
    pub async fn start(setup: ServerSetup) -> Server {
        let listening = super::paths::socket_for(&setup.store_path)
            .map_err(ServeError::from)
            .and_then(|socket| bind(&socket).map(|listener| (socket, listener)));
        let (events_tx, events_rx) = mpsc::channel(ENGINE_EVENTS);
        let hub = hub::spawn(events_rx);
        crate::memory::spawn_trimmer();
        let ctx = Arc::new(EngineContext {
            store: setup.store,
            key_file: setup.key_file,
            git_cache_dir: setup.git_cache_dir.clone(),
        });
        let engines = Arc::new(Engines {
            config: setup.config,
            ctx,
            events: events_tx,
            running: Mutex::new(BTreeMap::new()),
        });
        let shared = Shared {
            kind: setup.kind,
            store_path: super::paths::canonical_store_path(&setup.store_path),
            git_cache_dir: setup.git_cache_dir,
            engines,
            hub,
            tickets: Arc::new(AtomicU64::new(1)),
        };
        let (closing, closing_rx) = watch::channel(None);
        let (listening, accept) = match listening {
            Ok((socket, listener)) => {
                let accept = tokio::spawn(accept_loop(listener, shared.clone(), closing_rx));
                (Ok(socket), Some(accept))
            }
            Err(error) => {
                tracing::warn!("not sharing the engines with other hhdash processes: {error}");
                (Err(error), None)
            }
        };
        Server {
            shared,
            listening,
            closing,
            accept,
        }
    }

    /// The socket clients reach this server on, or why there is none.
    pub fn listening(&self) -> Result<&std::path::Path, &ServeError> {
        self.listening.as_deref()
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// An in-process client (the dashboard or `watch` of this process): the engines of these
    /// fabrics (started if need be) and the events a socket subscriber would get.
    pub async fn local(
        &self,
        fabrics: Option<&[String]>,
    ) -> Result<(Vec<EngineHandle>, mpsc::Receiver<EngineEvent>), String> {
        let handles = self.shared.engines.ensure(fabrics)?;
        let deliveries = self
            .shared
            .hub
            .subscribe(fabrics.map(<[String]>::to_vec), hub::SUBSCRIBER_QUEUE)
            .await
            .ok_or("the server has stopped")?;
        Ok((handles, hub::events_of(deliveries)))
    }

    /// Tells every client why the server stops, stops the engines and removes the socket.
    pub async fn shutdown(self, reason: &str) {
        let _ = self.closing.send(Some(reason.to_string()));
        if let Some(accept) = &self.accept {
            accept.abort();
        }
        if let Ok(socket) = &self.listening {
            let _ = std::fs::remove_file(socket);
        }
        self.shared.engines.shutdown().await;
        // The sessions write their `Closing` frame on their own tasks: give them a moment.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Listens on `path`, replacing a socket file a crashed server left. Only this user may
/// connect (the directory is private too).
fn bind(path: &std::path::Path) -> Result<UnixListener, ServeError> {
    let bind_error = |source| ServeError::Bind {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::remove_file(path) {
        Ok(()) => tracing::info!("replaced the stale socket {}", path.display()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(bind_error(error)),
    }
    let listener = UnixListener::bind(path).map_err(bind_error)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(bind_error)?;
    Ok(listener)
}

async fn accept_loop(
    listener: UnixListener,
    shared: Shared,
    closing: watch::Receiver<Option<String>>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let shared = shared.clone();
                let closing = closing.clone();
                tokio::spawn(async move {
                    if let Err(error) = session(stream, shared, closing).await {
                        tracing::info!("a client session ended: {error}");
                    }
                });
            }
            Err(error) => {
                tracing::warn!("accepting a client failed: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn session(
    stream: UnixStream,
    shared: Shared,
    closing: watch::Receiver<Option<String>>,
) -> Result<(), protocol::ProtocolError> {
    // The directory is private, but a socket passed on or a lax runtime dir must not let
    // another user drive this user's clusters.
    if stream.peer_cred().map(|c| c.uid()).ok() != Some(super::paths::uid()) {
        return Ok(());
    }
    let (mut input, mut output) = stream.into_split();
    let first = match tokio::time::timeout(HANDSHAKE_WITHIN, protocol::read_bytes(&mut input)).await
    {
        Ok(Ok(Some(bytes))) => bytes,
        _ => return Ok(()),
    };
    let hello: Hello = match protocol::check_version("client", &first)
        .and_then(|()| serde_json::from_slice(&first).map_err(Into::into))
    {
        Ok(hello) => hello,
        Err(error) => {
            let refused = Welcome::refused(error.to_string());
            return protocol::write_frame(&mut output, &refused).await;
        }
    };
    // A subscriber's fabrics (every fabric when it names none) run before it is accepted.
    let subscribed = match &hello.role {
        Role::Subscribe { fabrics } => Some((!fabrics.is_empty()).then(|| fabrics.clone())),
        Role::Run(_) => None,
    };
    if let Some(fabrics) = &subscribed
        && let Err(reason) = shared.engines.ensure(fabrics.as_deref())
    {
        return protocol::write_frame(&mut output, &Welcome::refused(reason)).await;
    }
    let welcome = Welcome::Accepted {
        protocol: PROTOCOL_VERSION,
        version: HHDASH_VERSION.to_string(),
        pid: std::process::id(),
        kind: shared.kind.clone(),
        fabrics: shared.engines.names(),
        store: shared.store_path.clone(),
    };
    protocol::write_frame(&mut output, &welcome).await?;
    tracing::info!(
        pid = hello.pid,
        read_only = hello.read_only,
        "a client attached"
    );
    match hello.role {
        Role::Run(request) => {
            super::run::serve_run(*request, hello.read_only, input, output, shared, closing).await
        }
        Role::Subscribe { .. } => {
            let fabrics = subscribed.flatten();
            subscriber(input, output, shared, fabrics, hello.read_only, closing).await
        }
    }
}

/// What a subscriber asked that only it should hear the answer to.
#[derive(Default)]
struct Asked {
    explain: HashSet<(String, ObjectKey)>,
    history: Vec<(String, TimelineQuery)>,
}

impl Asked {
    fn note(&mut self, fabric: &str, command: &Command) {
        match command {
            Command::Explain(key) => {
                self.explain.insert((fabric.to_string(), key.clone()));
            }
            Command::History(query) => self.history.push((fabric.to_string(), query.clone())),
            _ => {}
        }
    }

    /// Whether this subscriber gets `event`: answers go to the subscriber that asked.
    fn wants(&mut self, event: &EngineEvent) -> bool {
        match event {
            EngineEvent::Synced { .. } => false,
            EngineEvent::Explained {
                fabric,
                explanation,
            } => self
                .explain
                .remove(&(fabric.clone(), explanation.key.clone())),
            EngineEvent::History { fabric, query, .. } => {
                match self
                    .history
                    .iter()
                    .position(|(f, q)| f == fabric && q == query)
                {
                    Some(at) => {
                        self.history.remove(at);
                        true
                    }
                    None => false,
                }
            }
            _ => true,
        }
    }
}

async fn subscriber(
    mut input: tokio::net::unix::OwnedReadHalf,
    mut output: tokio::net::unix::OwnedWriteHalf,
    shared: Shared,
    fabrics: Option<Vec<String>>,
    read_only: bool,
    mut closing: watch::Receiver<Option<String>>,
) -> Result<(), protocol::ProtocolError> {
    let Some(mut deliveries) = shared
        .hub
        .subscribe(fabrics.clone(), hub::SUBSCRIBER_QUEUE)
        .await
    else {
        return Ok(());
    };
    let asked = Arc::new(Mutex::new(Asked::default()));
    // Refusals go out through the writer, in order with the events.
    let (refusals_tx, mut refusals) = mpsc::unbounded_channel::<ServerFrame>();
    let reader = {
        let asked = asked.clone();
        let shared = shared.clone();
        async move {
            while let Some(frame) = protocol::read_frame::<_, ClientFrame>(&mut input).await? {
                let ClientFrame::Command { fabric, command } = frame else {
                    continue;
                };
                let refuse = |message: &str| {
                    let _ = refusals_tx.send(ServerFrame::Refused {
                        fabric: fabric.clone(),
                        message: message.to_string(),
                    });
                };
                // The engines are shared: one client quitting must not stop them for all.
                if matches!(command, Command::Shutdown) {
                    refuse("a client cannot stop the server's engines");
                    continue;
                }
                if read_only && matches!(command, Command::Apply(_)) {
                    refuse(super::run::READ_ONLY_APPLY);
                    continue;
                }
                if fabrics
                    .as_ref()
                    .is_some_and(|names| !names.contains(&fabric))
                {
                    refuse("this client did not subscribe to the fabric");
                    continue;
                }
                let Some(engine) = shared.engines.sender(&fabric) else {
                    refuse("no engine runs for this fabric on the server");
                    continue;
                };
                asked.lock().expect("asked").note(&fabric, &command);
                match engine.try_send(command) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        refuse("the engine is busy; try again in a moment")
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        refuse("the engine has stopped; see the server's log file")
                    }
                }
            }
            Ok::<(), protocol::ProtocolError>(())
        }
    };
    let writer = async move {
        loop {
            tokio::select! {
                delivery = deliveries.recv() => match delivery {
                    Some(Delivery::Event(event)) => {
                        if asked.lock().expect("asked").wants(&event) {
                            for frame in protocol::encode_event_frames(&event) {
                                protocol::write_bytes(&mut output, &frame?).await?;
                            }
                        }
                    }
                    Some(Delivery::Resync) => protocol::write_frame(&mut output, &ServerFrame::Resync).await?,
                    None => return Ok(()),
                },
                Some(refusal) = refusals.recv() => protocol::write_frame(&mut output, &refusal).await?,
                _ = closing.changed() => {
                    let reason = closing.borrow().clone().unwrap_or_default();
                    protocol::write_frame(&mut output, &ServerFrame::Closing { reason }).await?;
                    return Ok(());
                }
            }
        }
    };
    // Either side ending ends the session: a client gone, or the server closing.
    tokio::select! {
        result = reader => result,
        result = writer => result,
    }
}
