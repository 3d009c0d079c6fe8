//! What the tests need: AWS clients on the emulator, a fresh parameter and secret per
//! test, a mock token endpoint, the refresh handler with captured audit and metric lines,
//! and a capture of every tracing line for the secret scans.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_config::SdkConfig;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

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
use refresh::handler::{RefreshResponse, RefreshState};

pub const CLIENT_ID: &str = "test-client-id";
pub const CLIENT_SECRET: &str = "test-client-secret-9f8e7d";

/// The emulator's SDK configuration. Refuses anything but a loopback endpoint.
pub async fn aws() -> SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "AWS_ENDPOINT_URL must point at the local AWS emulator (run the tests with scripts/test.sh), got {endpoint:?}"
    );
    assert_eq!(
        std::env::var("AWS_EC2_METADATA_DISABLED").as_deref(),
        Ok("true"),
        "set AWS_EC2_METADATA_DISABLED=true (scripts/test.sh does)"
    );
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{nanos}-{}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Every tracing line any test wrote, for the secret scans.
pub fn captured_tracing() -> Arc<Mutex<Vec<u8>>> {
    static CAPTURE: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let writer = CaptureWriter(buffer.clone());
            let _ = tracing_subscriber::fmt()
                .json()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(move || writer.clone())
                .try_init();
            buffer
        })
        .clone()
}

#[derive(Clone)]
struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stderr().write_all(bytes)?;
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A fast retry policy so that failure tests finish quickly.
pub fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        min_attempt_time: Duration::from_millis(100),
    }
}

/// Knobs of a refresh harness.
pub struct RefreshOptions {
    pub mock: MockConfig,
    pub retry: RetryPolicy,
    pub http_timeout_seconds: u64,
    pub secret_value: Option<String>,
    pub clock: Option<ManualClock>,
    pub scope: Option<String>,
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
        }
    }
}

pub fn credentials_json(client_id: &str, client_secret: &str) -> String {
    serde_json::json!({"client_id": client_id, "client_secret": client_secret}).to_string()
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
            move |name: &str| match name {
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
        let ssm = aws_sdk_ssm::Client::new(&aws);
        let state = RefreshState {
            endpoint: TokenEndpointClient::new(
                config.token_endpoint.clone(),
                config.scope.clone(),
                config.http_timeout,
                options.retry,
            )
            .expect("http client"),
            credentials: SecretsManagerCredentials::new(secrets, &config.credentials_secret_id),
            store: SsmTokenStore::new(ssm.clone(), &config.parameter_name, &config.kms_key_id),
            audit: AuditLog::new(audit_sink, "refresh"),
            metrics: Metrics::new(metric_sink, "refresh"),
            clock,
            config,
        };
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
        let output = self
            .ssm
            .get_parameter()
            .name(&self.parameter_name)
            .with_decryption(true)
            .send()
            .await
            .ok()?;
        let parameter = output.parameter()?;
        Some((
            parameter.value()?.to_owned(),
            parameter.r#type()?.as_str().to_owned(),
        ))
    }

    pub async fn stored_envelope(&self) -> Option<Value> {
        let (raw, _) = self.stored_raw().await?;
        serde_json::from_str(&raw).ok()
    }

    /// Writes a raw value to the parameter, as a SecureString.
    pub async fn put_raw(&self, value: &str) {
        self.ssm
            .put_parameter()
            .name(&self.parameter_name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .key_id("alias/orange-token-test")
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

fn mock_orange_basic_value() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
}

fn parse_lines(lines: &Arc<Mutex<Vec<String>>>) -> Vec<Value> {
    lines
        .lock()
        .unwrap()
        .iter()
        .map(|line| serde_json::from_str(line).expect("every log line is JSON"))
        .collect()
}

pub fn scheduled_event() -> Value {
    serde_json::json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-26T22:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/orange-token-refresh"],
        "detail": {}
    })
}
