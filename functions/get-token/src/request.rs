//! get-token's input, validated from raw JSON into the shared
//! [`GetTokenRequest`](orange_token::protocol::GetTokenRequest).
//!
//! Error messages name the field at fault and its JSON type, never its value: a caller
//! that passes its token in the wrong field must not find it in an error or a log line.

use serde_json::Value;

use orange_token::error::ServiceError;
use orange_token::event::{self, invalid};
use orange_token::protocol::{Action, GetTokenRequest};

pub use orange_token::event::{MAX_CALLER_CHARS, MAX_MIN_TTL_SECONDS};
/// The longest `rejected_token_id` accepted. A `token_id` is 12 hex digits; anything
/// much longer is more likely a token passed by mistake than an id.
pub const MAX_TOKEN_ID_CHARS: usize = 64;

/// Validates a get-token event: a JSON object with at most the fields `action`
/// (`get`, `refresh` or `status`), `min_ttl_seconds` (whole number, 0 to 1800),
/// `rejected_token_id` (hex digits) and `caller` (1 to [`MAX_CALLER_CHARS`] printable
/// characters). `{}` is `get`. `rejected_token_id` is lower-cased.
pub fn parse_request(event: &Value) -> Result<GetTokenRequest, ServiceError> {
    let fields = event::fields(event)?;
    let mut request = GetTokenRequest::default();
    for (name, value) in fields {
        match name.as_str() {
            "action" => request.action = action(value)?,
            "min_ttl_seconds" => request.min_ttl_seconds = Some(event::min_ttl_seconds(value)?),
            "rejected_token_id" => request.rejected_token_id = Some(rejected_token_id(value)?),
            "caller" => request.caller = Some(event::caller(value)?),
            other => {
                return Err(event::unknown_field(
                    other,
                    "action, min_ttl_seconds, rejected_token_id and caller",
                ));
            }
        }
    }
    Ok(request)
}

fn action(value: &Value) -> Result<Action, ServiceError> {
    let Some(name) = value.as_str() else {
        return Err(event::wrong_type("action", "a string", value));
    };
    match name {
        "get" => Ok(Action::Get),
        "refresh" => Ok(Action::Refresh),
        "status" => Ok(Action::Status),
        _ => Err(invalid(
            "action must be one of get, refresh and status".to_owned(),
        )),
    }
}

fn rejected_token_id(value: &Value) -> Result<String, ServiceError> {
    let Some(id) = value.as_str() else {
        return Err(event::wrong_type("rejected_token_id", "a string", value));
    };
    let looks_like_an_id = !id.is_empty()
        && id.len() <= MAX_TOKEN_ID_CHARS
        && id.chars().all(|c| c.is_ascii_hexdigit());
    if !looks_like_an_id {
        return Err(invalid(
            "rejected_token_id must be the token_id of the rejected token (hex digits, e.g. 3f9a1c0b7d2e), not the token"
                .to_owned(),
        ));
    }
    Ok(id.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message_of(event: Value) -> String {
        match parse_request(&event) {
            Err(ServiceError::InvalidRequest(message)) => message,
            other => panic!("expected InvalidRequest for {event}, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_object_is_a_get() {
        assert_eq!(
            parse_request(&json!({})).unwrap(),
            GetTokenRequest::default()
        );
        assert_eq!(parse_request(&json!({})).unwrap().action, Action::Get);
    }

    #[test]
    fn every_field_is_read() {
        let request = parse_request(&json!({
            "action": "refresh",
            "min_ttl_seconds": 1800,
            "rejected_token_id": "3F9A1C0B7D2E",
            "caller": "sms-sender"
        }))
        .unwrap();
        assert_eq!(
            request,
            GetTokenRequest {
                action: Action::Refresh,
                min_ttl_seconds: Some(1800),
                rejected_token_id: Some("3f9a1c0b7d2e".to_owned()),
                caller: Some("sms-sender".to_owned()),
            }
        );
        assert_eq!(
            parse_request(&json!({"action": "status"})).unwrap().action,
            Action::Status
        );
        assert_eq!(
            parse_request(&json!({"action": "get", "min_ttl_seconds": 0}))
                .unwrap()
                .min_ttl_seconds,
            Some(0)
        );
    }

    #[test]
    fn what_the_caller_library_sends_is_accepted() {
        let sent = GetTokenRequest {
            action: Action::Refresh,
            min_ttl_seconds: Some(300),
            rejected_token_id: Some("3f9a1c0b7d2e".to_owned()),
            caller: Some("sms-sender".to_owned()),
        };
        let event = serde_json::to_value(&sent).unwrap();
        assert_eq!(parse_request(&event).unwrap(), sent);
    }

    #[test]
    fn a_caller_longer_than_the_limit_or_with_control_characters_is_refused() {
        let longest = "x".repeat(MAX_CALLER_CHARS);
        let request = parse_request(&json!({ "caller": longest })).unwrap();
        assert_eq!(request.caller.as_deref(), Some(longest.as_str()));
        for caller in [
            "x".repeat(MAX_CALLER_CHARS + 1),
            "sms\r\nFAKE LINE".to_owned(),
            String::new(),
        ] {
            let message = message_of(json!({ "caller": caller }));
            assert!(message.contains("caller"), "{message}");
        }
    }

    #[test]
    fn bad_fields_are_invalid_requests_naming_the_field() {
        assert!(message_of(json!({"action": "delete"})).contains("action"));
        assert!(message_of(json!({"action": "GET"})).contains("action"));
        assert!(message_of(json!({"action": 1})).contains("action"));
        assert!(message_of(json!({"min_ttl_seconds": 1801})).contains("min_ttl_seconds"));
        assert!(message_of(json!({"min_ttl_seconds": -1})).contains("min_ttl_seconds"));
        assert!(message_of(json!({"min_ttl_seconds": 1.5})).contains("min_ttl_seconds"));
        assert!(message_of(json!({"min_ttl_seconds": "300"})).contains("min_ttl_seconds"));
        assert!(message_of(json!({"min_ttl_seconds": null})).contains("min_ttl_seconds"));
        assert!(message_of(json!({"rejected_token_id": 12})).contains("rejected_token_id"));
        assert!(message_of(json!({"rejected_token_id": ""})).contains("rejected_token_id"));
        assert!(message_of(json!({"caller": ["a"]})).contains("caller"));
        assert!(message_of(json!({"token": "x"})).contains("token"));
    }

    #[test]
    fn non_objects_are_invalid_requests_naming_their_type() {
        assert!(message_of(json!([])).contains("an array"));
        assert!(message_of(json!("get")).contains("a string"));
        assert!(message_of(json!(3)).contains("a number"));
        assert!(message_of(Value::Null).contains("null"));
    }

    #[test]
    fn errors_never_echo_long_values() {
        let token = "eyJhbGciOiJSUzI1NiJ9.secret-token-value-0123456789";
        for event in [
            json!({"rejected_token_id": token}),
            json!({"action": token}),
            json!({"min_ttl_seconds": token}),
            json!({"caller": {"token": token}}),
            json!({"rejected_token_id": "ab".repeat(40)}),
        ] {
            let message = message_of(event.clone());
            assert!(!message.contains("secret-token-value"), "{message}");
            assert!(!message.contains(&"ab".repeat(40)), "{message}");
        }
        let long_name = "n".repeat(500);
        let message = message_of(json!({ long_name.clone(): 1 }));
        assert!(!message.contains(&long_name));
        assert!(message.contains(&"n".repeat(64)));
    }
}
