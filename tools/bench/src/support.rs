//! What the in-process benchmarks plug into get-token's seams: stores that count their
//! reads, and a refresh invoker that counts its invokes (each one would be a token
//! request by the refresh function).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;

use get_token::invoker::{RefreshCall, RefreshInvokeError, RefreshInvoker, RefreshReply};
use orange_token::envelope::TokenEnvelope;
use orange_token::secret::AccessToken;
use orange_token::store::{StoreError, TokenStore};

/// A token shaped like Orange's (64 URL-safe characters); never a real one.
pub fn sample_access_token() -> String {
    "bEnChTokEn0a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXyZ-_0123456789abcdef".to_owned()
}

/// A token issued now, living `lifetime`.
pub fn fresh_envelope(lifetime: Duration) -> TokenEnvelope {
    TokenEnvelope::issue(
        AccessToken::new(sample_access_token()),
        "Bearer",
        None,
        Utc::now(),
        lifetime,
    )
}

/// A store in memory with a fixed envelope and an optional read latency; counts reads.
pub struct MemoryStore {
    envelope: Option<TokenEnvelope>,
    latency: Duration,
    loads: Arc<AtomicUsize>,
}

impl MemoryStore {
    pub fn new(envelope: Option<TokenEnvelope>, latency: Duration) -> Self {
        Self {
            envelope,
            latency,
            loads: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

impl TokenStore for MemoryStore {
    async fn load(&self) -> Result<Option<TokenEnvelope>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        Ok(self.envelope.clone())
    }

    async fn save(&self, _envelope: &TokenEnvelope) -> Result<i64, StoreError> {
        Err(StoreError {
            operation: "write",
            parameter_name: self.parameter_name().to_owned(),
            reason: "the benchmark store is read-only".to_owned(),
        })
    }

    fn parameter_name(&self) -> &str {
        "/orange-sms-bench/oauth/access-token"
    }
}

/// Wraps a store and counts its reads (each one is one SSM `GetParameter`).
pub struct CountingStore<S> {
    inner: S,
    loads: Arc<AtomicUsize>,
}

impl<S> CountingStore<S> {
    pub fn new(inner: S, loads: Arc<AtomicUsize>) -> Self {
        Self { inner, loads }
    }
}

impl<S: TokenStore> TokenStore for CountingStore<S> {
    async fn load(&self) -> Result<Option<TokenEnvelope>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load().await
    }

    async fn save(&self, envelope: &TokenEnvelope) -> Result<i64, StoreError> {
        self.inner.save(envelope).await
    }

    fn parameter_name(&self) -> &str {
        self.inner.parameter_name()
    }
}

/// A refresh function that is never expected to be invoked: counts invokes and answers
/// a function error.
#[derive(Default, Clone)]
pub struct CountingInvoker {
    invokes: Arc<AtomicUsize>,
}

impl CountingInvoker {
    pub fn new(invokes: Arc<AtomicUsize>) -> Self {
        Self { invokes }
    }

    pub fn invokes(&self) -> usize {
        self.invokes.load(Ordering::SeqCst)
    }
}

impl RefreshInvoker for CountingInvoker {
    async fn invoke(&self, _call: RefreshCall) -> Result<RefreshReply, RefreshInvokeError> {
        self.invokes.fetch_add(1, Ordering::SeqCst);
        Err(RefreshInvokeError::Function {
            error_type: "Benchmark".to_owned(),
            error_message: "the benchmark's refresh function does not renew".to_owned(),
        })
    }
}
