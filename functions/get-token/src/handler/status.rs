//! `status`: the stored token's health, never the token.

use orange_token::audit::AuditEvent;
use orange_token::envelope::rfc3339;
use orange_token::protocol::StatusResponse;
use orange_token::store::TokenStore;

use super::Invocation;
use crate::invoker::RefreshInvoker;

impl<S: TokenStore, R: RefreshInvoker> Invocation<'_, S, R> {
    /// `status`: the stored token's health, never the token. A store that cannot be read
    /// is reported as unhealthy, not as an error, so that a health check reads why.
    pub(super) async fn status(&self) -> StatusResponse {
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
}
