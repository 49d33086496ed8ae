//! attribution: who changed a drifted field, and when — on both sides of a drift.
//!
//! * **Live side** ([`attribute`]): the managers that own the field in the live object, read
//!   from its `managedFields` (`fieldsV1`), with their operation (Apply/Update) and the time
//!   of their last write. The cluster module keeps a trimmed `fieldsV1` on every writable
//!   object for this (`cluster::strip_server_noise`); read-only kinds keep none.
//! * **Git side** ([`GitOrigin`], computed by `git::history`): the commit that last changed
//!   the value Git sets at the path, and the line of the path in the file.
//!
//! Pure data and formatting here; the parsing of `fieldsV1` lives in `managed`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::drift::{Drift, Transition};
use crate::kinds::ObjectKey;
use crate::object::Object;
use crate::time::{Timestamp, format_clock, format_rfc3339, format_utc};

mod managed;

pub use managed::attribute;

/// One field manager's last write, from a `managedFields` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FieldWriter {
    /// `kubectl-patch`, `kubectl-client-side-apply`, `hhdash`, `fabric-controller`…
    pub manager: String,
    /// `Apply` (server-side apply) or `Update` (any other write).
    pub operation: String,
    /// `status` when the write went to the status subresource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subresource: Option<String>,
    /// When this manager last wrote the object (Kubernetes keeps one time per manager, not
    /// per field).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339_opt",
        deserialize_with = "from_rfc3339_opt"
    )]
    pub time: Option<Timestamp>,
}

/// Who owns one drifted path of a live object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LiveAttribution {
    /// The owning managers, newest write first (several managers may share a field).
    pub writers: Vec<FieldWriter>,
    /// True when the path itself is owned. False when nobody owns it (a field removed from
    /// the live object, a list that changed length) and `writers` are the newest writers of
    /// its nearest owned ancestor or descendants: who most likely removed or reshaped it.
    pub exact: bool,
}

/// The commit that last changed what Git sets at a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GitOrigin {
    /// Full hash.
    pub commit: String,
    pub author: String,
    #[serde(serialize_with = "rfc3339", deserialize_with = "from_rfc3339")]
    pub time: Timestamp,
    /// First line of the commit message.
    pub subject: String,
    /// The history read ends before the value was set (a shallow clone, or the walk's bound):
    /// the value was set in `commit` or earlier.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub at_or_before: bool,
}

/// What is known about one drifted path: who wrote the live value, which commit set the Git
/// value, and where that value is in the Git file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PathExplanation {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveAttribution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitOrigin>,
    /// 1-based line of the path in the Git file (None: Git does not set it, or not found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// The Git side of one object's drifted paths, as the engine answers `Command::Explain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitExplanation {
    pub key: ObjectKey,
    /// The synced commit the explanation was computed at.
    pub commit: String,
    /// The object's file in Git.
    pub file: String,
    /// One per drifted path, in the verdict's path order (`live` is left None: the UI and CLI
    /// attribute the live side themselves from the live object they hold).
    pub paths: Vec<PathExplanation>,
    /// Why the Git side could not be (fully) explained, for the operator.
    pub problem: Option<String>,
}

fn rfc3339<S: serde::Serializer>(time: &Timestamp, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(&format_rfc3339(*time))
}

/// Reads back what `rfc3339` wrote (JSON output and the serve protocol carry these).
fn from_rfc3339<'de, D: serde::Deserializer<'de>>(input: D) -> Result<Timestamp, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(input)?;
    crate::time::parse_rfc3339(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text:?}")))
}

fn from_rfc3339_opt<'de, D: serde::Deserializer<'de>>(
    input: D,
) -> Result<Option<Timestamp>, D::Error> {
    from_rfc3339(input).map(Some)
}

fn rfc3339_opt<S: serde::Serializer>(time: &Option<Timestamp>, out: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => rfc3339(time, out),
        None => out.serialize_none(),
    }
}

impl fmt::Display for FieldWriter {
    /// `kubectl-patch (Update) 15:22:37Z`, `fabric-controller (Update, status)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.manager, self.operation)?;
        if let Some(subresource) = &self.subresource {
            write!(f, ", {subresource}")?;
        }
        write!(f, ")")?;
        if let Some(time) = self.time {
            write!(f, " {}", format_clock(time))?;
        }
        Ok(())
    }
}

impl fmt::Display for LiveAttribution {
    /// `by kubectl-patch (Update) 15:22:37Z`, `by a (Apply) …, b (Update) …`; a removed or
    /// reshaped field: `likely by kubectl-edit (Update) 15:22:37Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.writers.is_empty() {
            return write!(f, "no field manager owns it");
        }
        write!(f, "{}", if self.exact { "by " } else { "likely by " })?;
        for (i, writer) in self.writers.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{writer}")?;
        }
        Ok(())
    }
}

impl fmt::Display for GitOrigin {
    /// `a1b2c3d Alice 2026-11-20 14:02:11Z "raise vlan"` (`set at or before a1b2c3d …` when
    /// the history read ends before the value was set).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at_or_before {
            write!(f, "at or before ")?;
        }
        write!(
            f,
            "{} {} {} \"{}\"",
            crate::git::short_commit(&self.commit),
            self.author,
            format_utc(self.time),
            self.subject
        )
    }
}

/// The live attribution of every drifted path of a verdict, in path order (empty unless
/// Drifted or without a live object).
pub fn attribute_all(drift: &Drift, live: Option<&Value>) -> Vec<PathExplanation> {
    let (Drift::Drifted(diffs), Some(live)) = (drift, live) else {
        return Vec::new();
    };
    diffs
        .iter()
        .map(|diff| PathExplanation {
            path: diff.path.clone(),
            live: attribute(live, &diff.path),
            ..Default::default()
        })
        .collect()
}

/// The drift event line: the transition, plus who wrote the first drifted path when it is
/// known — `VPC/vpc-1 InSync → Drifted (spec.role: server-leaf → border-leaf, +1 more) · by
/// kubectl-patch (Update) 15:22:37Z`.
pub fn describe_transition(transition: &Transition, live: Option<&Object>) -> String {
    let mut line = transition.to_string();
    // Decoded only for a drift, which is the only line that names a writer.
    if let (Drift::Drifted(diffs), Some(live)) = (&transition.drift, live)
        && let Some(first) = diffs.first()
        && let Some(attribution) = attribute(&live.value(), &first.path)
    {
        line.push_str(" · ");
        line.push_str(&attribution.to_string());
    }
    line
}
