//! One get-token invocation: validate the event, then `get`, `refresh` or `status`.

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;

use orange_token::audit::{AuditEvent, AuditLog, RefreshOutcome, TokenSource};
use orange_token::clock::Clock;
use orange_token::config::GetTokenConfig;
use orange_token::envelope::{TokenEnvelope, rfc3339};
use orange_token::error::ServiceError;
use orange_token::log_sink::LogSink;
use orange_token::metrics::Metrics;
use orange_token::protocol::{Action, StatusResponse, TokenResponse};
use orange_token::renewal::RefreshReason;
use orange_token::store::TokenStore;

use crate::cache::{Refusal, TokenCache};
use crate::invoker::{RefreshCall, RefreshInvokeError, RefreshInvoker};
use crate::request::parse_request;

/// The longest part of the refresh function's `errorMessage` quoted in get-token's own.
const MAX_QUOTED_MESSAGE_CHARS: usize = 300;

/// How long a `get` or `refresh` waits for a token stored by a refresh that is already
/// running, when its own invoke of the refresh function is throttled: `attempts`
/// re-reads of the store, the first after `first_delay`, each wait twice the last,
/// at most `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleWait {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for ThrottleWait {
    /// 5 re-reads after 0.2, 0.4, 0.8, 1 and 1 s (3.4 s in all).
    fn default() -> Self {
        Self {
            attempts: 5,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(1),
        }
    }
}

impl ThrottleWait {
    /// The waits before each re-read.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let (first, max) = (self.first_delay, self.max_delay);
        (0..self.attempts).map(move |attempt| {
            first
                .checked_mul(1u32 << attempt.min(16))
                .unwrap_or(max)
                .min(max)
        })
    }
}

/// What the function holds between invocations; built once in `main`.
pub struct GetTokenState<S, R> {
    pub config: GetTokenConfig,
    pub store: S,
    pub refresh: R,
    pub cache: TokenCache,
    pub audit: AuditLog,
    pub metrics: Metrics,
    pub clock: Arc<dyn Clock>,
    pub throttle_wait: ThrottleWait,
}

impl<S, R> GetTokenState<S, R> {
    /// A state with an empty memory and the default [`ThrottleWait`].
    pub fn new(
        config: GetTokenConfig,
        store: S,
        refresh: R,
        audit: AuditLog,
        metrics: Metrics,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            config,
            store,
            refresh,
            cache: TokenCache::new(),
            audit,
            metrics,
            clock,
            throttle_wait: ThrottleWait::default(),
        }
    }
}

/// The function's answer: a token (`get`, `refresh`) or a health report (`status`).
/// `Debug` never shows the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum GetTokenResponse {
    Token(TokenResponse),
    Status(StatusResponse),
}

/// Handles one invocation. `main` answers a failure with [`ServiceError::answer`] (a
/// stable sentence and the request id; the details are in the log).
pub async fn handle<S: TokenStore, R: RefreshInvoker>(
    state: &GetTokenState<S, R>,
    event: LambdaEvent<Value>,
) -> Result<GetTokenResponse, ServiceError> {
    answer(state, &event.context.request_id, &event.payload).await
}

async fn answer<S: TokenStore, R: RefreshInvoker>(
    state: &GetTokenState<S, R>,
    request_id: &str,
    payload: &Value,
) -> Result<GetTokenResponse, ServiceError> {
    let request = parse_request(payload).inspect_err(|error| {
        // The message names the field, never its value.
        tracing::warn!(request_id, error = %error, "invalid get-token request");
    })?;
    let invocation = Invocation {
        state,
        request_id,
        caller: request.caller,
    };
    let min_life = state.config.expiry_buffer.max(Duration::from_secs(
        request.min_ttl_seconds.unwrap_or(0).into(),
    ));
    match request.action {
        Action::Get => invocation.get(min_life).await.map(GetTokenResponse::Token),
        Action::Refresh => invocation
            .refresh(request.rejected_token_id.as_deref(), min_life)
            .await
            .map(GetTokenResponse::Token),
        Action::Status => Ok(GetTokenResponse::Status(invocation.status().await)),
    }
}

struct Invocation<'a, S, R> {
    state: &'a GetTokenState<S, R>,
    request_id: &'a str,
    caller: Option<String>,
}

/// Who renewed the token a renewal ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RenewedBy {
    /// This invocation's invoke of the refresh function.
    ThisInvocation,
    /// Another refresh: one already running (this invocation's invoke was throttled),
    /// or one that renewed just before this invocation asked.
    AnotherRefresh,
}

/// What asking the refresh function for a token ended with.
enum Renewal {
    /// A servable token.
    Served(TokenEnvelope, RenewedBy),
    /// The refresh function refused to renew a token this young (`recent`) and no
    /// servable token is stored.
    RateLimited,
}

impl<S: TokenStore, R: RefreshInvoker> Invocation<'_, S, R> {
    /// `get`: a token with at least `min_life` left.
    async fn get(&self, min_life: Duration) -> Result<TokenResponse, ServiceError> {
        match self.find_or_renew(min_life).await {
            Ok((envelope, source)) => Ok(self.serve(&envelope, source)),
            Err(error) => Err(self.unavailable(error)),
        }
    }

    async fn find_or_renew(
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
    async fn load_or_renew(&self, min_life: Duration) -> Result<TokenEnvelope, ServiceError> {
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

    /// `refresh`: the caller's request was rejected with `rejected_token_id`. The memory
    /// is not trusted: the store decides.
    async fn refresh(
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

    /// Invokes the refresh function once with `call`, then answers the stored token if
    /// it has `min_life` left and is not `replaced`. A throttled invoke (a refresh is
    /// already running) is followed by a few spaced re-reads of the store.
    async fn renew(
        &self,
        call: RefreshCall,
        min_life: Duration,
        replaced: Option<&str>,
    ) -> Result<Renewal, ServiceError> {
        match self.state.refresh.invoke(call).await {
            Ok(reply) => {
                tracing::info!(
                    token_id = %reply.token_id,
                    refreshed = reply.refreshed,
                    reason = ?reply.reason,
                    "the refresh function answered"
                );
                let servable = self.load_servable(min_life, replaced).await?;
                match (servable, reply.reason) {
                    (Some(envelope), RefreshReason::Recent) => {
                        Ok(Renewal::Served(envelope, RenewedBy::AnotherRefresh))
                    }
                    (Some(envelope), _) => Ok(Renewal::Served(envelope, RenewedBy::ThisInvocation)),
                    (None, RefreshReason::Recent) => Ok(Renewal::RateLimited),
                    (None, _) => Err(self.not_servable_after_renewal(min_life)),
                }
            }
            Err(error @ RefreshInvokeError::InvalidAnswer { .. }) => {
                // The refresh function succeeded (no function error) but its answer is
                // not understood: the store tells whether it renewed.
                tracing::warn!(error = %error, "reading the store after an unexpected refresh answer");
                self.stored_after_renewal(min_life, replaced)
                    .await
                    .map(|envelope| Renewal::Served(envelope, RenewedBy::ThisInvocation))
            }
            Err(RefreshInvokeError::Throttled { message }) => {
                tracing::info!(%message, "refresh invoke throttled: waiting for the running refresh");
                let wait = self.state.throttle_wait;
                for delay in wait.delays() {
                    tokio::time::sleep(delay).await;
                    if let Some(envelope) = self.load_servable(min_life, replaced).await? {
                        return Ok(Renewal::Served(envelope, RenewedBy::AnotherRefresh));
                    }
                }
                let waited: Duration = wait.delays().sum();
                Err(ServiceError::TokenUnavailable(format!(
                    "the refresh function is throttled (a renewal is already running) and no servable token was stored within {} ms",
                    waited.as_millis()
                )))
            }
            Err(RefreshInvokeError::Function {
                error_type,
                error_message,
            }) => Err(ServiceError::TokenUnavailable(format!(
                "renewal failed: the refresh function answered {error_type}: {}",
                cut_short(&error_message)
            ))),
            Err(error @ RefreshInvokeError::Invoke { .. }) => {
                if let RefreshInvokeError::Invoke { detail, .. } = &error {
                    tracing::error!(request_id = self.request_id, %detail, "the refresh function could not be invoked");
                }
                Err(ServiceError::TokenUnavailable(format!(
                    "renewal failed: {error}"
                )))
            }
        }
    }

    async fn stored_after_renewal(
        &self,
        min_life: Duration,
        replaced: Option<&str>,
    ) -> Result<TokenEnvelope, ServiceError> {
        self.load_servable(min_life, replaced)
            .await?
            .ok_or_else(|| self.not_servable_after_renewal(min_life))
    }

    fn not_servable_after_renewal(&self, min_life: Duration) -> ServiceError {
        ServiceError::TokenUnavailable(format!(
            "the refresh function succeeded but the stored token does not have {} s of life left",
            min_life.as_secs()
        ))
    }

    /// The stored token if it has `min_life` left and is not `replaced`.
    async fn load_servable(
        &self,
        min_life: Duration,
        replaced: Option<&str>,
    ) -> Result<Option<TokenEnvelope>, ServiceError> {
        let now = self.state.clock.now();
        Ok(self.load().await?.filter(|envelope| {
            envelope.has_life_left(now, min_life)
                && replaced.is_none_or(|replaced| envelope.token_id != replaced)
        }))
    }

    async fn load(&self) -> Result<Option<TokenEnvelope>, ServiceError> {
        Ok(self.state.store.load().await?)
    }

    /// `status`: the stored token's health, never the token. A store that cannot be read
    /// is reported as unhealthy, not as an error, so that a health check reads why.
    async fn status(&self) -> StatusResponse {
        let state = self.state;
        let buffer = state.config.expiry_buffer.as_secs();
        let loaded = state.store.load().await;
        let now = state.clock.now();
        let response = match loaded {
            Ok(Some(envelope)) => {
                let expires_in = envelope.expires_in(now);
                let healthy = i128::from(expires_in) > i128::from(buffer);
                let message = if healthy {
                    format!(
                        "token {} has {expires_in} s left, more than the {buffer} s buffer",
                        envelope.token_id
                    )
                } else {
                    format!(
                        "token {} has {expires_in} s left, not more than the {buffer} s buffer: it is no longer served",
                        envelope.token_id
                    )
                };
                StatusResponse {
                    healthy,
                    token_id: Some(envelope.token_id.clone()),
                    issued_at: Some(rfc3339(envelope.issued_at)),
                    expires_at: Some(rfc3339(envelope.expires_at)),
                    expires_in: Some(expires_in),
                    message,
                }
            }
            Ok(None) => StatusResponse {
                healthy: false,
                token_id: None,
                issued_at: None,
                expires_at: None,
                expires_in: None,
                message: format!(
                    "no token is stored in {} (or the stored value is not a token envelope)",
                    state.store.parameter_name()
                ),
            },
            Err(error) => {
                tracing::error!(error = %error, "health check could not read the token store");
                StatusResponse {
                    healthy: false,
                    token_id: None,
                    issued_at: None,
                    expires_at: None,
                    expires_in: None,
                    message: error.to_string(),
                }
            }
        };
        self.audit(AuditEvent::HealthChecked {
            healthy: response.healthy,
            expires_in: response.expires_in,
        });
        state
            .metrics
            .remaining_lifetime(now, response.expires_in.unwrap_or(0));
        tracing::info!(healthy = response.healthy, expires_in = ?response.expires_in, "health checked");
        response
    }

    /// The answer for `envelope`, audited and counted. The token itself goes only into
    /// the returned value.
    fn serve(&self, envelope: &TokenEnvelope, source: TokenSource) -> TokenResponse {
        let now = self.state.clock.now();
        let expires_in = envelope.expires_in(now);
        // The audit line and the metric record, with one write when both go to stdout.
        let state = self.state;
        let served = AuditEvent::TokenServed {
            token_id: envelope.token_id.clone(),
            caller: self.caller.clone(),
            source,
            expires_in,
        };
        let audit_line = state.audit.line(self.request_id, now, &served);
        match state.metrics.token_served_record(now, source, expires_in) {
            Some(record) => LogSink::write_both(
                (state.audit.sink(), &audit_line),
                (state.metrics.sink(), &record),
            ),
            None => state.audit.sink().write_line(&audit_line),
        }
        // The audit line above records every served token; this is for debugging only
        // (at info it would be a third log line on the hot path).
        tracing::debug!(token_id = %envelope.token_id, ?source, expires_in, "token served");
        TokenResponse {
            access_token: envelope.access_token.expose().to_owned(),
            token_type: envelope.token_type.clone(),
            expires_at: rfc3339(envelope.expires_at),
            expires_in,
            token_id: envelope.token_id.clone(),
        }
    }

    /// Audits and counts a failure to serve a token.
    fn unavailable(&self, error: ServiceError) -> ServiceError {
        tracing::error!(request_id = self.request_id, error_type = error.error_type(), error = %error, "no token served");
        self.audit(AuditEvent::TokenUnavailable {
            caller: self.caller.clone(),
            reason: error.to_string(),
        });
        self.state.metrics.token_unavailable(self.state.clock.now());
        error
    }

    fn audit(&self, event: AuditEvent) {
        self.state
            .audit
            .emit(self.request_id, self.state.clock.now(), event);
    }
}

fn cut_short(message: &str) -> String {
    let mut quoted: String = message.chars().take(MAX_QUOTED_MESSAGE_CHARS).collect();
    if quoted.len() < message.len() {
        quoted.push_str("...");
    }
    quoted
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::{DateTime, TimeZone, Utc};
    use lambda_runtime::Context;
    use orange_token::clock::ManualClock;
    use orange_token::log_sink::LogSink;
    use orange_token::secret::AccessToken;
    use orange_token::test_support::store::{MEMORY_PARAMETER_NAME, MemoryStore};
    use serde_json::json;

    use super::*;
    use crate::test_support::CountingRefreshFunction;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 22, 0, 0).unwrap()
    }

    struct Fixture {
        state: GetTokenState<MemoryStore, CountingRefreshFunction>,
        audit: Arc<Mutex<Vec<String>>>,
        metrics: Arc<Mutex<Vec<String>>>,
    }

    fn fixture(store: MemoryStore) -> Fixture {
        let vars = |name: &str| match name {
            "TOKEN_PARAMETER_NAME" => Some(MEMORY_PARAMETER_NAME.to_owned()),
            "REFRESH_FUNCTION_NAME" => Some("refresh".to_owned()),
            _ => None,
        };
        let (audit_sink, audit) = LogSink::memory();
        let (metric_sink, metrics) = LogSink::memory();
        let state = GetTokenState::new(
            GetTokenConfig::from_source(&vars).unwrap(),
            store,
            CountingRefreshFunction::default(),
            AuditLog::new(audit_sink, "get-token"),
            Metrics::new(metric_sink, "get-token"),
            Arc::new(ManualClock::new(start())),
        );
        Fixture {
            state,
            audit,
            metrics,
        }
    }

    async fn invoke(fixture: &Fixture, payload: Value) -> Result<GetTokenResponse, ServiceError> {
        let mut context = Context::default();
        context.request_id = "req-1".into();
        handle(&fixture.state, LambdaEvent::new(payload, context)).await
    }

    fn stored_token() -> TokenEnvelope {
        TokenEnvelope::issue(
            AccessToken::new("the-access-token-0123"),
            "Bearer",
            None,
            start(),
            Duration::from_secs(3600),
        )
    }

    #[tokio::test]
    async fn a_token_answer_has_exactly_the_contract_fields_and_debug_hides_the_token() {
        let fixture = fixture(MemoryStore::new(Some(stored_token())));
        let response = invoke(&fixture, json!({})).await.unwrap();
        let value = serde_json::to_value(&response).unwrap();
        assert_eq!(
            value,
            json!({"access_token": "the-access-token-0123", "token_type": "Bearer",
                   "expires_at": "2026-11-26T23:00:00Z", "expires_in": 3600,
                   "token_id": stored_token().token_id})
        );
        assert!(!format!("{response:?}").contains("the-access-token-0123"));
        let logged =
            fixture.audit.lock().unwrap().join("\n") + &fixture.metrics.lock().unwrap().join("\n");
        assert!(!logged.contains("the-access-token-0123"));
        assert_eq!(fixture.state.refresh.invokes(), 0);
    }

    #[tokio::test]
    async fn a_store_that_cannot_be_read_is_store_unavailable_for_get_and_refresh() {
        let fixture = fixture(MemoryStore::unreadable());
        for event in [
            json!({}),
            json!({"action": "refresh", "rejected_token_id": "3f9a1c0b7d2e"}),
        ] {
            let error = invoke(&fixture, event.clone()).await.unwrap_err();
            assert_eq!(error.error_type(), "StoreUnavailable", "{event}");
            assert!(
                error.to_string().contains("AccessDeniedException"),
                "{error}"
            );
        }
        assert_eq!(fixture.state.refresh.invokes(), 0, "nothing renewed blind");
        let audit = fixture.audit.lock().unwrap();
        assert_eq!(audit.len(), 2);
        assert!(audit.iter().all(|line| line.contains("TOKEN_UNAVAILABLE")));
        assert_eq!(
            fixture
                .metrics
                .lock()
                .unwrap()
                .iter()
                .filter(|line| line.contains("\"TokenUnavailable\":1"))
                .count(),
            2
        );
    }

    #[tokio::test]
    async fn status_over_a_store_that_cannot_be_read_is_unhealthy_not_an_error() {
        let fixture = fixture(MemoryStore::unreadable());
        let GetTokenResponse::Status(status) = invoke(&fixture, json!({"action": "status"}))
            .await
            .expect("status answers")
        else {
            panic!("expected a status report");
        };
        assert!(!status.healthy);
        assert_eq!(status.token_id, None);
        assert_eq!(status.expires_in, None);
        assert!(
            status.message.contains("AccessDeniedException"),
            "{}",
            status.message
        );
        let audit = fixture.audit.lock().unwrap();
        let checked: Value = serde_json::from_str(&audit[0]).unwrap();
        assert_eq!(checked["event"], "HEALTH_CHECKED");
        assert_eq!(checked["healthy"], false);
        let metric: Value = serde_json::from_str(&fixture.metrics.lock().unwrap()[0]).unwrap();
        assert_eq!(metric["TokenRemainingLifetime"], 0);
    }

    #[test]
    fn throttle_waits_double_up_to_the_cap() {
        let delays: Vec<u64> = ThrottleWait::default()
            .delays()
            .map(|delay| u64::try_from(delay.as_millis()).unwrap())
            .collect();
        assert_eq!(delays, [200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn long_messages_are_cut() {
        assert_eq!(cut_short("short"), "short");
        let quoted = cut_short(&"x".repeat(1000));
        assert_eq!(quoted.len(), MAX_QUOTED_MESSAGE_CHARS + 3);
    }
}
