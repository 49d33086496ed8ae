//! `[fabric.health]`: the thresholds health judges against, parsed with their defaults and
//! validated with the fabric and key named — through the library and the real `check`.

use crate::common;

use std::path::Path;

use hhdash::config::Config;
use hhdash::health::Thresholds;

fn fabric_with(extra: &str) -> String {
    format!(
        r#"
[[fabric]]
name = "east"
[fabric.kubernetes]
server = "https://10.0.0.1:6443"
token_env = "EAST_TOKEN"
insecure_skip_tls_verify = true
[fabric.git]
url = "/srv/repo"
branch = "main"
{extra}
"#
    )
}

fn parse(text: &str) -> Result<Config, hhdash::config::ConfigError> {
    Config::parse(text, Path::new("/etc/hhdash/config.toml"))
}

#[test]
fn without_a_health_table_every_threshold_is_its_documented_default() {
    let config = parse(&fabric_with("")).unwrap();
    assert_eq!(config.fabrics[0].health, Thresholds::default());
    assert_eq!(config.fabrics[0].health.stale_after_secs, 60);
}

#[test]
fn the_old_stale_heartbeat_key_still_sets_the_stale_bound_unless_health_overrides_it() {
    let config = parse(&fabric_with("[fabric.watch]\nstale_heartbeat_secs = 90\n")).unwrap();
    assert_eq!(config.fabrics[0].health.stale_after_secs, 90);
    let both = fabric_with(
        "[fabric.watch]\nstale_heartbeat_secs = 90\n[fabric.health]\nstale_after_secs = 45\n",
    );
    assert_eq!(parse(&both).unwrap().fabrics[0].health.stale_after_secs, 45);
}

#[test]
fn every_threshold_is_configurable() {
    let config = parse(&fabric_with(
        r#"
[fabric.health]
stale_after_secs = 120
flap_window_secs = 600
max_flaps = 5
optic_rx_low_dbm = -14.5
optic_rx_high_dbm = 2.0
optic_tx_low_dbm = -9.0
optic_temp_high_c = 75.0
resources_warn_percent = 70
resources_critical_percent = 90
"#,
    ))
    .unwrap();
    assert_eq!(
        config.fabrics[0].health,
        Thresholds {
            stale_after_secs: 120,
            flap_window_secs: 600,
            max_flaps: 5,
            optic_rx_low_dbm: -14.5,
            optic_rx_high_dbm: 2.0,
            optic_tx_low_dbm: -9.0,
            optic_temp_high_c: 75.0,
            resources_warn_percent: 70,
            resources_critical_percent: 90,
        }
    );
}

#[test]
fn bad_thresholds_are_all_reported_naming_the_fabric_and_key() {
    let error = parse(&fabric_with(
        r#"
[fabric.health]
stale_after_secs = 0
flap_window_secs = -5
max_flaps = 0
optic_rx_low_dbm = 5.0
optic_rx_high_dbm = 3.0
optic_temp_high_c = 400.0
resources_warn_percent = 96
resources_critical_percent = 95
"#,
    ))
    .unwrap_err()
    .to_string();
    for expected in [
        "fabric east: health.stale_after_secs: 0 is out of range",
        "fabric east: health.flap_window_secs: -5 is out of range",
        "fabric east: health.max_flaps: 0 is out of range",
        "fabric east: health.optic_rx_low_dbm: 5 must be below health.optic_rx_high_dbm (3)",
        "fabric east: health.optic_temp_high_c: 400 is out of range",
        "fabric east: health.resources_warn_percent: 96 must not be above",
    ] {
        assert!(
            error.contains(expected),
            "missing {expected:?} in:\n{error}"
        );
    }
    let unknown = parse(&fabric_with("[fabric.health]\nmax_flap = 3\n"))
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("max_flap"), "{unknown}");
}

#[test]
fn check_names_a_bad_threshold_with_its_fabric() {
    let temp = tempfile::tempdir().unwrap();
    let config = temp.path().join("config.toml");
    std::fs::write(
        &config,
        fabric_with("[fabric.health]\nresources_critical_percent = 101\n"),
    )
    .unwrap();
    let output = common::run_with_deadline(
        std::process::Command::new(env!("CARGO_BIN_EXE_hhdash"))
            .args(["--config", config.to_str().unwrap(), "check", "--offline"])
            .env("HOME", temp.path())
            .env("XDG_STATE_HOME", temp.path().join("state")),
        common::COMMAND_DEADLINE,
    );
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr).to_string()
        + &String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("fabric east: health.resources_critical_percent: 101 is out of range"),
        "{text}"
    );
}
