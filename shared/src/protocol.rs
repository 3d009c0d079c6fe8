//! The get-token invoke contract, shared by the function and the caller library.
//!
//! Requests are validated from raw JSON (see `functions/get-token`); these are the
//! typed shapes both sides agree on.

use serde::{Deserialize, Serialize};

/// The largest `min_ttl_seconds` either function accepts (the contract's 1800).
pub const MAX_MIN_TTL_SECONDS: u32 = 1800;

/// What a caller asks get-token for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Serve a token with at least `max(buffer, min_ttl_seconds)` of life left.
    #[default]
    Get,
    /// The caller's request was rejected with an authentication error.
    Refresh,
    /// Health check; never returns the token.
    Status,
}

/// The get-token event. Every field is optional; `{}` means `get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct GetTokenRequest {
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_ttl_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_token_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

/// get-token's answer to `get` and `refresh`. Holds the token: never log it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
    /// Whole seconds of life left when the answer was made.
    pub expires_in: i64,
    pub token_id: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("expires_in", &self.expires_in)
            .field("token_id", &self.token_id)
            .finish()
    }
}

/// get-token's answer to `status`. Never holds the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    pub healthy: bool,
    pub token_id: Option<String>,
    pub issued_at: Option<String>,
    pub expires_at: Option<String>,
    pub expires_in: Option<i64>,
    pub message: String,
}

/// A Lambda function error as both functions report it (`errorType`, `errorMessage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionError {
    #[serde(rename = "errorType")]
    pub error_type: String,
    #[serde(rename = "errorMessage")]
    pub error_message: String,
}

/// The stable `errorType` values of the contract.
pub mod error_type {
    pub const INVALID_REQUEST: &str = "InvalidRequest";
    pub const TOKEN_UNAVAILABLE: &str = "TokenUnavailable";
    pub const CREDENTIALS_UNAVAILABLE: &str = "CredentialsUnavailable";
    pub const CREDENTIALS_REJECTED: &str = "CredentialsRejected";
    pub const UPSTREAM_UNAVAILABLE: &str = "UpstreamUnavailable";
    pub const UPSTREAM_INVALID_RESPONSE: &str = "UpstreamInvalidResponse";
    pub const STORE_UNAVAILABLE: &str = "StoreUnavailable";
    pub const CONFIGURATION: &str = "Configuration";
}
