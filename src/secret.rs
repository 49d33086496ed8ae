//! secret: the in-memory type for tokens. It owns redaction: a `Secret` never prints its value
//! through `Debug` or `Display`, and its bytes are wiped on drop. Callers read the value only
//! with `expose()`, at the point where it is handed to a client library.

use std::fmt;
use zeroize::Zeroizing;

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

    /// The value itself, for handing to a client library. Never format it into a message.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
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
}
