//! desired::locate: finds the line of a drift path in YAML text — a Git file (so `file:line`
//! points at the drifted field, not the document's first line) or YAML the dashboard rendered
//! (so the detail view marks the drifted lines).
//!
//! serde_yaml keeps no positions, so the document is read a second time with an event parser
//! that does (granit-parser, the parser kube already builds for serde-saphyr), into a small
//! tree of nodes with their lines. Documents are cut and counted by the same code that gives
//! `Source::document` its number (`file::split_documents`), so the two cannot disagree.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Span};

use super::file::{first_content_line, split_documents};
use crate::drift::{PathSegment as Segment, parse_path};

/// The 1-based line, within `text`, of the node at `path` (a drift path such as
/// `spec.subnets.default.vlan`, `spec.ranges[0].to`, `metadata.labels."a.b/c"`) in the
/// `document`-th non-empty document of `text` (0 for a single document). For a map entry this
/// is the line of its key; for a list item the line of its `-`. None when the path is not in
/// the text (a field Git does not set) or the text is not YAML.
pub fn line_of(text: &str, document: usize, path: &str) -> Option<usize> {
    lines_of(text, document, &[path])[0]
}

/// [`line_of`] for several paths of the same document, which is read once.
pub fn lines_of(text: &str, document: usize, paths: &[&str]) -> Vec<Option<usize>> {
    let mut lines = vec![None; paths.len()];
    let mut index = 0;
    for raw in split_documents(text) {
        if first_content_line(&raw).is_none() {
            continue;
        }
        // As in `file::parse_file`: a document that reads as null is not a document; one
        // that fails to parse still counts.
        if is_null_document(raw.text) {
            continue;
        }
        if index == document {
            let Some(tree) = Tree::read(raw.text) else {
                return lines;
            };
            for (line, path) in lines.iter_mut().zip(paths) {
                *line = parse_path(path)
                    .filter(|segments| !segments.is_empty())
                    .and_then(|segments| tree.line_of(raw.text, &segments))
                    .map(|at| raw.first_line + at);
            }
            return lines;
        }
        index += 1;
    }
    lines
}

/// The value at a drift path inside an object (the same path forms as [`line_of`]); None when
/// the object does not set it.
pub fn value_at<'a>(value: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let mut current = value;
    for segment in parse_path(path)? {
        current = match segment {
            Segment::Key(key) => current.as_object()?.get(&key)?,
            Segment::Index(index) => current.as_array()?.get(index)?,
        };
    }
    Some(current)
}

/// Whether serde_yaml reads the document as null (`~`, `null`, nothing): its first node is a
/// plain null scalar. Only the first events are read.
fn is_null_document(text: &str) -> bool {
    for event in Parser::new_from_str(text) {
        match event {
            Ok((Event::Scalar(value, ScalarStyle::Plain, _, None), _)) => {
                return matches!(value.as_ref(), "" | "~" | "null" | "Null" | "NULL");
            }
            Ok((Event::StreamEnd, _)) => return true,
            Ok((Event::Scalar(..) | Event::SequenceStart(..) | Event::MappingStart(..), _)) => {
                return false;
            }
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
    true
}

/// A node of one document: where it starts (1-based line, 0-based character column) and
/// what it holds.
struct Node {
    line: usize,
    column: usize,
    kind: Kind,
}

enum Kind {
    Scalar(String),
    /// Item node indices; block sequences write each item after a `-`.
    Sequence {
        items: Vec<usize>,
        block: bool,
    },
    /// (key node, value node) indices in document order.
    Mapping(Vec<(usize, usize)>),
    /// An alias, resolved to the node its anchor names (None: unknown anchor).
    Alias(Option<usize>),
}

/// A collection being filled while reading events.
struct Open {
    node: usize,
    /// For a mapping: the key read, waiting for its value.
    pending_key: Option<usize>,
}

/// The nodes of one document. Aliases point at their anchor's node instead of copying it, so
/// a document of many aliases stays small.
struct Tree {
    nodes: Vec<Node>,
    root: Option<usize>,
}

impl Tree {
    /// Reads the first document of `text`; None when it is not YAML.
    fn read(text: &str) -> Option<Tree> {
        let mut tree = Tree {
            nodes: Vec::new(),
            root: None,
        };
        let mut anchors: HashMap<usize, usize> = HashMap::new();
        let mut open: Vec<Open> = Vec::new();
        for event in Parser::new_from_str(text) {
            let (event, span) = event.ok()?;
            let (kind, anchor, starts) = match event {
                Event::Scalar(value, _, anchor, _) => {
                    (Kind::Scalar(value.into_owned()), anchor, false)
                }
                Event::SequenceStart(style, anchor, _) => (
                    Kind::Sequence {
                        items: Vec::new(),
                        block: style == granit_parser::StructureStyle::Block,
                    },
                    anchor,
                    true,
                ),
                Event::MappingStart(_, anchor, _) => (Kind::Mapping(Vec::new()), anchor, true),
                Event::Alias(id) => (Kind::Alias(anchors.get(&id).copied()), 0, false),
                Event::SequenceEnd | Event::MappingEnd => {
                    open.pop();
                    continue;
                }
                Event::DocumentEnd => break,
                _ => continue,
            };
            let node = tree.push(kind, span);
            if anchor != 0 {
                anchors.insert(anchor, node);
            }
            tree.attach(&mut open, node);
            if starts {
                open.push(Open {
                    node,
                    pending_key: None,
                });
            }
        }
        Some(tree)
    }

    fn push(&mut self, kind: Kind, span: Span) -> usize {
        self.nodes.push(Node {
            line: span.start.line(),
            column: span.start.col(),
            kind,
        });
        self.nodes.len() - 1
    }

    /// Hangs a new node under the innermost open collection (or makes it the root).
    fn attach(&mut self, open: &mut [Open], node: usize) {
        let Some(parent) = open.last_mut() else {
            self.root.get_or_insert(node);
            return;
        };
        match &mut self.nodes[parent.node].kind {
            Kind::Sequence { items, .. } => items.push(node),
            Kind::Mapping(entries) => match parent.pending_key.take() {
                Some(key) => entries.push((key, node)),
                None => parent.pending_key = Some(node),
            },
            Kind::Scalar(_) | Kind::Alias(_) => {}
        }
    }

    /// Follows aliases to the node they stand for (a bounded number of hops).
    fn resolve(&self, mut node: usize) -> Option<usize> {
        for _ in 0..64 {
            match self.nodes[node].kind {
                Kind::Alias(target) => node = target?,
                _ => return Some(node),
            }
        }
        None
    }

    /// The 1-based line (within the document text) of the node at `path`.
    fn line_of(&self, text: &str, path: &[Segment]) -> Option<usize> {
        let mut node = self.root?;
        let mut line = None;
        for segment in path {
            node = self.resolve(node)?;
            match (segment, &self.nodes[node].kind) {
                (Segment::Key(wanted), Kind::Mapping(entries)) => {
                    let (key, value) = entries.iter().find(|(key, _)| {
                        self.resolve(*key).is_some_and(|key| {
                            matches!(&self.nodes[key].kind, Kind::Scalar(text) if text == wanted)
                        })
                    })?;
                    line = Some(self.nodes[*key].line);
                    node = *value;
                }
                (Segment::Index(index), Kind::Sequence { items, block }) => {
                    let item = *items.get(*index)?;
                    let start = &self.nodes[item];
                    line = Some(if *block {
                        dash_line(text, start.line, start.column)
                    } else {
                        start.line
                    });
                    node = item;
                }
                _ => return None,
            }
        }
        line
    }
}

/// The line of the `-` that introduces a block sequence item starting at (line, column):
/// the item's own line when the dash is before it there (`- name: a`), else the content line
/// above when it is a lone dash (`-` with the item on the next line).
fn dash_line(text: &str, line: usize, column: usize) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let Some(own) = lines.get(line - 1) else {
        return line;
    };
    if own.chars().take(column).any(|c| c == '-') {
        return line;
    }
    for above in (1..line).rev() {
        let content = lines[above - 1].trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if content.starts_with('-') {
            return above;
        }
        break;
    }
    line
}

#[cfg(test)]
#[path = "locate_tests.rs"]
mod tests;
