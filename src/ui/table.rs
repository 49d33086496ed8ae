//! ui::table: the centre pane — the view tabs and the table of the selected view. Only the
//! rows inside the window are turned into ratatui rows; everything else stays indices. When
//! there is nothing to show it says why (loading, connecting, disconnected, filtered), never
//! an empty grid that reads as "no resources".

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, HighlightSpacing, Paragraph, Row, Table, TableState, Wrap};

use crate::status;

use super::app::{App, Focus};
use super::health_view;
use super::model::{FabricModel, Liveness};
use super::theme::{self, Theme, Tone};
use super::view::{self, Col, View};

/// How the fabric's view of the cluster stands, in words.
pub fn liveness_text(liveness: &Liveness) -> String {
    match liveness {
        Liveness::Loading => "loading…".to_string(),
        Liveness::Connecting => "cached · connecting…".to_string(),
        Liveness::Live => "live".to_string(),
        Liveness::NoAnswer { since } => format!(
            "stale · {}: the last known state is shown",
            status::no_answer_since(*since)
        ),
        Liveness::WatchOff => "cached · watch off (w turns it on)".to_string(),
        Liveness::Disconnected { since, error } => {
            let mut text = "cached · disconnected".to_string();
            if let Some(since) = since {
                text.push_str(&format!(" since {}Z", &status::format_utc(*since)[11..16]));
            }
            if let Some(error) = error {
                text.push_str(&format!(": {error}"));
            }
            text
        }
    }
}

pub fn liveness_tone(liveness: &Liveness) -> Tone {
    match liveness {
        Liveness::Live => Tone::Good,
        Liveness::Loading | Liveness::Connecting => Tone::Info,
        Liveness::WatchOff => Tone::Warn,
        Liveness::Disconnected { .. } | Liveness::NoAnswer { .. } => Tone::Bad,
    }
}

fn tab_label(view: View, fabric: Option<&FabricModel>) -> String {
    // Counts only once something is known: "Drift 0" while loading would be a false all-clear.
    let Some(fabric) = fabric.filter(|f| f.loaded) else {
        return view.title().to_string();
    };
    match view {
        View::Drift => format!("Drift {}", fabric.counts().not_in_sync()),
        View::Health => {
            let health = fabric.health();
            format!("Health {}/{}", health.healthy, health.total)
        }
        View::History => view.title().to_string(),
        View::Kind(k) => format!("{} {}", view.title(), fabric.kind_counts(k).0),
    }
}

/// The view tabs: as many as fit, scrolled so the selected one is shown (`‹` `›` mark tabs cut
/// off on either side), and at the right end which view of how many this is (`9/20`): with
/// 20 views only a few fit at 80 columns, and the count says how far `]` and `[` have to go.
pub(super) fn draw_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let fabric = app.fabric();
    let labels: Vec<(View, String)> = View::all().map(|v| (v, tab_label(v, fabric))).collect();
    let selected = labels.iter().position(|(v, _)| *v == app.view).unwrap_or(0);
    let width = |i: usize| labels[i].1.chars().count() + 3;
    let position = format!("{}/{}", selected + 1, labels.len());
    let [tabs_area, position_area] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(position.len() as u16 + 1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::styled(position, app.theme.tone(Tone::Dim)))
            .alignment(ratatui::layout::Alignment::Right),
        position_area,
    );
    let area = tabs_area;
    // Start at the first tab, or late enough that the selected one fits.
    let available = (area.width as usize).saturating_sub(2);
    let mut first = 0;
    while first < selected && (first..=selected).map(width).sum::<usize>() > available {
        first += 1;
    }
    let mut spans = vec![Span::raw(if first > 0 { "‹" } else { " " })];
    let mut used = 1;
    for (i, (view, label)) in labels.iter().enumerate().skip(first) {
        if used + width(i) > available + 1 {
            spans.push(Span::raw("›"));
            break;
        }
        used += width(i);
        let text = if *view == app.view {
            format!("[{label}]")
        } else {
            format!(" {label} ")
        };
        let style = if *view == app.view {
            app.theme.selected().patch(app.theme.header())
        } else {
            app.theme.tone(Tone::Plain)
        };
        spans.push(Span::styled(text, style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Chooses the columns to show and their widths. Each column gets what it wants if all fit;
/// otherwise the columns with the most slack above their minimum shrink first (long names
/// before verdicts), then columns no row has text in are dropped, then the column with the
/// lowest `keep` (the rightmost among equals: from the right, for views that rank none).
/// The last shown column takes whatever is left. Returns (column index, constraint).
fn fit_widths(
    columns: &[view::Column],
    wants: &[(u16, bool)],
    available: u16,
) -> Vec<(usize, Constraint)> {
    let count = wants.len().min(columns.len());
    let mut shown: Vec<usize> = (0..count).collect();
    let mut widths: Vec<u16> = wants.iter().take(count).map(|(w, _)| *w).collect();
    // Widths plus one space between columns; the last column only needs its minimum.
    let total = |shown: &[usize], widths: &[u16]| -> u16 {
        let last = shown.len().saturating_sub(1);
        shown
            .iter()
            .enumerate()
            .map(|(n, &i)| {
                if n == last {
                    columns[i].min.min(widths[i])
                } else {
                    widths[i]
                }
            })
            .sum::<u16>()
            + last as u16
    };
    while shown.len() > 1 && total(&shown, &widths) > available {
        let slack = shown
            .iter()
            .map(|&i| (widths[i].saturating_sub(columns[i].min), i))
            .max()
            .filter(|(slack, _)| *slack > 0);
        if let Some((_, i)) = slack {
            widths[i] -= 1;
        } else if let Some(n) = shown.iter().rposition(|&i| !wants[i].1) {
            shown.remove(n);
        } else {
            let lowest = shown.iter().map(|&i| columns[i].keep).min().unwrap_or(0);
            if let Some(n) = shown.iter().rposition(|&i| columns[i].keep == lowest) {
                shown.remove(n);
            }
        }
    }
    let last = shown.len().saturating_sub(1);
    shown
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let constraint = if n == last {
                Constraint::Fill(1)
            } else {
                Constraint::Length(widths[i])
            };
            (i, constraint)
        })
        .collect()
}

fn empty_text(app: &App, fabric: &FabricModel) -> (String, Tone) {
    let liveness = fabric.liveness();
    let state = liveness_text(&liveness);
    let title = app.view.title();
    if liveness == Liveness::Loading {
        return (
            format!("loading {} from the local store…", fabric.name),
            Tone::Info,
        );
    }
    if !app.filter.is_empty() {
        return (
            format!(
                "no {title} row matches /{} · esc clears the filter",
                app.filter
            ),
            Tone::Warn,
        );
    }
    if app.view == View::Drift
        && let Some(notice) = fabric.orphan_notice()
    {
        return (format!("! {notice}"), Tone::Warn);
    }
    match (app.view, &liveness) {
        (View::Drift, Liveness::Live) => (
            "✓ no drift: every object matches Git".to_string(),
            Tone::Good,
        ),
        (View::Drift, _) => (
            format!("no drift known · {state}"),
            liveness_tone(&liveness),
        ),
        (View::Health, _) if app.drift_only => (
            "every switch and gateway is healthy · d shows all rows".to_string(),
            Tone::Good,
        ),
        (View::Health, _) => (
            format!("no switch or gateway agent seen · {state}"),
            liveness_tone(&liveness),
        ),
        (_, _) if app.drift_only => (
            format!("every {title} is InSync · d shows all rows"),
            Tone::Good,
        ),
        (_, Liveness::Live) => (format!("no {title} in Git or in the cluster"), Tone::Plain),
        (_, _) => (
            format!("no {title} in Git or the cache · {state}"),
            liveness_tone(&liveness),
        ),
    }
}

fn styled_cell(text: String, tone: Tone, theme: &Theme) -> Cell<'static> {
    match tone {
        _ if tone == Tone::Plain => Cell::from(text),
        _ => Cell::from(Span::styled(text, theme.tone(tone))),
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let [tabs, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    draw_tabs(frame, tabs, app);
    let focused = app.focus == Focus::Table;
    let Some(fabric) = app.fabrics.get(app.selected) else {
        frame.render_widget(Paragraph::new("no fabric"), body);
        return;
    };
    let liveness = fabric.liveness();
    let count = app.listing.rows.len();
    let mut title = vec![
        Span::styled(format!(" {} ", app.view.title()), app.theme.header()),
        Span::raw(format!(
            "· {} · {count} row{} ",
            fabric.name,
            if count == 1 { "" } else { "s" }
        )),
    ];
    if !app.filter.is_empty() {
        title.push(Span::raw(format!("· /{} ", app.filter)));
    }
    if app.drift_only {
        title.push(Span::raw("· drift only "));
    }
    let block = app.theme.pane(Line::from(title), focused);
    let mut inner = block.inner(body);
    frame.render_widget(block, body);

    if app.listing.rows.is_empty() {
        let (text, tone) = empty_text(app, fabric);
        frame.render_widget(
            Paragraph::new(Line::styled(text, app.theme.tone(tone))).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }

    let notice = (app.view == View::Drift)
        .then(|| fabric.orphan_notice())
        .flatten();
    if liveness != Liveness::Live || notice.is_some() {
        // A banner above the rows: cached data must never pass for live data, nor a list
        // without orphans for a list of everything out of sync.
        let (text, tone) = match notice {
            Some(notice) if liveness == Liveness::Live => (format!("! {notice}"), Tone::Warn),
            _ => (
                format!("! {}", liveness_text(&liveness)),
                liveness_tone(&liveness),
            ),
        };
        // Two lines when the error is long: the cause is what the operator needs to read.
        let lines = if Span::raw(text.as_str()).width() > inner.width as usize {
            2
        } else {
            1
        };
        let [banner, rest] =
            Layout::vertical([Constraint::Length(lines), Constraint::Fill(1)]).areas(inner);
        frame.render_widget(
            Paragraph::new(Line::styled(text, app.theme.tone(tone))).wrap(Wrap { trim: true }),
            banner,
        );
        inner = rest;
    }
    let height = inner.height.saturating_sub(1) as usize;
    app.page = height.max(1);
    app.listing.scroll_into_view(height);
    let multi_namespace = app.fabric().is_some_and(|f| f.multi_namespace);
    let all_columns = view::columns(app.view, multi_namespace);
    let fitted = fit_widths(
        &all_columns,
        &app.listing.widths,
        inner.width.saturating_sub(1),
    );
    let sort = app.sort;
    let header = Row::new(fitted.iter().map(|&(i, _)| {
        let arrow = match (i == sort.column, sort.reverse) {
            (true, false) => "↑",
            (true, true) => "↓",
            _ => "",
        };
        Cell::from(format!("{}{arrow}", all_columns[i].header))
    }))
    .style(app.theme.header());
    let columns: Vec<view::Column> = fitted.iter().map(|&(i, _)| all_columns[i]).collect();
    let widths: Vec<Constraint> = fitted.iter().map(|&(_, c)| c).collect();
    let fabric = &app.fabrics[app.selected];
    let theme = &app.theme;
    let window = app
        .listing
        .rows
        .iter()
        .skip(app.listing.offset)
        .take(height);
    let rows: Vec<Row> = if app.view == View::Health {
        window
            .map(|&i| {
                let switch = &fabric.switches[i];
                Row::new(columns.iter().map(|c| {
                    styled_cell(
                        health_view::cell(switch, c.col).into_owned(),
                        health_view::tone(switch, c.col),
                        theme,
                    )
                }))
            })
            .collect()
    } else {
        window
            .map(|&i| {
                let entry = &fabric.entries()[i];
                Row::new(columns.iter().map(|c| {
                    let tone = match c.col {
                        Col::Drift => theme::drift(&entry.row.drift).tone,
                        Col::Kubernetes => theme::kubernetes(entry.row.kubernetes.state).tone,
                        _ => Tone::Plain,
                    };
                    styled_cell(view::entry_cell(entry, c.col).into_owned(), tone, theme)
                }))
            })
            .collect()
    };
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(app.theme.selected())
        .highlight_symbol("▸")
        .highlight_spacing(HighlightSpacing::Always);
    let mut state =
        TableState::default().with_selected(Some(app.listing.selected - app.listing.offset));
    frame.render_stateful_widget(table, inner, &mut state);
}
