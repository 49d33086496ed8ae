//! Paths inside an object: the segments a walk borrows, their documented rendering
//! (`spec.ranges[0].from`, quoted keys), their order (segment by segment) and the `*`
//! patterns that name set lists and rewritten values.

use std::cmp::Ordering;

use serde_json::Value;
/// One step of a path while walking; borrowed from the values being compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Sorts paths segment by segment, so `[2]` comes before `[10]`.
pub(super) fn compare_paths(a: &[Seg], b: &[Seg]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x, y) {
            (Seg::Key(x), Seg::Key(y)) => x.cmp(y),
            (Seg::Index(x), Seg::Index(y)) => x.cmp(y),
            (Seg::Index(_), Seg::Key(_)) => Ordering::Less,
            (Seg::Key(_), Seg::Index(_)) => Ordering::Greater,
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

fn is_bare_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/'))
}

/// Renders a path in the documented form (see the `drift` module doc, "Paths").
pub(super) fn render_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for (position, seg) in path.iter().enumerate() {
        match seg {
            Seg::Key(key) => {
                if position > 0 {
                    out.push('.');
                }
                if is_bare_key(key) {
                    out.push_str(key);
                } else {
                    out.push_str(&Value::String((*key).to_string()).to_string());
                }
            }
            Seg::Index(index) => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Whether `path` matches one of `patterns`, written as in `KindInfo::set_lists` (`*`: any
/// key or index); set lists and [`super::WEBHOOK_REWRITES`] paths are named this way.
pub(super) fn matches_any(patterns: &[&str], path: &[Seg]) -> bool {
    patterns.iter().any(|pattern| {
        let mut depth = 0;
        for part in pattern.split('.') {
            let matches = match path.get(depth) {
                None => return false,
                Some(_) if part == "*" => true,
                Some(Seg::Key(key)) => *key == part,
                Some(Seg::Index(_)) => false,
            };
            if !matches {
                return false;
            }
            depth += 1;
        }
        depth == path.len()
    })
}

/// One step of a parsed drift path (owned: quoted keys are unescaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// Reads a path written by [`render_path`] back into its segments: bare keys, JSON-quoted keys
/// (`metadata.labels."a.b/c"`) and list indices (`spec.ranges[3].to`). `None` for text that is
/// not such a path (an empty path, an unterminated quote, a bad index).
pub fn parse_path(path: &str) -> Option<Vec<PathSegment>> {
    let mut segments = Vec::new();
    let mut rest = path;
    let mut expect_key = true;
    loop {
        if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            segments.push(PathSegment::Index(after[..end].parse().ok()?));
            rest = &after[end + 1..];
        } else if expect_key {
            let (key, after) = if rest.starts_with('"') {
                let end = quoted_end(rest)?;
                (
                    serde_json::from_str::<String>(&rest[..end]).ok()?,
                    &rest[end..],
                )
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                if end == 0 {
                    return None;
                }
                (rest[..end].to_string(), &rest[end..])
            };
            segments.push(PathSegment::Key(key));
            rest = after;
        } else {
            return None;
        }
        if rest.is_empty() {
            return Some(segments);
        }
        expect_key = match rest.strip_prefix('.') {
            Some(after) => {
                rest = after;
                true
            }
            None => false,
        };
    }
}

/// The byte length of the JSON string at the start of `text` (quotes included).
fn quoted_end(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (at, byte) in text.bytes().enumerate().skip(1) {
        match byte {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Some(at + 1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_path_reads_back_every_rendered_form() {
        let keys = [
            "metadata",
            "labels",
            "app.kubernetes.io/name",
            "",
            "a \"q\"",
            "x[1]",
        ];
        for key in keys {
            let segs = [
                Seg::Key("spec"),
                Seg::Key(key),
                Seg::Index(12),
                Seg::Key("to"),
            ];
            let rendered = render_path(&segs);
            let expected = vec![
                PathSegment::Key("spec".into()),
                PathSegment::Key(key.into()),
                PathSegment::Index(12),
                PathSegment::Key("to".into()),
            ];
            assert_eq!(parse_path(&rendered), Some(expected), "{rendered}");
        }
        assert_eq!(
            parse_path("spec.ranges[0][1]"),
            Some(vec![
                PathSegment::Key("spec".into()),
                PathSegment::Key("ranges".into()),
                PathSegment::Index(0),
                PathSegment::Index(1),
            ])
        );
        for bad in ["", "a..b", "a.", "a[x]", "a[1", "\"open", "a[1]b", ".a"] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
    }
}
