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

/// The longest access token accepted (the contract's bound).
pub const MAX_ACCESS_TOKEN_CHARS: usize = 4096;

/// True when `value` is a usable bearer token: 1 to [`MAX_ACCESS_TOKEN_CHARS`] characters
/// of RFC 6750's `b64token` (letters, digits, `-._~+/`, then optional trailing `=`).
/// Such a token needs no escaping in JSON, a header or a log line.
pub fn is_b64token(value: &str) -> bool {
    let body = value.trim_end_matches('=');
    !body.is_empty()
        && value.len() <= MAX_ACCESS_TOKEN_CHARS
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
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
    fn b64token_is_rfc_6750s_character_set_with_trailing_padding_only() {
        let longest = "a".repeat(MAX_ACCESS_TOKEN_CHARS);
        for token in [
            "a",
            "AZaz09-._~+/",
            "abc=",
            "abc==",
            "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl",
            longest.as_str(),
        ] {
            assert!(is_b64token(token), "{token}");
        }
        let too_long = "a".repeat(MAX_ACCESS_TOKEN_CHARS + 1);
        for token in [
            "",
            "=",
            "==",
            "a=b",
            "a b",
            "a\"b",
            "a\\b",
            "a\nb",
            "a\tb",
            "a,b",
            "a;b",
            "é",
            "a\u{0}",
            "<a>",
            "a%20",
            too_long.as_str(),
        ] {
            assert!(!is_b64token(token), "{token:?}");
        }
    }

    #[test]
    fn access_token_never_prints_its_value() {
        let token = AccessToken::new("eyJ-very-secret-token");
        assert!(!format!("{token:?}").contains("very-secret"));
        assert!(!format!("{token}").contains("very-secret"));
        assert_eq!(token.expose(), "eyJ-very-secret-token");
    }
}
