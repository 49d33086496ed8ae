//! `hhdash history`: a fabric's timeline from the store (no cluster needed), for runbooks and
//! incident notes — a time window, one object, some kinds of entry; text like `hhdash watch`
//! or a JSON array. With `--object`, also when that object started drifting (from the drift
//! snapshots) and what else started at the same sync.

use color_eyre::eyre::{Result, eyre};

#[allow(unused_imports)]
use crate::sanitize::{errln as eprintln, out as print, outln as println};

use super::Outcome;
use crate::config::FabricConfig;
use crate::status::{self, Timestamp};
use crate::store::{LogKind, Store, TimelineQuery};

/// What `hhdash history` was asked.
pub struct HistoryArgs<'a> {
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub object: Option<&'a str>,
    pub kinds: &'a [String],
    pub json: bool,
}

const KINDS: [(&str, LogKind); 10] = [
    ("added", LogKind::Added),
    ("modified", LogKind::Modified),
    ("deleted", LogKind::Deleted),
    ("drift", LogKind::Drift),
    ("sync", LogKind::Sync),
    ("apply", LogKind::Apply),
    ("connection", LogKind::Connection),
    ("watch", LogKind::Watch),
    ("error", LogKind::Error),
    ("health", LogKind::Health),
];

/// `90s`, `15m`, `1h`, `7d` (that long before `now`) or an RFC 3339 time.
pub fn parse_time(flag: &str, text: &str, now: Timestamp) -> Result<Timestamp> {
    if let Some(secs) = crate::time::parse_duration(text) {
        return Ok(now - secs);
    }
    crate::time::parse_rfc3339(text).ok_or_else(|| {
        eyre!(
            "{flag} {text:?}: not a duration or a time; write e.g. 90s, 15m, 1h, 7d, or \
             2026-11-25T17:56:10Z"
        )
    })
}

/// `drift,apply` (repeatable, case-insensitive) as kinds of entry.
pub fn parse_kinds(values: &[String]) -> Result<Vec<LogKind>> {
    let mut kinds = Vec::new();
    for name in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
        if name.is_empty() {
            continue;
        }
        let kind = KINDS
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, kind)| *kind)
            .ok_or_else(|| {
                let known: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
                eyre!(
                    "--kind {name:?}: no such kind of entry; use {}",
                    known.join(", ")
                )
            })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

pub fn history(fabric: &FabricConfig, store: &Store, args: &HistoryArgs) -> Result<Outcome> {
    let now = status::now();
    let since = args
        .since
        .map(|text| parse_time("--since", text, now))
        .transpose()?;
    let until = args
        .until
        .map(|text| parse_time("--until", text, now))
        .transpose()?;
    if let (Some(since), Some(until)) = (since, until)
        && since > until
    {
        return Err(eyre!(
            "--since {} is after --until {}; swap them",
            status::format_rfc3339(since),
            status::format_rfc3339(until)
        ));
    }
    let object = args.object.map(|o| {
        // `VPC/vpc-1` and `vpc/vpc-1` name the same object: the kind as the fabric spells it.
        match o.split_once('/') {
            Some((kind, rest)) => match crate::kinds::lookup(kind) {
                Some(info) => format!("{}/{rest}", info.kind),
                None => o.to_string(),
            },
            None => o.to_string(),
        }
    });
    let query = TimelineQuery {
        since,
        until,
        object: object.clone(),
        kinds: parse_kinds(args.kinds)?,
        limit: 0,
    };
    let entries = store.timeline(&fabric.name, &query)?;
    if args.json {
        let array: Vec<serde_json::Value> = entries
            .iter()
            .map(|entry| {
                serde_json::json!({
                    "time": status::format_rfc3339(entry.time),
                    "fabric": fabric.name,
                    "what": format!("{:?}", entry.what),
                    "object": entry.object,
                    "message": entry.message,
                })
            })
            .collect();
        crate::sanitize::print_json(&array)?;
        return Ok(Outcome::Success);
    }
    for entry in &entries {
        println!(
            "{}  {:<10} {:<30} {}",
            status::format_utc(entry.time),
            format!("{:?}", entry.what),
            entry.object.as_deref().unwrap_or("-"),
            entry.message
        );
    }
    if entries.is_empty() {
        println!(
            "no timeline entries for fabric {} in that window",
            fabric.name
        );
    }
    if let Some(object) = object {
        print_onset(store, &fabric.name, &object)?;
    }
    Ok(Outcome::Success)
}

/// When `object` started drifting (its current or last run) and what started with it.
fn print_onset(store: &Store, fabric: &str, object: &str) -> Result<()> {
    let Some(onset) = store.drift_onset(fabric, object)? else {
        println!("\n{object}: not drifted in any recorded sync of fabric {fabric}");
        return Ok(());
    };
    let commit = onset
        .commit
        .as_deref()
        .map(crate::git::short_commit)
        .unwrap_or("an unknown commit");
    let verdict = format!("{:?}", onset.last.verdict).to_lowercase();
    let paths = if onset.last.paths.is_empty() {
        String::new()
    } else {
        format!(" ({})", onset.last.paths.join(", "))
    };
    match onset.ended {
        None => println!(
            "\n{object}: {verdict}{paths} since {}, first seen at the sync of commit {commit}",
            status::format_utc(onset.since)
        ),
        Some(ended) => println!(
            "\n{object}: was {verdict}{paths} from {} (sync of commit {commit}) until {}",
            status::format_utc(onset.since),
            status::format_utc(ended)
        ),
    }
    if onset.together.is_empty() {
        println!("nothing else started drifting at that sync");
    } else {
        println!("started drifting at the same sync:");
        for other in &onset.together {
            let verdict = format!("{:?}", other.verdict).to_lowercase();
            println!("  {}  {verdict}", other.object);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_durations_before_now_or_rfc3339_and_bad_ones_say_what_to_write() {
        assert_eq!(parse_time("--since", "90s", 1000).unwrap(), 910);
        assert_eq!(parse_time("--since", "1h", 10_000).unwrap(), 6400);
        assert_eq!(
            parse_time("--until", "1970-01-01T00:01:00Z", 0).unwrap(),
            60
        );
        let error = parse_time("--since", "yesterday", 0)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("--since \"yesterday\": not a duration"),
            "{error}"
        );
        assert_eq!(
            parse_kinds(&["Drift,apply".into(), "sync".into()]).unwrap(),
            [LogKind::Drift, LogKind::Apply, LogKind::Sync]
        );
        let error = parse_kinds(&["drfit".into()]).unwrap_err().to_string();
        assert!(
            error.contains("--kind \"drfit\"") && error.contains("drift, sync"),
            "{error}"
        );
    }
}
