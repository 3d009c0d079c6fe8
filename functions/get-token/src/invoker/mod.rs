//! The seam between get-token and the refresh function: one synchronous invoke.
//!
//! [`RefreshInvoker`] is what the handler calls; [`LambdaRefreshInvoker`] invokes the
//! deployed function (AWS Lambda `Invoke`, `RequestResponse`, one attempt), and the
//! integration tests run the refresh handler in-process behind the same trait.

mod messages;

use std::future::Future;

use orange_token::lambda_invoke::{InvokeError, InvokeFailure, invoke_once};

pub use messages::{RefreshCall, RefreshReply};

/// Why an invoke of the refresh function gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshInvokeError {
    /// Lambda throttled the invoke (HTTP 429): with its reserved concurrency of 1,
    /// a refresh is most likely running already (the schedule, another instance).
    #[error("the refresh function is throttled ({message})")]
    Throttled { message: String },
    /// The refresh function ran and failed (`errorType`, `errorMessage`).
    #[error("the refresh function failed with {error_type}: {error_message}")]
    Function {
        error_type: String,
        error_message: String,
    },
    /// The invoke failed otherwise: transport, timeout, Lambda service error, access
    /// denied. `detail` is Lambda's own message (it may name roles and ARNs): for the
    /// log, not for answers.
    #[error("the refresh function could not be invoked ({kind})")]
    Invoke { kind: InvokeFailure, detail: String },
    /// The refresh function answered something that is not a refresh response.
    #[error("the refresh function's answer is not a refresh response ({reason})")]
    InvalidAnswer { reason: String },
}

/// One synchronous invoke of the refresh function, never retried by the implementation:
/// the handler decides what a throttled or failed invoke means.
pub trait RefreshInvoker: Send + Sync {
    fn invoke(
        &self,
        call: RefreshCall,
    ) -> impl Future<Output = Result<RefreshReply, RefreshInvokeError>> + Send;
}

/// The deployed refresh function, invoked with AWS Lambda `Invoke` (`RequestResponse`),
/// attempted once whatever the client's retry configuration
/// ([`orange_token::lambda_invoke::invoke_once`]).
///
/// Build the client with a read timeout longer than the refresh function's own timeout,
/// so that a slow renewal is answered rather than cut off.
#[derive(Debug, Clone)]
pub struct LambdaRefreshInvoker {
    lambda: aws_sdk_lambda::Client,
    function_name: String,
}

impl LambdaRefreshInvoker {
    /// Invokes `function_name` (a name or an ARN) with `lambda`.
    pub fn new(lambda: aws_sdk_lambda::Client, function_name: impl Into<String>) -> Self {
        Self {
            lambda,
            function_name: function_name.into(),
        }
    }

    /// The refresh function this invoker invokes.
    pub fn function_name(&self) -> &str {
        &self.function_name
    }
}

impl RefreshInvoker for LambdaRefreshInvoker {
    #[tracing::instrument(skip(self), fields(function_name = %self.function_name))]
    async fn invoke(&self, call: RefreshCall) -> Result<RefreshReply, RefreshInvokeError> {
        match invoke_once(&self.lambda, &self.function_name, &call).await {
            Ok(payload) => RefreshReply::from_payload(&payload),
            Err(InvokeError::Function {
                error_type,
                error_message,
            }) => Err(RefreshInvokeError::Function {
                error_type,
                error_message,
            }),
            Err(InvokeError::Invoke {
                kind: InvokeFailure::Throttled,
                message,
                ..
            }) => Err(RefreshInvokeError::Throttled { message }),
            Err(InvokeError::Invoke { kind, message, .. }) => Err(RefreshInvokeError::Invoke {
                kind,
                detail: message,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The Lambda invoker on a real `aws_sdk_lambda::Client` whose answers come from
    //! `aws-smithy-mocks` rules. The client retries like a production one (3
    //! attempts, HTTP 500 and 429 included), so a test sees any retry that slips in.

    use std::time::Duration;

    use aws_sdk_lambda::Client;
    use aws_sdk_lambda::operation::invoke::InvokeInput;
    use aws_smithy_mocks::{Rule, mock};
    use orange_token::test_support::lambda::{
        http_answer, is_request_response_of, lambda_error_every_time, mock_lambda, sent_payload,
    };
    use serde_json::json;

    use super::*;

    const REFRESH: &str = "orange-token-refresh";

    fn lambda(rule: &Rule) -> Client {
        mock_lambda(&[rule])
    }

    /// A rule that answers every attempt the same way.
    fn always(
        status: u16,
        headers: &'static [(&'static str, &'static str)],
        body: &'static str,
    ) -> Rule {
        mock!(Client::invoke)
            .match_requests(is_refresh_invoke)
            .sequence()
            .http_response(move || http_answer(status, headers, body))
            .repeatedly()
            .build()
    }

    fn is_refresh_invoke(input: &InvokeInput) -> bool {
        is_request_response_of(input, REFRESH)
    }

    async fn invoke(rule: &Rule, call: RefreshCall) -> Result<RefreshReply, RefreshInvokeError> {
        LambdaRefreshInvoker::new(lambda(rule), REFRESH)
            .invoke(call)
            .await
    }

    #[tokio::test]
    async fn an_answer_is_read_from_one_request_response_invoke() {
        let rule = mock!(Client::invoke)
            .match_requests(|input| {
                is_refresh_invoke(input) && sent_payload(input) == json!({"min_ttl_seconds": 300})
            })
            .then_http_response(|| {
                http_answer(
                    200,
                    &[],
                    r#"{"refreshed": true, "reason": "missing", "token_id": "3f9a1c0b7d2e",
                        "expires_at": "2026-11-26T23:00:00Z", "attempts": 1}"#,
                )
            });

        let reply = invoke(&rule, RefreshCall::with_min_life(Duration::from_secs(300)))
            .await
            .unwrap();

        assert_eq!(rule.num_calls(), 1);
        assert_eq!(reply.token_id, "3f9a1c0b7d2e");
        assert!(reply.refreshed);
    }

    #[tokio::test]
    async fn a_function_error_in_lambdas_shape_is_an_answer_not_retried() {
        let rule = always(
            200,
            &[("X-Amz-Function-Error", "Unhandled")],
            r#"{"errorType": "UpstreamUnavailable", "errorMessage": "the token endpoint failed 3 times"}"#,
        );

        let error = invoke(&rule, RefreshCall::forced()).await.unwrap_err();

        assert_eq!(rule.num_calls(), 1);
        assert_eq!(
            error,
            RefreshInvokeError::Function {
                error_type: "UpstreamUnavailable".into(),
                error_message: "the token endpoint failed 3 times".into(),
            }
        );
    }

    #[tokio::test]
    async fn a_function_error_in_the_emulators_shape_is_an_answer_not_retried() {
        let rule = always(
            500,
            &[("content-type", "application/json")],
            r#"{"errorType": "CredentialsRejected", "errorMessage": "the endpoint refused the credentials (HTTP 401)"}"#,
        );

        let error = invoke(&rule, RefreshCall::forced()).await.unwrap_err();

        assert_eq!(rule.num_calls(), 1);
        assert!(
            matches!(&error, RefreshInvokeError::Function { error_type, .. } if error_type == "CredentialsRejected"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_throttled_invoke_is_reported_as_throttled_and_not_retried() {
        let rule = always(
            429,
            &[("x-amzn-ErrorType", "TooManyRequestsException")],
            r#"{"Type": "User", "message": "Rate Exceeded.", "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}"#,
        );

        let error = invoke(&rule, RefreshCall::forced()).await.unwrap_err();

        assert_eq!(rule.num_calls(), 1);
        assert!(
            matches!(&error, RefreshInvokeError::Throttled { message } if message.contains("TooManyRequestsException")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn other_lambda_failures_are_invoke_errors_not_retried() {
        for (status, code) in [
            (500, "ServiceException"),
            (404, "ResourceNotFoundException"),
        ] {
            let rule = lambda_error_every_time(status, code);

            let error = invoke(&rule, RefreshCall::forced()).await.unwrap_err();

            assert_eq!(rule.num_calls(), 1, "{code}");
            assert!(
                matches!(&error, RefreshInvokeError::Invoke { detail, .. } if detail.contains(code)),
                "{error:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_answer_that_is_not_a_refresh_response_is_invalid() {
        let rule = always(200, &[], r#"{"access_token": "secret-value"}"#);

        let error = invoke(&rule, RefreshCall::forced()).await.unwrap_err();

        assert!(matches!(error, RefreshInvokeError::InvalidAnswer { .. }));
        assert!(!error.to_string().contains("secret-value"));
    }
}
