//! The refresh function's input, as get-token sends it, and its answer, as get-token
//! reads it.

use std::time::Duration;

use orange_token::event::MAX_MIN_TTL_SECONDS;
use orange_token::renewal::RefreshReason;
use serde::{Deserialize, Serialize};

use super::RefreshInvokeError;

/// What get-token asks the refresh function for: the refresh function's own input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshCall {
    /// Renew whatever the stored token's age (`{"force": true}`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
    /// Renew when the stored token has less than this many seconds left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_ttl_seconds: Option<u32>,
    /// get-token's caller, for refresh's audit log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

impl RefreshCall {
    /// `{"min_ttl_seconds": N}`: renew unless the stored token has `min_life` left
    /// (rounded up to whole seconds, at most the refresh function's [`MAX_MIN_TTL_SECONDS`]).
    pub fn with_min_life(min_life: Duration) -> Self {
        let mut seconds = min_life.as_secs();
        if min_life.subsec_nanos() > 0 {
            seconds += 1;
        }
        Self {
            force: false,
            min_ttl_seconds: Some(
                u32::try_from(seconds.min(u64::from(MAX_MIN_TTL_SECONDS)))
                    .unwrap_or(MAX_MIN_TTL_SECONDS),
            ),
            caller: None,
        }
    }

    /// `{"force": true}`: renew now.
    pub fn forced() -> Self {
        Self {
            force: true,
            min_ttl_seconds: None,
            caller: None,
        }
    }

    /// The same call, on behalf of `caller`.
    #[must_use]
    pub fn for_caller(mut self, caller: Option<&str>) -> Self {
        self.caller = caller.map(str::to_owned);
        self
    }

    /// The invoke's JSON payload.
    pub fn payload(&self) -> serde_json::Value {
        // Serialising a bool, a number and a string cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The refresh function's answer, the fields get-token uses
/// (`{"refreshed", "reason", "token_id", "expires_at", "attempts"}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefreshReply {
    pub refreshed: bool,
    pub reason: RefreshReason,
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
        assert_eq!(
            RefreshCall::forced()
                .for_caller(Some("sms-sender"))
                .payload(),
            json!({"force": true, "caller": "sms-sender"})
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
