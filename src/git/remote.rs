//! Remote sources: a bare cache repository per fabric and URL, fetched shallow (to
//! `git.history_depth` commits), one branch.

use std::io::Write;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use gix::bstr::{BStr, ByteSlice};
use gix::credentials::helper::Action;
use gix::credentials::protocol::Outcome;
use gix::remote::Direction;
use gix::remote::fetch::{Shallow, Tags};
use gix::{ObjectId, Repository};
use zeroize::Zeroizing;

use super::read::truncate_names;
use super::{Context, GitError, TOKEN_USERNAME};

/// gix writes one pack per fetch and never repacks; past this many the cache is rebuilt with a
/// fresh shallow fetch (one branch, `git.history_depth` commits) so lookups and disk use stay bounded.
const MAX_PACKS: usize = 32;

/// Fetches `ctx.branch` from `url` into the fabric's cache and returns the cache and the tip.
pub(super) fn fetch(
    ctx: &Context,
    url: &str,
    cache_dir: &Path,
    depth: u32,
) -> Result<(Repository, ObjectId), GitError> {
    let parsed = gix::url::parse(url).map_err(|err| GitError::InvalidUrl {
        fabric: ctx.fabric.clone(),
        url: ctx.url.clone(),
        reason: ctx.detail_gix(&err),
    })?;
    let is_http = matches!(
        parsed.scheme,
        gix::url::Scheme::Http | gix::url::Scheme::Https
    );
    if ctx.token_configured()
        && parsed.scheme == gix::url::Scheme::Http
        && !is_loopback(parsed.host())
    {
        return Err(GitError::InsecureTokenTransport {
            fabric: ctx.fabric.clone(),
            url: ctx.url.clone(),
        });
    }
    if parsed.scheme == gix::url::Scheme::File {
        let path =
            gix::path::from_bstr(parsed.path.as_bstr()).map_err(|err| GitError::InvalidUrl {
                fabric: ctx.fabric.clone(),
                url: ctx.url.clone(),
                reason: ctx.detail_gix(&err),
            })?;
        check_file_remote(ctx, &path)?;
    }
    if is_http {
        // reqwest is built without a bundled crypto provider (see Cargo.toml); ring is the one
        // kube uses, so installing it here agrees with whatever the rest of the process does.
        // An error only means a provider is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let credentials = Credentials {
        password: if is_http {
            ctx.token().map(|t| Zeroizing::new(t.expose().to_owned()))
        } else {
            None
        },
        origin: Origin::of(&parsed),
        refused: std::sync::Mutex::new(None),
    };

    // The cache holds private repository contents: 0700 whatever the umask.
    crate::xdg::create_private_dir(cache_dir)
        .map_err(|err| cache_error(ctx, cache_dir, &ctx.detail(&err)))?;
    let name = cache_name(&ctx.fabric, url);
    let path = cache_dir.join(&name);

    if let Some(mut repo) = open_cache(ctx, &path) {
        let tip = fetch_into(ctx, &mut repo, url, &credentials, depth)?;
        tracing::debug!(fabric = %ctx.fabric, url = %ctx.url, branch = %ctx.branch, %tip, "fetched into git cache");
        return Ok((repo, tip));
    }
    tracing::debug!(fabric = %ctx.fabric, url = %ctx.url, cache = %path.display(), "building git cache");

    // A new cache is built beside the final path and moved in only once it holds the branch, so
    // a failed or interrupted first fetch never leaves a half-made cache behind.
    let unique = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    let staging = cache_dir.join(format!(".{name}.new-{unique}"));
    let built = (|| {
        let mut repo = gix::init_bare(&staging)
            .map_err(|err| cache_error(ctx, &staging, &ctx.detail_gix(&err)))?;
        write_remote_config(&repo, url)
            .map_err(|err| cache_error(ctx, &staging, &ctx.detail_gix(&err)))?;
        fetch_into(ctx, &mut repo, url, &credentials, depth)
    })();
    let tip = match built {
        Ok(tip) => tip,
        Err(err) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(err);
        }
    };
    let retired = cache_dir.join(format!(".{name}.old-{unique}"));
    let had_old = path.exists();
    let swapped = (|| {
        if had_old {
            std::fs::rename(&path, &retired)?;
        }
        std::fs::rename(&staging, &path)
    })();
    if let Err(err) = swapped {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(cache_error(ctx, &path, &ctx.detail(&err)));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&retired);
    }
    let repo = gix::open(&path).map_err(|err| cache_error(ctx, &path, &ctx.detail_gix(&err)))?;
    Ok((repo, tip))
}

/// The cache directory's name: readable (the fabric) and unique per URL (a hash), so two fabrics
/// never share a cache and a changed URL never reuses objects from the old one.
pub(crate) fn cache_name(fabric: &str, url: &str) -> String {
    let mut name: String = fabric
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() || name.starts_with('.') {
        name.insert(0, 'f');
    }
    format!("{name}-{:012x}", fnv1a64(url.trim().as_bytes()) >> 16)
}

// A hash that is stable across Rust releases (std's DefaultHasher is not), so caches survive
// upgrades. Collisions only cost a refetch: the URL is checked on every fetch anyway.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn is_loopback(host: Option<&str>) -> bool {
    match host {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// `git upload-pack` reports a bad path only on stderr, which gix discards; checking first turns
/// a bare "handshake failed" into a message naming the problem.
fn check_file_remote(ctx: &Context, path: &Path) -> Result<(), GitError> {
    let not_found = |detail: &str| GitError::RepositoryNotFound {
        fabric: ctx.fabric.clone(),
        url: ctx.url.clone(),
        detail: detail.to_owned(),
    };
    if !path.is_dir() {
        return Err(not_found("no such directory"));
    }
    match gix::open_opts(path, gix::open::Options::isolated()) {
        Ok(_) => Ok(()),
        Err(err) if err.is_not_found() => Err(not_found("it is not a git repository")),
        Err(err) => Err(not_found(&ctx.detail_gix(&err))),
    }
}

/// An existing cache worth fetching into, or `None` to build a new one.
fn open_cache(ctx: &Context, path: &Path) -> Option<Repository> {
    if !path.exists() {
        return None;
    }
    let repo = match gix::open(path) {
        Ok(repo) if repo.is_bare() => repo,
        Ok(_) => {
            tracing::warn!(fabric = %ctx.fabric, cache = %path.display(), "git cache is not a bare repository; rebuilding it");
            return None;
        }
        Err(err) => {
            tracing::warn!(fabric = %ctx.fabric, cache = %path.display(), error = %ctx.detail_gix(&err), "git cache is unreadable; rebuilding it");
            return None;
        }
    };
    let packs = pack_count(path);
    if packs > MAX_PACKS {
        tracing::debug!(fabric = %ctx.fabric, packs, "git cache has many packs; rebuilding it");
        return None;
    }
    Some(repo)
}

fn pack_count(repo_path: &Path) -> usize {
    std::fs::read_dir(repo_path.join("objects").join("pack"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|ext| ext == "pack"))
                .count()
        })
        .unwrap_or(0)
}

/// Records the URL as `remote.origin.url` so that `git -C <cache> log origin/<branch>` works for
/// someone investigating. Userinfo was refused before, so no credential can reach the file.
fn write_remote_config(repo: &Repository, url: &str) -> gix::Result<()> {
    use gix::error::ResultExt;
    let mut remote = repo.remote_at_without_url_rewrite(url)?;
    let mut config = gix::config::File::new(gix::config::file::Metadata::from(
        gix::config::Source::Local,
    ));
    remote.save_as_to("origin", &mut config)?;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(repo.path().join("config"))
        .or_error()?;
    file.write_all(&config.to_bstring()).or_error()?;
    Ok(())
}

/// Scheme, host and port of a URL: the origin a credential belongs to.
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    scheme: gix::url::Scheme,
    host: Option<String>,
    port: Option<u16>,
}

impl Origin {
    fn of(url: &gix::Url) -> Origin {
        Origin {
            scheme: url.scheme.clone(),
            host: url.host().map(str::to_ascii_lowercase),
            port: url.port_or_default(),
        }
    }
}

/// The token, handed to gix only when a server asks for authentication, and only when the
/// server asking is the configured origin (scheme, host and port): a redirect to anywhere else
/// gets no credentials. Without a token the answer is "no credentials" instead of gix's default
/// of asking the user's git credential helpers and the terminal.
struct Credentials {
    password: Option<Zeroizing<String>>,
    origin: Origin,
    /// The other origin (redacted URL) that asked for the token, for the error message.
    refused: std::sync::Mutex<Option<String>>,
}

impl Credentials {
    fn helper(&self) -> impl FnMut(Action) -> gix::Result<Option<Outcome>> + '_ {
        move |action| match (action, &self.password) {
            (Action::Get(context), Some(password)) => {
                let asking = context.url.clone().or_else(|| context.to_url());
                let parsed = asking
                    .as_ref()
                    .and_then(|url| gix::url::parse(url.as_bstr()).ok());
                if parsed.as_ref().map(Origin::of).as_ref() != Some(&self.origin) {
                    let shown = asking
                        .map(|url| super::redact_url(&url.to_string()))
                        .unwrap_or_else(|| "an unnamed server".to_owned());
                    tracing::warn!(asking = %crate::sanitize::terminal(&shown), "git token withheld from another origin");
                    *self.refused.lock().unwrap_or_else(|e| e.into_inner()) = Some(shown);
                    return Ok(None);
                }
                Ok(Some(Outcome {
                    identity: gix::sec::identity::Account {
                        username: TOKEN_USERNAME.to_owned(),
                        password: password.to_string(),
                        oauth_refresh_token: None,
                    },
                    next: context.into(),
                }))
            }
            // Store and Erase would reach a helper that keeps credentials; there is none.
            _ => Ok(None),
        }
    }

    /// The other origin that asked for the token, if one did.
    fn refused(&self) -> Option<String> {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn fetch_into(
    ctx: &Context,
    repo: &mut Repository,
    url: &str,
    credentials: &Credentials,
    depth: u32,
) -> Result<ObjectId, GitError> {
    // Nobody reads reflogs of a cache, and writing them would need a committer identity.
    repo.refs.write_reflog = gix::refs::store::WriteReflog::Disable;
    // The history the Git side of attribution reads; a deeper cache costs its first fetch,
    // later fetches bring only new commits.
    let depth = Shallow::DepthAtRemote(NonZeroU32::new(depth).unwrap_or(NonZeroU32::MIN));
    let tip = match fetch_once(repo, url, &ctx.branch, credentials, depth) {
        // Servers without the shallow capability get a full fetch of the branch instead.
        Err(err) if ctx.detail_gix(&err).contains("lack feature \"shallow\"") => {
            fetch_once(repo, url, &ctx.branch, credentials, Shallow::NoChange)
        }
        other => other,
    }
    .map_err(|err| map_fetch_error(ctx, credentials, &err))?;
    match tip {
        Some(tip) => Ok(tip),
        None => {
            let mut names = remote_branches(repo, url, credentials).unwrap_or_default();
            let (existing, more) = truncate_names(&mut names);
            Err(GitError::BranchNotFound {
                fabric: ctx.fabric.clone(),
                url: ctx.url.clone(),
                branch: ctx.branch.clone(),
                existing,
                more,
            })
        }
    }
}

/// One fetch of `refs/heads/<branch>`; `None` if the remote has no such branch.
fn fetch_once(
    repo: &Repository,
    url: &str,
    branch: &str,
    credentials: &Credentials,
    shallow: Shallow,
) -> gix::Result<Option<ObjectId>> {
    let remote_ref = format!("refs/heads/{branch}");
    let refspec = format!("+{remote_ref}:refs/remotes/origin/{branch}");
    // The configured URL exactly, without the user's `insteadOf` rewrites: per-fabric isolation,
    // and the loopback check on `http://` tokens must hold for the host actually contacted.
    let remote = repo
        .remote_at_without_url_rewrite(url)?
        .with_refspecs([refspec.as_str()], Direction::Fetch)?
        .with_fetch_tags(Tags::None);
    let prepare = remote
        .connect(Direction::Fetch)?
        .with_credentials(credentials.helper())
        .prepare_fetch(gix::progress::Discard, Default::default())?;
    if advertised_tip(prepare.ref_map(), &remote_ref).is_none() {
        return Ok(None);
    }
    let outcome = prepare
        .with_shallow(shallow)
        .receive(gix::progress::Discard, &AtomicBool::new(false))?;
    Ok(advertised_tip(&outcome.ref_map, &remote_ref))
}

fn advertised_tip(ref_map: &gix::remote::fetch::RefMap, remote_ref: &str) -> Option<ObjectId> {
    let wanted: &BStr = remote_ref.as_bytes().as_bstr();
    ref_map
        .mappings
        .iter()
        .find(|m| m.remote.as_name() == Some(wanted))
        .and_then(|m| m.remote.as_id())
        .map(ToOwned::to_owned)
}

/// Short names of the remote's branches, for the "branch not found" message.
fn remote_branches(
    repo: &Repository,
    url: &str,
    credentials: &Credentials,
) -> gix::Result<Vec<String>> {
    let remote = repo
        .remote_at_without_url_rewrite(url)?
        .with_refspecs(["+refs/heads/*:refs/remotes/origin/*"], Direction::Fetch)?
        .with_fetch_tags(Tags::None);
    let (ref_map, _) = remote
        .connect(Direction::Fetch)?
        .with_credentials(credentials.helper())
        .ref_map(gix::progress::Discard, Default::default())?;
    Ok(ref_map
        .remote_refs
        .iter()
        .filter_map(|r| {
            r.unpack()
                .0
                .strip_prefix(b"refs/heads/")
                .map(|name| name.to_str_lossy().into_owned())
        })
        .collect())
}

fn map_fetch_error(ctx: &Context, credentials: &Credentials, err: &gix::Error) -> GitError {
    let detail = ctx.detail_gix(err);
    if let Some(target) = credentials.refused() {
        return GitError::RedirectedElsewhere {
            fabric: ctx.fabric.clone(),
            url: ctx.url.clone(),
            target: ctx.scrub(&target),
            detail,
        };
    }
    let status = err
        .iter_errors()
        .find_map(|e| e.downcast_ref::<reqwest::Error>())
        .and_then(reqwest::Error::status)
        .map(|s| s.as_u16());
    if err.is_unauthenticated() || matches!(status, Some(401 | 403)) {
        // gix's own text for "no credentials" blames a credential helper, which we never use.
        let detail = if ctx.token_configured() {
            detail
        } else {
            "the server asks for credentials and this fabric has no git token".to_owned()
        };
        return GitError::AuthenticationFailed {
            fabric: ctx.fabric.clone(),
            url: ctx.url.clone(),
            token_configured: ctx.token_configured(),
            detail,
        };
    }
    if status == Some(404) {
        let detail = if ctx.token_configured() {
            "the server answered 404 Not Found (a private repository looks like this to a token \
             that may not read it)"
        } else {
            "the server answered 404 Not Found (a private repository looks like this without a \
             token)"
        };
        return GitError::RepositoryNotFound {
            fabric: ctx.fabric.clone(),
            url: ctx.url.clone(),
            detail: detail.to_owned(),
        };
    }
    GitError::Transport {
        fabric: ctx.fabric.clone(),
        url: ctx.url.clone(),
        branch: ctx.branch.clone(),
        detail,
    }
}

fn cache_error(ctx: &Context, path: &Path, detail: &str) -> GitError {
    GitError::Cache {
        fabric: ctx.fabric.clone(),
        path: PathBuf::from(path),
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_are_safe_and_distinct() {
        let a = cache_name("prod/east", "https://h/a.git");
        assert!(a.starts_with("prod_east-"), "{a}");
        assert_ne!(a, cache_name("prod/east", "https://h/b.git"));
        assert!(cache_name("..", "x").starts_with("f.."));
        assert!(!cache_name("", "x").starts_with('-'));
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback(Some("127.0.0.1")));
        assert!(is_loopback(Some("[::1]")));
        assert!(is_loopback(Some("localhost")));
        assert!(!is_loopback(Some("git.example.com")));
        assert!(!is_loopback(Some("10.0.0.1")));
    }
}
