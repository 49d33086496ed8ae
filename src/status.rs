//! status: the status vocabulary of DESIGN.md — fabric connection, sync, drift and watch, and
//! per-resource kubernetes status — as plain serialisable data. No logic beyond naming.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Seconds since the Unix epoch; the store and the screen format it.
pub type Timestamp = i64;

pub fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

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

/// `2026-11-25 17:56:10Z` from a Unix timestamp (UTC), without a date library.
pub fn format_utc(timestamp: Timestamp) -> String {
    let days = timestamp.div_euclid(86_400);
    let seconds = timestamp.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// `17:56:10Z`: the time of day (UTC) of a timestamp.
pub fn format_clock(timestamp: Timestamp) -> String {
    format!("{}Z", &format_utc(timestamp)[11..19])
}

/// How every view words a silent API server: "no answer since 17:56:10Z".
pub fn no_answer_since(since: Timestamp) -> String {
    format!("no answer since {}", format_clock(since))
}

/// "42s ago", "5m ago", "3h ago", "2d ago".
pub fn format_age(timestamp: Timestamp, now: Timestamp) -> String {
    let age = (now - timestamp).max(0);
    match age {
        0..60 => format!("{age}s ago"),
        60..3600 => format!("{}m ago", age / 60),
        3600..86_400 => format!("{}h ago", age / 3600),
        _ => format!("{}d ago", age / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_and_ages() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(format_utc(1_795_629_370), "2026-11-25 17:56:10Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00Z");
        assert_eq!(format_age(100, 142), "42s ago");
        assert_eq!(format_age(0, 7200), "2h ago");
        assert_eq!(no_answer_since(1_795_629_370), "no answer since 17:56:10Z");
    }
}
