//! health::thresholds: every limit health judges against, per fabric, with the defaults an
//! operator gets without configuring anything (README "Health"; config key `[fabric.health]`).
//! Upstream Hedgehog defines none for optics, PSUs, fans or resources (health-facts §4), so
//! these are hhdash's own, chosen from common SFP28/QSFP28 datasheet alarm levels and SONiC
//! CRM's default high threshold.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// A switch or gateway whose agent has not reported for longer is Stale (Unhealthy).
    pub stale_after_secs: i64,
    /// How far back oper-state changes count as flaps.
    pub flap_window_secs: i64,
    /// This many oper changes of one port within the window: the port flaps (Warning; an
    /// expected port that is down as well is Unhealthy for being down).
    pub max_flaps: u32,
    /// Receive power below this on any lane (dBm): the optic is failing or the fiber is dirty.
    pub optic_rx_low_dbm: f64,
    /// Receive power above this (dBm): risk of saturating the receiver.
    pub optic_rx_high_dbm: f64,
    /// Transmit power below this (dBm).
    pub optic_tx_low_dbm: f64,
    /// Transceiver temperature above this (°C).
    pub optic_temp_high_c: f64,
    /// A critical resource this full (percent) is a Warning…
    pub resources_warn_percent: u8,
    /// …and this full is Unhealthy.
    pub resources_critical_percent: u8,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            stale_after_secs: super::DEFAULT_STALE_AFTER_SECS,
            flap_window_secs: 300,
            max_flaps: 3,
            optic_rx_low_dbm: -12.0,
            optic_rx_high_dbm: 3.5,
            optic_tx_low_dbm: -8.0,
            optic_temp_high_c: 70.0,
            resources_warn_percent: 80,
            resources_critical_percent: 95,
        }
    }
}
