//! One invoke of the refresh function, and what it ended with: the token it stored, a
//! refusal (too soon), or a failure; a throttled invoke waits for the running refresh.

use std::time::Duration;

use orange_token::envelope::TokenEnvelope;
use orange_token::error::ServiceError;
use orange_token::renewal::RefreshReason;
use orange_token::store::TokenStore;

use super::Invocation;
use crate::invoker::{RefreshCall, RefreshInvokeError, RefreshInvoker};

/// The longest part of the refresh function's `errorMessage` quoted in get-token's own.
pub(super) const MAX_QUOTED_MESSAGE_CHARS: usize = 300;

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

/// Who renewed the token a renewal ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RenewedBy {
    /// This invocation's invoke of the refresh function.
    ThisInvocation,
    /// Another refresh: one already running (this invocation's invoke was throttled),
    /// or one that renewed just before this invocation asked.
    AnotherRefresh,
}

/// What asking the refresh function for a token ended with.
pub(super) enum Renewal {
    /// A servable token.
    Served(TokenEnvelope, RenewedBy),
    /// The refresh function refused to renew a token this young (`recent`) and no
    /// servable token is stored.
    RateLimited,
}

impl<S: TokenStore, R: RefreshInvoker> Invocation<'_, S, R> {
    /// Invokes the refresh function once with `call`, then answers the stored token if
    /// it has `min_life` left and is not `replaced`. A throttled invoke (a refresh is
    /// already running) is followed by a few spaced re-reads of the store.
    pub(super) async fn renew(
        &self,
        call: RefreshCall,
        min_life: Duration,
        replaced: Option<&str>,
    ) -> Result<Renewal, ServiceError> {
        match self.state.refresh_function.invoke(call).await {
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

    pub(super) async fn stored_after_renewal(
        &self,
        min_life: Duration,
        replaced: Option<&str>,
    ) -> Result<TokenEnvelope, ServiceError> {
        self.load_servable(min_life, replaced)
            .await?
            .ok_or_else(|| self.not_servable_after_renewal(min_life))
    }

    pub(super) fn not_servable_after_renewal(&self, min_life: Duration) -> ServiceError {
        ServiceError::TokenUnavailable(format!(
            "the refresh function succeeded but the stored token does not have {} s of life left",
            min_life.as_secs()
        ))
    }
}

pub(super) fn cut_short(message: &str) -> String {
    let mut quoted: String = message.chars().take(MAX_QUOTED_MESSAGE_CHARS).collect();
    if quoted.len() < message.len() {
        quoted.push_str("...");
    }
    quoted
}
