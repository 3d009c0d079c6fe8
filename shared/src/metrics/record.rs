//! One EMF record as JSON, serialised straight from borrowed values.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::NAMESPACE;

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

/// A non-metric field of a record (a property in EMF terms).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
pub(super) enum Property<'a> {
    Text(&'a str),
    Number(i64),
}

/// One EMF record, serialised straight from borrowed values: the `_aws` metadata, the
/// `FunctionName` dimension, the metric values, then the properties.
pub(super) struct Record<'a> {
    pub(super) timestamp_ms: i64,
    pub(super) function_name: &'a str,
    /// The `Outcome` dimension, beside `FunctionName` alone.
    pub(super) outcome: Option<&'a str>,
    pub(super) values: &'a [(&'a str, i64, Unit)],
    pub(super) properties: &'a [(&'a str, Property<'a>)],
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
