//! Validation shared by the functions' raw-JSON events. Messages name the field at
//! fault and its JSON type, never its value: a caller that passes a token in the wrong
//! field must not find it in an error or a log line.

use serde_json::{Map, Value};

use crate::error::ServiceError;

pub use crate::protocol::MAX_MIN_TTL_SECONDS;

/// The event's fields, or `InvalidRequest` for anything but a JSON object.
pub fn fields(event: &Value) -> Result<&Map<String, Value>, ServiceError> {
    match event {
        Value::Object(fields) => Ok(fields),
        other => Err(invalid(format!(
            "the event must be a JSON object, not {}",
            json_type(other)
        ))),
    }
}

/// `min_ttl_seconds`: a whole number from 0 to [`MAX_MIN_TTL_SECONDS`].
pub fn min_ttl_seconds(value: &Value) -> Result<u32, ServiceError> {
    value
        .as_u64()
        .and_then(|seconds| u32::try_from(seconds).ok())
        .filter(|seconds| *seconds <= MAX_MIN_TTL_SECONDS)
        .ok_or_else(|| {
            invalid(format!(
                "min_ttl_seconds must be a whole number from 0 to {MAX_MIN_TTL_SECONDS}"
            ))
        })
}

/// The longest `caller` accepted.
pub const MAX_CALLER_CHARS: usize = 128;

/// `caller`: who asked, for the audit log: 1 to [`MAX_CALLER_CHARS`] printable
/// characters. Control characters, line and paragraph separators and invisible
/// formatting characters (bidirectional overrides, zero-width characters) are refused:
/// a log line must show what it records.
pub fn caller(value: &Value) -> Result<String, ServiceError> {
    let name = value
        .as_str()
        .ok_or_else(|| wrong_type("caller", "a string", value))?;
    let length = name.chars().count();
    if length == 0 || length > MAX_CALLER_CHARS {
        return Err(invalid(format!(
            "caller must be 1 to {MAX_CALLER_CHARS} characters"
        )));
    }
    if !name.chars().all(is_printable) {
        return Err(invalid(
            "caller must hold printable characters only (no control, line-break or invisible formatting characters)"
                .to_owned(),
        ));
    }
    Ok(name.to_owned())
}

fn is_printable(c: char) -> bool {
    !c.is_control()
        && !matches!(c,
            '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}')
}

/// A field the event may not have, named (cut short) with the fields it may.
pub fn unknown_field(name: &str, expected: &str) -> ServiceError {
    invalid(format!(
        "unknown field {:?}: expected only {expected}",
        name.chars().take(64).collect::<String>()
    ))
}

/// A field of the wrong JSON type.
pub fn wrong_type(field: &str, expected: &str, value: &Value) -> ServiceError {
    invalid(format!(
        "{field} must be {expected}, not {}",
        json_type(value)
    ))
}

pub fn invalid(message: String) -> ServiceError {
    ServiceError::InvalidRequest(message)
}

/// JSON's name for a value's type.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_caller_is_1_to_128_printable_characters() {
        let longest = "é".repeat(MAX_CALLER_CHARS);
        for name in [
            "sms-sender",
            "Envoi SMS (prod) #2",
            "短信",
            longest.as_str(),
        ] {
            assert_eq!(caller(&json!(name)).unwrap(), name);
        }
        let too_long = "a".repeat(MAX_CALLER_CHARS + 1);
        for name in [
            "",
            too_long.as_str(),
            "sms\nsender",
            "sms\rsender",
            "sms\u{1b}[31msender",
            "sms\u{0}",
            "sms\u{7f}",
            "sms\u{85}",
            "sms\u{2028}sender",
            "sms\u{202e}rednes",
            "sms\u{200b}",
            "\u{feff}sms",
        ] {
            let error = caller(&json!(name)).unwrap_err();
            assert_eq!(error.error_type(), "InvalidRequest", "{name:?}");
            let message = error.to_string();
            assert!(message.contains("caller"), "{message}");
            assert!(
                !message.contains("sms"),
                "the value is not quoted: {message}"
            );
        }
        assert!(
            caller(&json!(42))
                .unwrap_err()
                .to_string()
                .contains("a number")
        );
    }
}
