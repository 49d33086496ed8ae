//! git: fetches a fabric's Git source with gix and reads the manifest files under its directory at
//! the tip of its branch, straight from the object database (no checkout, no work tree).
//!
//! It owns: opening a local repository read-only, keeping a bare cache clone per fabric for remote
//! URLs (shallow, one branch), handing a token to gix as an HTTP credential, and turning gix
//! failures into errors an operator can act on.
//!
//! It must not: parse YAML (the caller does), write into a user's repository (local paths are only
//! read), put a credential into a URL, a remote config on disk, an error message or a log line, or
//! fall back to the user's own git credential helpers or prompts (strict per-fabric isolation, and
//! a prompt would hang or corrupt the terminal UI).
//!
//! Rules an operator may notice:
//! * `url` without a scheme is a local path (absolute, or relative to the current directory) to a
//!   work tree or a bare repository; it is opened in place and only `refs/heads/<branch>` is read,
//!   so a branch that exists only as a remote-tracking ref must be checked out or fetched first.
//! * `https://`, `http://`, `file://` and `ssh://` (or `user@host:path`) URLs are fetched into
//!   `cache_dir/<fabric>-<hash of url>`, a bare repository holding just that branch, shallow at `git.history_depth` commits (the
//!   history the Git side of drift attribution reads; 1 keeps the tip alone).
//!   `file://` and `ssh://` run the `git` / `ssh` programs, as git itself does.
//! * A token is sent only to `http(s)` remotes, as HTTP basic auth with user name
//!   [`TOKEN_USERNAME`] (accepted by GitHub, GitLab and Gitea for personal access tokens). It is
//!   never sent over plain `http://` except to the loopback interface (a port-forwarded in-cluster
//!   git server). The URL is used exactly as configured: the user's `url.*.insteadOf` rewrites
//!   and credential helpers are not consulted.
//! * Only `*.yaml` and `*.yml` blobs are read (case-sensitive, as `kubectl apply -f dir` does);
//!   symlinks, submodules and hidden files or directories (a name starting with `.`, such as
//!   `.github/`) are skipped.
//! * Sizes are checked from object headers before any blob is loaded: a file over
//!   [`ReadLimits::max_file_bytes`] is not read (it is listed in [`Snapshot::too_large`]), and
//!   when the files to read total more than [`ReadLimits::max_sync_bytes`] nothing is read and
//!   the snapshot fails with [`GitError::SyncTooLarge`].

mod history;
mod read;
mod remote;

pub use history::{DEFAULT_HISTORY_COMMITS, HistoryCache, HistoryQuery, PathOrigin, open_history};

use std::path::{Path, PathBuf};

use crate::secret::Secret;

/// The HTTP user name sent with a token. Forges that authenticate by token ignore the name or
/// accept this one; Bitbucket wants `x-token-auth`, which would need a config option.
pub const TOKEN_USERNAME: &str = "x-access-token";

/// Default of `git.max_file_bytes`: larger manifests are not read.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// Default of `git.max_sync_bytes`: more manifest bytes than this fail the sync.
pub const DEFAULT_MAX_SYNC_BYTES: u64 = 256 * 1024 * 1024;
/// Default of `git.history_depth`: how many commits of a remote branch the cache clone keeps,
/// so the commit that set a drifted value can be named (older ones are "at or before").
pub const DEFAULT_HISTORY_DEPTH: u32 = 300;

/// How much one snapshot may read, so a huge file costs that file and a huge directory fails
/// the sync before its blobs are loaded into memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// A manifest larger than this is skipped (reported in [`Snapshot::too_large`]).
    pub max_file_bytes: u64,
    /// The manifests to read may total at most this much.
    pub max_sync_bytes: u64,
    /// Commits of a remote branch fetched into the cache clone (1: the tip alone). Local
    /// repositories are read in place with all their history.
    pub history_depth: u32,
    /// At most this many commits are read to find the commit that set a value.
    pub history_commits: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_sync_bytes: DEFAULT_MAX_SYNC_BYTES,
            history_depth: DEFAULT_HISTORY_DEPTH,
            history_commits: DEFAULT_HISTORY_COMMITS,
        }
    }
}

/// Where and what to read for one fabric.
#[derive(Debug, Clone, Copy)]
pub struct GitSource<'a> {
    /// The fabric's name, used in error messages and for the cache directory's name.
    pub fabric: &'a str,
    /// `https://…`, `http://…`, `file://…`, `ssh://…`, or a local path (absolute or relative).
    pub url: &'a str,
    /// A branch name such as `main` (a full `refs/heads/main` is accepted too).
    pub branch: &'a str,
    /// A path relative to the repository root, `/`-separated; `""` or `"."` is the root.
    pub directory: &'a str,
    /// A token for `http(s)` remotes; ignored for local paths, `file://` and ssh.
    pub token: Option<&'a Secret>,
    /// Size caps for the manifests read.
    pub limits: ReadLimits,
}

/// The manifests of a fabric at one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The full hex id of the commit the files were read from.
    pub commit: String,
    /// Every `*.yaml` / `*.yml` file under the directory, sorted by path, except those in
    /// `too_large`.
    pub files: Vec<SourceFile>,
    /// Manifests over [`ReadLimits::max_file_bytes`], not read: (path, size in bytes).
    pub too_large: Vec<(String, u64)>,
}

/// One manifest file as stored in Git.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative to the repository root, `/`-separated (not relative to the directory, so that
    /// messages point at the file as the operator sees it in the repository).
    pub path: String,
    /// The blob's bytes exactly as committed.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for SourceFile {
    // Thousands of manifests dumped byte by byte would drown any log or test failure.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceFile")
            .field("path", &self.path)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Why a fabric's Git source could not be read. Every message names the fabric, shows the URL
/// without credentials and says what to do; none ever contains the token.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(
        "fabric {fabric}: the git URL {url} contains a user name or password; remove them from \
         the URL and configure the token with token_env or token_file instead"
    )]
    CredentialsInUrl { fabric: String, url: String },

    #[error("fabric {fabric}: the git URL {url:?} is not usable: {reason}; fix git.url")]
    InvalidUrl {
        fabric: String,
        url: String,
        reason: String,
    },

    #[error(
        "fabric {fabric}: refusing to send the git token over unencrypted http to {url}; use an \
         https:// URL (plain http is allowed only to this machine, e.g. a port-forward)"
    )]
    InsecureTokenTransport { fabric: String, url: String },

    #[error(
        "fabric {fabric}: {url} sent hhdash to another origin, {target}; the git token goes only \
         to the scheme, host and port of git.url, so it was not sent there and the fetch failed: \
         {detail}; if {target} is the repository's new home, set git.url to it"
    )]
    RedirectedElsewhere {
        fabric: String,
        url: String,
        /// Where the redirect pointed (without userinfo).
        target: String,
        detail: String,
    },

    #[error("fabric {fabric}: {branch:?} is not a valid git branch name; fix git.branch")]
    InvalidBranch { fabric: String, branch: String },

    #[error(
        "fabric {fabric}: git directory {directory:?} is not a relative path inside the \
         repository (no '..', no leading '/'); fix git.directory"
    )]
    InvalidDirectory { fabric: String, directory: String },

    #[error(
        "fabric {fabric}: cannot open git repository {url}: {detail}; check that git.url points \
         at a git repository (a work tree or a bare repository) that this user can read"
    )]
    RepositoryNotFound {
        fabric: String,
        url: String,
        detail: String,
    },

    #[error(
        "fabric {fabric}: branch {branch:?} not found in {url}; {}; fix git.branch or push the branch",
        existing_branches(.existing, *.more)
    )]
    BranchNotFound {
        fabric: String,
        url: String,
        branch: String,
        /// Up to ten branches that do exist, sorted.
        existing: Vec<String>,
        /// How many more branches exist beyond `existing`.
        more: usize,
    },

    #[error(
        "fabric {fabric}: directory {directory:?} does not exist on branch {branch:?} at commit \
         {commit} of {url}; fix git.directory or commit the directory"
    )]
    DirectoryNotFound {
        fabric: String,
        url: String,
        branch: String,
        directory: String,
        commit: String,
    },

    #[error(
        "fabric {fabric}: {directory:?} is a file, not a directory, on branch {branch:?} at \
         commit {commit} of {url}; fix git.directory"
    )]
    NotADirectory {
        fabric: String,
        url: String,
        branch: String,
        directory: String,
        commit: String,
    },

    #[error(
        "fabric {fabric}: authentication to {url} failed: {detail}; {}",
        if *.token_configured {
            "check that the token (token_env / token_file) is valid, not expired, and may read this repository"
        } else {
            "the remote requires credentials: configure a token with token_env or token_file"
        }
    )]
    AuthenticationFailed {
        fabric: String,
        url: String,
        token_configured: bool,
        detail: String,
    },

    #[error(
        "fabric {fabric}: could not fetch branch {branch:?} from {url}: {detail}; check the \
         network and that the URL is reachable (the cached copy was left as it was)"
    )]
    Transport {
        fabric: String,
        url: String,
        branch: String,
        detail: String,
    },

    #[error(
        "fabric {fabric}: git cache {path} is unusable: {detail}; check that the cache \
         directory is writable (it is safe to delete it)"
    )]
    Cache {
        fabric: String,
        path: PathBuf,
        detail: String,
    },

    #[error(
        "fabric {fabric}: the YAML files under git.directory at commit {commit} of {url} total \
         {total} bytes, more than git.max_sync_bytes ({limit}); largest: {}; nothing was read \
         and the previous desired set is kept: point git.directory at this fabric's files only, \
         or raise git.max_sync_bytes",
        largest.iter().map(|(path, bytes)| format!("{path} ({bytes} bytes)")).collect::<Vec<_>>().join(", ")
    )]
    SyncTooLarge {
        fabric: String,
        url: String,
        commit: String,
        total: u64,
        limit: u64,
        /// Up to three of the largest files, largest first.
        largest: Vec<(String, u64)>,
    },

    #[error(
        "fabric {fabric}: there is no clone of {url} to read history from yet; sync the fabric \
         first (hhdash sync, or `s` in the dashboard)"
    )]
    NoClone { fabric: String, url: String },

    #[error(
        "fabric {fabric}: cannot read the Git history of {file} at commit {}: {detail}; the \
         clone may be damaged (run `git fsck` on it, or delete the cache and sync to refetch)",
        short_commit(.commit)
    )]
    History {
        fabric: String,
        file: String,
        commit: String,
        detail: String,
    },

    #[error(
        "fabric {fabric}: reading {what} at {at} of {url} failed: {detail}; the repository may \
         be damaged (run `git fsck` on it, or delete the cache to refetch)"
    )]
    Read {
        fabric: String,
        url: String,
        /// `commit <hex>` or `branch "<name>"`.
        at: String,
        what: String,
        detail: String,
    },
}

fn existing_branches(existing: &[String], more: usize) -> String {
    if existing.is_empty() {
        return "the repository has no branches".to_owned();
    }
    let mut text = format!("existing branches: {}", existing.join(", "));
    if more > 0 {
        text.push_str(&format!(" (and {more} more)"));
    }
    text
}

/// Reads every `*.yaml` / `*.yml` blob under `source.directory` (recursively) at the tip of
/// `source.branch`. Local paths are read in place; remote URLs are first fetched into a bare cache
/// repository under `cache_dir` (created if missing). Blocking: call it from a blocking thread.
pub fn fetch_snapshot(source: &GitSource, cache_dir: &Path) -> Result<Snapshot, GitError> {
    let ctx = Context::new(source)?;
    if has_credentials(source.url.trim()) {
        return Err(GitError::CredentialsInUrl {
            fabric: ctx.fabric,
            url: ctx.url,
        });
    }
    let directory =
        normalize_directory(source.directory).ok_or_else(|| GitError::InvalidDirectory {
            fabric: ctx.fabric.clone(),
            directory: source.directory.to_owned(),
        })?;
    let (repo, commit) = match classify_url(source.url) {
        UrlKind::Local(path) => {
            let repo = read::open_local(&ctx, &path)?;
            let commit = read::local_branch_tip(&ctx, &repo)?;
            (repo, commit)
        }
        UrlKind::Remote(url) => remote::fetch(&ctx, url, cache_dir, source.limits.history_depth)?,
        UrlKind::Invalid(reason) => {
            return Err(GitError::InvalidUrl {
                fabric: ctx.fabric,
                url: ctx.url,
                reason,
            });
        }
    };
    read::snapshot(&ctx, &repo, commit, &directory, source.limits)
}

/// The first 12 hex digits of a commit id: how messages and the CLI name a commit.
pub fn short_commit(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// `url` with any `user:password@` removed, for messages and logs. Paths and scp-like
/// `user@host:path` addresses (whose user is not a secret) are returned unchanged.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return match scp_userinfo_end(url) {
            Some(at) if url[..at].contains(':') => url[at + 1..].to_owned(),
            _ => url.to_owned(),
        };
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_len].rfind('@') {
        Some(at) => format!("{}{}", &url[..authority_start], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// Whether `url` carries a secret: any userinfo in a URL, except a plain user name for ssh
/// (`ssh://git@host/…`, `git@host:…`), which is how ssh names the account and is no secret.
fn has_credentials(url: &str) -> bool {
    let Some(scheme_end) = url.find("://") else {
        return scp_userinfo_end(url).is_some_and(|at| url[..at].contains(':'));
    };
    let rest = &url[scheme_end + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => !url[..scheme_end].eq_ignore_ascii_case("ssh") || authority[..at].contains(':'),
        None => false,
    }
}

/// The position of the `@` ending scp-like userinfo (`user@host:path`), if any.
fn scp_userinfo_end(url: &str) -> Option<usize> {
    let at = url.find('@')?;
    (!url[..at].contains('/')).then_some(at)
}

/// What every error needs, computed once: names for messages and the token to scrub from any
/// text that comes back from gix, the transport or a remote server.
pub(crate) struct Context<'a> {
    pub fabric: String,
    /// The URL without userinfo.
    pub url: String,
    /// The branch's short name (without `refs/heads/`).
    pub branch: String,
    token: Option<&'a Secret>,
}

impl<'a> Context<'a> {
    fn new(source: &GitSource<'a>) -> Result<Self, GitError> {
        let branch = source
            .branch
            .strip_prefix("refs/heads/")
            .unwrap_or(source.branch)
            .to_owned();
        let ctx = Context {
            fabric: source.fabric.to_owned(),
            url: redact_url(source.url.trim()),
            branch,
            token: source.token.filter(|t| !t.is_empty()),
        };
        if gix::validate::reference::name_partial(
            format!("refs/heads/{}", ctx.branch).as_str().into(),
        )
        .is_err()
            || ctx.branch.is_empty()
        {
            return Err(GitError::InvalidBranch {
                fabric: ctx.fabric,
                branch: source.branch.to_owned(),
            });
        }
        Ok(ctx)
    }

    /// Flattens a gix error chain into one line, with the token (should anything ever echo it)
    /// and any URL userinfo removed.
    pub fn detail(&self, err: &(dyn std::error::Error + 'static)) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut current = Some(err);
        while let Some(e) = current {
            let text = e.to_string();
            // gix wraps errors in layers that repeat their cause's text verbatim.
            if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
                parts.push(text);
            }
            current = e.source();
        }
        self.scrub(&parts.join(": "))
    }

    pub fn detail_gix(&self, err: &gix::Error) -> String {
        let mut parts: Vec<String> = Vec::new();
        for e in err.iter_errors() {
            let text = e.to_string();
            if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
                parts.push(text);
            }
        }
        if parts.is_empty() {
            parts.push(err.to_string());
        }
        self.scrub(&parts.join(": "))
    }

    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        if let Some(token) = self.token {
            text = text.replace(token.expose(), "<redacted>");
        }
        text.split(' ')
            .map(|word| {
                if word.contains("://") {
                    redact_url(word)
                } else {
                    word.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The token, unless none or an empty one was configured.
    pub fn token(&self) -> Option<&'a Secret> {
        self.token
    }

    pub fn token_configured(&self) -> bool {
        self.token.is_some()
    }
}

enum UrlKind<'a> {
    Local(PathBuf),
    Remote(&'a str),
    Invalid(String),
}

fn classify_url(url: &str) -> UrlKind<'_> {
    let url = url.trim();
    if url.is_empty() {
        return UrlKind::Invalid("it is empty".to_owned());
    }
    if let Some(scheme_end) = url.find("://") {
        let scheme = url[..scheme_end].to_ascii_lowercase();
        return match scheme.as_str() {
            "https" | "http" | "file" | "ssh" | "git" => UrlKind::Remote(url),
            other => UrlKind::Invalid(format!(
                "unsupported scheme {other:?} (use https://, http://, file://, ssh:// or a local path)"
            )),
        };
    }
    // `user@host:path` is git's scp-like ssh syntax; a colon anywhere else means a path.
    if let Some(colon) = url.find(':') {
        let host_part = &url[..colon];
        if host_part.contains('@') && !host_part.contains('/') {
            return UrlKind::Remote(url);
        }
    }
    UrlKind::Local(PathBuf::from(url))
}

/// `directory` as tree path components, or `None` if it would leave the repository.
fn normalize_directory(directory: &str) -> Option<Vec<String>> {
    let directory = directory.trim();
    if directory.starts_with('/') || directory.contains('\\') || directory.contains('\0') {
        return None;
    }
    let mut components = Vec::new();
    for component in directory.split('/') {
        match component {
            "" | "." => {}
            ".." => return None,
            name => components.push(name.to_owned()),
        }
    }
    Some(components)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_strips_userinfo_only() {
        assert_eq!(redact_url("https://u:p@host/x.git"), "https://host/x.git");
        assert_eq!(
            redact_url("https://tok@host:8443/a@b"),
            "https://host:8443/a@b"
        );
        assert_eq!(redact_url("https://host/x.git"), "https://host/x.git");
        assert_eq!(redact_url("git@host:org/x.git"), "git@host:org/x.git");
        assert_eq!(redact_url("/srv/repo"), "/srv/repo");
        assert_eq!(redact_url("u:pw@host:org/x.git"), "host:org/x.git");
    }

    #[test]
    fn credentials_are_detected() {
        assert!(has_credentials("https://tok@host/x.git"));
        assert!(has_credentials("https://u:p@host/x.git"));
        assert!(has_credentials("ssh://git:pw@host/x.git"));
        assert!(has_credentials("u:pw@host:x.git"));
        assert!(!has_credentials("ssh://git@host/x.git"));
        assert!(!has_credentials("git@host:x.git"));
        assert!(!has_credentials("https://host/a@b"));
        assert!(!has_credentials("/srv/a@b:c"));
    }

    #[test]
    fn directories_never_escape() {
        assert_eq!(normalize_directory(""), Some(vec![]));
        assert_eq!(normalize_directory("."), Some(vec![]));
        assert_eq!(
            normalize_directory("./fabric//a/"),
            Some(vec!["fabric".to_owned(), "a".to_owned()])
        );
        assert_eq!(normalize_directory("a/../../etc"), None);
        assert_eq!(normalize_directory("/etc"), None);
        assert_eq!(normalize_directory("a\\..\\b"), None);
    }

    #[test]
    fn urls_are_classified() {
        assert!(matches!(
            classify_url("https://h/r.git"),
            UrlKind::Remote(_)
        ));
        assert!(matches!(classify_url("file:///srv/r"), UrlKind::Remote(_)));
        assert!(matches!(
            classify_url("git@github.com:o/r.git"),
            UrlKind::Remote(_)
        ));
        assert!(matches!(classify_url("./repo"), UrlKind::Local(_)));
        assert!(matches!(classify_url("/srv/a:b"), UrlKind::Local(_)));
        assert!(matches!(classify_url("ftp://h/r"), UrlKind::Invalid(_)));
    }
}
