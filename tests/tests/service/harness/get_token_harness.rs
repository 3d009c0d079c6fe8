//! One get-token instance on the emulator, with the refresh function run in-process
//! behind its invoker seam.

use std::collections::VecDeque;

use get_token::handler::{GetTokenResponse, GetTokenState, ThrottleWait};
use get_token::invoker::{RefreshCall, RefreshInvokeError, RefreshInvoker, RefreshReply};
use orange_token::config::GetTokenConfig;
use orange_token::protocol::{StatusResponse, TokenResponse};
use orange_token::test_support::store::CountingStore;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

use orange_token::audit::AuditLog;
use orange_token::clock::{Clock, SystemClock};
use orange_token::error::ServiceError;
use orange_token::log_sink::LogSink;
use orange_token::metrics::Metrics;
use orange_token::store::SsmTokenStore;

use super::{RefreshHarness, RefreshOptions, keep_lines_for_the_scan, parse_lines, unique};

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
