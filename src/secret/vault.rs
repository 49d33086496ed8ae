//! secret::vault: seals tokens for the store with XChaCha20-Poly1305 under a 32-byte key that lives in a
//! 0600 key file (or `HHDASH_SECRET_KEY`, 64 hex digits). Each ciphertext is bound to its fabric
//! and slot, so a sealed token copied to another fabric's slot does not open.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::secret::Secret;

pub const KEY_ENV: &str = "HHDASH_SECRET_KEY";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "the secret key file {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    KeyFileTooOpen { path: PathBuf, mode: u32 },
    #[error("cannot read or create the secret key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin} must hold exactly 32 bytes as 64 hex digits")]
    BadKey { origin: String },
    #[error(
        "the stored {slot} of fabric {fabric} does not decrypt with this key (wrong key file or a damaged store); set it again with `hhdash secret set {fabric} {slot}`"
    )]
    Undecryptable { fabric: String, slot: String },
    #[error("the system random number generator failed: {0}")]
    Random(String),
    /// The store that holds the sealed tokens could not be read.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

pub struct Vault {
    cipher: XChaCha20Poly1305,
}

fn parse_hex_key(text: &str, origin: &str) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let text = text.trim();
    let bad = || VaultError::BadKey {
        origin: origin.to_string(),
    };
    if text.len() != 64 {
        return Err(bad());
    }
    let mut key = Zeroizing::new([0u8; 32]);
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(key)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Vault {
    /// The key from `HHDASH_SECRET_KEY`, else from `key_file`. With `create`, a missing key
    /// file is made (mode 0600) with a fresh random key; without it, a missing file is an error.
    pub fn open(key_file: &Path, create: bool) -> Result<Vault, VaultError> {
        let key = match super::env::var(KEY_ENV) {
            Some(text) => parse_hex_key(&text, KEY_ENV)?,
            None => Self::key_from_file(key_file, create)?,
        };
        Ok(Vault {
            cipher: XChaCha20Poly1305::new((&*key).into()),
        })
    }

    fn key_from_file(path: &Path, create: bool) -> Result<Zeroizing<[u8; 32]>, VaultError> {
        let io = |source| VaultError::KeyFile {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::metadata(path) {
            Ok(meta) => {
                if let Some(mode) = super::open_to_others(&meta) {
                    return Err(VaultError::KeyFileTooOpen {
                        path: path.to_path_buf(),
                        mode,
                    });
                }
                let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
                parse_hex_key(&text, &path.display().to_string())
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && create => {
                let mut key = Zeroizing::new([0u8; 32]);
                getrandom::fill(&mut *key).map_err(|e| VaultError::Random(e.to_string()))?;
                if let Some(dir) = path.parent() {
                    crate::xdg::create_private_dir(dir).map_err(io)?;
                }
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(io)?;
                let hex = Zeroizing::new(to_hex(&*key));
                file.write_all(hex.as_bytes()).map_err(io)?;
                Ok(key)
            }
            Err(error) => Err(io(error)),
        }
    }

    fn associated_data(fabric: &str, slot: &str) -> Vec<u8> {
        format!("hhdash\0{fabric}\0{slot}").into_bytes()
    }

    /// nonce || ciphertext+tag, bound to (fabric, slot).
    pub fn seal(&self, fabric: &str, slot: &str, secret: &Secret) -> Result<Vec<u8>, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| VaultError::Random(e.to_string()))?;
        let aad = Self::associated_data(fabric, slot);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: &aad,
                },
            )
            .expect("encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open_sealed(
        &self,
        fabric: &str,
        slot: &str,
        sealed: &[u8],
    ) -> Result<Secret, VaultError> {
        let undecryptable = || VaultError::Undecryptable {
            fabric: fabric.to_string(),
            slot: slot.to_string(),
        };
        if sealed.len() < NONCE_LEN {
            return Err(undecryptable());
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let aad = Self::associated_data(fabric, slot);
        let plain = Zeroizing::new(
            self.cipher
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: body,
                        aad: &aad,
                    },
                )
                .map_err(|_| undecryptable())?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| undecryptable())?;
        Ok(Secret::new(text))
    }
}

/// Looks a fabric's slot up in the store and opens it with the vault key; `Ok(None)` when the
/// store has nothing for that slot.
pub fn stored_secret(
    store: &crate::store::Store,
    key_file: &Path,
    fabric: &str,
    slot: &str,
) -> Result<Option<Secret>, VaultError> {
    let Some(sealed) = store.secret(fabric, slot)? else {
        return Ok(None);
    };
    Vault::open(key_file, false)?
        .open_sealed(fabric, slot, &sealed)
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn sealed_tokens_open_only_in_their_own_slot() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("k");
        let vault = Vault::open(&key_file, true).unwrap();
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let token = Secret::new("tok-123");
        let sealed = vault.seal("fab-a", "kubernetes-token", &token).unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"tok-123"));
        let reopened = Vault::open(&key_file, false).unwrap();
        assert_eq!(
            reopened
                .open_sealed("fab-a", "kubernetes-token", &sealed)
                .unwrap()
                .expose(),
            "tok-123"
        );
        assert!(matches!(
            reopened.open_sealed("fab-b", "kubernetes-token", &sealed),
            Err(VaultError::Undecryptable { .. })
        ));
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("k");
        Vault::open(&key_file, true).unwrap();
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Vault::open(&key_file, false),
            Err(VaultError::KeyFileTooOpen { .. })
        ));
    }
}
