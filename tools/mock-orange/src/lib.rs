//! A local stand-in for Orange's OAuth v3 token endpoint
//! (`POST /oauth/v3/token`, client-credentials grant), with injectable
//! failures, for integration tests (in process) and local runs (the
//! `mock-orange` binary).
//!
//! # Normal behaviour of `POST /oauth/v3/token`
//!
//! Checked in this order:
//!
//! 1. Rate limit (only with [`MockConfig::rate_limit`]): past `max_requests`
//!    admitted token requests in the last `window` (sliding), 429 with
//!    `Retry-After: <whole seconds until a slot frees, at least 1>` and
//!    `{"code":53,"message":"Too many requests","description":...}`.
//!    Refused requests do not use up the window.
//! 2. `Authorization: Basic base64(client_id:client_secret)` matching the
//!    configured pair, else 401
//!    `{"error":"invalid_client","error_description":"Client authentication failed"}`.
//! 3. An `Accept` header allowing `application/json` (`application/json`,
//!    `application/*` or `*/*`, not with `q=0`), else 406
//!    `{"code":62,"message":"Not acceptable","description":...}`. A missing
//!    `Accept` is refused, as Orange does.
//! 4. `Content-Type: application/x-www-form-urlencoded` (parameters such as
//!    `charset` allowed), else 400 `invalid_request`; a form with
//!    `grant_type=client_credentials`, else 400 `invalid_request` (missing
//!    `grant_type`, or a repeated parameter) or `unsupported_grant_type`.
//! 5. 200 `{"token_type":"Bearer","access_token":"<40 URL-safe characters>","expires_in":<MockConfig::expires_in>}`,
//!    plus `"scope"` when the form had one. The token is fresh for each
//!    request and recorded in [`MockOrange::issued_tokens`].
//!
//! Other methods on the token path: 405 (`Allow: POST`). Other paths: 404.
//! Error bodies are JSON. Every answer has `Content-Length`,
//! `Cache-Control: no-store` and `Connection: close` (one request per
//! connection). Requests must have a `Content-Length` body (no chunked
//! encoding: 411) of at most 1 MiB.
//!
//! # Faults
//!
//! See [`Fault`]. A token request first takes the next queued one-shot fault
//! or, with an empty queue, the sticky fault; a fault replaces the normal
//! handling above (except [`Fault::Delay`]). Every `POST` to the token path,
//! faulted or not, is counted in [`MockOrange::token_requests`].
//!
//! # Control API (same port)
//!
//! | request | effect / answer |
//! |---|---|
//! | `POST /_mock/faults` with a fault, or an array of faults | queue them; `{"queued": N}` |
//! | `DELETE /_mock/faults` | clear the queue and the sticky fault |
//! | `GET /_mock/faults` | `{"queued": [...], "sticky": ...}` |
//! | `PUT /_mock/sticky` with a fault or `null` | set or clear the sticky fault |
//! | `GET /_mock/sticky` | `{"sticky": ...}` |
//! | `GET /_mock/stats` | `{"token_requests": N, "issued_tokens": [...], "issued_token_ids": [...], "queued_faults": N, "sticky_fault": ...}` |
//!
//! `issued_token_ids` names each token by the first 12 hex digits of its
//! SHA-256 ([`token_id`]). Control requests are neither counted nor recorded.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use mock_orange::{Fault, MockConfig, MockOrange};
//!
//! let mock = MockOrange::start(MockConfig::default()).await?;
//! mock.push_fault(Fault::Status { status: 503 });
//! // point the client at mock.token_url(): its first request gets 503,
//! // the next one a token.
//! mock.shutdown().await;
//! # Ok(()) }
//! ```

mod control;
mod fault;
mod fault_answer;
mod http;
mod orange_errors;
mod server;
mod state;
mod token;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use fault::Fault;

use state::Shared;

/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/oauth/v3/token";

/// How the mock behaves when no fault applies.
///
/// `Debug` never shows the client secret.
#[derive(Clone, PartialEq, Eq)]
pub struct MockConfig {
    /// The accepted client id. Default `test-client-id`.
    pub client_id: String,
    /// The accepted client secret. Default `test-client-secret`.
    pub client_secret: String,
    /// The `expires_in` of issued tokens, in seconds. Default 3600.
    pub expires_in: u64,
    /// An optional rate limit on token requests. Default none.
    pub rate_limit: Option<RateLimit>,
    /// Write one line per request to stderr (method, path, status, fault
    /// kind; never a header, the secret or a token). Default false; the
    /// binary turns it on.
    pub log_requests: bool,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            client_id: "test-client-id".to_string(),
            client_secret: "test-client-secret".to_string(),
            expires_in: 3600,
            rate_limit: None,
            log_requests: false,
        }
    }
}

impl fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("rate_limit", &self.rate_limit)
            .field("log_requests", &self.log_requests)
            .finish()
    }
}

/// At most `max_requests` admitted token requests in any sliding `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests admitted per window (0 refuses every request).
    pub max_requests: u32,
    /// The window's length.
    pub window: Duration,
}

impl RateLimit {
    /// `max_requests` per `window`.
    pub fn new(max_requests: u32, window: Duration) -> RateLimit {
        RateLimit {
            max_requests,
            window,
        }
    }
}

/// A request the mock received (control API requests excepted).
///
/// Holds the `Authorization` header as sent: do not log it outside tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// e.g. `POST`.
    pub method: String,
    /// The request target, query string included.
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Accept` header.
    pub accept: Option<String>,
    /// The body (lossy UTF-8).
    pub body: String,
}

impl RecordedRequest {
    fn from_request(request: &http::Request) -> RecordedRequest {
        let header = |name: &str| request.header(name).map(str::to_string);
        RecordedRequest {
            method: request.method.clone(),
            path: request.target.clone(),
            authorization: header("authorization"),
            content_type: header("content-type"),
            accept: header("accept"),
            body: String::from_utf8_lossy(&request.body).into_owned(),
        }
    }
}

/// The first 12 hex digits of the SHA-256 of `token`: how the project names
/// a token in logs.
pub fn token_id(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut id = hex::encode(digest);
    id.truncate(12);
    id
}

/// A running mock endpoint.
///
/// Cheap to clone (all clones share one server). The server stops on
/// [`MockOrange::shutdown`] or when the last clone is dropped. Each instance
/// listens on its own port, so tests can run many in parallel.
#[derive(Clone)]
pub struct MockOrange {
    inner: Arc<Inner>,
}

struct Inner {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        let task = self
            .task
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            task.abort();
        }
    }
}

impl fmt::Debug for MockOrange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockOrange")
            .field("addr", &self.inner.addr)
            .finish_non_exhaustive()
    }
}

impl MockOrange {
    /// Starts a mock on `127.0.0.1` with a free port. Must be called within
    /// a Tokio runtime (the server runs as a task on it).
    pub async fn start(config: MockConfig) -> std::io::Result<MockOrange> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config).await
    }

    /// Starts a mock on `addr` (port 0 picks a free port). Refuses an address
    /// that is not loopback with [`std::io::ErrorKind::InvalidInput`].
    pub async fn start_on(addr: SocketAddr, config: MockConfig) -> std::io::Result<MockOrange> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("mock-orange only listens on a loopback address, not {addr}"),
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::run(listener, Arc::clone(&shared), stopped));
        Ok(MockOrange {
            inner: Arc::new(Inner {
                addr,
                shared,
                stop,
                task: Mutex::new(Some(task)),
            }),
        })
    }

    /// The address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash), for the control API.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// `http://127.0.0.1:PORT/oauth/v3/token`.
    pub fn token_url(&self) -> String {
        format!("http://{}{}", self.inner.addr, TOKEN_PATH)
    }

    /// The configuration the mock runs with.
    pub fn config(&self) -> &MockConfig {
        &self.inner.shared.config
    }

    /// Regenerates the app's client secret, as Orange's developer console does: from now
    /// on only `client_secret` is accepted (with the configured client id); the old one
    /// is retired.
    pub fn regenerate_client_secret(&self, client_secret: impl Into<String>) {
        self.inner.shared.state().regenerated_secret = Some(client_secret.into());
    }

    /// Queues a one-shot fault for a coming token request (first in, first out).
    pub fn push_fault(&self, fault: Fault) {
        self.inner.shared.state().faults.push_back(fault);
    }

    /// Sets (`Some`) or clears (`None`) the fault applied to every token
    /// request for which no queued fault is left.
    pub fn set_sticky_fault(&self, fault: Option<Fault>) {
        self.inner.shared.state().sticky = fault;
    }

    /// Clears the queue and the sticky fault (counters and records stay).
    pub fn clear_faults(&self) {
        let mut state = self.inner.shared.state();
        state.faults.clear();
        state.sticky = None;
    }

    /// The faults still queued, next one first.
    pub fn queued_faults(&self) -> Vec<Fault> {
        self.inner.shared.state().faults.iter().cloned().collect()
    }

    /// How many `POST`s reached the token path (faulted, refused or not).
    pub fn token_requests(&self) -> usize {
        self.inner.shared.state().token_requests
    }

    /// Every token issued so far, oldest first.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.inner.shared.state().issued.clone()
    }

    /// Every request received so far (control API excepted), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.shared.state().requests.clone()
    }

    /// Stops accepting connections, closes the open ones (a hanging request
    /// ends with the connection closed) and waits for the server task.
    /// Other clones keep working as handles but the port is closed.
    pub async fn shutdown(self) {
        self.inner.stop.send_replace(true);
        let task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}
