//! time: the one place hhdash reads the clock and turns Unix seconds into dates and back — for
//! people (`2026-11-25 17:56:10Z`, "5m ago") and for programs (RFC 3339). The calendar is
//! jiff's (already in the tree through k8s-openapi); this module only fixes the shapes.

use jiff::fmt::temporal::DateTimePrinter;

/// Seconds since the Unix epoch; the store and the screen format it.
pub type Timestamp = i64;

pub fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// `2026-11-25 17:56:10Z` from a Unix timestamp (UTC); for people.
pub fn format_utc(timestamp: Timestamp) -> String {
    DateTimePrinter::new()
        .separator(b' ')
        .timestamp_to_string(&to_jiff(timestamp))
}

/// `2026-11-25T17:56:10Z`: RFC 3339, for JSON and anything a program reads (and what
/// Kubernetes writes for `date-time` fields).
pub fn format_rfc3339(timestamp: Timestamp) -> String {
    DateTimePrinter::new().timestamp_to_string(&to_jiff(timestamp))
}

/// `17:56:10Z`: the time of day (UTC) of a timestamp.
pub fn format_clock(timestamp: Timestamp) -> String {
    format!("{}Z", &format_utc(timestamp)[11..19])
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

/// Seconds since the Unix epoch of an RFC 3339 timestamp (`2025-01-02T03:04:05Z`, optionally
/// with fractional seconds and a `±hh:mm` offset instead of `Z`); `None` if malformed.
/// Fractions are dropped: callers work in whole seconds.
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    // jiff reads all of ISO 8601 / RFC 9557 (basic format `20250102T030405Z`, `+0200`, hour-only
    // offsets, `[zone]` annotations); RFC 3339 is the one extended profile Kubernetes writes, so
    // anything else is not a timestamp here. jiff checks the numbers and the calendar.
    let bytes = text.as_bytes();
    let at = |index: usize, allowed: &[u8]| bytes.get(index).is_some_and(|b| allowed.contains(b));
    let offset_is_rfc3339 = matches!(bytes.last(), Some(b'Z' | b'z'))
        || (bytes.len() >= 6 && at(bytes.len() - 6, b"+-") && at(bytes.len() - 3, b":"));
    let shape_is_rfc3339 =
        at(4, b"-") && at(7, b"-") && at(10, b"Tt ") && at(13, b":") && at(16, b":");
    if !(shape_is_rfc3339 && offset_is_rfc3339) {
        return None;
    }
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_second)
}

/// jiff covers the years -9999..=9999; a stored time outside them is clamped rather than lost.
fn to_jiff(timestamp: Timestamp) -> jiff::Timestamp {
    let seconds = timestamp.clamp(
        jiff::Timestamp::MIN.as_second(),
        jiff::Timestamp::MAX.as_second(),
    );
    jiff::Timestamp::from_second(seconds).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// Seconds in a duration written `90s`, `15m`, `1h` or `7d` (a whole number and one unit);
/// `None` otherwise. The one reader of durations in configuration and on the command line.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(unit_at);
    let number: i64 = number.parse().ok()?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    number.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-01-02T03:04:05Z.
    const NOW: Timestamp = 1_735_787_045;

    #[test]
    fn formats_utc_and_ages() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(format_utc(1_795_629_370), "2026-11-25 17:56:10Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00Z");
        assert_eq!(format_age(100, 142), "42s ago");
        assert_eq!(format_age(0, 7200), "2h ago");
        assert_eq!(format_rfc3339(1_795_629_370), "2026-11-25T17:56:10Z");
        assert_eq!(format_clock(1_795_629_370), "17:56:10Z");
    }

    #[test]
    fn formats_rfc3339_like_kubernetes() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(NOW), "2025-01-02T03:04:05Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn parses_rfc3339_forms() {
        assert_eq!(parse_rfc3339("2025-01-02T03:04:05Z"), Some(NOW));
        assert_eq!(parse_rfc3339("2025-01-02T03:04:05.123456789Z"), Some(NOW));
        assert_eq!(parse_rfc3339("2025-01-02t03:04:05z"), Some(NOW));
        assert_eq!(parse_rfc3339("2025-01-02T05:04:05+02:00"), Some(NOW));
        assert_eq!(parse_rfc3339("2025-01-01T22:04:05.5-05:00"), Some(NOW));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(parse_rfc3339("2026-11-25T17:56:10Z"), Some(1_795_629_370));
        for bad in [
            "",
            "2025-01-02",
            "2025-01-02T03:04:05",
            "2025-01-02T03:04:05+0200",
            "2025-01-02T03:04:05+02",
            "2025-01-02T03:04:05Z[UTC]",
            "20250102T030405Z",
            "+002025-01-02T03:04:05Z",
            "2025-13-02T03:04:05Z",
            "2025-02-29T03:04:05Z",
            "2025-01-02T24:04:05Z",
            "2025-01-02T03:04:05.Z",
            "2025-01-02T03:04:05Zjunk",
            "2025/01/02T03:04:05Z",
            "२०२५-01-02T03:04:05Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?} must not parse");
        }
    }

    #[test]
    fn what_it_writes_it_reads_back() {
        for timestamp in [0, NOW, 951_782_400, 1_795_629_370, -86_401] {
            assert_eq!(parse_rfc3339(&format_rfc3339(timestamp)), Some(timestamp));
            assert_eq!(parse_rfc3339(&format_utc(timestamp)), Some(timestamp));
        }
    }
}
