//! Why a document is left out of the desired set ([`SkipReason`]) and where it is
//! ([`Skipped`]): the words an operator reads for each case.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::bounded_yaml;

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
    /// A kind Hedgehog renamed (`Peering` → `GatewayPeering`); today's fabrics do not serve it.
    RenamedKind {
        kind: String,
        api_version: String,
        now: String,
        also: String,
    },
    /// The document names a namespace the fabric does not manage (`fabric_namespace` lists
    /// the ones it does).
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
                | SkipReason::RenamedKind { .. }
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
            SkipReason::RenamedKind {
                kind,
                api_version,
                now,
                also,
            } => write!(
                f,
                "{kind} ({api_version}) is the old name of {now}, which Hedgehog fabrics serve \
                 today; hhdash does not apply it: change `kind: {kind}` to `kind: {now}`, and \
                 {also}"
            ),
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
                "{kind} {name} is in namespace {namespace:?}, but this fabric manages {fabric_namespace} \
                 only: add the namespace to the fabric's namespaces, or move the document"
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
