//! The error type of the harness. Every variant carries enough context (paths,
//! the tail of a process log) to diagnose a failed test run from its output.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while starting, driving or stopping a
/// [`ControlPlane`](crate::ControlPlane).
#[derive(thiserror::Error)]
pub enum Error {
    /// The shared reference data directory (`../shared` beside the clone) is
    /// missing. Tests must fail, never skip, in that case.
    #[error(
        "shared reference data not found at {path}: {source}\n\
         CI puts `shared/` beside the clone; set HHDASH_SHARED_DIR to override"
    )]
    SharedDirMissing {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A control-plane binary is not where the harness looks for it.
    #[error(
        "control-plane binary {path} not found\n\
         run scripts/build-control-plane (or set HHDASH_CONTROL_PLANE_BIN to a directory \
         holding kube-apiserver, kubectl and etcd)"
    )]
    BinaryMissing { path: PathBuf },

    /// A file-system or process operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// Certificate or key generation failed.
    #[error("generating certificates: {0}")]
    Cert(#[from] rcgen::Error),

    /// A child process exited while the harness waited for it to become ready.
    #[error("{what} exited before becoming ready ({status}); last lines of {log}:\n{tail}")]
    ProcessExited {
        what: &'static str,
        status: String,
        log: PathBuf,
        tail: String,
    },

    /// A child process did not become ready in time.
    #[error(
        "{what} not ready after {timeout:?} (last check: {last}); last lines of {log}:\n{tail}"
    )]
    NotReady {
        what: String,
        timeout: Duration,
        last: String,
        log: PathBuf,
        tail: String,
    },

    /// A Kubernetes API call made by the harness failed.
    #[error("{context}: {source}")]
    Kube {
        context: String,
        #[source]
        source: kube::Error,
    },

    /// A YAML file could not be parsed.
    #[error("parsing YAML {path}: {source}")]
    Yaml {
        path: PathBuf,
        #[source]
        source: serde_yaml::Error,
    },

    /// A request to etcd's HTTP/JSON gateway failed.
    #[error("etcd {endpoint}: {message}")]
    Etcd {
        endpoint: &'static str,
        message: String,
    },

    /// The operation is not valid in the current state (for example starting an
    /// API server that is already running).
    #[error("{0}")]
    State(String),
}

/// `Debug` shows the message and its causes, so `.expect()` and `unwrap()` in
/// tests print the hint and the process log tail rather than a struct dump.
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            write!(f, "\ncaused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }

    pub(crate) fn kube(context: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
        let context = context.into();
        move |source| Error::Kube { context, source }
    }
}
