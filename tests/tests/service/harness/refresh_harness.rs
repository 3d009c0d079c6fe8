//! The refresh handler wired to the emulator and a mock token endpoint, with its audit
//! and metric lines captured.

use integration_tests::{keep_for_the_scan, scheduled_event};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use std::sync::{Arc, Mutex};

use mock_orange::{MockConfig, MockOrange};
use orange_token::audit::AuditLog;
use orange_token::clock::{Clock, ManualClock, SystemClock};
use orange_token::config::RefreshConfig;
use orange_token::credentials::SecretsManagerCredentials;
use orange_token::endpoint::{RetryPolicy, TokenEndpointClient};
use orange_token::error::ServiceError;
use orange_token::log_sink::LogSink;
use orange_token::metrics::Metrics;
use orange_token::store::SsmTokenStore;
use orange_token::test_support::store::read_parameter;
use refresh::handler::{RefreshResponse, RefreshState};

use super::{
    CLIENT_ID, CLIENT_SECRET, aws, captured_tracing, credentials_json, fast_retries,
    keep_lines_for_the_scan, parse_lines, unique,
};

/// Knobs of a refresh harness.
pub struct RefreshOptions {
    pub mock: MockConfig,
    pub retry: RetryPolicy,
    pub http_timeout_seconds: u64,
    pub secret_value: Option<String>,
    pub clock: Option<ManualClock>,
    pub scope: Option<String>,
    /// An SSM client to use instead of the emulator's (e.g. an `aws-smithy-mocks` one).
    pub ssm: Option<aws_sdk_ssm::Client>,
    /// `OAUTH_MIN_FORCE_INTERVAL_SECONDS`; `None` is the contract's default (60).
    pub min_force_interval_seconds: Option<u64>,
}

impl Default for RefreshOptions {
    fn default() -> Self {
        Self {
            mock: MockConfig {
                client_id: CLIENT_ID.to_owned(),
                client_secret: CLIENT_SECRET.to_owned(),
                ..MockConfig::default()
            },
            retry: fast_retries(3),
            http_timeout_seconds: 2,
            secret_value: Some(credentials_json(CLIENT_ID, CLIENT_SECRET)),
            clock: None,
            scope: None,
            ssm: None,
            min_force_interval_seconds: None,
        }
    }
}

/// The refresh handler wired to the emulator and a mock token endpoint.
pub struct RefreshHarness {
    pub mock: MockOrange,
    pub state: RefreshState<SsmTokenStore>,
    pub ssm: aws_sdk_ssm::Client,
    pub parameter_name: String,
    audit_lines: Arc<Mutex<Vec<String>>>,
    metric_lines: Arc<Mutex<Vec<String>>>,
}

impl RefreshHarness {
    pub async fn start() -> Self {
        Self::with(RefreshOptions::default()).await
    }

    pub async fn with(options: RefreshOptions) -> Self {
        captured_tracing();
        let aws = aws().await;
        let mock = MockOrange::start(options.mock)
            .await
            .expect("mock token endpoint");
        let parameter_name = format!("/orange-sms-test/{}/access-token", unique("p"));
        let secret_id = unique("orange-credentials");
        let secrets = aws_sdk_secretsmanager::Client::new(&aws);
        if let Some(value) = &options.secret_value {
            secrets
                .create_secret()
                .name(&secret_id)
                .secret_string(value)
                .send()
                .await
                .expect("create the credentials secret");
        }
        let vars = {
            let endpoint = mock.token_url();
            let secret_id = secret_id.clone();
            let parameter_name = parameter_name.clone();
            let timeout = options.http_timeout_seconds.to_string();
            let scope = options.scope.clone();
            let interval = options.min_force_interval_seconds.map(|s| s.to_string());
            move |name: &str| match name {
                "OAUTH_MIN_FORCE_INTERVAL_SECONDS" => interval.clone(),
                "ORANGE_TOKEN_ENDPOINT" => Some(endpoint.clone()),
                "ORANGE_CREDENTIALS_SECRET_ID" => Some(secret_id.clone()),
                "TOKEN_PARAMETER_NAME" => Some(parameter_name.clone()),
                "TOKEN_KMS_KEY_ID" => Some("alias/orange-token-test".to_owned()),
                "ORANGE_HTTP_TIMEOUT_SECONDS" => Some(timeout.clone()),
                "ORANGE_OAUTH_SCOPE" => scope.clone(),
                _ => None,
            }
        };
        let config = RefreshConfig::from_source(&vars).expect("test configuration");
        let (audit_sink, audit_lines) = LogSink::memory();
        let (metric_sink, metric_lines) = LogSink::memory();
        let clock: Arc<dyn Clock> = match options.clock {
            Some(clock) => Arc::new(clock),
            None => Arc::new(SystemClock),
        };
        let ssm = options
            .ssm
            .unwrap_or_else(|| aws_sdk_ssm::Client::new(&aws));
        let state = RefreshState::new(
            config.clone(),
            TokenEndpointClient::new(
                config.token_endpoint.clone(),
                config.scope.clone(),
                config.http_timeout,
                options.retry,
            )
            .expect("http client"),
            SecretsManagerCredentials::new(secrets, &config.credentials_secret_id),
            SsmTokenStore::new(ssm.clone(), &config.parameter_name, &config.kms_key_id),
            AuditLog::new(audit_sink, "refresh"),
            Metrics::new(metric_sink, "refresh"),
            clock,
        );
        Self {
            mock,
            state,
            ssm,
            parameter_name,
            audit_lines,
            metric_lines,
        }
    }

    /// Invokes the handler as the Lambda runtime would.
    pub async fn invoke(&self, payload: Value) -> Result<RefreshResponse, ServiceError> {
        let mut context = Context::default();
        context.request_id = unique("req");
        refresh::handler::handle(&self.state, LambdaEvent::new(payload, context)).await
    }

    pub async fn scheduled(&self) -> Result<RefreshResponse, ServiceError> {
        self.invoke(scheduled_event()).await
    }

    /// The parameter's raw value (decrypted) and type, or `None` when it does not exist.
    pub async fn stored_raw(&self) -> Option<(String, String)> {
        let stored = read_parameter(&self.ssm, &self.parameter_name).await?;
        Some((stored.value, stored.parameter_type))
    }

    pub async fn stored_envelope(&self) -> Option<Value> {
        let (raw, _) = self.stored_raw().await?;
        serde_json::from_str(&raw).ok()
    }

    /// Writes a raw value to the parameter, as a SecureString.
    pub async fn put_raw(&self, value: &str) {
        self.put_raw_as(value, aws_sdk_ssm::types::ParameterType::SecureString)
            .await;
    }

    /// Writes a raw value to the parameter with this type (a `String` is what someone
    /// with `ssm:PutParameter` but no key could plant).
    pub async fn put_raw_as(&self, value: &str, parameter_type: aws_sdk_ssm::types::ParameterType) {
        let secure = parameter_type == aws_sdk_ssm::types::ParameterType::SecureString;
        self.ssm
            .put_parameter()
            .name(&self.parameter_name)
            .value(value)
            .r#type(parameter_type)
            .set_key_id(secure.then(|| "alias/orange-token-test".to_owned()))
            .overwrite(true)
            .send()
            .await
            .expect("put parameter");
    }

    pub fn audit_events(&self) -> Vec<Value> {
        parse_lines(&self.audit_lines)
    }

    pub fn audit_event_names(&self) -> Vec<String> {
        self.audit_events()
            .iter()
            .map(|event| event["event"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub fn metric_records(&self) -> Vec<Value> {
        parse_lines(&self.metric_lines)
    }

    /// Every line this harness's handler logged: audit, metrics and all tracing output.
    pub fn all_log_text(&self) -> String {
        let mut text = self.audit_lines.lock().unwrap().join("\n");
        text.push('\n');
        text.push_str(&self.metric_lines.lock().unwrap().join("\n"));
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(
            &captured_tracing().lock().unwrap(),
        ));
        text
    }

    /// Fails when any captured line holds the client secret, an issued token or a
    /// Basic authorization value.
    pub fn assert_no_secret_logged(&self) {
        let text = self.all_log_text();
        assert!(
            !text.contains(CLIENT_SECRET),
            "the client secret was logged"
        );
        let basic = mock_orange_basic_value();
        assert!(
            !text.contains(&basic),
            "the Authorization header value was logged"
        );
        for token in self.mock.issued_tokens() {
            assert!(!text.contains(&token), "an access token was logged");
        }
    }
}

impl Drop for RefreshHarness {
    /// Keeps what this harness logged and the tokens its endpoint issued for the scan.
    fn drop(&mut self) {
        keep_lines_for_the_scan(&[&self.audit_lines, &self.metric_lines]);
        let mut tokens = self.mock.issued_tokens().join("\n");
        tokens.push('\n');
        keep_for_the_scan("issued-tokens.txt", tokens.as_bytes())
            .expect("TEST_LOG_DIR is writable");
    }
}

fn mock_orange_basic_value() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
}
