//! One `RequestResponse` invoke of get-token, never retried by the SDK
//! ([`crate::lambda_invoke::invoke_once`]), and what its answer means.

use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

use super::error::TokenError;
use super::token::Token;
use crate::lambda_invoke::invoke_once;
use crate::protocol::{GetTokenRequest, TokenResponse};

/// Invokes get-token once and answers its payload, or the function error it reported
/// in either shape (see [`crate::lambda_invoke`]).
pub(crate) async fn invoke(
    lambda: &aws_sdk_lambda::Client,
    function_name: &str,
    request: &GetTokenRequest,
) -> Result<Zeroizing<Vec<u8>>, TokenError> {
    Ok(invoke_once(lambda, function_name, request).await?)
}

/// A get-token answer to `get` or `refresh`, checked. The payload is wiped by the caller.
pub(crate) fn token_from_payload(payload: &[u8]) -> Result<Token, TokenError> {
    let response: TokenResponse = serde_json::from_slice(payload).map_err(|error| {
        // serde's message can quote the input; keep only where and what kind.
        TokenError::InvalidResponse {
            reason: format!(
                "not a token response ({:?} error at line {} column {})",
                error.classify(),
                error.line(),
                error.column()
            ),
        }
    })?;
    let TokenResponse {
        access_token,
        token_type,
        expires_at,
        token_id,
        ..
    } = response;
    // From here on the only copy of the token is wiped when dropped, error or not.
    let access_token = Zeroizing::new(access_token);
    let invalid = |reason: &str| TokenError::InvalidResponse {
        reason: reason.to_owned(),
    };
    if access_token.is_empty() {
        return Err(invalid("access_token is empty"));
    }
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(invalid("token_type is not Bearer"));
    }
    if token_id.is_empty() {
        return Err(invalid("token_id is empty"));
    }
    let expires_at = DateTime::parse_from_rfc3339(&expires_at)
        .map_err(|_| invalid("expires_at is not an RFC 3339 time"))?
        .with_timezone(&Utc);
    Ok(Token::new(access_token, token_id, expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_answer_becomes_a_token() {
        let token = token_from_payload(
            br#"{"access_token": "tok", "token_type": "bearer", "expires_at": "2026-11-26T23:00:00Z",
                 "expires_in": 3600, "token_id": "3f9a1c0b7d2e", "extra": 1}"#,
        )
        .unwrap();
        assert_eq!(token.expose(), "tok");
        assert_eq!(token.token_id(), "3f9a1c0b7d2e");
        assert_eq!(token.expires_at().to_rfc3339(), "2026-11-26T23:00:00+00:00");
    }

    #[test]
    fn an_answer_that_is_not_a_token_is_invalid_and_never_quoted() {
        let payloads: [&[u8]; 7] = [
            b"",
            b"null",
            br#"{"access_token": "secret-value"}"#,
            br#"{"access_token": "", "token_type": "Bearer", "expires_at": "2026-11-26T23:00:00Z", "expires_in": 1, "token_id": "a"}"#,
            br#"{"access_token": "secret-value", "token_type": "MAC", "expires_at": "2026-11-26T23:00:00Z", "expires_in": 1, "token_id": "a"}"#,
            br#"{"access_token": "secret-value", "token_type": "Bearer", "expires_at": "tomorrow", "expires_in": 1, "token_id": "a"}"#,
            br#"{"access_token": "secret-value", "token_type": "Bearer", "expires_at": "2026-11-26T23:00:00Z", "expires_in": "secret-value", "token_id": "a"}"#,
        ];
        for payload in payloads {
            let error = token_from_payload(payload).unwrap_err();
            assert!(
                matches!(error, TokenError::InvalidResponse { .. }),
                "{error}"
            );
            assert!(!error.to_string().contains("secret-value"), "{error}");
            assert!(!format!("{error:?}").contains("secret-value"), "{error:?}");
        }
    }
}
