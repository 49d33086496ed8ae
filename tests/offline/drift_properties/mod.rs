//! Properties of drift detection, through the public API only:
//! (a) live = what Git sets plus anything a server adds (defaults, metadata, webhook labels,
//!     reordered set lists, integers as floats, empty values materialised or dropped) is InSync;
//! (b) changing or removing any single leaf Git sets (user annotations included; webhook-owned
//!     ones never count) is Drifted at exactly that path, and so is a map Git sets missing
//!     from live or a plain list of another length;
//! (c) the incremental `DriftIndex`, fed any sequence of operations, holds the same verdicts,
//!     counts and fabric status as classifying every object from scratch, and its transitions
//!     replay to the same state;
//! (d) real Git (every sample and example document) and short forms people write, stored the
//!     way testenv's imitation of the Hedgehog webhooks stores them, is InSync.

use serde_json::Value;

use hhdash::kinds::KindInfo;

mod generators;
mod incremental;
mod single_object;
mod stored_git;

// ---------------------------------------------------------------------------------------------
// Paths, as the test understands the documented rules.

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The documented path form: bare keys of `[A-Za-z0-9_/-]`, any other key as a JSON string,
/// list indices as `[i]` without a dot.
fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for (i, seg) in path.iter().enumerate() {
        match seg {
            Seg::Key(key) => {
                if i > 0 {
                    out.push('.');
                }
                let bare = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_/".contains(c));
                if bare {
                    out.push_str(key);
                } else {
                    out.push_str(&Value::from(key.as_str()).to_string());
                }
            }
            Seg::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    out
}

/// Whether `path` is one of the kind's set lists (registry patterns, `*` = any segment).
fn is_set_list(info: &KindInfo, path: &[Seg]) -> bool {
    info.set_lists.iter().any(|pattern| {
        let parts: Vec<&str> = pattern.split('.').collect();
        parts.len() == path.len()
            && parts.iter().zip(path).all(|(part, seg)| match seg {
                _ if *part == "*" => true,
                Seg::Key(key) => key == part,
                Seg::Index(_) => false,
            })
    })
}

/// The ignore rules of the module doc, restated: fields Git may write that never count.
fn ignored(path: &[Seg], key: &str) -> bool {
    const METADATA: &[&str] = &[
        "resourceVersion",
        "uid",
        "generation",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "ownerReferences",
        "finalizers",
        "namespace",
    ];
    match path {
        [] => ["status", "apiVersion", "kind"].contains(&key),
        [Seg::Key(m)] if m == "metadata" => METADATA.contains(&key),
        [Seg::Key(m), Seg::Key(l)] if m == "metadata" && (l == "labels" || l == "annotations") => {
            key.contains("fabric.githedgehog.com/")
                || key == "kubectl.kubernetes.io/last-applied-configuration"
        }
        _ => false,
    }
}
