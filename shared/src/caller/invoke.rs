//! One `RequestResponse` invoke of get-token, never retried by the SDK, and what its
//! answer means.

use std::sync::Arc;

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::invoke::{InvokeError, InvokeOutput};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::{InvokeFailure, TokenError};
use super::token::Token;
use crate::protocol::{GetTokenRequest, TokenResponse};

/// Invokes get-token once and answers its payload, or the function error it reported
/// in either shape.
///
/// The SDK's retries are switched off for this call, whatever the client's retry
/// configuration: `config_override` with [`RetryConfig::disabled`] (one attempt). A
/// function error is an answer, not a transport failure, and the local emulator
/// reports one as HTTP 500, which the SDK's default classifier would retry.
pub(crate) async fn invoke(
    lambda: &aws_sdk_lambda::Client,
    function_name: &str,
    request: &GetTokenRequest,
) -> Result<Zeroizing<Vec<u8>>, TokenError> {
    let payload = serde_json::to_vec(request).map_err(|error| TokenError::Invoke {
        kind: InvokeFailure::Configuration,
        message: "could not serialise the request".to_owned(),
        source: Arc::new(error),
    })?;
    let result = lambda
        .invoke()
        .function_name(function_name)
        .invocation_type(InvocationType::RequestResponse)
        .payload(Blob::new(payload))
        .customize()
        .config_override(aws_sdk_lambda::Config::builder().retry_config(RetryConfig::disabled()))
        .send()
        .await;
    match result {
        Ok(output) => answer_of(output),
        Err(error) => Err(from_sdk_error(error)),
    }
}

/// Real Lambda's shape: HTTP 200, `X-Amz-Function-Error` set (`function_error()`),
/// the payload holds `{"errorType", "errorMessage"}`.
fn answer_of(mut output: InvokeOutput) -> Result<Zeroizing<Vec<u8>>, TokenError> {
    let payload = Zeroizing::new(
        output
            .payload
            .take()
            .map(Blob::into_inner)
            .unwrap_or_default(),
    );
    match output.function_error.take() {
        None => Ok(payload),
        Some(header) => Err(
            function_error(&payload).unwrap_or_else(|| TokenError::Function {
                error_type: header,
                error_message: "get-token failed and its error payload is not an error object"
                    .to_owned(),
            }),
        ),
    }
}

#[derive(Deserialize)]
struct RawFunctionError {
    #[serde(rename = "errorType")]
    error_type: String,
    #[serde(rename = "errorMessage", default)]
    error_message: Option<String>,
}

/// `{"errorType": "...", "errorMessage": "..."}`, the body of a function error.
fn function_error(body: &[u8]) -> Option<TokenError> {
    let raw: RawFunctionError = serde_json::from_slice(body).ok()?;
    Some(TokenError::Function {
        error_type: raw.error_type,
        error_message: raw.error_message.unwrap_or_default(),
    })
}

fn from_sdk_error(error: SdkError<InvokeError, HttpResponse>) -> TokenError {
    let (kind, message) = match &error {
        SdkError::ServiceError(service) => {
            let raw = service.raw();
            // The local emulator's shape (`cargo lambda watch`): HTTP 500 whose body is
            // the function error. The SDK sees an unmodelled error; the body tells.
            if let Some(function_error) = raw.body().bytes().and_then(function_error) {
                return function_error;
            }
            let status = raw.status().as_u16();
            let kind = match status {
                429 => InvokeFailure::Throttled,
                409 | 500..=599 => InvokeFailure::Service,
                _ => InvokeFailure::Configuration,
            };
            let code = service.err().code().unwrap_or("unknown error");
            let message = match service.err().message() {
                Some(detail) => format!("Lambda answered HTTP {status} {code}: {detail}"),
                None => format!("Lambda answered HTTP {status} {code}"),
            };
            (kind, message)
        }
        SdkError::TimeoutError(_) => (InvokeFailure::Transport, "the invoke timed out".to_owned()),
        SdkError::DispatchFailure(_) => (
            InvokeFailure::Transport,
            "the request could not be sent".to_owned(),
        ),
        SdkError::ResponseError(_) => (
            InvokeFailure::Transport,
            "the response could not be read".to_owned(),
        ),
        SdkError::ConstructionFailure(_) => (
            InvokeFailure::Configuration,
            "the request could not be built".to_owned(),
        ),
        _ => (InvokeFailure::Transport, "the invoke failed".to_owned()),
    };
    TokenError::Invoke {
        kind,
        message,
        source: Arc::new(error),
    }
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

    #[test]
    fn a_function_error_body_needs_an_error_type() {
        let error =
            function_error(br#"{"errorType": "TokenUnavailable", "errorMessage": "m"}"#).unwrap();
        assert_eq!(error.error_type(), Some("TokenUnavailable"));
        assert_eq!(error.error_message(), Some("m"));
        let error = function_error(br#"{"errorType": "Sandbox.Timedout"}"#).unwrap();
        assert_eq!(error.error_message(), Some(""));
        assert!(function_error(br#"{"message": "Internal error"}"#).is_none());
        assert!(function_error(b"<html/>").is_none());
    }
}
