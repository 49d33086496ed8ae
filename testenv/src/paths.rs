//! Where the harness finds things: the shared reference data (`../shared`
//! beside the clone), the Hedgehog CRDs and samples in it, and the
//! control-plane binaries built by `scripts/build-control-plane`.
//!
//! Environment overrides:
//!
//! * `HHDASH_SHARED_DIR`: the shared reference data (default
//!   `<workspace root>/../shared`).
//! * `HHDASH_CRDS_DIR`: the CRDs to install (default
//!   `<shared>/hedgehog/crds`).
//! * `HHDASH_GATEWAY_CRDS_DIR`: the gateway CRDs installed beside them (default
//!   `<shared>/hedgehog/crds-gateway`).
//! * `HHDASH_CONTROL_PLANE_BIN`: a directory holding `kube-apiserver`,
//!   `kubectl` and `etcd` (default
//!   `${HHDASH_CACHE:-$HOME/.cache/hhdash}/control-plane/v1.34.4/bin`).

use std::path::{Path, PathBuf};

use crate::Error;

/// The Kubernetes release the binaries are built from (see `testenv/go/go.mod`).
pub const KUBERNETES_VERSION: &str = "v1.34.4";

/// The root of the Cargo workspace (the clone), computed at compile time.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testenv lives one level below the workspace root")
        .to_path_buf()
}

/// The shared reference data directory. Fails (never skips) when it is missing.
pub fn shared_dir() -> Result<PathBuf, Error> {
    let path = match std::env::var_os("HHDASH_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("..").join("shared"),
    };
    check_shared_dir(normalize(&path))
}

fn check_shared_dir(path: PathBuf) -> Result<PathBuf, Error> {
    check_dir(&path.join("hedgehog"))
        .map(|()| path.clone())
        .map_err(|source| Error::SharedDirMissing { path, source })
}

/// `<shared>/hedgehog`: CRDs, samples and their README.
pub fn hedgehog_dir() -> Result<PathBuf, Error> {
    Ok(shared_dir()?.join("hedgehog"))
}

/// The directory whose `*.yaml` CRDs are installed: `HHDASH_CRDS_DIR`, else
/// `<shared>/hedgehog/crds`.
pub fn crds_dir() -> Result<PathBuf, Error> {
    match std::env::var_os("HHDASH_CRDS_DIR") {
        Some(dir) => {
            let path = PathBuf::from(dir);
            check_dir(&path)
                .map(|()| path.clone())
                .map_err(|source| Error::SharedDirMissing { path, source })
        }
        None => Ok(hedgehog_dir()?.join("crds")),
    }
}

/// The directory whose `*.yaml` gateway CRDs (Gateway, GatewayGroup, GatewayPeering, VPCInfo,
/// GatewayAgent) are installed beside [`crds_dir`]'s: `HHDASH_GATEWAY_CRDS_DIR`, else
/// `<shared>/hedgehog/crds-gateway` (kept apart so `crds/` stays the 16 fabric CRDs).
pub fn gateway_crds_dir() -> Result<PathBuf, Error> {
    match std::env::var_os("HHDASH_GATEWAY_CRDS_DIR") {
        Some(dir) => {
            let path = PathBuf::from(dir);
            check_dir(&path)
                .map(|()| path.clone())
                .map_err(|source| Error::SharedDirMissing { path, source })
        }
        None => Ok(hedgehog_dir()?.join("crds-gateway")),
    }
}

/// `<shared>/hedgehog/samples`.
pub fn samples_dir() -> Result<PathBuf, Error> {
    Ok(hedgehog_dir()?.join("samples"))
}

/// The cache root: `HHDASH_CACHE`, else `$HOME/.cache/hhdash`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HHDASH_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
    PathBuf::from(home).join(".cache").join("hhdash")
}

/// The directory holding `kube-apiserver`, `kubectl` and `etcd`, checked to
/// contain all three.
pub fn bin_dir() -> Result<PathBuf, Error> {
    let dir = match std::env::var_os("HHDASH_CONTROL_PLANE_BIN") {
        Some(dir) => PathBuf::from(dir),
        None => cache_dir()
            .join("control-plane")
            .join(KUBERNETES_VERSION)
            .join("bin"),
    };
    check_bin_dir(dir)
}

fn check_bin_dir(dir: PathBuf) -> Result<PathBuf, Error> {
    for name in ["kube-apiserver", "kubectl", "etcd"] {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(Error::BinaryMissing { path });
        }
    }
    Ok(dir)
}

/// Read every non-empty document of a (multi-document) YAML file as JSON.
/// Documents that are empty or only comments are skipped.
pub fn read_yaml_docs(path: impl AsRef<Path>) -> Result<Vec<serde_json::Value>, Error> {
    use serde::Deserialize as _;
    let path = path.as_ref();
    let text =
        std::fs::read_to_string(path).map_err(Error::io(format!("reading {}", path.display())))?;
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value = serde_json::Value::deserialize(doc).map_err(|source| Error::Yaml {
            path: path.to_path_buf(),
            source,
        })?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

fn check_dir(path: &Path) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "not a directory",
        ))
    }
}

/// Resolve `..` components lexically so error messages show a clean path.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_shared_dir_fails_with_a_hint() {
        let err = check_shared_dir(PathBuf::from("/nonexistent/shared")).unwrap_err();
        assert!(matches!(err, Error::SharedDirMissing { .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("/nonexistent/shared") && msg.contains("HHDASH_SHARED_DIR"),
            "{msg}"
        );
    }

    #[test]
    fn default_shared_dir_is_beside_the_clone() {
        let dir = shared_dir().expect("../shared beside the clone (or HHDASH_SHARED_DIR)");
        assert!(dir.join("hedgehog/crds").is_dir());
        assert!(
            crds_dir()
                .unwrap()
                .join("vpc.githedgehog.com_vpcs.yaml")
                .is_file()
        );
    }

    #[test]
    fn missing_binaries_name_the_build_script() {
        let empty = tempfile::tempdir().unwrap();
        let msg = check_bin_dir(empty.path().to_path_buf())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("kube-apiserver") && msg.contains("scripts/build-control-plane"),
            "{msg}"
        );
    }

    #[test]
    fn yaml_docs_skip_empty_and_comment_only_documents() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("multi.yaml");
        std::fs::write(
            &file,
            "# only a comment\n---\na: 1\n---\n---\n# c\nb: [x, y]\n",
        )
        .unwrap();
        let docs = read_yaml_docs(&file).unwrap();
        assert_eq!(
            docs,
            vec![
                serde_json::json!({"a": 1}),
                serde_json::json!({"b": ["x", "y"]})
            ]
        );
    }

    #[test]
    fn normalize_resolves_parent_components() {
        assert_eq!(
            normalize(Path::new("/a/b/../../shared")),
            PathBuf::from("/shared")
        );
    }
}
