//! The caller library against a real `aws_sdk_lambda::Client` whose answers come
//! from `aws-smithy-mocks` rules.

use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::operation::invoke::InvokeInput;
use aws_smithy_mocks::{Rule, mock};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::*;
use crate::clock::ManualClock;
use crate::test_support::lambda::{
    http_answer, is_request_response_of, lambda_error_every_time, mock_lambda, sent_payload,
};

const FUNCTION: &str = "get-token-of-the-test-stack";

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T22:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn token_answer(access_token: &str, token_id: &str, expires_at: DateTime<Utc>) -> HttpResponse {
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_at": expires_at.to_rfc3339(),
        "expires_in": (expires_at - start()).num_seconds(),
        "token_id": token_id,
    });
    http_answer(200, &[], &body.to_string())
}

/// Every invoke must be a `RequestResponse` invoke of get-token.
fn is_get_token_invoke(input: &InvokeInput) -> bool {
    is_request_response_of(input, FUNCTION)
}

fn tokens(lambda: Client, clock: &ManualClock) -> TokenClient {
    TokenClient::builder(lambda, FUNCTION)
        .caller("sms-sender")
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_cached_token_is_served_without_a_second_invoke() {
    let expires_at = start() + TimeDelta::hours(1);
    let rule = mock!(Client::invoke)
        .match_requests(|input| {
            is_get_token_invoke(input)
                && sent_payload(input)
                    == json!({"action": "get", "min_ttl_seconds": 300, "caller": "sms-sender"})
        })
        .then_http_response(move || token_answer("token-a", "aaaaaaaaaaaa", expires_at));
    let clock = ManualClock::new(start());
    let tokens = tokens(mock_lambda(&[&rule]), &clock);

    let first = tokens.access_token().await.unwrap();
    clock.set(start() + TimeDelta::minutes(54));
    let second = tokens.access_token().await.unwrap();
    let header = tokens.authorization_header().await.unwrap();

    assert_eq!(rule.num_calls(), 1);
    assert_eq!(first.expose(), "token-a");
    assert_eq!(second.token_id(), "aaaaaaaaaaaa");
    assert_eq!(header.expose(), "Bearer token-a");
}

#[tokio::test]
async fn a_token_inside_the_buffer_is_fetched_again() {
    let rule = mock!(Client::invoke)
        .sequence()
        .http_response(|| token_answer("token-a", "aaaaaaaaaaaa", start() + TimeDelta::hours(1)))
        .http_response(|| token_answer("token-b", "bbbbbbbbbbbb", start() + TimeDelta::hours(2)))
        .build();
    let clock = ManualClock::new(start());
    let tokens = tokens(mock_lambda(&[&rule]), &clock);

    assert_eq!(tokens.access_token().await.unwrap().expose(), "token-a");
    // One second more than the buffer left: still served.
    clock.set(start() + TimeDelta::minutes(55) - TimeDelta::seconds(1));
    assert_eq!(tokens.access_token().await.unwrap().expose(), "token-a");
    assert_eq!(rule.num_calls(), 1);
    // Exactly the buffer left: no longer served.
    clock.set(start() + TimeDelta::minutes(55));
    assert_eq!(tokens.access_token().await.unwrap().expose(), "token-b");
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn min_ttl_above_the_buffer_is_asked_for_and_honoured() {
    let rule = mock!(Client::invoke)
        .match_requests(|input| sent_payload(input)["min_ttl_seconds"] == 900)
        .sequence()
        .http_response(|| token_answer("token-a", "aaaaaaaaaaaa", start() + TimeDelta::hours(1)))
        .http_response(|| token_answer("token-b", "bbbbbbbbbbbb", start() + TimeDelta::hours(2)))
        .build();
    let clock = ManualClock::new(start());
    let tokens = TokenClient::builder(mock_lambda(&[&rule]), FUNCTION)
        .min_ttl_seconds(900)
        .clock(clock.clone())
        .build()
        .unwrap();

    tokens.access_token().await.unwrap();
    clock.set(start() + TimeDelta::minutes(45));
    assert_eq!(tokens.access_token().await.unwrap().expose(), "token-b");
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_on_a_cold_client_share_one_invoke() {
    let rule = mock!(Client::invoke)
        .match_requests(|_| {
            // Hold the invoke long enough for every caller to miss the cache.
            std::thread::sleep(Duration::from_millis(100));
            true
        })
        .then_http_response(|| {
            token_answer("token-a", "aaaaaaaaaaaa", start() + TimeDelta::hours(1))
        });
    let tokens = tokens(mock_lambda(&[&rule]), &ManualClock::new(start()));
    let barrier = Arc::new(tokio::sync::Barrier::new(1000));

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (tokens, barrier) = (tokens.clone(), Arc::clone(&barrier));
        calls.spawn(async move {
            barrier.wait().await;
            tokens.access_token().await
        });
    }
    let tokens_served = calls.join_all().await;

    assert_eq!(tokens_served.len(), 1000);
    for token in tokens_served {
        assert_eq!(token.unwrap().token_id(), "aaaaaaaaaaaa");
    }
    assert_eq!(rule.num_calls(), 1);
}

/// On Tokio's paused clock, which moves only when every task is blocked: the sleep below
/// ends once all 100 callers wait on the lock, whatever the machine's load.
#[tokio::test(start_paused = true)]
async fn callers_waiting_on_a_failed_invoke_share_its_error() {
    let rule = mock!(Client::invoke)
        .sequence()
        .http_response(|| {
            http_answer(
                200,
                &[("X-Amz-Function-Error", "Unhandled")],
                r#"{"errorType": "TokenUnavailable", "errorMessage": "no token and renewal failed"}"#,
            )
        })
        .repeatedly()
        .build();
    let tokens = tokens(mock_lambda(&[&rule]), &ManualClock::new(start()));

    // Hold the refill lock as an invoke in flight would, until every caller waits on it.
    let in_flight = tokens.inner.refill.lock().await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let tokens = tokens.clone();
        calls.spawn(async move { tokens.access_token().await });
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
    drop(in_flight);

    for result in calls.join_all().await {
        assert_eq!(result.unwrap_err().error_type(), Some("TokenUnavailable"));
    }
    assert_eq!(rule.num_calls(), 1);
    // A caller that comes after the failure tries again.
    assert!(tokens.access_token().await.is_err());
    assert_eq!(rule.num_calls(), 2);
}

/// A fake API answer: `(status, body)`.
#[derive(Debug, PartialEq)]
struct ApiError {
    status: u16,
    body: &'static str,
}

impl AuthFailure for ApiError {
    fn is_auth_failure(&self) -> bool {
        is_auth_failure(self.status, self.body.as_bytes())
    }
}

/// get-token's answers: `get` gives token A, `refresh` of A gives token B.
fn get_then_refresh_rules() -> (Rule, Rule) {
    let get = mock!(Client::invoke)
        .match_requests(|input| {
            is_get_token_invoke(input) && sent_payload(input)["action"] == "get"
        })
        .then_http_response(|| {
            token_answer("token-a", "aaaaaaaaaaaa", start() + TimeDelta::hours(1))
        });
    let refresh = mock!(Client::invoke)
        .match_requests(|input| {
            is_get_token_invoke(input)
                && sent_payload(input)
                    == json!({"action": "refresh", "rejected_token_id": "aaaaaaaaaaaa", "caller": "sms-sender"})
        })
        .then_http_response(|| {
            token_answer("token-b", "bbbbbbbbbbbb", start() + TimeDelta::hours(2))
        });
    (get, refresh)
}

#[tokio::test]
async fn with_token_renews_a_rejected_token_and_retries_once() {
    let (get, refresh) = get_then_refresh_rules();
    let tokens = tokens(mock_lambda(&[&get, &refresh]), &ManualClock::new(start()));
    let seen = Mutex::new(Vec::new());

    let answer = tokens
        .with_token(|auth| {
            seen.lock().unwrap().push(auth.expose().to_owned());
            async move {
                match auth.token_id() {
                    "aaaaaaaaaaaa" => Err(ApiError {
                        status: 401,
                        body: r#"{"code": 42, "message": "Expired credentials"}"#,
                    }),
                    _ => Ok("sent"),
                }
            }
        })
        .await;

    assert_eq!(answer.unwrap(), "sent");
    assert_eq!(*seen.lock().unwrap(), ["Bearer token-a", "Bearer token-b"]);
    assert_eq!((get.num_calls(), refresh.num_calls()), (1, 1));
    // The renewed token replaced the rejected one in the cache.
    assert_eq!(tokens.access_token().await.unwrap().expose(), "token-b");
    assert_eq!(get.num_calls(), 1);
}

/// `with_token` over an API call that always answers `error`: how many times the call
/// ran, and what `with_token` returned.
async fn with_token_always_failing(
    tokens: &TokenClient,
    error: fn() -> ApiError,
) -> (u32, Result<(), CallError<ApiError>>) {
    let mut attempts = 0;
    let answer = tokens
        .with_token(|_auth| {
            attempts += 1;
            async move { Err(error()) }
        })
        .await;
    (attempts, answer)
}

#[tokio::test]
async fn with_token_returns_a_second_auth_failure_without_retrying_again() {
    let (get, refresh) = get_then_refresh_rules();
    let tokens = tokens(mock_lambda(&[&get, &refresh]), &ManualClock::new(start()));

    let (attempts, answer) = with_token_always_failing(&tokens, || ApiError {
        status: 400,
        body: r#"{"requestError": {"serviceException": {"messageId": "SVC0001"}}}"#,
    })
    .await;

    assert_eq!(attempts, 2);
    assert!(matches!(
        answer,
        Err(CallError::AuthRejected(ApiError { status: 400, .. }))
    ));
    assert_eq!((get.num_calls(), refresh.num_calls()), (1, 1));
}

#[tokio::test]
async fn with_token_does_not_retry_other_failures() {
    let (get, refresh) = get_then_refresh_rules();
    let tokens = tokens(mock_lambda(&[&get, &refresh]), &ManualClock::new(start()));

    let (attempts, answer) = with_token_always_failing(&tokens, || ApiError {
        status: 400,
        body: r#"{"requestError": {"policyException": {"messageId": "POL0001"}}}"#,
    })
    .await;

    assert_eq!(attempts, 1);
    assert!(matches!(
        answer,
        Err(CallError::Request(ApiError { status: 400, .. }))
    ));
    assert_eq!((get.num_calls(), refresh.num_calls()), (1, 0));
}

#[tokio::test]
async fn with_token_reports_a_failed_renewal_as_a_token_error() {
    let get = mock!(Client::invoke)
        .match_requests(|input| sent_payload(input)["action"] == "get")
        .then_http_response(|| {
            token_answer("token-a", "aaaaaaaaaaaa", start() + TimeDelta::hours(1))
        });
    let refresh = mock!(Client::invoke)
        .match_requests(|input| sent_payload(input)["action"] == "refresh")
        .then_http_response(|| {
            http_answer(
                200,
                &[("X-Amz-Function-Error", "Unhandled")],
                r#"{"errorType": "CredentialsRejected", "errorMessage": "the token endpoint refused the credentials"}"#,
            )
        });
    let tokens = tokens(mock_lambda(&[&get, &refresh]), &ManualClock::new(start()));
    let mut attempts = 0;

    let answer: Result<(), _> = tokens
        .with_token(|_auth| {
            attempts += 1;
            async {
                Err(ApiError {
                    status: 403,
                    body: "",
                })
            }
        })
        .await;

    let error = answer.unwrap_err();
    assert_eq!(attempts, 1);
    assert_eq!(
        error.token_error().and_then(TokenError::error_type),
        Some("CredentialsRejected")
    );
    assert!(!error.is_service_unavailable());
    assert_eq!((get.num_calls(), refresh.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_rejected_token_already_replaced_in_the_cache_is_not_refreshed_again() {
    let (get, refresh) = get_then_refresh_rules();
    let tokens = tokens(mock_lambda(&[&get, &refresh]), &ManualClock::new(start()));

    let rejected = tokens.access_token().await.unwrap();
    let renewed = tokens.refresh(rejected.token_id()).await.unwrap();
    // A second request that used the same rejected token.
    let again = tokens.refresh(rejected.token_id()).await.unwrap();

    assert_eq!(renewed.token_id(), "bbbbbbbbbbbb");
    assert_eq!(again.token_id(), "bbbbbbbbbbbb");
    assert_eq!((get.num_calls(), refresh.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_function_error_in_lambdas_shape_is_reported_and_not_retried() {
    let rule = mock!(Client::invoke)
        .sequence()
        .http_response(|| {
            http_answer(
                200,
                &[("X-Amz-Function-Error", "Unhandled")],
                r#"{"errorType": "TokenUnavailable", "errorMessage": "no servable token and the renewal failed"}"#,
            )
        })
        .repeatedly()
        .build();
    let tokens = tokens(mock_lambda(&[&rule]), &ManualClock::new(start()));

    let error = tokens.access_token().await.unwrap_err();

    assert_eq!(rule.num_calls(), 1);
    assert_eq!(error.error_type(), Some("TokenUnavailable"));
    assert_eq!(
        error.error_message(),
        Some("no servable token and the renewal failed")
    );
    assert!(error.is_service_unavailable());
    assert_eq!(error.http_status(), 503);
}

#[tokio::test]
async fn a_function_error_in_the_emulators_shape_is_reported_and_not_retried() {
    let rule = mock!(Client::invoke)
        .sequence()
        .http_response(|| {
            http_answer(
                500,
                &[("content-type", "application/json")],
                r#"{"errorType": "TokenUnavailable", "errorMessage": "no servable token and the renewal failed"}"#,
            )
        })
        .repeatedly()
        .build();
    let tokens = tokens(mock_lambda(&[&rule]), &ManualClock::new(start()));

    let error = tokens.access_token().await.unwrap_err();

    assert_eq!(rule.num_calls(), 1);
    assert_eq!(error.error_type(), Some("TokenUnavailable"));
    assert_eq!(
        error.error_message(),
        Some("no servable token and the renewal failed")
    );
    assert_eq!(error.http_status(), 503);
}

/// The control for the two tests above: without the library's override, this client
/// does retry the emulator's HTTP 500.
#[tokio::test]
async fn the_test_client_itself_retries_http_500() {
    let rule = mock!(Client::invoke)
        .sequence()
        .http_response(|| http_answer(500, &[], r#"{"errorType": "TokenUnavailable"}"#))
        .repeatedly()
        .build();
    let lambda = mock_lambda(&[&rule]);

    let result = lambda.invoke().function_name(FUNCTION).send().await;

    assert!(result.is_err());
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn function_errors_that_retrying_cannot_fix_map_to_500() {
    for (status, headers, body) in [
        (
            200,
            &[("X-Amz-Function-Error", "Unhandled")][..],
            r#"{"errorType": "InvalidRequest", "errorMessage": "unknown field `foo`"}"#,
        ),
        (
            500,
            &[][..],
            r#"{"errorType": "Configuration", "errorMessage": "REFRESH_FUNCTION_NAME is required"}"#,
        ),
    ] {
        let rule =
            mock!(Client::invoke).then_http_response(move || http_answer(status, headers, body));
        let tokens = tokens(mock_lambda(&[&rule]), &ManualClock::new(start()));

        let error = tokens.access_token().await.unwrap_err();

        assert_eq!(rule.num_calls(), 1);
        assert!(!error.is_service_unavailable(), "{error}");
        assert_eq!(error.http_status(), 500);
    }
}

#[tokio::test]
async fn a_function_error_whose_payload_is_not_an_error_object_keeps_the_header() {
    let rule = mock!(Client::invoke).then_http_response(|| {
        http_answer(
            200,
            &[("X-Amz-Function-Error", "Unhandled")],
            "Task timed out",
        )
    });
    let tokens = tokens(mock_lambda(&[&rule]), &ManualClock::new(start()));

    let error = tokens.access_token().await.unwrap_err();

    assert_eq!(error.error_type(), Some("Unhandled"));
    assert_eq!(error.http_status(), 500);
}

#[tokio::test]
async fn lambda_invoke_failures_are_classified_and_not_retried() {
    let cases = [
        (
            429,
            "TooManyRequestsException",
            r#"{"Type": "User", "message": "Rate Exceeded.", "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}"#,
            InvokeFailure::Throttled,
            503,
        ),
        (
            500,
            "ServiceException",
            r#"{"Type": "Service", "message": "Internal error"}"#,
            InvokeFailure::Service,
            503,
        ),
        (
            404,
            "ResourceNotFoundException",
            r#"{"Type": "User", "message": "Function not found: get-token-of-the-test-stack"}"#,
            InvokeFailure::Configuration,
            500,
        ),
        (
            403,
            "AccessDeniedException",
            r#"{"Message": "not authorized to perform: lambda:InvokeFunction"}"#,
            InvokeFailure::Configuration,
            500,
        ),
    ];
    for (status, code, body, kind, http_status) in cases {
        let rule = mock!(Client::invoke)
            .sequence()
            .http_response(move || http_answer(status, &[("x-amzn-ErrorType", code)], body))
            .repeatedly()
            .build();
        let tokens = tokens(mock_lambda(&[&rule]), &ManualClock::new(start()));

        let error = tokens.access_token().await.unwrap_err();

        assert_eq!(rule.num_calls(), 1, "{code}");
        assert!(
            matches!(&error, TokenError::Invoke { kind: actual, .. } if *actual == kind),
            "{code}: {error:?}"
        );
        assert!(error.to_string().contains(code), "{error}");
        assert_eq!(error.http_status(), http_status, "{code}");
    }
}

#[tokio::test]
async fn an_answer_that_is_not_a_token_is_an_invalid_response() {
    let rule = mock!(Client::invoke).then_http_response(|| {
        http_answer(
            200,
            &[],
            r#"{"healthy": true, "token_id": null, "issued_at": null, "expires_at": null, "expires_in": null, "message": "m"}"#,
        )
    });
    let tokens = tokens(mock_lambda(&[&rule]), &ManualClock::new(start()));

    let error = tokens.access_token().await.unwrap_err();

    assert!(
        matches!(error, TokenError::InvalidResponse { .. }),
        "{error}"
    );
    assert_eq!(error.http_status(), 500);
}

#[tokio::test]
async fn status_asks_for_the_health_check() {
    let rule = mock!(Client::invoke)
        .match_requests(|input| {
            sent_payload(input) == json!({"action": "status", "caller": "sms-sender"})
        })
        .then_http_response(|| {
            http_answer(
                200,
                &[],
                r#"{"healthy": false, "token_id": null, "issued_at": null, "expires_at": null, "expires_in": null, "message": "no stored token"}"#,
            )
        });
    let tokens = tokens(mock_lambda(&[&rule]), &ManualClock::new(start()));

    let status = tokens.status().await.unwrap();

    assert!(!status.healthy);
    assert_eq!(status.token_id, None);
}

/// An environment of these variables only.
fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

#[test]
fn the_builder_validates_its_options_and_reads_the_environment() {
    let lambda = mock_lambda(&[]);

    let client = TokenClient::builder(lambda.clone(), FUNCTION)
        .with_vars(vars(&[
            ("OAUTH_EXPIRY_BUFFER_MINUTES", " 10 "),
            ("AWS_LAMBDA_FUNCTION_NAME", "sms-sender"),
        ]))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(client.buffer(), Duration::from_secs(600));
    assert_eq!(client.inner.caller.as_deref(), Some("sms-sender"));
    assert_eq!(client.inner.threshold_seconds, 600);

    let client = TokenClient::builder(lambda.clone(), FUNCTION)
        .caller("explicit")
        .with_vars(vars(&[
            ("OAUTH_EXPIRY_BUFFER_MINUTES", ""),
            ("AWS_LAMBDA_FUNCTION_NAME", "x"),
        ]))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(client.buffer(), DEFAULT_BUFFER);
    assert_eq!(client.inner.caller.as_deref(), Some("explicit"));

    for bad in ["31", "-1", "5m", "2.5"] {
        let pairs: &'static [(&'static str, &'static str)] =
            Box::leak(Box::new([("OAUTH_EXPIRY_BUFFER_MINUTES", bad)]));
        let error = TokenClient::builder(lambda.clone(), FUNCTION)
            .with_vars(vars(pairs))
            .unwrap_err();
        assert!(
            error.to_string().contains("OAUTH_EXPIRY_BUFFER_MINUTES"),
            "{error}"
        );
    }

    let invalid = |builder: TokenClientBuilder| builder.build().unwrap_err();
    assert!(matches!(
        invalid(TokenClient::builder(lambda.clone(), " ")),
        ConfigError::InvalidOption {
            option: "function_name",
            ..
        }
    ));
    assert!(matches!(
        invalid(TokenClient::builder(lambda.clone(), FUNCTION).caller("")),
        ConfigError::InvalidOption {
            option: "caller",
            ..
        }
    ));
    assert!(matches!(
        invalid(TokenClient::builder(lambda.clone(), FUNCTION).min_ttl_seconds(1801)),
        ConfigError::InvalidOption {
            option: "min_ttl_seconds",
            ..
        }
    ));
    assert!(matches!(
        invalid(TokenClient::builder(lambda.clone(), FUNCTION).buffer(Duration::from_secs(1801))),
        ConfigError::InvalidOption {
            option: "buffer",
            ..
        }
    ));
    let client = TokenClient::builder(lambda, FUNCTION)
        .buffer(Duration::from_millis(1500))
        .min_ttl_seconds(1)
        .build()
        .unwrap();
    assert_eq!(client.inner.threshold_seconds, 2);
    assert!(!format!("{client:?}").is_empty());
}

#[test]
fn the_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let tokens = TokenClient::builder(mock_lambda(&[]), FUNCTION)
        .build()
        .unwrap();
    assert_send(&tokens.access_token());
    assert_send(&tokens.refresh("aaaaaaaaaaaa"));
    assert_send(&tokens.with_token(|auth| async move {
        Err::<(), _>(ApiError {
            status: if auth.token_id().is_empty() { 401 } else { 500 },
            body: "",
        })
    }));
}

/// One case of `clients/cases/error-statuses.json`: one outcome of the invoke.
#[derive(serde::Deserialize)]
struct StatusCase {
    name: String,
    #[serde(default)]
    function_error: Option<Value>,
    #[serde(default)]
    invoke_status: Option<u16>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    transport: Option<String>,
    #[serde(default)]
    payload: Option<String>,
    http_status: u16,
}

/// A Lambda client whose invokes do not complete: `connection` is refused (a closed
/// loopback port), `timeout` never gets an answer within the client's read timeout.
async fn unreachable_lambda(transport: &str) -> (Client, Option<tokio::net::TcpListener>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let listener = match transport {
        "connection" => None,
        "timeout" => Some(listener),
        other => panic!("unknown transport case {other}"),
    };
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::for_tests())
        .endpoint_url(format!("http://{address}"))
        .http_client(crate::aws_http::https_client().unwrap())
        .timeout_config(
            aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(200))
                .build(),
        )
        .build();
    (Client::from_conf(config), listener)
}

#[tokio::test]
async fn every_case_of_the_shared_error_table_maps_to_its_status() {
    let table: Value =
        serde_json::from_str(include_str!("../../../clients/cases/error-statuses.json")).unwrap();
    let cases: Vec<StatusCase> = serde_json::from_value(table["cases"].clone()).unwrap();
    assert!(cases.len() >= 20, "the table lost cases");
    for case in cases {
        let (lambda, _listener, rule) = match (
            &case.function_error,
            case.invoke_status,
            &case.transport,
            &case.payload,
        ) {
            (Some(error), None, None, None) => {
                let body = error.to_string();
                let rule = mock!(Client::invoke).then_http_response(move || {
                    http_answer(200, &[("X-Amz-Function-Error", "Unhandled")], &body)
                });
                (mock_lambda(&[&rule]), None, Some(rule))
            }
            (None, Some(status), None, None) => {
                let code: &'static str = Box::leak(
                    case.error_code
                        .clone()
                        .expect("error_code")
                        .into_boxed_str(),
                );
                let rule = lambda_error_every_time(status, code);
                (mock_lambda(&[&rule]), None, Some(rule))
            }
            (None, None, Some(transport), None) => {
                let (lambda, listener) = unreachable_lambda(transport).await;
                (lambda, listener, None)
            }
            (None, None, None, Some(payload)) => {
                let payload = payload.clone();
                let rule = mock!(Client::invoke)
                    .then_http_response(move || http_answer(200, &[], &payload));
                (mock_lambda(&[&rule]), None, Some(rule))
            }
            _ => panic!("{}: exactly one outcome per case", case.name),
        };
        let tokens = tokens(lambda, &ManualClock::new(start()));

        let error = tokens.access_token().await.unwrap_err();

        assert_eq!(
            error.http_status(),
            case.http_status,
            "{}: {error}",
            case.name
        );
        if let Some(rule) = rule {
            assert_eq!(
                rule.num_calls(),
                1,
                "{}: the invoke is never retried",
                case.name
            );
        }
    }
}

#[test]
fn from_env_finds_get_token_by_get_token_function_name() {
    let lambda = mock_lambda(&[]);
    let client = TokenClient::from_vars(
        lambda.clone(),
        vars(&[
            (
                "GET_TOKEN_FUNCTION_NAME",
                " orange-prod-GetTokenFunction-AbC123 ",
            ),
            ("AWS_LAMBDA_FUNCTION_NAME", "sms-sender"),
        ]),
    )
    .unwrap();
    assert_eq!(
        client.function_name(),
        "orange-prod-GetTokenFunction-AbC123"
    );
    assert_eq!(client.inner.caller.as_deref(), Some("sms-sender"));
    for missing in [&[][..], &[("GET_TOKEN_FUNCTION_NAME", "  ")][..]] {
        let pairs: &'static [(&'static str, &'static str)] =
            Box::leak(missing.to_vec().into_boxed_slice());
        let error = TokenClient::from_vars(lambda.clone(), vars(pairs)).unwrap_err();
        assert!(
            error.to_string().contains("GET_TOKEN_FUNCTION_NAME"),
            "{error}"
        );
    }
}
