//! Go's `time.Duration` text forms, as the gateway webhooks store them: a `metav1.Duration`
//! field is parsed with `time.ParseDuration` and written back with `Duration.String()`, so
//! Git's `5m` is stored as `5m0s`. Only what the drift rewrites need: parse to nanoseconds,
//! print the canonical form.

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// `time.ParseDuration`: an optional sign, then one or more decimal numbers each with a unit
/// (`ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`), e.g. `1h30m`, `1.5s`; a bare `0` is allowed.
/// `None` for anything else (which the webhook would refuse to decode).
pub(super) fn parse(text: &str) -> Option<i128> {
    let (negative, mut rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SECOND,
            "m" => 60 * NANOS_PER_SECOND,
            "h" => 3600 * NANOS_PER_SECOND,
            _ => return None,
        };
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut value = whole.checked_mul(scale)?;
        let mut place = scale;
        for digit in fraction.bytes() {
            place /= 10;
            value += i128::from(digit - b'0') * place;
        }
        total = total.checked_add(value)?;
        rest = next;
    }
    // Go's Duration is an int64 of nanoseconds.
    (total <= i128::from(i64::MAX)).then_some(if negative { -total } else { total })
}

/// `Duration.String()`: `0s`, `1.5µs`, `250ms`, `45s`, `2m0s`, `1h30m0s`, `1m30.5s`.
pub(super) fn format(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let nanos = nanos.abs();
    let decimal = |value: i128, unit: i128| {
        let whole = value / unit;
        let fraction = value % unit;
        if fraction == 0 {
            return whole.to_string();
        }
        let width = unit.to_string().len() - 1;
        let digits = format!("{fraction:0width$}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    };
    if nanos < NANOS_PER_SECOND {
        let (unit, name) = match nanos {
            n if n < 1_000 => (1, "ns"),
            n if n < 1_000_000 => (1_000, "µs"),
            _ => (1_000_000, "ms"),
        };
        return format!("{sign}{}{name}", decimal(nanos, unit));
    }
    let hours = nanos / (3600 * NANOS_PER_SECOND);
    let minutes = nanos / (60 * NANOS_PER_SECOND) % 60;
    let seconds = decimal(nanos % (60 * NANOS_PER_SECOND), NANOS_PER_SECOND);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, _) => format!("{sign}{minutes}m{seconds}s"),
        _ => format!("{sign}{hours}h{minutes}m{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_as_go_does() {
        for (text, canonical) in [
            ("5m", "5m0s"),
            ("5m0s", "5m0s"),
            ("300s", "5m0s"),
            ("2m", "2m0s"),
            ("1h", "1h0m0s"),
            ("90m", "1h30m0s"),
            ("1.5h", "1h30m0s"),
            ("90.5s", "1m30.5s"),
            ("45s", "45s"),
            ("250ms", "250ms"),
            ("1500us", "1.5ms"),
            ("1.5µs", "1.5µs"),
            ("7ns", "7ns"),
            ("0", "0s"),
            ("0s", "0s"),
            ("-2m", "-2m0s"),
            ("1h1m1s", "1h1m1s"),
        ] {
            assert_eq!(
                parse(text).map(format).as_deref(),
                Some(canonical),
                "{text}"
            );
        }
        for bad in ["", "5", "m", "5x", "1..5s", "-", ".s", "five minutes"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
