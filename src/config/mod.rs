//! config: reads the TOML configuration and validates it into per-fabric settings, reporting
//! every problem at once with the fabric and key named. It enforces strict isolation: each
//! fabric carries its own server, credentials and CA, and nothing ever falls back to
//! `~/.kube/config` or to another fabric. It resolves tokens but never prints them.

use std::collections::HashSet;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::kinds::{self, KindInfo};
use crate::secret::Secret;

/// Slots under which `hhdash secret set` stores a fabric's tokens.
pub const KUBERNETES_TOKEN_SLOT: &str = "kubernetes-token";
pub const GIT_TOKEN_SLOT: &str = "git-token";
/// Argo CD's default: Git is polled every three minutes.
pub const DEFAULT_POLL_SECS: u64 = 180;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    store_file: Option<PathBuf>,
    git_cache_dir: Option<PathBuf>,
    #[serde(default)]
    fabric: Vec<RawFabric>,
    #[serde(default)]
    ui: RawUi,
}

/// The optional `[ui]` table: dashboard behaviour and key bindings.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawUi {
    read_only: Option<bool>,
    event_pane_lines: Option<u16>,
    #[serde(default)]
    keys: std::collections::BTreeMap<String, RawKeys>,
}

/// `sync = "s"` or `down = ["j", "down"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawKeys {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFabric {
    name: Option<String>,
    namespace: Option<String>,
    kubernetes: Option<RawKubernetes>,
    git: Option<RawGit>,
    #[serde(default)]
    watch: RawWatch,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKubernetes {
    server: Option<String>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    ca_cert_file: Option<PathBuf>,
    ca_cert: Option<String>,
    #[serde(default)]
    insecure_skip_tls_verify: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGit {
    url: Option<String>,
    branch: Option<String>,
    directory: Option<String>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    poll_interval_secs: Option<u64>,
    max_file_bytes: Option<u64>,
    max_sync_bytes: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    enabled: Option<bool>,
    kinds: Option<Vec<String>>,
    stale_heartbeat_secs: Option<i64>,
    critical_drift_threshold: Option<usize>,
}

/// Where a token comes from. `Store` means the encrypted store (`hhdash secret set`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env(String),
    File(PathBuf),
    Store,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaSource {
    File(PathBuf),
    Inline(String),
    /// Explicit opt-in: the server's certificate is not verified.
    InsecureSkipVerify,
}

#[derive(Debug, Clone)]
pub struct KubernetesConfig {
    pub server: String,
    pub token: TokenSource,
    pub ca: CaSource,
}

#[derive(Debug, Clone)]
pub struct GitConfig {
    /// A remote URL (https://, http://, file://) or an absolute local path.
    pub url: String,
    pub branch: String,
    /// Relative to the repository root, '/'-separated; "" is the root.
    pub directory: String,
    /// `Store` here means: the stored `git-token` if there is one, else no token (public and
    /// local repositories need none).
    pub token: TokenSource,
    /// How often the dashboard re-syncs Git by itself; 0 = only on request.
    pub poll_interval_secs: u64,
    /// `max_file_bytes` / `max_sync_bytes`: how much one sync reads.
    pub limits: crate::git::ReadLimits,
}

#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub enabled: bool,
    pub kinds: Vec<&'static KindInfo>,
    /// A switch whose agent has not reported for this long is Stale.
    pub stale_heartbeat_secs: i64,
    /// Fabric drift is Critical once this many objects drift (wiring drift always is).
    pub critical_drift_threshold: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct FabricConfig {
    pub name: String,
    pub namespace: String,
    pub kubernetes: KubernetesConfig,
    pub git: GitConfig,
    pub watch: WatchConfig,
}

impl FabricConfig {
    /// Settings that are allowed but weaken security, each as a sentence for a `warning:` line
    /// (without the fabric's name). `check` prints them, and every command that talks to the
    /// fabric's server or Git repeats them on stderr.
    pub fn insecure_settings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.kubernetes.ca == CaSource::InsecureSkipVerify {
            warnings.push(
                "insecure_skip_tls_verify is on; the server's identity is not checked".to_string(),
            );
        }
        if self
            .git
            .url
            .trim()
            .get(..7)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
        {
            warnings.push(
                "git.url uses plain http://; anyone on the way can read and change the desired \
                 state (use https://)"
                    .to_string(),
            );
        }
        warnings
    }
}

/// The dashboard's settings (`[ui]`). Every field has a default; the table is optional.
#[derive(Debug, Clone)]
pub struct UiConfig {
    /// Refuse every write to a cluster (apply); `--read-only` also sets it.
    pub read_only: bool,
    /// Lines of the event pane.
    pub event_pane_lines: u16,
    /// Key overrides per action (`[ui.keys]`), validated: known actions, parseable keys, no
    /// duplicates, no write action on a control chord.
    pub keys: crate::keymap::KeyOverrides,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            read_only: false,
            event_pane_lines: 5,
            keys: crate::keymap::KeyOverrides::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub store_file: Option<PathBuf>,
    pub git_cache_dir: Option<PathBuf>,
    pub fabrics: Vec<FabricConfig>,
    pub ui: UiConfig,
}

/// One thing wrong with the configuration, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The fabric's name, or its position (`fabric #2`) when it has none.
    pub fabric: Option<String>,
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fabric {
            Some(fabric) => write!(f, "fabric {fabric}: {}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration {path}: {source}; create it from config.example.toml")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path} has {} problem(s):\n{}", problems.len(), problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    #[error("no fabric named {name:?} in {path}; configured: {}", known.join(", "))]
    UnknownFabric {
        name: String,
        path: PathBuf,
        known: Vec<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "fabric {fabric}: {what} token: environment variable {var} is not set or empty; export it, or use token_file"
    )]
    EnvMissing {
        fabric: String,
        what: &'static str,
        var: String,
    },
    #[error("fabric {fabric}: {what} token file {path}: {source}")]
    FileUnreadable {
        fabric: String,
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "fabric {fabric}: {what} token file {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    FileTooOpen {
        fabric: String,
        what: &'static str,
        path: PathBuf,
        mode: u32,
    },
    #[error("fabric {fabric}: {what} token file {path} is empty")]
    FileEmpty {
        fabric: String,
        what: &'static str,
        path: PathBuf,
    },
    #[error(
        "fabric {fabric}: no {what} token: set token_env or token_file in the config, or run `hhdash secret set {fabric} {slot}`"
    )]
    NotStored {
        fabric: String,
        what: &'static str,
        slot: &'static str,
    },
    #[error("fabric {fabric}: {message}")]
    Store { fabric: String, message: String },
}

/// Reads a token from a file, refusing files that others can read.
pub fn read_token_file(
    fabric: &str,
    what: &'static str,
    path: &Path,
) -> Result<Secret, TokenError> {
    let meta = std::fs::metadata(path).map_err(|source| TokenError::FileUnreadable {
        fabric: fabric.to_string(),
        what,
        path: path.to_path_buf(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(TokenError::FileTooOpen {
            fabric: fabric.to_string(),
            what,
            path: path.to_path_buf(),
            mode,
        });
    }
    // The file's text is a copy of the token: wiped when dropped, like the Secret made from it.
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
        TokenError::FileUnreadable {
            fabric: fabric.to_string(),
            what,
            path: path.to_path_buf(),
            source,
        }
    })?);
    let secret = Secret::new(text.trim());
    if secret.is_empty() {
        return Err(TokenError::FileEmpty {
            fabric: fabric.to_string(),
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(secret)
}

impl TokenSource {
    /// Resolves the token. `stored` looks the slot up in the encrypted store when needed.
    pub fn resolve(
        &self,
        fabric: &str,
        slot: &'static str,
        stored: impl FnOnce() -> Result<Option<Secret>, String>,
    ) -> Result<Secret, TokenError> {
        let what = if slot == GIT_TOKEN_SLOT {
            "git"
        } else {
            "kubernetes"
        };
        match self {
            TokenSource::Env(var) => match std::env::var(var).map(Zeroizing::new) {
                Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value.trim())),
                _ => Err(TokenError::EnvMissing {
                    fabric: fabric.to_string(),
                    what,
                    var: var.clone(),
                }),
            },
            TokenSource::File(path) => read_token_file(fabric, what, path),
            TokenSource::Store => match stored() {
                Ok(Some(secret)) => Ok(secret),
                Ok(None) => Err(TokenError::NotStored {
                    fabric: fabric.to_string(),
                    what,
                    slot,
                }),
                Err(message) => Err(TokenError::Store {
                    fabric: fabric.to_string(),
                    message,
                }),
            },
        }
    }
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
                match std::fs::metadata(&path) {
                    Err(error) => self.problem(
                        &format!("{section}.token_file"),
                        format!("{}: {error}", path.display()),
                    ),
                    Ok(meta) if meta.permissions().mode() & 0o077 != 0 => self.problem(
                        &format!("{section}.token_file"),
                        format!(
                            "{} can be read by other users (mode {:o}); run `chmod 600 {}`",
                            path.display(),
                            meta.permissions().mode() & 0o777,
                            path.display()
                        ),
                    ),
                    Ok(_) => {}
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
        let limits = self.read_limits(raw.max_file_bytes, raw.max_sync_bytes);
        Some(GitConfig {
            url: url?,
            branch: branch?,
            directory: directory?,
            token: token?,
            poll_interval_secs: raw.poll_interval_secs.unwrap_or(DEFAULT_POLL_SECS),
            limits: limits?,
        })
    }

    fn read_limits(
        &mut self,
        max_file_bytes: Option<u64>,
        max_sync_bytes: Option<u64>,
    ) -> Option<crate::git::ReadLimits> {
        let limits = crate::git::ReadLimits {
            max_file_bytes: max_file_bytes.unwrap_or(crate::git::DEFAULT_MAX_FILE_BYTES),
            max_sync_bytes: max_sync_bytes.unwrap_or(crate::git::DEFAULT_MAX_SYNC_BYTES),
        };
        let mut valid = true;
        for (key, value) in [
            ("git.max_file_bytes", limits.max_file_bytes),
            ("git.max_sync_bytes", limits.max_sync_bytes),
        ] {
            if value == 0 {
                self.problem(key, "must be at least 1 (a number of bytes)");
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

impl Validator<'_> {
    fn ui(&mut self, raw: RawUi) -> UiConfig {
        let defaults = UiConfig::default();
        let event_pane_lines = match raw.event_pane_lines {
            None => defaults.event_pane_lines,
            Some(lines @ 1..=50) => lines,
            Some(lines) => {
                self.problem(
                    "ui.event_pane_lines",
                    format!("{lines} is out of range; use 1 to 50"),
                );
                defaults.event_pane_lines
            }
        };
        let keys = raw
            .keys
            .into_iter()
            .map(|(action, keys)| {
                let keys = match keys {
                    RawKeys::One(key) => vec![key],
                    RawKeys::Many(keys) => keys,
                };
                (action, keys)
            })
            .collect();
        let (keys, problems) = crate::keymap::check_overrides(&keys);
        for (key, message) in problems {
            self.problem(&key, message);
        }
        UiConfig {
            read_only: raw.read_only.unwrap_or(defaults.read_only),
            event_pane_lines,
            keys,
        }
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Validates configuration text; relative paths are taken from `path`'s directory.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|error| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: error.to_string().trim_end().to_string(),
        })?;
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
            let namespace = fabric.namespace.unwrap_or_else(|| "default".to_string());
            if !is_dns_label(&namespace, false) {
                validator.problem(
                    "namespace",
                    format!("{namespace:?} is not a valid Kubernetes namespace"),
                );
            }
            let kubernetes = validator.kubernetes(fabric.kubernetes);
            let git = validator.git(fabric.git);
            let watch = validator.watch(fabric.watch);
            if let (Some(name), Some(kubernetes), Some(git)) = (name, kubernetes, git) {
                fabrics.push(FabricConfig {
                    name,
                    namespace,
                    kubernetes,
                    git,
                    watch,
                });
            }
        }
        validator.fabric = None;
        let ui = validator.ui(raw.ui);
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
        })
    }

    pub fn fabric(&self, name: &str) -> Result<&FabricConfig, ConfigError> {
        self.fabrics
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| ConfigError::UnknownFabric {
                name: name.to_string(),
                path: self.path.clone(),
                known: self.fabrics.iter().map(|f| f.name.clone()).collect(),
            })
    }

    /// The fabrics named, or all of them when `names` is empty.
    pub fn select(&self, names: &[String]) -> Result<Vec<&FabricConfig>, ConfigError> {
        if names.is_empty() {
            return Ok(self.fabrics.iter().collect());
        }
        names.iter().map(|name| self.fabric(name)).collect()
    }
}
