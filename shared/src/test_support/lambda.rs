//! Lambda clients for tests: real `aws_sdk_lambda::Client`s whose invokes are answered by
//! `aws-smithy-mocks` rules, and helpers to write those answers and read what was sent.

use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::operation::invoke::InvokeInput;
use aws_sdk_lambda::primitives::SdkBody;
use aws_sdk_lambda::types::InvocationType;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use serde_json::Value;

/// An HTTP answer of the Lambda API.
///
/// # Panics
/// When `status` is not an HTTP status code or a header is not a valid header.
pub fn http_answer(
    status: u16,
    headers: &[(&'static str, &'static str)],
    body: &str,
) -> HttpResponse {
    let status = status.try_into().expect("an HTTP status code");
    let mut response = HttpResponse::new(status, SdkBody::from(body));
    for (name, value) in headers {
        response.headers_mut().insert(*name, *value);
    }
    response
}

/// A client answered by `rules` (any rule that matches) that retries like a production
/// one (3 attempts, HTTP 500 included), so that a test sees any retry the code under
/// test fails to switch off.
pub fn mock_lambda(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_lambda, RuleMode::MatchAny, rules, |config| {
        config.retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1)),
        )
    })
}

/// A rule that answers every invoke with Lambda's own error `code` and HTTP `status`
/// (the function does not run), however often the client retries.
pub fn lambda_error_every_time(status: u16, code: &'static str) -> Rule {
    mock!(Client::invoke)
        .sequence()
        .http_response(move || {
            http_answer(status, &[("x-amzn-ErrorType", code)], r#"{"message": "m"}"#)
        })
        .repeatedly()
        .build()
}

/// Whether `input` is a `RequestResponse` invoke of `function_name`.
pub fn is_request_response_of(input: &InvokeInput, function_name: &str) -> bool {
    input.function_name() == Some(function_name)
        && input.invocation_type() == Some(&InvocationType::RequestResponse)
}

/// The JSON payload an invoke sent.
///
/// # Panics
/// When the invoke has no payload or it is not JSON.
pub fn sent_payload(input: &InvokeInput) -> Value {
    let payload = input.payload().expect("an invoke payload");
    serde_json::from_slice(payload.as_ref()).expect("a JSON invoke payload")
}
