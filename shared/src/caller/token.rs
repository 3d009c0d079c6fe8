//! The token a caller holds, and its `Authorization` header. Neither prints its value.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

/// An access token served by get-token.
///
/// Cheap to clone (the value is shared, not copied). `Debug` prints `[redacted]`
/// instead of the value, there is deliberately no `Display`, and the value is wiped
/// from memory when the last clone (including every [`AuthorizationHeader`] made
/// from it) is dropped. Read it with [`Token::expose`]; name it in logs by
/// [`Token::token_id`].
#[derive(Clone)]
pub struct Token(Arc<TokenInner>);

struct TokenInner {
    access_token: Zeroizing<String>,
    /// `Bearer <access_token>`, built once.
    header: Zeroizing<String>,
    token_id: String,
    expires_at: DateTime<Utc>,
}

impl Token {
    pub(crate) fn new(
        access_token: Zeroizing<String>,
        token_id: String,
        expires_at: DateTime<Utc>,
    ) -> Self {
        let mut header = String::with_capacity("Bearer ".len() + access_token.len());
        header.push_str("Bearer ");
        header.push_str(&access_token);
        Self(Arc::new(TokenInner {
            access_token,
            header: Zeroizing::new(header),
            token_id,
            expires_at,
        }))
    }

    /// The token itself. Never log what this returns.
    pub fn expose(&self) -> &str {
        &self.0.access_token
    }

    /// The first 12 hex digits of SHA-256 of the token: how logs and get-token name it.
    pub fn token_id(&self) -> &str {
        &self.0.token_id
    }

    /// When Orange stops accepting the token.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }

    /// The `Authorization` header value for this token: `Bearer <token>`.
    pub fn authorization_header(&self) -> AuthorizationHeader {
        AuthorizationHeader(Arc::clone(&self.0))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"[redacted]")
            .field("token_id", &self.0.token_id)
            .field("expires_at", &self.0.expires_at)
            .finish()
    }
}

/// The `Authorization` header value `Bearer <token>`.
///
/// Same guarantees as [`Token`]: redacted `Debug`, no `Display`, wiped on drop.
/// With the `http` crate, mark the header sensitive so that HTTP clients do not log it:
/// `let mut v = HeaderValue::from_str(auth.expose())?; v.set_sensitive(true);`.
#[derive(Clone)]
pub struct AuthorizationHeader(Arc<TokenInner>);

impl AuthorizationHeader {
    /// The header value, `Bearer <token>`. Never log what this returns.
    pub fn expose(&self) -> &str {
        &self.0.header
    }

    /// The id of the token in this header.
    pub fn token_id(&self) -> &str {
        &self.0.token_id
    }
}

impl fmt::Debug for AuthorizationHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationHeader")
            .field("value", &"Bearer [redacted]")
            .field("token_id", &self.0.token_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_header_never_print_the_value() {
        let token = Token::new(
            Zeroizing::new("eyJ-very-secret-token".to_owned()),
            "3f9a1c0b7d2e".to_owned(),
            DateTime::UNIX_EPOCH,
        );
        let header = token.authorization_header();

        assert_eq!(token.expose(), "eyJ-very-secret-token");
        assert_eq!(header.expose(), "Bearer eyJ-very-secret-token");
        assert_eq!(header.token_id(), "3f9a1c0b7d2e");
        for printed in [format!("{token:?}"), format!("{header:?}")] {
            assert!(!printed.contains("very-secret"), "{printed}");
            assert!(printed.contains("3f9a1c0b7d2e"), "{printed}");
        }
    }
}
