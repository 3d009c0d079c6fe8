//! Audit events, exactly as the contract lists them: one JSON line each with
//! `audit: true`, `event`, `request_id`, `function_name`, `timestamp` and the event's fields.
//! No event carries a token or a credential: tokens are named by `token_id`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::envelope::rfc3339;
use crate::log_sink::LogSink;
use crate::renewal::RefreshReason;

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
    /// refresh refused the forced renewal as `recent`: no token was served.
    RateLimited,
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
        /// `missing`, `expiring`, `credentials_changed` or `forced`.
        reason: RefreshReason,
        /// `schedule` for a scheduled run, the request's `caller`, else `None`.
        caller: Option<String>,
    },
    TokenGenerationFailed {
        error_class: &'static str,
        http_status: Option<u16>,
        attempts: u32,
    },
    TokenRefreshSkipped {
        token_id: String,
        expires_in: i64,
        /// `fresh` or `recent`.
        reason: RefreshReason,
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
    pub fn name(&self) -> &'static str {
        match self {
            Self::TokenGenerated { .. } => "TOKEN_GENERATED",
            Self::TokenGenerationFailed { .. } => "TOKEN_GENERATION_FAILED",
            Self::TokenRefreshSkipped { .. } => "TOKEN_REFRESH_SKIPPED",
            Self::TokenStored { .. } => "TOKEN_STORED",
            Self::TokenStoreFailed { .. } => "TOKEN_STORE_FAILED",
            Self::TokenServed { .. } => "TOKEN_SERVED",
            Self::TokenRefreshRequested { .. } => "TOKEN_REFRESH_REQUESTED",
            Self::TokenUnavailable { .. } => "TOKEN_UNAVAILABLE",
            Self::HealthChecked { .. } => "HEALTH_CHECKED",
        }
    }
}

/// One audit line as written: the common fields, then the event's (borrowed, so
/// writing a line builds no intermediate map).
#[derive(Serialize)]
struct AuditLine<'a> {
    level: &'static str,
    audit: bool,
    request_id: &'a str,
    function_name: &'a str,
    timestamp: String,
    #[serde(flatten)]
    event: &'a AuditEvent,
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
        self.sink.write_line(&self.line(request_id, at, &event));
    }

    /// Where this log writes.
    pub fn sink(&self) -> &LogSink {
        &self.sink
    }

    /// The JSON line [`AuditLog::emit`] writes for `event`, unwritten (to write it with
    /// another line: [`LogSink::write_both`]). Serialising these plain fields cannot fail; if it ever
    /// did, the line still says which event was lost.
    pub fn line(&self, request_id: &str, at: DateTime<Utc>, event: &AuditEvent) -> String {
        let line = AuditLine {
            level: "INFO",
            audit: true,
            request_id,
            function_name: &self.function_name,
            timestamp: rfc3339(at),
            event,
        };
        serde_json::to_string(&line).unwrap_or_else(|error| {
            serde_json::json!({
                "level": "ERROR",
                "audit": true,
                "event": event.name(),
                "message": format!("audit line not serialisable: {error}"),
            })
            .to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

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
                reason: RefreshReason::CredentialsChanged,
                caller: Some("schedule".into()),
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
        assert_eq!(line["reason"], "credentials_changed");
        assert_eq!(line["caller"], "schedule");
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
        let limited = AuditEvent::TokenRefreshRequested {
            caller: None,
            rejected_token_id: Some("a".into()),
            outcome: RefreshOutcome::RateLimited,
        };
        assert_eq!(
            serde_json::to_value(&limited).unwrap()["outcome"],
            "rate_limited"
        );
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

    #[test]
    fn every_event_name_is_the_name_written_in_its_line() {
        let events = [
            AuditEvent::TokenGenerated {
                token_id: "a".into(),
                expires_at: "b".into(),
                scope: Some("c".into()),
                attempts: 1,
                latency_ms: 2,
                reason: RefreshReason::Forced,
                caller: None,
            },
            AuditEvent::TokenGenerationFailed {
                error_class: "UpstreamUnavailable",
                http_status: Some(503),
                attempts: 5,
            },
            AuditEvent::TokenRefreshSkipped {
                token_id: "a".into(),
                expires_in: 3,
                reason: RefreshReason::Recent,
            },
            AuditEvent::TokenStored {
                token_id: "a".into(),
                parameter_name: "/p".into(),
                parameter_version: 4,
            },
            AuditEvent::TokenStoreFailed {
                token_id: None,
                parameter_name: "/p".into(),
                error: "e".into(),
            },
            AuditEvent::TokenServed {
                token_id: "a".into(),
                caller: Some("c".into()),
                source: TokenSource::Store,
                expires_in: 5,
            },
            AuditEvent::TokenRefreshRequested {
                caller: None,
                rejected_token_id: Some("a".into()),
                outcome: RefreshOutcome::Renewed,
            },
            AuditEvent::TokenUnavailable {
                caller: None,
                reason: "r".into(),
            },
            AuditEvent::HealthChecked {
                healthy: false,
                expires_in: None,
            },
        ];
        let (sink, lines) = LogSink::memory();
        let audit = AuditLog::new(sink, "get-token");
        for event in &events {
            audit.emit("req-9", Utc::now(), event.clone());
        }
        let lines = lines.lock().unwrap();
        for (event, line) in events.iter().zip(lines.iter()) {
            let line: Value = serde_json::from_str(line).unwrap();
            assert_eq!(line["event"], event.name());
            assert_eq!(line["audit"], true);
            assert_eq!(line["request_id"], "req-9");
            assert_eq!(line["function_name"], "get-token");
        }
        assert_eq!(lines.len(), events.len());
    }
}
