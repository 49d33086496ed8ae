//! ui::detail: one resource opened with `enter` — what differs (path: git → live), the desired
//! YAML with its Git source file:line, the live YAML, and the object's errors. Side by side
//! when the terminal is wide, stacked when narrow. The YAML is rendered when the row changes,
//! not per frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use serde_json::Value;

use crate::drift::Drift;
use crate::kinds::ObjectKey;

use super::model::FabricModel;
use super::theme::{self, Badge, Theme, Tone};

/// Below this width the desired and live panes stack instead of sitting side by side.
const SIDE_BY_SIDE_MIN_WIDTH: u16 = 100;

#[derive(Debug, Clone)]
pub struct Detail {
    pub fabric: usize,
    pub key: ObjectKey,
    /// First YAML line shown (both panes scroll together).
    pub scroll: u16,
    built: u64,
    pub found: bool,
    pub badge: Badge,
    pub source: Option<String>,
    pub desired_yaml: Option<String>,
    pub live_yaml: Option<String>,
    pub live_title: String,
    /// What the live pane says when there is no live object.
    pub live_absent: &'static str,
    pub diff: Vec<(Tone, String)>,
}

/// The live object without the server bookkeeping nobody reads at 3 a.m.
fn clean_live(live: &Value) -> Value {
    let mut live = live.clone();
    if let Some(metadata) = live.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
        if let Some(annotations) = metadata
            .get_mut("annotations")
            .and_then(Value::as_object_mut)
        {
            annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
            if annotations.is_empty() {
                metadata.remove("annotations");
            }
        }
    }
    live
}

fn yaml(value: &Value) -> String {
    serde_yaml::to_string(value).unwrap_or_else(|error| format!("# cannot render YAML: {error}"))
}

impl Detail {
    pub fn new(fabric: usize, key: ObjectKey, model: &FabricModel) -> Detail {
        let mut detail = Detail {
            fabric,
            key,
            scroll: 0,
            built: 0,
            found: false,
            badge: theme::drift(&Drift::Unknown),
            source: None,
            desired_yaml: None,
            live_yaml: None,
            live_title: String::new(),
            live_absent: "",
            diff: Vec::new(),
        };
        detail.refresh(model);
        detail
    }

    /// Re-renders if the fabric's rows changed since the last render.
    pub fn refresh(&mut self, model: &FabricModel) {
        if self.built == model.generation {
            return;
        }
        self.built = model.generation;
        let Some(entry) = model.get(&self.key) else {
            self.found = false;
            return;
        };
        let row = &entry.row;
        self.found = true;
        self.badge = theme::drift(&row.drift);
        self.source = row.desired.as_ref().map(|d| {
            let commit = &d.source.commit[..d.source.commit.len().min(7)];
            if commit.is_empty() {
                d.source.to_string()
            } else {
                format!("{} @ {commit}", d.source)
            }
        });
        self.desired_yaml = row.desired.as_ref().map(|d| yaml(&d.object));
        self.live_yaml = row.live.as_ref().map(|l| yaml(&clean_live(l)));
        self.live_title = match &row.kubernetes.resource_version {
            Some(rv) => format!("Cluster · resourceVersion {rv}"),
            None => "Cluster".to_string(),
        };
        self.live_absent = match row.drift {
            Drift::Unknown => "not seen yet: the cluster has not been listed (cached view)",
            _ => "not in the cluster",
        };
        let mut diff = Vec::new();
        match &row.drift {
            Drift::Drifted(diffs) => {
                diff.extend(diffs.iter().map(|d| (Tone::Warn, format!("≠ {d}"))));
            }
            Drift::Missing => diff.push((
                Tone::Bad,
                "✗ Missing: in Git, not in the cluster (a applies it)".to_string(),
            )),
            Drift::Orphan => diff.push((
                Tone::Info,
                "+ Orphan: in the cluster, not in Git (hhdash does not delete it)".to_string(),
            )),
            Drift::Unknown => diff.push((
                Tone::Dim,
                "? Unknown: the cluster has not been listed yet".to_string(),
            )),
            Drift::InSync => {
                diff.push((Tone::Good, "✓ InSync: the cluster matches Git".to_string()))
            }
        }
        if let Some(error) = &row.kubernetes.error {
            diff.push((Tone::Bad, format!("✗ error: {error}")));
        }
        self.diff = diff;
    }

    /// The YAML `Y` copies: Git's when there is one, else the cluster's.
    pub fn yaml(&self) -> Option<&str> {
        self.desired_yaml.as_deref().or(self.live_yaml.as_deref())
    }
}

pub fn draw(frame: &mut Frame, area: Rect, detail: &Detail, theme: &Theme) {
    let title = Line::from(vec![
        Span::styled(
            format!(" {} {} ", detail.key.kind, detail.key.name),
            theme.header(),
        ),
        Span::styled(detail.badge.text(), theme.tone(detail.badge.tone)),
        Span::raw(" · esc back · y/Y copy "),
    ]);
    let block = Block::bordered()
        .title(title)
        .border_style(theme.focused_border());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if !detail.found {
        let text = format!(
            "{}/{} is no longer in Git or in the cluster.",
            detail.key.kind, detail.key.name
        );
        frame.render_widget(Paragraph::new(text), inner);
        return;
    }
    let diff_height = (detail.diff.len() as u16 + 1).min(inner.height / 3).max(2);
    let [diff_area, yaml_area] =
        Layout::vertical([Constraint::Length(diff_height), Constraint::Fill(1)]).areas(inner);
    let mut lines = vec![Line::styled("Drift (git → live)", theme.header())];
    lines.extend(
        detail
            .diff
            .iter()
            .map(|(tone, text)| Line::styled(text.as_str(), theme.tone(*tone))),
    );
    frame.render_widget(Paragraph::new(lines), diff_area);

    let panes = if yaml_area.width >= SIDE_BY_SIDE_MIN_WIDTH {
        Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).split(yaml_area)
    } else {
        Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).split(yaml_area)
    };
    let git_title = match &detail.source {
        Some(source) => format!("Git · {source}"),
        None => "Git".to_string(),
    };
    let sides = [
        (
            git_title,
            detail.desired_yaml.as_deref(),
            "not in Git (an orphan: only the cluster has it)",
        ),
        (
            detail.live_title.clone(),
            detail.live_yaml.as_deref(),
            detail.live_absent,
        ),
    ];
    let side_by_side = yaml_area.width >= SIDE_BY_SIDE_MIN_WIDTH;
    for (i, ((title, text, absent), area)) in sides.into_iter().zip(panes.iter()).enumerate() {
        // A rule between the columns when side by side, so the two YAMLs never read as one.
        let borders = if side_by_side && i == 1 {
            Borders::TOP | Borders::LEFT
        } else {
            Borders::TOP
        };
        let block = Block::new().borders(borders).title(title);
        let paragraph = match text {
            Some(text) => Paragraph::new(text).scroll((detail.scroll, 0)),
            None => Paragraph::new(Line::styled(absent, theme.tone(Tone::Dim))),
        };
        frame.render_widget(paragraph.block(block), *area);
    }
}
