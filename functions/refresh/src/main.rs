//! Builds the clients once and runs the refresh handler under the Lambda runtime.

use std::sync::Arc;

use lambda_runtime::Error;

use orange_token::audit::AuditLog;
use orange_token::aws_http::load_sdk_config;
use orange_token::clock::SystemClock;
use orange_token::config::RefreshConfig;
use orange_token::credentials::SecretsManagerCredentials;
use orange_token::endpoint::{RetryPolicy, TokenEndpointClient};
use orange_token::log_sink::LogSink;
use orange_token::metrics::Metrics;
use orange_token::protocol::error_type;
use orange_token::runtime::{RUNTIME_INIT_ERROR, init_failed};
use orange_token::store::SsmTokenStore;
use refresh::handler::{RefreshState, handle};

/// One thread: Lambda sends an instance one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    orange_token::runtime::init_tracing();
    // A bad variable is reported to the Runtime API as a `Configuration` init error
    // (what an invoker sees), naming the variable, never a value.
    let config = match RefreshConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(error = %error, "refresh cannot start: configuration is invalid");
            return Err(init_failed(error_type::CONFIGURATION, &error).await);
        }
    };
    let aws = match load_sdk_config().await {
        Ok(aws) => aws,
        Err(error) => {
            tracing::error!(error = %error, "refresh cannot start: the AWS HTTPS client cannot be built");
            return Err(init_failed(RUNTIME_INIT_ERROR, &error).await);
        }
    };
    let function_name =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "refresh".to_owned());
    let endpoint = match TokenEndpointClient::new(
        config.token_endpoint.clone(),
        config.scope.clone(),
        config.http_timeout,
        RetryPolicy::default(),
    ) {
        Ok(endpoint) => endpoint,
        Err(error) => {
            tracing::error!(error = %error, "refresh cannot start: the token endpoint client cannot be built");
            return Err(init_failed(RUNTIME_INIT_ERROR, &error).await);
        }
    };
    let credentials = SecretsManagerCredentials::new(
        aws_sdk_secretsmanager::Client::new(&aws),
        &config.credentials_secret_id,
    );
    let store = SsmTokenStore::new(
        aws_sdk_ssm::Client::new(&aws),
        &config.parameter_name,
        &config.kms_key_id,
    );
    let state = RefreshState::new(
        config,
        endpoint,
        credentials,
        store,
        AuditLog::new(LogSink::Stdout, &function_name),
        Metrics::new(LogSink::Stdout, &function_name),
        Arc::new(SystemClock),
    );
    let state = &state;
    orange_token::runtime::run(|event| async move {
        let request_id = event.context.request_id.clone();
        handle(state, event)
            .await
            .map_err(|error| error.answer(&request_id))
    })
    .await
}
