//! config::raw: the TOML file as serde reads it — every table and key, all optional, unknown
//! keys refused. Nothing here is checked yet; `validate` turns it into the public settings.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) store_file: Option<PathBuf>,
    pub(super) git_cache_dir: Option<PathBuf>,
    #[serde(default)]
    pub(super) fabric: Vec<RawFabric>,
    #[serde(default)]
    pub(super) ui: RawUi,
    #[serde(default)]
    pub(super) timeline: RawTimeline,
}

/// The optional `[timeline]` table: how much timeline the store keeps per fabric.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTimeline {
    pub(super) max_age: Option<String>,
    pub(super) max_bytes: Option<String>,
}

/// The optional `[ui]` table: dashboard behaviour and key bindings.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUi {
    pub(super) read_only: Option<bool>,
    pub(super) event_pane_lines: Option<u16>,
    #[serde(default)]
    pub(super) keys: BTreeMap<String, RawKeys>,
}

/// `sync = "s"` or `down = ["j", "down"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawKeys {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFabric {
    pub(super) name: Option<String>,
    pub(super) namespace: Option<String>,
    pub(super) namespaces: Option<Vec<String>>,
    #[serde(default)]
    pub(super) kind_namespaces: BTreeMap<String, String>,
    pub(super) kubernetes: Option<RawKubernetes>,
    pub(super) git: Option<RawGit>,
    #[serde(default)]
    pub(super) watch: RawWatch,
    #[serde(default)]
    pub(super) health: RawHealth,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKubernetes {
    pub(super) server: Option<String>,
    pub(super) token_env: Option<String>,
    pub(super) token_file: Option<PathBuf>,
    pub(super) ca_cert_file: Option<PathBuf>,
    pub(super) ca_cert: Option<String>,
    #[serde(default)]
    pub(super) insecure_skip_tls_verify: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGit {
    pub(super) url: Option<String>,
    pub(super) branch: Option<String>,
    pub(super) directory: Option<String>,
    pub(super) token_env: Option<String>,
    pub(super) token_file: Option<PathBuf>,
    pub(super) poll_interval_secs: Option<u64>,
    pub(super) max_file_bytes: Option<u64>,
    pub(super) max_sync_bytes: Option<u64>,
    pub(super) history_depth: Option<u32>,
    pub(super) history_commits: Option<usize>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWatch {
    pub(super) enabled: Option<bool>,
    pub(super) kinds: Option<Vec<String>>,
    pub(super) stale_heartbeat_secs: Option<i64>,
    pub(super) critical_drift_threshold: Option<usize>,
}

/// The optional `[fabric.health]` table: the thresholds health judges against
/// (`health::Thresholds`; a key left out keeps its default).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealth {
    pub(super) stale_after_secs: Option<i64>,
    pub(super) flap_window_secs: Option<i64>,
    pub(super) max_flaps: Option<u32>,
    pub(super) optic_rx_low_dbm: Option<f64>,
    pub(super) optic_rx_high_dbm: Option<f64>,
    pub(super) optic_tx_low_dbm: Option<f64>,
    pub(super) optic_temp_high_c: Option<f64>,
    pub(super) resources_warn_percent: Option<u8>,
    pub(super) resources_critical_percent: Option<u8>,
}
