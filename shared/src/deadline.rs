//! How long an invocation may work.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Kept free at the end of an invocation for storing the token and answering.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(3);
/// The refresh function's configured timeout (template.yaml: `Timeout: 30`) less the margin:
/// the budget when the runtime's deadline is unusable.
pub const FALLBACK_BUDGET: Duration = Duration::from_secs(25);

/// The instant by which work must be done, from the invocation's deadline. Local runtime
/// emulators send a deadline that has already passed: then the fixed [`FALLBACK_BUDGET`] applies.
pub fn work_deadline(invocation_deadline: SystemTime, now: SystemTime) -> Instant {
    let budget = match invocation_deadline.duration_since(now) {
        Ok(left) if left > DEADLINE_MARGIN => (left - DEADLINE_MARGIN).min(FALLBACK_BUDGET * 4),
        Ok(left) if !left.is_zero() => left / 2,
        _ => FALLBACK_BUDGET,
    };
    Instant::now() + budget
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(deadline_in: i64) -> Duration {
        let now = SystemTime::now();
        let deadline = if deadline_in >= 0 {
            now + Duration::from_secs(deadline_in as u64)
        } else {
            now - Duration::from_secs((-deadline_in) as u64)
        };
        work_deadline(deadline, now).saturating_duration_since(Instant::now())
    }

    #[test]
    fn a_future_deadline_leaves_the_margin() {
        let left = budget(30);
        assert!(left <= Duration::from_secs(27) && left > Duration::from_secs(26));
    }

    #[test]
    fn a_past_deadline_uses_the_fixed_budget() {
        let left = budget(-5);
        assert!(left <= FALLBACK_BUDGET && left > FALLBACK_BUDGET - Duration::from_secs(1));
        let left = budget(0);
        assert!(left > FALLBACK_BUDGET - Duration::from_secs(1));
    }
}
