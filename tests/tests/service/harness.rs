//! What the tests need: AWS clients on the emulator, a fresh parameter and secret per
//! test, a mock token endpoint, the refresh handler with captured audit and metric lines,
//! and a capture of every tracing line for the secret scans.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use integration_tests::keep_for_the_scan;
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
    orange_token::aws_http::load_sdk_config()
        .await
        .expect("the AWS HTTPS client is built")
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

/// Every tracing line any test of this binary wrote, for the secret scans.
pub fn captured_tracing() -> Arc<Mutex<Vec<u8>>> {
    integration_tests::captured_tracing(crate::TRACING.0, crate::TRACING.1)
}

/// Keeps audit and metric lines of a memory sink for the scan.
fn keep_lines_for_the_scan(sinks: &[&Arc<Mutex<Vec<String>>>]) {
    for lines in sinks {
        let mut text = lines.lock().unwrap().join("\n");
        text.push('\n');
        keep_for_the_scan("service-audit-and-metrics.log", text.as_bytes())
            .expect("TEST_LOG_DIR is writable");
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

fn parse_lines(lines: &Arc<Mutex<Vec<String>>>) -> Vec<Value> {
    lines
        .lock()
        .unwrap()
        .iter()
        .map(|line| serde_json::from_str(line).expect("every log line is JSON"))
        .collect()
}

pub use integration_tests::scheduled_event;

// --- get-token ---------------------------------------------------------------------------

use std::collections::VecDeque;
use std::sync::atomic::AtomicUsize;

use get_token::handler::{GetTokenResponse, GetTokenState, ThrottleWait};
use get_token::invoker::{RefreshCall, RefreshInvokeError, RefreshInvoker, RefreshReply};
use orange_token::config::GetTokenConfig;
use orange_token::envelope::TokenEnvelope;
use orange_token::protocol::{StatusResponse, TokenResponse};
use orange_token::store::{StoreError, TokenStore};

/// A store that counts its reads: each `load` is one `GetParameter` on the emulator.
pub struct CountingStore<S> {
    inner: S,
    loads: Arc<AtomicUsize>,
}

impl<S> CountingStore<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            loads: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

impl<S: TokenStore> TokenStore for CountingStore<S> {
    async fn load(&self) -> Result<Option<TokenEnvelope>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load().await
    }

    async fn save(&self, envelope: &TokenEnvelope) -> Result<i64, StoreError> {
        self.inner.save(envelope).await
    }

    fn parameter_name(&self) -> &str {
        self.inner.parameter_name()
    }
}

/// What the in-process refresh function does on its next invoke, instead of running.
#[derive(Debug, Clone)]
pub enum RefreshScript {
    /// Lambda answers 429 (the reserved concurrency is taken).
    Throttled,
    /// Another refresh (the schedule) runs to completion and stores a token, and this
    /// invoke is throttled meanwhile.
    ThrottledWhileAScheduledRunStores,
    /// The function answers a function error.
    FunctionError {
        error_type: String,
        error_message: String,
    },
}

/// The refresh function behind get-token's invoker seam: the real refresh handler run
/// in-process (on the emulator and the mock endpoint), as Lambda would run it for an
/// invoke with that payload. Counts its invokes and keeps their payloads.
/// Like the deployed function (reserved concurrency 1), an invoke that arrives while
/// another runs is throttled.
#[derive(Clone)]
pub struct InProcessRefresh {
    harness: Arc<RefreshHarness>,
    payloads: Arc<Mutex<Vec<Value>>>,
    script: Arc<Mutex<VecDeque<RefreshScript>>>,
    sticky: Arc<Mutex<Option<RefreshScript>>>,
    running: Arc<tokio::sync::Mutex<()>>,
}

impl RefreshInvoker for InProcessRefresh {
    async fn invoke(&self, call: RefreshCall) -> Result<RefreshReply, RefreshInvokeError> {
        let payload = call.payload();
        self.payloads.lock().unwrap().push(payload.clone());
        let scripted = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .or_else(|| self.sticky.lock().unwrap().clone());
        let throttled = || RefreshInvokeError::Throttled {
            message: "Lambda answered HTTP 429 TooManyRequestsException: Rate Exceeded.".into(),
        };
        match scripted {
            Some(RefreshScript::Throttled) => Err(throttled()),
            Some(RefreshScript::ThrottledWhileAScheduledRunStores) => {
                self.harness
                    .scheduled()
                    .await
                    .expect("the concurrent scheduled refresh succeeds");
                Err(throttled())
            }
            Some(RefreshScript::FunctionError {
                error_type,
                error_message,
            }) => Err(RefreshInvokeError::Function {
                error_type,
                error_message,
            }),
            None => match self.running.try_lock() {
                Err(_) => Err(throttled()),
                Ok(_running) => self.run(payload).await,
            },
        }
    }
}

impl InProcessRefresh {
    async fn run(&self, payload: Value) -> Result<RefreshReply, RefreshInvokeError> {
        match self.harness.invoke(payload).await {
            // What Lambda would carry: the serialised answer, or the Diagnostic.
            Ok(response) => RefreshReply::from_payload(&serde_json::to_vec(&response).unwrap()),
            Err(error) => Err(RefreshInvokeError::Function {
                error_type: error.error_type().to_owned(),
                error_message: error.to_string(),
            }),
        }
    }
}

/// Knobs of a get-token harness.
pub struct GetTokenOptions {
    /// The refresh function's (and the mock endpoint's) knobs; its clock, if any, is
    /// get-token's too.
    pub refresh: RefreshOptions,
    pub cache_enabled: bool,
    pub buffer_minutes: u64,
}

impl Default for GetTokenOptions {
    fn default() -> Self {
        Self {
            refresh: RefreshOptions::default(),
            cache_enabled: true,
            buffer_minutes: 5,
        }
    }
}

pub type GetTokenTestState = GetTokenState<CountingStore<SsmTokenStore>, InProcessRefresh>;

/// One get-token instance on the emulator, with the refresh function in-process.
// The fields that build other instances are read by the storm binary only.
#[allow(dead_code)]
pub struct GetTokenHarness {
    pub refresh: Arc<RefreshHarness>,
    pub state: Arc<GetTokenTestState>,
    config: GetTokenConfig,
    clock: Arc<dyn Clock>,
    invoker: InProcessRefresh,
    audit_sink: LogSink,
    metric_sink: LogSink,
    payloads: Arc<Mutex<Vec<Value>>>,
    script: Arc<Mutex<VecDeque<RefreshScript>>>,
    sticky: Arc<Mutex<Option<RefreshScript>>>,
    audit_lines: Arc<Mutex<Vec<String>>>,
    metric_lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for GetTokenHarness {
    /// Keeps what get-token logged for the scan.
    fn drop(&mut self) {
        keep_lines_for_the_scan(&[&self.audit_lines, &self.metric_lines]);
    }
}

impl GetTokenHarness {
    pub async fn start() -> Self {
        Self::with(GetTokenOptions::default()).await
    }

    pub async fn with(options: GetTokenOptions) -> Self {
        let clock: Arc<dyn Clock> = match &options.refresh.clock {
            Some(clock) => Arc::new(clock.clone()),
            None => Arc::new(SystemClock),
        };
        let refresh = Arc::new(RefreshHarness::with(options.refresh).await);
        let vars = {
            let parameter_name = refresh.parameter_name.clone();
            let buffer = options.buffer_minutes.to_string();
            let cache = options.cache_enabled.to_string();
            move |name: &str| match name {
                "TOKEN_PARAMETER_NAME" => Some(parameter_name.clone()),
                "OAUTH_EXPIRY_BUFFER_MINUTES" => Some(buffer.clone()),
                "OAUTH_CACHE_ENABLED" => Some(cache.clone()),
                "REFRESH_FUNCTION_NAME" => Some("refresh".to_owned()),
                _ => None,
            }
        };
        let config = GetTokenConfig::from_source(&vars).expect("test configuration");
        let payloads = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let sticky = Arc::new(Mutex::new(None));
        let invoker = InProcessRefresh {
            harness: refresh.clone(),
            payloads: payloads.clone(),
            script: script.clone(),
            sticky: sticky.clone(),
            running: Arc::new(tokio::sync::Mutex::new(())),
        };
        let (audit_sink, audit_lines) = LogSink::memory();
        let (metric_sink, metric_lines) = LogSink::memory();
        let state = Self::instance_state(
            &refresh,
            &config,
            &clock,
            &invoker,
            &audit_sink,
            &metric_sink,
        );
        Self {
            refresh,
            state: Arc::new(state),
            config,
            clock,
            invoker,
            audit_sink,
            metric_sink,
            payloads,
            script,
            sticky,
            audit_lines,
            metric_lines,
        }
    }

    fn instance_state(
        refresh: &RefreshHarness,
        config: &GetTokenConfig,
        clock: &Arc<dyn Clock>,
        invoker: &InProcessRefresh,
        audit_sink: &LogSink,
        metric_sink: &LogSink,
    ) -> GetTokenTestState {
        let store = CountingStore::new(SsmTokenStore::reader(
            refresh.ssm.clone(),
            &config.parameter_name,
        ));
        let mut state = GetTokenState::new(
            config.clone(),
            store,
            invoker.clone(),
            AuditLog::new(audit_sink.clone(), "get-token"),
            Metrics::new(metric_sink.clone(), "get-token"),
            Arc::clone(clock),
        );
        state.throttle_wait = ThrottleWait {
            attempts: 5,
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
        };
        state
    }

    /// Another get-token instance (used by the storm binary): its own memory, the same store, refresh function,
    /// clock and log lines as this one.
    #[allow(dead_code)]
    pub fn another_instance(&self) -> Arc<GetTokenTestState> {
        Arc::new(Self::instance_state(
            &self.refresh,
            &self.config,
            &self.clock,
            &self.invoker,
            &self.audit_sink,
            &self.metric_sink,
        ))
    }

    /// Invokes the handler as the Lambda runtime would.
    pub async fn invoke(&self, payload: Value) -> Result<GetTokenResponse, ServiceError> {
        invoke_get_token(&self.state, payload).await
    }

    /// Invokes and expects a token.
    pub async fn token(&self, payload: Value) -> Result<TokenResponse, ServiceError> {
        match self.invoke(payload).await? {
            GetTokenResponse::Token(token) => Ok(token),
            GetTokenResponse::Status(status) => panic!("expected a token, got {status:?}"),
        }
    }

    /// Invokes `{"action": "status"}`; answers the report and its serialised form.
    pub async fn status(&self) -> (StatusResponse, String) {
        let response = self
            .invoke(serde_json::json!({"action": "status"}))
            .await
            .expect("status is never an error");
        let json = serde_json::to_string(&response).unwrap();
        match response {
            GetTokenResponse::Status(status) => (status, json),
            GetTokenResponse::Token(_) => panic!("expected a status report"),
        }
    }

    /// Reads of the SSM parameter by get-token.
    pub fn store_loads(&self) -> usize {
        self.state.store.loads()
    }

    /// Invokes of the refresh function by get-token.
    pub fn refresh_invocations(&self) -> usize {
        self.payloads.lock().unwrap().len()
    }

    /// The payloads get-token invoked the refresh function with.
    pub fn refresh_payloads(&self) -> Vec<Value> {
        self.payloads.lock().unwrap().clone()
    }

    /// Token requests that reached the mock endpoint.
    pub fn token_requests(&self) -> usize {
        self.refresh.mock.token_requests()
    }

    /// What the next invoke of the refresh function does instead of running it.
    pub fn script_refresh(&self, script: RefreshScript) {
        self.script.lock().unwrap().push_back(script);
    }

    /// What every invoke of the refresh function does (`None`: run it).
    pub fn script_every_refresh(&self, script: Option<RefreshScript>) {
        *self.sticky.lock().unwrap() = script;
    }

    pub fn audit_events(&self) -> Vec<Value> {
        parse_lines(&self.audit_lines)
    }

    /// get-token's audit events named `name`.
    pub fn audit_events_named(&self, name: &str) -> Vec<Value> {
        self.audit_events()
            .into_iter()
            .filter(|event| event["event"] == name)
            .collect()
    }

    pub fn metric_records(&self) -> Vec<Value> {
        parse_lines(&self.metric_lines)
    }

    /// Fails when any line logged by get-token, the refresh function or tracing holds
    /// an issued token (or a credential).
    pub fn assert_no_token_logged(&self) {
        let mut text = self.audit_lines.lock().unwrap().join("\n");
        text.push('\n');
        text.push_str(&self.metric_lines.lock().unwrap().join("\n"));
        text.push('\n');
        text.push_str(&self.refresh.all_log_text());
        for token in self.refresh.mock.issued_tokens() {
            assert!(!text.contains(&token), "an access token was logged");
        }
        self.refresh.assert_no_secret_logged();
    }
}

/// Invokes get-token's handler on `state` as the Lambda runtime would.
pub async fn invoke_get_token(
    state: &GetTokenTestState,
    payload: Value,
) -> Result<GetTokenResponse, ServiceError> {
    let mut context = Context::default();
    context.request_id = unique("req");
    get_token::handler::handle(state, LambdaEvent::new(payload, context)).await
}
