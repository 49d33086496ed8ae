//! ui::view: the centre pane's views — Drift, Health and one per registry kind — with their
//! columns, how each cell reads from a row, and how each column sorts. Kind-specific columns
//! come from the registry; this module only adds the dashboard's own (name, drift, status).
//! The Health view's columns and cells live in `health_view`.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::drift::Drift;
use crate::kinds::{self, KINDS};
pub use crate::natural::natural_cmp;

use super::model::Entry;
use super::theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Every row that is not InSync, across kinds.
    Drift,
    /// One row per switch and gateway: the health verdict and each signal (`health_view`).
    Health,
    /// The fabric's timeline (or every fabric's), newest first (`history_view`).
    History,
    /// One registry kind (index into `KINDS`).
    Kind(usize),
}

impl View {
    /// Tab order: what needs attention first, then the kinds in registry (apply) order.
    pub fn all() -> impl Iterator<Item = View> {
        [View::Drift, View::Health, View::History]
            .into_iter()
            .chain((0..KINDS.len()).map(View::Kind))
    }

    fn position(self) -> usize {
        match self {
            View::Drift => 0,
            View::Health => 1,
            View::History => 2,
            View::Kind(k) => k + 3,
        }
    }

    pub fn next(self) -> View {
        let count = KINDS.len() + 3;
        View::all()
            .nth((self.position() + 1) % count)
            .unwrap_or(View::Drift)
    }

    pub fn prev(self) -> View {
        let count = KINDS.len() + 3;
        View::all()
            .nth((self.position() + count - 1) % count)
            .unwrap_or(View::Drift)
    }

    pub fn title(self) -> &'static str {
        match self {
            View::Drift => "Drift",
            View::Health => "Health",
            View::History => "History",
            View::Kind(k) => KINDS.get(k).map(|k| k.kind).unwrap_or("?"),
        }
    }

    /// What `:` accepts: `drift`, `health` (or its old name `agents`), `history`, or a kind,
    /// plural or short name.
    pub fn parse(name: &str) -> Option<View> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("drift") {
            return Some(View::Drift);
        }
        if name.eq_ignore_ascii_case("agents") || name.eq_ignore_ascii_case("health") {
            return Some(View::Health);
        }
        if name.eq_ignore_ascii_case("history") {
            return Some(View::History);
        }
        let info = kinds::lookup(name)?;
        KINDS
            .iter()
            .position(|k| k.kind == info.kind)
            .map(View::Kind)
    }
}

/// Where a column's text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Kind,
    Name,
    /// `namespace/name`: the name column of a fabric that spans more than one namespace.
    NamespacedName,
    Drift,
    Kubernetes,
    /// The n-th registry column of the row's kind.
    Registry(usize),
    /// The first differing path, or what Missing/Orphan mean.
    Detail,
    /// Health view columns (`health_view`): switch or gateway, verdict, then one per signal.
    NodeKind,
    Verdict,
    Heartbeat,
    Config,
    Ports,
    Lldp,
    Bgp,
    Bfd,
    Flaps,
    Optics,
    Platform,
    Resources,
    /// The first reason's message, `+N` more.
    Reason,
    /// History view columns (`history_view`): when, which fabric, what kind of entry, the
    /// object and the message.
    Time,
    Fabric,
    Entry,
    Object,
    Message,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    pub col: Col,
    /// Widest the column may take; the last column takes what is left.
    pub max: u16,
    /// Narrowest it may be squeezed to before columns are dropped.
    pub min: u16,
    /// When columns must go, the lowest `keep` goes first (the rightmost among equals).
    pub keep: u8,
}

const fn column(header: &'static str, col: Col, max: u16) -> Column {
    let min = match col {
        Col::Name => 16,
        Col::Kind => 10,
        Col::NamespacedName => 20,
        Col::Drift => 11,
        Col::Kubernetes => 9,
        _ => 6,
    };
    Column {
        header,
        col,
        max,
        min,
        keep: 0,
    }
}

/// The columns of a view. The verdict comes right after the name so it stays visible on an
/// 80-column terminal; kind columns follow. In a fabric that spans more than one namespace
/// (`multi_namespace`) the name column reads `namespace/name`: two objects of one kind and name
/// in two namespaces are two rows, and the name alone cannot tell them apart. (A column of its
/// own would move the verdict right and shift the column numbers the sort keeps per view.)
pub fn columns(view: View, multi_namespace: bool) -> Vec<Column> {
    let mut columns = kind_columns(view);
    if multi_namespace && view != View::Health {
        for column in columns.iter_mut().filter(|c| c.col == Col::Name) {
            *column = self::column("NAMESPACE/NAME", Col::NamespacedName, 60);
        }
    }
    columns
}

fn kind_columns(view: View) -> Vec<Column> {
    match view {
        View::Drift => vec![
            column("KIND", Col::Kind, 18),
            column("NAME", Col::Name, 40),
            column("DRIFT", Col::Drift, 12),
            column("K8S", Col::Kubernetes, 9),
            column("WHAT", Col::Detail, 200),
        ],
        View::Health => super::health_view::columns(),
        View::History => super::history_view::columns(),
        View::Kind(k) => {
            let mut columns = vec![
                column("NAME", Col::Name, 40),
                column("DRIFT", Col::Drift, 12),
                column("K8S", Col::Kubernetes, 9),
            ];
            if let Some(info) = KINDS.get(k) {
                columns.extend(
                    info.columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| column(c.header, Col::Registry(i), 40)),
                );
            }
            columns
        }
    }
}

/// The column a view sorts by until the operator picks another: the Drift view puts what needs
/// action first; the others sort by name.
pub fn default_sort_column(view: View) -> usize {
    match view {
        View::Drift => 2,
        View::Health => super::health_view::DEFAULT_SORT_COLUMN,
        View::History | View::Kind(_) => 0,
    }
}

/// What Missing/Orphan/Drifted mean for this row, on one line.
pub fn detail_text(drift: &Drift) -> String {
    match drift {
        Drift::Drifted(diffs) => match diffs.first() {
            Some(first) if diffs.len() > 1 => format!("{first} (+{} more)", diffs.len() - 1),
            Some(first) => first.to_string(),
            None => String::new(),
        },
        Drift::Missing => "in Git, not in the cluster".to_string(),
        Drift::Orphan => "in the cluster, not in Git".to_string(),
        Drift::Unknown => "no live view yet".to_string(),
        Drift::InSync => String::new(),
    }
}

pub fn entry_cell(entry: &Entry, col: Col) -> Cow<'_, str> {
    match col {
        Col::Kind => Cow::Borrowed(entry.row.key.kind.as_str()),
        Col::Name => Cow::Borrowed(entry.row.key.name.as_str()),
        Col::NamespacedName => Cow::Owned(format!(
            "{}/{}",
            entry.row.key.namespace, entry.row.key.name
        )),
        Col::Drift => Cow::Owned(theme::drift(&entry.row.drift).text()),
        Col::Kubernetes => Cow::Owned(theme::kubernetes(entry.row.kubernetes.state).text()),
        Col::Registry(i) => Cow::Borrowed(entry.cells.get(i).map(String::as_str).unwrap_or("")),
        Col::Detail => Cow::Owned(match &entry.row.kubernetes.error {
            Some(error) => format!("error: {error}"),
            None => detail_text(&entry.row.drift),
        }),
        _ => Cow::Borrowed(""),
    }
}

/// Orders two rows by a column; ties fall back to kind then name so the order is total.
pub fn compare_entries(a: &Entry, b: &Entry, col: Col) -> Ordering {
    let primary = match col {
        Col::Kind => a.kind.cmp(&b.kind),
        Col::Name => Ordering::Equal,
        Col::NamespacedName => natural_cmp(&a.row.key.namespace, &b.row.key.namespace),
        Col::Drift | Col::Detail => {
            theme::drift_severity(&a.row.drift).cmp(&theme::drift_severity(&b.row.drift))
        }
        Col::Kubernetes => kube_rank(a).cmp(&kube_rank(b)),
        Col::Registry(i) => natural_cmp(
            a.cells.get(i).map(String::as_str).unwrap_or(""),
            b.cells.get(i).map(String::as_str).unwrap_or(""),
        ),
        _ => Ordering::Equal,
    };
    primary
        .then_with(|| a.kind.cmp(&b.kind))
        .then_with(|| natural_cmp(&a.row.key.name, &b.row.key.name))
        .then_with(|| a.row.key.namespace.cmp(&b.row.key.namespace))
}

fn kube_rank(entry: &Entry) -> u8 {
    use crate::status::KubernetesState::*;
    match entry.row.kubernetes.state {
        Error => 0,
        Unknown => 1,
        Applied => 2,
        Live => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_cycle_and_parse_like_kubectl() {
        assert_eq!(View::Drift.prev(), View::Kind(KINDS.len() - 1));
        assert_eq!(View::Kind(KINDS.len() - 1).next(), View::Drift);
        assert_eq!(View::parse("vpcs").map(View::title), Some("VPC"));
        assert_eq!(View::parse("Drift"), Some(View::Drift));
        assert_eq!(View::parse("nope"), None);
        assert_eq!(View::parse("gw").map(View::title), Some("Gateway"));
        assert_eq!(
            View::parse("gwpeer").map(View::title),
            Some("GatewayPeering")
        );
        // Drift, Health, History, the 15 kinds Git holds and the four read-only ones.
        assert_eq!(View::all().count(), 22);
        assert_eq!(View::parse("history"), Some(View::History));
        assert_eq!(View::Health.next(), View::History);
    }

    #[test]
    fn natural_order_reads_numbers() {
        let mut names = vec!["leaf-10", "leaf-2", "leaf-1", "border"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["border", "leaf-1", "leaf-2", "leaf-10"]);
    }
}
