//! health::generation: a switch agent's config state from its Agent object — heartbeat age,
//! applied vs current generation, version, reboot required. Pure computation over JSON and a
//! clock value passed in.

use serde_json::Value;

use super::{SwitchHealth, SwitchState};

/// How old a heartbeat may be before the switch counts as Stale. Agents report every few
/// seconds; a minute without one means the agent or its switch is down.
pub const DEFAULT_STALE_AFTER_SECS: i64 = 60;

// Heartbeats are RFC 3339; the parser lives with the other date code.
pub use crate::time::parse_rfc3339;

/// An integer field, also when a client wrote it as a float or a numeric string.
fn integer_at(object: &Value, pointer: &str) -> Option<i64> {
    match object.pointer(pointer)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The health of the switch an Agent object reports on, at `now` (Unix seconds).
///
/// Stale when there is no parseable heartbeat or it is older than `stale_after_secs`;
/// otherwise Ready when the applied generation has caught up with `metadata.generation` (or
/// the object has no generation, so there is nothing to catch up with), Stuck when the agent
/// attempted the current generation without applying it for longer than a quarter of the stale
/// bound (a younger attempt is an apply in progress: Pending, so routine applies do not flash
/// Stuck; with no `lastAttemptTime` the attempt's age is unknown and it counts as Stuck), and
/// Pending when it has not even attempted it yet.
pub fn classify_agent(agent: &Value, now: i64, stale_after_secs: i64) -> SwitchHealth {
    let name = agent
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let heartbeat = agent
        .pointer("/status/lastHeartbeat")
        .and_then(Value::as_str)
        .and_then(parse_rfc3339);
    // A heartbeat "from the future" is clock skew between switch and host; it is fresh.
    let heartbeat_age = heartbeat.map(|at| (now - at).max(0));
    let current_generation = integer_at(agent, "/metadata/generation");
    let applied_generation = integer_at(agent, "/status/lastAppliedGen");
    let attempted_generation = integer_at(agent, "/status/lastAttemptGen");
    let reached = |generation: Option<i64>| match (generation, current_generation) {
        (_, None) => true,
        (Some(generation), Some(current)) => generation >= current,
        (None, Some(_)) => false,
    };

    let state = match heartbeat_age {
        None => SwitchState::Stale,
        Some(age) if age > stale_after_secs => SwitchState::Stale,
        Some(_) if reached(applied_generation) => SwitchState::Ready,
        Some(_) if attempted_generation.is_some() && reached(attempted_generation) => {
            let attempt_age = agent
                .pointer("/status/lastAttemptTime")
                .and_then(Value::as_str)
                .and_then(parse_rfc3339)
                .map(|at| now - at);
            match attempt_age {
                Some(age) if age <= stale_after_secs / 4 => SwitchState::Pending,
                _ => SwitchState::Stuck,
            }
        }
        Some(_) => SwitchState::Pending,
    };
    SwitchHealth {
        name,
        state,
        heartbeat_age,
        applied_generation,
        current_generation,
        version: agent
            .pointer("/status/version")
            .and_then(Value::as_str)
            .map(str::to_string),
        reboot_required: agent
            .pointer("/status/rebootRequired")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        ..SwitchHealth::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{HealthSummary, summarize};
    use serde_json::json;

    const NOW: i64 = 1_735_787_045; // 2025-01-02T03:04:05Z

    fn agent(heartbeat: Option<&str>, generation: i64, applied: i64, attempted: i64) -> Value {
        let mut status = json!({
            "lastAppliedGen": applied,
            "lastAttemptGen": attempted,
            "version": "v0.96.2",
            "rebootRequired": false,
        });
        if let Some(heartbeat) = heartbeat {
            status["lastHeartbeat"] = json!(heartbeat);
        }
        json!({"metadata": {"name": "leaf-01", "generation": generation}, "status": status})
    }

    #[test]
    fn fresh_and_applied_is_ready() {
        let health = classify_agent(
            &agent(Some("2025-01-02T03:03:50Z"), 7, 7, 7),
            NOW,
            DEFAULT_STALE_AFTER_SECS,
        );
        assert_eq!(
            health,
            SwitchHealth {
                name: "leaf-01".into(),
                state: SwitchState::Ready,
                heartbeat_age: Some(15),
                applied_generation: Some(7),
                current_generation: Some(7),
                version: Some("v0.96.2".into()),
                reboot_required: false,
                ..SwitchHealth::default()
            }
        );
    }

    #[test]
    fn old_heartbeat_is_stale_even_when_applied() {
        let health = classify_agent(
            &agent(Some("2025-01-02T03:02:04Z"), 7, 7, 7),
            NOW,
            DEFAULT_STALE_AFTER_SECS,
        );
        assert_eq!(health.state, SwitchState::Stale);
        assert_eq!(health.heartbeat_age, Some(121));
        // Exactly at the bound is still fresh; one second past it is not.
        let at_bound = agent(Some("2025-01-02T03:03:05Z"), 7, 7, 7);
        assert_eq!(classify_agent(&at_bound, NOW, 60).state, SwitchState::Ready);
        assert_eq!(
            classify_agent(&at_bound, NOW + 1, 60).state,
            SwitchState::Stale
        );
    }

    #[test]
    fn never_reported_is_stale() {
        let silent = json!({"metadata": {"name": "leaf-02", "generation": 1}});
        let health = classify_agent(&silent, NOW, DEFAULT_STALE_AFTER_SECS);
        assert_eq!(health.state, SwitchState::Stale);
        assert_eq!(health.heartbeat_age, None);
        assert_eq!(health.applied_generation, None);
        assert_eq!(health.version, None);
        let garbled = agent(Some("yesterday"), 7, 7, 7);
        assert_eq!(classify_agent(&garbled, NOW, 60).state, SwitchState::Stale);
    }

    #[test]
    fn lagging_generation_not_attempted_is_pending() {
        let health = classify_agent(&agent(Some("2025-01-02T03:04:00Z"), 8, 7, 7), NOW, 60);
        assert_eq!(health.state, SwitchState::Pending);
        assert_eq!(health.applied_generation, Some(7));
        assert_eq!(health.current_generation, Some(8));
        let never_applied = json!({"metadata": {"name": "x", "generation": 1},
            "status": {"lastHeartbeat": "2025-01-02T03:04:00Z"}});
        assert_eq!(
            classify_agent(&never_applied, NOW, 60).state,
            SwitchState::Pending
        );
    }

    #[test]
    fn attempted_but_not_applied_is_stuck() {
        let health = classify_agent(&agent(Some("2025-01-02T03:04:00Z"), 8, 7, 8), NOW, 60);
        assert_eq!(health.state, SwitchState::Stuck);
    }

    #[test]
    fn a_fresh_attempt_is_an_apply_in_progress_and_an_old_one_is_stuck() {
        let mut agent = agent(Some("2025-01-02T03:04:00Z"), 8, 7, 8);
        let attempted = |secs_ago: i64| crate::status::format_utc(NOW - secs_ago).replace(' ', "T");
        agent["status"]["lastAttemptTime"] = json!(attempted(10));
        assert_eq!(classify_agent(&agent, NOW, 60).state, SwitchState::Pending);
        agent["status"]["lastAttemptTime"] = json!(attempted(16));
        assert_eq!(classify_agent(&agent, NOW, 60).state, SwitchState::Stuck);
    }

    #[test]
    fn reads_reboot_required_and_version() {
        let mut object = agent(Some("2025-01-02T03:04:00Z"), 3, 3, 3);
        object["status"]["rebootRequired"] = json!(true);
        let health = classify_agent(&object, NOW, 60);
        assert!(health.reboot_required);
        assert_eq!(health.version.as_deref(), Some("v0.96.2"));
    }

    #[test]
    fn summary_counts_and_prints_ready_over_total() {
        let switches: Vec<SwitchHealth> = [
            agent(Some("2025-01-02T03:04:00Z"), 7, 7, 7),
            agent(Some("2025-01-02T03:04:00Z"), 8, 7, 8),
            agent(None, 7, 7, 7),
            agent(Some("2024-12-31T00:00:00Z"), 7, 7, 7),
        ]
        .iter()
        .map(|a| classify_agent(a, NOW, DEFAULT_STALE_AFTER_SECS))
        .collect();
        let summary = summarize(&switches);
        assert_eq!(
            summary,
            HealthSummary {
                ready: 1,
                total: 4,
                stale: 2,
                pending: 0,
                stuck: 1,
                healthy: 4,
                ..HealthSummary::default()
            }
        );
        assert_eq!(summary.to_string(), "Ready 1/4");
        assert_eq!(format!("{summary:#}"), "Ready 1/4 (2 stale, 1 stuck)");
        let all_ready = summarize(&switches[..1]);
        assert_eq!(format!("{all_ready:#}"), "Ready 1/1");
        assert_eq!(summarize(&[]).to_string(), "Ready 0/0");
    }
}
