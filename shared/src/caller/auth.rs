//! Recognising that Orange rejected a request because of its token.

use serde_json::Value;

/// True when an answer from one of Orange's APIs says the access token was refused,
/// so that renewing the token and retrying once can help.
///
/// An answer is an authentication failure when:
/// - its status is HTTP 401 or 403, whatever the body; or
/// - its status is another error (400 and above) and its body is a JSON object with
///   - OAuth's (RFC 6750) `"error"` equal to `"invalid_token"` or `"expired_token"`, or
///   - Orange's `"code"` equal to 40, 41 or 42 (missing, invalid or expired
///     credentials), as a number or a string of digits, or
///   - `requestError.serviceException.messageId` equal to `"SVC0001"`.
///
/// A 1xx, 2xx or 3xx answer is never an authentication failure, whatever its body:
/// treating a success as a failure would retry, and send an SMS twice.
///
/// `requestError.policyException` (Orange's `POL....` ids: no credit left, number not
/// allowed, rate of the offer exceeded...) is deliberately not an authentication
/// failure: a new token cannot fix a policy refusal, and counting it would force a
/// renewal of the token shared by every caller on each such refusal. It still counts
/// when its status is 401 or 403, like any body.
///
/// A body that is not JSON (HTML from a gateway, empty, truncated) counts only by its
/// status.
pub fn is_auth_failure(status: u16, body: &[u8]) -> bool {
    if status == 401 || status == 403 {
        return true;
    }
    if status < 400 {
        return false;
    }
    serde_json::from_slice::<Value>(body).is_ok_and(|body| body_names_auth_failure(&body))
}

fn body_names_auth_failure(body: &Value) -> bool {
    let Some(object) = body.as_object() else {
        return false;
    };
    let oauth_error = matches!(
        object.get("error").and_then(Value::as_str),
        Some("invalid_token" | "expired_token")
    );
    let orange_code = object.get("code").is_some_and(is_orange_credentials_code);
    let service_exception = body
        .pointer("/requestError/serviceException/messageId")
        .and_then(Value::as_str)
        == Some("SVC0001");
    oauth_error || orange_code || service_exception
}

fn is_orange_credentials_code(code: &Value) -> bool {
    match code {
        Value::Number(number) => matches!(number.as_u64(), Some(40..=42)),
        Value::String(digits) => matches!(digits.trim(), "40" | "41" | "42"),
        _ => false,
    }
}

/// Lets [`TokenClient::with_token`](super::TokenClient::with_token) tell an
/// authentication failure apart from other failures of the caller's request.
///
/// Implement it on the error type of your request, typically with
/// [`is_auth_failure`] on the status and body you kept:
///
/// ```
/// use orange_token::caller::{is_auth_failure, AuthFailure};
///
/// #[derive(Debug)]
/// enum SmsError {
///     Transport(String),
///     Api { status: u16, body: Vec<u8> },
/// }
///
/// impl AuthFailure for SmsError {
///     fn is_auth_failure(&self) -> bool {
///         match self {
///             SmsError::Api { status, body } => is_auth_failure(*status, body),
///             SmsError::Transport(_) => false,
///         }
///     }
/// }
/// ```
pub trait AuthFailure {
    /// True when a new token could make the request succeed.
    fn is_auth_failure(&self) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_401_and_403_are_auth_failures_whatever_the_body() {
        let bodies: [&[u8]; 5] = [
            b"",
            b"<html>Unauthorized</html>",
            br#"{"code": 50, "message": "Access denied"}"#,
            br#"{"requestError": {"policyException": {"messageId": "POL0001"}}}"#,
            b"\xff\xfe not utf-8",
        ];
        for status in [401, 403] {
            for body in bodies {
                assert!(is_auth_failure(status, body), "{status} {body:?}");
            }
        }
    }

    #[test]
    fn oauth_invalid_or_expired_token_is_an_auth_failure() {
        for status in [400, 500] {
            assert!(is_auth_failure(status, br#"{"error": "invalid_token"}"#));
            assert!(is_auth_failure(
                status,
                br#"{"error": "expired_token", "error_description": "The access token expired"}"#
            ));
        }
        assert!(!is_auth_failure(400, br#"{"error": "invalid_request"}"#));
        assert!(!is_auth_failure(400, br#"{"error": "insufficient_scope"}"#));
        assert!(!is_auth_failure(400, br#"{"error": "INVALID_TOKEN"}"#));
        assert!(!is_auth_failure(
            400,
            br#"{"error": {"code": "invalid_token"}}"#
        ));
    }

    #[test]
    fn orange_credentials_codes_are_auth_failures_as_numbers_or_digit_strings() {
        for code in ["40", "41", "42", "\"40\"", "\"41\"", "\"42\"", "\" 42 \""] {
            let body = format!(
                r#"{{"code": {code}, "message": "Invalid credentials", "description": "..."}}"#
            );
            assert!(is_auth_failure(400, body.as_bytes()), "{body}");
        }
        for code in [
            "39", "43", "50", "53", "1000", "-41", "41.5", "\"4x\"", "\"\"", "null", "true",
            "[41]", "{}",
        ] {
            let body = format!(r#"{{"code": {code}}}"#);
            assert!(!is_auth_failure(400, body.as_bytes()), "{body}");
        }
    }

    #[test]
    fn svc0001_service_exception_is_an_auth_failure() {
        let body = br#"{"requestError": {"serviceException": {"messageId": "SVC0001", "text": "A service error occurred. Error code is %1", "variables": ["Invalid credentials"]}}}"#;
        assert!(is_auth_failure(400, body));
        assert!(is_auth_failure(500, body));
        assert!(!is_auth_failure(
            400,
            br#"{"requestError": {"serviceException": {"messageId": "SVC0002", "text": "Invalid input value"}}}"#
        ));
        assert!(!is_auth_failure(
            400,
            br#"{"requestError": {"serviceException": {"messageId": 1}}}"#
        ));
    }

    #[test]
    fn policy_exceptions_are_not_auth_failures_outside_401_and_403() {
        let body = br#"{"requestError": {"policyException": {"messageId": "POL0001", "text": "A policy error occurred."}}}"#;
        assert!(!is_auth_failure(400, body));
        assert!(!is_auth_failure(429, body));
    }

    #[test]
    fn successes_and_redirects_are_never_auth_failures() {
        for status in [100, 200, 201, 204, 302, 399] {
            assert!(!is_auth_failure(status, br#"{"code": 42}"#));
            assert!(!is_auth_failure(status, br#"{"error": "invalid_token"}"#));
            assert!(!is_auth_failure(
                status,
                br#"{"requestError": {"serviceException": {"messageId": "SVC0001"}}}"#
            ));
        }
    }

    #[test]
    fn other_errors_and_bodies_that_are_not_json_objects_are_not_auth_failures() {
        let bodies: [&[u8]; 9] = [
            b"",
            b"   ",
            b"<html><body>502 Bad Gateway</body></html>",
            b"invalid_token",
            br#"{"code": 42"#,
            br#"[{"code": 42}]"#,
            br#""invalid_token""#,
            b"42",
            b"\xff\xfe not utf-8",
        ];
        for status in [400, 404, 429, 500, 502, 503] {
            for body in bodies {
                assert!(!is_auth_failure(status, body), "{status} {body:?}");
            }
        }
    }
}
