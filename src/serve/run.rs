//! serve::run: a CLI command run by the server for a client. The command is the same code the
//! client would run in-process (`cli::execute`), on a thread of its own whose console
//! (`sanitize::console`) and secret environment (`secret::env`) are the client's: its output
//! goes to the client as `Stdout`/`Stderr` frames in order, a confirmation is asked at the
//! client's terminal (`Prompt`/`Answer`), and its outcome ends the run (`Done`). Two things
//! differ from in-process, both so the server's engines stay the one truth: `sync` asks the
//! fabric's engine (`Command::SyncAndReport`), and each apply line recorded in the timeline is
//! also published to the dashboards. A client that leaves does not stop the command: its
//! output is dropped, a prompt is answered "no", and an apply finishes and is recorded.

use std::collections::VecDeque;

use color_eyre::eyre::{Result, WrapErr};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot, watch};
use zeroize::Zeroizing;

use super::hub::{self, Delivery};
use super::protocol::{self, ClientFrame, ProtocolError, RunRequest, ServerFrame};
use super::server::Shared;
use crate::cli::{self, Outcome};
use crate::config::{Config, FabricConfig};
use crate::engine::{Command, EngineEvent};
use crate::sanitize::console::{self, Capture, Emitted, Stream};
use crate::sync::SyncSummary;

/// Why a read-only client's apply is refused: the words a read-only dashboard gets.
pub const READ_ONLY_APPLY: &str = "this client attached read-only: the server refuses its applies";

/// Runs `request` and streams its output, prompts and outcome to the client.
pub async fn serve_run(
    request: RunRequest,
    read_only: bool,
    input: OwnedReadHalf,
    output: OwnedWriteHalf,
    shared: Shared,
    mut closing: watch::Receiver<Option<String>>,
) -> Result<(), ProtocolError> {
    let (emitted_tx, mut emitted) = mpsc::unbounded_channel();
    let (done_tx, mut done) = oneshot::channel();
    let mut client = Client::new(output);
    tracing::info!(command = ?request.command, read_only, "running a command for a client");
    let spawned = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("hhdash-run".into())
            .spawn(move || {
                let capture = Capture {
                    emitted: emitted_tx,
                    stdin_terminal: request.stdin_terminal,
                };
                let result = console::capture(capture, || run_request(request, read_only, &shared));
                let _ = done_tx.send(result.map_err(|report| {
                    tracing::info!("the command failed: {report:#}");
                    report.chain().map(|e| e.to_string()).collect::<Vec<_>>()
                }));
            })
    };
    if let Err(error) = spawned {
        let done = ServerFrame::Done {
            exit: 2,
            error: Some(vec![format!(
                "the server could not start the command: {error}"
            )]),
        };
        client.send(&done).await;
        return Ok(());
    }
    let (answers_tx, mut answers) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_answers(input, answers_tx));
    let mut answers_open = true;
    let mut waiting: VecDeque<std::sync::mpsc::Sender<Option<String>>> = VecDeque::new();
    let mut closing_told = false;
    let result = loop {
        tokio::select! {
            biased;
            item = emitted.recv() => match item {
                Some(Emitted::Output(stream, text)) => {
                    let frame = match stream {
                        Stream::Stdout => ServerFrame::Stdout(text),
                        Stream::Stderr => ServerFrame::Stderr(text),
                    };
                    client.send(&frame).await;
                }
                Some(Emitted::Prompt(question, reply)) => {
                    if answers_open && client.send(&ServerFrame::Prompt(question)).await {
                        waiting.push_back(reply);
                    } else {
                        let _ = reply.send(None);
                    }
                }
                // The capture ended: the outcome follows.
                None => break (&mut done).await,
            },
            answer = answers.recv(), if answers_open => match answer {
                Some(answer) => {
                    if let Some(reply) = waiting.pop_front() {
                        let _ = reply.send(answer);
                    }
                }
                None => {
                    answers_open = false;
                    tracing::info!("the client left; its command goes on");
                    for reply in waiting.drain(..) {
                        let _ = reply.send(None);
                    }
                }
            },
            _ = closing.changed(), if !closing_told => {
                closing_told = true;
                let reason = closing.borrow().clone().unwrap_or_default();
                client.send(&ServerFrame::Closing { reason }).await;
            }
        }
    };
    let done = match result {
        Ok(Ok(outcome)) => ServerFrame::Done {
            exit: outcome.exit_code(),
            error: None,
        },
        Ok(Err(chain)) => ServerFrame::Done {
            exit: 2,
            error: Some(chain),
        },
        Err(_) => ServerFrame::Done {
            exit: 2,
            error: Some(vec![
                "the command stopped unexpectedly on the server; see the server's log file".into(),
            ]),
        },
    };
    client.send(&done).await;
    reader.abort();
    Ok(())
}

/// The client's end, until it is gone (then what it would have got is dropped).
struct Client {
    output: Option<OwnedWriteHalf>,
}

impl Client {
    fn new(output: OwnedWriteHalf) -> Client {
        Client {
            output: Some(output),
        }
    }

    /// Sends `frame`; false when the client is gone.
    async fn send(&mut self, frame: &ServerFrame) -> bool {
        let Some(output) = &mut self.output else {
            return false;
        };
        if protocol::write_frame(output, frame).await.is_err() {
            self.output = None;
            return false;
        }
        true
    }
}

/// The client's answers to prompts, until it closes the connection.
async fn read_answers(mut input: OwnedReadHalf, answers: mpsc::UnboundedSender<Option<String>>) {
    while let Ok(Some(frame)) = protocol::read_frame::<_, ClientFrame>(&mut input).await {
        if let ClientFrame::Answer(answer) = frame
            && answers.send(answer).is_err()
        {
            return;
        }
    }
}

/// A runtime on the calling thread: the command's async parts print from the thread whose
/// console is captured.
fn current_thread() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .wrap_err("starting the async runtime")
}

/// The command, as `cli` runs it in-process, with the client's configuration, key file and
/// secret variables, on the server's store; `sync` through the engines.
fn run_request(request: RunRequest, read_only: bool, shared: &Shared) -> Result<Outcome> {
    let RunRequest {
        command,
        config,
        key_file,
        env,
        stdin,
        ..
    } = request;
    // A token read from the client's standard input is wiped when the run ends.
    let stdin = stdin.map(Zeroizing::new);
    crate::secret::env::with_overlay(env, || {
        let config = Config::load(&config)?;
        cli::preflight(&command, &config)?;
        let git_cache_dir = config
            .git_cache_dir
            .clone()
            .unwrap_or_else(|| shared.git_cache_dir.clone());
        let engine_runtime = current_thread()?;
        let sync_one =
            |fabric: &FabricConfig| engine_runtime.block_on(engine_sync(shared, &fabric.name));
        let dashboards = shared.engines.events();
        let context = cli::Context {
            config: &config,
            store: shared.engines.store(),
            key_file: &key_file,
            git_cache_dir,
            sync_one: &sync_one,
            runtime: current_thread,
            stdin: stdin.as_ref().map(|bytes| bytes.as_slice()),
            refuse_apply: read_only.then_some(READ_ONLY_APPLY),
            publish: Some(&dashboards),
        };
        cli::execute(&command, &context)
    })
}

/// A sync of `fabric` by its engine (started if need be) that began after this call, and what
/// it committed or why it failed.
async fn engine_sync(shared: &Shared, fabric: &str) -> Result<SyncSummary, String> {
    let names = [fabric.to_string()];
    let (_, engine) = shared
        .engines
        .ensure(Some(&names[..]))?
        .into_iter()
        .next()
        .ok_or_else(|| format!("fabric {fabric}: the server runs no engine for it"))?;
    // Subscribed before asking, so the answer cannot pass unseen.
    let mut deliveries = shared
        .hub
        .subscribe(Some(names.to_vec()), hub::SUBSCRIBER_QUEUE)
        .await
        .ok_or("the server is stopping")?;
    let stopped = || format!("fabric {fabric}: the engine stopped before the sync ended");
    let mut ticket = shared.next_ticket();
    engine
        .send(Command::SyncAndReport(ticket))
        .await
        .map_err(|_| stopped())?;
    loop {
        match deliveries.recv().await {
            Some(Delivery::Event(event)) => {
                if let EngineEvent::Synced {
                    tickets, outcome, ..
                } = &*event
                    && tickets.contains(&ticket)
                {
                    return outcome.clone();
                }
            }
            // Events were dropped, the answer perhaps with them: ask for another sync.
            Some(Delivery::Resync) => {
                ticket = shared.next_ticket();
                engine
                    .send(Command::SyncAndReport(ticket))
                    .await
                    .map_err(|_| stopped())?;
            }
            None => return Err(stopped()),
        }
    }
}
