//! ui::help: the `?` overlay — every key as currently bound (after `[ui.keys]`), what it does,
//! and, in read-only mode, which keys are disabled and why.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::action::{BINDINGS, KeyMap};
use super::confirm::centered;
use super::theme::{Theme, Tone};

/// The help's lines; also what tests read.
pub fn lines(keymap: &KeyMap, read_only: bool, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if read_only {
        lines.push(Line::styled(
            "READ-ONLY: a and A (apply) are disabled. s still syncs Git into the local cache;",
            theme.tone(Tone::Warn),
        ));
        lines.push(Line::styled(
            "it never writes to the cluster.",
            theme.tone(Tone::Warn),
        ));
        lines.push(Line::raw(""));
    }
    let label_width = BINDINGS
        .iter()
        .map(|b| keymap.label(b.action).chars().count())
        .max()
        .unwrap_or(0)
        .max(9);
    for binding in BINDINGS {
        let label = keymap.label(binding.action);
        let mut spans = vec![
            Span::styled(format!("{label:<label_width$}"), theme.header()),
            Span::raw("  "),
        ];
        if read_only && binding.writes {
            spans.push(Span::styled(
                format!("{} — disabled (read-only)", binding.help),
                theme.tone(Tone::Dim),
            ));
        } else {
            spans.push(Span::raw(binding.help));
        }
        lines.push(Line::from(spans));
    }
    for (label, help) in [
        ("1-9", "select fabric 1-9"),
        ("ctrl-c", "quit"),
        ("/ typing", "enter keeps the filter, esc drops it"),
        (": typing", "enter jumps, esc cancels"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("{label:<label_width$}"), theme.header()),
            Span::raw("  "),
            Span::raw(help),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(
        "Copy uses OSC 52 (works over SSH; in tmux: set -g set-clipboard on).",
    ));
    lines.push(Line::raw(
        "Keys are remappable in the [ui.keys] table of the config.",
    ));
    lines
}

pub fn draw(
    frame: &mut Frame,
    area: Rect,
    keymap: &KeyMap,
    read_only: bool,
    scroll: u16,
    theme: &Theme,
) {
    let lines = lines(keymap, read_only, theme);
    let width = lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 4;
    let dialog = centered(area, width, lines.len() as u16 + 2);
    // Never scroll past the end: the last page stays full.
    let max_scroll = (lines.len() as u16).saturating_sub(dialog.height.saturating_sub(2));
    let title = if read_only {
        " Help · READ-ONLY · any key closes, j/k scroll "
    } else {
        " Help · any key closes, j/k scroll "
    };
    let block = Block::bordered()
        .title(title)
        .border_style(theme.focused_border());
    frame.render_widget(Clear, dialog);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((scroll.min(max_scroll), 0)),
        dialog,
    );
}
