//! Builds the clients once and runs the get-token handler under the Lambda runtime.

use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use lambda_runtime::Error;

use get_token::handler::{GetTokenState, handle};
use get_token::invoker::LambdaRefreshInvoker;
use orange_token::audit::AuditLog;
use orange_token::aws_http::load_sdk_config;
use orange_token::clock::SystemClock;
use orange_token::config::GetTokenConfig;
use orange_token::log_sink::LogSink;
use orange_token::metrics::Metrics;
use orange_token::protocol::error_type;
use orange_token::runtime::{RUNTIME_INIT_ERROR, init_failed};
use orange_token::store::SsmTokenStore;

/// Longer than the refresh function's 30-second timeout: a synchronous renewal is
/// waited for, not cut off.
const REFRESH_INVOKE_READ_TIMEOUT: Duration = Duration::from_secs(35);

/// One thread: Lambda sends an instance one invocation at a time, and a second worker
/// thread would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    orange_token::runtime::init_tracing();
    // A bad variable is reported to the Runtime API as a `Configuration` init error
    // (what an invoker sees), naming the variable, never a value.
    let config = match GetTokenConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(error = %error, "get-token cannot start: configuration is invalid");
            return Err(init_failed(error_type::CONFIGURATION, &error).await);
        }
    };
    let aws = match load_sdk_config().await {
        Ok(aws) => aws,
        Err(error) => {
            tracing::error!(error = %error, "get-token cannot start: the AWS HTTPS client cannot be built");
            return Err(init_failed(RUNTIME_INIT_ERROR, &error).await);
        }
    };
    let function_name =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "get-token".to_owned());
    // The shared configuration's timeouts (the connect timeout) plus a long read timeout.
    let timeouts = aws
        .timeout_config()
        .map(TimeoutConfig::to_builder)
        .unwrap_or_default()
        .read_timeout(REFRESH_INVOKE_READ_TIMEOUT)
        .build();
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&aws)
            .timeout_config(timeouts)
            .build(),
    );
    let state = GetTokenState::new(
        config.clone(),
        SsmTokenStore::reader(aws_sdk_ssm::Client::new(&aws), &config.parameter_name),
        LambdaRefreshInvoker::new(lambda, &config.refresh_function_name),
        AuditLog::new(LogSink::Stdout, &function_name),
        Metrics::new(LogSink::Stdout, &function_name),
        Arc::new(SystemClock),
    );
    let state = &state;
    // Boxed: the handler's future nests the SDK's deep futures several times over, too
    // deep for the compiler's default recursion limit when inlined into the runtime's.
    orange_token::runtime::run(|event| {
        Box::pin(async move {
            let request_id = event.context.request_id.clone();
            handle(state, event)
                .await
                .map_err(|error| error.answer(&request_id))
        })
    })
    .await
}
