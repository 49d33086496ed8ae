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
