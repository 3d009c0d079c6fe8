//! CloudWatch Embedded Metric Format: each metric record is one JSON log line that
//! CloudWatch turns into metrics, in namespace [`NAMESPACE`] with the dimension
//! `FunctionName`. template.yaml's alarms watch these names.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

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

/// `TokenServed`'s record (written on every warm get) as the serialiser renders it,
/// cut around its three variable values: the timestamp, the source and the life left.
/// Filling it in costs a few string copies instead of serialising the fixed `_aws`
/// metadata each time; the tests check it against the serialiser for many values.
#[derive(Debug, Clone)]
struct ServedTemplate {
    /// Before the timestamp, before the source, before the life left, after it.
    parts: [String; 4],
}

impl ServedTemplate {
    /// Values no real record has, to find where the real ones go.
    const TIMESTAMP: i64 = i64::MIN;
    const SOURCE: &'static str = "\u{1}";
    const REMAINING: i64 = i64::MAX;

    /// The template, or `None` (then records are serialised each time) if the rendered
    /// record does not hold each marker once, in order.
    fn new(metrics: &Metrics) -> Option<Self> {
        let record = metrics.served_record(Self::TIMESTAMP, Self::SOURCE, Self::REMAINING)?;
        let markers = [
            Self::TIMESTAMP.to_string(),
            // serde_json writes U+0001 as an escape.
            "\\u0001".to_owned(),
            Self::REMAINING.to_string(),
        ];
        let mut parts: [String; 4] = Default::default();
        let mut rest = record.as_str();
        for (part, marker) in parts.iter_mut().zip(&markers) {
            let (before, after) = rest.split_once(marker.as_str())?;
            if after.contains(marker.as_str()) {
                return None;
            }
            *part = before.to_owned();
            rest = after;
        }
        parts[3] = rest.to_owned();
        Some(Self { parts })
    }

    /// The record for these values. `source` is `memory` or `store`: nothing to escape.
    fn render(&self, timestamp_ms: i64, source: &str, remaining_seconds: i64) -> String {
        use std::fmt::Write;
        let [before_timestamp, before_source, before_remaining, after] = &self.parts;
        let mut line = String::with_capacity(
            before_timestamp.len()
                + before_source.len()
                + before_remaining.len()
                + after.len()
                + 48,
        );
        line.push_str(before_timestamp);
        let _ = write!(line, "{timestamp_ms}");
        line.push_str(before_source);
        line.push_str(source);
        line.push_str(before_remaining);
        let _ = write!(line, "{remaining_seconds}");
        line.push_str(after);
        line
    }
}

/// A non-metric field of a record (a property in EMF terms).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
enum Property<'a> {
    Text(&'a str),
    Number(i64),
}

/// One EMF record, serialised straight from borrowed values: the `_aws` metadata, the
/// `FunctionName` dimension, the metric values, then the properties.
struct Record<'a> {
    timestamp_ms: i64,
    function_name: &'a str,
    /// The `Outcome` dimension, beside `FunctionName` alone.
    outcome: Option<&'a str>,
    values: &'a [(&'a str, i64, Unit)],
    properties: &'a [(&'a str, Property<'a>)],
}

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(
            "_aws",
            &Metadata {
                timestamp: self.timestamp_ms,
                cloud_watch_metrics: [Directive {
                    namespace: NAMESPACE,
                    dimensions: if self.outcome.is_some() {
                        &[&["FunctionName"], &["FunctionName", "Outcome"]]
                    } else {
                        &[&["FunctionName"]]
                    },
                    metrics: Definitions(self.values),
                }],
            },
        )?;
        map.serialize_entry("FunctionName", self.function_name)?;
        if let Some(outcome) = self.outcome {
            map.serialize_entry("Outcome", outcome)?;
        }
        for (name, value, _) in self.values {
            map.serialize_entry(name, value)?;
        }
        for (name, property) in self.properties {
            map.serialize_entry(name, property)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata<'a> {
    timestamp: i64,
    cloud_watch_metrics: [Directive<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive<'a> {
    namespace: &'static str,
    dimensions: &'static [&'static [&'static str]],
    metrics: Definitions<'a>,
}

/// `[{"Name": ..., "Unit": ...}]` for each metric value.
struct Definitions<'a>(&'a [(&'a str, i64, Unit)]);

impl Serialize for Definitions<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Definition<'a> {
            name: &'a str,
            unit: &'static str,
        }
        serializer.collect_seq(self.0.iter().map(|(name, _, unit)| Definition {
            name,
            unit: unit.name(),
        }))
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
