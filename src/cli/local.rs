//! cli::local: the commands that need no cluster — `check` of the file, `sync` (Git into the
//! store), `status` (from the store) and `secret set`. They print through `output`.

use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, eyre};

// Every line printed here quotes Git or the cluster somewhere: these print through the one
// terminal sanitizer (JSON goes through `sanitize::print_json`).
#[allow(unused_imports)]
use crate::sanitize::{errln as eprintln, out as print, outln as println};

use super::{Outcome, Paths, SecretSlot, SyncOne, git_cache_dir, output};
use crate::config::{Config, FabricConfig};
use crate::secret::Secret;
use crate::secret::vault::{self, Vault};
use crate::store::Store;
use crate::sync::{self, SyncSummary};

/// `hhdash check` (the file part): every fabric's settings, or every problem at once.
pub(super) fn check_file(paths: &Paths) -> Result<Outcome> {
    match Config::load(&paths.config) {
        Ok(config) => {
            for fabric in &config.fabrics {
                println!(
                    "ok  fabric {}: namespace(s) {}, server {}, git {} (branch {}, directory {:?})",
                    fabric.name,
                    fabric.namespaces,
                    fabric.kubernetes.server,
                    crate::git::redact_url(&fabric.git.url),
                    fabric.git.branch,
                    fabric.git.directory
                );
                for warning in fabric.insecure_settings() {
                    println!("    warning: {warning}");
                }
            }
            println!(
                "{}: {} fabric(s), no problems",
                paths.config.display(),
                config.fabrics.len()
            );
            Ok(Outcome::Success)
        }
        Err(error) => {
            eprintln!("{error}");
            Ok(Outcome::Failed)
        }
    }
}

/// A sync of one fabric in this process (`sync_fabrics`' way without a server).
pub(super) fn sync_here(
    config: &Config,
    store: &Store,
    key_file: &Path,
    fabric: &FabricConfig,
) -> Result<SyncSummary, String> {
    sync::sync_fabric(fabric, store, &git_cache_dir(config), |name, slot| {
        vault::stored_secret(store, key_file, name, slot)
    })
    .map(|report| SyncSummary::from(&report))
    .map_err(|error| error.to_string())
}

/// `hhdash sync`: each fabric's Git into the store; a failed one keeps its previous desired set.
/// `sync_one` syncs a fabric: here, or through the server's engine.
pub(super) fn sync_fabrics(
    config: &Config,
    sync_one: &SyncOne,
    names: &[String],
    json: bool,
) -> Result<Outcome> {
    let mut failed = false;
    let mut reports = Vec::new();
    for fabric in config.select(names)? {
        output::warn_insecure(fabric);
        match sync_one(fabric) {
            Ok(report) => {
                if !json {
                    output::print_sync_report(fabric, &report);
                }
                reports
                    .push(serde_json::json!({"fabric": fabric.name, "ok": true, "report": report}));
            }
            Err(error) => {
                failed = true;
                if json {
                    reports.push(serde_json::json!({"fabric": fabric.name, "ok": false, "error": error.to_string()}));
                } else {
                    eprintln!(
                        "sync failed: {error}\n  the previous desired state of {} is kept",
                        fabric.name
                    );
                }
            }
        }
    }
    if json {
        crate::sanitize::print_json(&reports)?;
    }
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// `hhdash status`: each fabric's status and counts, from the store alone.
pub(super) fn status(
    config: &Config,
    store: &Store,
    names: &[String],
    json: bool,
) -> Result<Outcome> {
    let mut summaries = Vec::new();
    for fabric in config.select(names)? {
        summaries.push(output::FabricSummary {
            name: &fabric.name,
            namespace: fabric.namespaces.to_string(),
            status: store.fabric_status(&fabric.name)?,
            desired: store.desired_counts(&fabric.name)?,
            live: store.live(&fabric.name)?.len(),
        });
    }
    output::print_status(&summaries, json)?;
    Ok(Outcome::Success)
}

/// `hhdash secret set`: a token from standard input (`stdin`: what was read of it already, by
/// the client a server runs this for), sealed into the store.
pub(super) fn set_secret(
    store: &Store,
    key_file: &Path,
    fabric: &str,
    slot: SecretSlot,
    stdin: Option<&[u8]>,
) -> Result<Outcome> {
    let secret = match stdin {
        Some(bytes) => Secret::read_from(bytes),
        None => Secret::read_from(std::io::stdin().lock()),
    }
    .wrap_err("reading the token from standard input")?;
    if secret.is_empty() {
        return Err(eyre!(
            "no token on standard input; pipe it in, e.g. `hhdash secret set {fabric} {} < token.txt`",
            slot.name()
        ));
    }
    let vault = Vault::open(key_file, true)?;
    let sealed = vault.seal(fabric, slot.name(), &secret)?;
    store.put_secret(fabric, slot.name(), &sealed)?;
    println!(
        "stored {} for fabric {fabric} (encrypted with {})",
        slot.name(),
        if crate::secret::env::var(vault::KEY_ENV).is_some() {
            vault::KEY_ENV.to_string()
        } else {
            key_file.display().to_string()
        }
    );
    Ok(Outcome::Success)
}
