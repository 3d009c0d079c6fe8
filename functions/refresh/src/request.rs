//! The refresh function's input, validated from raw JSON.

use std::time::Duration;

use serde_json::Value;

use orange_token::error::ServiceError;
use orange_token::event;
use orange_token::renewal::RenewalAsk;

/// What the schedule's runs are recorded as (`caller` of `TOKEN_GENERATED`); the
/// template's schedule also sends it as its input's `caller`.
pub const SCHEDULE_CALLER: &str = "schedule";

/// A validated refresh request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefreshRequest {
    pub ask: RenewalAsk,
    /// Who asked: [`SCHEDULE_CALLER`] for a scheduled event, the `caller` field of a
    /// direct request, else `None`.
    pub caller: Option<String>,
}

impl RefreshRequest {
    /// Accepts an EventBridge scheduled event (`"source": "aws.events"`, other fields
    /// ignored) or an object with at most `force` (boolean), `min_ttl_seconds` (0 to
    /// 1800) and `caller` (1 to 128 printable characters).
    pub fn from_event(event: &Value) -> Result<Self, ServiceError> {
        let fields = event::fields(event)?;
        if fields.get("source").and_then(Value::as_str) == Some("aws.events") {
            return Ok(Self {
                ask: RenewalAsk::default(),
                caller: Some(SCHEDULE_CALLER.to_owned()),
            });
        }
        let mut request = Self::default();
        for (name, value) in fields {
            match name.as_str() {
                "force" => {
                    request.ask.force = value
                        .as_bool()
                        .ok_or_else(|| event::wrong_type("force", "a boolean", value))?;
                }
                "min_ttl_seconds" => {
                    request.ask.min_ttl =
                        Duration::from_secs(event::min_ttl_seconds(value)?.into());
                }
                "caller" => request.caller = Some(event::caller(value)?),
                other => {
                    return Err(event::unknown_field(
                        other,
                        "force, min_ttl_seconds and caller",
                    ));
                }
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
        assert_eq!(request.caller.as_deref(), Some(SCHEDULE_CALLER));
        assert!(!request.ask.force);
    }

    #[test]
    fn direct_requests_take_force_min_ttl_and_caller() {
        assert_eq!(
            RefreshRequest::from_event(&json!({})).unwrap(),
            RefreshRequest::default()
        );
        let request = RefreshRequest::from_event(
            &json!({"force": true, "min_ttl_seconds": 1800, "caller": "sms-sender"}),
        )
        .unwrap();
        assert!(request.ask.force);
        assert_eq!(request.ask.min_ttl, Duration::from_secs(1800));
        assert_eq!(request.caller.as_deref(), Some("sms-sender"));
        let scheduled = RefreshRequest::from_event(&json!({"caller": "schedule"})).unwrap();
        assert_eq!(scheduled.caller.as_deref(), Some(SCHEDULE_CALLER));
    }

    #[test]
    fn anything_else_is_an_invalid_request_naming_the_field() {
        assert!(error_of(json!({"force": "yes"})).contains("force"));
        assert!(error_of(json!({"min_ttl_seconds": 1801})).contains("min_ttl_seconds"));
        assert!(error_of(json!({"min_ttl_seconds": -1})).contains("min_ttl_seconds"));
        assert!(error_of(json!({"min_ttl_seconds": 1.5})).contains("min_ttl_seconds"));
        assert!(error_of(json!({"min_ttl_seconds": "60"})).contains("min_ttl_seconds"));
        assert!(error_of(json!({"forse": true})).contains("forse"));
        assert!(error_of(json!({"caller": ""})).contains("caller"));
        assert!(error_of(json!({"caller": "a\nb"})).contains("caller"));
        assert!(error_of(json!({"caller": 7})).contains("caller"));
        assert!(error_of(json!({"source": "aws.s3"})).contains("source"));
        assert!(error_of(json!([1])).contains("an array"));
        assert!(error_of(json!("force")).contains("a string"));
        assert!(error_of(Value::Null).contains("null"));
    }
}
