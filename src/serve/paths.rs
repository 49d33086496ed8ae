//! serve::paths: where a store's server listens. One server per store file (the store's lock
//! is what makes a process the server), so the socket is named after the store's canonical
//! path, in a directory only this user can enter: `$XDG_RUNTIME_DIR/hhdash`, or
//! `/tmp/hhdash-<uid>` where there is no runtime directory (containers, CI, cron).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SocketDirError {
    #[error("cannot make the socket directory {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the socket directory {path} belongs to another user or others may write to it; \
         remove it, or set XDG_RUNTIME_DIR to a directory of your own"
    )]
    NotPrivate { path: PathBuf },
}

/// This user's id.
pub fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The directory for this user's hhdash sockets, created 0700 and checked to be this user's
/// alone (a socket in a shared directory could be swapped for another user's).
pub fn socket_dir() -> Result<PathBuf, SocketDirError> {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(runtime) => PathBuf::from(runtime).join("hhdash"),
        None => std::env::temp_dir().join(format!("hhdash-{}", uid())),
    };
    crate::xdg::create_private_dir(&dir).map_err(|source| SocketDirError::Create {
        path: dir.clone(),
        source,
    })?;
    let meta = std::fs::symlink_metadata(&dir).map_err(|source| SocketDirError::Create {
        path: dir.clone(),
        source,
    })?;
    if !meta.is_dir() || meta.uid() != uid() || meta.permissions().mode() & 0o022 != 0 {
        return Err(SocketDirError::NotPrivate { path: dir });
    }
    Ok(dir)
}

/// The socket of the server that owns `store`.
pub fn socket_for(store: &Path) -> Result<PathBuf, SocketDirError> {
    Ok(socket_dir()?.join(socket_name(store)))
}

/// `<file stem>-<16 hex digits>.sock`: the hash of the store's canonical path (stable across
/// hhdash releases, so a client of another release still finds the server and hears why they
/// cannot talk), the stem so `ls` shows which store it serves. Short: a socket path has at
/// most 107 bytes.
pub fn socket_name(store: &Path) -> String {
    let canonical = canonical_store_path(store);
    let stem: String = canonical
        .file_stem()
        .map(|s| s.to_string_lossy().chars().take(24).collect())
        .unwrap_or_default();
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{stem}-{:016x}.sock",
        fnv1a(canonical.as_os_str().as_encoded_bytes())
    )
}

/// The store's path as every process names it: its directory resolved (the file itself may
/// not exist yet), relative paths made absolute.
pub fn canonical_store_path(store: &Path) -> PathBuf {
    if let Ok(path) = store.canonicalize() {
        return path;
    }
    let absolute = std::path::absolute(store).unwrap_or_else(|_| store.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .unwrap_or_else(|_| parent.to_path_buf())
            .join(name),
        _ => absolute,
    }
}

/// FNV-1a, 64 bits: small, and the same in every build (std's hasher is not promised to be).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_store_has_one_socket_however_it_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("hhdash.redb");
        let dotted = dir.path().join(".").join("hhdash.redb");
        assert_eq!(socket_name(&store), socket_name(&dotted));
        std::fs::write(&store, b"").unwrap();
        assert_eq!(socket_name(&store), socket_name(&dotted));
        let other = dir.path().join("other.redb");
        assert_ne!(socket_name(&store), socket_name(&other));
        let name = socket_name(&store);
        assert!(
            name.starts_with("hhdash-") && name.ends_with(".sock"),
            "{name}"
        );
        assert!(name.len() < 60, "{name}");
    }

    #[test]
    fn the_hash_is_fixed_across_builds() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
