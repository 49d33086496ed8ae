//! config: reads the TOML configuration and validates it into per-fabric settings, reporting
//! every problem at once with the fabric and key named. It enforces strict isolation: each
//! fabric carries its own server, credentials and CA, and nothing ever falls back to
//! `~/.kube/config` or to another fabric. It says where each token comes from (`TokenSource`);
//! `secret::token` reads them. `raw` is the file as serde reads it, `validate` checks it.

mod raw;
mod timeline;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::kinds::{KindInfo, ObjectKey};
use raw::RawConfig;

pub use crate::secret::token::{GIT_TOKEN_SLOT, KUBERNETES_TOKEN_SLOT, TokenError, TokenSource};

/// Argo CD's default: Git is polled every three minutes.
pub const DEFAULT_POLL_SECS: u64 = 180;

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

/// The namespaces a fabric spans, and where a document without `metadata.namespace` goes.
/// Nothing outside `managed` is read, written or pruned: every watch, list, apply and RBAC
/// probe is made per (kind, namespace) over this set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespaces {
    /// Where a document without a namespace goes, unless `by_kind` says otherwise.
    pub default: String,
    /// Every namespace the fabric manages, sorted, without repeats; holds `default` and every
    /// `by_kind` value.
    pub managed: Vec<String>,
    /// `kind_namespaces`: per kind (registry spelling), where its documents without a
    /// namespace go.
    pub by_kind: BTreeMap<&'static str, String>,
}

impl Namespaces {
    /// A fabric in one namespace (the usual Hedgehog fabric, all in `default`).
    pub fn single(namespace: &str) -> Namespaces {
        Namespaces {
            default: namespace.to_string(),
            managed: vec![namespace.to_string()],
            by_kind: BTreeMap::new(),
        }
    }

    /// Where a document of `kind` without `metadata.namespace` goes.
    pub fn for_kind(&self, kind: &str) -> &str {
        self.by_kind.get(kind).unwrap_or(&self.default)
    }

    pub fn manages(&self, namespace: &str) -> bool {
        self.managed.iter().any(|managed| managed == namespace)
    }

    /// Whether objects must be named with their namespace: two objects of one kind and name
    /// can live side by side once the fabric manages more than one namespace.
    pub fn spans_several(&self) -> bool {
        self.managed.len() > 1
    }

    /// How messages and log lines name an object: `Kind/name` while the fabric has one
    /// namespace (unambiguous, and what single-namespace fabrics always showed);
    /// `Kind/namespace/name` once two objects of one kind and name can live side by side.
    pub fn object_name(&self, key: &ObjectKey) -> String {
        if self.spans_several() {
            key.to_string()
        } else {
            key.kind_name()
        }
    }

    /// `"default"` or `"default", "fab"`: how messages name the managed set.
    pub fn describe(&self) -> String {
        self.managed
            .iter()
            .map(|ns| format!("{ns:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Namespaces {
    /// `default` or `default,fab`: how one-line summaries name the managed set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.managed.join(","))
    }
}

#[derive(Debug, Clone)]
pub struct FabricConfig {
    pub name: String,
    pub namespaces: Namespaces,
    pub kubernetes: KubernetesConfig,
    pub git: GitConfig,
    pub watch: WatchConfig,
    /// Health thresholds (`[fabric.health]`).
    pub health: crate::health::Thresholds,
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
    /// `[timeline]`: how much timeline the store keeps, per fabric.
    pub timeline: crate::store::TimelineLimits,
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
        validate::config(raw, path)
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
