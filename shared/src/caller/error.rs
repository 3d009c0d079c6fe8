//! What can go wrong getting a token, and using it.

use std::error::Error as StdError;
use std::sync::Arc;

use crate::lambda_invoke::InvokeError;
use crate::protocol::error_type;

/// The `errorType`s of get-token that mean "the token service cannot serve a token
/// right now, try again later" (HTTP 503 for your own callers).
///
/// `Sandbox.Timedout` is Lambda's own `errorType` when get-token ran out of time
/// (for example while the token endpoint was slow): like an invoke timeout, it is
/// transient.
pub const UNAVAILABLE_ERROR_TYPES: &[&str] = &[
    error_type::TOKEN_UNAVAILABLE,
    error_type::UPSTREAM_UNAVAILABLE,
    error_type::STORE_UNAVAILABLE,
    "Sandbox.Timedout",
];

/// A failure to get a token from get-token.
///
/// [`TokenError::is_service_unavailable`] / [`TokenError::http_status`] tell a
/// transient unavailability of the token service (503) apart from a problem that
/// retrying will not fix (500): a misconfigured deployment, missing IAM permission,
/// rejected credentials, a bad request.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// get-token ran and answered a Lambda function error (`errorType` is one of
    /// [`crate::protocol::error_type`], or one of Lambda's own such as
    /// `Sandbox.Timedout` or `Runtime.ExitError`).
    #[error("get-token failed with {error_type}: {error_message}")]
    Function {
        error_type: String,
        error_message: String,
    },
    /// The invoke itself failed: Lambda throttled or refused it, or it did not
    /// complete. get-token may not have run.
    #[error("could not invoke get-token: {message}")]
    Invoke {
        kind: InvokeFailure,
        message: String,
        #[source]
        source: Arc<dyn StdError + Send + Sync>,
    },
    /// get-token answered something that is not a token (a version mismatch between
    /// this library and the deployed function, or the wrong function name).
    #[error("get-token's answer is not a valid token response: {reason}")]
    InvalidResponse { reason: String },
}

pub use crate::lambda_invoke::InvokeFailure;

impl From<InvokeError> for TokenError {
    fn from(error: InvokeError) -> Self {
        match error {
            InvokeError::Function {
                error_type,
                error_message,
            } => TokenError::Function {
                error_type,
                error_message,
            },
            InvokeError::Invoke {
                kind,
                message,
                source,
            } => TokenError::Invoke {
                kind,
                message,
                source,
            },
        }
    }
}

impl TokenError {
    /// True when the token service is unavailable for now and a later retry may
    /// succeed: get-token's `TokenUnavailable`, `UpstreamUnavailable`,
    /// `StoreUnavailable` (and Lambda's `Sandbox.Timedout`), or an invoke that was
    /// throttled, timed out, or failed in transport or in the Lambda service.
    pub fn is_service_unavailable(&self) -> bool {
        match self {
            TokenError::Function { error_type, .. } => {
                UNAVAILABLE_ERROR_TYPES.contains(&error_type.as_str())
            }
            TokenError::Invoke { kind, .. } => !matches!(kind, InvokeFailure::Configuration),
            TokenError::InvalidResponse { .. } => false,
        }
    }

    /// The HTTP status to answer your own caller with: 503 when
    /// [`is_service_unavailable`](Self::is_service_unavailable), otherwise 500.
    pub fn http_status(&self) -> u16 {
        if self.is_service_unavailable() {
            503
        } else {
            500
        }
    }

    /// get-token's `errorType`, for a function error.
    pub fn error_type(&self) -> Option<&str> {
        match self {
            TokenError::Function { error_type, .. } => Some(error_type),
            _ => None,
        }
    }

    /// get-token's `errorMessage`, for a function error.
    pub fn error_message(&self) -> Option<&str> {
        match self {
            TokenError::Function { error_message, .. } => Some(error_message),
            _ => None,
        }
    }
}

/// A failure of [`TokenClient::with_token`](super::TokenClient::with_token).
#[derive(Debug, thiserror::Error)]
pub enum CallError<E> {
    /// No token could be had (first attempt, or the renewal after a rejection).
    #[error(transparent)]
    Token(TokenError),
    /// The request failed for another reason than its token (returned as is, not
    /// retried).
    #[error(transparent)]
    Request(E),
    /// The request was rejected as unauthenticated, the token was renewed, and the
    /// retry was rejected as unauthenticated again. Not retried further.
    #[error("rejected as unauthenticated again with a renewed token")]
    AuthRejected(#[source] E),
}

impl<E> CallError<E> {
    /// The token error, if that is what failed.
    pub fn token_error(&self) -> Option<&TokenError> {
        match self {
            CallError::Token(error) => Some(error),
            _ => None,
        }
    }

    /// True when no token could be had because the token service is unavailable
    /// (see [`TokenError::is_service_unavailable`]): answer 503.
    pub fn is_service_unavailable(&self) -> bool {
        self.token_error()
            .is_some_and(TokenError::is_service_unavailable)
    }

    /// The request's own error, for [`CallError::Request`] and
    /// [`CallError::AuthRejected`].
    pub fn into_request_error(self) -> Option<E> {
        match self {
            CallError::Token(_) => None,
            CallError::Request(error) | CallError::AuthRejected(error) => Some(error),
        }
    }
}

impl<E> From<TokenError> for CallError<E> {
    fn from(error: TokenError) -> Self {
        CallError::Token(error)
    }
}

/// A bad option or environment variable when building a
/// [`TokenClient`](super::TokenClient).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {variable} is invalid: {reason}")]
    InvalidVariable {
        variable: &'static str,
        reason: String,
    },
    #[error("caller option {option} is invalid: {reason}")]
    InvalidOption {
        option: &'static str,
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function_error(error_type: &str) -> TokenError {
        TokenError::Function {
            error_type: error_type.to_owned(),
            error_message: "a sentence".to_owned(),
        }
    }

    fn invoke_error(kind: InvokeFailure) -> TokenError {
        TokenError::Invoke {
            kind,
            message: "m".to_owned(),
            source: Arc::new(std::io::Error::other("cause")),
        }
    }

    #[test]
    fn unavailable_error_types_map_to_503_and_the_others_to_500() {
        for unavailable in [
            "TokenUnavailable",
            "UpstreamUnavailable",
            "StoreUnavailable",
            "Sandbox.Timedout",
        ] {
            let error = function_error(unavailable);
            assert!(error.is_service_unavailable(), "{unavailable}");
            assert_eq!(error.http_status(), 503);
        }
        for other in [
            "InvalidRequest",
            "CredentialsUnavailable",
            "CredentialsRejected",
            "UpstreamInvalidResponse",
            "Configuration",
            "Runtime.ExitError",
            "Unhandled",
        ] {
            let error = function_error(other);
            assert!(!error.is_service_unavailable(), "{other}");
            assert_eq!(error.http_status(), 500);
            assert_eq!(error.error_type(), Some(other));
            assert_eq!(error.error_message(), Some("a sentence"));
        }
    }

    #[test]
    fn invoke_failures_are_unavailable_unless_a_configuration_problem() {
        for kind in [
            InvokeFailure::Throttled,
            InvokeFailure::Service,
            InvokeFailure::Transport,
        ] {
            assert_eq!(invoke_error(kind).http_status(), 503, "{kind}");
        }
        assert_eq!(
            invoke_error(InvokeFailure::Configuration).http_status(),
            500
        );
        let invalid = TokenError::InvalidResponse {
            reason: "r".to_owned(),
        };
        assert_eq!(invalid.http_status(), 500);
        assert_eq!(invalid.error_type(), None);
    }

    #[test]
    fn invoke_errors_keep_their_cause() {
        let error = invoke_error(InvokeFailure::Transport);
        assert_eq!(
            error.source().map(ToString::to_string).as_deref(),
            Some("cause")
        );
    }

    #[test]
    fn call_errors_expose_the_token_error_and_the_request_error() {
        let token: CallError<std::io::Error> = function_error("TokenUnavailable").into();
        assert!(token.is_service_unavailable());
        assert_eq!(
            token.to_string(),
            "get-token failed with TokenUnavailable: a sentence"
        );
        assert!(token.into_request_error().is_none());

        let rejected = CallError::AuthRejected(std::io::Error::other("401"));
        assert!(!rejected.is_service_unavailable());
        assert_eq!(
            rejected.source().map(ToString::to_string).as_deref(),
            Some("401")
        );
        assert!(rejected.into_request_error().is_some());
    }
}
