//! ui::fabrics: the left pane — one card per fabric with connection, sync, watch and drift
//! badges, agents' config state ("Ready 9/10"), the health roll-up of every switch and gateway
//! ("✗ Health 4/7 (2✗ 1!)") and any running job. When the cards do not all fit (a fleet of
//! tens of fabrics), one line per fabric under a summary row of how many are Critical,
//! Disconnected, Unhealthy and Drifted. Either way worst first, narrowed by the fabric filter
//! (`fleet`).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, Focus, job_name};
use crate::status::DriftState;

use super::fleet::{self, Severity, Summary};
use super::model::{FabricModel, Liveness};
use super::theme::{self, Badge, Theme, Tone};

const CARD_LINES: usize = 5;

fn badge(badge: &Badge, theme: &Theme) -> Span<'static> {
    Span::styled(badge.text(), theme.tone(badge.tone))
}

fn card(fabric: &FabricModel, selected: bool, theme: &Theme) -> Vec<Line<'static>> {
    let status = &fabric.status;
    let marker = if selected { "▸ " } else { "  " };
    let name_style = if selected {
        theme.selected().patch(theme.header())
    } else {
        theme.header()
    };
    let mut first = vec![Span::styled(format!("{marker}{}", fabric.name), name_style)];
    if let Some(job) = fabric.jobs.last() {
        first.push(Span::styled(
            format!(" ↻ {}", job_name(job.kind)),
            theme.tone(Tone::Info),
        ));
    }
    if !fabric.loaded {
        return vec![
            Line::from(first),
            Line::styled("  loading…", theme.tone(Tone::Info)),
        ];
    }
    // Without a live watch an InSync verdict is only as good as the cache: say so.
    let drift = if fabric.liveness() != Liveness::Live && status.drift.state == DriftState::InSync {
        Badge {
            symbol: "?",
            word: "Unverified".to_string(),
            tone: Tone::Dim,
        }
    } else {
        theme::fabric_drift(status.drift.state, status.drift.count)
    };
    let health = fabric.health();
    let health_span = if health.total == 0 {
        Span::styled("Ready -", theme.tone(Tone::Dim))
    } else {
        let tone = if health.ready == health.total {
            Tone::Good
        } else if health.ready * 2 >= health.total {
            Tone::Warn
        } else {
            Tone::Bad
        };
        Span::styled(health.to_string(), theme.tone(tone))
    };
    // A silent server leaves the watch meaningless; the card says since when (it fits 22
    // columns, the narrowest card: "✗ No answer" above, the time below).
    let watch_line = match status.connection.no_answer_since {
        Some(since) => Line::from(vec![
            Span::raw("  "),
            Span::styled(
                format!("since {}", crate::status::format_clock(since)),
                theme.tone(Tone::Bad),
            ),
        ]),
        None => Line::from(vec![
            Span::raw("  watch "),
            badge(&theme::watch(status.watch.state), theme),
        ]),
    };
    vec![
        Line::from(first),
        Line::from(vec![
            Span::raw("  "),
            badge(&theme::connection(status.connection.state), theme),
            Span::raw(" "),
            badge(&theme::sync(status.sync.state), theme),
        ]),
        watch_line,
        Line::from(vec![
            Span::raw("  "),
            badge(&drift, theme),
            Span::raw(" "),
            health_span,
        ]),
        // The network's verdict under the objects' one: the same badge language, worst level.
        Line::from(vec![
            Span::raw("  "),
            badge(&theme::fabric_health(&fabric.health()), theme),
        ]),
    ]
}

/// The summary row: how many fabrics are Critical, Disconnected, Unhealthy and Drifted, two
/// to a line. Full words where they fit; the first column gives way to its short words first,
/// then each cell of the second on its own.
fn summary(app: &App, severities: &[Severity], width: usize) -> Vec<Line<'static>> {
    let summary = Summary::counting(severities);
    let cell = |severity: Severity, short: bool| {
        let symbol = theme::severity(severity).symbol;
        let word = if short {
            severity.short()
        } else {
            severity.word()
        };
        format!("{symbol} {} {word}", summary.count(severity))
    };
    // Critical above Unhealthy on the left, Disconnected above Drifted on the right.
    let first = [Severity::Critical, Severity::Unhealthy];
    let second = [Severity::Disconnected, Severity::Drifted];
    let widest = |short: bool| {
        first
            .iter()
            .map(|&s| cell(s, short).chars().count() + 1)
            .max()
            .unwrap_or(0)
    };
    let second_fits = |left: usize| {
        second
            .iter()
            .all(|&s| cell(s, true).chars().count() <= width.saturating_sub(left))
    };
    let short_first = !second_fits(widest(false));
    let left = widest(short_first);
    let styled = |severity: Severity, text: String| {
        let tone = if summary.count(severity) > 0 {
            theme::severity(severity).tone
        } else {
            Tone::Dim
        };
        Span::styled(text, app.theme.tone(tone))
    };
    (0..2)
        .map(|line| {
            let right = second[line];
            let full = cell(right, false);
            let right_text = if full.chars().count() <= width.saturating_sub(left) {
                full
            } else {
                cell(right, true)
            };
            Line::from(vec![
                styled(
                    first[line],
                    format!("{:<left$}", cell(first[line], short_first)),
                ),
                styled(right, right_text),
            ])
        })
        .collect()
}

/// One line per fabric: marker, severity symbol, name, and the severity's word at the right
/// (the drift count with Critical and Drifted); the name gives way first, then the word.
fn row(
    fabric: &FabricModel,
    severity: Severity,
    selected: bool,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let badge = theme::severity(severity);
    let count = fabric.status.drift.count;
    let tag = |word: &str| match severity {
        Severity::Critical | Severity::Drifted => format!("{word} {count}"),
        _ => word.to_string(),
    };
    // Marker, symbol and a space, a space before the tag.
    let room = width.saturating_sub(5);
    let name_len = fabric.name.chars().count();
    let full = tag(severity.word());
    let tag = if name_len + full.chars().count() <= room || room >= full.chars().count() + 10 {
        full
    } else {
        tag(severity.short())
    };
    let name_room = room.saturating_sub(tag.chars().count());
    let name = if name_len <= name_room {
        format!("{:<name_room$}", fabric.name)
    } else {
        let kept: String = fabric
            .name
            .chars()
            .take(name_room.saturating_sub(1))
            .collect();
        format!("{kept}…")
    };
    let name_style = if selected {
        theme.selected().patch(theme.header())
    } else {
        theme.tone(Tone::Plain)
    };
    Line::from(vec![
        Span::raw(if selected { "▸ " } else { "  " }),
        Span::styled(format!("{} ", badge.symbol), theme.tone(badge.tone)),
        Span::styled(name, name_style),
        Span::raw(" "),
        Span::styled(tag, theme.tone(badge.tone)),
    ])
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let focused = app.focus == Focus::Fabrics && app.detail.is_none();
    let severities = fleet::severities(&app.fabrics);
    let order = fleet::order_by(&app.fabrics, &severities, &app.fabric_filter);
    let height = area.height.saturating_sub(2) as usize;
    // Cards while every fabric fits as one; a line per fabric under a summary beyond that.
    let compact = app.fabrics.len() * CARD_LINES > height;
    let title = if !app.fabric_filter.is_empty() {
        // "Fabrics" gives way to what the filter is: the pane may be 24 columns.
        format!(
            " /{} {}/{} ",
            app.fabric_filter,
            order.len(),
            app.fabrics.len()
        )
    } else if compact {
        format!(" Fabrics {} ", app.fabrics.len())
    } else {
        " Fabrics ".to_string()
    };
    let block = app.theme.pane(title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.fabrics.is_empty() {
        frame.render_widget(Paragraph::new("no fabric configured"), inner);
        return;
    }
    let width = inner.width as usize;
    let mut lines = Vec::new();
    if compact {
        lines.extend(summary(app, &severities, width));
        lines.push(Line::styled("─".repeat(width), app.theme.tone(Tone::Dim)));
    }
    if order.is_empty() {
        // The title says what the filter is.
        lines.push(Line::styled("no fabric matches", app.theme.tone(Tone::Dim)));
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let at = order.iter().position(|&i| i == app.selected).unwrap_or(0);
    if compact {
        let fit = height.saturating_sub(lines.len()).max(1);
        // The worst fabrics stay in sight; while the operator walks the list it follows the
        // selection (elsewhere the table's title and the status line name the fabric).
        let first = if focused {
            (at + 1).saturating_sub(fit)
        } else {
            0
        };
        for &i in order.iter().skip(first).take(fit) {
            lines.push(row(
                &app.fabrics[i],
                severities[i],
                i == app.selected,
                width,
                &app.theme,
            ));
        }
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    // A blank line between cards when they all fit; packed tight otherwise.
    let spaced = order.len() * (CARD_LINES + 1) <= height;
    let per_card = CARD_LINES + usize::from(spaced);
    let fit = (height / per_card).max(1);
    let first = (at + 1).saturating_sub(fit);
    for &i in order.iter().skip(first).take(fit) {
        let card = card(&app.fabrics[i], i == app.selected, &app.theme);
        let pad = CARD_LINES.saturating_sub(card.len());
        lines.extend(card);
        lines.extend(std::iter::repeat_n(Line::raw(""), pad));
        if spaced {
            lines.push(Line::raw(""));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
