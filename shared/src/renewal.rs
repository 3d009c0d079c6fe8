//! When the refresh function renews the stored token, and why: the contract's `reason`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::envelope::TokenEnvelope;

/// Why refresh renewed the token (the first four) or answered the stored one (the last
/// two): refresh's `reason` field and the audit events' `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshReason {
    /// No stored token, or one that cannot be read.
    Missing,
    /// The stored token has less life left than the threshold, or than the caller's
    /// `min_ttl_seconds`.
    Expiring,
    /// The credentials secret changed after the stored token was issued.
    CredentialsChanged,
    /// The caller asked for a renewal.
    Forced,
    /// The stored token is fresh: nothing to do.
    Fresh,
    /// A renewal asked for by a caller, refused: the stored token is younger than the
    /// minimum interval between such renewals.
    Recent,
}

impl RefreshReason {
    /// True when refresh asks the token endpoint for a new token.
    pub fn renews(self) -> bool {
        !matches!(self, Self::Fresh | Self::Recent)
    }
}

/// The rule's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalPolicy {
    /// Renew when the stored token has this little life left.
    pub threshold: Duration,
    /// A renewal that only a caller asks for (`force`, or a `min_ttl_seconds` the
    /// stored token does not meet although it is fresh by the threshold) is refused
    /// while the stored token is younger than this.
    pub min_force_interval: Duration,
}

/// What one invocation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenewalAsk {
    pub force: bool,
    pub min_ttl: Duration,
}

/// The refresh rule, in order: nothing usable stored (`missing`); less life left than
/// the threshold (`expiring`); issued before the credentials last changed
/// (`credentials_changed`); then what only the caller asks for, `force` (`forced`) or
/// more life than the token has (`expiring`), unless the stored token is younger than
/// the minimum interval (`recent`); otherwise `fresh`.
///
/// The first three renew whatever the token's age: a token that must be replaced is
/// never kept by the interval. The interval bounds what callers can cause: at most one
/// renewal of a fresh token per interval, whatever they send.
pub fn refresh_reason(
    stored: Option<&TokenEnvelope>,
    now: DateTime<Utc>,
    credentials_changed_at: Option<DateTime<Utc>>,
    policy: RenewalPolicy,
    ask: RenewalAsk,
) -> RefreshReason {
    let Some(stored) = stored else {
        return RefreshReason::Missing;
    };
    if !stored.has_life_left(now, policy.threshold) {
        return RefreshReason::Expiring;
    }
    if credentials_changed_at.is_some_and(|changed| changed > stored.issued_at) {
        return RefreshReason::CredentialsChanged;
    }
    let asked = if ask.force {
        RefreshReason::Forced
    } else if !stored.has_life_left(now, ask.min_ttl) {
        RefreshReason::Expiring
    } else {
        return RefreshReason::Fresh;
    };
    if is_younger_than(stored, now, policy.min_force_interval) {
        RefreshReason::Recent
    } else {
        asked
    }
}

fn is_younger_than(stored: &TokenEnvelope, now: DateTime<Utc>, interval: Duration) -> bool {
    let interval = chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
    stored
        .issued_at
        .checked_add_signed(interval)
        .is_none_or(|end| now < end)
}

#[cfg(test)]
mod tests {
    use crate::secret::AccessToken;

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Issued 22:00, expires 23:00.
    fn stored() -> TokenEnvelope {
        TokenEnvelope::issue(
            AccessToken::new("token-abc"),
            "Bearer",
            None,
            at("2026-11-26T22:00:00Z"),
            Duration::from_secs(3600),
        )
    }

    const POLICY: RenewalPolicy = RenewalPolicy {
        threshold: Duration::from_secs(20 * 60),
        min_force_interval: Duration::from_secs(60),
    };
    const NOTHING: RenewalAsk = RenewalAsk {
        force: false,
        min_ttl: Duration::ZERO,
    };
    const FORCE: RenewalAsk = RenewalAsk {
        force: true,
        min_ttl: Duration::ZERO,
    };

    fn reason(now: &str, ask: RenewalAsk) -> RefreshReason {
        refresh_reason(Some(&stored()), at(now), None, POLICY, ask)
    }

    #[test]
    fn the_threshold_and_the_callers_min_ttl_decide_freshness() {
        assert_eq!(
            reason("2026-11-26T22:39:59Z", NOTHING),
            RefreshReason::Fresh
        );
        assert_eq!(
            reason("2026-11-26T22:40:01Z", NOTHING),
            RefreshReason::Expiring
        );
        let long_ttl = RenewalAsk {
            force: false,
            min_ttl: Duration::from_secs(1800),
        };
        assert_eq!(
            reason("2026-11-26T22:39:59Z", long_ttl),
            RefreshReason::Expiring
        );
        assert_eq!(
            refresh_reason(None, at("2026-11-26T22:00:00Z"), None, POLICY, NOTHING),
            RefreshReason::Missing
        );
    }

    #[test]
    fn a_caller_renews_a_fresh_token_at_most_once_per_interval() {
        assert_eq!(reason("2026-11-26T22:00:59Z", FORCE), RefreshReason::Recent);
        assert_eq!(reason("2026-11-26T22:01:00Z", FORCE), RefreshReason::Forced);
        let long_ttl = RenewalAsk {
            force: false,
            min_ttl: Duration::from_secs(3600),
        };
        assert_eq!(
            reason("2026-11-26T22:00:30Z", long_ttl),
            RefreshReason::Recent
        );
        assert_eq!(
            reason("2026-11-26T22:01:00Z", long_ttl),
            RefreshReason::Expiring
        );
        let no_interval = RenewalPolicy {
            min_force_interval: Duration::ZERO,
            ..POLICY
        };
        assert_eq!(
            refresh_reason(
                Some(&stored()),
                at("2026-11-26T22:00:00Z"),
                None,
                no_interval,
                FORCE
            ),
            RefreshReason::Forced
        );
    }

    #[test]
    fn the_interval_never_keeps_a_token_that_must_be_replaced() {
        let young_but_short = TokenEnvelope::issue(
            AccessToken::new("short"),
            "Bearer",
            None,
            at("2026-11-26T22:00:00Z"),
            Duration::from_secs(600),
        );
        assert_eq!(
            refresh_reason(
                Some(&young_but_short),
                at("2026-11-26T22:00:10Z"),
                None,
                POLICY,
                FORCE
            ),
            RefreshReason::Expiring
        );
        let changed = Some(at("2026-11-26T22:00:05Z"));
        assert_eq!(
            refresh_reason(
                Some(&stored()),
                at("2026-11-26T22:00:10Z"),
                changed,
                POLICY,
                FORCE
            ),
            RefreshReason::CredentialsChanged
        );
    }

    #[test]
    fn credentials_changed_only_after_the_token_was_issued() {
        let now = at("2026-11-26T22:10:00Z");
        let before = Some(at("2026-11-26T21:59:59Z"));
        let same_second = Some(at("2026-11-26T22:00:00Z"));
        let after = Some(at("2026-11-26T22:05:00Z"));
        for (changed, expected) in [
            (None, RefreshReason::Fresh),
            (before, RefreshReason::Fresh),
            (same_second, RefreshReason::Fresh),
            (after, RefreshReason::CredentialsChanged),
        ] {
            assert_eq!(
                refresh_reason(Some(&stored()), now, changed, POLICY, NOTHING),
                expected,
                "{changed:?}"
            );
        }
    }

    #[test]
    fn reasons_are_written_in_snake_case_and_only_four_renew() {
        let all = [
            (RefreshReason::Missing, "missing", true),
            (RefreshReason::Expiring, "expiring", true),
            (
                RefreshReason::CredentialsChanged,
                "credentials_changed",
                true,
            ),
            (RefreshReason::Forced, "forced", true),
            (RefreshReason::Fresh, "fresh", false),
            (RefreshReason::Recent, "recent", false),
        ];
        for (reason, name, renews) in all {
            assert_eq!(serde_json::to_value(reason).unwrap(), name);
            assert_eq!(reason.renews(), renews);
        }
    }
}
