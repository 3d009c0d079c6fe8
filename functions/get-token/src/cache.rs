//! The in-memory token of a warm instance, and the locks that make concurrent
//! invocations of one instance share a store read and a renewal.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use orange_token::envelope::TokenEnvelope;

/// One instance's memory: the last token served from the store (shared, so a memory
/// hit copies a pointer, not the token), and two single-flight locks.
///
/// - `refill` is held by a `get` while it reads the store (and renews if it must):
///   concurrent `get`s that miss the memory wait on it, then find the memory filled.
/// - `renewal` is held by a `refresh` while it reads the store and decides: concurrent
///   `refresh`es naming the same rejected token wait on it, then find the new token
///   stored and renew nothing, or find that the refresh function refused to renew it
///   meanwhile ([`Refusals`]) and ask it nothing.
#[derive(Debug, Default)]
pub struct TokenCache {
    token: Mutex<Option<Arc<TokenEnvelope>>>,
    pub(crate) refill: tokio::sync::Mutex<()>,
    pub(crate) renewal: tokio::sync::Mutex<Refusals>,
    /// [`Refusals::count`], readable without waiting for `renewal`.
    refusals_seen: AtomicU64,
}

/// How this instance's last attempt to renew a rejected token ended, when it did not
/// end with a token: refused as too recent (`rate_limited`), or failed.
#[derive(Debug, Default)]
pub struct Refusals {
    count: u64,
    last: Option<Refusal>,
}

/// One renewal of `token_id` that gave no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub token_id: String,
    /// `None`: refused as too recent; `Some`: why the renewal failed.
    pub failure: Option<String>,
}

impl Refusals {
    /// The answer for `token_id` when it was given after `seen` (what
    /// [`TokenCache::refusals_seen`] answered before this `refresh` waited for the
    /// lock): the same question, answered while it waited.
    pub fn since(&self, seen: u64, token_id: &str) -> Option<&Refusal> {
        self.last
            .as_ref()
            .filter(|refusal| self.count > seen && refusal.token_id == token_id)
    }
}

impl TokenCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The remembered token, when it has at least `min_life` left at `now`.
    pub fn fresh(&self, now: DateTime<Utc>, min_life: Duration) -> Option<Arc<TokenEnvelope>> {
        self.slot()
            .as_ref()
            .filter(|envelope| envelope.has_life_left(now, min_life))
            .cloned()
    }

    /// Remembers `envelope` (the token just served from the store).
    pub fn put(&self, envelope: Arc<TokenEnvelope>) {
        *self.slot() = Some(envelope);
    }

    /// Forgets the remembered token if it is `token_id`; answers whether it was.
    pub fn evict(&self, token_id: &str) -> bool {
        let mut slot = self.slot();
        if slot
            .as_ref()
            .is_some_and(|envelope| envelope.token_id == token_id)
        {
            *slot = None;
            return true;
        }
        false
    }

    /// How many refusals this instance has seen: read it before waiting for `renewal`.
    pub fn refusals_seen(&self) -> u64 {
        self.refusals_seen.load(Ordering::SeqCst)
    }

    /// Records, under the `renewal` lock, how a renewal ended: with no token
    /// (`Some`), or with one (`None`).
    pub fn record_refusal(&self, refusals: &mut Refusals, refusal: Option<Refusal>) {
        refusals.count += 1;
        refusals.last = refusal;
        self.refusals_seen.store(refusals.count, Ordering::SeqCst);
    }

    fn slot(&self) -> MutexGuard<'_, Option<Arc<TokenEnvelope>>> {
        self.token.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use orange_token::secret::AccessToken;

    use super::*;

    fn envelope(token: &str) -> TokenEnvelope {
        TokenEnvelope::issue(
            AccessToken::new(token),
            "Bearer",
            None,
            Utc.with_ymd_and_hms(2026, 11, 26, 22, 0, 0).unwrap(),
            Duration::from_secs(3600),
        )
    }

    #[test]
    fn serves_only_a_token_with_enough_life_left() {
        let cache = TokenCache::new();
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 22, 55, 0).unwrap();
        assert!(cache.fresh(now, Duration::ZERO).is_none());
        cache.put(Arc::new(envelope("a")));
        assert!(cache.fresh(now, Duration::from_secs(300)).is_some());
        assert!(cache.fresh(now, Duration::from_secs(301)).is_none());
    }

    #[test]
    fn evicts_only_the_named_token() {
        let cache = TokenCache::new();
        let a = envelope("a");
        cache.put(Arc::new(a.clone()));
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 22, 30, 0).unwrap();
        assert!(!cache.evict("000000000000"));
        assert_eq!(
            cache
                .fresh(now, Duration::ZERO)
                .map(|kept| kept.token_id.clone()),
            Some(a.token_id.clone())
        );
        assert!(cache.evict(&a.token_id));
        assert!(cache.fresh(now, Duration::ZERO).is_none());
    }
}
