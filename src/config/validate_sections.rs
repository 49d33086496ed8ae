//! config::validate::sections: the `[fabric.health]` thresholds and the `[ui]` table (keys
//! and read-only), checked with the same `Validator` as the rest (every problem named).

use super::Validator;
use crate::config::UiConfig;
use crate::config::raw::{RawHealth, RawKeys, RawUi};

impl Validator<'_> {
    /// `[fabric.health]`: each key in its range, or the default. `stale_after_secs` defaults
    /// to `watch.stale_heartbeat_secs` (the older key, still honoured).
    pub(super) fn health(
        &mut self,
        raw: RawHealth,
        stale_heartbeat_secs: i64,
    ) -> crate::health::Thresholds {
        let defaults = crate::health::Thresholds::default();
        let mut seconds = |key: &str, value: Option<i64>, default: i64| match value {
            None => default,
            Some(secs @ 1..=86_400) => secs,
            Some(secs) => {
                self.problem(
                    &format!("health.{key}"),
                    format!("{secs} is out of range; use 1 to 86400 seconds"),
                );
                default
            }
        };
        let stale_after_secs = seconds(
            "stale_after_secs",
            raw.stale_after_secs,
            stale_heartbeat_secs,
        );
        let flap_window_secs = seconds(
            "flap_window_secs",
            raw.flap_window_secs,
            defaults.flap_window_secs,
        );
        let max_flaps = match raw.max_flaps {
            None => defaults.max_flaps,
            Some(flaps @ 1..=10_000) => flaps,
            Some(flaps) => {
                self.problem(
                    "health.max_flaps",
                    format!("{flaps} is out of range; use 1 to 10000 oper changes"),
                );
                defaults.max_flaps
            }
        };
        let mut number =
            |key: &str, value: Option<f64>, default: f64, range: (f64, f64), unit| match value {
                None => default,
                Some(v) if v.is_finite() && (range.0..=range.1).contains(&v) => v,
                Some(v) => {
                    self.problem(
                        &format!("health.{key}"),
                        format!("{v} is out of range; use {} to {} {unit}", range.0, range.1),
                    );
                    default
                }
            };
        const DBM: (f64, f64) = (-40.0, 20.0);
        let optic_rx_low_dbm = number(
            "optic_rx_low_dbm",
            raw.optic_rx_low_dbm,
            defaults.optic_rx_low_dbm,
            DBM,
            "dBm",
        );
        let optic_rx_high_dbm = number(
            "optic_rx_high_dbm",
            raw.optic_rx_high_dbm,
            defaults.optic_rx_high_dbm,
            DBM,
            "dBm",
        );
        let optic_tx_low_dbm = number(
            "optic_tx_low_dbm",
            raw.optic_tx_low_dbm,
            defaults.optic_tx_low_dbm,
            DBM,
            "dBm",
        );
        let optic_temp_high_c = number(
            "optic_temp_high_c",
            raw.optic_temp_high_c,
            defaults.optic_temp_high_c,
            (0.0, 150.0),
            "°C",
        );
        if optic_rx_low_dbm >= optic_rx_high_dbm {
            self.problem(
                "health.optic_rx_low_dbm",
                format!("{optic_rx_low_dbm} must be below health.optic_rx_high_dbm ({optic_rx_high_dbm})"),
            );
        }
        let mut percent = |key: &str, value: Option<u8>, default: u8| match value {
            None => default,
            Some(p @ 1..=100) => p,
            Some(p) => {
                self.problem(
                    &format!("health.{key}"),
                    format!("{p} is out of range; use 1 to 100 percent"),
                );
                default
            }
        };
        let resources_warn_percent = percent(
            "resources_warn_percent",
            raw.resources_warn_percent,
            defaults.resources_warn_percent,
        );
        let resources_critical_percent = percent(
            "resources_critical_percent",
            raw.resources_critical_percent,
            defaults.resources_critical_percent,
        );
        if resources_warn_percent > resources_critical_percent {
            self.problem(
                "health.resources_warn_percent",
                format!("{resources_warn_percent} must not be above health.resources_critical_percent ({resources_critical_percent})"),
            );
        }
        crate::health::Thresholds {
            stale_after_secs,
            flap_window_secs,
            max_flaps,
            optic_rx_low_dbm,
            optic_rx_high_dbm,
            optic_tx_low_dbm,
            optic_temp_high_c,
            resources_warn_percent,
            resources_critical_percent,
        }
    }

    pub(super) fn ui(&mut self, raw: RawUi) -> UiConfig {
        let defaults = UiConfig::default();
        let event_pane_lines = match raw.event_pane_lines {
            None => defaults.event_pane_lines,
            Some(lines @ 1..=50) => lines,
            Some(lines) => {
                self.problem(
                    "ui.event_pane_lines",
                    format!("{lines} is out of range; use 1 to 50"),
                );
                defaults.event_pane_lines
            }
        };
        let keys = raw
            .keys
            .into_iter()
            .map(|(action, keys)| {
                let keys = match keys {
                    RawKeys::One(key) => vec![key],
                    RawKeys::Many(keys) => keys,
                };
                (action, keys)
            })
            .collect();
        let (keys, problems) = crate::keymap::check_overrides(&keys);
        for (key, message) in problems {
            self.problem(&key, message);
        }
        UiConfig {
            read_only: raw.read_only.unwrap_or(defaults.read_only),
            event_pane_lines,
            keys,
        }
    }
}
