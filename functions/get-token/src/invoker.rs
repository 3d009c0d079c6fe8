//! The seam between get-token and the refresh function: one synchronous invoke.
//!
//! [`RefreshInvoker`] is what the handler calls; [`LambdaRefreshInvoker`] invokes the
//! deployed function (AWS Lambda `Invoke`, `RequestResponse`, one attempt), and the
//! integration tests run the refresh handler in-process behind the same trait.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What get-token asks the refresh function for: the refresh function's own input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RefreshCall {
    /// Renew whatever the stored token's age (`{"force": true}`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
    /// Renew when the stored token has less than this many seconds left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_ttl_seconds: Option<u32>,
}

impl RefreshCall {
    /// `{"min_ttl_seconds": N}`: renew unless the stored token has `min_life` left
    /// (rounded up to whole seconds, at most the refresh function's 1800).
    pub fn with_min_life(min_life: Duration) -> Self {
        let mut seconds = min_life.as_secs();
        if min_life.subsec_nanos() > 0 {
            seconds += 1;
        }
        Self {
            force: false,
            min_ttl_seconds: Some(u32::try_from(seconds.min(1800)).unwrap_or(1800)),
        }
    }

    /// `{"force": true}`: renew now.
    pub fn forced() -> Self {
        Self {
            force: true,
            min_ttl_seconds: None,
        }
    }

    /// The invoke's JSON payload.
    pub fn payload(&self) -> serde_json::Value {
        // Serialising a bool and a number cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The refresh function's answer, the fields get-token uses
/// (`{"refreshed", "reason", "token_id", "expires_at", "attempts"}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefreshReply {
    pub refreshed: bool,
    pub token_id: String,
    pub expires_at: String,
}

impl RefreshReply {
    /// Reads the refresh function's answer. The error names the problem, never the payload.
    pub fn from_payload(payload: &[u8]) -> Result<Self, RefreshInvokeError> {
        serde_json::from_slice(payload).map_err(|error| RefreshInvokeError::InvalidAnswer {
            reason: format!(
                "{:?} error at line {} column {}",
                error.classify(),
                error.line(),
                error.column()
            ),
        })
    }
}

/// Why an invoke of the refresh function gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshInvokeError {
    /// Lambda throttled the invoke (HTTP 429): with its reserved concurrency of 1,
    /// a refresh is most likely running already (the schedule, another instance).
    #[error("the refresh function is throttled ({message})")]
    Throttled { message: String },
    /// The refresh function ran and failed (`errorType`, `errorMessage`).
    #[error("the refresh function failed with {error_type}: {error_message}")]
    Function {
        error_type: String,
        error_message: String,
    },
    /// The invoke failed otherwise: transport, timeout, Lambda service error, access denied.
    #[error("the refresh function could not be invoked: {message}")]
    Invoke { message: String },
    /// The refresh function answered something that is not a refresh response.
    #[error("the refresh function's answer is not a refresh response ({reason})")]
    InvalidAnswer { reason: String },
}

/// One synchronous invoke of the refresh function, never retried by the implementation:
/// the handler decides what a throttled or failed invoke means.
pub trait RefreshInvoker: Send + Sync {
    fn invoke(
        &self,
        call: RefreshCall,
    ) -> impl Future<Output = Result<RefreshReply, RefreshInvokeError>> + Send;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn calls_are_the_refresh_functions_input() {
        assert_eq!(RefreshCall::forced().payload(), json!({"force": true}));
        assert_eq!(
            RefreshCall::with_min_life(Duration::from_secs(300)).payload(),
            json!({"min_ttl_seconds": 300})
        );
        assert_eq!(
            RefreshCall::with_min_life(Duration::from_millis(300_001)).payload(),
            json!({"min_ttl_seconds": 301})
        );
        assert_eq!(
            RefreshCall::with_min_life(Duration::from_secs(7200)).payload(),
            json!({"min_ttl_seconds": 1800})
        );
    }

    #[test]
    fn a_refresh_answer_is_read_and_anything_else_is_invalid() {
        let reply = RefreshReply::from_payload(
            br#"{"refreshed": true, "reason": "forced", "token_id": "3f9a1c0b7d2e",
                 "expires_at": "2026-11-26T23:00:00Z", "attempts": 1}"#,
        )
        .unwrap();
        assert!(reply.refreshed);
        assert_eq!(reply.token_id, "3f9a1c0b7d2e");
        for bad in [&b""[..], b"null", br#"{"access_token": "secret-value"}"#] {
            let error = RefreshReply::from_payload(bad).unwrap_err();
            assert!(matches!(error, RefreshInvokeError::InvalidAnswer { .. }));
            assert!(!error.to_string().contains("secret-value"));
        }
    }
}
