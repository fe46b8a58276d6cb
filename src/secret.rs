//! Secret key material that never prints: its `Debug` and `Display` are redacted.

use std::fmt;

/// A value that must not reach stdout, a log, an error message or a file.
///
/// The only way to read it is [`SecretValue::expose`], which makes every use visible.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the one place that must hand it on (a Secret, a signer).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An access key id with its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPair {
    pub access_key_id: String,
    pub secret_access_key: SecretValue,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let pair = KeyPair {
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: SecretValue::new("wJalrXUtnFEMI"),
        };
        let shown = format!("{pair:?} {}", pair.secret_access_key);
        assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
        assert!(shown.contains("AKIAEXAMPLE"));
    }
}
