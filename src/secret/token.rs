//! secret::token: where each token comes from and the one place it is read. The config says
//! where (`TokenSource`: an environment variable, a 0600 file, or the encrypted store); this
//! module reads it, for the Kubernetes client (`kubernetes`, required) and for Git (`git`,
//! optional), and says what to do when it cannot. A token never appears in an error.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::Secret;
use super::vault::{self, VaultError};
use crate::store::Store;

/// Slots under which `hhdash secret set` stores a fabric's tokens.
pub const KUBERNETES_TOKEN_SLOT: &str = "kubernetes-token";
pub const GIT_TOKEN_SLOT: &str = "git-token";

/// Where a token comes from. `Store` means the encrypted store (`hhdash secret set`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env(String),
    File(PathBuf),
    Store,
}

/// Why a token could not be had; each names the fabric and what to do.
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
    /// The encrypted store could not give the token. The vault's message is part of this one,
    /// not a separate cause, so a report prints it once.
    #[error("fabric {fabric}: {error}")]
    Store { fabric: String, error: VaultError },
}

/// Reads a token from a file, refusing files that others can read.
fn read_token_file(fabric: &str, what: &'static str, path: &Path) -> Result<Secret, TokenError> {
    let meta = std::fs::metadata(path).map_err(|source| TokenError::FileUnreadable {
        fabric: fabric.to_string(),
        what,
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(mode) = super::open_to_others(&meta) {
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

/// The fabric's Kubernetes token: from its variable, its file, or the encrypted store, where
/// `key_file` opens it. There is no client without one.
pub fn kubernetes(
    fabric: &str,
    source: &TokenSource,
    store: &Store,
    key_file: &Path,
) -> Result<Secret, TokenError> {
    resolve(fabric, source, KUBERNETES_TOKEN_SLOT, |fabric, slot| {
        vault::stored_secret(store, key_file, fabric, slot)
    })?
    .ok_or_else(|| TokenError::NotStored {
        fabric: fabric.to_string(),
        what: what(KUBERNETES_TOKEN_SLOT),
        slot: KUBERNETES_TOKEN_SLOT,
    })
}

/// The fabric's Git token, if any. `Store` means the stored `git-token` if there is one, else
/// none: public and local repositories need no token. `stored` looks a slot up in the
/// encrypted store (`vault::stored_secret`).
pub fn git(
    fabric: &str,
    source: &TokenSource,
    stored: impl FnOnce(&str, &'static str) -> Result<Option<Secret>, VaultError>,
) -> Result<Option<Secret>, TokenError> {
    resolve(fabric, source, GIT_TOKEN_SLOT, stored)
}

/// `kubernetes` or `git`, for messages.
fn what(slot: &'static str) -> &'static str {
    if slot == GIT_TOKEN_SLOT {
        "git"
    } else {
        "kubernetes"
    }
}

/// Reads the token from where `source` says; `Ok(None)` only when the store has none.
fn resolve(
    fabric: &str,
    source: &TokenSource,
    slot: &'static str,
    stored: impl FnOnce(&str, &'static str) -> Result<Option<Secret>, VaultError>,
) -> Result<Option<Secret>, TokenError> {
    let what = what(slot);
    match source {
        TokenSource::Env(var) => match super::env::var(var) {
            Some(value) if !value.trim().is_empty() => Ok(Some(Secret::new(value.trim()))),
            _ => Err(TokenError::EnvMissing {
                fabric: fabric.to_string(),
                what,
                var: var.clone(),
            }),
        },
        TokenSource::File(path) => read_token_file(fabric, what, path).map(Some),
        TokenSource::Store => stored(fabric, slot).map_err(|error| TokenError::Store {
            fabric: fabric.to_string(),
            error,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::vault::Vault;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn each_use_reads_its_own_slot_and_only_git_may_have_none() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("secret.key");
        let store = Store::open(&dir.path().join("store.redb")).unwrap();
        let stored = |fabric: &str, slot: &'static str| {
            vault::stored_secret(&store, &key_file, fabric, slot)
        };
        // Nothing stored: Git goes without a token, Kubernetes says how to store one.
        assert!(git("lab", &TokenSource::Store, stored).unwrap().is_none());
        let error = kubernetes("lab", &TokenSource::Store, &store, &key_file).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("hhdash secret set lab kubernetes-token"),
            "{error}"
        );

        let vault = Vault::open(&key_file, true).unwrap();
        let sealed = vault
            .seal("lab", GIT_TOKEN_SLOT, &Secret::new("git-tok-1"))
            .unwrap();
        store.put_secret("lab", GIT_TOKEN_SLOT, &sealed).unwrap();
        let token = git("lab", &TokenSource::Store, stored).unwrap().unwrap();
        assert_eq!(token.expose(), "git-tok-1");
        // The Git token is not the Kubernetes token, nor another fabric's.
        assert!(kubernetes("lab", &TokenSource::Store, &store, &key_file).is_err());
        assert!(git("other", &TokenSource::Store, stored).unwrap().is_none());
    }

    #[test]
    fn a_token_file_others_can_read_is_refused_without_showing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "file-tok-9\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let source = TokenSource::File(path.clone());
        let store = Store::open(&dir.path().join("store.redb")).unwrap();
        let key_file = dir.path().join("unused.key");
        let error = kubernetes("lab", &source, &store, &key_file).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("fabric lab") && text.contains("chmod 600"),
            "{text}"
        );
        assert!(!text.contains("file-tok-9"), "{text}");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let token = kubernetes("lab", &source, &store, &key_file).unwrap();
        assert_eq!(token.expose(), "file-tok-9");
    }

    #[test]
    fn an_unset_variable_is_named_with_the_fabric_and_the_use() {
        let source = TokenSource::Env("HHDASH_TEST_NEVER_SET_TOKEN".into());
        let error = git("lab", &source, |_, _| Ok(None)).unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("fabric lab: git token"), "{text}");
        assert!(text.contains("HHDASH_TEST_NEVER_SET_TOKEN"), "{text}");
    }
}
