//! Exponential backoff with jitter, bounded by the invocation's deadline.

use std::time::Duration;

use rand::Rng;

/// How token requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The backoff before the second attempt (before jitter).
    pub base_delay: Duration,
    /// The longest backoff (before jitter); `Retry-After` may ask for longer.
    pub max_delay: Duration,
    /// No attempt starts with less time than this before the deadline.
    pub min_attempt_time: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
            min_attempt_time: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The wait after `failed_attempts` failures: "equal jitter", half the exponential
    /// step plus a random part of the other half, so waits grow but never line up.
    pub fn backoff(&self, failed_attempts: u32, rng: &mut impl Rng) -> Duration {
        let exponent = failed_attempts.saturating_sub(1).min(16);
        let step = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        let half = step / 2;
        let jitter_nanos = rng.random_range(0..=half.as_nanos().min(u128::from(u64::MAX)) as u64);
        half + Duration::from_nanos(jitter_nanos)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn backoff_grows_exponentially_within_its_bounds() {
        let policy = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(7);
        for failed in 1..=10u32 {
            let step = Duration::from_millis(250)
                .saturating_mul(1 << (failed - 1))
                .min(Duration::from_secs(4));
            for _ in 0..200 {
                let delay = policy.backoff(failed, &mut rng);
                assert!(delay >= step / 2, "attempt {failed}: {delay:?}");
                assert!(delay <= step, "attempt {failed}: {delay:?}");
            }
        }
    }

    #[test]
    fn backoff_is_jittered() {
        let policy = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(1);
        let delays: std::collections::HashSet<Duration> =
            (0..50).map(|_| policy.backoff(3, &mut rng)).collect();
        assert!(delays.len() > 40);
    }

    #[test]
    fn backoff_never_overflows() {
        let policy = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(1);
        assert!(policy.backoff(u32::MAX, &mut rng) <= policy.max_delay);
    }
}
