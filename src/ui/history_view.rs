//! ui::history_view: draws the History view — the view tabs, a title that says what is shown
//! (fabric or all fabrics, entry count, range, filters, how many are new since when) and the
//! timeline newest first: a `●` on what arrived since the operator last looked, the time, the
//! fabric (all fabrics only), the kind of entry, the object and the message. Only the rows
//! inside the window are turned into lines, so 100,000 entries draw as fast as twenty.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::status;

use super::app::{App, Focus};
use super::history::ENTRY_KINDS;
use super::theme::{self, Tone};
use super::view::{Col, Column};

/// The columns the History view shows (for the view registry; the view lays them out itself).
pub fn columns() -> Vec<Column> {
    let column = |header, col, max, min| Column {
        header,
        col,
        max,
        min,
        keep: 0,
    };
    vec![
        column("TIME (UTC)", Col::Time, 14, 14),
        column("FABRIC", Col::Fabric, 14, 6),
        column("ENTRY", Col::Entry, 10, 10),
        column("OBJECT", Col::Object, 40, 10),
        column("MESSAGE", Col::Message, 200, 20),
    ]
}

/// `11-25 17:52:10`: month, day and time of day (UTC); a week of history needs the date.
fn when(time: status::Timestamp) -> String {
    status::format_utc(time)[5..19].to_string()
}

fn title(app: &App) -> Line<'static> {
    let history = &app.history;
    let scope = if history.all_fabrics {
        "all fabrics".to_string()
    } else {
        app.fabric().map(|f| f.name.clone()).unwrap_or_default()
    };
    let count = history.len();
    let mut text = if count == 0 && history.loading() > 0 {
        format!("· {scope} · loading… · {}", history.range.label())
    } else {
        format!(
            "· {scope} · {count} entr{} · {}",
            if count == 1 { "y" } else { "ies" },
            history.range.label()
        )
    };
    if history.entry_kind > 0 {
        text.push_str(&format!(" · {}", ENTRY_KINDS[history.entry_kind].0));
    }
    if let Some(kind) = &history.object_kind {
        text.push_str(&format!(" · {kind} only"));
    }
    if !app.filter.is_empty() {
        text.push_str(&format!(" · /{}", app.filter));
    }
    let (new, seen) = history.new_rows();
    match seen.as_slice() {
        [] => {}
        [seen] => text.push_str(&format!(
            " · ● {new} new since {}",
            status::format_clock(*seen)
        )),
        _ => text.push_str(&format!(" · ● {new} new since your last look")),
    }
    if history.timelines.iter().any(|t| t.truncated) {
        text.push_str(" · newest only (t narrows the range)");
    }
    Line::from(vec![
        Span::styled(" History ", app.theme.header()),
        Span::raw(format!("{text} ")),
    ])
}

fn empty_text(app: &App) -> (String, Tone) {
    let history = &app.history;
    if history.loading() > 0 {
        let what = if history.all_fabrics {
            "every fabric".to_string()
        } else {
            app.fabric().map(|f| f.name.clone()).unwrap_or_default()
        };
        return (format!("loading… the timeline of {what}"), Tone::Info);
    }
    let range = history.range.label();
    let text = if !app.filter.is_empty() || history.object_kind.is_some() || history.entry_kind > 0
    {
        format!("no entry in the {range} matches the filters · esc clears /, e and K cycle back")
    } else {
        format!("no entry in the {range} · t widens the range")
    };
    (text, Tone::Plain)
}

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let [tabs, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    super::table::draw_tabs(frame, tabs, app);
    app.history.refresh(&app.filter);
    let block = app.theme.pane(title(app), app.focus == Focus::Table);
    let inner = block.inner(body);
    frame.render_widget(block, body);
    if app.history.is_empty() {
        let (text, tone) = empty_text(app);
        frame.render_widget(
            Paragraph::new(Line::styled(text, app.theme.tone(tone))).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    let mut inner = inner;
    if app.history.loading() > 0 {
        // Some fabrics answered, others not yet: say so above what is there.
        let [banner, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
        let text = format!(
            "loading… {} fabric(s) still answering",
            app.history.loading()
        );
        frame.render_widget(
            Paragraph::new(Line::styled(text, app.theme.tone(Tone::Info))),
            banner,
        );
        inner = rest;
    }
    let height = inner.height.saturating_sub(1) as usize;
    app.page = height.max(1);
    app.history.scroll_into_view(height);
    let history = &app.history;
    let theme = &app.theme;
    let window: Vec<(usize, &crate::store::LogEntry)> = (history.offset
        ..(history.offset + height).min(history.len()))
        .filter_map(|position| history.row(position))
        .collect();
    let fabric_width = if history.all_fabrics {
        app.fabrics
            .iter()
            .map(|f| f.name.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(6, 14)
    } else {
        0
    };
    let object_width = window
        .iter()
        .filter_map(|(_, e)| e.object.as_ref())
        .map(|o| o.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, 40);
    let mut header = format!("  {:<14} ", "TIME (UTC)");
    if fabric_width > 0 {
        header.push_str(&format!("{:<fabric_width$} ", "FABRIC"));
    }
    header.push_str(&format!(
        "{:<10} {:<object_width$} MESSAGE",
        "ENTRY", "OBJECT"
    ));
    let mut lines = vec![Line::styled(header, theme.header())];
    for (n, (fabric, entry)) in window.iter().enumerate() {
        let selected = history.offset + n == history.selected;
        let tone = theme::event_kind(entry.what);
        let new = history.is_new(*fabric, entry);
        let mut spans = vec![
            Span::raw(if selected { "▸" } else { " " }),
            Span::styled(if new { "●" } else { " " }, theme.tone(Tone::Info)),
            Span::styled(format!("{} ", when(entry.time)), theme.tone(Tone::Dim)),
        ];
        if fabric_width > 0 {
            let name = app
                .fabrics
                .get(*fabric)
                .map(|f| f.name.as_str())
                .unwrap_or("?");
            let name: String = name.chars().take(fabric_width).collect();
            spans.push(Span::raw(format!("{name:<fabric_width$} ")));
        }
        spans.push(Span::styled(
            format!("{:<10} ", format!("{:?}", entry.what)),
            theme.tone(tone),
        ));
        let object: String = entry
            .object
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(object_width)
            .collect();
        spans.push(Span::raw(format!("{object:<object_width$} ")));
        spans.push(Span::styled(entry.message.clone(), theme.tone(tone)));
        let mut line = Line::from(spans);
        if selected {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
