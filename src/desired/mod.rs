//! desired: turns the YAML files of a fabric's Git directory into the validated desired set.
//! It owns document splitting, line numbers, and the checks a document must pass (registry
//! kind and version, name, namespace). It does no I/O: callers hand it file bytes.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bounded_yaml::{self, YamlError};
use crate::kinds::{self, KindInfo};

/// Identifies one object of a fabric: kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectKey {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

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
    pub object: Value,
    pub source: Source,
}

/// Why a document was left out of the desired set. None of these stop a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SkipReason {
    /// The YAML does not parse; line and column are within the file.
    Syntax {
        message: String,
        line: usize,
        column: usize,
    },
    /// Parsed, but is not a Kubernetes object (a scalar, a list, or no apiVersion/kind).
    NotAnObject,
    /// A Hedgehog group at a version the fabric no longer serves (e.g. v1alpha2).
    UnservedVersion {
        kind: String,
        api_version: String,
        served: String,
    },
    /// A kind hhdash does not manage (another API group, or an unknown Hedgehog kind).
    UnknownKind {
        kind: String,
        api_version: String,
    },
    /// A kind hhdash only reads (Agent): the controller owns it.
    ReadOnlyKind {
        kind: String,
    },
    MissingName {
        kind: String,
    },
    InvalidName {
        kind: String,
        name: String,
    },
    /// The document names a namespace other than the fabric's.
    ForeignNamespace {
        kind: String,
        name: String,
        namespace: String,
        fabric_namespace: String,
    },
    /// The whole file is larger than `git.max_file_bytes`; it was not read.
    FileTooLarge {
        bytes: u64,
        limit: u64,
    },
    /// Mappings and lists nest deeper than [`bounded_yaml::MAX_DEPTH`].
    TooDeep {
        line: usize,
        column: usize,
    },
    /// The document is longer than [`bounded_yaml::MAX_DOCUMENT_BYTES`]; it was not parsed.
    DocumentTooLarge {
        bytes: usize,
    },
    /// YAML aliases expand the document past `budget` bytes (an alias bomb).
    ExpandsTooFar {
        line: usize,
        column: usize,
        budget: usize,
    },
}

impl SkipReason {
    /// Syntax errors are errors; the rest are documents hhdash does not manage.
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            SkipReason::Syntax { .. }
                | SkipReason::MissingName { .. }
                | SkipReason::InvalidName { .. }
                | SkipReason::FileTooLarge { .. }
                | SkipReason::DocumentTooLarge { .. }
                | SkipReason::TooDeep { .. }
                | SkipReason::ExpandsTooFar { .. }
        )
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Syntax { message, .. } => write!(f, "YAML syntax error: {message}"),
            SkipReason::NotAnObject => {
                write!(f, "not a Kubernetes object (no apiVersion and kind)")
            }
            SkipReason::UnservedVersion {
                kind,
                api_version,
                served,
            } => write!(
                f,
                "{kind} {api_version} is no longer served; rewrite it as {served}"
            ),
            SkipReason::UnknownKind { kind, api_version } => {
                write!(f, "{kind} ({api_version}) is not a kind hhdash manages")
            }
            SkipReason::ReadOnlyKind { kind } => {
                write!(
                    f,
                    "{kind} is owned by the Hedgehog controller; hhdash only reads it"
                )
            }
            SkipReason::MissingName { kind } => write!(f, "{kind} has no metadata.name"),
            SkipReason::InvalidName { kind, name } => write!(
                f,
                "{kind} name {name:?} is not a lowercase RFC 1123 name (a-z, 0-9, '-', '.')"
            ),
            SkipReason::ForeignNamespace {
                kind,
                name,
                namespace,
                fabric_namespace,
            } => write!(
                f,
                "{kind} {name} is in namespace {namespace:?}, but this fabric manages {fabric_namespace:?}"
            ),
            SkipReason::FileTooLarge { bytes, limit } => write!(
                f,
                "the file is {bytes} bytes, more than git.max_file_bytes ({limit}); it was not \
                 read: split it into smaller files, or raise git.max_file_bytes"
            ),
            SkipReason::DocumentTooLarge { bytes } => write!(
                f,
                "the document is {bytes} bytes, more than the {} the Kubernetes API server \
                 accepts in one request, so it could never be applied; split it",
                bounded_yaml::MAX_DOCUMENT_BYTES
            ),
            SkipReason::TooDeep { .. } => write!(
                f,
                "mappings and lists nest deeper than {} levels; hhdash does not read documents \
                 this deep: flatten it",
                bounded_yaml::MAX_DEPTH
            ),
            SkipReason::ExpandsTooFar { budget, .. } => write!(
                f,
                "YAML aliases (*name) expand this document past {budget} bytes (twice its own \
                 size, at least {} bytes); refused as an alias bomb: write the repeated parts out",
                bounded_yaml::MIN_EXPANSION_BUDGET
            ),
        }
    }
}

/// A document left out of the desired set, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub file: String,
    pub line: usize,
    pub reason: SkipReason,
    /// The kind and name the document gives, when it gives both: a live object of that name is
    /// still Git's, not an orphan to prune.
    #[serde(default)]
    pub claims: Option<(String, String)>,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
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

/// One YAML document cut out of a file, with the file line it starts on.
struct RawDocument<'a> {
    text: &'a str,
    /// 0-based line in the file where `text` begins.
    first_line: usize,
}

/// Whether a line separates YAML documents (`---`, optionally followed by content or comment).
fn is_separator(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
}

/// Cuts a file into documents at `---` lines, so that a syntax error in one document does not
/// cost the others (serde_yaml's own multi-document reader stops at the first error).
fn split_documents(text: &str) -> Vec<RawDocument<'_>> {
    let mut documents = Vec::new();
    let mut start_offset = 0;
    let mut start_line = 0;
    let mut offset = 0;
    for (line_number, line) in text.split_inclusive('\n').enumerate() {
        let content = line.trim_end_matches(['\n', '\r']);
        if is_separator(content) || content == "..." {
            documents.push(RawDocument {
                text: &text[start_offset..offset],
                first_line: start_line,
            });
            // Content after `--- ` on the same line belongs to the next document.
            let rest = content[3..].trim_start();
            if content != "..." && !rest.is_empty() && !rest.starts_with('#') {
                let rest_offset = offset + line.find(rest).unwrap_or(3);
                start_offset = rest_offset;
                start_line = line_number;
            } else {
                start_offset = offset + line.len();
                start_line = line_number + 1;
            }
        }
        offset += line.len();
    }
    documents.push(RawDocument {
        text: &text[start_offset..],
        first_line: start_line,
    });
    documents
}

/// The 1-based file line of the first line that is neither blank nor a comment.
fn first_content_line(document: &RawDocument) -> Option<usize> {
    document
        .text
        .lines()
        .position(|line| {
            let trimmed = line.trim();
            !trimmed.is_empty() && !trimmed.starts_with('#')
        })
        .map(|index| document.first_line + index + 1)
}

/// RFC 1123 DNS subdomain, as Kubernetes requires for object names.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Checks one parsed document against the registry and fabric; returns the object or why not.
fn validate(
    mut object: Value,
    fabric_namespace: &str,
) -> Result<(ObjectKey, Value, &'static KindInfo), SkipReason> {
    let (Some(api_version), Some(kind)) = (
        object.get("apiVersion").and_then(Value::as_str),
        object.get("kind").and_then(Value::as_str),
    ) else {
        return Err(SkipReason::NotAnObject);
    };
    let (api_version, kind) = (api_version.to_string(), kind.to_string());
    let info = match kinds::by_kind(&kind) {
        Some(info) if info.api_version() == api_version => info,
        Some(info) if kinds::is_hedgehog_group(&api_version) => {
            return Err(SkipReason::UnservedVersion {
                kind,
                api_version,
                served: info.api_version(),
            });
        }
        _ => return Err(SkipReason::UnknownKind { kind, api_version }),
    };
    if !info.writable() {
        return Err(SkipReason::ReadOnlyKind { kind });
    }
    let metadata = object
        .as_object_mut()
        .map(|map| {
            map.entry("metadata")
                .or_insert_with(|| Value::Object(Default::default()))
        })
        .and_then(Value::as_object_mut)
        .ok_or_else(|| SkipReason::MissingName { kind: kind.clone() })?;
    let name = match metadata.get("name").and_then(Value::as_str) {
        Some(name) if is_valid_name(name) => name.to_string(),
        Some(name) => {
            return Err(SkipReason::InvalidName {
                kind,
                name: name.to_string(),
            });
        }
        None => return Err(SkipReason::MissingName { kind }),
    };
    match metadata.get("namespace").and_then(Value::as_str) {
        None | Some("") => {
            metadata.insert("namespace".into(), Value::from(fabric_namespace));
        }
        Some(namespace) if namespace != fabric_namespace => {
            return Err(SkipReason::ForeignNamespace {
                kind,
                name,
                namespace: namespace.to_string(),
                fabric_namespace: fabric_namespace.to_string(),
            });
        }
        Some(_) => {}
    }
    let key = ObjectKey {
        kind,
        namespace: fabric_namespace.to_string(),
        name,
    };
    Ok((key, object, info))
}

/// Parses and validates one file's documents, appending to `set`. Empty and comment-only
/// documents are not documents and are not reported.
pub fn parse_file(
    set: &mut DesiredSet,
    file: &str,
    bytes: &[u8],
    fabric_namespace: &str,
    commit: &str,
) {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let line = bytes[..error.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            set.skipped.push(Skipped {
                file: file.to_string(),
                line,
                reason: SkipReason::Syntax {
                    message: "the file is not UTF-8 text".into(),
                    line,
                    column: 1,
                },
                claims: None,
            });
            return;
        }
    };
    let mut document_index = 0;
    for raw in split_documents(text) {
        let Some(line) = first_content_line(&raw) else {
            continue;
        };
        let index = document_index;
        document_index += 1;
        let parsed: Value = match bounded_yaml::from_str(raw.text) {
            Ok(Value::Null) => {
                document_index -= 1;
                continue;
            }
            Ok(value) => value,
            Err(error) => {
                // serde_yaml places errors at the end of the stream one line past a document
                // without a final newline; the operator needs a line that exists.
                let last_line = raw.first_line + raw.text.lines().count().max(1);
                let (error_line, column) = error
                    .location()
                    .map(|(l, c)| ((raw.first_line + l).min(last_line), c))
                    .unwrap_or((line, 1));
                let reason = match error {
                    YamlError::DocumentTooLarge { bytes } => SkipReason::DocumentTooLarge { bytes },
                    YamlError::TooDeep { .. } => SkipReason::TooDeep {
                        line: error_line,
                        column,
                    },
                    YamlError::ExpandsTooFar { budget, .. } => SkipReason::ExpandsTooFar {
                        line: error_line,
                        column,
                        budget,
                    },
                    YamlError::Syntax(error) => SkipReason::Syntax {
                        message: syntax_message(&error),
                        line: error_line,
                        column,
                    },
                };
                set.skipped.push(Skipped {
                    file: file.to_string(),
                    line: error_line,
                    reason,
                    claims: None,
                });
                continue;
            }
        };
        let claims = claimed_identity(&parsed);
        match validate(parsed, fabric_namespace) {
            Ok((key, object, _info)) => set.objects.push(DesiredObject {
                key,
                object,
                source: Source {
                    file: file.to_string(),
                    document: index,
                    line,
                    commit: commit.to_string(),
                },
            }),
            Err(reason) => set.skipped.push(Skipped {
                file: file.to_string(),
                line,
                reason,
                claims,
            }),
        }
    }
}

/// The kind and name a document states, valid or not.
fn claimed_identity(document: &Value) -> Option<(String, String)> {
    let kind = document.get("kind")?.as_str()?;
    let name = document.pointer("/metadata/name")?.as_str()?;
    Some((kind.to_string(), name.to_string()))
}

/// serde_yaml's message, made actionable where it is cryptic.
fn syntax_message(error: &serde_yaml::Error) -> String {
    let message = first_sentence(&error.to_string());
    if message.starts_with("repetition limit exceeded") {
        // serde_yaml follows at most 100 aliases per YAML event of the document.
        return "aliases (*name) are followed too many times (serde_yaml's repetition limit); \
                write the repeated parts out"
            .to_string();
    }
    message
}

/// serde_yaml appends " at line L column C" to messages; the location is reported on its own.
fn first_sentence(message: &str) -> String {
    match message.find(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

/// Below this much YAML a sync parses on one thread (spawning costs more than it saves).
const PARALLEL_PARSE_BYTES: usize = 512 * 1024;

/// Parses every file of a commit into the desired set and finds duplicates across files.
pub fn parse_files<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    fabric_namespace: &str,
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
                            parse_file(&mut set, path, bytes, fabric_namespace, commit);
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
            parse_file(&mut set, path, bytes, fabric_namespace, commit);
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

    fn parse(text: &str) -> DesiredSet {
        parse_files([("f.yaml", text.as_bytes())], "default", "abc")
    }

    #[test]
    fn a_syntax_error_costs_only_its_own_document() {
        let set = parse(
            "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: a\n---\n\
             kind: VPC\n  bad: [indent\n---\n\
             apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: b\n",
        );
        let names: Vec<&str> = set.objects.iter().map(|o| o.key.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(set.skipped.len(), 1);
        let SkipReason::Syntax { line, .. } = &set.skipped[0].reason else {
            panic!("expected a syntax error, got {:?}", set.skipped[0]);
        };
        // `  bad: [indent` on line 7, not the document's first line (6).
        assert_eq!(*line, 7, "error line {line} is the line of the error");
        assert_eq!(set.objects[1].source.line, 9);
        assert_eq!(set.objects[1].source.document, 2);
    }

    #[test]
    fn comment_only_and_empty_documents_are_not_documents() {
        let set = parse("# nothing here\n---\n---\n# still nothing\n");
        assert!(set.objects.is_empty());
        assert!(set.skipped.is_empty());
    }

    #[test]
    fn namespace_defaults_to_the_fabric_and_foreign_ones_are_reported() {
        let set = parse_files(
            [(
                "f.yaml",
                "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: s1\n---\n\
                 apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: s2\n  namespace: other\n"
                    .as_bytes(),
            )],
            "fab-a",
            "c1",
        );
        assert_eq!(set.objects.len(), 1);
        assert_eq!(set.objects[0].object["metadata"]["namespace"], "fab-a");
        assert!(matches!(
            set.skipped[0].reason,
            SkipReason::ForeignNamespace { .. }
        ));
    }

    #[test]
    fn unserved_versions_and_foreign_kinds_are_told_apart() {
        let set = parse(
            "apiVersion: wiring.githedgehog.com/v1alpha2\nkind: Switch\nmetadata:\n  name: s\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\n\
             apiVersion: agent.githedgehog.com/v1beta1\nkind: Agent\nmetadata:\n  name: a\n",
        );
        assert!(set.objects.is_empty());
        assert!(matches!(
            &set.skipped[0].reason,
            SkipReason::UnservedVersion { served, .. } if served == "wiring.githedgehog.com/v1beta1"
        ));
        assert!(matches!(
            set.skipped[1].reason,
            SkipReason::UnknownKind { .. }
        ));
        assert!(matches!(
            set.skipped[2].reason,
            SkipReason::ReadOnlyKind { .. }
        ));
        assert_eq!(set.skipped[1].line, 6);
    }

    #[test]
    fn names_must_be_present_and_valid() {
        let set = parse(
            "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nspec: {}\n---\n\
             apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: Bad_Name\n",
        );
        assert!(set.objects.is_empty());
        assert!(matches!(
            set.skipped[0].reason,
            SkipReason::MissingName { .. }
        ));
        assert!(matches!(
            set.skipped[1].reason,
            SkipReason::InvalidName { .. }
        ));
    }

    #[test]
    fn duplicates_across_files_name_both_places() {
        let doc = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v\n";
        let set = parse_files(
            [("a.yaml", doc.as_bytes()), ("dir/b.yaml", doc.as_bytes())],
            "default",
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
            "default",
            "c",
        );
        let mut serial = DesiredSet::default();
        for (path, text) in &with_copy {
            parse_file(&mut serial, path, text.as_bytes(), "default", "c");
        }
        assert_eq!(parallel.objects, serial.objects);
        assert_eq!(parallel.skipped, serial.skipped);
        assert_eq!(parallel.duplicates.len(), 1);
        assert_eq!(parallel.duplicates[0].first.file, "f000.yaml");
        assert_eq!(parallel.duplicates[0].second.file, "zz.yaml");
    }

    #[test]
    fn separator_with_inline_content_starts_the_next_document() {
        let set = parse(
            "--- # comment\napiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata: {name: x}\n",
        );
        assert_eq!(set.objects.len(), 1);
        assert_eq!(set.objects[0].source.line, 2);
    }
}
