//! ui::events: the bottom pane — the live event log of every fabric, newest at the bottom:
//! time, fabric, what happened (word and colour), the object and the message.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use crate::status;

use super::app::{App, Focus};
use super::theme::{self, Tone};

/// `17:56:10` (UTC) from a timestamp.
pub fn clock(timestamp: status::Timestamp) -> String {
    status::format_utc(timestamp)[11..19].to_string()
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let focused = app.focus == Focus::Events && app.detail.is_none();
    let mut title = " Events (UTC) ".to_string();
    if app.events_scroll > 0 {
        title = format!(" Events (UTC) · {} newer below ", app.events_scroll);
    }
    let block = Block::new()
        .borders(Borders::TOP)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.events.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("no events yet", app.theme.tone(Tone::Dim))),
            inner,
        );
        return;
    }
    let height = inner.height as usize;
    let end = app.events.len().saturating_sub(app.events_scroll);
    let start = end.saturating_sub(height);
    let fabric_width = app
        .fabrics
        .iter()
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(14);
    let lines: Vec<Line> = app
        .events
        .range(start..end)
        .map(|pane| {
            let event = &pane.event;
            let fabric = app
                .fabrics
                .get(pane.fabric)
                .map(|f| f.name.as_str())
                .unwrap_or("?");
            let tone = theme::event_kind(event.what);
            let mut spans = vec![
                Span::styled(clock(event.time), app.theme.tone(Tone::Dim)),
                Span::raw(format!(" {fabric:<fabric_width$} ")),
                Span::styled(
                    format!("{:<11}", format!("{:?}", event.what)),
                    app.theme.tone(tone),
                ),
            ];
            if let Some(object) = &event.object {
                spans.push(Span::raw(format!("{object}  ")));
            }
            spans.push(Span::styled(event.message.clone(), app.theme.tone(tone)));
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
