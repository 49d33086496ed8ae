//! config::validate: turns the raw tables into validated settings. The `Validator` collects
//! every problem with its fabric and key, so one run of `hhdash check` reports them all; paths
//! are taken relative to the configuration file, and no setting falls back to another fabric's.

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};

use super::raw::{RawConfig, RawGit, RawKubernetes, RawWatch};
use super::{
    CaSource, Config, ConfigError, DEFAULT_POLL_SECS, FabricConfig, GitConfig, KubernetesConfig,
    Namespaces, Problem, TokenSource, WatchConfig,
};
use crate::kinds;

// The `[fabric.health]` and `[ui]` sections, validated by the same `Validator`.
#[path = "validate_sections.rs"]
mod sections;

/// Validates a parsed file; relative paths are taken from `path`'s directory.
pub(super) fn config(raw: RawConfig, path: &Path) -> Result<Config, ConfigError> {
    let base_dir = path.parent().unwrap_or(Path::new("."));
    let mut validator = Validator {
        base_dir,
        problems: Vec::new(),
        fabric: None,
    };
    if raw.fabric.is_empty() {
        validator.problem(
            "fabric",
            "no [[fabric]] is configured; see config.example.toml",
        );
    }
    let mut seen = HashSet::new();
    let mut fabrics = Vec::new();
    for (index, fabric) in raw.fabric.into_iter().enumerate() {
        validator.fabric = Some(
            fabric
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("#{}", index + 1)),
        );
        let name = match fabric.name.as_deref() {
            None | Some("") => {
                validator.problem("name", "missing");
                None
            }
            Some(name) if !is_dns_label(name, true) => {
                validator.problem(
                    "name",
                    "use lowercase letters, digits, '-' and '_' (at most 63)",
                );
                None
            }
            Some(name) if !seen.insert(name.to_string()) => {
                validator.problem(
                    "name",
                    "is used by another fabric; fabric names must be unique",
                );
                None
            }
            Some(name) => Some(name.to_string()),
        };
        let namespaces =
            validator.namespaces(fabric.namespace, fabric.namespaces, fabric.kind_namespaces);
        let kubernetes = validator.kubernetes(fabric.kubernetes);
        let git = validator.git(fabric.git);
        let watch = validator.watch(fabric.watch);
        let health = validator.health(fabric.health, watch.stale_heartbeat_secs);
        if let (Some(name), Some(kubernetes), Some(git)) = (name, kubernetes, git) {
            fabrics.push(FabricConfig {
                name,
                namespaces,
                kubernetes,
                git,
                health,
                watch,
            });
        }
    }
    validator.fabric = None;
    let ui = validator.ui(raw.ui);
    let timeline = super::timeline::limits(raw.timeline, &mut validator.problems);
    if !validator.problems.is_empty() {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems: validator.problems,
        });
    }
    Ok(Config {
        path: path.to_path_buf(),
        store_file: raw
            .store_file
            .map(|p| if p.is_absolute() { p } else { base_dir.join(p) }),
        git_cache_dir: raw
            .git_cache_dir
            .map(|p| if p.is_absolute() { p } else { base_dir.join(p) }),
        fabrics,
        ui,
        timeline,
    })
}

/// A conventional (POSIX) environment variable name: upper-case letters, digits and '_', not
/// starting with a digit. Tokens — JWTs, `ghp_…`, hex — never look like this.
fn is_env_var_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether the authority of a URL (`scheme://` optional) carries userinfo (`user:password@`).
fn has_userinfo(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())].contains('@')
}

fn is_dns_label(name: &str, allow_underscore: bool) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || b == b'-'
                || (allow_underscore && b == b'_')
        })
        && !name.starts_with(['-', '_'])
        && !name.ends_with(['-', '_'])
}

/// The directory inside the repo, normalised; `None` if it escapes the repository.
fn normalise_directory(directory: &str) -> Option<String> {
    let path = Path::new(directory);
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?.to_string()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// Accumulates problems while turning raw tables into validated settings.
struct Validator<'a> {
    base_dir: &'a Path,
    problems: Vec<Problem>,
    fabric: Option<String>,
}

impl Validator<'_> {
    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            fabric: self.fabric.clone(),
            key: key.to_string(),
            message: message.into(),
        });
    }

    fn resolve_path(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    fn token_source(
        &mut self,
        section: &str,
        env: Option<String>,
        file: Option<PathBuf>,
    ) -> Option<TokenSource> {
        match (env, file) {
            (Some(_), Some(_)) => {
                self.problem(
                    &format!("{section}.token_env"),
                    "set token_env or token_file, not both",
                );
                None
            }
            (Some(var), None) if var.trim().is_empty() => {
                self.problem(&format!("{section}.token_env"), "is empty");
                None
            }
            // What is not a variable name may be the token itself, pasted in the wrong key: it
            // is never repeated, so it cannot reach the screen, the log or the store.
            (Some(var), None) if !is_env_var_name(&var) => {
                self.problem(
                    &format!("{section}.token_env"),
                    "token_env must name an environment variable (upper-case letters, digits \
                     and '_', e.g. PROD_EAST_TOKEN), not hold the token itself; put the token in \
                     that variable, in a token_file, or store it with `hhdash secret set`",
                );
                None
            }
            (Some(var), None) => Some(TokenSource::Env(var)),
            (None, Some(file)) => {
                let path = self.resolve_path(&file);
                match std::fs::metadata(&path).map(|meta| crate::secret::open_to_others(&meta)) {
                    Err(error) => self.problem(
                        &format!("{section}.token_file"),
                        format!("{}: {error}", path.display()),
                    ),
                    Ok(Some(mode)) => self.problem(
                        &format!("{section}.token_file"),
                        format!(
                            "{} can be read by other users (mode {mode:o}); run `chmod 600 {}`",
                            path.display(),
                            path.display()
                        ),
                    ),
                    Ok(None) => {}
                }
                Some(TokenSource::File(path))
            }
            (None, None) => Some(TokenSource::Store),
        }
    }

    fn kubernetes(&mut self, raw: Option<RawKubernetes>) -> Option<KubernetesConfig> {
        let Some(raw) = raw else {
            self.problem(
                "kubernetes",
                "missing: every fabric needs its own [fabric.kubernetes] with server, token and CA (there is no fallback to ~/.kube/config)",
            );
            return None;
        };
        let server = match raw.server.as_deref().map(str::trim) {
            None | Some("") => {
                self.problem(
                    "kubernetes.server",
                    "missing: set the API server URL, e.g. https://10.0.0.1:6443",
                );
                None
            }
            // Credentials in the URL would be printed wherever the server is named; the URL is
            // not repeated here either.
            Some(server) if has_userinfo(server) => {
                self.problem(
                    "kubernetes.server",
                    "contains a user name or password (user:password@); remove them from the URL \
                     and give the token with token_env, token_file or `hhdash secret set`",
                );
                None
            }
            Some(server) if server.starts_with("https://") && server.len() > "https://".len() => {
                Some(server.trim_end_matches('/').to_string())
            }
            Some(server) => {
                self.problem(
                    "kubernetes.server",
                    format!(
                        "{server:?} must be an https:// URL (tokens are never sent in clear text)"
                    ),
                );
                None
            }
        };
        let token = self.token_source("kubernetes", raw.token_env, raw.token_file);
        let ca = match (raw.ca_cert_file, raw.ca_cert, raw.insecure_skip_tls_verify) {
            (Some(file), None, false) => {
                let path = self.resolve_path(&file);
                if let Err(error) = std::fs::metadata(&path) {
                    self.problem(
                        "kubernetes.ca_cert_file",
                        format!("{}: {error}", path.display()),
                    );
                }
                Some(CaSource::File(path))
            }
            (None, Some(pem), false) if pem.contains("-----BEGIN CERTIFICATE-----") => {
                Some(CaSource::Inline(pem))
            }
            (None, Some(_), false) => {
                self.problem(
                    "kubernetes.ca_cert",
                    "is not a PEM certificate (-----BEGIN CERTIFICATE-----)",
                );
                None
            }
            (None, None, true) => Some(CaSource::InsecureSkipVerify),
            (None, None, false) => {
                self.problem(
                    "kubernetes.ca_cert_file",
                    "missing: set ca_cert_file or ca_cert to the cluster CA (or, at your own risk, insecure_skip_tls_verify = true)",
                );
                None
            }
            _ => {
                self.problem(
                    "kubernetes.ca_cert_file",
                    "set exactly one of ca_cert_file, ca_cert, insecure_skip_tls_verify",
                );
                None
            }
        };
        Some(KubernetesConfig {
            server: server?,
            token: token?,
            ca: ca?,
        })
    }

    fn git(&mut self, raw: Option<RawGit>) -> Option<GitConfig> {
        let Some(raw) = raw else {
            self.problem(
                "git",
                "missing: every fabric needs [fabric.git] with url, branch and directory",
            );
            return None;
        };
        let url = match raw.url.as_deref().map(str::trim) {
            None | Some("") => {
                self.problem(
                    "git.url",
                    "missing: set a remote https URL or a local repository path",
                );
                None
            }
            Some(url) if url.contains("://") => {
                let scheme = url.split("://").next().unwrap_or_default();
                let authority = url
                    .split("://")
                    .nth(1)
                    .unwrap_or_default()
                    .split('/')
                    .next()
                    .unwrap_or_default();
                if !matches!(scheme, "https" | "http" | "file") {
                    self.problem("git.url", format!("scheme {scheme}:// is not supported; use https://, file:// or a local path"));
                    None
                } else if authority.contains('@') {
                    self.problem(
                        "git.url",
                        "contains credentials; remove them from the URL and use git.token_env, git.token_file or `hhdash secret set FABRIC git-token`",
                    );
                    None
                } else {
                    Some(url.to_string())
                }
            }
            Some(path) => Some(self.resolve_path(Path::new(path)).display().to_string()),
        };
        let branch = match raw.branch.as_deref().map(str::trim) {
            None | Some("") => {
                self.problem(
                    "git.branch",
                    "missing: name the branch to follow, e.g. main",
                );
                None
            }
            Some(branch) => Some(branch.to_string()),
        };
        let directory = match normalise_directory(raw.directory.as_deref().unwrap_or("")) {
            Some(directory) => Some(directory),
            None => {
                self.problem(
                    "git.directory",
                    format!(
                        "{:?} escapes the repository; use a path relative to the repository root without '..'",
                        raw.directory.unwrap_or_default()
                    ),
                );
                None
            }
        };
        let token = self.token_source("git", raw.token_env, raw.token_file);
        let limits = self.read_limits(
            [raw.max_file_bytes, raw.max_sync_bytes],
            raw.history_depth,
            raw.history_commits,
        );
        Some(GitConfig {
            url: url?,
            branch: branch?,
            directory: directory?,
            token: token?,
            poll_interval_secs: raw.poll_interval_secs.unwrap_or(DEFAULT_POLL_SECS),
            limits: limits?,
        })
    }

    /// `git.max_*_bytes` (how much one sync reads) and `git.history_*` (how much history the
    /// Git side of drift attribution reads).
    fn read_limits(
        &mut self,
        [max_file_bytes, max_sync_bytes]: [Option<u64>; 2],
        history_depth: Option<u32>,
        history_commits: Option<usize>,
    ) -> Option<crate::git::ReadLimits> {
        use crate::git::{self, ReadLimits};
        let limits = ReadLimits {
            max_file_bytes: max_file_bytes.unwrap_or(git::DEFAULT_MAX_FILE_BYTES),
            max_sync_bytes: max_sync_bytes.unwrap_or(git::DEFAULT_MAX_SYNC_BYTES),
            history_depth: history_depth.unwrap_or(git::DEFAULT_HISTORY_DEPTH),
            history_commits: history_commits.unwrap_or(git::DEFAULT_HISTORY_COMMITS),
        };
        let mut valid = true;
        for (key, value, unit) in [
            (
                "git.max_file_bytes",
                limits.max_file_bytes,
                "a number of bytes",
            ),
            (
                "git.max_sync_bytes",
                limits.max_sync_bytes,
                "a number of bytes",
            ),
            (
                "git.history_depth",
                limits.history_depth.into(),
                "commits fetched; 1 is the tip alone",
            ),
            (
                "git.history_commits",
                limits.history_commits as u64,
                "commits read per lookup",
            ),
        ] {
            if value == 0 {
                self.problem(key, format!("must be at least 1 ({unit})"));
                valid = false;
            }
        }
        if valid && limits.max_file_bytes > limits.max_sync_bytes {
            self.problem(
                "git.max_file_bytes",
                format!(
                    "{} is more than git.max_sync_bytes ({}); one file could then fail the whole \
                     sync instead of being skipped",
                    limits.max_file_bytes, limits.max_sync_bytes
                ),
            );
            valid = false;
        }
        valid.then_some(limits)
    }

    /// `namespace`, `namespaces` and `kind_namespaces` into the fabric's [`Namespaces`]. With
    /// neither `namespace` nor `namespaces`, the fabric is `default` alone (where Hedgehog
    /// keeps every kind today).
    fn namespaces(
        &mut self,
        namespace: Option<String>,
        namespaces: Option<Vec<String>>,
        kind_namespaces: BTreeMap<String, String>,
    ) -> Namespaces {
        let valid = |ns: &String| is_dns_label(ns, false);
        let mut managed: Vec<String> = Vec::new();
        match &namespaces {
            Some(list) if list.is_empty() => {
                self.problem("namespaces", "is empty; list at least one namespace")
            }
            Some(list) => {
                for ns in list {
                    if !valid(ns) {
                        self.problem(
                            "namespaces",
                            format!("{ns:?} is not a valid Kubernetes namespace"),
                        );
                    } else if managed.contains(ns) {
                        self.problem("namespaces", format!("{ns:?} is listed twice"));
                    } else {
                        managed.push(ns.clone());
                    }
                }
            }
            None => {}
        }
        let default = match (namespace, &namespaces) {
            (Some(ns), _) if !valid(&ns) => {
                self.problem(
                    "namespace",
                    format!("{ns:?} is not a valid Kubernetes namespace"),
                );
                ns
            }
            (Some(ns), Some(_)) if !managed.contains(&ns) => {
                self.problem(
                    "namespace",
                    format!(
                        "{ns:?} is not in namespaces; add it there, or drop namespace to use \
                         the first of namespaces"
                    ),
                );
                ns
            }
            (Some(ns), _) => ns,
            (None, Some(_)) => managed.first().cloned().unwrap_or_default(),
            (None, None) => "default".to_string(),
        };
        if namespaces.is_none() {
            managed.push(default.clone());
        }
        let mut by_kind = BTreeMap::new();
        for (kind, ns) in kind_namespaces {
            let key = format!("kind_namespaces.{kind}");
            match kinds::lookup(&kind) {
                Some(info) if info.writable() => {
                    if !managed.contains(&ns) {
                        self.problem(
                            &key,
                            format!(
                                "{ns:?} is not a namespace this fabric manages; add it to \
                                 namespaces"
                            ),
                        );
                    } else if by_kind.insert(info.kind, ns).is_some() {
                        self.problem(&key, format!("{} is given twice", info.kind));
                    }
                }
                Some(info) => self.problem(
                    &key,
                    format!(
                        "{} is owned by the Hedgehog controller and never comes from Git",
                        info.kind
                    ),
                ),
                None => {
                    let known: Vec<&str> = kinds::desired_kinds().map(|k| k.kind).collect();
                    self.problem(&key, format!("unknown kind; known: {}", known.join(", ")))
                }
            }
        }
        managed.sort();
        Namespaces {
            default,
            managed,
            by_kind,
        }
    }

    fn watch(&mut self, raw: RawWatch) -> WatchConfig {
        let kinds = match raw.kinds {
            None => kinds::KINDS.iter().collect(),
            Some(names) => names
                .iter()
                .filter_map(|name| {
                    let found = kinds::lookup(name);
                    if found.is_none() {
                        let known: Vec<&str> = kinds::KINDS.iter().map(|k| k.kind).collect();
                        self.problem(
                            "watch.kinds",
                            format!("unknown kind {name:?}; known: {}", known.join(", ")),
                        );
                    }
                    found
                })
                .collect(),
        };
        let stale_heartbeat_secs = raw
            .stale_heartbeat_secs
            .unwrap_or(crate::health::DEFAULT_STALE_AFTER_SECS);
        if stale_heartbeat_secs <= 0 {
            self.problem(
                "watch.stale_heartbeat_secs",
                "must be a positive number of seconds",
            );
        }
        WatchConfig {
            enabled: raw.enabled.unwrap_or(true),
            kinds,
            stale_heartbeat_secs,
            critical_drift_threshold: raw.critical_drift_threshold,
        }
    }
}
