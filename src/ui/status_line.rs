//! ui::status_line: the two bottom lines — the selected fabric's facts (commit, last sync,
//! watch, counts derived from its rows, last error) and the footer (prompt, notice, job
//! progress or key hints).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::engine::JobPhase;
use crate::status;

use super::action::Action;
use super::app::{App, Overlay, PromptKind, job_name};
use super::theme::{self, Tone};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let style = app.theme.status_line();
    let Some(fabric) = app.fabric() else {
        frame.render_widget(Paragraph::new(" no fabric configured").style(style), area);
        return;
    };
    if !fabric.loaded {
        let text = format!(" {} │ loading from the local store…", fabric.name);
        frame.render_widget(Paragraph::new(text).style(style), area);
        return;
    }
    let s = &fabric.status;
    let commit = s
        .sync
        .commit
        .as_deref()
        .map(|c| &c[..c.len().min(7)])
        .unwrap_or("no commit");
    let synced = match s.sync.last_sync {
        Some(t) => format!("synced {}", status::format_age(t, app.now)),
        None => "never synced".to_string(),
    };
    let c = fabric.counts().verdicts;
    let counts = format!(
        "desired {} live {} drifted {} missing {} orphan {}",
        c.desired, c.live, c.drifted, c.missing, c.orphan
    );
    let text = match s.connection.no_answer_since {
        // A silent server comes before the counts: they are only the last known state now.
        Some(since) => format!(
            " {} │ {} · stale │ {counts} │ {commit} {synced}",
            fabric.name,
            status::no_answer_since(since)
        ),
        // Counts first: they are what an 80-column terminal must not cut off.
        None => format!(
            " {} │ {counts} │ {commit} {synced} │ watch {}",
            fabric.name,
            theme::watch(s.watch.state).text()
        ),
    };
    frame.render_widget(Paragraph::new(text).style(style), area);
}

fn hints(app: &App) -> Line<'static> {
    let mut spans = Vec::new();
    if app.read_only {
        spans.push(Span::styled("READ-ONLY ", app.theme.tone(Tone::Warn)));
    }
    let mut hint = |action: Action, what: &str| {
        let label = app.keymap.label(action);
        if label != "unbound" {
            spans.push(Span::styled(label, app.theme.header()));
            spans.push(Span::raw(format!(" {what}  ")));
        }
    };
    hint(Action::Help, "help");
    if let Some(page) = &app.switch_page {
        hint(Action::Back, "back");
        hint(Action::Down, "scroll");
        if page.jump.as_ref().is_some_and(|j| j.ends.len() > 1) {
            hint(Action::Ports, "other switch");
        }
    } else if app.detail.is_some() {
        hint(Action::Back, "back");
        hint(Action::Down, "scroll");
    } else if app.view == super::view::View::History {
        hint(Action::Open, "open");
        hint(Action::Filter, "filter");
        hint(Action::HistoryEntryKind, "entry kind");
        hint(Action::HistoryObjectKind, "object kind");
        hint(Action::HistoryRange, "range");
        hint(Action::HistoryScope, "fabrics");
        hint(Action::History, "back");
    } else {
        let fabrics = app.focus == super::app::Focus::Fabrics;
        hint(
            Action::Filter,
            if fabrics { "filter fabrics" } else { "filter" },
        );
        hint(Action::Jump, "kind");
        hint(Action::DriftOnly, "drift");
        let on_connection = app
            .fabric()
            .zip(app.listing.selected_index())
            .is_some_and(|(f, i)| {
                app.view != super::view::View::Health
                    && f.entries()
                        .get(i)
                        .is_some_and(|e| e.row.key.kind == "Connection")
            });
        if on_connection {
            hint(Action::Ports, "ports");
        }
    }
    hint(Action::Sync, "sync");
    if !app.read_only {
        hint(Action::Apply, "apply");
        hint(Action::ApplyAll, "apply all");
    }
    hint(Action::Quit, "quit");
    Line::from(spans)
}

pub fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    if let Overlay::Prompt(prompt) = &app.overlay {
        let (sigil, help) = match prompt.kind {
            PromptKind::Filter => ("/", "  (enter keeps · esc drops · substring, any case)"),
            PromptKind::FabricFilter => ("/", "  (fabric name · enter keeps · esc drops)"),
            PromptKind::Jump => (":", "  (kind, plural or short name; drift; health)"),
        };
        let line = Line::from(vec![
            Span::styled(format!("{sigil}{}", prompt.text), app.theme.header()),
            Span::styled(help, app.theme.tone(Tone::Dim)),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        let x = area.x + 1 + Span::raw(prompt.text.as_str()).width() as u16;
        frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
        return;
    }
    if let Some(notice) = &app.notice {
        let line = Line::styled(notice.text.clone(), app.theme.tone(notice.tone));
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let jobs: Vec<String> = app
        .fabrics
        .iter()
        .flat_map(|f| f.jobs.iter().map(move |j| (f, j)))
        .map(|(f, job)| {
            let progress = match &job.phase {
                JobPhase::Progress {
                    done,
                    total,
                    message,
                } => format!(" {done}/{total} {message}"),
                JobPhase::Started { message } => format!(" {message}"),
                _ => String::new(),
            };
            format!("↻ {} {}{progress}", f.name, job_name(job.kind))
        })
        .collect();
    if !jobs.is_empty() {
        let line = Line::styled(jobs.join("  "), app.theme.tone(Tone::Info));
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    if let Some(error) = app.fabric().and_then(|f| f.last_error()) {
        // The error takes the line, but `?` stays findable at the right edge.
        let help = format!("  {} help", app.keymap.label(Action::Help));
        let [left, right] = Layout::horizontal([
            Constraint::Fill(1),
            Constraint::Length(help.chars().count() as u16),
        ])
        .areas(area);
        let line = Line::styled(format!("✗ {error}"), app.theme.tone(Tone::Bad));
        frame.render_widget(Paragraph::new(line), left);
        frame.render_widget(Paragraph::new(help), right);
        return;
    }
    frame.render_widget(Paragraph::new(hints(app)), area);
}
