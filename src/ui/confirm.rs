//! ui::confirm: the dialog `A` opens before applying everything out of sync — it lists each
//! object and what will change, so nobody applies blind. Answers are fixed keys (`y`/`enter`,
//! `n`/`esc`), never remapped.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::model::Entry;
use super::theme::{self, Badge, Theme, Tone};
use super::view;

#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmItem {
    pub badge: Badge,
    pub object: String,
    pub change: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub fabric: usize,
    pub fabric_name: String,
    pub items: Vec<ConfirmItem>,
    /// Exactly what `y`/`F` applies, and the Git commit the list was computed from.
    pub keys: Vec<crate::kinds::ObjectKey>,
    pub commit: Option<String>,
    /// Said in the dialog when the view of the cluster is not live.
    pub warning: Option<String>,
}

impl Confirm {
    pub fn new(
        fabric: usize,
        fabric_name: &str,
        commit: Option<String>,
        entries: &[&Entry],
        warning: Option<String>,
    ) -> Confirm {
        let keys = entries.iter().map(|e| e.row.key.clone()).collect();
        let items = entries
            .iter()
            .map(|e| ConfirmItem {
                badge: theme::drift(&e.row.drift),
                object: e.row.key.kind_name(),
                change: match &e.row.drift {
                    crate::drift::Drift::Missing => "create".to_string(),
                    drift => view::detail_text(drift),
                },
            })
            .collect();
        Confirm {
            fabric,
            fabric_name: fabric_name.to_string(),
            items,
            keys,
            commit,
            warning,
        }
    }
}

/// A rectangle of at most `width` x `height`, centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

pub fn draw(frame: &mut Frame, area: Rect, confirm: &Confirm, theme: &Theme) {
    let fixed_lines = 5 + u16::from(confirm.warning.is_some());
    let wanted = fixed_lines + confirm.items.len() as u16 + 2;
    let dialog = centered(area, area.width.saturating_sub(4).min(100), wanted);
    let room = dialog.height.saturating_sub(fixed_lines + 2) as usize;
    let object_width = confirm
        .items
        .iter()
        .map(|i| i.object.chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    let mut lines = vec![
        Line::styled(
            format!(
                "Apply {} object(s) from Git to {}?",
                confirm.items.len(),
                confirm.fabric_name
            ),
            theme.header(),
        ),
        Line::raw("Server-side apply in dependency order. Orphans are left alone."),
    ];
    if let Some(warning) = &confirm.warning {
        lines.push(Line::styled(format!("! {warning}"), theme.tone(Tone::Warn)));
    }
    lines.push(Line::raw(""));
    // Keep a line for "… and N more" when the list does not fit.
    let shown = if confirm.items.len() > room {
        room.saturating_sub(1)
    } else {
        confirm.items.len()
    };
    for item in &confirm.items[..shown] {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<11}", item.badge.text()),
                theme.tone(item.badge.tone),
            ),
            Span::raw(format!(" {:<object_width$}  ", item.object)),
            Span::raw(item.change.clone()),
        ]));
    }
    if shown < confirm.items.len() {
        lines.push(Line::raw(format!(
            "… and {} more",
            confirm.items.len() - shown
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("y/enter", theme.header()),
        Span::raw(" apply    "),
        Span::styled("F", theme.header()),
        Span::raw(" apply, taking over fields others changed    "),
        Span::styled("n/esc", theme.header()),
        Span::raw(" cancel"),
    ]));
    let block = Block::bordered()
        .title(" Confirm apply ")
        .border_style(theme.tone(Tone::Warn));
    frame.render_widget(Clear, dialog);
    // No wrapping: a long diff is cut at the edge rather than pushing the answer keys out.
    frame.render_widget(Paragraph::new(lines).block(block), dialog);
}
