//! The answers of the faults that replace a token request's answer (the ones
//! that answer at all: [`Fault::Hang`], [`Fault::Delay`] and
//! [`Fault::ConnectionReset`] are the server's to carry out).

use serde_json::{Value, json};

use crate::fault::Fault;
use crate::http::{Body, Response};
use crate::orange_errors::{
    invalid_client, oauth_error, orange_code, orange_status, too_many_requests,
};
use crate::state::Shared;
use crate::token::new_token;

/// Whether a client following the contract accepts this `expires_in`.
fn valid_expires_in(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_u64().is_some_and(|v| v > 0),
        Value::String(s) => {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.bytes().any(|b| b != b'0')
        }
        _ => false,
    }
}

pub(crate) fn fault_answer(shared: &Shared, fault: Fault) -> Response {
    let expires_in = shared.config.expires_in;
    match fault {
        Fault::Status { status } => orange_status(status),
        Fault::TooManyRequests {
            retry_after_seconds,
        } => too_many_requests(retry_after_seconds),
        Fault::Html200 => Response {
            status: 200,
            content_type: Some("text/html; charset=utf-8".to_string()),
            headers: Vec::new(),
            body: Body::Bytes(
                b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head>\
                  <body><h1>Service under maintenance</h1></body></html>\n"
                    .to_vec(),
            ),
        },
        Fault::Empty200 => Response {
            status: 200,
            content_type: Some("application/json".to_string()),
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
        },
        Fault::MissingAccessToken => Response::json(
            200,
            &json!({"token_type": "Bearer", "expires_in": expires_in}),
        ),
        Fault::ExpiresIn {
            expires_in: raw_expires_in,
        } => {
            let token = new_token();
            if valid_expires_in(&raw_expires_in) {
                shared.issue(&token);
            }
            Response::json(
                200,
                &json!({"token_type": "Bearer", "access_token": token, "expires_in": raw_expires_in}),
            )
        }
        Fault::TokenType { token_type } => {
            let token = new_token();
            if token_type.eq_ignore_ascii_case("bearer") {
                shared.issue(&token);
            }
            Response::json(
                200,
                &json!({"token_type": token_type, "access_token": token, "expires_in": expires_in}),
            )
        }
        Fault::Oversized200 { bytes } => {
            let prefix = format!(
                r#"{{"token_type":"Bearer","access_token":"{}","expires_in":{expires_in},"padding":""#,
                new_token()
            )
            .into_bytes();
            let suffix = b"\"}".to_vec();
            let count = bytes.saturating_sub(prefix.len() + suffix.len());
            Response {
                status: 200,
                content_type: Some("application/json".to_string()),
                headers: Vec::new(),
                body: Body::Padded {
                    prefix,
                    fill: b'x',
                    count,
                    suffix,
                },
            }
        }
        Fault::InvalidClient => invalid_client(),
        Fault::InvalidRequest => oauth_error(
            400,
            "invalid_request",
            "The request is missing a required parameter or is otherwise malformed",
        ),
        Fault::OrangeCode { status, code } => orange_code(status, code),
        Fault::Raw {
            status,
            content_type,
            body,
        } => Response {
            status,
            // Header values cannot hold line breaks.
            content_type: content_type.map(|ct| ct.replace(['\r', '\n'], "")),
            headers: Vec::new(),
            body: Body::Bytes(body.into_bytes()),
        },
        // Handled by the caller; answering normally keeps this total.
        Fault::Hang | Fault::Delay { .. } | Fault::ConnectionReset => orange_status(500),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_validity() {
        assert!(valid_expires_in(&json!(3600)));
        assert!(valid_expires_in(&json!("3600")));
        assert!(!valid_expires_in(&json!(0)));
        assert!(!valid_expires_in(&json!("0")));
        assert!(!valid_expires_in(&json!(-5)));
        assert!(!valid_expires_in(&json!("abc")));
        assert!(!valid_expires_in(&json!("")));
        assert!(!valid_expires_in(&json!(3600.5)));
        assert!(!valid_expires_in(&json!(null)));
    }
}
