//! The in-memory token of a warm instance, and the locks that make concurrent
//! invocations of one instance share a store read and a renewal.

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
///   stored and renew nothing.
#[derive(Debug, Default)]
pub struct TokenCache {
    token: Mutex<Option<Arc<TokenEnvelope>>>,
    pub(crate) refill: tokio::sync::Mutex<()>,
    pub(crate) renewal: tokio::sync::Mutex<()>,
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

    /// The remembered token's id, if any.
    pub fn token_id(&self) -> Option<String> {
        self.slot()
            .as_ref()
            .map(|envelope| envelope.token_id.clone())
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
        assert!(!cache.evict("000000000000"));
        assert_eq!(cache.token_id(), Some(a.token_id.clone()));
        assert!(cache.evict(&a.token_id));
        assert_eq!(cache.token_id(), None);
    }
}
