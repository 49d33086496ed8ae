//! desired: turns the YAML files of a fabric's Git directory into the validated desired set.
//! It owns document splitting, line numbers, and the checks a document must pass (registry
//! kind and version, name, namespace). It does no I/O: callers hand it file bytes.

//!
//! `file` parses one file's documents, `skipped` says why a document was left out; this
//! module holds the set itself and finds objects Git defines twice.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::Namespaces;
use crate::kinds::{self, ObjectKey};
use crate::object::Object;

mod file;
pub mod locate;
mod skipped;

pub use file::parse_file;
pub use skipped::{SkipReason, Skipped};

/// Where a desired object came from in Git.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub file: String,
    /// 0-based index of the document within its file, counting only non-empty documents.
    pub document: usize,
    /// 1-based line of the document's first content line.
    pub line: usize,
    pub commit: String,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One object Git wants in the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredObject {
    pub key: ObjectKey,
    pub object: Object,
    pub source: Source,
}

/// The same object defined twice: the sync refuses to guess which one Git means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub key: ObjectKey,
    pub first: Source,
    pub second: Source,
}

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is defined twice: at {} and at {}; keep one",
            self.key, self.first, self.second
        )
    }
}

/// The desired set read from one commit, with everything that was left out.
#[derive(Debug, Default)]
pub struct DesiredSet {
    pub objects: Vec<DesiredObject>,
    pub skipped: Vec<Skipped>,
    pub duplicates: Vec<Duplicate>,
}

/// Below this much YAML a sync parses on one thread (spawning costs more than it saves).
const PARALLEL_PARSE_BYTES: usize = 512 * 1024;

/// Parses every file of a commit into the desired set and finds duplicates across files.
pub fn parse_files<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    namespaces: &Namespaces,
    commit: &str,
) -> DesiredSet {
    let files: Vec<(&str, &[u8])> = files.into_iter().collect();
    let total_bytes: usize = files.iter().map(|(_, bytes)| bytes.len()).sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut set = DesiredSet::default();
    if threads > 1 && total_bytes >= PARALLEL_PARSE_BYTES {
        // Files parse independently; chunks are merged back in file order, so the result
        // (and which copy of a duplicate counts as "first") is the same as a serial parse.
        let chunk = files.len().div_ceil(threads);
        let parts: Vec<DesiredSet> = std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .chunks(chunk.max(1))
                .map(|part| {
                    scope.spawn(move || {
                        let mut set = DesiredSet::default();
                        for (path, bytes) in part {
                            parse_file(&mut set, path, bytes, namespaces, commit);
                        }
                        set
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("parsing does not panic"))
                .collect()
        });
        for part in parts {
            set.objects.extend(part.objects);
            set.skipped.extend(part.skipped);
        }
    } else {
        for (path, bytes) in files {
            parse_file(&mut set, path, bytes, namespaces, commit);
        }
    }
    let mut seen: HashMap<&ObjectKey, &Source> = HashMap::with_capacity(set.objects.len());
    let mut duplicates = Vec::new();
    for object in &set.objects {
        if let Some(first) = seen.insert(&object.key, &object.source) {
            duplicates.push(Duplicate {
                key: object.key.clone(),
                first: first.clone(),
                second: object.source.clone(),
            });
        }
    }
    set.duplicates = duplicates;
    set
}

impl DesiredSet {
    /// Objects per kind, in registry order (kinds with none included as 0).
    pub fn counts_by_kind(&self) -> Vec<(&'static str, usize)> {
        kinds::desired_kinds()
            .map(|info| {
                let count = self
                    .objects
                    .iter()
                    .filter(|o| o.key.kind == info.kind)
                    .count();
                (info.kind, count)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_across_files_name_both_places() {
        let doc = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v\n";
        let set = parse_files(
            [("a.yaml", doc.as_bytes()), ("dir/b.yaml", doc.as_bytes())],
            &Namespaces::single("default"),
            "c",
        );
        assert_eq!(set.duplicates.len(), 1);
        let text = set.duplicates[0].to_string();
        assert!(
            text.contains("a.yaml:1") && text.contains("dir/b.yaml:1"),
            "{text}"
        );
    }

    #[test]
    fn a_large_parallel_parse_equals_a_serial_one() {
        let doc = |i: usize| {
            format!(
                "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v{i}\nspec:\n  subnets:\n    default: {{subnet: 10.0.0.0/24, vlan: {i}}}\n---\nkind: Bad\n"
            )
        };
        let files: Vec<(String, String)> = (0..400)
            .map(|f| {
                (
                    format!("f{f:03}.yaml"),
                    (0..40).map(|d| doc(f * 40 + d)).collect(),
                )
            })
            .collect();
        let mut with_copy = files.clone();
        with_copy.push(("zz.yaml".into(), doc(0)));
        assert!(with_copy.iter().map(|(_, t)| t.len()).sum::<usize>() >= PARALLEL_PARSE_BYTES);
        let parallel = parse_files(
            with_copy.iter().map(|(p, t)| (p.as_str(), t.as_bytes())),
            &Namespaces::single("default"),
            "c",
        );
        let mut serial = DesiredSet::default();
        for (path, text) in &with_copy {
            parse_file(
                &mut serial,
                path,
                text.as_bytes(),
                &Namespaces::single("default"),
                "c",
            );
        }
        assert_eq!(parallel.objects, serial.objects);
        assert_eq!(parallel.skipped, serial.skipped);
        assert_eq!(parallel.duplicates.len(), 1);
        assert_eq!(parallel.duplicates[0].first.file, "f000.yaml");
        assert_eq!(parallel.duplicates[0].second.file, "zz.yaml");
    }
}
