//! ui::listing: the centre table's window onto a fabric — the indices of the rows that pass
//! the view, the `/` filter and drift-only, in sort order, plus the selection and scroll
//! offset. Indices are rebuilt only when an input changed (rows, view, filter, sort), so a
//! frame costs the visible rows, not the fabric's size.

use ratatui::text::Span;

use crate::kinds::ObjectKey;

use super::health_view;
use super::model::{Entry, FabricModel};
use super::view::{self, Col, View};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort {
    /// Index into the view's columns.
    pub column: usize,
    pub reverse: bool,
}

impl Sort {
    pub fn for_view(view: View) -> Sort {
        Sort {
            column: view::default_sort_column(view),
            reverse: false,
        }
    }
}

/// What the current indices were built from.
#[derive(Debug, Clone, PartialEq)]
struct Inputs {
    fabric: usize,
    generation: u64,
    view: View,
    filter: String,
    drift_only: bool,
    sort: Sort,
}

/// The selected row's identity, so the selection follows the row when others come and go.
#[derive(Debug, Clone, PartialEq)]
enum Anchor {
    Object(ObjectKey),
    Switch(String),
}

#[derive(Debug, Default)]
pub struct Listing {
    /// Indices into the fabric's entries (or switches, in the Health view), in display order.
    pub rows: Vec<usize>,
    /// Per column, over all filtered rows: the width it wants (widest cell, capped) and whether
    /// any row has text in it.
    pub widths: Vec<(u16, bool)>,
    pub selected: usize,
    pub offset: usize,
    anchor: Option<Anchor>,
    built: Option<Inputs>,
}

/// Whether an entry belongs in the view at all (before the filter).
fn in_view(entry: &Entry, view: View, drift_only: bool) -> bool {
    match view {
        View::Drift => !entry.in_sync(),
        View::Kind(k) => entry.kind == k && (!drift_only || !entry.in_sync()),
        View::Health | View::History => false,
    }
}

impl Listing {
    /// Rebuilds the indices if anything they depend on changed. Returns whether it did.
    pub fn refresh(
        &mut self,
        fabric_index: usize,
        fabric: &FabricModel,
        view: View,
        filter: &str,
        drift_only: bool,
        sort: Sort,
    ) -> bool {
        let inputs = Inputs {
            fabric: fabric_index,
            generation: fabric.generation,
            view,
            filter: filter.to_string(),
            drift_only,
            sort,
        };
        if self.built.as_ref() == Some(&inputs) {
            return false;
        }
        let switched = self
            .built
            .as_ref()
            .is_none_or(|b| b.fabric != fabric_index || b.view != view);
        if switched {
            self.anchor = None;
            self.selected = 0;
            self.offset = 0;
        }
        let needle = filter.to_lowercase();
        let columns = view::columns(view, fabric.multi_namespace);
        let col = columns.get(sort.column).map(|c| c.col).unwrap_or(Col::Name);
        let mut rows: Vec<usize>;
        if view == View::Health {
            let switches = &fabric.switches;
            // `d` keeps what is not healthy: the Health view's "drift".
            rows = (0..switches.len())
                .filter(|&i| !drift_only || switches[i].level != crate::health::Level::Healthy)
                .filter(|&i| health_view::matches(&switches[i], &needle))
                .collect();
            rows.sort_by(|&a, &b| health_view::compare(&switches[a], &switches[b], col));
        } else {
            let entries = fabric.entries();
            rows = (0..entries.len())
                .filter(|&i| in_view(&entries[i], view, drift_only))
                .filter(|&i| needle.is_empty() || entries[i].haystack.contains(&needle))
                .collect();
            rows.sort_by(|&a, &b| view::compare_entries(&entries[a], &entries[b], col));
        }
        if sort.reverse {
            rows.reverse();
        }
        self.rows = rows;
        self.widths = self.measure(fabric, view);
        // Keep the selection on the same object if it is still listed.
        if let Some(anchor) = &self.anchor {
            let found = self.rows.iter().position(|&i| match (view, anchor) {
                (View::Health, Anchor::Switch(name)) => fabric.switches[i].name == *name,
                (_, Anchor::Object(key)) if view != View::Health => {
                    fabric.entries()[i].row.key == *key
                }
                _ => false,
            });
            if let Some(position) = found {
                self.selected = position;
            }
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.built = Some(inputs);
        self.set_anchor(fabric, view);
        true
    }

    /// Per column: the width it wants (its widest cell, capped) and whether any row has text
    /// in it (an empty column is the first to go on a narrow terminal).
    fn measure(&self, fabric: &FabricModel, view: View) -> Vec<(u16, bool)> {
        let width = |text: &str| Span::raw(text).width() as u16;
        view::columns(view, fabric.multi_namespace)
            .iter()
            .map(|column| {
                let header = width(column.header);
                let mut widest = 0;
                match column.col {
                    // Bounded by their vocabulary: no need to look at the rows.
                    Col::Drift => widest = 11,
                    Col::Kubernetes => widest = 9,
                    Col::Detail => widest = column.max,
                    col if view == View::Health => {
                        for &i in &self.rows {
                            widest =
                                widest.max(width(&health_view::cell(&fabric.switches[i], col)));
                        }
                    }
                    col => {
                        for &i in &self.rows {
                            widest =
                                widest.max(width(&view::entry_cell(&fabric.entries()[i], col)));
                            if widest >= column.max {
                                break;
                            }
                        }
                    }
                }
                (widest.max(header).min(column.max), widest > 0)
            })
            .collect()
    }

    fn set_anchor(&mut self, fabric: &FabricModel, view: View) {
        let Some(&i) = self.rows.get(self.selected) else {
            return;
        };
        self.anchor = Some(if view == View::Health {
            Anchor::Switch(fabric.switches[i].name.clone())
        } else {
            Anchor::Object(fabric.entries()[i].row.key.clone())
        });
    }

    /// Moves the selection by `delta` rows, clamped, and remembers the row it lands on.
    pub fn move_by(&mut self, delta: isize, fabric: &FabricModel, view: View) {
        if self.rows.is_empty() {
            return;
        }
        let last = self.rows.len() - 1;
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.set_anchor(fabric, view);
    }

    pub fn select(&mut self, position: usize, fabric: &FabricModel, view: View) {
        self.selected = position.min(self.rows.len().saturating_sub(1));
        self.set_anchor(fabric, view);
    }

    /// Adjusts the scroll offset so the selection is inside a window of `height` rows.
    pub fn scroll_into_view(&mut self, height: usize) {
        self.offset = scroll_offset(self.selected, self.offset, self.rows.len(), height);
    }

    pub fn selected_index(&self) -> Option<usize> {
        self.rows.get(self.selected).copied()
    }
}

/// The first row to show so that `selected` is inside a window of `height` rows, moving the
/// current `offset` as little as possible and never past the last full window.
pub(super) fn scroll_offset(selected: usize, offset: usize, rows: usize, height: usize) -> usize {
    let height = height.max(1);
    let offset = if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    };
    offset.min(rows.saturating_sub(height))
}
