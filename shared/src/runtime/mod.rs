//! The loop that serves a function's invocations from the Lambda Runtime API.
//!
//! It does what `lambda_runtime::run` does for a buffered JSON handler (one invocation
//! at a time: `GET next`, the handler under a `Lambda runtime invoke` span with the
//! request id, `POST response` or `POST error` with the handler's `errorType`), less one
//! thing: `lambda_runtime` 1.5 sets the `_X_AMZN_TRACE_ID` environment variable before
//! every invocation, and glibc never frees a replaced environment value, so each
//! invocation's new trace id leaked about 170 bytes on a warm instance (1.5 MiB per
//! 10,000 invocations, `docs/performance.md`). Nothing in this service reads the variable
//! (the template turns on no X-Ray tracing); the trace id stays available as
//! `Context::xray_trace_id` and in every log line's span.
//!
//! [`init_failed`] reports a failed init (a configuration error) to the Runtime API's
//! `/runtime/init/error`, so that an invoker sees its `errorType` instead of a bare exit.
//!
//! [`init_tracing`] sets up logging as `lambda_runtime`'s default subscriber does.

mod init_error;
mod logging;

use std::future::Future;
use std::sync::Arc;

use http::{HeaderMap, Method, Request, Uri};
use http_body_util::BodyExt;
use lambda_runtime::{Context, Diagnostic, Error, LambdaEvent};
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{Client, build_request};
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

use crate::protocol::error_type;

pub use init_error::{RUNTIME_INIT_ERROR, init_failed};
pub use logging::init_tracing;

const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
const DEADLINE_MS: &str = "lambda-runtime-deadline-ms";
const TRACE_ID: &str = "lambda-runtime-trace-id";
const INVOCATION_ID: &str = "lambda-runtime-invocation-id";
const FUNCTION_ERROR_TYPE: &str = "lambda-runtime-function-error-type";

/// Serves invocations with `handler` until the Runtime API fails (then Lambda restarts
/// the process). A failed invocation is answered with the handler's [`Diagnostic`]; an
/// event that is not JSON, with `InvalidRequest`.
///
/// Reads `AWS_LAMBDA_RUNTIME_API` and the function's `AWS_LAMBDA_*` settings, which the
/// Lambda service (and `cargo lambda watch`) always set.
pub async fn run<Handler, Answer, Response, Failure>(handler: Handler) -> Result<(), Error>
where
    Handler: Fn(LambdaEvent<Value>) -> Answer,
    Answer: Future<Output = Result<Response, Failure>>,
    Response: Serialize,
    Failure: Into<Diagnostic>,
{
    let api: Uri = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set: not running under a Lambda runtime")?
        .parse()?;
    let client = Client::builder().with_endpoint(api).build()?;
    let config = Arc::new(lambda_runtime::Config::from_env());
    loop {
        let (parts, body) = client.call(next_invocation_request()?).await?.into_parts();
        if !parts.status.is_success() {
            return Err(format!("the Runtime API answered {} to next", parts.status).into());
        }
        let body = body.collect().await?.to_bytes();
        let headers = parts.headers;
        let request_id = header(&headers, REQUEST_ID)
            .ok_or("the Runtime API sent an invocation without a request id")?
            .to_owned();
        let span = invocation_span(&request_id, header(&headers, TRACE_ID));
        let outcome = async {
            let event = invocation_event(&request_id, &headers, &body, &config)?;
            let response = handler(event).await.map_err(Into::into)?;
            serde_json::to_vec(&response).map_err(|error| Diagnostic {
                error_type: "Runtime.SerializationError".to_owned(),
                error_message: error.to_string(),
            })
        }
        .instrument(span)
        .await;
        let answer = answer_request(&request_id, header(&headers, INVOCATION_ID), outcome)?;
        let (parts, body) = client.call(answer).await?.into_parts();
        // Read to the end, so the connection goes back to the pool for the next `next`.
        let _ = body.collect().await;
        if !parts.status.is_success() {
            tracing::error!(
                request_id,
                status = parts.status.as_u16(),
                "the Runtime API did not accept the invocation's answer"
            );
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn invocation_span(request_id: &str, trace_id: Option<&str>) -> tracing::Span {
    match trace_id {
        Some(trace_id) => tracing::info_span!(
            "Lambda runtime invoke",
            requestId = request_id,
            xrayTraceId = trace_id
        ),
        None => tracing::info_span!("Lambda runtime invoke", requestId = request_id),
    }
}

/// The handler's event: the body as JSON, and the invocation's context.
fn invocation_event(
    request_id: &str,
    headers: &HeaderMap,
    body: &[u8],
    config: &Arc<lambda_runtime::Config>,
) -> Result<LambdaEvent<Value>, Diagnostic> {
    let invalid = |message: String| Diagnostic {
        error_type: error_type::INVALID_REQUEST.to_owned(),
        error_message: message,
    };
    // `Context::new` panics on a missing deadline; a malformed invocation fails alone.
    if header(headers, DEADLINE_MS).is_none_or(|deadline| deadline.parse::<u64>().is_err()) {
        return Err(Diagnostic {
            error_type: "Runtime.InvalidInvocation".to_owned(),
            error_message: "the invocation has no valid lambda-runtime-deadline-ms".to_owned(),
        });
    }
    let context =
        Context::new(request_id, Arc::clone(config), headers).map_err(|error| Diagnostic {
            error_type: "Runtime.InvalidInvocation".to_owned(),
            error_message: format!("the invocation's context is malformed: {error}"),
        })?;
    let payload = serde_json::from_slice(body)
        .map_err(|error| invalid(format!("the event is not JSON: {error}")))?;
    Ok(LambdaEvent::new(payload, context))
}

fn next_invocation_request() -> Result<Request<Body>, Error> {
    Ok(build_request()
        .method(Method::GET)
        .uri("/2018-06-01/runtime/invocation/next")
        .body(Body::empty())?)
}

/// `POST .../response` with the answer's JSON, or `POST .../error` with the diagnostic.
fn answer_request(
    request_id: &str,
    invocation_id: Option<&str>,
    outcome: Result<Vec<u8>, Diagnostic>,
) -> Result<Request<Body>, Error> {
    let (path, body, failed) = match outcome {
        Ok(response) => ("response", response, false),
        Err(diagnostic) => ("error", serde_json::to_vec(&diagnostic)?, true),
    };
    let mut request = build_request()
        .method(Method::POST)
        .uri(format!(
            "/2018-06-01/runtime/invocation/{request_id}/{path}"
        ))
        .header(http::header::CONTENT_TYPE, "application/json");
    if failed {
        request = request.header(FUNCTION_ERROR_TYPE, "unhandled");
    }
    if let Some(invocation_id) = invocation_id {
        request = request.header(INVOCATION_ID, invocation_id);
    }
    Ok(request.body(Body::from(body))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, "req-1".parse().unwrap());
        headers.insert(DEADLINE_MS, "1800000000000".parse().unwrap());
        headers.insert(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:eu-west-1:123456789012:function:get-token"
                .parse()
                .unwrap(),
        );
        headers.insert(
            TRACE_ID,
            "Root=1-5759e988-bd862e3fe1be46a994272793".parse().unwrap(),
        );
        headers
    }

    fn config() -> Arc<lambda_runtime::Config> {
        Arc::new(lambda_runtime::Config {
            function_name: "get-token".into(),
            memory: 128,
            version: "$LATEST".into(),
            log_stream: "stream".into(),
            log_group: "group".into(),
        })
    }
    #[test]
    fn an_invocation_becomes_the_event_and_its_context() {
        let event = invocation_event(
            "req-1",
            &invocation_headers(),
            br#"{"action":"get"}"#,
            &config(),
        )
        .unwrap();
        assert_eq!(event.payload["action"], "get");
        assert_eq!(event.context.request_id, "req-1");
        assert_eq!(event.context.deadline, 1_800_000_000_000);
        assert_eq!(
            event.context.xray_trace_id.as_deref(),
            Some("Root=1-5759e988-bd862e3fe1be46a994272793")
        );
    }

    #[test]
    fn an_event_that_is_not_json_is_an_invalid_request() {
        let failure =
            invocation_event("req-1", &invocation_headers(), b"get me a token", &config())
                .unwrap_err();
        assert_eq!(failure.error_type, "InvalidRequest");
        assert!(failure.error_message.starts_with("the event is not JSON"));
    }

    #[test]
    fn an_invocation_without_a_deadline_fails_alone_instead_of_panicking() {
        let mut headers = invocation_headers();
        headers.remove(DEADLINE_MS);
        let failure = invocation_event("req-1", &headers, b"{}", &config()).unwrap_err();
        assert_eq!(failure.error_type, "Runtime.InvalidInvocation");
    }

    #[tokio::test]
    async fn an_answer_is_posted_to_the_invocations_response() {
        let request = answer_request("req-1", None, Ok(br#"{"ok":true}"#.to_vec())).unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(
            request.uri().path(),
            "/2018-06-01/runtime/invocation/req-1/response"
        );
        assert!(request.headers().get(FUNCTION_ERROR_TYPE).is_none());
        let body = request.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], br#"{"ok":true}"#);
    }

    #[tokio::test]
    async fn a_failure_is_posted_as_a_function_error_with_its_error_type() {
        let diagnostic = Diagnostic {
            error_type: "TokenUnavailable".into(),
            error_message: "no token".into(),
        };
        let request = answer_request("req-2", Some("inv-7"), Err(diagnostic)).unwrap();
        assert_eq!(
            request.uri().path(),
            "/2018-06-01/runtime/invocation/req-2/error"
        );
        assert_eq!(request.headers()[FUNCTION_ERROR_TYPE], "unhandled");
        assert_eq!(request.headers()[INVOCATION_ID], "inv-7");
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"errorType": "TokenUnavailable", "errorMessage": "no token"})
        );
    }
}
