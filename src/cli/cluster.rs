//! headless: the cluster-facing CLI commands — `check` (connections), `diff`, `apply`, `watch`
//! — as async functions printing human or JSON output. They reuse `review`, `cluster` and the
//! engine; their only own logic is presentation, confirmation and exit codes.

use std::path::Path;

use color_eyre::eyre::{Result, bail, eyre};

// Every line printed here quotes Git or the cluster somewhere: these print through the one
// terminal sanitizer (JSON goes through `sanitize::print_json`).
#[allow(unused_imports)]
use crate::sanitize::{errln as eprintln, out as print, outln as println};

use super::{Outcome, output};
use crate::apply;
use crate::cluster::FabricClient;
use crate::config::{Config, FabricConfig};
use crate::drift::Drift;
use crate::engine::{EngineEvent, JobPhase};
use crate::kinds::{self, ObjectKey};
use crate::review::{self, Review};
use crate::secret::token;
use crate::status;
use crate::store::{LogEntry, LogKind, Store};

/// The client for a fabric, from its own settings and token only.
pub fn fabric_client(
    fabric: &FabricConfig,
    store: &Store,
    key_file: &Path,
) -> Result<FabricClient> {
    let token = token::kubernetes(&fabric.name, &fabric.kubernetes.token, store, key_file)?;
    Ok(FabricClient::new(fabric, &token)?)
}

/// `hhdash check` after the file is valid: each fabric's server, token, CA, CRDs and RBAC.
/// Exit 1 when a server answered with a problem; an error (exit 2) when a server could not be
/// reached or did not answer, since then nothing could be checked.
pub async fn check_connections(config: &Config, store: &Store, key_file: &Path) -> Result<Outcome> {
    let mut failed = false;
    let mut unreachable = Vec::new();
    for fabric in &config.fabrics {
        let result = match fabric_client(fabric, store, key_file) {
            Ok(client) => client.check(true).await.map_err(|e| {
                if e.is_unreachable() {
                    unreachable.push(format!("{} ({})", fabric.name, fabric.kubernetes.server));
                }
                eyre!(e)
            }),
            Err(error) => Err(error),
        };
        let now = status::now();
        match result {
            Ok(report) => {
                let access = if report.can_write {
                    "read and apply"
                } else {
                    "read only"
                };
                println!(
                    "ok  fabric {}: connected to {} ({}), Hedgehog CRDs served, RBAC: {access} in namespace(s) {}",
                    fabric.name, fabric.kubernetes.server, report.server_version, fabric.namespaces
                );
                for warning in &report.warnings {
                    println!("    warning: {warning}");
                }
                store.update_fabric_status(&fabric.name, &[], |s| {
                    s.connection.state = status::ConnectionState::Connected;
                    s.connection.error = None;
                    s.connection.checked_at = Some(now);
                    s.connection.server_version = Some(report.server_version.clone());
                })?;
            }
            Err(error) => {
                failed = true;
                let message = error.to_string();
                eprintln!("FAIL fabric {}: {message}", fabric.name);
                let entry = LogEntry {
                    time: now,
                    what: LogKind::Error,
                    object: None,
                    message: message.clone(),
                    key: None,
                };
                store.update_fabric_status(&fabric.name, &[entry], |s| {
                    s.connection.state = status::ConnectionState::Failed;
                    s.connection.error = Some(message);
                    s.connection.checked_at = Some(now);
                })?;
            }
        }
    }
    if !unreachable.is_empty() {
        return Err(eyre!(
            "could not check fabric(s) {}: the API server could not be reached or did not answer",
            unreachable.join(", ")
        ));
    }
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// `hhdash diff`: exit 0 in sync, 1 drift, 2 error (like `kubectl diff`).
pub async fn diff(
    fabric: &FabricConfig,
    store: &Store,
    key_file: &Path,
    git_cache_dir: &Path,
    server_side: bool,
    json: bool,
) -> Result<Outcome> {
    output::warn_insecure(fabric);
    let client = fabric_client(fabric, store, key_file)?;
    let mut review = review::review(fabric, store, &client, server_side, false).await?;
    // Who set each drifted value in Git: a walk of the file's history, off the runtime.
    let (config, cache_dir) = (fabric.clone(), git_cache_dir.to_path_buf());
    let (review, problems, left) = tokio::task::spawn_blocking(move || {
        let (problems, left) =
            review::explain_git(&mut review, &config, &cache_dir, review::GIT_ORIGIN_BUDGET);
        (review, problems, left)
    })
    .await?;
    for problem in problems {
        eprintln!("warning: {}", crate::sanitize::terminal(&problem));
    }
    if left > 0 {
        eprintln!(
            "warning: fabric {}: the Git origin of {left} drifted objects was not looked up \
             (over {} s of history reading); their Git lines and commits are left out",
            fabric.name,
            review::GIT_ORIGIN_BUDGET.as_secs()
        );
    }
    if json {
        let mut value = serde_json::to_value(&review)?;
        value["sync"] = review.sync.to_json();
        crate::sanitize::print_json(&value)?;
    } else {
        output::print_review(&review, &fabric.kubernetes.server, &fabric.namespaces);
    }
    // A desired set that cannot say what Git does not want makes the diff incomplete: an
    // error (2), never "in sync" (0) nor a list of orphans (1).
    Ok(if review.distrust.is_some() {
        Outcome::Error
    } else if review.out_of_sync().next().is_some() {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

pub struct ApplyOptions {
    pub dry_run: bool,
    pub prune: bool,
    pub yes: bool,
    /// Prune even when Git holds no objects for the fabric (every hhdash-applied object goes).
    pub allow_empty: bool,
    pub only: Vec<String>,
    pub force_conflicts: bool,
}

fn parse_only(fabric: &FabricConfig, only: &[String]) -> Result<Vec<ObjectKey>> {
    only.iter()
        .map(|spec| {
            let parts: Vec<&str> = spec.split('/').collect();
            let (kind, namespace, name) = match parts.as_slice() {
                [kind, name] => (*kind, None, *name),
                [kind, namespace, name] => (*kind, Some(*namespace), *name),
                _ => bail!(
                    "--only {spec}: use KIND/NAME or KIND/NAMESPACE/NAME, e.g. VPC/vpc-1"
                ),
            };
            let info = kinds::lookup(kind)
                .filter(|k| k.writable())
                .ok_or_else(|| eyre!("--only {spec}: {kind} is not a kind hhdash applies"))?;
            let namespaces = &fabric.namespaces;
            let namespace = namespace.unwrap_or_else(|| namespaces.for_kind(info.kind));
            if !namespaces.manages(namespace) {
                bail!(
                    "--only {spec}: fabric {} does not manage namespace {namespace:?} (it manages {})",
                    fabric.name,
                    namespaces.describe()
                );
            }
            Ok(ObjectKey {
                kind: info.kind.to_string(),
                namespace: namespace.to_string(),
                name: name.to_string(),
            })
        })
        .collect()
}

/// Asks at the operator's terminal (the client's, when a server runs the command); no
/// terminal, no answer or anything but `yes` is no.
fn confirm(question: &str) -> Result<bool> {
    let answer = crate::sanitize::console::prompt(&format!("{question} Type yes to continue: "))?;
    Ok(answer.is_some_and(|answer| answer.trim() == "yes"))
}

/// Apply outcomes `hhdash apply` stores per transaction: a commit (an fsync) per object cost
/// about as much as the object's apply once several applies are in flight.
const RECORD_BATCH: usize = 64;

/// `hhdash apply`: server-side apply of Missing + Drifted (or `--only`), in dependency order.
/// `publish`: where the lines it records also go (the dashboards of the server running this
/// command for a client; none in-process).
pub async fn apply(
    fabric: &FabricConfig,
    store: &Store,
    key_file: &Path,
    options: &ApplyOptions,
    publish: Option<&tokio::sync::mpsc::Sender<EngineEvent>>,
) -> Result<Outcome> {
    output::warn_insecure(fabric);
    let client = fabric_client(fabric, store, key_file)?;
    let review = review::review(fabric, store, &client, false, options.allow_empty).await?;
    if let Some(distrust) = &review.distrust
        && !distrust.is_empty_set()
    {
        eprintln!("warning: {distrust}");
    }
    let only = parse_only(fabric, &options.only)?;
    let targets: Vec<&review::Reviewed> = if only.is_empty() {
        review
            .objects
            .iter()
            .filter(|o| matches!(o.drift, Drift::Missing | Drift::Drifted(_)))
            .collect()
    } else {
        let mut targets = Vec::new();
        for key in &only {
            let object = review
                .objects
                .iter()
                .find(|o| &o.key == key && o.desired.is_some())
                .ok_or_else(|| {
                    eyre!(
                        "--only {}: not in the synced desired set of fabric {}",
                        fabric.namespaces.object_name(key),
                        fabric.name
                    )
                })?;
            targets.push(object);
        }
        targets
    };
    let verb = if options.dry_run {
        "dry-run apply"
    } else {
        "apply"
    };
    let apply_options = apply::Options {
        dry_run: options.dry_run,
        force_conflicts: options.force_conflicts,
    };
    let mut run = apply::Run::new(
        &client,
        targets
            .iter()
            .map(|o| o.desired.as_ref().expect("targets have a desired object"))
            .collect(),
        apply_options,
    );
    // The first object the server did not answer for: the run sends nothing after it (the next
    // object would only wait for the same silence); what was in flight still reports (exit 2).
    let mut silence = None;
    // Outcomes not stored yet: stored RECORD_BATCH at a time, and whatever is left at the end.
    let (mut outcomes, mut entries) = (Vec::new(), Vec::new());
    while let Some(step) = run.next().await {
        let name = client.object_name(&step.key);
        let step = match step.result {
            Err(error) if error.is_unreachable() => {
                silence.get_or_insert((name, error));
                continue;
            }
            result => apply::Step { result, ..step },
        };
        match &step.result {
            Ok(_) => println!("{verb:>13}  ok     {name}"),
            Err(error) => println!("{verb:>13}  FAILED {name}: {error}"),
        }
        if options.dry_run {
            continue;
        }
        let now = status::now();
        let status = apply::status_after(None, &step.result, false, None, now);
        let entry = apply::log_entry(
            &step.key,
            &fabric.namespaces,
            &step.result,
            apply_options,
            apply::Origin::Cli,
            None,
            now,
        );
        outcomes.push((step.key, status));
        entries.push(entry);
        if outcomes.len() == RECORD_BATCH {
            record_batch(store, &fabric.name, &mut outcomes, &mut entries, publish).await?;
        }
    }
    record_batch(store, &fabric.name, &mut outcomes, &mut entries, publish).await?;
    if let Some((name, error)) = silence {
        return Err(eyre!(error).wrap_err(format!(
            "{verb} of fabric {} stopped at {name}: no object was sent once the server stopped answering",
            fabric.name
        )));
    }
    let mut failed = run.failed();
    if targets.is_empty() {
        println!("nothing to apply: fabric {} matches Git", fabric.name);
    }
    if options.prune {
        failed += prune(fabric, &client, &review, failed, options).await?;
    }
    let done = if options.dry_run {
        "passed the dry run"
    } else {
        "applied"
    };
    println!(
        "{} object(s) {done}, {failed} failed",
        targets.len() - failed.min(targets.len())
    );
    Ok(if failed == 0 {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// Stores a batch of apply outcomes, then publishes their lines (to the dashboards of the
/// server this command runs on, if it runs on one).
async fn record_batch(
    store: &Store,
    fabric: &str,
    outcomes: &mut Vec<(ObjectKey, crate::status::ResourceStatus)>,
    entries: &mut Vec<LogEntry>,
    publish: Option<&tokio::sync::mpsc::Sender<EngineEvent>>,
) -> Result<()> {
    apply::record_all(store, fabric, outcomes, entries)?;
    if let Some(events) = publish {
        for entry in entries.iter() {
            let event = EngineEvent::Log {
                fabric: fabric.to_string(),
                entry: entry.clone(),
            };
            // A server stopping meanwhile has no dashboard left to tell.
            let _ = events.send(event).await;
        }
    }
    outcomes.clear();
    entries.clear();
    Ok(())
}

/// The prune step of `apply --prune`: refuses as a whole unless `trust::prune_allowed`, then
/// deletes, in reverse dependency order, only orphans hhdash applied and Git does not still
/// mention, each conditional on the uid and resourceVersion the review saw. Returns failures.
async fn prune(
    fabric: &FabricConfig,
    client: &FabricClient,
    review: &Review,
    failed_applies: usize,
    options: &ApplyOptions,
) -> Result<usize> {
    crate::trust::prune_allowed(
        fabric,
        &review.sync,
        review.desired_objects,
        failed_applies,
        options.allow_empty,
    )
    .map_err(|refusal| eyre!("{refusal}"))?;
    let mut orphans: Vec<&review::Reviewed> = review
        .objects
        .iter()
        .filter(|o| o.drift == Drift::Orphan)
        .collect();
    orphans.reverse(); // reverse dependency order: referrers before what they refer to
    let (kept, orphans): (Vec<_>, Vec<_>) = orphans.into_iter().partition(|o| o.keep.is_some());
    let name = |key: &ObjectKey| client.object_name(key);
    for object in &kept {
        println!(
            "{:>13}  kept   {}: {}",
            "prune",
            name(&object.key),
            object.keep.as_deref().unwrap_or_default()
        );
    }
    if orphans.is_empty() {
        println!("nothing to prune");
        return Ok(0);
    }
    println!("{} orphan(s) to delete:", orphans.len());
    for object in &orphans {
        println!("  - {}", name(&object.key));
    }
    let confirmed =
        options.dry_run || options.yes || confirm("Delete these objects from the cluster?")?;
    if !confirmed {
        return Err(eyre!(
            "prune not confirmed: nothing was deleted (pass --yes to confirm non-interactively)"
        ));
    }
    let verb = if options.dry_run {
        "dry-run prune"
    } else {
        "prune"
    };
    let mut failed = 0;
    for object in orphans {
        let key = &object.key;
        let info = kinds::by_kind(&key.kind).expect("registered");
        match client
            .delete(info, key, object.live_version.as_ref(), options.dry_run)
            .await
        {
            Ok(()) => println!("{verb:>13}  ok     {}", name(key)),
            Err(error) => {
                failed += 1;
                println!("{verb:>13}  FAILED {}: {error}", name(key));
            }
        }
    }
    Ok(failed)
}

/// `hhdash watch`'s output: the engine's event stream for one fabric, one line (or JSON
/// object) per event, until SIGINT (Ctrl-C) or SIGTERM, or until the events end.
pub async fn print_events(
    fabric: &FabricConfig,
    mut rx: tokio::sync::mpsc::Receiver<EngineEvent>,
    json: bool,
) -> Result<Outcome> {
    use tokio::signal::unix::{SignalKind, signal};
    // One listener each for the life of the command, made before anything can arrive: a
    // listener made per loop pass misses a signal delivered while an event is being printed.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    output::warn_insecure(fabric);
    let print = |time: i64, what: &str, object: Option<&str>, message: &str| {
        if json {
            crate::sanitize::print_json_line(
                &serde_json::json!({"time": status::format_rfc3339(time), "fabric": fabric.name, "what": what, "object": object, "message": message}),
            );
        } else {
            println!(
                "{}  {:<10} {:<30} {message}",
                status::format_utc(time),
                what,
                object.unwrap_or("-")
            );
        }
    };
    loop {
        tokio::select! {
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
            event = rx.recv() => match event {
                None => break,
                Some(event) if event.fabric() != fabric.name => {}
                Some(EngineEvent::Log { entry, .. }) => print(entry.time, &format!("{:?}", entry.what), entry.object.as_deref(), &entry.message),
                Some(EngineEvent::Job { phase: JobPhase::Failed { message }, job, .. }) => print(status::now(), "Failed", Some(&format!("{job:?}")), &message),
                Some(EngineEvent::Status { status, .. }) => {
                    let connection = match status.connection.no_answer_since {
                        Some(since) => format!("{} · last known state, stale", status::no_answer_since(since)),
                        None => format!("connection {}", status.connection.state),
                    };
                    let summary = format!("{connection} · watch {} · drift {} ({})", status.watch.state, status.drift.state, status.drift.count);
                    print(status::now(), "Status", None, &summary);
                }
                Some(_) => {}
            }
        }
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_places_a_kind_where_the_fabric_puts_it_and_takes_an_explicit_namespace() {
        let text = "[[fabric]]\nname = \"east\"\nnamespaces = [\"default\", \"fab\"]\nkind_namespaces = { gw = \"fab\" }\n[fabric.kubernetes]\nserver = \"https://127.0.0.1:9\"\ntoken_env = \"EAST_TOKEN\"\ninsecure_skip_tls_verify = true\n[fabric.git]\nurl = \"/srv/git/fabrics\"\nbranch = \"main\"\ndirectory = \"east\"\n";
        let config = Config::parse(text, Path::new("/tmp/config.toml")).unwrap();
        let fabric = &config.fabrics[0];
        let specs = ["gw/gateway-1", "VPC/vpc-1", "gatewaypeering/fab/p1"];
        let keys: Vec<String> = parse_only(fabric, &specs.map(String::from))
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            keys,
            [
                "Gateway/fab/gateway-1",
                "VPC/default/vpc-1",
                "GatewayPeering/fab/p1"
            ]
        );
        let error = parse_only(fabric, &["VPC/kube-system/vpc-1".to_string()]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("does not manage namespace \"kube-system\""),
            "{error}"
        );
        assert!(parse_only(fabric, &["VPCInfo/vpc-1".to_string()]).is_err());
        assert!(parse_only(fabric, &["a/b/c/d".to_string()]).is_err());
    }
}
