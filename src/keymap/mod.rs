//! keymap: the one table of bindable actions and their keys, shared by the config (which
//! validates `[ui.keys]`) and the dashboard (which reads keys through it). `Action` is every
//! intent the dashboard knows; `BINDINGS` is the table of remappable ones (config name, default
//! keys, help text); `KeyMap` is that table with the `[ui.keys]` overrides applied;
//! `check_overrides` validates those overrides; `key` is the key notation. A leaf: it imports
//! no other hhdash module.

pub mod key;

use std::collections::{BTreeMap, HashMap};

use crossterm::event::KeyCode;

pub use key::{Key, KeyError, parse_key};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    FocusNext,
    FocusPrev,
    NextView,
    PrevView,
    Open,
    Back,
    Filter,
    Jump,
    DriftOnly,
    Sort,
    SortReverse,
    Sync,
    Apply,
    ApplyAll,
    Refresh,
    Watch,
    TestConnection,
    CopyName,
    CopyYaml,
    /// From a Connection row: the switch detail of its first switch, at its ports; in that
    /// detail, the Connection's next switch.
    Ports,
    /// Open the History view (the fabric's timeline); in it, back to the view before.
    History,
    /// In the History view: the selected fabric's timeline, or every fabric's.
    HistoryScope,
    /// In the History view: the next kind of entry shown (all, drift, apply, sync…).
    HistoryEntryKind,
    /// In the History view: the next kind of object shown (all, VPC, Connection…).
    HistoryObjectKind,
    /// In the History view: the next time range (last hour, day, week, all).
    HistoryRange,
    /// `1`..`9`: select the n-th fabric (0-based here). Fixed, not remappable.
    SelectFabric(usize),
    /// Typing into the `/` filter or `:` kind prompt.
    InputChar(char),
    InputBackspace,
    InputSubmit,
    InputCancel,
    /// The confirm dialog's answers (fixed: `y`/`enter` and `n`/`esc`).
    Confirm,
    /// `F` in the confirm dialog: apply and take ownership of fields another manager owns
    /// (drift made with kubectl edit is such a conflict). A deliberate capital, never a default.
    ConfirmForce,
    Cancel,
}

/// One remappable action: its `[ui.keys]` name, default keys and help line.
#[derive(Debug)]
pub struct Binding {
    pub action: Action,
    pub name: &'static str,
    pub defaults: &'static [&'static str],
    pub help: &'static str,
    /// Changes the cluster: refused in read-only mode, never allowed on a control chord.
    pub writes: bool,
}

const fn bind(
    action: Action,
    name: &'static str,
    defaults: &'static [&'static str],
    help: &'static str,
) -> Binding {
    Binding {
        action,
        name,
        defaults,
        help,
        writes: false,
    }
}

/// A binding whose action changes the cluster (it must sit on a plain key, see `check_overrides`).
const fn write(
    action: Action,
    name: &'static str,
    defaults: &'static [&'static str],
    help: &'static str,
) -> Binding {
    Binding {
        writes: true,
        ..bind(action, name, defaults, help)
    }
}

/// Every bindable action, in the order the help lists them.
pub static BINDINGS: &[Binding] = &[
    bind(Action::Help, "help", &["?"], "show this help"),
    bind(Action::Quit, "quit", &["q"], "quit (ctrl-c also quits)"),
    bind(Action::Up, "up", &["k", "up"], "move up"),
    bind(Action::Down, "down", &["j", "down"], "move down"),
    bind(Action::Top, "top", &["g", "home"], "first row"),
    bind(Action::Bottom, "bottom", &["G", "end"], "last row"),
    bind(Action::PageUp, "page_up", &["pgup"], "page up"),
    bind(Action::PageDown, "page_down", &["pgdn"], "page down"),
    bind(
        Action::FocusNext,
        "focus_next",
        &["tab"],
        "next pane: fabrics → table → events",
    ),
    bind(
        Action::FocusPrev,
        "focus_prev",
        &["backtab"],
        "previous pane",
    ),
    bind(
        Action::NextView,
        "next_view",
        &["l", "right", "]"],
        "next view (Drift, Health, kinds)",
    ),
    bind(
        Action::PrevView,
        "prev_view",
        &["h", "left", "["],
        "previous view",
    ),
    bind(
        Action::Open,
        "open",
        &["enter"],
        "open: desired, live and diff; on Health, the switch detail",
    ),
    bind(
        Action::Ports,
        "ports",
        &["p"],
        "on a Connection: its switch's ports (p again: the other switch)",
    ),
    bind(
        Action::History,
        "history",
        &["H"],
        "History: the fabric's timeline (enter opens an entry's object)",
    ),
    bind(
        Action::HistoryScope,
        "history_scope",
        &["f"],
        "History: this fabric / all fabrics",
    ),
    bind(
        Action::HistoryEntryKind,
        "history_entry_kind",
        &["e"],
        "History: next kind of entry (drift, apply, sync, connection…)",
    ),
    bind(
        Action::HistoryObjectKind,
        "history_object_kind",
        &["K"],
        "History: next kind of object (VPC, Connection…)",
    ),
    bind(
        Action::HistoryRange,
        "history_range",
        &["t"],
        "History: time range (last 1h, 24h, 7d, all)",
    ),
    bind(Action::Back, "back", &["esc"], "back / clear the filter"),
    bind(
        Action::Filter,
        "filter",
        &["/"],
        "filter rows (substring, any case); on the fabric list, by name",
    ),
    bind(
        Action::Jump,
        "jump",
        &[":"],
        "jump to a kind (vpc, conn, sw, drift, health)",
    ),
    bind(
        Action::DriftOnly,
        "drift_only",
        &["d"],
        "show only rows not InSync",
    ),
    bind(Action::Sort, "sort", &["o"], "sort by the next column"),
    bind(
        Action::SortReverse,
        "sort_reverse",
        &["O"],
        "reverse the sort",
    ),
    bind(
        Action::Sync,
        "sync",
        &["s"],
        "sync Git into the local cache",
    ),
    write(
        Action::Apply,
        "apply",
        &["a"],
        "apply the selected object from Git",
    ),
    write(
        Action::ApplyAll,
        "apply_all",
        &["A"],
        "apply all Missing/Drifted (confirm)",
    ),
    bind(
        Action::Refresh,
        "refresh",
        &["r"],
        "reconnect and re-list the cluster",
    ),
    bind(Action::Watch, "watch", &["w"], "watch the cluster on/off"),
    bind(
        Action::TestConnection,
        "test_connection",
        &["c"],
        "test the connection",
    ),
    bind(
        Action::CopyName,
        "copy_name",
        &["y"],
        "copy Kind/name (OSC 52)",
    ),
    bind(
        Action::CopyYaml,
        "copy_yaml",
        &["Y"],
        "copy the YAML (OSC 52)",
    ),
];

/// Per-action key overrides from `[ui.keys]`, validated.
pub type KeyOverrides = BTreeMap<&'static str, Vec<Key>>;

/// Quits from anywhere and cannot be rebound: a stuck screen must always be escapable.
pub const CTRL_C: Key = Key {
    code: KeyCode::Char('c'),
    ctrl: true,
    alt: false,
};

fn binding(name: &str) -> Option<&'static Binding> {
    BINDINGS.iter().find(|b| b.name == name)
}

/// The bindings with overrides applied.
#[derive(Debug, Clone)]
pub struct KeyMap {
    map: HashMap<Key, Action>,
    /// Keys per entry of `BINDINGS`, in the same order (for help and hints).
    keys: Vec<Vec<Key>>,
}

impl Default for KeyMap {
    fn default() -> Self {
        KeyMap::new(&KeyOverrides::new())
    }
}

impl KeyMap {
    /// Builds the map. Overrides are expected validated (`check_overrides`); should two actions
    /// still share a key, the one listed first in `BINDINGS` keeps it.
    pub fn new(overrides: &KeyOverrides) -> KeyMap {
        let keys: Vec<Vec<Key>> = BINDINGS
            .iter()
            .map(|b| match overrides.get(b.name) {
                Some(keys) => keys.clone(),
                None => b
                    .defaults
                    .iter()
                    .filter_map(|k| parse_key(k).ok())
                    .collect(),
            })
            .collect();
        let mut map = HashMap::new();
        for (b, keys) in BINDINGS.iter().zip(&keys) {
            for key in keys {
                map.entry(*key).or_insert(b.action);
            }
        }
        KeyMap { map, keys }
    }

    pub fn action(&self, key: Key) -> Option<Action> {
        self.map.get(&key).copied()
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        BINDINGS
            .iter()
            .position(|b| b.action == action)
            .map(|i| self.keys[i].as_slice())
            .unwrap_or_default()
    }

    /// `a`, `j/↓`, or `unbound`, for help and hints.
    pub fn label(&self, action: Action) -> String {
        let keys = self.keys(action);
        if keys.is_empty() {
            return "unbound".to_string();
        }
        keys.iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Validates `[ui.keys]` (action name → key specs). Returns the overrides and the problems as
/// (config key, message), for the config validator to report with all the others.
pub fn check_overrides(
    raw: &BTreeMap<String, Vec<String>>,
) -> (KeyOverrides, Vec<(String, String)>) {
    let mut overrides = KeyOverrides::new();
    let mut problems = Vec::new();
    for (name, specs) in raw {
        let path = format!("ui.keys.{name}");
        let Some(b) = binding(name) else {
            let known: Vec<&str> = BINDINGS.iter().map(|b| b.name).collect();
            problems.push((path, format!("unknown action; known: {}", known.join(", "))));
            continue;
        };
        let mut keys = Vec::new();
        let problems_before = problems.len();
        for spec in specs {
            match parse_key(spec) {
                Err(error) => problems.push((path.clone(), error.to_string())),
                Ok(key) if key == CTRL_C => problems.push((
                    path.clone(),
                    "ctrl-c always quits and cannot be rebound".to_string(),
                )),
                Ok(key) if b.writes && key.is_chord() => problems.push((
                    path.clone(),
                    format!(
                        "{key} is a control chord; {name} changes the cluster, so it must sit on a plain key that a Vim or shell habit cannot hit"
                    ),
                )),
                Ok(Key {
                    code: KeyCode::Char('1'..='9'),
                    ctrl: false,
                    alt: false,
                }) => problems.push((
                    path.clone(),
                    format!("{spec:?} is taken: 1-9 select fabrics"),
                )),
                Ok(key) => keys.push(key),
            }
        }
        // A binding with a bad key keeps its defaults, so the duplicate check below still sees
        // what the rest of the table would collide with.
        if problems.len() == problems_before {
            overrides.insert(b.name, keys);
        }
    }
    // Duplicates are judged on the merged map, so rebinding `sync = "a"` without moving
    // `apply` is reported rather than silently shadowing apply.
    let merged = KeyMap::new(&overrides);
    let mut owner: HashMap<Key, &'static str> = HashMap::new();
    for (b, keys) in BINDINGS.iter().zip(&merged.keys) {
        for key in keys {
            if let Some(first) = owner.get(key) {
                let (culprit, other) = if overrides.contains_key(b.name) {
                    (b.name, *first)
                } else {
                    (*first, b.name)
                };
                problems.push((
                    format!("ui.keys.{culprit}"),
                    format!("key {key} is also bound to {other}; give one of them another key"),
                ));
            } else {
                owner.insert(*key, b.name);
            }
        }
    }
    (overrides, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(name, keys)| {
                (
                    name.to_string(),
                    keys.iter().map(|k| k.to_string()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn defaults_have_no_duplicates_and_no_write_chords() {
        let (_, problems) = check_overrides(&BTreeMap::new());
        assert_eq!(problems, vec![]);
        let map = KeyMap::default();
        assert_eq!(map.action(Key::char('a')), Some(Action::Apply));
        assert_eq!(map.action(Key::char('A')), Some(Action::ApplyAll));
        assert_eq!(map.label(Action::Down), "j/↓");
    }

    #[test]
    fn overrides_replace_defaults_and_problems_name_the_key() {
        let (overrides, problems) = check_overrides(&raw(&[("sync", &["S"]), ("quit", &["x"])]));
        assert!(problems.is_empty(), "{problems:?}");
        let map = KeyMap::new(&overrides);
        assert_eq!(map.action(Key::char('S')), Some(Action::Sync));
        assert_eq!(map.action(Key::char('s')), None);

        let (_, problems) = check_overrides(&raw(&[
            ("sink", &["s"]),
            ("apply", &["ctrl-a"]),
            ("sync", &["a"]),
            ("help", &["ctrl-c"]),
            ("refresh", &["5"]),
        ]));
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "ui.keys.apply",
                "ui.keys.help",
                "ui.keys.refresh",
                "ui.keys.sink",
                "ui.keys.sync"
            ]
        );
        assert!(problems[0].1.contains("control chord"), "{problems:?}");
        assert!(
            problems[4].1.contains("also bound to apply"),
            "{problems:?}"
        );
    }
}
