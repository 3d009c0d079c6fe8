//! Validation shared by the functions' raw-JSON events. Messages name the field at
//! fault and its JSON type, never its value: a caller that passes a token in the wrong
//! field must not find it in an error or a log line.

use serde_json::{Map, Value};

use crate::error::ServiceError;

/// The largest `min_ttl_seconds` either function accepts (the contract's 1800).
pub const MAX_MIN_TTL_SECONDS: u32 = 1800;

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
