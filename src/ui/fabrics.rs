//! ui::fabrics: the left pane — one card per fabric with connection, sync, watch and drift
//! badges, agents' config state ("Ready 9/10"), the health roll-up of every switch and gateway
//! ("✗ Health 4/7 (2✗ 1!)") and any running job.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, Focus, job_name};
use crate::status::DriftState;

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

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let focused = app.focus == Focus::Fabrics && app.detail.is_none();
    let block = app.theme.pane(" Fabrics ", focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.fabrics.is_empty() {
        frame.render_widget(Paragraph::new("no fabric configured"), inner);
        return;
    }
    let height = inner.height as usize;
    // A blank line between cards when they all fit; packed tight otherwise.
    let spaced = app.fabrics.len() * (CARD_LINES + 1) <= height;
    let per_card = CARD_LINES + usize::from(spaced);
    let fit = (height / per_card).max(1);
    let first = (app.selected + 1).saturating_sub(fit);
    let mut lines = Vec::new();
    for (i, fabric) in app.fabrics.iter().enumerate().skip(first).take(fit) {
        let card = card(fabric, i == app.selected, &app.theme);
        let pad = CARD_LINES.saturating_sub(card.len());
        lines.extend(card);
        lines.extend(std::iter::repeat_n(Line::raw(""), pad));
        if spaced {
            lines.push(Line::raw(""));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
