//! ui::health_view: the Health view — one row per switch and gateway, the verdict and one
//! column per signal, worst first: the on-call pulse of a fabric. Each signal cell takes the
//! colour of the worst reason about that signal, so the eye goes from the red verdict to the
//! red column that explains it; the REASON column says it in words.
//!
//! On a narrow terminal the columns go by `keep` (lowest first): the per-signal counts before
//! PORTS and BGP, and NAME, VERDICT and REASON last.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::health::{Level, NodeKind, Signal, SwitchHealth};

use super::theme::{self, Tone};
use super::view::{Col, Column, natural_cmp};

/// VERDICT: the Health view sorts worst first until the operator picks another column.
pub const DEFAULT_SORT_COLUMN: usize = 2;

/// A column whose cells are short and must not be cut (`min == max`): it is dropped whole
/// rather than squeezed into something unreadable.
const fn fixed(header: &'static str, col: Col, width: u16, keep: u8) -> Column {
    Column {
        header,
        col,
        max: width,
        min: width,
        keep,
    }
}

pub fn columns() -> Vec<Column> {
    vec![
        Column {
            header: "NAME",
            col: Col::Name,
            max: 30,
            // Never cut a name to make room: a count column goes first.
            min: 30,
            keep: 9,
        },
        fixed("KIND", Col::NodeKind, 7, 1),
        fixed("VERDICT", Col::Verdict, 11, 9),
        fixed("HEARTBEAT", Col::Heartbeat, 9, 5),
        fixed("CONFIG", Col::Config, 13, 6),
        fixed("PORTS", Col::Ports, 7, 7),
        fixed("LLDP", Col::Lldp, 7, 6),
        fixed("BGP", Col::Bgp, 7, 7),
        fixed("BFD", Col::Bfd, 5, 3),
        fixed("FLAPS", Col::Flaps, 5, 3),
        fixed("OPTICS", Col::Optics, 6, 2),
        fixed("PLATFORM", Col::Platform, 8, 4),
        fixed("RES %", Col::Resources, 5, 4),
        Column {
            header: "REASON",
            col: Col::Reason,
            max: 200,
            min: 20,
            keep: 9,
        },
    ]
}

/// Seconds as the table shows an age: `4s`, `21m`, `3h`, `2d`; `never` without a heartbeat.
pub fn age(seconds: Option<i64>) -> String {
    match seconds {
        None => "never".to_string(),
        Some(s) if s < 120 => format!("{s}s"),
        Some(s) if s < 7200 => format!("{}m", s / 60),
        Some(s) if s < 172_800 => format!("{}h", s / 3600),
        Some(s) => format!("{}d", s / 86_400),
    }
}

/// `up/expected`, or `-` when nothing is expected and nothing is there (a gateway's LLDP).
fn ratio(up: usize, expected: usize) -> String {
    if up == 0 && expected == 0 {
        "-".to_string()
    } else {
        format!("{up}/{expected}")
    }
}

/// A count of alarms: `0` reads as "looked, nothing wrong".
fn count(n: usize) -> String {
    n.to_string()
}

pub fn kind(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Switch => "switch",
        NodeKind::Gateway => "gateway",
    }
}

/// `✓ Ready 3/3`: the agent's config state with applied/current generation.
pub fn config(switch: &SwitchHealth) -> String {
    let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    format!(
        "{} {}/{}",
        theme::switch(switch.state).text(),
        number(switch.applied_generation),
        number(switch.current_generation)
    )
}

/// The first reason and how many more: what the REASON column and `/` read.
pub fn reason(switch: &SwitchHealth) -> String {
    match switch.reasons.split_first() {
        None => String::new(),
        Some((first, [])) => first.message.clone(),
        Some((first, rest)) => format!("{} +{}", first.message, rest.len()),
    }
}

pub fn cell(switch: &SwitchHealth, col: Col) -> Cow<'_, str> {
    let c = &switch.counts;
    Cow::Owned(match col {
        Col::Name => return Cow::Borrowed(switch.name.as_str()),
        Col::NodeKind => return Cow::Borrowed(kind(switch.kind)),
        Col::Verdict => theme::level(switch.level).text(),
        Col::Heartbeat => age(switch.heartbeat_age),
        Col::Config => config(switch),
        Col::Ports => ratio(c.ports_up, c.ports_expected),
        Col::Lldp => ratio(c.lldp_ok, c.lldp_expected),
        Col::Bgp => ratio(c.bgp_established, c.bgp_expected),
        Col::Bfd => ratio(c.bfd_up, c.bfd_expected),
        Col::Flaps => count(c.unstable_ports),
        Col::Optics => count(c.optic_alarms),
        Col::Platform => count(c.platform_alarms),
        Col::Resources => format!("{}%", c.resources_max_percent),
        Col::Reason => reason(switch),
        _ => String::new(),
    })
}

/// The signals a column reports, for its colour.
fn signals(col: Col) -> &'static [Signal] {
    match col {
        Col::Heartbeat => &[Signal::Heartbeat],
        Col::Config => &[Signal::Config],
        Col::Ports | Col::Flaps => &[Signal::Port],
        Col::Lldp => &[Signal::Lldp],
        Col::Bgp => &[Signal::Bgp],
        Col::Bfd => &[Signal::Bfd],
        Col::Optics => &[Signal::Optics],
        Col::Platform => &[Signal::Platform],
        Col::Resources => &[Signal::Resources],
        _ => &[],
    }
}

/// The worst reason about a column's signals; `None` when nothing is wrong there.
fn worst(switch: &SwitchHealth, col: Col) -> Option<Level> {
    let signals = signals(col);
    switch
        .reasons
        .iter()
        .filter(|r| signals.contains(&r.signal))
        .map(|r| r.level)
        .max()
}

pub fn tone(switch: &SwitchHealth, col: Col) -> Tone {
    match col {
        Col::Verdict => theme::level_tone(switch.level),
        Col::Reason => switch
            .reasons
            .first()
            .map_or(Tone::Plain, |r| theme::level_tone(r.level)),
        Col::Name | Col::NodeKind => Tone::Plain,
        col => match worst(switch, col) {
            Some(level) if level > Level::Healthy => theme::level_tone(level),
            _ => Tone::Plain,
        },
    }
}

/// `/` over the Health view: name, kind, verdict and every reason.
pub fn matches(switch: &SwitchHealth, needle: &str) -> bool {
    needle.is_empty()
        || switch.name.to_lowercase().contains(needle)
        || kind(switch.kind).contains(needle)
        || switch.level.to_string().to_lowercase().contains(needle)
        || format!("{:?}", switch.state)
            .to_lowercase()
            .contains(needle)
        || switch
            .reasons
            .iter()
            .any(|r| r.message.to_lowercase().contains(needle))
}

/// Orders two nodes by a column, worst first where the column is a judgement; ties go by
/// verdict (worst first) and then by name, so the order is total.
pub fn compare(a: &SwitchHealth, b: &SwitchHealth, col: Col) -> Ordering {
    let (ca, cb) = (&a.counts, &b.counts);
    // Fewer up of more expected is worse: compare the missing count, most missing first.
    let missing = |up: usize, expected: usize| expected.saturating_sub(up);
    let primary = match col {
        Col::NodeKind => a.kind.cmp(&b.kind),
        Col::Heartbeat => b
            .heartbeat_age
            .unwrap_or(i64::MAX)
            .cmp(&a.heartbeat_age.unwrap_or(i64::MAX)),
        Col::Config => config_rank(a).cmp(&config_rank(b)),
        Col::Ports => {
            missing(cb.ports_up, cb.ports_expected).cmp(&missing(ca.ports_up, ca.ports_expected))
        }
        Col::Lldp => {
            missing(cb.lldp_ok, cb.lldp_expected).cmp(&missing(ca.lldp_ok, ca.lldp_expected))
        }
        Col::Bgp => missing(cb.bgp_established, cb.bgp_expected)
            .cmp(&missing(ca.bgp_established, ca.bgp_expected)),
        Col::Bfd => missing(cb.bfd_up, cb.bfd_expected).cmp(&missing(ca.bfd_up, ca.bfd_expected)),
        Col::Flaps => cb.unstable_ports.cmp(&ca.unstable_ports),
        Col::Optics => cb.optic_alarms.cmp(&ca.optic_alarms),
        Col::Platform => cb.platform_alarms.cmp(&ca.platform_alarms),
        Col::Resources => cb.resources_max_percent.cmp(&ca.resources_max_percent),
        Col::Reason => b.reasons.len().cmp(&a.reasons.len()),
        _ => Ordering::Equal,
    };
    primary
        .then_with(|| b.level.cmp(&a.level))
        .then_with(|| natural_cmp(&a.name, &b.name))
}

fn config_rank(switch: &SwitchHealth) -> u8 {
    use crate::health::SwitchState::*;
    match switch.state {
        Stale => 0,
        Stuck => 1,
        Pending => 2,
        Ready => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{Reason, SignalCounts};

    fn node(name: &str, level: Level) -> SwitchHealth {
        SwitchHealth {
            name: name.into(),
            level,
            ..SwitchHealth::default()
        }
    }

    #[test]
    fn verdict_sorts_worst_first_then_by_name() {
        let mut nodes = [
            node("leaf-10", Level::Healthy),
            node("leaf-2", Level::Warning),
            node("spine-1", Level::Unhealthy),
            node("leaf-1", Level::Healthy),
        ];
        nodes.sort_by(|a, b| compare(a, b, Col::Verdict));
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["spine-1", "leaf-2", "leaf-1", "leaf-10"]);
    }

    #[test]
    fn cells_say_counts_and_the_first_reason_with_how_many_more() {
        let mut switch = node("leaf-1", Level::Unhealthy);
        switch.counts = SignalCounts {
            ports_up: 3,
            ports_expected: 4,
            resources_max_percent: 97,
            ..SignalCounts::default()
        };
        switch.reasons = vec![
            Reason {
                level: Level::Unhealthy,
                signal: Signal::Port,
                subject: "E1/5".into(),
                message: "E1/5 expected up, is down".into(),
            },
            Reason {
                level: Level::Warning,
                signal: Signal::Resources,
                subject: "routes".into(),
                message: "routes 97% full".into(),
            },
        ];
        assert_eq!(cell(&switch, Col::Ports), "3/4");
        assert_eq!(cell(&switch, Col::Lldp), "-");
        assert_eq!(cell(&switch, Col::Resources), "97%");
        assert_eq!(cell(&switch, Col::Reason), "E1/5 expected up, is down +1");
        assert_eq!(tone(&switch, Col::Ports), Tone::Bad);
        assert_eq!(tone(&switch, Col::Resources), Tone::Warn);
        assert_eq!(tone(&switch, Col::Bgp), Tone::Plain);
    }
}
