//! One get-token invocation: validate the event, then `get` ([`get`]), `refresh`
//! ([`replace`]) or `status` ([`status`]). Both token actions renew through [`renew`].

mod get;
mod renew;
mod replace;
mod status;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;

use orange_token::audit::{AuditEvent, AuditLog, TokenSource};
use orange_token::clock::Clock;
use orange_token::config::GetTokenConfig;
use orange_token::envelope::{TokenEnvelope, rfc3339};
use orange_token::error::ServiceError;
use orange_token::log_sink::LogSink;
use orange_token::metrics::Metrics;
use orange_token::protocol::{Action, StatusResponse, TokenResponse};
use orange_token::store::TokenStore;

use crate::cache::TokenCache;
use crate::invoker::RefreshInvoker;
use crate::request::parse_request;

pub use renew::ThrottleWait;

/// What the function holds between invocations; built once in `main`.
pub struct GetTokenState<S, R> {
    pub config: GetTokenConfig,
    pub store: S,
    pub refresh_function: R,
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
        refresh_function: R,
        audit: AuditLog,
        metrics: Metrics,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            config,
            store,
            refresh_function,
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
            .replace_rejected(request.rejected_token_id.as_deref(), min_life)
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

impl<S: TokenStore, R: RefreshInvoker> Invocation<'_, S, R> {
    /// The stored token if it has `min_life` left and is not `replaced`.
    pub(super) async fn load_servable(
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

    pub(super) async fn load(&self) -> Result<Option<TokenEnvelope>, ServiceError> {
        Ok(self.state.store.load().await?)
    }

    /// The answer for `envelope`, audited and counted. The token itself goes only into
    /// the returned value.
    pub(super) fn serve(&self, envelope: &TokenEnvelope, source: TokenSource) -> TokenResponse {
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
    pub(super) fn unavailable(&self, error: ServiceError) -> ServiceError {
        tracing::error!(request_id = self.request_id, error_type = error.error_type(), error = %error, "no token served");
        self.audit(AuditEvent::TokenUnavailable {
            caller: self.caller.clone(),
            reason: error.to_string(),
        });
        self.state.metrics.token_unavailable(self.state.clock.now());
        error
    }

    pub(super) fn audit(&self, event: AuditEvent) {
        self.state
            .audit
            .emit(self.request_id, self.state.clock.now(), event);
    }
}
