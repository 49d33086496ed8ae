//! status: the status vocabulary of DESIGN.md — fabric connection, sync, drift and watch, and
//! per-resource kubernetes status — as plain serialisable data. No logic beyond naming.

use serde::{Deserialize, Serialize};
use std::fmt;

// Dates live in `time`; these names stay here because the whole crate reads them as `status::…`.
pub use crate::time::{Timestamp, format_age, format_clock, format_rfc3339, format_utc, now};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ConnectionState {
    #[default]
    Unknown,
    Connected,
    Failed,
    /// The server took a connection or a request and never answered (frozen, or a dropped VPN
    /// or hung load balancer on the way); `ConnectionStatus::no_answer_since` says since when.
    NoAnswer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SyncState {
    #[default]
    NeverSynced,
    Synced,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum DriftState {
    #[default]
    InSync,
    DriftDetected,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum WatchState {
    #[default]
    Inactive,
    Starting,
    Active,
    Error,
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum KubernetesState {
    #[default]
    Unknown,
    Applied,
    Live,
    Error,
}

macro_rules! display_as_debug {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    )*};
}
display_as_debug!(
    ConnectionState,
    SyncState,
    DriftState,
    WatchState,
    KubernetesState
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ConnectionStatus {
    pub state: ConnectionState,
    pub error: Option<String>,
    pub checked_at: Option<Timestamp>,
    pub server_version: Option<String>,
    /// When a request first went unanswered, while the server stays silent. Everything known
    /// about the cluster is from before this moment.
    #[serde(default)]
    pub no_answer_since: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SyncStatus {
    pub state: SyncState,
    pub error: Option<String>,
    /// When the last sync finished, successful or not.
    pub last_attempt: Option<Timestamp>,
    /// When the desired set was last replaced.
    pub last_sync: Option<Timestamp>,
    pub commit: Option<String>,
    /// Documents the last successful sync left out (unknown kinds, syntax errors, …).
    pub skipped: usize,
    /// Of those, the ones that are errors (syntax, names).
    pub skipped_errors: usize,
    /// The Git source the stored desired set came from (`trust::source_id`); a set synced
    /// from another source says nothing about this config's fabric.
    #[serde(default)]
    pub source: Option<String>,
    /// Skipped documents that still name an object: never pruned, never plain orphans.
    #[serde(default)]
    pub skipped_claims: Vec<SkippedClaim>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DriftStatus {
    pub state: DriftState,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WatchStatus {
    pub state: WatchState,
    pub started: Option<Timestamp>,
    pub last_event: Option<Timestamp>,
    pub event_count: u64,
    pub error: Option<String>,
}

/// Everything the fabric list shows about one fabric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FabricStatus {
    pub connection: ConnectionStatus,
    pub sync: SyncStatus,
    pub drift: DriftStatus,
    pub watch: WatchStatus,
}

/// The kubernetes side of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ResourceStatus {
    pub state: KubernetesState,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub created: Option<String>,
    pub last_applied: Option<Timestamp>,
    pub last_synced: Option<Timestamp>,
    pub error: Option<String>,
}

/// Serialises `value` for JSON output with the timestamps at `pointers` — Unix seconds in the
/// store — as RFC 3339 text, which every JSON consumer parses.
fn json_with_times<T: Serialize>(value: &T, pointers: &[&str]) -> serde_json::Value {
    let mut json = serde_json::to_value(value).expect("statuses serialise");
    for pointer in pointers {
        if let Some(field) = json.pointer_mut(pointer)
            && let Some(seconds) = field.as_i64()
        {
            *field = serde_json::Value::from(format_rfc3339(seconds));
        }
    }
    json
}

impl SyncStatus {
    const TIMESTAMPS: &[&str] = &["/last_attempt", "/last_sync"];

    /// The status as `--json` shows it: timestamps in RFC 3339.
    pub fn to_json(&self) -> serde_json::Value {
        json_with_times(self, Self::TIMESTAMPS)
    }
}

impl FabricStatus {
    /// Every timestamp field (a JSON pointer); a new one must be added here.
    const TIMESTAMPS: &[&str] = &[
        "/connection/checked_at",
        "/sync/last_attempt",
        "/sync/last_sync",
        "/watch/started",
        "/watch/last_event",
    ];

    /// The status as `--json` shows it: timestamps in RFC 3339.
    pub fn to_json(&self) -> serde_json::Value {
        json_with_times(self, Self::TIMESTAMPS)
    }
}

/// How every view words a silent API server: "no answer since 17:56:10Z".
pub fn no_answer_since(since: Timestamp) -> String {
    format!("no answer since {}", format_clock(since))
}

/// A document the sync left out that still names an object (kind and name), e.g. a VPC at an
/// unserved version or in another namespace: the live object of that name is not an orphan to
/// delete, whatever the sync made of the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedClaim {
    pub kind: String,
    pub name: String,
    /// `file:line: reason`
    pub at: String,
}

impl SkippedClaim {
    pub fn of(skipped: &crate::desired::Skipped) -> Option<SkippedClaim> {
        let (kind, name) = skipped.claims.as_ref()?;
        Some(SkippedClaim {
            kind: kind.clone(),
            name: name.clone(),
            at: skipped.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_a_silent_server_with_the_time_of_day() {
        assert_eq!(no_answer_since(1_795_629_370), "no answer since 17:56:10Z");
    }

    #[test]
    fn json_shows_every_timestamp_in_rfc3339() {
        const AT: Timestamp = 1_795_629_370;
        // Every field spelled out: a new one fails to compile here until it is given a value,
        // and a new timestamp left out of TIMESTAMPS shows up as a number below.
        let status = FabricStatus {
            connection: ConnectionStatus {
                state: ConnectionState::Connected,
                error: None,
                checked_at: Some(AT),
                server_version: Some("v1.34.4".into()),
                no_answer_since: None,
            },
            sync: SyncStatus {
                state: SyncState::Synced,
                error: None,
                last_attempt: Some(AT),
                last_sync: Some(AT),
                commit: Some("3f2a9c1".into()),
                skipped: 0,
                skipped_errors: 0,
                source: None,
                skipped_claims: Vec::new(),
            },
            drift: DriftStatus {
                state: DriftState::InSync,
                count: 0,
            },
            watch: WatchStatus {
                state: WatchState::Active,
                started: Some(AT),
                last_event: Some(AT),
                event_count: 7,
                error: None,
            },
        };
        let json = status.to_json();
        let text = json.to_string();
        assert!(!text.contains(&AT.to_string()), "{text}");
        assert_eq!(
            text.matches("\"2026-11-25T17:56:10Z\"").count(),
            5,
            "{text}"
        );
        assert_eq!(json["sync"], status.sync.to_json());
    }
}
