//! ui::history: the History view's state — which timelines it shows (the selected fabric's, or
//! every fabric's), its filters (kind of entry, kind of object, `/` text, time range), each
//! fabric's timeline as its engine answered `Command::History`, and the rows that pass the
//! filters, newest first. Drawing is `history_view`.
//!
//! Decisions worth knowing:
//! * The kind of entry and the time range go to the engine in the `TimelineQuery` (they bound
//!   what is read from the store); the kind of object and the `/` text are applied here, so
//!   typing narrows the rows without a round trip.
//! * Rows are kept oldest first (`(fabric, index)` pairs) and shown reversed, so a live entry is
//!   a push, not an insert at the front of 100,000 rows; only the visible rows are drawn.
//! * An answer to an older query (the filters moved meanwhile) is dropped: the rows never mix
//!   two filters. `Log` lines that arrive while an answer is on its way are kept aside and
//!   merged when it comes, without the ones the answer already holds.
//! * "New" is what arrived after the `seen` time the engine answers with; leaving the view
//!   (another view, another fabric, quitting) sends `Command::MarkSeen(now)` for each
//!   timeline shown. Without a `seen` time (never marked) nothing is called new.

use crate::engine::Command;
use crate::kinds::ObjectKey;
use crate::natural::natural_cmp;
use crate::status::Timestamp;
use crate::store::{LogEntry, LogKind, TimelineQuery};

use super::app::{App, Effect};
use super::detail::Detail;
use super::theme::Tone;
use super::view::View;

/// The most entries read per fabric: the newest ones (the title says when the limit cut).
pub const HISTORY_LIMIT: usize = 100_000;

/// What `e` cycles through: a name and the log kinds it selects (empty: all).
pub const ENTRY_KINDS: &[(&str, &[LogKind])] = &[
    ("all entries", &[]),
    ("drift", &[LogKind::Drift]),
    ("apply", &[LogKind::Apply]),
    ("sync", &[LogKind::Sync]),
    ("connection", &[LogKind::Connection]),
    ("health", &[LogKind::Health]),
    ("watch", &[LogKind::Watch]),
    ("errors", &[LogKind::Error]),
    (
        "object changes",
        &[LogKind::Added, LogKind::Modified, LogKind::Deleted],
    ),
];

/// The time range `t` cycles through, counted back from when the query is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Range {
    Hour,
    #[default]
    Day,
    Week,
    All,
}

impl Range {
    pub fn next(self) -> Range {
        match self {
            Range::Hour => Range::Day,
            Range::Day => Range::Week,
            Range::Week => Range::All,
            Range::All => Range::Hour,
        }
    }

    pub fn seconds(self) -> Option<i64> {
        match self {
            Range::Hour => Some(3600),
            Range::Day => Some(86_400),
            Range::Week => Some(7 * 86_400),
            Range::All => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Range::Hour => "last 1h",
            Range::Day => "last 24h",
            Range::Week => "last 7d",
            Range::All => "all time",
        }
    }
}

/// One fabric's timeline as its engine answered.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// The query sent last; None: this fabric's timeline is not shown.
    pub query: Option<TimelineQuery>,
    /// The answer to `query` has arrived.
    pub loaded: bool,
    /// Oldest first.
    pub entries: Vec<LogEntry>,
    /// Entries after this time are new to the operator.
    pub seen: Option<Timestamp>,
    /// The answer held `HISTORY_LIMIT` entries: older ones were left out.
    pub truncated: bool,
    /// `Log` lines that arrived while the answer was on its way.
    pending: Vec<LogEntry>,
}

/// What the rows were built from.
#[derive(Debug, Clone, PartialEq)]
struct Inputs {
    generation: u64,
    object_kind: Option<String>,
    filter: String,
}

#[derive(Debug, Default)]
pub struct History {
    /// Every fabric's timeline, not only the selected one's.
    pub all_fabrics: bool,
    /// Index into `ENTRY_KINDS`.
    pub entry_kind: usize,
    /// Only entries about objects of this kind.
    pub object_kind: Option<String>,
    pub range: Range,
    /// Per fabric (index as in `App::fabrics`).
    pub timelines: Vec<Timeline>,
    /// The rows that pass the filters, oldest first: (fabric, index into its entries).
    rows: Vec<(usize, usize)>,
    /// Position of the cursor counted from the newest row (0: the newest, shown first).
    pub selected: usize,
    /// First shown row, counted from the newest.
    pub offset: usize,
    /// The view `H` goes back to.
    pub previous: Option<View>,
    /// Bumped on every change of a timeline.
    generation: u64,
    /// Rows that are new (counted when the rows are built and as live ones arrive).
    new_count: usize,
    built: Option<Inputs>,
}

/// The kind of object an entry is about: from its key, else from its `Kind/name`.
pub fn object_kind(entry: &LogEntry) -> Option<&str> {
    match &entry.key {
        Some(key) => Some(key.kind.as_str()),
        None => entry.object.as_deref()?.split('/').next(),
    }
}

fn passes(entry: &LogEntry, query: &TimelineQuery) -> bool {
    query.since.is_none_or(|since| entry.time >= since)
        && query.until.is_none_or(|until| entry.time <= until)
        && (query.kinds.is_empty() || query.kinds.contains(&entry.what))
}

impl History {
    pub fn timeline(&self, fabric: usize) -> Option<&Timeline> {
        self.timelines.get(fabric).filter(|t| t.query.is_some())
    }

    fn timeline_mut(&mut self, fabric: usize) -> &mut Timeline {
        if self.timelines.len() <= fabric {
            self.timelines.resize_with(fabric + 1, Timeline::default);
        }
        &mut self.timelines[fabric]
    }

    /// The query for the current filters at `now`.
    pub fn query(&self, now: Timestamp) -> TimelineQuery {
        TimelineQuery {
            since: self.range.seconds().map(|s| now - s),
            until: None,
            object: None,
            kinds: ENTRY_KINDS[self.entry_kind].1.to_vec(),
            limit: HISTORY_LIMIT,
        }
    }

    /// Shown timelines still waiting for their answer.
    pub fn loading(&self) -> usize {
        self.timelines
            .iter()
            .filter(|t| t.query.is_some() && !t.loaded)
            .count()
    }

    /// The entry `position` rows from the newest, with its fabric.
    pub fn row(&self, position: usize) -> Option<(usize, &LogEntry)> {
        let &(fabric, index) = self.rows.get(self.rows.len().checked_sub(position + 1)?)?;
        Some((fabric, &self.timelines[fabric].entries[index]))
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether an entry of `fabric` arrived after the operator last looked.
    pub fn is_new(&self, fabric: usize, entry: &LogEntry) -> bool {
        self.timelines[fabric]
            .seen
            .is_some_and(|seen| entry.time > seen)
    }

    /// How many rows are new, and the `seen` times of the shown timelines (none: nothing is
    /// marked; several: one per fabric).
    pub fn new_rows(&self) -> (usize, Vec<Timestamp>) {
        let mut seen: Vec<Timestamp> = self
            .timelines
            .iter()
            .filter(|t| t.query.is_some())
            .filter_map(|t| t.seen)
            .collect();
        seen.sort_unstable();
        seen.dedup();
        (self.new_count, seen)
    }

    /// The kinds of object the loaded entries are about, in natural order (what `K` cycles).
    pub fn object_kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = Vec::new();
        for timeline in &self.timelines {
            for entry in &timeline.entries {
                if let Some(kind) = object_kind(entry)
                    && !kinds.iter().any(|k| k == kind)
                {
                    kinds.push(kind.to_string());
                }
            }
        }
        kinds.sort_by(|a, b| natural_cmp(a, b));
        kinds
    }

    fn keeps(&self, entry: &LogEntry, needle: &str) -> bool {
        self.object_kind
            .as_deref()
            .is_none_or(|kind| object_kind(entry) == Some(kind))
            && (needle.is_empty()
                || entry.message.to_lowercase().contains(needle)
                || entry
                    .object
                    .as_deref()
                    .is_some_and(|o| o.to_lowercase().contains(needle))
                || format!("{:?}", entry.what).to_lowercase().contains(needle))
    }

    /// Rebuilds the rows if a timeline or a filter changed: O(entries), once per change.
    pub fn refresh(&mut self, filter: &str) {
        let inputs = Inputs {
            generation: self.generation,
            object_kind: self.object_kind.clone(),
            filter: filter.to_string(),
        };
        if self.built.as_ref() == Some(&inputs) {
            return;
        }
        // A cursor below the newest row stays on its entry as rows come and go around it.
        let anchor = (self.selected > 0)
            .then(|| self.rows.len().checked_sub(self.selected + 1))
            .flatten()
            .and_then(|i| self.rows.get(i).copied());
        let needle = filter.to_lowercase();
        let mut rows = Vec::new();
        for (fabric, timeline) in self.timelines.iter().enumerate() {
            if timeline.query.is_none() {
                continue;
            }
            rows.extend(
                (0..timeline.entries.len())
                    .filter(|&i| self.keeps(&timeline.entries[i], &needle))
                    .map(|i| (fabric, i)),
            );
        }
        // Each timeline is in time order already; a stable sort merges them.
        rows.sort_by_key(|&(f, i)| self.timelines[f].entries[i].time);
        if let Some(anchor) = anchor
            && let Some(at) = rows.iter().rposition(|&r| r == anchor)
        {
            let selected = rows.len() - 1 - at;
            self.offset = (self.offset + selected).saturating_sub(self.selected);
            self.selected = selected;
        }
        self.new_count = rows
            .iter()
            .filter(|&&(f, i)| self.is_new(f, &self.timelines[f].entries[i]))
            .count();
        self.rows = rows;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.built = Some(inputs);
    }

    /// Appends a live entry to a fabric's shown timeline (kept aside while it loads).
    fn append(&mut self, fabric: usize, entry: LogEntry, filter: &str) {
        let Some(timeline) = self.timelines.get_mut(fabric) else {
            return;
        };
        let Some(query) = &timeline.query else {
            return;
        };
        if !passes(&entry, query) {
            return;
        }
        if !timeline.loaded {
            timeline.pending.push(entry);
            return;
        }
        let in_order = timeline
            .entries
            .last()
            .is_none_or(|last| last.time <= entry.time);
        timeline.entries.push(entry);
        let index = timeline.entries.len() - 1;
        let up_to_date = self.built.as_ref().is_some_and(|b| {
            b.generation == self.generation
                && b.filter == filter
                && b.object_kind == self.object_kind
        });
        let newest = self
            .rows
            .last()
            .map(|&(f, i)| self.timelines[f].entries[i].time);
        let entry = &self.timelines[fabric].entries[index];
        if up_to_date && in_order && newest.is_none_or(|t| t <= entry.time) {
            // The common case, cheap: one push, the rows stay valid.
            if self.keeps(entry, &filter.to_lowercase()) {
                self.new_count += usize::from(self.is_new(fabric, entry));
                self.rows.push((fabric, index));
                if self.selected > 0 {
                    self.selected += 1;
                    self.offset += 1;
                }
            }
        } else {
            self.generation += 1;
        }
    }

    /// Takes an engine's answer, if it answers the query sent last.
    fn answer(
        &mut self,
        fabric: usize,
        query: TimelineQuery,
        entries: Vec<LogEntry>,
        seen: Option<Timestamp>,
    ) {
        let Some(timeline) = self.timelines.get_mut(fabric) else {
            return;
        };
        if timeline.query.as_ref() != Some(&query) {
            return;
        }
        timeline.truncated = query.limit > 0 && entries.len() >= query.limit;
        timeline.entries = entries;
        timeline.seen = seen;
        timeline.loaded = true;
        for entry in std::mem::take(&mut timeline.pending) {
            let known = timeline
                .entries
                .iter()
                .rev()
                .take_while(|e| e.time >= entry.time)
                .any(|e| *e == entry);
            if !known {
                timeline.entries.push(entry);
            }
        }
        timeline.entries.sort_by_key(|e| e.time);
        self.generation += 1;
    }

    /// Forgets every timeline (the view was left): the next visit asks again.
    fn clear(&mut self) {
        self.timelines.clear();
        self.rows.clear();
        self.selected = 0;
        self.offset = 0;
        self.built = None;
        self.generation += 1;
    }

    /// Moves the cursor by `delta` rows (down is older), clamped.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.rows.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    /// Adjusts the scroll offset so the cursor is inside a window of `height` rows.
    pub fn scroll_into_view(&mut self, height: usize) {
        self.offset =
            super::listing::scroll_offset(self.selected, self.offset, self.rows.len(), height);
    }
}

/// The object an entry names, as a key the fabric's rows can be looked up by: its key, else
/// its `Kind/name` (entries stored before keys were kept) matched against the rows.
fn entry_key(app: &App, fabric: usize, entry: &LogEntry) -> Option<ObjectKey> {
    if let Some(key) = &entry.key {
        return Some(key.clone());
    }
    let object = entry.object.as_deref()?;
    let model = app.fabrics.get(fabric)?;
    model
        .entries()
        .iter()
        .map(|e| &e.row.key)
        .find(|k| {
            k.kind_name() == object || format!("{}/{}/{}", k.kind, k.namespace, k.name) == object
        })
        .cloned()
}

impl App {
    /// The fabrics whose timelines the History view shows.
    fn history_fabrics(&self) -> Vec<usize> {
        if self.history.all_fabrics {
            (0..self.fabrics.len()).collect()
        } else if self.selected < self.fabrics.len() {
            vec![self.selected]
        } else {
            Vec::new()
        }
    }

    /// Asks the engines for the shown timelines under the current filters (`only_missing`:
    /// only those not asked for yet).
    pub(super) fn request_history(&mut self, only_missing: bool) {
        let query = self.history.query(self.now);
        for fabric in self.history_fabrics() {
            let timeline = self.history.timeline_mut(fabric);
            if only_missing && timeline.query.is_some() {
                continue;
            }
            *timeline = Timeline {
                query: Some(query.clone()),
                ..Timeline::default()
            };
            let name = self.fabrics[fabric].name.clone();
            self.outbox.push(Effect::Send {
                fabric: name,
                command: Command::History(query.clone()),
            });
        }
        self.history.generation += 1;
    }

    /// The operator stops looking at the shown timelines: each is marked seen up to now.
    pub(super) fn leave_history(&mut self) {
        let now = self.now;
        for (fabric, timeline) in self.history.timelines.iter().enumerate() {
            if timeline.query.is_some()
                && let Some(model) = self.fabrics.get(fabric)
            {
                self.outbox.push(Effect::Send {
                    fabric: model.name.clone(),
                    command: Command::MarkSeen(now),
                });
            }
        }
        self.history.clear();
    }

    /// Folds an engine's `History` answer.
    pub(super) fn fold_history(
        &mut self,
        fabric: usize,
        query: TimelineQuery,
        entries: Vec<LogEntry>,
        seen: Option<Timestamp>,
    ) {
        self.history.answer(fabric, query, entries, seen);
    }

    /// A live log line: appended to its timeline when the History view shows it.
    pub(super) fn history_log(&mut self, fabric: usize, entry: &LogEntry) {
        if self.view == View::History {
            self.history.append(fabric, entry.clone(), &self.filter);
        }
    }

    /// `H`: the History view, or back to the view before it.
    pub(super) fn toggle_history(&mut self) {
        if self.view == View::History {
            let back = self.history.previous.take().unwrap_or(View::Drift);
            self.set_view(back);
        } else {
            self.history.previous = Some(self.view);
            self.set_view(View::History);
        }
    }

    /// The History view's own keys (`f`, `e`, `K`, `t`): outside it they only say where they
    /// work.
    pub(super) fn history_filter(&mut self, action: super::action::Action) {
        use super::action::Action;
        if self.view != View::History {
            let key = self.keymap.label(Action::History);
            self.notify(
                Tone::Info,
                format!("that key filters the History view ({key} opens it)"),
            );
            return;
        }
        let text = match action {
            Action::HistoryScope => {
                self.history.all_fabrics = !self.history.all_fabrics;
                if self.history.all_fabrics {
                    self.request_history(true);
                    "history of all fabrics".to_string()
                } else {
                    // Timelines no longer shown are marked seen, as if their view was left.
                    let keep = self.selected;
                    let now = self.now;
                    for (fabric, timeline) in self.history.timelines.iter_mut().enumerate() {
                        if fabric != keep && timeline.query.take().is_some() {
                            *timeline = Timeline::default();
                            self.outbox.push(Effect::Send {
                                fabric: self.fabrics[fabric].name.clone(),
                                command: Command::MarkSeen(now),
                            });
                        }
                    }
                    self.history.generation += 1;
                    self.request_history(true);
                    let name = self.fabric().map(|f| f.name.clone()).unwrap_or_default();
                    format!("history of {name}")
                }
            }
            Action::HistoryEntryKind => {
                self.history.entry_kind = (self.history.entry_kind + 1) % ENTRY_KINDS.len();
                self.request_history(false);
                format!("history: {}", ENTRY_KINDS[self.history.entry_kind].0)
            }
            Action::HistoryRange => {
                self.history.range = self.history.range.next();
                self.request_history(false);
                format!("history: {}", self.history.range.label())
            }
            Action::HistoryObjectKind => {
                let kinds = self.history.object_kinds();
                let at = self
                    .history
                    .object_kind
                    .as_ref()
                    .and_then(|k| kinds.iter().position(|x| x == k));
                self.history.object_kind = match at {
                    None => kinds.first().cloned(),
                    Some(i) => kinds.get(i + 1).cloned(),
                };
                match &self.history.object_kind {
                    Some(kind) => format!("history: {kind} objects only"),
                    None => "history: every kind of object".to_string(),
                }
            }
            _ => return,
        };
        self.history.selected = 0;
        self.history.offset = 0;
        self.notify(Tone::Info, text);
    }

    /// The object of the entry under the History view's cursor, with its fabric.
    pub fn history_selected(&self) -> Option<(usize, ObjectKey)> {
        let (fabric, entry) = self.history.row(self.history.selected)?;
        Some((fabric, entry_key(self, fabric, entry)?))
    }

    /// `enter` on a History entry: the detail of its object.
    pub(super) fn open_history_entry(&mut self) {
        let Some((fabric, entry)) = self.history.row(self.history.selected) else {
            self.notify(Tone::Warn, "nothing selected");
            return;
        };
        let about = entry.object.clone();
        match entry_key(self, fabric, entry) {
            Some(key) => {
                let detail = Detail::new(fabric, key, &self.fabrics[fabric], self.attribute);
                self.detail = Some(detail);
            }
            None => {
                let text = match about {
                    Some(object) => format!("{object} is not among the fabric's objects"),
                    None => "this entry is about the whole fabric, not one object".to_string(),
                };
                self.notify(Tone::Info, text);
            }
        }
    }
}
