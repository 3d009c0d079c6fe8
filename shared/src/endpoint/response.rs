//! Reading one answer of the token endpoint: a token, or a classified failure.

use std::time::Duration;

use serde_json::Value;

use super::issued_token::{IssuedToken, parse_token};
use crate::protocol::error_type;

/// The largest body read from the token endpoint; a larger answer is refused.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The contract's classes of token-endpoint failure, each named for the `errorType` it
/// ends in when it is the last attempt's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Connection error, timeout, HTTP 5xx (the contract's transient failures): retried.
    UpstreamUnavailable,
    /// HTTP 429: retried, honouring `Retry-After`; `UpstreamUnavailable` when the retries
    /// run out. Its own class because the `TokenRequests` metric counts it apart.
    Throttled,
    /// HTTP 400/401/403: the credentials or the request were refused. Not retried.
    CredentialsRejected,
    /// Any other 4xx (or a redirect): the endpoint is misconfigured. Not retried.
    Configuration,
    /// HTTP 200 whose body is not a valid token. Not retried.
    UpstreamInvalidResponse,
}

impl FailureClass {
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::UpstreamUnavailable | Self::Throttled)
    }

    /// The contract's `errorType` of a token request whose last attempt failed so.
    pub fn error_type(self) -> &'static str {
        match self {
            Self::UpstreamUnavailable | Self::Throttled => error_type::UPSTREAM_UNAVAILABLE,
            Self::CredentialsRejected => error_type::CREDENTIALS_REJECTED,
            Self::Configuration => error_type::CONFIGURATION,
            Self::UpstreamInvalidResponse => error_type::UPSTREAM_INVALID_RESPONSE,
        }
    }
}

/// One failed attempt. `detail` is safe to log: it never holds a token or a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFailure {
    pub class: FailureClass,
    pub http_status: Option<u16>,
    pub retry_after: Option<Duration>,
    pub detail: String,
}

impl AttemptFailure {
    pub fn upstream_unavailable(detail: impl Into<String>) -> Self {
        Self {
            class: FailureClass::UpstreamUnavailable,
            http_status: None,
            retry_after: None,
            detail: detail.into(),
        }
    }

    /// A token that would expire before it could be served.
    pub fn short_lived(min_lifetime: Duration) -> Self {
        Self::with_status(
            FailureClass::UpstreamInvalidResponse,
            200,
            format!(
                "expires_in is not longer than the {} s expiry buffer",
                min_lifetime.as_secs()
            ),
        )
    }

    fn with_status(class: FailureClass, status: u16, detail: impl Into<String>) -> Self {
        Self {
            class,
            http_status: Some(status),
            retry_after: None,
            detail: detail.into(),
        }
    }
}

/// Classifies one complete answer. `body` is `None` when it was larger than [`MAX_BODY_BYTES`].
pub fn classify(
    status: u16,
    retry_after: Option<&str>,
    body: Option<&[u8]>,
) -> Result<IssuedToken, AttemptFailure> {
    match status {
        200 => match body {
            Some(body) => parse_token(body).map_err(|reason| {
                AttemptFailure::with_status(FailureClass::UpstreamInvalidResponse, 200, reason)
            }),
            None => Err(AttemptFailure::with_status(
                FailureClass::UpstreamInvalidResponse,
                200,
                format!("the answer is larger than {MAX_BODY_BYTES} bytes"),
            )),
        },
        429 => Err(AttemptFailure {
            retry_after: retry_after.and_then(parse_retry_after),
            ..AttemptFailure::with_status(
                FailureClass::Throttled,
                429,
                format!("throttled{}", error_summary(body)),
            )
        }),
        400 | 401 | 403 => Err(AttemptFailure::with_status(
            FailureClass::CredentialsRejected,
            status,
            format!("HTTP {status}{}", error_summary(body)),
        )),
        500..=599 => Err(AttemptFailure::with_status(
            FailureClass::UpstreamUnavailable,
            status,
            format!("HTTP {status}{}", error_summary(body)),
        )),
        201..=299 => Err(AttemptFailure::with_status(
            FailureClass::UpstreamInvalidResponse,
            status,
            format!("HTTP {status} is not a token answer"),
        )),
        _ => Err(AttemptFailure::with_status(
            FailureClass::Configuration,
            status,
            format!(
                "HTTP {status}{}: check ORANGE_TOKEN_ENDPOINT",
                error_summary(body)
            ),
        )),
    }
}

/// `Retry-After` as delta-seconds (the form Orange sends); other forms are ignored.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// `: error (description)` from an RFC 6749 or Orange error body, cut short; empty otherwise.
fn error_summary(body: Option<&[u8]>) -> String {
    let Some(Ok(Value::Object(map))) = body.map(serde_json::from_slice::<Value>) else {
        return String::new();
    };
    let text = |key: &str| match map.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let code = text("error").or_else(|| text("code"));
    let description = text("error_description")
        .or_else(|| text("description"))
        .or_else(|| text("message"));
    let summary = match (code, description) {
        (Some(code), Some(description)) => format!(": {code} ({description})"),
        (Some(code), None) => format!(": {code}"),
        (None, Some(description)) => format!(": {description}"),
        (None, None) => String::new(),
    };
    summary.chars().take(240).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::issued_token::MAX_TOKEN_LIFETIME;
    use crate::secret::MAX_ACCESS_TOKEN_CHARS;

    fn ok(body: &str) -> Result<IssuedToken, AttemptFailure> {
        classify(200, None, Some(body.as_bytes()))
    }

    #[test]
    fn a_token_answer_is_parsed_with_expires_in_as_number_or_digits() {
        for body in [
            r#"{"token_type":"Bearer","access_token":"abc","expires_in":3600}"#,
            r#"{"token_type":"bearer","access_token":"abc","expires_in":"3600"}"#,
        ] {
            let token = ok(body).unwrap();
            assert_eq!(token.access_token.expose(), "abc");
            assert_eq!(token.token_type, "Bearer");
            assert_eq!(token.expires_in, Duration::from_secs(3600));
            assert_eq!(token.scope, None);
        }
        let scoped =
            ok(r#"{"token_type":"Bearer","access_token":"abc","expires_in":60,"scope":"sms"}"#)
                .unwrap();
        assert_eq!(scoped.scope.as_deref(), Some("sms"));
    }

    #[test]
    fn a_200_that_is_not_a_token_is_malformed() {
        for body in [
            "<html><body>Service</body></html>",
            "",
            r#"{"token_type":"Bearer","expires_in":3600}"#,
            r#"{"token_type":"Bearer","access_token":"","expires_in":3600}"#,
            r#"{"token_type":"Bearer","access_token":"abc","expires_in":0}"#,
            r#"{"token_type":"Bearer","access_token":"abc","expires_in":-5}"#,
            r#"{"token_type":"Bearer","access_token":"abc","expires_in":"soon"}"#,
            r#"{"token_type":"Bearer","access_token":"abc","expires_in":"-5"}"#,
            r#"{"token_type":"Bearer","access_token":"abc","expires_in":3600.5}"#,
            r#"{"token_type":"Bearer","access_token":"abc"}"#,
            r#"{"token_type":"mac","access_token":"abc","expires_in":3600}"#,
            r#"{"access_token":"abc","expires_in":3600}"#,
            r#"{"token_type":"Bearer","access_token":42,"expires_in":3600}"#,
            "[1,2,3]",
        ] {
            let failure = ok(body).unwrap_err();
            assert_eq!(
                failure.class,
                FailureClass::UpstreamInvalidResponse,
                "{body}"
            );
            assert_eq!(failure.http_status, Some(200));
            assert!(
                !failure.detail.contains("abc"),
                "{body}: {}",
                failure.detail
            );
        }
        let oversized = classify(200, None, None).unwrap_err();
        assert_eq!(oversized.class, FailureClass::UpstreamInvalidResponse);
    }

    #[test]
    fn tokens_outside_the_b64token_set_or_its_length_are_refused_unnamed() {
        let longest = "T".repeat(MAX_ACCESS_TOKEN_CHARS);
        let accepted = |token: &str| {
            let body = serde_json::json!({"token_type": "Bearer", "access_token": token, "expires_in": 3600});
            ok(&body.to_string())
        };
        assert_eq!(
            accepted(&longest).unwrap().access_token.expose().len(),
            MAX_ACCESS_TOKEN_CHARS
        );
        assert!(accepted("Tok-._~+/en==").is_ok());
        let too_long = "T".repeat(MAX_ACCESS_TOKEN_CHARS + 1);
        for token in [
            "Tok\"en",
            "Tok\\en",
            "Tok en",
            "Tok\nen",
            "Tok\u{7}en",
            "Tok,en",
            "Tokén",
            "Tok=en",
            "====",
            too_long.as_str(),
        ] {
            let failure = accepted(token).unwrap_err();
            assert_eq!(
                failure.class,
                FailureClass::UpstreamInvalidResponse,
                "{token:?}"
            );
            assert!(
                !failure.detail.contains("Tok"),
                "{token:?}: {}",
                failure.detail
            );
        }
    }

    #[test]
    fn lifetimes_longer_than_a_day_are_refused() {
        let body = |expires_in: &str| {
            format!(r#"{{"token_type":"Bearer","access_token":"abc","expires_in":{expires_in}}}"#)
        };
        assert_eq!(ok(&body("86400")).unwrap().expires_in, MAX_TOKEN_LIFETIME);
        for expires_in in ["86401", "\"86401\"", "100000000000", "18446744073709551616"] {
            let failure = ok(&body(expires_in)).unwrap_err();
            assert_eq!(
                failure.class,
                FailureClass::UpstreamInvalidResponse,
                "{expires_in}"
            );
        }
    }

    #[test]
    fn statuses_are_classified_as_the_contract_says() {
        let cases: &[(u16, FailureClass)] = &[
            (500, FailureClass::UpstreamUnavailable),
            (502, FailureClass::UpstreamUnavailable),
            (503, FailureClass::UpstreamUnavailable),
            (504, FailureClass::UpstreamUnavailable),
            (429, FailureClass::Throttled),
            (400, FailureClass::CredentialsRejected),
            (401, FailureClass::CredentialsRejected),
            (403, FailureClass::CredentialsRejected),
            (404, FailureClass::Configuration),
            (405, FailureClass::Configuration),
            (406, FailureClass::Configuration),
            (415, FailureClass::Configuration),
            (301, FailureClass::Configuration),
            (204, FailureClass::UpstreamInvalidResponse),
        ];
        for (status, class) in cases {
            let failure = classify(*status, None, Some(b"")).unwrap_err();
            assert_eq!(failure.class, *class, "HTTP {status}");
            assert_eq!(failure.http_status, Some(*status));
            assert_eq!(
                failure.class.is_retryable(),
                matches!(
                    class,
                    FailureClass::UpstreamUnavailable | FailureClass::Throttled
                )
            );
        }
    }

    #[test]
    fn rejections_keep_the_servers_error_in_both_body_forms() {
        let oauth = classify(
            401,
            None,
            Some(
                br#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(
            oauth.detail,
            "HTTP 401: invalid_client (Client authentication failed)"
        );
        let orange = classify(
            401,
            None,
            Some(br#"{"code":42,"message":"Expired credentials","description":"The requested service needs credentials, and the ones provided were out-of-date."}"#),
        )
        .unwrap_err();
        assert_eq!(orange.class, FailureClass::CredentialsRejected);
        assert!(
            orange
                .detail
                .starts_with("HTTP 401: 42 (The requested service")
        );
        let request = classify(400, None, Some(br#"{"error":"invalid_request"}"#)).unwrap_err();
        assert_eq!(request.detail, "HTTP 400: invalid_request");
    }

    #[test]
    fn retry_after_is_read_as_seconds() {
        let failure = classify(429, Some("7"), Some(b"{}")).unwrap_err();
        assert_eq!(failure.retry_after, Some(Duration::from_secs(7)));
        let failure = classify(429, None, Some(b"{}")).unwrap_err();
        assert_eq!(failure.retry_after, None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
