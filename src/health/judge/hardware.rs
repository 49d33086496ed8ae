//! Hardware: transceivers (optical power and temperature against the fabric's thresholds),
//! PSUs, fans, temperature sensors (against the NOS's own thresholds) and critical resources.

use std::collections::{BTreeMap, BTreeSet};

use super::{Findings, natural_cmp};
use crate::health::model::{CriticalResources, Platform, Transceiver};
use crate::health::{Level, OpticRow, PlatformRow, ResourceRow, Signal, Thresholds};

/// One Warning per transceiver outside the thresholds, naming each value and its limit.
/// Receive power is judged only on `watched` ports (expected by Git or up): a spare optic
/// with no fiber reads no light, and that is no alarm.
pub(super) fn judge_optics(
    transceivers: &BTreeMap<String, Transceiver>,
    watched: &BTreeSet<&str>,
    thresholds: &Thresholds,
    findings: &mut Findings,
) -> Vec<OpticRow> {
    let mut rows = Vec::new();
    for (port, optic) in transceivers {
        let lanes = || optic.channels.values();
        let rx_low = lanes().filter_map(|lane| lane.rx_dbm).reduce(f64::min);
        let rx_high = lanes().filter_map(|lane| lane.rx_dbm).reduce(f64::max);
        let tx_low = lanes().filter_map(|lane| lane.tx_dbm).reduce(f64::min);
        let mut alarms = Vec::new();
        if watched.contains(port.as_str()) {
            if let Some(rx) = rx_low.filter(|rx| *rx < thresholds.optic_rx_low_dbm) {
                alarms.push(format!(
                    "receive power {rx:.2} dBm below {:.2} dBm",
                    thresholds.optic_rx_low_dbm
                ));
            }
            if let Some(rx) = rx_high.filter(|rx| *rx > thresholds.optic_rx_high_dbm) {
                alarms.push(format!(
                    "receive power {rx:.2} dBm above {:.2} dBm",
                    thresholds.optic_rx_high_dbm
                ));
            }
        }
        if let Some(tx) = tx_low.filter(|tx| *tx < thresholds.optic_tx_low_dbm) {
            alarms.push(format!(
                "transmit power {tx:.2} dBm below {:.2} dBm",
                thresholds.optic_tx_low_dbm
            ));
        }
        if let Some(temp) = optic
            .temp
            .filter(|temp| *temp > thresholds.optic_temp_high_c)
        {
            alarms.push(format!(
                "temperature {temp:.1}°C above {:.1}°C",
                thresholds.optic_temp_high_c
            ));
        }
        let level = if alarms.is_empty() {
            Level::Healthy
        } else {
            findings.add(
                Level::Warning,
                Signal::Optics,
                port,
                format!("{port} optic: {}", alarms.join("; ")),
            );
            Level::Warning
        };
        let description = if optic.descr.is_empty() {
            format!("{} {}", optic.vendor, optic.vendor_part)
                .trim()
                .to_string()
        } else {
            optic.descr.clone()
        };
        rows.push(OpticRow {
            port: port.clone(),
            description,
            oper: optic.oper.clone(),
            temperature: optic.temp,
            rx_dbm: rx_low,
            tx_dbm: tx_low,
            level,
        });
    }
    rows.sort_by(|a, b| natural_cmp(&a.port, &b.port));
    rows
}

/// A present PSU or fan without `status` has failed (Unhealthy); a sensor at or above its
/// critical threshold is Unhealthy, at or above its high one a Warning (a threshold of 0 is
/// unknown).
pub(super) fn judge_platform(platform: &Platform, findings: &mut Findings) -> Vec<PlatformRow> {
    let mut rows = Vec::new();
    let units = platform
        .psus
        .iter()
        .map(|(name, psu)| ("psu", "PSU", name, psu.presence, psu.status))
        .chain(
            platform
                .fans
                .iter()
                .map(|(name, fan)| ("fan", "fan", name, fan.presence, fan.status)),
        );
    for (component, label, name, present, ok) in units {
        let (state, level) = match (present, ok) {
            (false, _) => ("absent", Level::Healthy),
            (true, true) => ("ok", Level::Healthy),
            (true, false) => ("failed", Level::Unhealthy),
        };
        if level == Level::Unhealthy {
            let named = if name.to_lowercase().starts_with(component) {
                name.clone()
            } else {
                format!("{label} {name}")
            };
            findings.add(level, Signal::Platform, name, format!("{named} failed"));
        }
        rows.push(PlatformRow {
            component: component.to_string(),
            name: name.clone(),
            state: state.to_string(),
            level,
        });
    }
    for (name, sensor) in &platform.temps {
        let Some(temp) = sensor.temp else { continue };
        let known = |threshold: Option<f64>| threshold.filter(|limit| *limit != 0.0);
        let high = known(sensor.high_threshold);
        let critical = known(sensor.crit_high_threshold);
        let level = if critical.is_some_and(|limit| temp >= limit) {
            Level::Unhealthy
        } else if high.is_some_and(|limit| temp >= limit) {
            Level::Warning
        } else {
            Level::Healthy
        };
        let limits: Vec<String> = [("high", high), ("critical", critical)]
            .iter()
            .filter_map(|(what, limit)| limit.map(|limit| format!("{what} {limit:.0}°C")))
            .collect();
        let state = if limits.is_empty() {
            format!("{temp:.1}°C")
        } else {
            format!("{temp:.1}°C ({})", limits.join(", "))
        };
        if level != Level::Healthy {
            findings.add(
                level,
                Signal::Platform,
                name,
                format!("temperature {name} at {state}"),
            );
        }
        rows.push(PlatformRow {
            component: "temp".to_string(),
            name: name.clone(),
            state,
            level,
        });
    }
    rows
}

/// Every critical resource's fill, used / (used + available): Unhealthy at or above the
/// critical percentage, a Warning at or above the warning one.
pub(super) fn judge_resources(
    resources: &CriticalResources,
    thresholds: &Thresholds,
    findings: &mut Findings,
) -> Vec<ResourceRow> {
    let mut rows = Vec::new();
    for (resource, used, available) in resources.usage() {
        let total = used.saturating_add(available);
        let percent = used
            .saturating_mul(100)
            .checked_div(total)
            .map_or(0, |percent| percent.min(100) as u8);
        let level = if percent >= thresholds.resources_critical_percent {
            Level::Unhealthy
        } else if percent >= thresholds.resources_warn_percent {
            Level::Warning
        } else {
            Level::Healthy
        };
        if level != Level::Healthy {
            let limit = if level == Level::Unhealthy {
                thresholds.resources_critical_percent
            } else {
                thresholds.resources_warn_percent
            };
            findings.add(
                level,
                Signal::Resources,
                resource,
                format!(
                    "{resource} {percent}% full ({used} used, {available} free; limit {limit}%)"
                ),
            );
        }
        rows.push(ResourceRow {
            resource: resource.to_string(),
            used,
            available,
            percent,
            level,
        });
    }
    rows
}
