//! Injectable failures of the token endpoint.

use serde::{Deserialize, Serialize};

/// A failure to inject into a token request (`POST /oauth/v3/token`).
///
/// A fault is taken either from the one-shot queue
/// ([`MockOrange::push_fault`](crate::MockOrange::push_fault), first in first
/// out, one per token request) or, when the queue is empty, from the sticky
/// fault ([`MockOrange::set_sticky_fault`](crate::MockOrange::set_sticky_fault)).
/// It is applied *instead of* normal handling: the request's credentials,
/// headers and body are not checked and the rate limit is not consulted.
/// The one exception is [`Fault::Delay`], which waits and then handles the
/// request normally.
///
/// Answers that are not valid tokens issue no token. The ones that do carry a
/// valid token ([`Fault::ExpiresIn`] with a positive whole number or a string
/// of digits, [`Fault::TokenType`] with `Bearer` in any case) record it in
/// [`MockOrange::issued_tokens`](crate::MockOrange::issued_tokens).
///
/// JSON form (the control API's): internally tagged by `kind`, in snake case,
/// e.g. `{"kind":"status","status":503}`, `{"kind":"hang"}`,
/// `{"kind":"expires_in","expires_in":"3600"}`. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// `{"kind":"status","status":503}`: that status with an Orange-style JSON
    /// body `{"code","message","description"}` (e.g. 500 → code 1,
    /// 503 → code 5, 404 → code 60, 405 → code 61; other statuses use the
    /// status itself as the code). No `Retry-After`, even for 429.
    Status {
        /// The HTTP status (200 to 599 through the control API).
        status: u16,
    },
    /// `{"kind":"too_many_requests","retry_after_seconds":2}` (or without the
    /// field): 429 with Orange's code 53 body, and `Retry-After` when given.
    TooManyRequests {
        /// The `Retry-After` header's value, in seconds; none when absent.
        #[serde(default)]
        retry_after_seconds: Option<u64>,
    },
    /// `{"kind":"hang"}`: read the request and never answer; the connection
    /// stays open until the client gives up (or the mock shuts down).
    Hang,
    /// `{"kind":"delay","millis":1500}`: wait that long, then handle the
    /// request normally. If the client closes the connection during the wait
    /// (its timeout fired) the request is abandoned and no token is issued.
    Delay {
        /// The wait, in milliseconds.
        millis: u64,
    },
    /// `{"kind":"connection_reset"}`: read the request, then close the socket
    /// with `SO_LINGER` 0 (a TCP reset) without answering.
    ConnectionReset,
    /// `{"kind":"html200"}`: 200 with a `text/html` maintenance page.
    Html200,
    /// `{"kind":"empty200"}`: 200, `Content-Type: application/json`, empty body.
    Empty200,
    /// `{"kind":"missing_access_token"}`: 200 JSON with `token_type` and
    /// `expires_in` but no `access_token`.
    MissingAccessToken,
    /// `{"kind":"expires_in","expires_in":-5}`: a token answer whose
    /// `expires_in` is exactly this JSON value (`0`, `-5`, `"abc"`, `"3600"`,
    /// `null`, ...). The token counts as issued when the value is a positive
    /// whole number or a string of ASCII digits with a positive value.
    ExpiresIn {
        /// The raw `expires_in` value to send.
        expires_in: serde_json::Value,
    },
    /// `{"kind":"token_type","token_type":"mac"}`: a token answer with this
    /// `token_type`. The token counts as issued when it is `Bearer` in any case.
    TokenType {
        /// The `token_type` value to send.
        token_type: String,
    },
    /// `{"kind":"oversized200","bytes":10485760}`: 200 with a token-shaped JSON
    /// object padded (a `"padding"` string field) to exactly `bytes` bytes
    /// (or the unpadded object when `bytes` is smaller). Streamed, so large
    /// sizes cost no memory. No token is recorded as issued.
    Oversized200 {
        /// The body's size in bytes.
        bytes: usize,
    },
    /// `{"kind":"invalid_client"}`: 401
    /// `{"error":"invalid_client","error_description":"Client authentication failed"}`.
    InvalidClient,
    /// `{"kind":"invalid_request"}`: 400 `{"error":"invalid_request",...}`.
    InvalidRequest,
    /// `{"kind":"orange_code","status":401,"code":42}`: that status with
    /// Orange's body for that code, e.g. 42 →
    /// `{"code":42,"message":"Expired credentials","description":"The requested service needs credentials, and the ones provided were out-of-date."}`.
    /// Known codes: 1, 5, 40, 41, 42, 50, 53, 60, 61, 62; others get a
    /// generic message.
    OrangeCode {
        /// The HTTP status.
        status: u16,
        /// Orange's error code.
        code: u32,
    },
    /// `{"kind":"raw","status":200,"content_type":"application/json","body":"{\"access_token\":"}`:
    /// exactly this answer (no `Content-Type` when `content_type` is absent).
    Raw {
        /// The HTTP status.
        status: u16,
        /// The `Content-Type` header, if any.
        #[serde(default)]
        content_type: Option<String>,
        /// The body, sent as is.
        #[serde(default)]
        body: String,
    },
}

impl Fault {
    /// The fault's `kind` tag, as in its JSON form (used in log lines).
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Status { .. } => "status",
            Fault::TooManyRequests { .. } => "too_many_requests",
            Fault::Hang => "hang",
            Fault::Delay { .. } => "delay",
            Fault::ConnectionReset => "connection_reset",
            Fault::Html200 => "html200",
            Fault::Empty200 => "empty200",
            Fault::MissingAccessToken => "missing_access_token",
            Fault::ExpiresIn { .. } => "expires_in",
            Fault::TokenType { .. } => "token_type",
            Fault::Oversized200 { .. } => "oversized200",
            Fault::InvalidClient => "invalid_client",
            Fault::InvalidRequest => "invalid_request",
            Fault::OrangeCode { .. } => "orange_code",
            Fault::Raw { .. } => "raw",
        }
    }

    /// Checks that the fault can be sent as a well-formed HTTP answer
    /// (status 200 to 599). The control API refuses faults that fail this;
    /// through the library, an out-of-range status is sent as 500.
    pub fn validate(&self) -> Result<(), String> {
        let status = match self {
            Fault::Status { status }
            | Fault::OrangeCode { status, .. }
            | Fault::Raw { status, .. } => *status,
            _ => return Ok(()),
        };
        if (200..=599).contains(&status) {
            Ok(())
        } else {
            Err(format!("status {status} is outside 200..=599"))
        }
    }
}
