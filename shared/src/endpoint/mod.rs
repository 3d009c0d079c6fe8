//! The client of Orange's token endpoint: one client-credentials request, retried as the
//! contract says, within the invocation's deadline.

mod backoff;
mod issued_token;
mod response;

use std::time::Duration;

use tokio::time::Instant;
use url::Url;

pub use backoff::RetryPolicy;
pub use issued_token::IssuedToken;
pub use response::{AttemptFailure, FailureClass, MAX_BODY_BYTES, classify, parse_retry_after};

use crate::credentials::ClientCredentials;

/// The token endpoint client. Build it once per instance: it holds a connection pool.
#[derive(Debug, Clone)]
pub struct TokenEndpointClient {
    http: reqwest::Client,
    endpoint: Url,
    scope: Option<String>,
    attempt_timeout: Duration,
    retry: RetryPolicy,
    /// A token must live longer than this to be accepted.
    min_lifetime: Duration,
}

/// A token and how many attempts it took.
#[derive(Debug)]
pub struct TokenGrant {
    pub token: IssuedToken,
    pub attempts: u32,
}

/// The token request failed for good: the last attempt's failure and the count of attempts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token request failed after {attempts} attempt(s): {}", last.detail)]
pub struct EndpointError {
    pub last: AttemptFailure,
    pub attempts: u32,
}

/// The HTTP client could not be built (no TLS roots, say): a start-up failure.
#[derive(Debug, thiserror::Error)]
#[error("the HTTP client for the token endpoint could not be built: {0}")]
pub struct ClientBuildError(#[from] reqwest::Error);

impl TokenEndpointClient {
    pub fn new(
        endpoint: Url,
        scope: Option<String>,
        attempt_timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self, ClientBuildError> {
        let http = reqwest::Client::builder()
            // Never follow a redirect: it would send the credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(attempt_timeout)
            .timeout(attempt_timeout)
            .pool_idle_timeout(Duration::from_secs(55))
            .user_agent(concat!("orange-token-service/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            endpoint,
            scope,
            attempt_timeout,
            retry,
            min_lifetime: Duration::ZERO,
        })
    }

    /// Refuses tokens whose lifetime is not longer than `min_lifetime` (the expiry
    /// buffer: such a token could never be served) as malformed answers.
    #[must_use]
    pub fn with_min_lifetime(mut self, min_lifetime: Duration) -> Self {
        self.min_lifetime = min_lifetime;
        self
    }

    /// Asks for a token, retrying transient and throttled failures with backoff, and
    /// giving up before `deadline`.
    pub async fn request_token(
        &self,
        credentials: &ClientCredentials,
        deadline: Instant,
    ) -> Result<TokenGrant, EndpointError> {
        let mut attempts = 0;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            attempts += 1;
            let timeout = self.attempt_timeout.min(remaining);
            let failure = match self.attempt(credentials, timeout).await {
                Ok(token) => return Ok(TokenGrant { token, attempts }),
                Err(failure) => failure,
            };
            tracing::warn!(
                attempt = attempts,
                class = ?failure.class,
                http_status = failure.http_status,
                detail = %failure.detail,
                "token request attempt failed"
            );
            let Some(delay) = self.retry_delay(&failure, attempts, deadline) else {
                return Err(EndpointError {
                    last: failure,
                    attempts,
                });
            };
            tokio::time::sleep(delay).await;
        }
    }

    /// The wait before the next attempt, or `None` when there is to be none.
    fn retry_delay(
        &self,
        failure: &AttemptFailure,
        attempts: u32,
        deadline: Instant,
    ) -> Option<Duration> {
        if !failure.class.is_retryable() || attempts >= self.retry.max_attempts {
            return None;
        }
        let backoff = self.retry.backoff(attempts, &mut rand::rng());
        // Orange's Retry-After says when to come back; without it, back off.
        let delay = failure.retry_after.unwrap_or(backoff);
        let next_start = Instant::now() + delay;
        (next_start + self.retry.min_attempt_time <= deadline).then_some(delay)
    }

    async fn attempt(
        &self,
        credentials: &ClientCredentials,
        timeout: Duration,
    ) -> Result<IssuedToken, AttemptFailure> {
        if timeout < Duration::from_millis(1) {
            return Err(AttemptFailure::upstream_unavailable(
                "no time left for an attempt",
            ));
        }
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        let request = self
            .http
            .post(self.endpoint.clone())
            .basic_auth(&credentials.client_id, Some(credentials.client_secret()))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .timeout(timeout);
        let exchange = async {
            let mut response = request.send().await.map_err(transport_failure)?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let body = read_capped(&mut response).await?;
            let token = classify(status, retry_after.as_deref(), body.as_deref())?;
            if token.expires_in <= self.min_lifetime {
                return Err(AttemptFailure::short_lived(self.min_lifetime));
            }
            Ok(token)
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(AttemptFailure::upstream_unavailable("timed out")))
    }
}

/// Reads the body up to [`MAX_BODY_BYTES`]; `None` when it is larger.
async fn read_capped(response: &mut reqwest::Response) -> Result<Option<Vec<u8>>, AttemptFailure> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_failure)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// A transport error, described without the URL's secrets (there are none: the
/// credentials travel in a header) and without the request.
fn transport_failure(error: reqwest::Error) -> AttemptFailure {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "connection broke while reading the answer"
    } else {
        "request failed"
    };
    AttemptFailure::upstream_unavailable(kind)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A one-trick server on loopback: answers every request with `answer`, counting them.
    async fn serve(answer: &'static str) -> (Url, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 8192];
                    if socket.read(&mut buffer).await.unwrap_or(0) > 0 {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let answer = answer.replace("{port}", &address.port().to_string());
                        let _ = socket.write_all(answer.as_bytes()).await;
                    }
                });
            }
        });
        let url = Url::parse(&format!("http://{address}/oauth/v3/token")).unwrap();
        (url, requests)
    }

    fn client(url: Url) -> TokenEndpointClient {
        TokenEndpointClient::new(url, None, Duration::from_secs(2), RetryPolicy::default()).unwrap()
    }

    #[tokio::test]
    async fn redirects_are_never_followed() {
        let (url, requests) = serve(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{port}/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await;
        let credentials = ClientCredentials::new("id", "secret");
        let deadline = Instant::now() + Duration::from_secs(10);
        let error = client(url)
            .request_token(&credentials, deadline)
            .await
            .unwrap_err();
        assert_eq!(error.last.class, FailureClass::Configuration);
        assert_eq!(error.last.http_status, Some(307));
        assert_eq!(error.attempts, 1);
        assert_eq!(
            requests.load(Ordering::SeqCst),
            1,
            "the redirect was followed"
        );
    }

    #[tokio::test]
    async fn no_attempt_starts_past_the_deadline() {
        let (url, requests) = serve(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await;
        let credentials = ClientCredentials::new("id", "secret");
        // 1.5 s of budget, 1 s minimum per attempt: the first attempt, perhaps a second,
        // never the five the policy would otherwise allow.
        let deadline = Instant::now() + Duration::from_millis(1500);
        let error = client(url)
            .request_token(&credentials, deadline)
            .await
            .unwrap_err();
        assert_eq!(error.last.class, FailureClass::UpstreamUnavailable);
        assert!(error.attempts < 5, "{} attempts", error.attempts);
        assert_eq!(requests.load(Ordering::SeqCst), error.attempts as usize);
    }

    /// The deadline rule itself, on Tokio's paused clock (no network, no wall clock): a
    /// retry is planned only when it would start with at least `min_attempt_time` left.
    #[tokio::test(start_paused = true)]
    async fn a_retry_is_planned_only_with_a_whole_attempt_left_before_the_deadline() {
        let client = client(Url::parse("http://127.0.0.1:9/oauth/v3/token").unwrap());
        let throttled = |seconds| AttemptFailure {
            class: FailureClass::Throttled,
            retry_after: Some(Duration::from_secs(seconds)),
            ..AttemptFailure::upstream_unavailable("throttled")
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        // 10 s left: a 9 s wait leaves exactly the 1 s minimum; a 10 s wait does not.
        assert_eq!(
            client.retry_delay(&throttled(9), 1, deadline),
            Some(Duration::from_secs(9))
        );
        assert_eq!(client.retry_delay(&throttled(10), 1, deadline), None);
        tokio::time::advance(Duration::from_millis(9_500)).await;
        // Less than the minimum left: not even an immediate attempt.
        assert_eq!(client.retry_delay(&throttled(0), 1, deadline), None);
        // Rejections and the last attempt are never retried, whatever the time left.
        let far = Instant::now() + Duration::from_secs(3600);
        let rejected = AttemptFailure {
            class: FailureClass::CredentialsRejected,
            ..AttemptFailure::upstream_unavailable("HTTP 401")
        };
        assert_eq!(client.retry_delay(&rejected, 1, far), None);
        assert_eq!(client.retry_delay(&throttled(0), 5, far), None);
    }
}
