//! The refresh function's input, validated from raw JSON.

use std::time::Duration;

use serde_json::Value;

use orange_token::error::ServiceError;
use orange_token::event;

/// What invoked the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The EventBridge schedule.
    Schedule,
    /// A direct invocation (get-token, an operator).
    Direct,
}

/// A validated refresh request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshRequest {
    pub trigger: Trigger,
    pub force: bool,
    pub min_ttl: Duration,
}

impl RefreshRequest {
    /// Accepts an EventBridge scheduled event (`"source": "aws.events"`, other fields ignored)
    /// or an object with at most `force` (boolean) and `min_ttl_seconds` (0 to 1800).
    pub fn from_event(event: &Value) -> Result<Self, ServiceError> {
        let fields = event::fields(event)?;
        if fields.get("source").and_then(Value::as_str) == Some("aws.events") {
            return Ok(Self {
                trigger: Trigger::Schedule,
                force: false,
                min_ttl: Duration::ZERO,
            });
        }
        let mut request = Self {
            trigger: Trigger::Direct,
            force: false,
            min_ttl: Duration::ZERO,
        };
        for (name, value) in fields {
            match name.as_str() {
                "force" => {
                    request.force = value
                        .as_bool()
                        .ok_or_else(|| event::wrong_type("force", "a boolean", value))?;
                }
                "min_ttl_seconds" => {
                    request.min_ttl = Duration::from_secs(event::min_ttl_seconds(value)?.into());
                }
                other => return Err(event::unknown_field(other, "force and min_ttl_seconds")),
            }
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn error_of(event: Value) -> String {
        match RefreshRequest::from_event(&event) {
            Err(ServiceError::InvalidRequest(message)) => message,
            other => panic!("expected InvalidRequest for {event}, got {other:?}"),
        }
    }

    #[test]
    fn a_scheduled_event_is_accepted_whatever_its_other_fields() {
        let event = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event",
            "source": "aws.events", "time": "2026-11-26T22:00:00Z", "resources": ["arn"], "detail": {}});
        let request = RefreshRequest::from_event(&event).unwrap();
        assert_eq!(request.trigger, Trigger::Schedule);
        assert!(!request.force);
    }

    #[test]
    fn direct_requests_take_force_and_min_ttl() {
        assert_eq!(
            RefreshRequest::from_event(&json!({})).unwrap(),
            RefreshRequest {
                trigger: Trigger::Direct,
                force: false,
                min_ttl: Duration::ZERO
            }
        );
        let request =
            RefreshRequest::from_event(&json!({"force": true, "min_ttl_seconds": 1800})).unwrap();
        assert!(request.force);
        assert_eq!(request.min_ttl, Duration::from_secs(1800));
    }

    #[test]
    fn anything_else_is_an_invalid_request_naming_the_field() {
        assert!(error_of(json!({"force": "yes"})).contains("force"));
        assert!(error_of(json!({"min_ttl_seconds": 1801})).contains("min_ttl_seconds"));
        assert!(error_of(json!({"min_ttl_seconds": -1})).contains("min_ttl_seconds"));
        assert!(error_of(json!({"min_ttl_seconds": 1.5})).contains("min_ttl_seconds"));
        assert!(error_of(json!({"min_ttl_seconds": "60"})).contains("min_ttl_seconds"));
        assert!(error_of(json!({"forse": true})).contains("forse"));
        assert!(error_of(json!({"source": "aws.s3"})).contains("source"));
        assert!(error_of(json!([1])).contains("an array"));
        assert!(error_of(json!("force")).contains("a string"));
        assert!(error_of(Value::Null).contains("null"));
    }
}
