//! Behaviour of the mock over real HTTP.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mock_orange::{Fault, MockConfig, MockOrange, RateLimit, token_id};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FORM: &str = "application/x-www-form-urlencoded";

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

async fn start() -> MockOrange {
    MockOrange::start(MockConfig::default()).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// A token request as the refresh function sends it.
fn token_request(client: &reqwest::Client, mock: &MockOrange) -> reqwest::RequestBuilder {
    token_request_with(client, mock, &[])
}

/// A token request with some headers replaced (an empty value removes one).
fn token_request_with(
    client: &reqwest::Client,
    mock: &MockOrange,
    overrides: &[(&'static str, &str)],
) -> reqwest::RequestBuilder {
    use reqwest::header::{HeaderMap, HeaderValue};
    let mut headers = HeaderMap::new();
    let good = basic("test-client-id", "test-client-secret");
    for (name, value) in [
        ("authorization", good.as_str()),
        ("accept", "application/json"),
        ("content-type", FORM),
    ] {
        headers.insert(name, HeaderValue::from_str(value).unwrap());
    }
    for (name, value) in overrides {
        if value.is_empty() {
            headers.remove(*name);
        } else {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
    }
    client
        .post(mock.token_url())
        .headers(headers)
        .body("grant_type=client_credentials")
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

async fn get_token(mock: &MockOrange) -> Answer {
    send(token_request(&client(), mock)).await
}

/// Sends raw bytes, reads until the server closes; returns the status and
/// the whole answer.
async fn raw(addr: SocketAddr, request: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let answer = String::from_utf8(answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, answer))
}

fn raw_token_request(extra_headers: &str, body: &str) -> String {
    format!(
        "POST /oauth/v3/token HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\n{extra_headers}Content-Length: {}\r\n\r\n{body}",
        basic("test-client-id", "test-client-secret"),
        body.len()
    )
}

fn body_of(raw_answer: &str) -> Value {
    let (_, body) = raw_answer.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn valid_request_gets_a_fresh_recorded_token() {
    let mock = start().await;
    let first = get_token(&mock).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.header("cache-control"), Some("no-store"));
    let body = first.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body.get("scope").is_none());
    let token = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 40);
    assert!(
        token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    );

    let second = get_token(&mock).await.json();
    let token2 = second["access_token"].as_str().unwrap().to_string();
    assert_ne!(token, token2);
    assert_eq!(mock.issued_tokens(), vec![token, token2]);
    assert_eq!(mock.token_requests(), 2);

    let recorded = mock.requests();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(recorded[0].path, "/oauth/v3/token");
    assert_eq!(
        recorded[0].authorization.as_deref(),
        Some(basic("test-client-id", "test-client-secret").as_str())
    );
    assert_eq!(recorded[0].content_type.as_deref(), Some(FORM));
    assert_eq!(recorded[0].accept.as_deref(), Some("application/json"));
    assert_eq!(recorded[0].body, "grant_type=client_credentials");
}

#[tokio::test]
async fn configured_expiry_scope_echo_and_form_variants() {
    let mock = MockOrange::start(MockConfig {
        client_id: "id-2".into(),
        client_secret: "s3cr:et".into(),
        expires_in: 120,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let answer = send(
        client()
            .post(mock.token_url())
            .header("Authorization", basic("id-2", "s3cr:et"))
            .header("Accept", "text/plain, application/json;q=0.5")
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=UTF-8",
            )
            .body("scope=sms%20read&grant_type=client_credentials"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["expires_in"], 120);
    assert_eq!(body["scope"], "sms read");
    // reqwest's .form() and its default `Accept: */*` are accepted too.
    let answer = send(
        client()
            .post(mock.token_url())
            .basic_auth("id-2", Some("s3cr:et"))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(mock.issued_tokens().len(), 2);
}

#[tokio::test]
async fn wrong_or_missing_credentials_get_401_invalid_client() {
    let mock = start().await;
    let expected =
        json!({"error": "invalid_client", "error_description": "Client authentication failed"});
    let wrong_secret = send(token_request_with(
        &client(),
        &mock,
        &[("authorization", &basic("test-client-id", "wrong"))],
    ))
    .await;
    assert_eq!(wrong_secret.status, 401);
    assert_eq!(wrong_secret.json(), expected);

    let wrong_id = send(token_request_with(
        &client(),
        &mock,
        &[("authorization", &basic("other", "test-client-secret"))],
    ))
    .await;
    assert_eq!(wrong_id.status, 401);

    let bearer = send(token_request_with(
        &client(),
        &mock,
        &[("authorization", "Bearer x")],
    ))
    .await;
    assert_eq!(bearer.status, 401);

    let (status, answer) = raw(
        mock.addr(),
        "POST /oauth/v3/token HTTP/1.1\r\nAccept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 29\r\n\r\ngrant_type=client_credentials",
    )
    .await
    .unwrap();
    assert_eq!(status, 401);
    assert_eq!(body_of(&answer), expected);

    assert!(mock.issued_tokens().is_empty());
    assert_eq!(mock.token_requests(), 4);
}

#[tokio::test]
async fn missing_or_wrong_accept_gets_406() {
    let mock = start().await;
    let (status, answer) = raw(
        mock.addr(),
        &raw_token_request(
            &format!("Content-Type: {FORM}\r\n"),
            "grant_type=client_credentials",
        ),
    )
    .await
    .unwrap();
    assert_eq!(status, 406, "{answer}");
    let body = body_of(&answer);
    assert_eq!(body["code"], 62);
    assert!(body["message"].is_string());
    assert!(body["description"].is_string());

    let html = send(token_request_with(
        &client(),
        &mock,
        &[("accept", "text/html")],
    ))
    .await;
    assert_eq!(html.status, 406);
    let refused = send(token_request_with(
        &client(),
        &mock,
        &[("accept", "application/json;q=0")],
    ))
    .await;
    assert_eq!(refused.status, 406);
    assert!(mock.issued_tokens().is_empty());

    // With the right Accept, the same raw request succeeds.
    let (status, _) = raw(
        mock.addr(),
        &raw_token_request(
            &format!("Accept: */*\r\nContent-Type: {FORM}\r\n"),
            "grant_type=client_credentials",
        ),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bad_grant_or_content_type_gets_400() {
    let mock = start().await;
    let c = client();
    let password = send(token_request(&c, &mock).body("grant_type=password")).await;
    assert_eq!(password.status, 400);
    assert_eq!(password.json()["error"], "unsupported_grant_type");
    assert!(password.json()["error_description"].is_string());

    let missing = send(token_request(&c, &mock).body("scope=x")).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json()["error"], "invalid_request");

    let empty = send(token_request(&c, &mock).body("")).await;
    assert_eq!(empty.status, 400);
    assert_eq!(empty.json()["error"], "invalid_request");

    let repeated = send(
        token_request(&c, &mock)
            .body("grant_type=client_credentials&grant_type=client_credentials"),
    )
    .await;
    assert_eq!(repeated.status, 400);
    assert_eq!(repeated.json()["error"], "invalid_request");

    let json_body = send(
        token_request_with(&c, &mock, &[("content-type", "application/json")])
            .body(r#"{"grant_type":"client_credentials"}"#),
    )
    .await;
    assert_eq!(json_body.status, 400);
    assert_eq!(json_body.json()["error"], "invalid_request");

    assert!(mock.issued_tokens().is_empty());
    assert_eq!(mock.token_requests(), 5);
}

#[tokio::test]
async fn other_paths_404_and_other_methods_405() {
    let mock = start().await;
    let c = client();
    let other = send(c.get(format!("{}/oauth/v2/token", mock.base_url()))).await;
    assert_eq!(other.status, 404);
    assert_eq!(other.json()["code"], 60);
    let post_other = send(token_request(&c, &mock).header("X-Ignored", "1")).await;
    assert_eq!(post_other.status, 200);
    let wrong_path = send(
        c.post(format!("{}/oauth/v3/token/", mock.base_url()))
            .header(
                "Authorization",
                basic("test-client-id", "test-client-secret"),
            )
            .header("Accept", "application/json")
            .header("Content-Type", FORM)
            .body("grant_type=client_credentials"),
    )
    .await;
    assert_eq!(wrong_path.status, 404);
    let get = send(c.get(mock.token_url()).header("Accept", "application/json")).await;
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));
    assert_eq!(get.json()["code"], 61);
    // Only the POST to the token path counts as a token request.
    assert_eq!(mock.token_requests(), 1);
    assert_eq!(mock.requests().len(), 4);
}

#[tokio::test]
async fn status_faults_answer_that_status_with_a_json_body() {
    let mock = start().await;
    for status in [500u16, 502, 503, 504, 404, 405, 403, 400] {
        mock.push_fault(Fault::Status { status });
        let answer = get_token(&mock).await;
        assert_eq!(answer.status, status);
        assert_eq!(answer.header("content-type"), Some("application/json"));
        let body = answer.json();
        assert!(body["code"].is_u64(), "{body}");
        assert!(body["message"].is_string());
        assert!(body["description"].is_string());
        assert!(answer.header("retry-after").is_none());
    }
    mock.push_fault(Fault::Status { status: 503 });
    assert_eq!(get_token(&mock).await.json()["code"], 5);
    assert!(mock.issued_tokens().is_empty());
    assert_eq!(mock.token_requests(), 9);
    // The queue is used up: the next request is answered normally.
    assert_eq!(get_token(&mock).await.status, 200);
}

#[tokio::test]
async fn too_many_requests_fault_with_and_without_retry_after() {
    let mock = start().await;
    mock.push_fault(Fault::TooManyRequests {
        retry_after_seconds: Some(7),
    });
    mock.push_fault(Fault::TooManyRequests {
        retry_after_seconds: None,
    });
    let with = get_token(&mock).await;
    assert_eq!(with.status, 429);
    assert_eq!(with.header("retry-after"), Some("7"));
    assert_eq!(with.json()["code"], 53);
    assert_eq!(with.json()["message"], "Too many requests");
    let without = get_token(&mock).await;
    assert_eq!(without.status, 429);
    assert!(without.header("retry-after").is_none());
    assert!(mock.issued_tokens().is_empty());
}

#[tokio::test]
async fn hang_never_answers_and_issues_nothing() {
    let mock = start().await;
    mock.push_fault(Fault::Hang);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = token_request(&client, &mock).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(mock.token_requests(), 1);
    assert!(mock.issued_tokens().is_empty());
    // The next request is answered.
    assert_eq!(get_token(&mock).await.status, 200);
}

#[tokio::test]
async fn hanging_connection_is_closed_on_shutdown() {
    let mock = start().await;
    mock.push_fault(Fault::Hang);
    let addr = mock.addr();
    let pending = tokio::spawn(async move {
        raw(
            addr,
            &raw_token_request(
                &format!("Accept: application/json\r\nContent-Type: {FORM}\r\n"),
                "grant_type=client_credentials",
            ),
        )
        .await
    });
    while mock.token_requests() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    mock.shutdown().await;
    let result = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("the hanging connection must end on shutdown")
        .unwrap();
    // Closed without any answer (EOF, or a reset).
    if let Ok((status, answer)) = result {
        assert_eq!(status, 0);
        assert!(answer.is_empty());
    }
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn delay_then_normal_answer() {
    let mock = start().await;
    mock.push_fault(Fault::Delay { millis: 400 });
    let started = Instant::now();
    let answer = get_token(&mock).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(answer.status, 200);
    let token = answer.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(mock.issued_tokens(), vec![token]);

    // A delay still checks the request normally afterwards.
    mock.push_fault(Fault::Delay { millis: 10 });
    let wrong = send(token_request_with(
        &client(),
        &mock,
        &[("authorization", &basic("test-client-id", "nope"))],
    ))
    .await;
    assert_eq!(wrong.status, 401);
}

#[tokio::test]
async fn delay_past_the_client_timeout_issues_no_token() {
    let mock = start().await;
    mock.push_fault(Fault::Delay { millis: 800 });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = token_request(&client, &mock).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(mock.issued_tokens().is_empty());
    assert_eq!(mock.token_requests(), 1);
}

#[tokio::test]
async fn connection_reset_answers_nothing() {
    let mock = start().await;
    mock.push_fault(Fault::ConnectionReset);
    let err = token_request(&client(), &mock).send().await.unwrap_err();
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");

    mock.push_fault(Fault::ConnectionReset);
    let result = raw(
        mock.addr(),
        &raw_token_request(
            &format!("Accept: application/json\r\nContent-Type: {FORM}\r\n"),
            "grant_type=client_credentials",
        ),
    )
    .await;
    // SO_LINGER 0: a TCP reset, not an orderly close.
    let err = result.expect_err("expected a reset");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
    assert_eq!(mock.token_requests(), 2);
    assert!(mock.issued_tokens().is_empty());
}

#[tokio::test]
async fn malformed_200_faults() {
    let mock = start().await;

    mock.push_fault(Fault::Html200);
    let html = get_token(&mock).await;
    assert_eq!(html.status, 200);
    assert!(
        html.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.body.contains("<html>"));
    assert!(serde_json::from_str::<Value>(&html.body).is_err());

    mock.push_fault(Fault::Empty200);
    let empty = get_token(&mock).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body, "");
    assert_eq!(empty.header("content-length"), Some("0"));

    mock.push_fault(Fault::MissingAccessToken);
    let missing = get_token(&mock).await;
    assert_eq!(missing.status, 200);
    let body = missing.json();
    assert!(body.get("access_token").is_none());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);

    for value in [json!(0), json!(-5), json!("abc"), json!(null), json!("0")] {
        mock.push_fault(Fault::ExpiresIn {
            expires_in: value.clone(),
        });
        let answer = get_token(&mock).await;
        assert_eq!(answer.status, 200);
        let body = answer.json();
        assert_eq!(body["expires_in"], value);
        assert_eq!(body["access_token"].as_str().unwrap().len(), 40);
    }

    mock.push_fault(Fault::TokenType {
        token_type: "mac".into(),
    });
    let mac = get_token(&mock).await.json();
    assert_eq!(mac["token_type"], "mac");
    assert!(mac["access_token"].is_string());

    // None of these issued a token.
    assert!(mock.issued_tokens().is_empty());
    assert_eq!(mock.token_requests(), 9);
}

#[tokio::test]
async fn valid_variants_issue_tokens() {
    let mock = start().await;
    mock.push_fault(Fault::ExpiresIn {
        expires_in: json!("3600"),
    });
    let string_expiry = get_token(&mock).await.json();
    assert_eq!(string_expiry["expires_in"], "3600");
    mock.push_fault(Fault::TokenType {
        token_type: "bearer".into(),
    });
    let lower = get_token(&mock).await.json();
    assert_eq!(lower["token_type"], "bearer");
    assert_eq!(
        mock.issued_tokens(),
        vec![
            string_expiry["access_token"].as_str().unwrap().to_string(),
            lower["access_token"].as_str().unwrap().to_string(),
        ]
    );
}

#[tokio::test]
async fn oversized_body_has_the_exact_size() {
    let mock = start().await;
    let bytes = 3 * 1024 * 1024 + 17;
    mock.push_fault(Fault::Oversized200 { bytes });
    let answer = get_token(&mock).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-length"),
        Some(bytes.to_string().as_str())
    );
    assert_eq!(answer.body.len(), bytes);
    let body = answer.json();
    assert_eq!(body["token_type"], "Bearer");
    assert!(mock.issued_tokens().is_empty());

    // A client that stops reading early does not disturb the mock.
    mock.push_fault(Fault::Oversized200 {
        bytes: 50 * 1024 * 1024,
    });
    {
        let mut stream = TcpStream::connect(mock.addr()).await.unwrap();
        stream
            .write_all(
                raw_token_request(
                    &format!("Accept: application/json\r\nContent-Type: {FORM}\r\n"),
                    "grant_type=client_credentials",
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        let mut first = [0u8; 1024];
        let n = stream.read(&mut first).await.unwrap();
        assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200 OK"));
    }
    assert_eq!(get_token(&mock).await.status, 200);
}

#[tokio::test]
async fn rejection_faults() {
    let mock = start().await;
    mock.push_fault(Fault::InvalidClient);
    let invalid_client = get_token(&mock).await;
    assert_eq!(invalid_client.status, 401);
    assert_eq!(
        invalid_client.json(),
        json!({"error": "invalid_client", "error_description": "Client authentication failed"})
    );

    mock.push_fault(Fault::InvalidRequest);
    let invalid_request = get_token(&mock).await;
    assert_eq!(invalid_request.status, 400);
    assert_eq!(invalid_request.json()["error"], "invalid_request");
    assert!(invalid_request.json()["error_description"].is_string());

    mock.push_fault(Fault::OrangeCode {
        status: 401,
        code: 42,
    });
    let expired = get_token(&mock).await;
    assert_eq!(expired.status, 401);
    assert_eq!(
        expired.json(),
        json!({
            "code": 42,
            "message": "Expired credentials",
            "description": "The requested service needs credentials, and the ones provided were out-of-date."
        })
    );

    mock.push_fault(Fault::OrangeCode {
        status: 403,
        code: 50,
    });
    let denied = get_token(&mock).await;
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json()["code"], 50);
    assert_eq!(denied.json()["message"], "Access denied");

    mock.push_fault(Fault::Raw {
        status: 200,
        content_type: Some("application/json".into()),
        body: r#"{"access_token":"#.into(),
    });
    let truncated = get_token(&mock).await;
    assert_eq!(truncated.status, 200);
    assert_eq!(truncated.body, r#"{"access_token":"#);

    assert!(mock.issued_tokens().is_empty());
}

#[tokio::test]
async fn queue_is_consumed_in_order_before_the_sticky_fault() {
    let mock = start().await;
    mock.push_fault(Fault::Status { status: 503 });
    mock.push_fault(Fault::TooManyRequests {
        retry_after_seconds: Some(1),
    });
    mock.push_fault(Fault::Status { status: 500 });
    assert_eq!(mock.queued_faults().len(), 3);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get_token(&mock).await.status);
    }
    assert_eq!(statuses, vec![503, 429, 500, 200]);
    assert!(mock.queued_faults().is_empty());

    mock.set_sticky_fault(Some(Fault::Status { status: 502 }));
    mock.push_fault(Fault::InvalidClient);
    assert_eq!(get_token(&mock).await.status, 401);
    assert_eq!(get_token(&mock).await.status, 502);
    assert_eq!(get_token(&mock).await.status, 502);
    mock.set_sticky_fault(None);
    assert_eq!(get_token(&mock).await.status, 200);

    mock.set_sticky_fault(Some(Fault::Html200));
    mock.push_fault(Fault::Status { status: 500 });
    mock.clear_faults();
    assert_eq!(get_token(&mock).await.status, 200);
    assert_eq!(mock.token_requests(), 9);
    assert_eq!(mock.issued_tokens().len(), 3);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let mock = MockOrange::start(MockConfig {
        rate_limit: Some(RateLimit::new(2, Duration::from_secs(30))),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(get_token(&mock).await.status, 200);
    assert_eq!(get_token(&mock).await.status, 200);
    let limited = get_token(&mock).await;
    assert_eq!(limited.status, 429);
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    let body = limited.json();
    assert_eq!(body["code"], 53);
    assert_eq!(body["message"], "Too many requests");
    assert!(body["description"].is_string());
    assert_eq!(mock.issued_tokens().len(), 2);
    assert_eq!(mock.token_requests(), 3);
}

#[tokio::test]
async fn rate_limit_window_slides() {
    // A 2-second window: the second request is inside it even on a loaded machine.
    let window = Duration::from_secs(2);
    let mock = MockOrange::start(MockConfig {
        rate_limit: Some(RateLimit::new(1, window)),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let first = std::time::Instant::now();
    assert_eq!(get_token(&mock).await.status, 200);
    let limited = get_token(&mock).await;
    assert_eq!(limited.status, 429);
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    // Asked again until admitted: the window slid once the first request left it.
    let admitted = loop {
        let answer = get_token(&mock).await;
        if answer.status == 200 {
            break std::time::Instant::now();
        }
        assert_eq!(answer.status, 429);
        assert!(first.elapsed() < window * 10, "never admitted again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(admitted.duration_since(first) >= window);
    assert_eq!(mock.issued_tokens().len(), 2);
}

#[tokio::test]
async fn control_api() {
    let mock = start().await;
    let c = client();
    let base = mock.base_url();

    let queued = send(
        c.post(format!("{base}/_mock/faults"))
            .json(&json!({"kind": "status", "status": 503})),
    )
    .await;
    assert_eq!(queued.status, 200);
    assert_eq!(queued.json()["queued"], 1);
    let queued = send(c.post(format!("{base}/_mock/faults")).json(&json!([
        {"kind": "too_many_requests", "retry_after_seconds": 3},
        {"kind": "expires_in", "expires_in": "abc"}
    ])))
    .await;
    assert_eq!(queued.json()["queued"], 3);
    assert_eq!(
        mock.queued_faults(),
        vec![
            Fault::Status { status: 503 },
            Fault::TooManyRequests {
                retry_after_seconds: Some(3)
            },
            Fault::ExpiresIn {
                expires_in: json!("abc")
            },
        ]
    );
    let listed = send(c.get(format!("{base}/_mock/faults"))).await.json();
    assert_eq!(
        listed["queued"][0],
        json!({"kind": "status", "status": 503})
    );

    assert_eq!(get_token(&mock).await.status, 503);
    assert_eq!(get_token(&mock).await.header("retry-after"), Some("3"));
    assert_eq!(get_token(&mock).await.json()["expires_in"], "abc");

    let sticky = send(
        c.put(format!("{base}/_mock/sticky"))
            .json(&json!({"kind": "orange_code", "status": 401, "code": 42})),
    )
    .await;
    assert_eq!(sticky.status, 200);
    assert_eq!(get_token(&mock).await.json()["code"], 42);
    assert_eq!(get_token(&mock).await.status, 401);
    let cleared = send(c.put(format!("{base}/_mock/sticky")).json(&Value::Null)).await;
    assert_eq!(cleared.status, 200);
    let token = get_token(&mock).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    send(
        c.put(format!("{base}/_mock/sticky"))
            .json(&json!({"kind": "hang"})),
    )
    .await;
    send(
        c.post(format!("{base}/_mock/faults"))
            .json(&json!({"kind": "html200"})),
    )
    .await;
    let deleted = send(c.delete(format!("{base}/_mock/faults"))).await;
    assert_eq!(deleted.status, 200);
    assert!(mock.queued_faults().is_empty());
    let token2 = get_token(&mock).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let stats = send(c.get(format!("{base}/_mock/stats"))).await;
    assert_eq!(stats.status, 200);
    let stats = stats.json();
    assert_eq!(stats["token_requests"], 7);
    assert_eq!(stats["issued_tokens"], json!([token, token2]));
    assert_eq!(
        stats["issued_token_ids"],
        json!([token_id(&token), token_id(&token2)])
    );
    assert_eq!(token_id(&token).len(), 12);
    // Control requests are neither counted nor recorded.
    assert_eq!(mock.token_requests(), 7);
    assert_eq!(mock.requests().len(), 7);

    // Bad control requests.
    let bad_kind = send(
        c.post(format!("{base}/_mock/faults"))
            .json(&json!({"kind": "nope"})),
    )
    .await;
    assert_eq!(bad_kind.status, 400);
    assert!(bad_kind.json()["error"].is_string());
    let bad_field = send(
        c.post(format!("{base}/_mock/faults"))
            .json(&json!({"kind": "status", "status": 503, "extra": 1})),
    )
    .await;
    assert_eq!(bad_field.status, 400);
    let bad_status = send(
        c.post(format!("{base}/_mock/faults"))
            .json(&json!({"kind": "status", "status": 99})),
    )
    .await;
    assert_eq!(bad_status.status, 400);
    let not_json = send(c.post(format!("{base}/_mock/faults")).body("{")).await;
    assert_eq!(not_json.status, 400);
    assert!(mock.queued_faults().is_empty());
    assert_eq!(
        send(c.patch(format!("{base}/_mock/stats"))).await.status,
        405
    );
    assert_eq!(
        send(c.get(format!("{base}/_mock/nothing"))).await.status,
        404
    );
}

#[test]
fn fault_json_forms() {
    let cases = [
        (
            json!({"kind": "status", "status": 503}),
            Fault::Status { status: 503 },
        ),
        (
            json!({"kind": "too_many_requests", "retry_after_seconds": 2}),
            Fault::TooManyRequests {
                retry_after_seconds: Some(2),
            },
        ),
        (json!({"kind": "hang"}), Fault::Hang),
        (
            json!({"kind": "delay", "millis": 1500}),
            Fault::Delay { millis: 1500 },
        ),
        (json!({"kind": "connection_reset"}), Fault::ConnectionReset),
        (json!({"kind": "html200"}), Fault::Html200),
        (json!({"kind": "empty200"}), Fault::Empty200),
        (
            json!({"kind": "missing_access_token"}),
            Fault::MissingAccessToken,
        ),
        (
            json!({"kind": "expires_in", "expires_in": "3600"}),
            Fault::ExpiresIn {
                expires_in: json!("3600"),
            },
        ),
        (
            json!({"kind": "token_type", "token_type": "mac"}),
            Fault::TokenType {
                token_type: "mac".into(),
            },
        ),
        (
            json!({"kind": "oversized200", "bytes": 1048576}),
            Fault::Oversized200 { bytes: 1_048_576 },
        ),
        (json!({"kind": "invalid_client"}), Fault::InvalidClient),
        (json!({"kind": "invalid_request"}), Fault::InvalidRequest),
        (
            json!({"kind": "orange_code", "status": 401, "code": 42}),
            Fault::OrangeCode {
                status: 401,
                code: 42,
            },
        ),
        (
            json!({"kind": "raw", "status": 200, "content_type": "text/plain", "body": "x"}),
            Fault::Raw {
                status: 200,
                content_type: Some("text/plain".into()),
                body: "x".into(),
            },
        ),
    ];
    for (value, fault) in cases {
        assert_eq!(
            serde_json::from_value::<Fault>(value.clone()).unwrap(),
            fault
        );
        assert_eq!(serde_json::to_value(&fault).unwrap(), value);
        assert_eq!(value["kind"], fault.kind());
    }
    // Optional fields may be left out.
    assert_eq!(
        serde_json::from_value::<Fault>(json!({"kind": "too_many_requests"})).unwrap(),
        Fault::TooManyRequests {
            retry_after_seconds: None
        }
    );
    assert!(
        serde_json::from_value::<Fault>(json!({"kind": "delay", "millis": 1, "x": 1})).is_err()
    );
}

#[tokio::test]
async fn start_on_refuses_non_loopback_and_shutdown_closes_the_port() {
    let err = MockOrange::start_on("0.0.0.0:0".parse().unwrap(), MockConfig::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);

    let mock = MockOrange::start_on("127.0.0.1:0".parse().unwrap(), MockConfig::default())
        .await
        .unwrap();
    let addr = mock.addr();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    assert_eq!(
        mock.token_url(),
        format!("http://127.0.0.1:{}/oauth/v3/token", addr.port())
    );
    let clone = mock.clone();
    assert_eq!(get_token(&clone).await.status, 200);
    assert_eq!(mock.issued_tokens().len(), 1);
    mock.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());

    // Dropping the last handle stops the server too.
    let dropped = start().await;
    let addr = dropped.addr();
    drop(dropped);
    let mut closed = false;
    for _ in 0..300 {
        if TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(closed);
}

#[test]
fn config_debug_hides_the_secret() {
    let config = MockConfig {
        client_secret: "super-secret-value".into(),
        ..MockConfig::default()
    };
    let shown = format!("{config:?}");
    assert!(!shown.contains("super-secret-value"));
    assert!(shown.contains("test-client-id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_parallel_requests_get_distinct_tokens() {
    let mock = start().await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let mock = mock.clone();
        tasks.push(tokio::spawn(async move { get_token(&mock).await.json() }));
    }
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(
            task.await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 20);
    assert_eq!(mock.issued_tokens().len(), 20);
    assert_eq!(mock.token_requests(), 20);
}

#[tokio::test]
async fn http_edge_cases() {
    let mock = start().await;
    let good = basic("test-client-id", "test-client-secret");

    // Two Authorization headers are refused even when one is right.
    let (status, _) = raw(
        mock.addr(),
        &raw_token_request(
            &format!(
                "Authorization: {good}\r\nAccept: application/json\r\nContent-Type: {FORM}\r\n"
            ),
            "grant_type=client_credentials",
        ),
    )
    .await
    .unwrap();
    assert_eq!(status, 401);

    // Accept split over two headers is one list.
    let (status, _) = raw(
        mock.addr(),
        &raw_token_request(
            &format!("Accept: text/html\r\nAccept: application/json\r\nContent-Type: {FORM}\r\n"),
            "grant_type=client_credentials",
        ),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);

    // Chunked bodies are not supported.
    let (status, _) = raw(
        mock.addr(),
        &format!(
            "POST /oauth/v3/token HTTP/1.1\r\nAuthorization: {good}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        ),
    )
    .await
    .unwrap();
    assert_eq!(status, 411);

    // Garbage is answered 400, not counted.
    let (status, _) = raw(mock.addr(), "hello\r\n\r\n").await.unwrap();
    assert_eq!(status, 400);

    // Expect: 100-continue gets its interim answer before the body is sent.
    let body = "grant_type=client_credentials";
    let mut stream = TcpStream::connect(mock.addr()).await.unwrap();
    let head = format!(
        "POST /oauth/v3/token HTTP/1.1\r\nAuthorization: {good}\r\nAccept: application/json\r\nContent-Type: {FORM}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).await.unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("Connection: close\r\n"));

    // The chunked and the garbage requests never reached the token handler.
    assert_eq!(mock.token_requests(), 3);
    assert_eq!(mock.issued_tokens().len(), 2);
}
