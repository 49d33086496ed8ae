//! cli::output: how the headless commands print — the diff review, a sync report, fabric
//! statuses and the warnings about insecure settings. No decisions are made here.

use color_eyre::eyre::Result;
use serde::Serialize;

// Every line printed here quotes Git or the cluster somewhere: these print through the one
// terminal sanitizer (JSON goes through `sanitize::print_json`).
#[allow(unused_imports)]
use crate::sanitize::{errln as eprintln, out as print, outln as println};

use crate::config::{FabricConfig, Namespaces};
use crate::drift::Drift;
use crate::review::Review;
use crate::status::{self, FabricStatus};
use crate::sync::SyncSummary;

/// The fabric's insecure settings (see `FabricConfig::insecure_settings`), on stderr so that
/// JSON on stdout stays clean.
pub(super) fn warn_insecure(fabric: &FabricConfig) {
    for warning in fabric.insecure_settings() {
        eprintln!("warning: fabric {}: {warning}", fabric.name);
    }
}

fn symbol(drift: &Drift) -> &'static str {
    match drift {
        Drift::InSync => "=",
        Drift::Drifted(_) => "~",
        Drift::Missing => "+",
        Drift::Orphan => "-",
        Drift::Unknown => "?",
    }
}

/// `namespaces`: the fabric's, so an object is named with its namespace once there are several.
pub(super) fn print_review(review: &Review, server: &str, namespaces: &Namespaces) {
    let commit = review
        .sync
        .commit
        .as_deref()
        .map(crate::git::short_commit)
        .unwrap_or("-");
    let synced = review
        .sync
        .last_sync
        .map(|t| status::format_age(t, status::now()))
        .unwrap_or_else(|| "never".into());
    println!(
        "fabric {}: Git {commit} (synced {synced}) vs {server}{}",
        review.fabric,
        if review.server_side {
            " [server-side dry run]"
        } else {
            ""
        }
    );
    let mut current_kind = "";
    for object in review.out_of_sync() {
        if object.key.kind != current_kind {
            current_kind = &object.key.kind;
            println!("{current_kind}");
        }
        let what = match &object.drift {
            Drift::Missing => "Missing (in Git, not in the cluster)".to_string(),
            Drift::Orphan => match &object.keep {
                Some(why) => format!("Orphan (in the cluster, not in Git; prune keeps it: {why})"),
                None => "Orphan (in the cluster, not in Git)".to_string(),
            },
            other => format!("{:?}", crate::drift::Drift::tag(other)),
        };
        let source = object
            .desired
            .as_ref()
            .map(|d| format!("  [{}]", d.source))
            .unwrap_or_default();
        let name = if namespaces.spans_several() {
            format!("{}/{}", object.key.namespace, object.key.name)
        } else {
            object.key.name.clone()
        };
        println!("  {} {name}  {what}{source}", symbol(&object.drift));
        if let Drift::Drifted(diffs) = &object.drift {
            for diff in diffs {
                println!("      {diff}");
                // Who wrote the live value, and which commit set Git's (issue 13).
                if let Some(explained) = object.explained.iter().find(|e| e.path == diff.path) {
                    if let Some(live) = &explained.live {
                        println!("          live: {live}");
                    }
                    if let Some(git) = &explained.git {
                        match (&object.desired, explained.line) {
                            (Some(d), Some(line)) => {
                                println!("          git:  {git} [{}:{line}]", d.source.file)
                            }
                            _ => println!("          git:  {git}"),
                        }
                    }
                }
            }
        }
    }
    let (drifted, missing, orphan) = review.counts();
    let total = drifted + missing + orphan;
    if let Some(distrust) = &review.distrust {
        let unjudged = review
            .objects
            .iter()
            .filter(|o| o.desired.is_none())
            .count();
        println!("{drifted} drifted, {missing} missing; orphans not listed:");
        println!("  {distrust}");
        if unjudged > 0 {
            println!(
                "  ({unjudged} live object(s) not in the stored desired set are left unjudged)"
            );
        }
    } else if total == 0 {
        println!("in sync: {} object(s) match Git", review.objects.len());
    } else {
        println!(
            "{total} object(s) out of sync: {drifted} drifted, {missing} missing, {orphan} orphan"
        );
    }
}

pub(super) fn print_sync_report(fabric: &FabricConfig, report: &SyncSummary) {
    println!(
        "fabric {}: synced commit {} (branch {}, directory {:?})",
        report.fabric,
        crate::git::short_commit(&report.commit),
        fabric.git.branch,
        fabric.git.directory
    );
    println!(
        "  {} YAML file(s), {} object(s)",
        report.files,
        report.objects()
    );
    for (kind, count) in report.counts.iter().filter(|(_, n)| *n > 0) {
        println!("  {kind:<20} {count:>6}");
    }
    if !report.skipped.is_empty() {
        println!("  skipped {} document(s):", report.skipped.len());
        for skipped in &report.skipped {
            let tag = if skipped.reason.is_error() {
                "error"
            } else {
                "skip "
            };
            println!("    {tag} {skipped}");
        }
    }
}

#[derive(Serialize)]
pub(super) struct FabricSummary<'a> {
    pub(super) name: &'a str,
    /// The managed namespaces, comma-separated.
    pub(super) namespace: String,
    #[serde(serialize_with = "status_as_json")]
    pub(super) status: FabricStatus,
    pub(super) desired: std::collections::BTreeMap<String, usize>,
    pub(super) live: usize,
}

/// `FabricStatus::to_json`: timestamps in RFC 3339.
fn status_as_json<S: serde::Serializer>(status: &FabricStatus, out: S) -> Result<S::Ok, S::Error> {
    status.to_json().serialize(out)
}

/// `hhdash status`: JSON, or a block of lines per fabric.
pub(super) fn print_status(summaries: &[FabricSummary], json: bool) -> Result<()> {
    if json {
        crate::sanitize::print_json(&summaries)?;
        return Ok(());
    }
    let now = status::now();
    let when = |t: Option<i64>| {
        t.map(|t| status::format_age(t, now))
            .unwrap_or_else(|| "never".into())
    };
    for summary in summaries {
        let s = &summary.status;
        println!("{}  (namespace(s) {})", summary.name, summary.namespace);
        let error = |e: &Option<String>| {
            e.as_ref()
                .map(|e| format!("  error: {e}"))
                .unwrap_or_default()
        };
        println!(
            "  connection  {}{}",
            s.connection.state,
            error(&s.connection.error)
        );
        println!(
            "  sync        {}  commit {}  last sync {}  skipped {} ({} errors){}",
            s.sync.state,
            s.sync
                .commit
                .as_deref()
                .map(crate::git::short_commit)
                .unwrap_or("-"),
            when(s.sync.last_sync),
            s.sync.skipped,
            s.sync.skipped_errors,
            error(&s.sync.error)
        );
        println!("  drift       {} ({})", s.drift.state, s.drift.count);
        println!(
            "  watch       {}  events {}  last event {}{}",
            s.watch.state,
            s.watch.event_count,
            when(s.watch.last_event),
            error(&s.watch.error)
        );
        let total: usize = summary.desired.values().sum();
        let per_kind: Vec<String> = crate::kinds::desired_kinds()
            .filter_map(|k| {
                summary
                    .desired
                    .get(k.kind)
                    .map(|n| format!("{} {n}", k.kind))
            })
            .collect();
        println!("  desired     {total}  ({})", per_kind.join(", "));
        println!("  live        {}", summary.live);
    }
    Ok(())
}
