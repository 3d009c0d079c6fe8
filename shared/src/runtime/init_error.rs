//! Reporting a failed init to the Runtime API's `/runtime/init/error`.

use http::{Method, Request};
use http_body_util::BodyExt;
use lambda_runtime::{Diagnostic, Error};
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{Client, build_request};

use super::FUNCTION_ERROR_TYPE;

/// The `errorType` of an init failure that is not one of the contract's (the AWS HTTPS
/// client cannot be built): Lambda's own name for a failed init.
pub const RUNTIME_INIT_ERROR: &str = "Runtime.InitError";

/// Stops the function at init: reports `error_type` and the error's message to the
/// Runtime API's init-error endpoint (`POST /2018-06-01/runtime/init/error`, with the
/// `Lambda-Runtime-Function-Error-Type` header and the `{"errorType", "errorMessage"}`
/// body), and answers the error for `main` to return. Lambda then answers the pending
/// invoke with that `errorType` (e.g. `Configuration`) rather than `Runtime.ExitError`.
///
/// The message must name what is wrong and hold no secret (a [`crate::config::ConfigError`]
/// names the variable, never its value). Without `AWS_LAMBDA_RUNTIME_API` (not under a
/// Lambda runtime) nothing is posted. A failed report is logged; the error is returned
/// either way.
pub async fn init_failed(error_type: &str, error: &dyn std::fmt::Display) -> Error {
    let message = error.to_string();
    if let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") {
        match post_init_error(&api, error_type, &message).await {
            Ok(status) if status.is_success() => {}
            Ok(status) => tracing::error!(
                status = status.as_u16(),
                "the Runtime API did not accept the init error"
            ),
            Err(failure) => {
                tracing::error!(error = %failure, "the init error could not be reported to the Runtime API");
            }
        }
    }
    format!("{error_type}: {message}").into()
}

async fn post_init_error(
    api: &str,
    error_type: &str,
    message: &str,
) -> Result<http::StatusCode, Error> {
    let client = Client::builder().with_endpoint(api.parse()?).build()?;
    let (parts, body) = client
        .call(init_error_request(error_type, message)?)
        .await?
        .into_parts();
    let _ = body.collect().await;
    Ok(parts.status)
}

fn init_error_request(error_type: &str, message: &str) -> Result<Request<Body>, Error> {
    let body = serde_json::to_vec(&Diagnostic {
        error_type: error_type.to_owned(),
        error_message: message.to_owned(),
    })?;
    Ok(build_request()
        .method(Method::POST)
        .uri("/2018-06-01/runtime/init/error")
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(FUNCTION_ERROR_TYPE, error_type)
        .body(Body::from(body))?)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[tokio::test]
    async fn an_init_error_is_posted_with_its_error_type_in_header_and_body() {
        let request = init_error_request(
            "Configuration",
            "environment variable REFRESH_FUNCTION_NAME is required but not set",
        )
        .unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri().path(), "/2018-06-01/runtime/init/error");
        assert_eq!(request.headers()[FUNCTION_ERROR_TYPE], "Configuration");
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "errorType": "Configuration",
                "errorMessage": "environment variable REFRESH_FUNCTION_NAME is required but not set"
            })
        );
    }
}
