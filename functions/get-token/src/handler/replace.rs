//! `refresh`: a caller's request was rejected with a token; renew it once, however many
//! callers report it, unless the store already holds another.

use std::sync::Arc;
use std::time::Duration;

use orange_token::audit::{AuditEvent, RefreshOutcome, TokenSource};
use orange_token::envelope::TokenEnvelope;
use orange_token::error::ServiceError;
use orange_token::protocol::TokenResponse;
use orange_token::store::TokenStore;

use super::Invocation;
use super::renew::{Renewal, RenewedBy};
use crate::cache::Refusal;
use crate::invoker::{RefreshCall, RefreshInvoker};

impl<S: TokenStore, R: RefreshInvoker> Invocation<'_, S, R> {
    /// `refresh`: the caller's request was rejected with `rejected_token_id`. The memory
    /// is not trusted: the store decides.
    pub(super) async fn replace_rejected(
        &self,
        rejected_token_id: Option<&str>,
        min_life: Duration,
    ) -> Result<TokenResponse, ServiceError> {
        let state = self.state;
        if let Some(rejected) = rejected_token_id
            && state.cache.evict(rejected)
        {
            tracing::info!(
                rejected_token_id = rejected,
                "rejected token dropped from memory"
            );
        }
        // `Err(None)`: refresh refused the renewal as too soon.
        let refusals_seen = state.cache.refusals_seen();
        let result: Result<(TokenEnvelope, RefreshOutcome), Option<ServiceError>> = async {
            let mut refusals = state.cache.renewal.lock().await;
            if let Some(refusal) =
                rejected_token_id.and_then(|rejected| refusals.since(refusals_seen, rejected))
            {
                // Answered while this request waited: the same answer, without asking again.
                return Err(refusal.failure.clone().map(ServiceError::TokenUnavailable));
            }
            let stored = self.load().await.map_err(Some)?;
            if let (Some(rejected), Some(current)) = (rejected_token_id, &stored)
                && current.token_id != rejected
                && current.has_life_left(state.clock.now(), min_life)
            {
                return Ok((current.clone(), RefreshOutcome::AlreadyRenewed));
            }
            // The token to replace: the rejected one, or (no id given) the one stored now.
            let replaced = rejected_token_id
                .map(str::to_owned)
                .or_else(|| stored.map(|current| current.token_id));
            tracing::info!(
                rejected_token_id,
                "the rejected token is still the stored one; forcing a renewal"
            );
            let call = RefreshCall::forced().for_caller(self.caller.as_deref());
            let renewal = self.renew(call, min_life, replaced.as_deref()).await;
            let refusal = |failure| Refusal {
                token_id: replaced.clone().unwrap_or_default(),
                failure,
            };
            match renewal {
                Err(ServiceError::TokenUnavailable(failure)) => {
                    state
                        .cache
                        .record_refusal(&mut refusals, Some(refusal(Some(failure.clone()))));
                    Err(Some(ServiceError::TokenUnavailable(failure)))
                }
                Err(other) => Err(Some(other)),
                Ok(Renewal::Served(envelope, renewed_by)) => {
                    state.cache.record_refusal(&mut refusals, None);
                    match renewed_by {
                        RenewedBy::ThisInvocation => Ok((envelope, RefreshOutcome::Renewed)),
                        RenewedBy::AnotherRefresh => Ok((envelope, RefreshOutcome::AlreadyRenewed)),
                    }
                }
                Ok(Renewal::RateLimited) => {
                    state
                        .cache
                        .record_refusal(&mut refusals, Some(refusal(None)));
                    Err(None)
                }
            }
        }
        .await;
        let (envelope, outcome) = match result {
            Ok(answer) => answer,
            Err(None) => {
                // The rejected token is never served again: callers try later (503).
                self.audit(AuditEvent::TokenRefreshRequested {
                    caller: self.caller.clone(),
                    rejected_token_id: rejected_token_id.map(str::to_owned),
                    outcome: RefreshOutcome::RateLimited,
                });
                return Err(self.unavailable(ServiceError::TokenUnavailable(
                    "the rejected token is the stored one and was renewed less than the minimum interval ago; try again later"
                        .to_owned(),
                )));
            }
            Err(Some(error)) => return Err(self.unavailable(error)),
        };
        let envelope = Arc::new(envelope);
        if state.config.cache_enabled {
            state.cache.put(Arc::clone(&envelope));
        }
        self.audit(AuditEvent::TokenRefreshRequested {
            caller: self.caller.clone(),
            rejected_token_id: rejected_token_id.map(str::to_owned),
            outcome,
        });
        tracing::info!(token_id = %envelope.token_id, ?outcome, "refresh request answered");
        Ok(self.serve(&envelope, TokenSource::Store))
    }
}
