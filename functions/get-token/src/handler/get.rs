//! `get`: the memory's token while it has enough life left, else the store's, else one
//! renewal.

use std::sync::Arc;
use std::time::Duration;

use orange_token::audit::TokenSource;
use orange_token::envelope::TokenEnvelope;
use orange_token::error::ServiceError;
use orange_token::protocol::TokenResponse;
use orange_token::store::TokenStore;

use super::Invocation;
use super::renew::Renewal;
use crate::invoker::{RefreshCall, RefreshInvoker};

impl<S: TokenStore, R: RefreshInvoker> Invocation<'_, S, R> {
    /// `get`: a token with at least `min_life` left.
    pub(super) async fn get(&self, min_life: Duration) -> Result<TokenResponse, ServiceError> {
        match self.find_or_renew(min_life).await {
            Ok((envelope, source)) => Ok(self.serve(&envelope, source)),
            Err(error) => Err(self.unavailable(error)),
        }
    }

    pub(super) async fn find_or_renew(
        &self,
        min_life: Duration,
    ) -> Result<(Arc<TokenEnvelope>, TokenSource), ServiceError> {
        let state = self.state;
        if !state.config.cache_enabled {
            // Every get reads the store; only a renewal is shared.
            if let Some(envelope) = self.load_servable(min_life, None).await? {
                return Ok((Arc::new(envelope), TokenSource::Store));
            }
            let _refill = state.cache.refill.lock().await;
            let envelope = self.load_or_renew(min_life).await?;
            return Ok((Arc::new(envelope), TokenSource::Store));
        }
        if let Some(envelope) = state.cache.fresh(state.clock.now(), min_life) {
            return Ok((envelope, TokenSource::Memory));
        }
        let _refill = state.cache.refill.lock().await;
        // Another invocation may have refilled the memory while this one waited.
        if let Some(envelope) = state.cache.fresh(state.clock.now(), min_life) {
            return Ok((envelope, TokenSource::Memory));
        }
        let envelope = Arc::new(self.load_or_renew(min_life).await?);
        state.cache.put(Arc::clone(&envelope));
        Ok((envelope, TokenSource::Store))
    }

    /// The stored token if it has `min_life` left; otherwise one invoke of the refresh
    /// function with `{"min_ttl_seconds": min_life}` and the token it stored.
    pub(super) async fn load_or_renew(
        &self,
        min_life: Duration,
    ) -> Result<TokenEnvelope, ServiceError> {
        if let Some(envelope) = self.load_servable(min_life, None).await? {
            return Ok(envelope);
        }
        tracing::info!(
            min_life_seconds = min_life.as_secs(),
            "no stored token with enough life left; invoking the refresh function"
        );
        match self
            .renew(RefreshCall::with_min_life(min_life), min_life, None)
            .await?
        {
            Renewal::Served(envelope, _) => Ok(envelope),
            Renewal::RateLimited => Err(ServiceError::TokenUnavailable(format!(
                "the stored token does not have {} s of life left, and a token this young is renewed at most once per interval",
                min_life.as_secs()
            ))),
        }
    }
}
