//! CloudWatch Embedded Metric Format: each metric record is one JSON log line that
//! CloudWatch turns into metrics, in namespace [`NAMESPACE`] with the dimension
//! `FunctionName`. template.yaml's alarms watch these names.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::audit::TokenSource;
use crate::log_sink::LogSink;

pub const NAMESPACE: &str = "OrangeTokenService";

/// A CloudWatch unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Seconds,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
            Self::Seconds => "Seconds",
        }
    }
}

/// Writes metric records for one function.
#[derive(Debug, Clone)]
pub struct Metrics {
    sink: LogSink,
    function_name: String,
}

impl Metrics {
    pub fn new(sink: LogSink, function_name: impl Into<String>) -> Self {
        Self {
            sink,
            function_name: function_name.into(),
        }
    }

    /// A renewal succeeded, or the stored token was fresh: `remaining_seconds` is the
    /// stored token's life left.
    pub fn refresh_succeeded(&self, at: DateTime<Utc>, remaining_seconds: i64) {
        self.emit(
            at,
            &[
                ("RefreshSuccess", 1, Unit::Count),
                (
                    "TokenRemainingLifetime",
                    remaining_seconds.max(0),
                    Unit::Seconds,
                ),
            ],
            &[],
        );
    }

    /// A refresh failed. `remaining_seconds` is the life left of the token still stored
    /// (0 when there is none or it could not be read), so the lifetime alarm sees it.
    pub fn refresh_failed(
        &self,
        at: DateTime<Utc>,
        error_type: &str,
        remaining_seconds: Option<i64>,
    ) {
        self.emit(
            at,
            &[
                ("RefreshFailure", 1, Unit::Count),
                (
                    "TokenRemainingLifetime",
                    remaining_seconds.unwrap_or(0).max(0),
                    Unit::Seconds,
                ),
            ],
            &[("ErrorType", error_type.into())],
        );
    }

    /// One completed exchange with the token endpoint.
    pub fn token_endpoint(&self, at: DateTime<Utc>, latency_ms: u64, attempts: u32) {
        self.emit(
            at,
            &[
                (
                    "TokenEndpointLatency",
                    i64::try_from(latency_ms).unwrap_or(i64::MAX),
                    Unit::Milliseconds,
                ),
                ("TokenEndpointAttempts", i64::from(attempts), Unit::Count),
            ],
            &[],
        );
    }

    /// get-token served a token.
    pub fn token_served(&self, at: DateTime<Utc>, source: TokenSource, remaining_seconds: i64) {
        let source = match source {
            TokenSource::Memory => "memory",
            TokenSource::Store => "store",
        };
        self.emit(
            at,
            &[("TokenServed", 1, Unit::Count)],
            &[
                ("Source", source.into()),
                ("ServedTokenRemainingLifetime", remaining_seconds.into()),
            ],
        );
    }

    /// get-token had no servable token.
    pub fn token_unavailable(&self, at: DateTime<Utc>) {
        self.emit(at, &[("TokenUnavailable", 1, Unit::Count)], &[]);
    }

    /// The stored token's life left, as a health check saw it.
    pub fn remaining_lifetime(&self, at: DateTime<Utc>, remaining_seconds: i64) {
        self.emit(
            at,
            &[(
                "TokenRemainingLifetime",
                remaining_seconds.max(0),
                Unit::Seconds,
            )],
            &[],
        );
    }

    fn emit(&self, at: DateTime<Utc>, values: &[(&str, i64, Unit)], properties: &[(&str, Value)]) {
        let definitions: Vec<Value> = values
            .iter()
            .map(|(name, _, unit)| json!({"Name": name, "Unit": unit.name()}))
            .collect();
        let mut record = Map::new();
        record.insert(
            "_aws".into(),
            json!({
                "Timestamp": at.timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["FunctionName"]],
                    "Metrics": definitions,
                }],
            }),
        );
        record.insert("FunctionName".into(), self.function_name.as_str().into());
        for (name, value, _) in values {
            record.insert((*name).into(), (*value).into());
        }
        for (name, value) in properties {
            record.insert((*name).into(), value.clone());
        }
        self.sink.write_line(&Value::Object(record).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_follows_the_embedded_metric_format() {
        let (sink, lines) = LogSink::memory();
        let metrics = Metrics::new(sink, "orange-refresh");
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        metrics.refresh_failed(at, "UpstreamUnavailable", Some(-30));
        let lines = lines.lock().unwrap();
        let record: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(record["_aws"]["Timestamp"], 1_800_000_000_000i64);
        let directive = &record["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "OrangeTokenService");
        assert_eq!(directive["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "RefreshFailure", "Unit": "Count"},
                   {"Name": "TokenRemainingLifetime", "Unit": "Seconds"}])
        );
        assert_eq!(record["FunctionName"], "orange-refresh");
        assert_eq!(record["RefreshFailure"], 1);
        assert_eq!(record["TokenRemainingLifetime"], 0);
        assert_eq!(record["ErrorType"], "UpstreamUnavailable");
    }
}
