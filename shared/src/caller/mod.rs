//! The caller library: how another Rust Lambda gets an Orange access token from the
//! get-token function, caches it, and retries once when Orange rejects it.
//!
//! Link it without the server side:
//! `orange-token = { ..., default-features = false, features = ["caller"] }`.
//!
//! ```no_run
//! # async fn example(lambda: aws_sdk_lambda::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use orange_token::caller::TokenClient;
//!
//! // Once, at init (`lambda` built from `aws_config::load_defaults`): cheap to clone.
//! // get-token's name comes from GET_TOKEN_FUNCTION_NAME (the stack's output).
//! let tokens = TokenClient::from_env(lambda)?;
//! // Per request:
//! let token = tokens.access_token().await?;
//! let authorization = token.authorization_header(); // `.expose()` is "Bearer ..."
//! # let _ = authorization;
//! # Ok(()) }
//! ```
//!
//! - [`TokenClient::access_token`] serves a cached token while it has more than the
//!   buffer left (by its `expires_at`); concurrent misses share one invoke.
//! - [`TokenClient::with_token`] runs a request and, when Orange rejects the token
//!   ([`AuthFailure`], [`is_auth_failure`]), asks get-token to `refresh` it and
//!   retries exactly once.
//! - [`TokenError::http_status`] maps a failure to 503 (token service unavailable)
//!   or 500.
//!
//! No log line of this module holds a token: cache hits and misses are logged at
//! `debug` with the `token_id` only.

mod auth;
mod builder;
mod error;
mod invoke;
mod token;

#[cfg(test)]
mod tests;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::TimeDelta;
use tracing::{debug, info};

pub use auth::{AuthFailure, is_auth_failure};
pub use builder::TokenClientBuilder;
pub use error::{CallError, ConfigError, InvokeFailure, TokenError, UNAVAILABLE_ERROR_TYPES};
pub use token::{AuthorizationHeader, Token};

pub use crate::protocol::MAX_MIN_TTL_SECONDS;

use crate::protocol::{Action, GetTokenRequest, StatusResponse};

/// Default buffer: a token with this little life left is not served.
pub const DEFAULT_BUFFER: Duration = Duration::from_secs(5 * 60);
/// The environment variable [`TokenClient::from_env`] reads the buffer from (whole
/// minutes, 0 to 30), shared with get-token.
pub const BUFFER_VARIABLE: &str = "OAUTH_EXPIRY_BUFFER_MINUTES";
/// The environment variable [`TokenClient::from_env`] reads get-token's name from.
pub const FUNCTION_NAME_VARIABLE: &str = "GET_TOKEN_FUNCTION_NAME";

pub use crate::clock::{Clock, SystemClock};

/// A client of the get-token function with an in-memory token cache.
///
/// Build it once (at init) and clone it freely: clones share the cache.
#[derive(Clone)]
pub struct TokenClient {
    inner: Arc<Inner>,
}

struct Inner {
    lambda: aws_sdk_lambda::Client,
    function_name: String,
    caller: Option<String>,
    buffer: Duration,
    min_ttl_seconds: Option<u32>,
    /// `max(buffer, min_ttl_seconds)`: serve a cached token only with more life left.
    threshold_seconds: u32,
    clock: Arc<dyn Clock>,
    cache: Mutex<Cache>,
    /// Held while invoking get-token: concurrent misses wait here for one invoke.
    refill: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Cache {
    token: Option<Token>,
    /// Incremented by every completed invoke.
    generation: u64,
    /// The error of the last generation's invoke, when it failed (then `token` is `None`).
    last_error: Option<TokenError>,
}

impl TokenClient {
    /// A token with more than `max(buffer, min_ttl_seconds)` of life left.
    ///
    /// Served from memory while the cached token has that much left; otherwise
    /// get-token is invoked (`{"action": "get", "min_ttl_seconds": max(buffer,
    /// min_ttl_seconds), "caller": ...}`) and its answer cached. Concurrent calls that
    /// miss share one invoke, and its outcome: when it fails, they all get its error.
    ///
    /// The invoke is `RequestResponse` and is never retried by the SDK, whatever the
    /// Lambda client's retry configuration: a function error is an answer. A
    /// throttled, timed-out or failed invoke is returned as a [`TokenError`] that
    /// [maps to 503](TokenError::http_status).
    pub async fn access_token(&self) -> Result<Token, TokenError> {
        let generation = {
            let cache = self.inner.cache();
            if let Some(token) = self.fresh(&cache) {
                debug!(token_id = token.token_id(), "token cache hit");
                return Ok(token);
            }
            cache.generation
        };
        let _refill = self.inner.refill.lock().await;
        {
            let cache = self.inner.cache();
            if let Some(token) = self.fresh(&cache) {
                debug!(token_id = token.token_id(), "token cache hit after waiting");
                return Ok(token);
            }
            if cache.generation != generation {
                // Another call invoked while this one waited: share its outcome.
                if let Some(token) = &cache.token {
                    debug!(
                        token_id = token.token_id(),
                        "token from a concurrent invoke"
                    );
                    return Ok(token.clone());
                }
                if let Some(error) = &cache.last_error {
                    return Err(error.clone());
                }
            }
        }
        debug!(function_name = %self.inner.function_name, "token cache miss: invoking get-token");
        let request = GetTokenRequest {
            action: Action::Get,
            min_ttl_seconds: Some(self.inner.threshold_seconds),
            rejected_token_id: None,
            caller: self.inner.caller.clone(),
        };
        self.fetch_and_store(&request).await
    }

    /// The `Authorization` header value of [`access_token`](Self::access_token).
    pub async fn authorization_header(&self) -> Result<AuthorizationHeader, TokenError> {
        Ok(self.access_token().await?.authorization_header())
    }

    /// Orange rejected the token `rejected_token_id`: ask get-token for another one
    /// (`{"action": "refresh", "rejected_token_id": ..., "caller": ...}`) and cache it.
    ///
    /// The rejected token is dropped from the cache at once. If the cache already
    /// holds another token (a concurrent call renewed it), that one is answered
    /// without invoking; concurrent rejections of the same token share one invoke.
    pub async fn refresh(&self, rejected_token_id: &str) -> Result<Token, TokenError> {
        let generation = {
            let mut cache = self.inner.cache();
            let generation = cache.generation;
            if let Some(token) = self.replacement(&mut cache, rejected_token_id, generation) {
                return Ok(token);
            }
            generation
        };
        let _refill = self.inner.refill.lock().await;
        {
            let mut cache = self.inner.cache();
            if let Some(token) = self.replacement(&mut cache, rejected_token_id, generation) {
                return Ok(token);
            }
            if cache.generation != generation
                && let Some(error) = &cache.last_error
            {
                return Err(error.clone());
            }
        }
        info!(rejected_token_id, function_name = %self.inner.function_name, "token rejected: asking get-token to refresh it");
        let request = GetTokenRequest {
            action: Action::Refresh,
            min_ttl_seconds: None,
            rejected_token_id: Some(rejected_token_id.to_owned()),
            caller: self.inner.caller.clone(),
        };
        self.fetch_and_store(&request).await
    }

    /// Runs a request with a token and, when it fails with an authentication failure
    /// ([`AuthFailure::is_auth_failure`] on its error), asks get-token to refresh the
    /// rejected token and runs it again, exactly once, with the new token.
    ///
    /// `request` gets the `Authorization` header value (cheap to clone, hold it as long
    /// as the request needs it) and is called once, or twice after a rejection. Its
    /// error comes back as [`CallError::Request`] when it is not an authentication
    /// failure, and as [`CallError::AuthRejected`] when the retry is rejected too; a
    /// token that cannot be had is [`CallError::Token`].
    ///
    /// ```no_run
    /// use orange_token::caller::{is_auth_failure, AuthFailure, CallError, TokenClient};
    ///
    /// #[derive(Debug)]
    /// struct ApiError { status: u16, body: Vec<u8> }
    ///
    /// impl AuthFailure for ApiError {
    ///     fn is_auth_failure(&self) -> bool { is_auth_failure(self.status, &self.body) }
    /// }
    ///
    /// async fn send_sms(tokens: &TokenClient) -> Result<Vec<u8>, CallError<ApiError>> {
    ///     tokens
    ///         .with_token(|auth| async move {
    ///             // With your HTTP client, e.g. reqwest:
    ///             // let response = http.post(url).header("Authorization", auth.expose())
    ///             //     .json(&message).send().await?;
    ///             let (status, body): (u16, Vec<u8>) = todo!("send with {auth:?}");
    ///             if (200..300).contains(&status) { Ok(body) } else { Err(ApiError { status, body }) }
    ///         })
    ///         .await
    /// }
    /// ```
    pub async fn with_token<F, Fut, T, E>(&self, mut request: F) -> Result<T, CallError<E>>
    where
        F: FnMut(AuthorizationHeader) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AuthFailure,
    {
        let token = self.access_token().await?;
        match request(token.authorization_header()).await {
            Ok(value) => return Ok(value),
            Err(error) if error.is_auth_failure() => {}
            Err(error) => return Err(CallError::Request(error)),
        }
        let renewed = self.refresh(token.token_id()).await?;
        match request(renewed.authorization_header()).await {
            Ok(value) => Ok(value),
            Err(error) if error.is_auth_failure() => {
                info!(
                    token_id = renewed.token_id(),
                    "renewed token rejected too: not retrying again"
                );
                Err(CallError::AuthRejected(error))
            }
            Err(error) => Err(CallError::Request(error)),
        }
    }

    /// get-token's health check (`{"action": "status"}`): never holds the token and
    /// is not cached.
    pub async fn status(&self) -> Result<StatusResponse, TokenError> {
        let request = GetTokenRequest {
            action: Action::Status,
            min_ttl_seconds: None,
            rejected_token_id: None,
            caller: self.inner.caller.clone(),
        };
        let payload =
            invoke::invoke(&self.inner.lambda, &self.inner.function_name, &request).await?;
        serde_json::from_slice(&payload).map_err(|error| TokenError::InvalidResponse {
            reason: format!(
                "not a status response ({:?} error at line {} column {})",
                error.classify(),
                error.line(),
                error.column()
            ),
        })
    }

    /// The get-token function this client invokes.
    pub fn function_name(&self) -> &str {
        &self.inner.function_name
    }

    /// The buffer: a cached token with this little life left is not served.
    pub fn buffer(&self) -> Duration {
        self.inner.buffer
    }

    /// Drops the rejected token from the cache, or answers the token that replaced it:
    /// another one still fresh, or any stored since `generation`.
    fn replacement(
        &self,
        cache: &mut Cache,
        rejected_token_id: &str,
        generation: u64,
    ) -> Option<Token> {
        match &cache.token {
            Some(token) if token.token_id() == rejected_token_id => {
                cache.token = None;
                None
            }
            Some(token) if cache.generation != generation || self.is_fresh(token) => {
                debug!(
                    token_id = token.token_id(),
                    rejected_token_id, "rejected token already replaced"
                );
                Some(token.clone())
            }
            _ => None,
        }
    }

    /// Invokes get-token (the caller holds `refill`) and records the outcome.
    async fn fetch_and_store(&self, request: &GetTokenRequest) -> Result<Token, TokenError> {
        let result =
            match invoke::invoke(&self.inner.lambda, &self.inner.function_name, request).await {
                Ok(payload) => invoke::token_from_payload(&payload),
                Err(error) => Err(error),
            };
        let mut cache = self.inner.cache();
        cache.generation = cache.generation.wrapping_add(1);
        match &result {
            Ok(token) => {
                debug!(
                    token_id = token.token_id(),
                    expires_at = %token.expires_at(),
                    "token cached"
                );
                cache.token = Some(token.clone());
                cache.last_error = None;
            }
            Err(error) => {
                debug!(error = %error, "get-token failed");
                cache.token = None;
                cache.last_error = Some(error.clone());
            }
        }
        result
    }

    fn fresh(&self, cache: &Cache) -> Option<Token> {
        cache
            .token
            .as_ref()
            .filter(|token| self.is_fresh(token))
            .cloned()
    }

    fn is_fresh(&self, token: &Token) -> bool {
        let left = token.expires_at() - self.inner.clock.now();
        left > TimeDelta::seconds(i64::from(self.inner.threshold_seconds))
    }
}

impl Inner {
    fn cache(&self) -> MutexGuard<'_, Cache> {
        // The cache is consistent after every statement: a panic elsewhere while
        // holding the lock leaves nothing half-written.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for TokenClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenClient")
            .field("function_name", &self.inner.function_name)
            .field("caller", &self.inner.caller)
            .field("buffer", &self.inner.buffer)
            .field("min_ttl_seconds", &self.inner.min_ttl_seconds)
            .finish_non_exhaustive()
    }
}
