//! ui::detail: one resource opened with `enter` — what differs (path: git → live), who wrote
//! each drifted live field (`attribution::attribute`, from its `managedFields`) and which
//! commit set the Git value (`Command::Explain`, answered by the engine; "looking up Git
//! history…" until then), the desired YAML with its Git source file:line (the first drifted
//! field's line once Git answered), the live YAML, and the object's errors. The drifted lines
//! are marked `≠` in both YAML panes, each pane opening at its first one. Side by side when the
//! terminal is wide, stacked when narrow. The YAML and its marks are rendered when the row or
//! its explanation changes, not per frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use std::sync::Arc;

use serde_json::Value;

use crate::attribution::{GitExplanation, LiveAttribution};
use crate::drift::Drift;
use crate::engine::ResourceRow;
use crate::kinds::ObjectKey;

use super::model::FabricModel;
use super::theme::{self, Badge, Theme, Tone};

/// Below this width the desired and live panes stack instead of sitting side by side.
const SIDE_BY_SIDE_MIN_WIDTH: u16 = 100;

/// Who wrote a drifted field of a live object (`attribution::attribute`).
pub type Attributor = fn(&Value, &str) -> Option<LiveAttribution>;

/// Lines shown above the first drifted line when the detail opens on it.
const CONTEXT_LINES: usize = 2;

#[derive(Debug, Clone)]
pub struct Detail {
    pub fabric: usize,
    pub key: ObjectKey,
    /// First line shown in each YAML pane (Git, cluster). Each opens at its first drifted
    /// line; `j`/`k` move both.
    pub scroll: [u16; 2],
    /// (rows generation, explanations generation) rendered.
    built: (u64, u64),
    pub found: bool,
    pub badge: Badge,
    pub source: Option<String>,
    pub desired_yaml: Option<String>,
    pub live_yaml: Option<String>,
    /// 0-based lines of each YAML pane (Git, cluster) that hold a drifted path.
    pub marked: [Vec<usize>; 2],
    pub live_title: String,
    /// What the live pane says when there is no live object.
    pub live_absent: &'static str,
    pub diff: Vec<(Tone, String)>,
    /// The Git side is still being looked up (`Command::Explain` not answered for this drift).
    pub explaining: bool,
    /// The drifted paths the lines were marked and scrolled for: a new drift scrolls again.
    marked_for: Option<Vec<String>>,
    /// The next frame scrolls each pane to its first drifted line (it knows the panes' height).
    scroll_due: bool,
    /// What `Command::Explain` was last sent for: the drifted paths and the Git commit.
    pub(super) explained_for: Option<(Vec<String>, String)>,
    attribute: Attributor,
}

/// The path one level up: `spec.ranges[0].to` → `spec.ranges[0]` → `spec.ranges` → `spec`;
/// quoted segments (`metadata.labels."a.b/c"`) stay whole. None at the top.
fn parent(path: &str) -> Option<&str> {
    let mut quoted = false;
    let mut cut = None;
    for (i, c) in path.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '.' | '[' if !quoted && i > 0 => cut = Some(i),
            _ => {}
        }
    }
    cut.map(|i| &path[..i])
}

/// The 0-based lines of `text` holding `paths` (a path the text lacks marks its nearest
/// ancestor: where a removed field was), sorted, once each. The text is read once.
fn marked_lines(text: &str, paths: &[String]) -> Vec<usize> {
    // Each path with its ancestors, nearest first; the first one found marks the path.
    let chains: Vec<Vec<&str>> = paths
        .iter()
        .map(|path| std::iter::successors(Some(path.as_str()), |p| parent(p)).collect())
        .collect();
    let candidates: Vec<&str> = chains.iter().flatten().copied().collect();
    let mut found = crate::desired::locate::lines_of(text, 0, &candidates).into_iter();
    let mut lines: Vec<usize> = chains
        .iter()
        .filter_map(|chain| {
            let chain_lines: Vec<Option<usize>> = found.by_ref().take(chain.len()).collect();
            chain_lines.into_iter().flatten().next()
        })
        .map(|line| line.saturating_sub(1))
        .collect();
    lines.sort_unstable();
    lines.dedup();
    lines
}

/// The Git side of a drift is known when the explanation covers exactly these paths at
/// the commit Git holds now.
fn explanation_for<'a>(
    explanation: Option<&'a Arc<GitExplanation>>,
    paths: &[String],
    commit: &str,
) -> Option<&'a GitExplanation> {
    let explanation = explanation?;
    let same_paths = explanation.paths.len() == paths.len()
        && explanation
            .paths
            .iter()
            .zip(paths)
            .all(|(e, p)| e.path == *p);
    let same_commit =
        commit.is_empty() || explanation.commit.is_empty() || explanation.commit == commit;
    (same_paths && same_commit).then_some(explanation.as_ref())
}

/// What `Command::Explain` is due for: the drifted paths and the commit of the Git side, or
/// None when the row is not Drifted.
pub(super) fn explain_signature(row: &ResourceRow) -> Option<(Vec<String>, String)> {
    let Drift::Drifted(diffs) = &row.drift else {
        return None;
    };
    let commit = row
        .desired
        .as_ref()
        .map(|d| d.source.commit.clone())
        .unwrap_or_default();
    Some((diffs.iter().map(|d| d.path.clone()).collect(), commit))
}

/// The live object without the server bookkeeping nobody reads at 3 a.m.
fn clean_live(mut live: Value) -> Value {
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
    pub fn new(
        fabric: usize,
        key: ObjectKey,
        model: &FabricModel,
        attribute: Attributor,
    ) -> Detail {
        let mut detail = Detail {
            fabric,
            key,
            scroll: [0, 0],
            built: (0, 0),
            found: false,
            badge: theme::drift(&Drift::Unknown),
            source: None,
            desired_yaml: None,
            live_yaml: None,
            marked: [Vec::new(), Vec::new()],
            live_title: String::new(),
            live_absent: "",
            diff: Vec::new(),
            explaining: false,
            marked_for: None,
            scroll_due: false,
            explained_for: None,
            attribute,
        };
        detail.refresh(model);
        detail
    }

    /// Re-renders if the fabric's rows or its Git explanations changed since the last render.
    pub fn refresh(&mut self, model: &FabricModel) {
        let built = (model.generation, model.explained_generation);
        if self.built == built {
            return;
        }
        self.built = built;
        let Some(entry) = model.get(&self.key) else {
            self.found = false;
            return;
        };
        let row = &entry.row;
        self.found = true;
        self.badge = theme::drift(&row.drift);
        let paths: Vec<String> = match &row.drift {
            Drift::Drifted(diffs) => diffs.iter().map(|d| d.path.clone()).collect(),
            _ => Vec::new(),
        };
        let commit = row
            .desired
            .as_ref()
            .map(|d| d.source.commit.as_str())
            .unwrap_or("");
        let explanation = explanation_for(model.explanation(&self.key), &paths, commit);
        self.explaining = !paths.is_empty() && explanation.is_none();
        self.source = row.desired.as_ref().map(|d| {
            // The drifted field's line when Git's explanation found it; else the document's.
            let line = explanation
                .and_then(|e| e.paths.iter().find_map(|p| p.line))
                .unwrap_or(d.source.line);
            let at = format!("{}:{line}", d.source.file);
            let commit = &d.source.commit[..d.source.commit.len().min(7)];
            if commit.is_empty() {
                at
            } else {
                format!("{at} @ {commit}")
            }
        });
        self.desired_yaml = row.desired.as_ref().map(|d| yaml(&d.object.value()));
        // Decoded once for this refresh: the YAML and the attribution of each drifted path.
        let live = row.live.as_ref().map(crate::object::Object::value);
        self.live_yaml = live.clone().map(|l| yaml(&clean_live(l)));
        // The texts were just rendered again: their lines may have moved even where the
        // paths did not (a label added live above the drifted field).
        let texts = [self.desired_yaml.as_deref(), self.live_yaml.as_deref()];
        for (pane, text) in texts.into_iter().enumerate() {
            self.marked[pane] = text.map(|t| marked_lines(t, &paths)).unwrap_or_default();
        }
        if self.marked_for.as_ref() != Some(&paths) {
            self.marked_for = Some(paths);
            self.scroll_due = true;
        }
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
                for (i, d) in diffs.iter().enumerate() {
                    let mut line = format!("≠ {d}");
                    if let Some(live) = &live
                        && let Some(attribution) = (self.attribute)(live, &d.path)
                    {
                        line.push_str(&format!(" · {attribution}"));
                    }
                    diff.push((Tone::Warn, line));
                    let origin = explanation.and_then(|e| e.paths.get(i));
                    if let Some(git) = origin.and_then(|p| p.git.as_ref()) {
                        let mut line = format!("    git: {git}");
                        if let Some(at) = origin.and_then(|p| p.line) {
                            let file = row.desired.as_ref().map(|d| d.source.file.as_str());
                            line.push_str(&format!(" · {}:{at}", file.unwrap_or("")));
                        }
                        diff.push((Tone::Info, line));
                    }
                }
                if let Some(problem) = explanation.and_then(|e| e.problem.as_ref()) {
                    diff.push((Tone::Warn, format!("! Git history: {problem}")));
                }
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

pub fn draw(frame: &mut Frame, area: Rect, detail: &mut Detail, theme: &Theme) {
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
    let mut heading = vec![Span::styled("Drift (git → live)", theme.header())];
    if detail.explaining {
        heading.push(Span::styled(
            " · looking up Git history…",
            theme.tone(Tone::Dim),
        ));
    }
    let mut lines = vec![Line::from(heading)];
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
        if detail.scroll_due {
            // The first drifted line in view: from the top when it fits there with its
            // context, else a few lines above it.
            let height = usize::from(area.height.saturating_sub(1));
            let scroll = match detail.marked[i].first() {
                Some(&first) if first + CONTEXT_LINES >= height => first - CONTEXT_LINES.min(first),
                _ => 0,
            };
            detail.scroll[i] = scroll.min(usize::from(u16::MAX)) as u16;
        }
        let scroll = usize::from(detail.scroll[i]);
        // A rule between the columns when side by side, so the two YAMLs never read as one.
        let borders = if side_by_side && i == 1 {
            Borders::TOP | Borders::LEFT
        } else {
            Borders::TOP
        };
        let block = Block::new().borders(borders).title(title);
        let paragraph = match text {
            Some(text) => {
                // Only the lines in view: a drifted line gets a `≠` gutter and the warn tone.
                let marked = &detail.marked[i];
                let lines: Vec<Line> = text
                    .lines()
                    .enumerate()
                    .skip(scroll)
                    .take(area.height as usize)
                    .map(|(n, line)| {
                        if marked.binary_search(&n).is_ok() {
                            Line::styled(format!("≠ {line}"), theme.tone(Tone::Warn))
                        } else {
                            Line::raw(format!("  {line}"))
                        }
                    })
                    .collect();
                Paragraph::new(lines)
            }
            None => Paragraph::new(Line::styled(absent, theme.tone(Tone::Dim))),
        };
        frame.render_widget(paragraph.block(block), *area);
    }
    detail.scroll_due = false;
}
