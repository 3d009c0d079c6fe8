//! Types that hold secrets: they never print their value and are wiped when dropped.

use std::fmt;

use zeroize::Zeroizing;

/// An OAuth access token. `Debug` and `Display` print `[redacted]`; the value is
/// wiped from memory when the last copy is dropped. Read it with [`AccessToken::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Zeroizing<String>);

impl AccessToken {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The token itself. Never log what this returns.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_token_never_prints_its_value() {
        let token = AccessToken::new("eyJ-very-secret-token");
        assert!(!format!("{token:?}").contains("very-secret"));
        assert!(!format!("{token}").contains("very-secret"));
        assert_eq!(token.expose(), "eyJ-very-secret-token");
    }
}
