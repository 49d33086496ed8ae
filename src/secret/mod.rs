//! secret: the in-memory type for tokens. It owns redaction: a `Secret` never prints its value
//! through `Debug` or `Display`, and its bytes are wiped on drop. Callers read the value only
//! with `expose()`, at the point where it is handed to a client library. `vault` seals tokens
//! for the store; `token` reads a fabric's token from where its config says.

pub mod env;
pub mod token;
pub mod vault;

use std::fmt;
use std::io::Read;
use zeroize::Zeroizing;

/// The longest token [`Secret::read_from`] accepts; real ones (a service account JWT, a Git
/// access token) are a few KiB at most.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// A token or password. Debug and Display print `<redacted>`; the value is zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value, trimming the trailing newline that files and `echo` add.
    pub fn new(value: impl Into<String>) -> Self {
        let mut value: String = value.into();
        let trimmed_len = value.trim_end_matches(['\n', '\r']).len();
        value.truncate(trimmed_len);
        Secret(Zeroizing::new(value))
    }

    /// Reads a token from `reader` (standard input for `secret set`), trimmed. The buffer is
    /// allocated once, larger than any token, and wiped on drop, so reading leaves no copy of
    /// the token behind in freed memory.
    pub fn read_from(reader: impl std::io::Read) -> std::io::Result<Secret> {
        let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_TOKEN_BYTES + 1));
        reader
            .take(MAX_TOKEN_BYTES as u64 + 1)
            .read_to_end(&mut bytes)?;
        if bytes.len() > MAX_TOKEN_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("more than {MAX_TOKEN_BYTES} bytes: that is not a token"),
            ));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the token is not UTF-8 text",
            )
        })?;
        Ok(Secret::new(text.trim()))
    }

    /// The value itself, for handing to a client library. Never format it into a message.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The permission bits of a file that holds a secret (a token file, the key file) when users
/// other than its owner have any access to it, which hhdash refuses; `None` when it is private.
pub fn open_to_others(meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let secret = Secret::new("s3cr3t-token\n");
        assert_eq!(secret.expose(), "s3cr3t-token");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
        assert!(!format!("{secret}").contains("s3cr3t"));
        assert!(!format!("{:?}", Some(&secret)).contains("s3cr3t"));
    }

    #[test]
    fn reads_a_trimmed_token_and_refuses_what_cannot_be_one() {
        let secret = Secret::read_from(&b"  tok-123\n"[..]).unwrap();
        assert_eq!(secret.expose(), "tok-123");
        let huge = vec![b'a'; MAX_TOKEN_BYTES + 1];
        let error = Secret::read_from(&huge[..]).unwrap_err();
        assert!(error.to_string().contains("not a token"), "{error}");
        assert!(!error.to_string().contains("aaaa"), "{error}");
        assert!(Secret::read_from(&[0xff, 0xfe][..]).is_err());
    }
}
