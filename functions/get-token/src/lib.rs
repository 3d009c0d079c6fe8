//! The `get-token` function: serves the current Orange token out of SSM to other
//! Lambdas, and renews it on demand through the `refresh` function.
//!
//! Read top-down: [`handler::handle`] validates the event ([`request`]), then
//! - `get` serves the in-memory token of a warm instance while it has at least
//!   `max(buffer, min_ttl_seconds)` left, otherwise reads the store; when the stored
//!   token is missing or too old it invokes the refresh function once
//!   ([`invoker`]) and serves what it stored;
//! - `refresh` re-reads the store: a rejected token that is no longer stored is not
//!   renewed again, otherwise one forced renewal serves every concurrent caller;
//! - `status` reports the stored token's health, never the token.
//!
//! Concurrent invocations of one instance share one store read and one renewal
//! ([`cache::TokenCache`]).
//!
//! Choices where the contract is silent:
//! - `status` when SSM cannot be read answers `healthy: false` with the store's error
//!   as `message` (not a function error), so that a health check can show why.
//! - A throttled refresh invoke (reserved concurrency 1: a refresh is already running)
//!   is followed by up to 5 re-reads of the store over 3.4 s
//!   ([`handler::ThrottleWait`]); `TokenUnavailable` only when no servable token
//!   appears. Any other failed renewal is `TokenUnavailable` at once, naming the
//!   refresh function's `errorType`.
//! - A store read that fails during `get` or `refresh` is `StoreUnavailable`, audited
//!   as `TOKEN_UNAVAILABLE`.
//! - `rejected_token_id` must look like a `token_id` (hex digits, at most 64): a token
//!   passed there by mistake is refused, never logged.

pub mod cache;
pub mod handler;
pub mod invoker;
pub mod request;

#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
