//! One refresh: decide, fetch a token from the endpoint, store it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use chrono::{DateTime, Utc};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;

use orange_token::audit::{AuditEvent, AuditLog};
use orange_token::clock::Clock;
use orange_token::config::RefreshConfig;
use orange_token::credentials::SecretsManagerCredentials;
use orange_token::deadline::work_deadline;
use orange_token::endpoint::{FailureClass, TokenEndpointClient};
use orange_token::envelope::{TokenEnvelope, rfc3339};
use orange_token::error::ServiceError;
use orange_token::metrics::Metrics;
use orange_token::renewal::{RefreshReason, RenewalAsk, RenewalPolicy, refresh_reason};
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
    /// When this instance's last token request failed; cleared by a success. Within
    /// the minimum interval after it, no renewal asks the endpoint again.
    pub last_failed_request: Mutex<Option<DateTime<Utc>>>,
}

impl<S> RefreshState<S> {
    pub fn new(
        config: RefreshConfig,
        endpoint: TokenEndpointClient,
        credentials: SecretsManagerCredentials,
        store: S,
        audit: AuditLog,
        metrics: Metrics,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            endpoint: endpoint.with_min_lifetime(config.expiry_buffer),
            config,
            credentials,
            store,
            audit,
            metrics,
            clock,
            last_failed_request: Mutex::new(None),
        }
    }

    fn policy(&self) -> RenewalPolicy {
        RenewalPolicy {
            threshold: self.config.refresh_threshold,
            min_force_interval: self.config.min_force_interval,
        }
    }
}

/// The function's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshResponse {
    pub refreshed: bool,
    pub reason: RefreshReason,
    pub token_id: String,
    pub expires_at: String,
    pub attempts: u32,
}

/// Handles one invocation. A failure is logged with its details; `main` answers it with
/// [`ServiceError::answer`] (a stable sentence and the request id).
pub async fn handle<S: TokenStore>(
    state: &RefreshState<S>,
    event: LambdaEvent<Value>,
) -> Result<RefreshResponse, ServiceError> {
    let request_id = event.context.request_id.clone();
    let deadline = work_deadline(event.context.deadline(), SystemTime::now());
    let answer = async {
        let request = RefreshRequest::from_event(&event.payload)?;
        let invocation = Invocation {
            state,
            request_id: &request_id,
            caller: request.caller,
        };
        invocation.renew_if_due(request.ask, deadline).await
    };
    answer.await.inspect_err(|error| {
        tracing::error!(request_id, error_type = error.error_type(), error = %error, "refresh failed");
    })
}

struct Invocation<'a, S> {
    state: &'a RefreshState<S>,
    request_id: &'a str,
    caller: Option<String>,
}

impl<S: TokenStore> Invocation<'_, S> {
    /// Renews the stored token when [`refresh_reason`] says so, else answers why not.
    async fn renew_if_due(
        &self,
        ask: RenewalAsk,
        deadline: tokio::time::Instant,
    ) -> Result<RefreshResponse, ServiceError> {
        let state = self.state;
        let stored = self
            .load()
            .await
            .inspect_err(|error| self.record_failure(error, None))?;
        let credentials_changed_at = match &stored {
            Some(_) => self.credentials_last_changed().await,
            None => None,
        };
        let now = state.clock.now();
        let mut reason = refresh_reason(
            stored.as_ref(),
            now,
            credentials_changed_at,
            state.policy(),
            ask,
        );
        if reason.renews()
            && let Some(failed_at) =
                self.failed_request_within_interval(now, credentials_changed_at)
        {
            if stored.is_none() {
                let error = ServiceError::TokenUnavailable(format!(
                    "no token is stored and the last token request failed {} s ago; the next is sent {} s after a failure",
                    (now - failed_at).num_seconds(),
                    state.config.min_force_interval.as_secs()
                ));
                self.record_failure(&error, None);
                return Err(error);
            }
            reason = RefreshReason::Recent;
        }
        match stored {
            Some(stored) if !reason.renews() => Ok(self.skip(stored, reason, now)),
            stored => self.renew(reason, stored.as_ref(), deadline).await,
        }
    }

    /// Answers the stored token without renewing it (`fresh` or `recent`).
    fn skip(
        &self,
        stored: TokenEnvelope,
        reason: RefreshReason,
        now: DateTime<Utc>,
    ) -> RefreshResponse {
        let expires_in = stored.expires_in(now);
        self.audit(AuditEvent::TokenRefreshSkipped {
            token_id: stored.token_id.clone(),
            expires_in,
            reason,
        });
        tracing::info!(token_id = %stored.token_id, expires_in, ?reason, "no renewal");
        self.state.metrics.refresh_succeeded(now, expires_in);
        RefreshResponse {
            refreshed: false,
            reason,
            token_id: stored.token_id,
            expires_at: rfc3339(stored.expires_at),
            attempts: 0,
        }
    }

    /// Fetches a new token and stores it; a failure leaves `stored` in place.
    async fn renew(
        &self,
        reason: RefreshReason,
        stored: Option<&TokenEnvelope>,
        deadline: tokio::time::Instant,
    ) -> Result<RefreshResponse, ServiceError> {
        let state = self.state;
        tracing::info!(?reason, "renewing the token");
        let renewal = async {
            let (envelope, attempts) = self.fetch(reason, deadline).await?;
            Ok((self.store_unless_newer_exists(envelope).await?, attempts))
        };
        let (envelope, attempts) = renewal
            .await
            .inspect_err(|error| self.record_failure(error, stored))?;
        state
            .metrics
            .refresh_succeeded(state.clock.now(), envelope.expires_in(state.clock.now()));
        Ok(RefreshResponse {
            refreshed: true,
            reason,
            token_id: envelope.token_id.clone(),
            expires_at: rfc3339(envelope.expires_at),
            attempts,
        })
    }

    /// When the credentials secret last changed; `None` (no check this run) when it
    /// cannot be told, so that a Secrets Manager hiccup never blocks serving.
    async fn credentials_last_changed(&self) -> Option<DateTime<Utc>> {
        self.state
            .credentials
            .last_changed()
            .await
            .inspect_err(|error| {
                tracing::warn!(error = %error, "cannot tell when the credentials last changed; not checked this run");
            })
            .ok()
            .flatten()
    }

    /// The time of this instance's last failed token request, if it is less than the
    /// minimum interval ago and the credentials did not change since (new credentials
    /// deserve their own try).
    fn failed_request_within_interval(
        &self,
        now: DateTime<Utc>,
        credentials_changed_at: Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        let interval = chrono::Duration::from_std(self.state.config.min_force_interval).ok()?;
        let failed_at = (*self
            .state
            .last_failed_request
            .lock()
            .unwrap_or_else(PoisonError::into_inner))?;
        let changed_since = credentials_changed_at.is_some_and(|changed| changed > failed_at);
        (now < failed_at + interval && !changed_since).then_some(failed_at)
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
        reason: RefreshReason,
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
        let answer = state.endpoint.request_token(&credentials, deadline).await;
        *state
            .last_failed_request
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = answer.is_err().then_some(issued_at);
        let grant = match answer {
            Ok(grant) => grant,
            Err(error) => {
                let (http_status, attempts) = (error.last.http_status, error.attempts);
                state.metrics.token_requests(
                    state.clock.now(),
                    attempts,
                    failure_outcome(error.last.class),
                );
                let error = ServiceError::from(error);
                self.generation_failed(&error, http_status, attempts);
                return Err(error);
            }
        };
        state
            .metrics
            .token_requests(state.clock.now(), grant.attempts, "success");
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
            reason,
            caller: self.caller.clone(),
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

/// The `Outcome` dimension of a failed token request: the last attempt's class as the
/// contract's token-endpoint table names it (published values, `docs/decisions.md`).
fn failure_outcome(class: FailureClass) -> &'static str {
    match class {
        FailureClass::UpstreamUnavailable => "transient",
        FailureClass::Throttled => "throttled",
        FailureClass::CredentialsRejected => "rejected",
        FailureClass::Configuration => "misconfigured",
        FailureClass::UpstreamInvalidResponse => "malformed",
    }
}
