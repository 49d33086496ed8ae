//! config::timeline: the optional top-level `[timeline]` table — how much of each fabric's
//! timeline the store keeps. It is store-wide (one store file holds every fabric) and applies
//! to each fabric on its own: `max_age = "7d"`, `max_bytes = "64MiB"`.

use super::Problem;
use super::raw::RawTimeline;
use crate::store::TimelineLimits;

/// Smallest sizes accepted: below this the per-class budgets (an eighth for chatter) would
/// hold too little to be worth a timeline.
const MIN_BYTES: u64 = 1024 * 1024;
const MIN_AGE_SECS: i64 = 60;

/// Validates `[timeline]`; every problem names its key and what to write instead.
pub(super) fn limits(raw: RawTimeline, problems: &mut Vec<Problem>) -> TimelineLimits {
    let defaults = TimelineLimits::default();
    let mut problem = |key: &str, message: String| {
        problems.push(Problem {
            fabric: None,
            key: key.to_string(),
            message,
        })
    };
    let max_age_secs = match raw.max_age {
        None => defaults.max_age_secs,
        Some(text) => match crate::time::parse_duration(&text) {
            Some(secs) if secs >= MIN_AGE_SECS => secs,
            Some(_) => {
                problem(
                    "timeline.max_age",
                    format!("{text:?} is too short; keep at least \"1m\" (e.g. \"7d\")"),
                );
                defaults.max_age_secs
            }
            None => {
                problem(
                    "timeline.max_age",
                    format!(
                        "{text:?} is not a duration; write a number and a unit s, m, h, d or w \
                         (e.g. \"7d\", \"36h\")"
                    ),
                );
                defaults.max_age_secs
            }
        },
    };
    let max_bytes = match raw.max_bytes {
        None => defaults.max_bytes,
        Some(text) => match parse_size(&text) {
            Some(bytes) if bytes >= MIN_BYTES => bytes,
            Some(_) => {
                problem(
                    "timeline.max_bytes",
                    format!("{text:?} is too small; keep at least \"1MiB\" (e.g. \"64MiB\")"),
                );
                defaults.max_bytes
            }
            None => {
                problem(
                    "timeline.max_bytes",
                    format!(
                        "{text:?} is not a size; write a number and a unit B, KiB, MiB or GiB \
                         (e.g. \"64MiB\")"
                    ),
                );
                defaults.max_bytes
            }
        },
    };
    TimelineLimits {
        max_age_secs,
        max_bytes,
    }
}

/// Bytes in `64MiB`, `512KiB`, `1GiB`, `100MB`, `4096B` or `4096`.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(unit_at);
    let number: u64 = number.parse().ok()?;
    let unit: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    number.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(max_age: Option<&str>, max_bytes: Option<&str>) -> (TimelineLimits, Vec<String>) {
        let mut problems = Vec::new();
        let raw = RawTimeline {
            max_age: max_age.map(str::to_string),
            max_bytes: max_bytes.map(str::to_string),
        };
        let limits = limits(raw, &mut problems);
        (limits, problems.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn sizes_and_ages_read_as_written_and_bad_ones_name_their_key() {
        let (limits, problems) = check(Some("36h"), Some("8MiB"));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(limits.max_age_secs, 36 * 3600);
        assert_eq!(limits.max_bytes, 8 << 20);
        let (_, problems) = check(Some("a week"), Some("64 megs"));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("timeline.max_age: \"a week\" is not a duration"));
        assert!(problems[1].starts_with("timeline.max_bytes: \"64 megs\" is not a size"));
        let (_, problems) = check(Some("10s"), Some("1KiB"));
        assert!(problems[0].contains("too short"), "{problems:?}");
        assert!(problems[1].contains("too small"), "{problems:?}");
    }
}
