//! ui::run: the dashboard's one loop. Input, engine events, a slow tick and signals meet in a
//! single `tokio::select!`; engine events are drained before drawing, and a frame is drawn
//! only when something changed. Commands go to the engines with `try_send`, so the UI never
//! waits on them.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;

use crate::engine::{Command, EngineEvent};
use crate::status;

use super::app::{App, Effect, Options};
use super::terminal::{self, Term};

/// Ages and staleness move at this pace; nothing else needs a timer.
const TICK: Duration = Duration::from_secs(1);
/// At most this many engine events are folded before a frame, so a firehose cannot starve
/// the keyboard.
const MAX_DRAIN: usize = 50_000;

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error(
        "cannot open the dashboard: {0}; hhdash needs an interactive terminal (over SSH use `ssh -t`)"
    )]
    Terminal(std::io::Error),
    #[error("drawing the dashboard failed: {0}")]
    Draw(std::io::Error),
    #[error("reading the keyboard failed: {0}")]
    Input(std::io::Error),
}

/// A fabric's name and the channel its engine takes commands on.
pub type EngineHandle = (String, mpsc::Sender<Command>);

/// Folds every engine event already waiting (up to a bound) into the model. Returns how many.
pub fn drain(app: &mut App, events: &mut mpsc::Receiver<EngineEvent>) -> usize {
    let mut folded = 0;
    while folded < MAX_DRAIN {
        match events.try_recv() {
            Ok(event) => {
                app.fold(event);
                folded += 1;
            }
            Err(_) => break,
        }
    }
    folded
}

/// Carries out an effect that leaves the model. Returns false to quit.
fn perform(app: &mut App, terminal: &mut Term, engines: &[EngineHandle], effect: Effect) -> bool {
    match effect {
        Effect::Quit => return false,
        Effect::Copy { text } => {
            if let Err(error) = terminal::copy(terminal.backend_mut(), &text) {
                app.command_failed("clipboard", &error.to_string());
            }
        }
        Effect::Send { fabric, command } => {
            let Some((_, sender)) = engines.iter().find(|(name, _)| *name == fabric) else {
                app.command_failed(&fabric, "no engine runs for this fabric");
                return true;
            };
            match sender.try_send(command) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    app.command_failed(&fabric, "the engine is busy; try again in a moment")
                }
                Err(mpsc::error::TrySendError::Closed(_)) => app.command_failed(
                    &fabric,
                    "the engine has stopped; see the log file and restart hhdash",
                ),
            }
        }
    }
    true
}

/// How an attached dashboard ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The operator quit.
    Quit,
    /// The server went away and the operator chose to run the engines in this process.
    ContinueInProcess,
}

/// What an attached dashboard knows of its server: who it is and, once the event stream has
/// ended, why.
pub struct ServerLink {
    pub pid: u32,
    pub ended: crate::serve::client::Ended,
}

/// Runs the dashboard until the operator quits. Each engine's first event is expected to be
/// a `Snapshot` from the store, so the screen fills before any network I/O.
pub async fn run(
    options: Options,
    engines: Vec<EngineHandle>,
    events: mpsc::Receiver<EngineEvent>,
) -> Result<(), UiError> {
    run_with(options, engines, events, None).await.map(|_| ())
}

/// The dashboard attached to a server (`serve::client`): the same, and when the server goes
/// away it says so and offers `R` (continue in-process) or `q`.
pub async fn run_attached(
    options: Options,
    engines: Vec<EngineHandle>,
    events: mpsc::Receiver<EngineEvent>,
    server: ServerLink,
) -> Result<Ending, UiError> {
    run_with(options, engines, events, Some(server)).await
}

async fn run_with(
    options: Options,
    engines: Vec<EngineHandle>,
    mut events: mpsc::Receiver<EngineEvent>,
    server: Option<ServerLink>,
) -> Result<Ending, UiError> {
    let mut app = App::new(
        engines.iter().map(|(name, _)| name.clone()),
        options,
        status::now(),
    );
    let (mut terminal, guard) = terminal::enter().map_err(UiError::Terminal)?;
    // The engines are the server's (this process's, or another's): quitting leaves them to it.
    let result = event_loop(&mut app, &mut terminal, &engines, &mut events, server).await;
    drop(guard);
    result
}

/// The key that continues in-process once the server has gone (`q` quits as always).
const CONTINUE_KEY: char = 'R';

/// The server-gone line over the footer: it stays until the operator chooses.
fn draw_gone(frame: &mut ratatui::Frame, app: &App, message: &str) {
    use ratatui::widgets::Paragraph;
    let area = frame.area();
    if area.height == 0 {
        return;
    }
    let line = ratatui::layout::Rect::new(area.x, area.bottom() - 1, area.width, 1);
    let text = format!("✗ {message} — press {CONTINUE_KEY} to continue in-process, q to quit");
    frame.render_widget(ratatui::widgets::Clear, line);
    frame.render_widget(
        Paragraph::new(text).style(app.theme.tone(super::theme::Tone::Bad)),
        line,
    );
}

/// What the operator's key means once the server has gone: `R` continues, `q` quits; other
/// keys browse the frozen view.
fn gone_choice(event: &crossterm::event::Event) -> Option<Ending> {
    use crossterm::event::{Event, KeyCode, KeyEventKind};
    let Event::Key(key) = event else { return None };
    if key.kind == KeyEventKind::Release {
        return None;
    }
    match key.code {
        KeyCode::Char(CONTINUE_KEY) => Some(Ending::ContinueInProcess),
        KeyCode::Char('q') => Some(Ending::Quit),
        _ => None,
    }
}

async fn event_loop(
    app: &mut App,
    terminal: &mut Term,
    engines: &[EngineHandle],
    events: &mut mpsc::Receiver<EngineEvent>,
    server: Option<ServerLink>,
) -> Result<Ending, UiError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut input = crossterm::event::EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A dropped SSH session sends SIGHUP; a supervisor sends SIGTERM. Both restore and leave.
    let mut hangup = signal(SignalKind::hangup()).map_err(UiError::Terminal)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(UiError::Terminal)?;
    // Made once, like the others: a listener made per pass misses a SIGINT sent meanwhile.
    let mut interrupt = signal(SignalKind::interrupt()).map_err(UiError::Terminal)?;
    let mut engines_open = true;
    // Set when the attached server has gone: the line that says so.
    let mut gone: Option<String> = None;
    loop {
        if app.take_dirty() {
            terminal
                .draw(|frame| {
                    super::draw(frame, app);
                    if let Some(message) = &gone {
                        draw_gone(frame, app, message);
                    }
                })
                .map_err(UiError::Draw)?;
        }
        let effects = tokio::select! {
            received = input.next() => match received {
                Some(Ok(event)) => match gone.as_ref().and_then(|_| gone_choice(&event)) {
                    Some(ending) => return Ok(ending),
                    None => app.on_terminal_event(event),
                },
                Some(Err(error)) => return Err(UiError::Input(error)),
                None => return Ok(Ending::Quit),
            },
            received = events.recv(), if engines_open => {
                match received {
                    Some(event) => {
                        app.fold(event);
                        drain(app, events);
                    }
                    None => {
                        engines_open = false;
                        match &server {
                            Some(server) => {
                                let reason = server.ended.reason().unwrap_or_else(|| "the connection ended".into());
                                gone = Some(crate::serve::client::gone_message(server.pid, &reason));
                                app.tick(status::now());
                            }
                            None => app.command_failed("all fabrics", "the engines stopped; the view is frozen"),
                        }
                    }
                }
                Vec::new()
            }
            _ = tick.tick() => {
                app.tick(status::now());
                Vec::new()
            }
            _ = interrupt.recv() => vec![Effect::Quit],
            _ = hangup.recv() => vec![Effect::Quit],
            _ = terminate.recv() => vec![Effect::Quit],
        };
        // Commands made while folding (the History view's queries, the detail's Explain), then
        // the action's own effects (a quit last).
        let mut effects = effects;
        let mut queued = app.take_effects();
        queued.append(&mut effects);
        for effect in queued {
            if gone.is_some() && matches!(effect, Effect::Send { .. }) {
                // Nobody takes it: the line at the bottom already says why.
                continue;
            }
            if !perform(app, terminal, engines, effect) {
                return Ok(Ending::Quit);
            }
        }
    }
}
