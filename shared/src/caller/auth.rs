//! Recognising that Orange rejected a request because of its token.

use serde_json::Value;

/// True when an answer from one of Orange's APIs says the access token was refused,
/// so that renewing the token and retrying once can help.
///
/// An answer is an authentication failure when:
/// - its status is HTTP 401; or
/// - its status is HTTP 403, unless its body is a JSON object whose
///   `requestError.policyException` is an object (Orange's policy refusals, `POL....`
///   ids: no credit left, number not allowed, rate of the offer exceeded...: a new
///   token cannot fix them, and counting them would force a renewal of the token shared
///   by every caller on each such refusal); or
/// - its status is another error (400 and above) and its body is a JSON object with
///   - OAuth's (RFC 6750) `"error"` equal to `"invalid_token"` or `"expired_token"`, or
///   - Orange's `"code"` equal to 40, 41 or 42 (missing, invalid or expired
///     credentials), as a number or a string of digits, or
///   - `requestError.serviceException.messageId` equal to `"SVC0001"`.
///
/// A 1xx, 2xx or 3xx answer is never an authentication failure, whatever its body:
/// treating a success as a failure would retry, and send an SMS twice.
///
/// A body that is not JSON (HTML from a gateway or a WAF, empty, truncated) counts only
/// by its status. The cases are in `clients/cases/auth-failures.json`, which the Rust,
/// TypeScript and Python libraries' tests all read.
pub fn is_auth_failure(status: u16, body: &[u8]) -> bool {
    match status {
        401 => true,
        403 => !is_policy_refusal(body),
        400.. => {
            serde_json::from_slice::<Value>(body).is_ok_and(|body| body_names_auth_failure(&body))
        }
        _ => false,
    }
}

fn is_policy_refusal(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|body| {
        body.pointer("/requestError/policyException")
            .is_some_and(Value::is_object)
    })
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
    use base64::Engine;
    use serde::Deserialize;

    use super::*;

    /// One case of `clients/cases/auth-failures.json`.
    #[derive(Deserialize)]
    struct Case {
        name: String,
        status: u16,
        #[serde(default)]
        body: Option<String>,
        #[serde(default)]
        body_base64: Option<String>,
        auth_failure: bool,
    }

    #[derive(Deserialize)]
    struct Cases {
        cases: Vec<Case>,
    }

    #[test]
    fn every_case_of_the_shared_table_is_classified_as_it_says() {
        let table: Cases =
            serde_json::from_str(include_str!("../../../clients/cases/auth-failures.json"))
                .expect("the shared table is JSON of its documented shape");
        assert!(table.cases.len() >= 50, "the table lost cases");
        for case in &table.cases {
            let body = match (&case.body, &case.body_base64) {
                (Some(text), None) => text.as_bytes().to_vec(),
                (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .expect("body_base64 is base64"),
                _ => panic!("{}: exactly one of body and body_base64", case.name),
            };
            assert_eq!(
                is_auth_failure(case.status, &body),
                case.auth_failure,
                "{}",
                case.name
            );
        }
    }
}
