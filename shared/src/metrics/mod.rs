//! CloudWatch Embedded Metric Format: each metric record is one JSON log line that
//! CloudWatch turns into metrics, in namespace [`NAMESPACE`] with the dimension
//! `FunctionName`. template.yaml's alarms watch these names.

mod record;
mod served_template;

use chrono::{DateTime, Utc};

use crate::audit::TokenSource;
use crate::log_sink::LogSink;

use record::Unit;

use record::{Property, Record};
use served_template::ServedTemplate;

pub const NAMESPACE: &str = "OrangeTokenService";

/// Writes metric records for one function.
#[derive(Debug, Clone)]
pub struct Metrics {
    sink: LogSink,
    function_name: String,
    /// `TokenServed`'s record, rendered once around its variable values.
    served: Option<ServedTemplate>,
}

impl Metrics {
    pub fn new(sink: LogSink, function_name: impl Into<String>) -> Self {
        let mut metrics = Self {
            sink,
            function_name: function_name.into(),
            served: None,
        };
        metrics.served = ServedTemplate::new(&metrics);
        metrics
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
            &[("ErrorType", Property::Text(error_type))],
        );
    }

    /// One completed exchange with the token endpoint: its latency (every attempt and
    /// wait included) and how many attempts it took.
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

    /// Token requests sent to the endpoint by one renewal (`attempts`), with how the
    /// last one ended (`success`, or the failure's class). `TokenRequests` is counted
    /// per function and per function and outcome: the storm alarm watches the first.
    pub fn token_requests(&self, at: DateTime<Utc>, attempts: u32, outcome: &str) {
        let values = [("TokenRequests", i64::from(attempts), Unit::Count)];
        if let Some(line) =
            self.record_with_outcome(at.timestamp_millis(), &values, &[], Some(outcome))
        {
            self.sink.write_line(&line);
        }
    }

    /// get-token served a token: the record, unwritten (get-token writes it with its
    /// audit line: [`LogSink::write_both`]).
    pub fn token_served_record(
        &self,
        at: DateTime<Utc>,
        source: TokenSource,
        remaining_seconds: i64,
    ) -> Option<String> {
        let source = source_name(source);
        let timestamp_ms = at.timestamp_millis();
        match &self.served {
            Some(template) => Some(template.render(timestamp_ms, source, remaining_seconds)),
            None => self.served_record(timestamp_ms, source, remaining_seconds),
        }
    }

    /// `TokenServed`'s record through the serialiser (what the template is made from).
    fn served_record(
        &self,
        timestamp_ms: i64,
        source: &str,
        remaining_seconds: i64,
    ) -> Option<String> {
        self.record(
            timestamp_ms,
            &[("TokenServed", 1, Unit::Count)],
            &[
                ("Source", Property::Text(source)),
                (
                    "ServedTokenRemainingLifetime",
                    Property::Number(remaining_seconds),
                ),
            ],
        )
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

    /// Where these metrics are written.
    pub fn sink(&self) -> &LogSink {
        &self.sink
    }

    fn emit(
        &self,
        at: DateTime<Utc>,
        values: &[(&str, i64, Unit)],
        properties: &[(&str, Property<'_>)],
    ) {
        if let Some(line) = self.record(at.timestamp_millis(), values, properties) {
            self.sink.write_line(&line);
        }
    }

    /// One record's line. Serialising strings and integers into a String cannot fail; a
    /// record that somehow did is dropped (metrics never fail an invocation).
    fn record(
        &self,
        timestamp_ms: i64,
        values: &[(&str, i64, Unit)],
        properties: &[(&str, Property<'_>)],
    ) -> Option<String> {
        self.record_with_outcome(timestamp_ms, values, properties, None)
    }

    fn record_with_outcome(
        &self,
        timestamp_ms: i64,
        values: &[(&str, i64, Unit)],
        properties: &[(&str, Property<'_>)],
        outcome: Option<&str>,
    ) -> Option<String> {
        let record = Record {
            timestamp_ms,
            function_name: &self.function_name,
            outcome,
            values,
            properties,
        };
        serde_json::to_string(&record).ok()
    }
}

fn source_name(source: TokenSource) -> &'static str {
    match source {
        TokenSource::Memory => "memory",
        TokenSource::Store => "store",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

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

    #[test]
    fn token_requests_are_counted_per_function_and_per_outcome() {
        let (sink, lines) = LogSink::memory();
        let metrics = Metrics::new(sink, "orange-refresh");
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        metrics.token_requests(at, 3, "rejected");
        let record: Value = serde_json::from_str(&lines.lock().unwrap()[0]).unwrap();
        let directive = &record["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(
            directive["Dimensions"],
            json!([["FunctionName"], ["FunctionName", "Outcome"]])
        );
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "TokenRequests", "Unit": "Count"}])
        );
        assert_eq!(record["TokenRequests"], 3);
        assert_eq!(record["Outcome"], "rejected");
        assert_eq!(record["FunctionName"], "orange-refresh");
    }

    #[test]
    fn a_served_token_is_counted_with_its_source_and_life_left() {
        let (sink, _) = LogSink::memory();
        let metrics = Metrics::new(sink, "orange-get-token");
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let records: Vec<Value> = [(TokenSource::Memory, 2_400), (TokenSource::Store, 3_000)]
            .into_iter()
            .map(|(source, remaining)| metrics.token_served_record(at, source, remaining))
            .map(|record| serde_json::from_str(&record.unwrap()).unwrap())
            .collect();
        assert_eq!(
            records[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "TokenServed", "Unit": "Count"}])
        );
        assert_eq!(records[0]["TokenServed"], 1);
        assert_eq!(records[0]["Source"], "memory");
        assert_eq!(records[0]["ServedTokenRemainingLifetime"], 2_400);
        assert_eq!(records[0]["FunctionName"], "orange-get-token");
        assert_eq!(records[1]["Source"], "store");
        assert_eq!(records[1]["ServedTokenRemainingLifetime"], 3_000);
    }

    #[test]
    fn the_served_template_writes_what_the_serialiser_writes() {
        let (sink, _) = LogSink::memory();
        let metrics = Metrics::new(sink, "orange-\"get-token\"\\");
        let template = metrics.served.clone().expect("the template is built");
        for timestamp_ms in [0, 1_800_000_000_123, -5, i64::MAX] {
            for source in [TokenSource::Memory, TokenSource::Store] {
                for remaining in [0, 2_400, -30, i64::MIN] {
                    let source = source_name(source);
                    assert_eq!(
                        Some(template.render(timestamp_ms, source, remaining)),
                        metrics.served_record(timestamp_ms, source, remaining)
                    );
                }
            }
        }
    }
}
