//! Audit events, exactly as the contract lists them: one JSON line each with
//! `audit: true`, `event`, `request_id`, `function_name`, `timestamp` and the event's fields.
//! No event carries a token or a credential: tokens are named by `token_id`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::envelope::rfc3339;
use crate::log_sink::LogSink;

/// Where a served token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenSource {
    Memory,
    Store,
}

/// What a `refresh` action of get-token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshOutcome {
    Renewed,
    AlreadyRenewed,
}

/// The contract's audit events and their fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditEvent {
    TokenGenerated {
        token_id: String,
        expires_at: String,
        scope: Option<String>,
        attempts: u32,
        latency_ms: u64,
    },
    TokenGenerationFailed {
        error_class: &'static str,
        http_status: Option<u16>,
        attempts: u32,
    },
    TokenRefreshSkipped {
        token_id: String,
        expires_in: i64,
    },
    TokenStored {
        token_id: String,
        parameter_name: String,
        parameter_version: i64,
    },
    TokenStoreFailed {
        token_id: Option<String>,
        parameter_name: String,
        error: String,
    },
    TokenServed {
        token_id: String,
        caller: Option<String>,
        source: TokenSource,
        expires_in: i64,
    },
    TokenRefreshRequested {
        caller: Option<String>,
        rejected_token_id: Option<String>,
        outcome: RefreshOutcome,
    },
    TokenUnavailable {
        caller: Option<String>,
        reason: String,
    },
    HealthChecked {
        healthy: bool,
        expires_in: Option<i64>,
    },
}

impl AuditEvent {
    /// The event's name, e.g. `TOKEN_GENERATED`.
    pub fn name(&self) -> String {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map
                .get("event")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        }
    }
}

/// Writes audit events for one function.
#[derive(Debug, Clone)]
pub struct AuditLog {
    sink: LogSink,
    function_name: String,
}

impl AuditLog {
    pub fn new(sink: LogSink, function_name: impl Into<String>) -> Self {
        Self {
            sink,
            function_name: function_name.into(),
        }
    }

    pub fn emit(&self, request_id: &str, at: DateTime<Utc>, event: AuditEvent) {
        self.sink
            .write_line(&self.line(request_id, at, &event).to_string());
    }

    fn line(&self, request_id: &str, at: DateTime<Utc>, event: &AuditEvent) -> Value {
        let mut line = Map::new();
        line.insert("level".into(), "INFO".into());
        line.insert("audit".into(), true.into());
        line.insert("request_id".into(), request_id.into());
        line.insert("function_name".into(), self.function_name.as_str().into());
        line.insert("timestamp".into(), rfc3339(at).into());
        if let Ok(Value::Object(fields)) = serde_json::to_value(event) {
            line.extend(fields);
        }
        Value::Object(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_one_json_line_with_the_contract_fields() {
        let (sink, lines) = LogSink::memory();
        let audit = AuditLog::new(sink, "refresh");
        let at = DateTime::parse_from_rfc3339("2026-11-26T22:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        audit.emit(
            "req-1",
            at,
            AuditEvent::TokenGenerated {
                token_id: "3f9a1c0b7d2e".into(),
                expires_at: "2026-11-26T23:00:00Z".into(),
                scope: None,
                attempts: 2,
                latency_ms: 81,
            },
        );
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1);
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["audit"], true);
        assert_eq!(line["event"], "TOKEN_GENERATED");
        assert_eq!(line["request_id"], "req-1");
        assert_eq!(line["function_name"], "refresh");
        assert_eq!(line["timestamp"], "2026-11-26T22:00:00Z");
        assert_eq!(line["token_id"], "3f9a1c0b7d2e");
        assert_eq!(line["scope"], Value::Null);
        assert_eq!(line["attempts"], 2);
        assert_eq!(line["latency_ms"], 81);
    }

    #[test]
    fn event_names_are_screaming_snake_case() {
        let event = AuditEvent::TokenRefreshRequested {
            caller: Some("sms-sender".into()),
            rejected_token_id: None,
            outcome: RefreshOutcome::AlreadyRenewed,
        };
        assert_eq!(event.name(), "TOKEN_REFRESH_REQUESTED");
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(value["outcome"], "already_renewed");
        let served = AuditEvent::TokenServed {
            token_id: "x".into(),
            caller: None,
            source: TokenSource::Memory,
            expires_in: 10,
        };
        assert_eq!(serde_json::to_value(&served).unwrap()["source"], "memory");
        assert_eq!(
            AuditEvent::HealthChecked {
                healthy: true,
                expires_in: Some(1)
            }
            .name(),
            "HEALTH_CHECKED"
        );
    }
}
