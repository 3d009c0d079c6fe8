//! Distributions of measured durations: percentiles by rank, no interpolation.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A distribution of samples in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: usize,
    pub min_ns: f64,
    pub p50_ns: f64,
    pub p90_ns: f64,
    pub p99_ns: f64,
    pub p999_ns: f64,
    pub max_ns: f64,
    pub mean_ns: f64,
}

impl Summary {
    /// Summarises `samples` (nanoseconds); sorts them in place. `None` when empty.
    pub fn of(samples: &mut [f64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_by(f64::total_cmp);
        let count = samples.len();
        let mean = samples.iter().sum::<f64>() / count as f64;
        Some(Self {
            count,
            min_ns: samples[0],
            p50_ns: percentile(samples, 50.0),
            p90_ns: percentile(samples, 90.0),
            p99_ns: percentile(samples, 99.0),
            p999_ns: percentile(samples, 99.9),
            max_ns: samples[count - 1],
            mean_ns: mean,
        })
    }

    /// Summarises durations.
    pub fn of_durations(samples: &[Duration]) -> Option<Self> {
        let mut nanos: Vec<f64> = samples.iter().map(|d| d.as_nanos() as f64).collect();
        Self::of(&mut nanos)
    }
}

/// The sample at rank `ceil(p/100 * n)` (1-based) of sorted `samples`.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

/// The median of `samples` (sorts them).
pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    percentile(samples, 50.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_ranks() {
        let mut samples: Vec<f64> = (1..=100).map(f64::from).collect();
        samples.reverse();
        let summary = Summary::of(&mut samples).unwrap();
        assert_eq!(summary.min_ns, 1.0);
        assert_eq!(summary.p50_ns, 50.0);
        assert_eq!(summary.p99_ns, 99.0);
        assert_eq!(summary.max_ns, 100.0);
        assert_eq!(summary.mean_ns, 50.5);
        assert!(Summary::of(&mut []).is_none());
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
    }
}
