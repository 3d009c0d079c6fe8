//! `TokenServed`'s record, rendered once and filled in for each warm get.

use super::Metrics;

/// `TokenServed`'s record (written on every warm get) as the serialiser renders it,
/// cut around its three variable values: the timestamp, the source and the life left.
/// Filling it in costs a few string copies instead of serialising the fixed `_aws`
/// metadata each time; the tests check it against the serialiser for many values.
#[derive(Debug, Clone)]
pub(super) struct ServedTemplate {
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
    pub(super) fn new(metrics: &Metrics) -> Option<Self> {
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
    pub(super) fn render(&self, timestamp_ms: i64, source: &str, remaining_seconds: i64) -> String {
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
