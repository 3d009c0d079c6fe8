//! One synchronous (`RequestResponse`) invoke of a Lambda function, attempted once, and
//! what its answer means. Shared by the caller library (invoking get-token) and get-token
//! (invoking refresh).
//!
//! A function error comes back in one of two shapes, both read here:
//! - real Lambda: HTTP 200 with `X-Amz-Function-Error` set and the payload
//!   `{"errorType", "errorMessage"}`;
//! - the local emulator (`cargo lambda watch`): HTTP 500 whose body is that JSON.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::invoke::{InvokeError as SdkInvokeError, InvokeOutput};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Why a Lambda invoke failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvokeFailure {
    /// Lambda throttled the invoke (HTTP 429: concurrency or request rate).
    Throttled,
    /// Lambda failed or could not run the function right now (HTTP 5xx, or 409 while
    /// the function is being updated).
    Service,
    /// The invoke did not complete: timeout, connection or I/O failure.
    Transport,
    /// Lambda refused the request (function not found, access denied, bad request:
    /// other HTTP 4xx) or it could not be built (no region, no credentials). A
    /// deployment or IAM problem that retrying will not fix.
    Configuration,
}

impl fmt::Display for InvokeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvokeFailure::Throttled => "throttled",
            InvokeFailure::Service => "Lambda service failure",
            InvokeFailure::Transport => "transport failure",
            InvokeFailure::Configuration => "configuration",
        })
    }
}

/// An invoke that gave no payload.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeError {
    /// The function ran and answered a function error (`errorType` is the function's
    /// own, or one of Lambda's such as `Sandbox.Timedout` or `Runtime.ExitError`).
    #[error("the function failed with {error_type}: {error_message}")]
    Function {
        error_type: String,
        error_message: String,
    },
    /// The invoke itself failed: Lambda throttled or refused it, or it did not
    /// complete. The function may not have run.
    #[error("the invoke failed: {message}")]
    Invoke {
        kind: InvokeFailure,
        message: String,
        #[source]
        source: Arc<dyn StdError + Send + Sync>,
    },
}

/// Invokes `function_name` once (`RequestResponse`) with `payload` serialised as JSON,
/// and answers the function's payload, or the function error it reported in either shape.
///
/// The SDK's retries are switched off for this call, whatever the client's retry
/// configuration: `config_override` with [`RetryConfig::disabled`] (one attempt). A
/// function error is an answer, not a transport failure, and the local emulator
/// reports one as HTTP 500, which the SDK's default classifier would retry. The
/// client's timeouts apply unchanged.
///
/// The payload is wiped when dropped: it may hold a token.
pub async fn invoke_once<T: Serialize + ?Sized>(
    lambda: &aws_sdk_lambda::Client,
    function_name: &str,
    payload: &T,
) -> Result<Zeroizing<Vec<u8>>, InvokeError> {
    let payload = serde_json::to_vec(payload).map_err(|error| InvokeError::Invoke {
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
fn answer_of(mut output: InvokeOutput) -> Result<Zeroizing<Vec<u8>>, InvokeError> {
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
            function_error(&payload).unwrap_or_else(|| InvokeError::Function {
                error_type: header,
                error_message: "the function failed and its error payload is not an error object"
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
fn function_error(body: &[u8]) -> Option<InvokeError> {
    let raw: RawFunctionError = serde_json::from_slice(body).ok()?;
    Some(InvokeError::Function {
        error_type: raw.error_type,
        error_message: raw.error_message.unwrap_or_default(),
    })
}

fn from_sdk_error(error: SdkError<SdkInvokeError, HttpResponse>) -> InvokeError {
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
    InvokeError::Invoke {
        kind,
        message,
        source: Arc::new(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_and_message(error: InvokeError) -> (String, String) {
        match error {
            InvokeError::Function {
                error_type,
                error_message,
            } => (error_type, error_message),
            other => panic!("expected a function error, got {other:?}"),
        }
    }

    #[test]
    fn a_function_error_body_needs_an_error_type() {
        let error =
            function_error(br#"{"errorType": "TokenUnavailable", "errorMessage": "m"}"#).unwrap();
        assert_eq!(
            type_and_message(error),
            ("TokenUnavailable".to_owned(), "m".to_owned())
        );
        let error = function_error(br#"{"errorType": "Sandbox.Timedout"}"#).unwrap();
        assert_eq!(type_and_message(error).1, "");
        assert!(function_error(br#"{"message": "Internal error"}"#).is_none());
        assert!(function_error(b"<html/>").is_none());
    }

    #[test]
    fn failures_name_their_kind() {
        assert_eq!(InvokeFailure::Throttled.to_string(), "throttled");
        let error = InvokeError::Invoke {
            kind: InvokeFailure::Transport,
            message: "the invoke timed out".to_owned(),
            source: Arc::new(std::io::Error::other("cause")),
        };
        assert_eq!(error.to_string(), "the invoke failed: the invoke timed out");
        assert_eq!(
            error.source().map(ToString::to_string).as_deref(),
            Some("cause")
        );
    }
}
