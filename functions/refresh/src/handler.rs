//! One refresh: decide, fetch a token from the endpoint, store it.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;

use orange_token::audit::{AuditEvent, AuditLog};
use orange_token::clock::Clock;
use orange_token::config::RefreshConfig;
use orange_token::credentials::SecretsManagerCredentials;
use orange_token::deadline::work_deadline;
use orange_token::endpoint::TokenEndpointClient;
use orange_token::envelope::{RenewalReason, TokenEnvelope, renewal_reason, rfc3339};
use orange_token::error::ServiceError;
use orange_token::metrics::Metrics;
use orange_token::store::TokenStore;

use crate::request::RefreshRequest;

/// What the function holds between invocations; built once in `main`.
pub struct RefreshState<S> {
    pub config: RefreshConfig,
    pub endpoint: TokenEndpointClient,
    pub credentials: SecretsManagerCredentials,
    pub store: S,
    pub audit: AuditLog,
    pub metrics: Metrics,
    pub clock: Arc<dyn Clock>,
}

/// Why the answer is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    Missing,
    Expiring,
    Forced,
    Fresh,
}

impl From<RenewalReason> for Reason {
    fn from(reason: RenewalReason) -> Self {
        match reason {
            RenewalReason::Missing => Self::Missing,
            RenewalReason::Expiring => Self::Expiring,
            RenewalReason::Forced => Self::Forced,
        }
    }
}

/// The function's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshResponse {
    pub refreshed: bool,
    pub reason: Reason,
    pub token_id: String,
    pub expires_at: String,
    pub attempts: u32,
}

/// Handles one invocation.
pub async fn handle<S: TokenStore>(
    state: &RefreshState<S>,
    event: LambdaEvent<Value>,
) -> Result<RefreshResponse, ServiceError> {
    let request_id = event.context.request_id.clone();
    let deadline = work_deadline(event.context.deadline(), SystemTime::now());
    let request = RefreshRequest::from_event(&event.payload)?;
    let invocation = Invocation {
        state,
        request_id: &request_id,
    };
    invocation.refresh(request, deadline).await
}

struct Invocation<'a, S> {
    state: &'a RefreshState<S>,
    request_id: &'a str,
}

impl<S: TokenStore> Invocation<'_, S> {
    async fn refresh(
        &self,
        request: RefreshRequest,
        deadline: tokio::time::Instant,
    ) -> Result<RefreshResponse, ServiceError> {
        let state = self.state;
        let stored = self
            .load()
            .await
            .inspect_err(|error| self.record_failure(error, None))?;
        let now = state.clock.now();
        let Some(reason) = renewal_reason(
            stored.as_ref(),
            now,
            state.config.refresh_threshold,
            request.min_ttl,
            request.force,
        ) else {
            // renewal_reason answers None only for a stored token.
            let fresh =
                stored.ok_or_else(|| ServiceError::TokenUnavailable("no stored token".into()))?;
            let expires_in = fresh.expires_in(now);
            self.audit(AuditEvent::TokenRefreshSkipped {
                token_id: fresh.token_id.clone(),
                expires_in,
            });
            tracing::info!(token_id = %fresh.token_id, expires_in, "stored token is fresh; no renewal");
            state.metrics.refresh_succeeded(now, expires_in);
            return Ok(RefreshResponse {
                refreshed: false,
                reason: Reason::Fresh,
                token_id: fresh.token_id,
                expires_at: rfc3339(fresh.expires_at),
                attempts: 0,
            });
        };
        tracing::info!(?reason, "renewing the token");
        let renewal = async {
            let (envelope, attempts) = self.fetch(deadline).await?;
            Ok((self.store_unless_newer_exists(envelope).await?, attempts))
        };
        let (envelope, attempts) = renewal.await.inspect_err(|error| {
            self.record_failure(error, stored.as_ref());
        })?;
        state
            .metrics
            .refresh_succeeded(state.clock.now(), envelope.expires_in(state.clock.now()));
        Ok(RefreshResponse {
            refreshed: true,
            reason: reason.into(),
            token_id: envelope.token_id.clone(),
            expires_at: rfc3339(envelope.expires_at),
            attempts,
        })
    }

    async fn load(&self) -> Result<Option<TokenEnvelope>, ServiceError> {
        self.state.store.load().await.map_err(|error| {
            self.audit(AuditEvent::TokenStoreFailed {
                token_id: None,
                parameter_name: self.state.store.parameter_name().to_owned(),
                error: error.to_string(),
            });
            ServiceError::from(error)
        })
    }

    /// Reads the credentials and asks the endpoint for a token.
    async fn fetch(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<(TokenEnvelope, u32), ServiceError> {
        let state = self.state;
        let credentials = match state.credentials.load().await {
            Ok(credentials) => credentials,
            Err(error) => {
                let error = ServiceError::from(error);
                self.generation_failed(&error, None, 0);
                return Err(error);
            }
        };
        let issued_at = state.clock.now();
        let started = Instant::now();
        let grant = match state.endpoint.request_token(&credentials, deadline).await {
            Ok(grant) => grant,
            Err(error) => {
                let (http_status, attempts) = (error.last.http_status, error.attempts);
                let error = ServiceError::from(error);
                self.generation_failed(&error, http_status, attempts);
                return Err(error);
            }
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        // The token's life is counted from the moment it was asked for: never longer than Orange's.
        let token = grant.token;
        let envelope = TokenEnvelope::issue(
            token.access_token,
            token.token_type,
            token.scope.or_else(|| state.config.scope.clone()),
            issued_at,
            token.expires_in,
        );
        self.audit(AuditEvent::TokenGenerated {
            token_id: envelope.token_id.clone(),
            expires_at: rfc3339(envelope.expires_at),
            scope: envelope.scope.clone(),
            attempts: grant.attempts,
            latency_ms,
        });
        state
            .metrics
            .token_endpoint(state.clock.now(), latency_ms, grant.attempts);
        tracing::info!(token_id = %envelope.token_id, attempts = grant.attempts, latency_ms, "token issued");
        Ok((envelope, grant.attempts))
    }

    /// Stores the new envelope, unless a refresh that ran alongside already stored a
    /// token asked for later than this one: the store always ends with the newest token.
    /// (Newest by `issued_at`, not by `expires_at`: a forced renewal replaces a rejected
    /// token even when the rejected one would have lived longer.)
    async fn store_unless_newer_exists(
        &self,
        envelope: TokenEnvelope,
    ) -> Result<TokenEnvelope, ServiceError> {
        let state = self.state;
        if let Ok(Some(current)) = state.store.load().await
            && current.issued_at > envelope.issued_at
        {
            tracing::info!(
                token_id = %envelope.token_id,
                stored_token_id = %current.token_id,
                "a newer token was stored meanwhile; keeping it"
            );
            return Ok(current);
        }
        match state.store.save(&envelope).await {
            Ok(version) => {
                self.audit(AuditEvent::TokenStored {
                    token_id: envelope.token_id.clone(),
                    parameter_name: state.store.parameter_name().to_owned(),
                    parameter_version: version,
                });
                Ok(envelope)
            }
            Err(error) => {
                self.audit(AuditEvent::TokenStoreFailed {
                    token_id: Some(envelope.token_id.clone()),
                    parameter_name: state.store.parameter_name().to_owned(),
                    error: error.to_string(),
                });
                Err(error.into())
            }
        }
    }

    /// Counts a failed refresh, with the life left of the token still stored.
    fn record_failure(&self, error: &ServiceError, still_stored: Option<&TokenEnvelope>) {
        let now = self.state.clock.now();
        self.state.metrics.refresh_failed(
            now,
            error.error_type(),
            still_stored.map(|envelope| envelope.expires_in(now)),
        );
    }

    fn generation_failed(&self, error: &ServiceError, http_status: Option<u16>, attempts: u32) {
        tracing::error!(error_type = error.error_type(), error = %error, "token generation failed");
        self.audit(AuditEvent::TokenGenerationFailed {
            error_class: error.error_type(),
            http_status,
            attempts,
        });
    }

    fn audit(&self, event: AuditEvent) {
        self.state
            .audit
            .emit(self.request_id, self.state.clock.now(), event);
    }
}
