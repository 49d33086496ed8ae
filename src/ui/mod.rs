//! ui: draws and handles keys; never performs I/O. (The one exception is `run`/`terminal`,
//! which own the terminal itself: they read keys, write frames and OSC 52, and nothing else.)
//!
//! The dashboard is one loop (`run`) over one model (`App`) that the UI task owns alone:
//! engine events are folded into it (`App::fold`), keys become `Action`s (`action::resolve`,
//! the one key table `keymap::BINDINGS`, remappable through `[ui.keys]`), actions update the
//! model (`App::update`), and the few that need the outside world come back as `Effect`s —
//! engine `Command`s made in one place (`commands.rs`), clipboard writes, quit.
//!
//! Decisions worth knowing:
//! * Read-only mode (`--read-only` or `ui.read_only`) refuses `a` and `A` with a notice; `s`
//!   (sync) stays, because a sync only fetches Git into the local store and never writes to a
//!   cluster — an operator in read-only mode still needs current Git to diagnose.
//! * The `/` filter is a case-insensitive substring over kind, name, the kind's columns, the
//!   verdict and drifted paths. No regex: it would add a dependency for little gain here.
//! * `A` lists exactly what is out of sync now and then sends `Apply(OutOfSync)`: the engine
//!   recomputes the set at apply time, so the list is what the operator approves, not a
//!   stale script.
//! * Times in the event pane and "disconnected since" are UTC (with a `Z`): on-call teams
//!   span zones, and no time-zone database is needed.

pub mod action;
pub mod app;
mod commands;
pub mod confirm;
pub mod detail;
mod draw;
pub mod events;
pub mod fabrics;
pub mod fleet;
pub mod health_view;
pub mod help;
pub mod history;
pub mod history_view;
pub use crate::keymap::key;
pub mod listing;
pub mod model;
mod run;
pub mod status_line;
pub mod switch_detail;
mod switch_nav;
pub mod table;
pub mod terminal;
pub mod theme;
pub mod view;

pub use action::{Action, KeyMap, KeyOverrides};
pub use app::{App, Effect, Focus, Options, Overlay};
pub use draw::draw;
pub use key::Key;
pub use run::{Ending, EngineHandle, ServerLink, UiError, drain, run, run_attached};
pub use theme::Theme;
pub use view::View;
