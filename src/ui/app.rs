//! ui::app: the dashboard's whole state, owned by the UI task alone. It folds `EngineEvent`s
//! into per-fabric models, turns actions into state changes, and turns the few actions that
//! need the outside world into `Effect`s (engine commands, clipboard, quit); the commands are
//! made in one place, `commands.rs`. It performs no I/O and reads no clock: `now` is handed in.

use std::collections::{BTreeSet, VecDeque};

use crate::engine::{Command, EngineEvent, JobKind, JobPhase};
use crate::status::Timestamp;
use crate::store::LogEntry;

use super::action::{self, Action, InputMode, KeyMap, KeyOverrides};
use super::confirm::Confirm;
use super::detail::{Attributor, Detail};
use super::history::History;
use super::key::Key;
use super::listing::{Listing, Sort};
use super::model::FabricModel;
use super::switch_detail::SwitchPage;
use super::theme::{Theme, Tone};
use super::view::{self, View};

/// How many lines the event pane keeps across all fabrics.
const EVENT_HISTORY: usize = 1000;
/// How long a notice stays in the footer.
const NOTICE_SECONDS: i64 = 8;

/// How the dashboard is set up: from the `[ui]` config table and the command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub read_only: bool,
    pub keys: KeyOverrides,
    /// Lines of the event pane (without its title).
    pub event_pane_lines: u16,
    pub theme: Theme,
    /// The fabrics whose config manages more than one namespace: their lists name objects
    /// `namespace/name`, so two objects of the same kind and name stay apart.
    pub multi_namespace: BTreeSet<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            read_only: false,
            keys: KeyOverrides::new(),
            event_pane_lines: 5,
            theme: Theme::from_env(),
            multi_namespace: BTreeSet::new(),
        }
    }
}

impl Options {
    /// `read_only` from the command line wins over (is OR-ed with) the config's.
    pub fn from_config(ui: &crate::config::UiConfig, read_only: bool) -> Options {
        Options {
            read_only: read_only || ui.read_only,
            keys: ui.keys.clone(),
            event_pane_lines: ui.event_pane_lines,
            theme: Theme::from_env(),
            multi_namespace: BTreeSet::new(),
        }
    }

    /// Marks the fabrics of `fabrics` that manage more than one namespace (see
    /// [`Options::multi_namespace`]).
    pub fn with_namespaces_of(mut self, fabrics: &[crate::config::FabricConfig]) -> Options {
        self.multi_namespace = fabrics
            .iter()
            .filter(|f| f.namespaces.spans_several())
            .map(|f| f.name.clone())
            .collect();
        self
    }
}

/// What the UI asks of the world after an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send {
        fabric: String,
        command: Command,
    },
    /// Put text on the clipboard (OSC 52).
    Copy {
        text: String,
    },
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Fabrics,
    Table,
    Events,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Filter,
    /// The fabric list's name filter (`/` while the list has the focus; `fleet`).
    FabricFilter,
    Jump,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub text: String,
    /// The filter before typing started, restored by esc.
    previous: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    None,
    Help { scroll: u16 },
    Confirm(Confirm),
    Prompt(Prompt),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PaneEvent {
    pub fabric: usize,
    pub event: LogEntry,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub tone: Tone,
    pub at: Timestamp,
}

#[derive(Debug)]
pub struct App {
    pub fabrics: Vec<FabricModel>,
    pub selected: usize,
    pub view: View,
    pub focus: Focus,
    pub overlay: Overlay,
    pub detail: Option<Detail>,
    /// The switch detail (`enter` on Health, `p` on a Connection), above the list it came from.
    pub switch_page: Option<SwitchPage>,
    pub filter: String,
    pub fabric_filter: String,
    pub drift_only: bool,
    pub sort: Sort,
    pub listing: Listing,
    pub events: VecDeque<PaneEvent>,
    /// Lines scrolled back from the newest event.
    pub events_scroll: usize,
    pub notice: Option<Notice>,
    pub keymap: KeyMap,
    pub read_only: bool,
    pub event_pane_lines: u16,
    pub theme: Theme,
    pub now: Timestamp,
    /// Rows the table showed in the last frame, for page up/down.
    pub page: usize,
    pub quit: bool,
    /// The History view: its filters, timelines and cursor.
    pub history: History,
    /// Who wrote a drifted field in a live object, for the detail (`attribution::attribute`;
    /// tests put a fixed answer here).
    pub attribute: Attributor,
    /// Commands made while folding events or switching views, handed out with the next
    /// `update` or `take_effects`.
    pub(super) outbox: Vec<Effect>,
    dirty: bool,
}

impl App {
    pub fn new(fabrics: impl IntoIterator<Item = String>, options: Options, now: Timestamp) -> App {
        App {
            fabrics: fabrics
                .into_iter()
                .map(|name| {
                    let mut model = FabricModel::new(name);
                    model.multi_namespace = options.multi_namespace.contains(&model.name);
                    model
                })
                .collect(),
            selected: 0,
            view: View::Drift,
            focus: Focus::Table,
            overlay: Overlay::None,
            detail: None,
            switch_page: None,
            filter: String::new(),
            fabric_filter: String::new(),
            drift_only: false,
            sort: Sort::for_view(View::Drift),
            listing: Listing::default(),
            events: VecDeque::new(),
            events_scroll: 0,
            notice: None,
            keymap: KeyMap::new(&options.keys),
            read_only: options.read_only,
            event_pane_lines: options.event_pane_lines,
            theme: options.theme,
            now,
            page: 10,
            quit: false,
            history: History::default(),
            attribute: crate::attribution::attribute,
            outbox: Vec::new(),
            dirty: true,
        }
    }

    /// The commands made since the last call outside an `update` (engine events folded, a view
    /// switched): the History view's queries, the detail's Explain. The loop sends them.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.outbox)
    }

    /// Whether something changed since the last call: the loop draws only then.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// The slow tick: moves the clock (ages, staleness) and expires the notice.
    pub fn tick(&mut self, now: Timestamp) {
        self.now = now;
        if self
            .notice
            .as_ref()
            .is_some_and(|n| now - n.at >= NOTICE_SECONDS)
        {
            self.notice = None;
        }
        self.dirty = true;
    }

    pub fn fabric(&self) -> Option<&FabricModel> {
        self.fabrics.get(self.selected)
    }

    pub(super) fn notify(&mut self, tone: Tone, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            tone,
            at: self.now,
        });
    }

    fn fabric_index(&mut self, name: &str) -> usize {
        match self.fabrics.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                // An engine the UI was not told about still gets shown rather than dropped.
                self.fabrics.push(FabricModel::new(name));
                self.fabrics.len() - 1
            }
        }
    }

    fn push_event(&mut self, fabric: usize, event: LogEntry) {
        self.events.push_back(PaneEvent { fabric, event });
        while self.events.len() > EVENT_HISTORY {
            self.events.pop_front();
        }
        if self.events_scroll > 0 {
            // Someone is reading back: keep the lines they look at still.
            self.events_scroll = (self.events_scroll + 1).min(self.events.len());
        }
    }

    /// Folds one engine event into the model. Cheap per event: sorting, filtering and counting
    /// wait for the next frame (`prepare`), so a burst costs one rebuild.
    pub fn fold(&mut self, event: EngineEvent) {
        self.dirty = true;
        let index = self.fabric_index(event.fabric());
        let now = self.now;
        match event {
            EngineEvent::Snapshot {
                status,
                rows,
                events,
                switches,
                ..
            } => {
                let fabric = &mut self.fabrics[index];
                fabric.replace_rows(rows);
                fabric.set_switches(switches);
                fabric.set_status(status, now);
                fabric.loaded = true;
                self.events.retain(|e| e.fabric != index);
                self.events
                    .extend(events.into_iter().map(|event| PaneEvent {
                        fabric: index,
                        event,
                    }));
                self.events.make_contiguous().sort_by_key(|e| e.event.time);
                while self.events.len() > EVENT_HISTORY {
                    self.events.pop_front();
                }
            }
            EngineEvent::Status { status, .. } => self.fabrics[index].set_status(status, now),
            EngineEvent::Rows {
                upserts, removed, ..
            } => {
                let fabric = &mut self.fabrics[index];
                for key in &removed {
                    fabric.remove(key);
                }
                for row in upserts {
                    fabric.upsert(row);
                }
            }
            EngineEvent::Log { entry, .. } => {
                self.history_log(index, &entry);
                self.push_event(index, entry);
            }
            EngineEvent::Job { job, phase, .. } => {
                // The engine logs each job's outcome to the event pane itself; the UI only
                // flashes it in the footer so the operator who pressed the key sees the result.
                let name = self.fabrics[index].name.clone();
                match &phase {
                    JobPhase::Succeeded { message } => {
                        self.notify(
                            Tone::Good,
                            format!("✓ {name}: {} done: {message}", job_name(job)),
                        );
                    }
                    JobPhase::Failed { message } => {
                        self.notify(
                            Tone::Bad,
                            format!("✗ {name}: {} failed: {message}", job_name(job)),
                        );
                    }
                    JobPhase::Started { .. } | JobPhase::Progress { .. } => {}
                }
                self.fabrics[index].job(job, phase);
            }
            EngineEvent::Health { switches, .. } => self.fabrics[index].set_switches(switches),
            // The asker of a `SyncAndReport` reads it; the Job events tell the dashboard.
            EngineEvent::Synced { .. } => {}
            EngineEvent::Explained { explanation, .. } => {
                self.fabrics[index].explained(explanation);
            }
            EngineEvent::History {
                query,
                entries,
                seen,
                ..
            } => self.fold_history(index, query, entries, seen),
        }
        self.request_explain();
    }

    /// Brings derived state up to date before a frame: counts, table indices, the detail.
    pub fn prepare(&mut self) {
        for fabric in &mut self.fabrics {
            fabric.settle();
        }
        if let Some(fabric) = self.fabrics.get(self.selected) {
            self.listing.refresh(
                self.selected,
                fabric,
                self.view,
                &self.filter,
                self.drift_only,
                self.sort,
            );
        }
        if let Some(detail) = &mut self.detail
            && let Some(fabric) = self.fabrics.get(detail.fabric)
        {
            detail.refresh(fabric);
        }
        if self.view == View::History {
            self.history.refresh(&self.filter);
        }
    }

    fn input_mode(&self) -> InputMode {
        match self.overlay {
            Overlay::None => InputMode::Normal,
            Overlay::Help { .. } => InputMode::Help,
            Overlay::Confirm(_) => InputMode::Confirm,
            Overlay::Prompt(_) => InputMode::Text,
        }
    }

    /// A terminal event: keys go through the keymap; a resize only needs a redraw.
    pub fn on_terminal_event(&mut self, event: crossterm::event::Event) -> Vec<Effect> {
        use crossterm::event::{Event as TermEvent, KeyEventKind};
        match event {
            TermEvent::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key.into()),
            TermEvent::Resize(..) => {
                self.dirty = true;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    pub fn on_key(&mut self, key: Key) -> Vec<Effect> {
        match action::resolve(self.input_mode(), key, &self.keymap) {
            Some(action) => self.update(action),
            None => Vec::new(),
        }
    }

    /// Applies an action. Returns what the world must do about it, commands made on the way
    /// (the outbox) first.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let effects = self.update_overlay(action);
        self.request_explain();
        let mut out = std::mem::take(&mut self.outbox);
        out.extend(effects);
        out
    }

    fn update_overlay(&mut self, action: Action) -> Vec<Effect> {
        self.dirty = true;
        self.prepare();
        match &mut self.overlay {
            Overlay::Prompt(_) => return self.update_prompt(action),
            Overlay::Confirm(_) => return self.update_confirm(action),
            Overlay::Help { scroll } => {
                match action {
                    Action::Up => *scroll = scroll.saturating_sub(1),
                    Action::Down => *scroll = scroll.saturating_add(1),
                    Action::PageUp => *scroll = scroll.saturating_sub(10),
                    Action::PageDown => *scroll = scroll.saturating_add(10),
                    Action::Top => *scroll = 0,
                    Action::Bottom => *scroll = u16::MAX,
                    Action::Quit => return self.update_normal(Action::Quit),
                    _ => self.overlay = Overlay::None,
                }
                return Vec::new();
            }
            Overlay::None => {}
        }
        self.update_normal(action)
    }

    fn update_normal(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Quit => {
                if self.view == View::History {
                    self.leave_history();
                }
                self.quit = true;
                return vec![Effect::Quit];
            }
            Action::Help => self.overlay = Overlay::Help { scroll: 0 },
            Action::Up => self.step(-1),
            Action::Down => self.step(1),
            Action::PageUp => self.step(-(self.page.max(1) as isize)),
            Action::PageDown => self.step(self.page.max(1) as isize),
            Action::Top => self.step(isize::MIN / 2),
            Action::Bottom => self.step(isize::MAX / 2),
            Action::FocusNext | Action::FocusPrev => {
                let order = [Focus::Fabrics, Focus::Table, Focus::Events];
                let at = order.iter().position(|f| *f == self.focus).unwrap_or(1);
                let step = if action == Action::FocusNext { 1 } else { 2 };
                self.focus = order[(at + step) % 3];
            }
            Action::NextView => self.set_view(self.view.next()),
            Action::PrevView => self.set_view(self.view.prev()),
            Action::Open => self.open(),
            Action::Back => {
                if self.switch_page.take().is_none() && self.detail.take().is_none() {
                    if self.clear_filter() {
                        self.notify(Tone::Info, "filter cleared");
                    } else {
                        self.focus = Focus::Table;
                    }
                }
            }
            Action::Filter => {
                let (kind, text) = self.filter_prompt();
                let previous = text.clone();
                self.overlay = Overlay::Prompt(Prompt {
                    kind,
                    text,
                    previous,
                });
            }
            Action::Jump => {
                self.overlay = Overlay::Prompt(Prompt {
                    kind: PromptKind::Jump,
                    text: String::new(),
                    previous: String::new(),
                });
            }
            Action::DriftOnly => {
                self.drift_only = !self.drift_only;
                let text = if self.drift_only {
                    "drift only: rows that are not InSync"
                } else {
                    "drift only off: all rows"
                };
                self.notify(Tone::Info, text);
            }
            Action::Sort | Action::SortReverse if self.view == View::History => {
                self.notify(
                    Tone::Info,
                    "the History view is in time order, newest first",
                );
            }
            Action::History => self.toggle_history(),
            Action::HistoryScope
            | Action::HistoryEntryKind
            | Action::HistoryObjectKind
            | Action::HistoryRange => self.history_filter(action),
            Action::Sort => {
                let multi_namespace = self.fabric().is_some_and(|f| f.multi_namespace);
                let columns = view::columns(self.view, multi_namespace);
                self.sort.column = (self.sort.column + 1) % columns.len();
                self.sort.reverse = false;
                let header = columns[self.sort.column].header;
                self.notify(Tone::Info, format!("sorted by {header}"));
            }
            Action::SortReverse => self.sort.reverse = !self.sort.reverse,
            Action::SelectFabric(n) => {
                if n < self.fabrics.len() {
                    self.select_fabric(n);
                } else {
                    self.notify(Tone::Warn, format!("there is no fabric {}", n + 1));
                }
            }
            Action::Ports => self.ports(),
            Action::CopyName => return self.copy(false),
            Action::CopyYaml => return self.copy(true),
            Action::ApplyAll => self.open_confirm(),
            Action::Sync
            | Action::Apply
            | Action::Refresh
            | Action::Watch
            | Action::TestConnection => return self.engine_command(action).into_iter().collect(),
            Action::InputChar(_)
            | Action::InputBackspace
            | Action::InputSubmit
            | Action::InputCancel
            | Action::Confirm
            | Action::ConfirmForce
            | Action::Cancel => {}
        }
        Vec::new()
    }

    fn update_prompt(&mut self, action: Action) -> Vec<Effect> {
        let Overlay::Prompt(prompt) = &mut self.overlay else {
            return Vec::new();
        };
        match action {
            Action::InputChar(c) => prompt.text.push(c),
            Action::InputBackspace => {
                prompt.text.pop();
            }
            Action::InputCancel => {
                let (kind, previous) = (prompt.kind, prompt.previous.clone());
                self.overlay = Overlay::None;
                self.set_filter(kind, previous);
                return Vec::new();
            }
            Action::InputSubmit => {
                let prompt = prompt.clone();
                self.overlay = Overlay::None;
                if prompt.kind == PromptKind::Jump {
                    self.jump(&prompt.text);
                }
                return Vec::new();
            }
            Action::Quit => return self.update_normal(Action::Quit),
            _ => {}
        }
        // The filter applies as it is typed, so the operator sees the rows narrow.
        let (kind, text) = (prompt.kind, prompt.text.clone());
        self.set_filter(kind, text);
        Vec::new()
    }

    fn update_confirm(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Confirm | Action::ConfirmForce => {
                let answered = self.overlay.clone();
                let effects = self.engine_command(action).into_iter().collect();
                // Unless the dialog was replaced by a fresh list (it changed under it), it is done.
                if self.overlay == answered {
                    self.overlay = Overlay::None;
                }
                effects
            }
            Action::Quit => self.update_normal(Action::Quit),
            _ => {
                self.overlay = Overlay::None;
                self.notify(Tone::Info, "apply cancelled: nothing was sent");
                Vec::new()
            }
        }
    }

    fn jump(&mut self, name: &str) {
        match View::parse(name) {
            Some(view) => {
                self.set_view(view);
                self.focus = Focus::Table;
            }
            None => self.notify(
                Tone::Warn,
                format!(
                    "no kind named {:?}; try drift, health, history, vpc, conn, sw, srv, ext…",
                    name.trim()
                ),
            ),
        }
    }

    pub fn set_view(&mut self, view: View) {
        if view != self.view {
            if self.view == View::History {
                self.leave_history();
            }
            if view == View::History {
                self.request_history(false);
            }
            self.view = view;
            self.detail = None;
            self.switch_page = None;
            self.sort = Sort::for_view(view);
            self.prepare();
        }
    }

    pub(super) fn select_fabric(&mut self, index: usize) {
        if index != self.selected {
            let history = self.view == View::History && !self.history.all_fabrics;
            if history {
                self.leave_history();
            }
            self.selected = index;
            if history {
                self.request_history(false);
            }
            self.detail = None;
            self.switch_page = None;
            self.prepare();
        }
    }

    fn step(&mut self, delta: isize) {
        if let Some(page) = &mut self.switch_page {
            let scroll = i64::from(page.scroll) + delta.clamp(-10_000, 10_000) as i64;
            page.scroll = scroll.clamp(0, i64::from(u16::MAX)) as u16;
            return;
        }
        if let Some(detail) = &mut self.detail {
            // Both YAML panes move together, each from where it opened (its first drifted line).
            for pane in &mut detail.scroll {
                let scroll = i64::from(*pane) + delta.clamp(-10_000, 10_000) as i64;
                *pane = scroll.clamp(0, i64::from(u16::MAX)) as u16;
            }
            return;
        }
        if self.view == View::History && self.focus == Focus::Table {
            self.history.move_by(delta);
            return;
        }
        match self.focus {
            Focus::Fabrics => self.step_fabric(delta),
            Focus::Table => {
                if let Some(fabric) = self.fabrics.get(self.selected) {
                    self.listing.move_by(delta, fabric, self.view);
                }
            }
            Focus::Events => {
                // Up (negative) reads back in time.
                let back = self.events_scroll.saturating_add_signed(-delta);
                self.events_scroll = back.min(self.events.len().saturating_sub(1));
            }
        }
    }

    /// What the engines said they could not take (channel full or closed).
    pub fn command_failed(&mut self, fabric: &str, reason: &str) {
        self.notify(Tone::Bad, format!("{fabric}: command not sent: {reason}"));
        self.dirty = true;
    }
}

pub fn job_name(job: JobKind) -> &'static str {
    match job {
        JobKind::Sync => "sync",
        JobKind::Apply => "apply",
        JobKind::Connect => "connection test",
        JobKind::Refresh => "refresh",
    }
}
