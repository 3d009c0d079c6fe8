//! What the end-to-end tests share: the addresses `scripts/test.sh` exports, an
//! `aws-sdk-lambda` client on the watch's Invoke API, an SSM client on the emulator, the
//! token endpoint's control API, and the log checks.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_lambda::error::DisplayErrorContext;
use aws_sdk_ssm::types::ParameterType;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::{Mutex as AsyncMutex, MutexGuard};

use orange_token::envelope::{rfc3339, token_id};
use orange_token::lambda_invoke::{InvokeError, invoke_once};
use orange_token::test_support::store::read_parameter;

/// One test at a time: they share the watch, the token endpoint and the parameter.
static LOCK: AsyncMutex<()> = AsyncMutex::const_new(());

/// How long one invoke may take: a function's first start after a rebuild, or a
/// renewal with retries, take seconds, not minutes; this only bounds a hang.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(300);

/// The loopback URL in the variable `name`, or a failure that says how to run the tests.
fn required_var(name: &str) -> String {
    let value = std::env::var(name).unwrap_or_default();
    assert!(
        !value.trim().is_empty(),
        "{name} is not set. The end-to-end tests run against the local service that \
         scripts/test.sh starts (moto, mock-orange, cargo lambda watch): run them with \
         `scripts/test.sh` (e.g. `scripts/test.sh --test e2e`), not with a bare `cargo test`."
    );
    value
}

fn loopback_url(name: &str) -> String {
    let url = required_var(name);
    assert!(
        url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:"),
        "{name} must be a loopback http URL, got {url:?}"
    );
    url.trim_end_matches('/').to_owned()
}

/// The local service of this run, held while one test runs.
pub struct Session {
    pub lambda: aws_sdk_lambda::Client,
    pub ssm: aws_sdk_ssm::Client,
    http: reqwest::Client,
    mock_url: String,
    pub parameter_name: String,
    kms_key_id: String,
    client_id: String,
    client_secret: String,
    log_dir: PathBuf,
    watch_log: PathBuf,
    /// Tokens this test wrote itself (e.g. an expired envelope): no log may hold them either.
    own_tokens: Vec<String>,
    _lock: MutexGuard<'static, ()>,
}

/// Waits for the other tests, then connects to the local service and clears the token
/// endpoint's faults.
pub async fn session() -> Session {
    let lock = LOCK.lock().await;
    captured_tracing();
    let lambda_endpoint = loopback_url("E2E_LAMBDA_ENDPOINT");
    let mock_url = loopback_url("E2E_MOCK_ORANGE_URL");
    loopback_url("AWS_ENDPOINT_URL");
    assert_eq!(
        std::env::var("AWS_EC2_METADATA_DISABLED").as_deref(),
        Ok("true"),
        "set AWS_EC2_METADATA_DISABLED=true (scripts/test.sh does)"
    );
    // Every AWS call goes to the emulator (AWS_ENDPOINT_URL), the invokes to the watch.
    let aws = orange_token::aws_http::load_sdk_config()
        .await
        .expect("the AWS HTTPS client is built");
    let lambda_config = aws_sdk_lambda::config::Builder::from(&aws)
        .endpoint_url(&lambda_endpoint)
        // A function error is an answer: never retried (the watch answers one with 500).
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .read_timeout(INVOKE_TIMEOUT)
                .operation_attempt_timeout(INVOKE_TIMEOUT)
                .operation_timeout(INVOKE_TIMEOUT)
                .build(),
        )
        .build();
    let session = Session {
        lambda: aws_sdk_lambda::Client::from_conf(lambda_config),
        ssm: aws_sdk_ssm::Client::new(&aws),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .expect("http client"),
        mock_url,
        parameter_name: required_var("E2E_TOKEN_PARAMETER_NAME"),
        kms_key_id: required_var("E2E_KMS_KEY_ID"),
        client_id: required_var("E2E_CLIENT_ID"),
        client_secret: required_var("E2E_CLIENT_SECRET"),
        log_dir: PathBuf::from(required_var("E2E_LOG_DIR")),
        watch_log: PathBuf::from(required_var("E2E_WATCH_LOG")),
        own_tokens: Vec::new(),
        _lock: lock,
    };
    session.clear_faults().await;
    session
}

impl Drop for Session {
    /// Clears the token endpoint's faults even when the test failed half-way (the lock
    /// is released after this runs).
    fn drop(&mut self) {
        let Some(authority) = self.mock_url.strip_prefix("http://") else {
            return;
        };
        if let Ok(mut stream) = TcpStream::connect(authority) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let request = format!(
                "DELETE /_mock/faults HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            if stream.write_all(request.as_bytes()).is_ok() {
                let mut answer = Vec::new();
                let _ = stream.read_to_end(&mut answer);
            }
        }
    }
}

/// A function's answer: its payload, or the function error it reported.
#[derive(Debug)]
pub enum Answer {
    Ok(Value),
    Error {
        error_type: String,
        error_message: String,
    },
}

impl Answer {
    /// The payload of a successful invoke; fails naming `what` and the error otherwise.
    pub fn expect_ok(self, what: &str) -> Value {
        match self {
            Answer::Ok(value) => value,
            Answer::Error {
                error_type,
                error_message,
            } => panic!("{what}: function error {error_type}: {error_message}"),
        }
    }

    /// The `(errorType, errorMessage)` of a function error; fails when the invoke succeeded.
    pub fn expect_error(self, what: &str) -> (String, String) {
        match self {
            Answer::Error {
                error_type,
                error_message,
            } => (error_type, error_message),
            Answer::Ok(value) => panic!(
                "{what}: expected a function error, got an answer with the fields {:?}",
                field_names(&value)
            ),
        }
    }
}

/// The field names of an answer (never its values: a `get` answer holds the token).
pub fn field_names(value: &Value) -> Vec<String> {
    match value {
        Value::Object(map) => map.keys().cloned().collect(),
        other => vec![format!("<not an object: {}>", type_name(other))],
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What the token endpoint has done so far (`GET /_mock/stats`).
#[derive(Debug)]
pub struct Stats {
    pub token_requests: u64,
    /// The tokens themselves: compare, never print.
    pub issued_tokens: Vec<String>,
    pub issued_token_ids: Vec<String>,
}

impl Stats {
    pub fn issued(&self, access_token: &str) -> bool {
        self.issued_tokens.iter().any(|token| token == access_token)
    }
}

/// The stored envelope, read back from the emulator.
pub struct Stored {
    pub parameter_type: String,
    pub envelope: Value,
}

impl Stored {
    pub fn token_id(&self) -> &str {
        self.envelope["token_id"].as_str().unwrap_or_default()
    }
    pub fn access_token(&self) -> &str {
        self.envelope["access_token"].as_str().unwrap_or_default()
    }
}

impl Session {
    /// One `RequestResponse` invoke of `function` through the Lambda Invoke API, read as
    /// the caller library and get-token read one (either shape of a function error).
    pub async fn invoke(&self, function: &str, payload: &Value) -> Answer {
        match invoke_once(&self.lambda, function, payload).await {
            Ok(body) => match serde_json::from_slice(&body) {
                Ok(value) => Answer::Ok(value),
                Err(error) => panic!("{function} answered something that is not JSON: {error}"),
            },
            Err(InvokeError::Function {
                error_type,
                error_message,
            }) => Answer::Error {
                error_type,
                error_message,
            },
            Err(error @ InvokeError::Invoke { .. }) => panic!("invoking {function}: {error}"),
        }
    }

    pub async fn refresh(&self, payload: Value) -> Answer {
        self.invoke("refresh", &payload).await
    }

    pub async fn get_token(&self, payload: Value) -> Answer {
        self.invoke("get-token", &payload).await
    }

    /// Makes sure the store holds a fresh token (a scheduled run) and answers its id.
    pub async fn ensure_fresh_token(&self) -> String {
        let answer = self
            .refresh(scheduled_event())
            .await
            .expect_ok("a scheduled refresh");
        answer["token_id"]
            .as_str()
            .expect("refresh answers a token_id")
            .to_owned()
    }

    // --- the token endpoint's control API ---------------------------------------------

    pub async fn stats(&self) -> Stats {
        let value: Value = self
            .http
            .get(format!("{}/_mock/stats", self.mock_url))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("GET /_mock/stats")
            .json()
            .await
            .expect("stats are JSON");
        let strings = |field: &str| -> Vec<String> {
            value[field]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| item.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        Stats {
            token_requests: value["token_requests"].as_u64().expect("token_requests"),
            issued_tokens: strings("issued_tokens"),
            issued_token_ids: strings("issued_token_ids"),
        }
    }

    /// Queues one-shot faults for the coming token requests.
    pub async fn push_faults(&self, faults: Value) {
        self.http
            .post(format!("{}/_mock/faults", self.mock_url))
            .json(&faults)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("POST /_mock/faults");
    }

    /// Applies `fault` to every token request until cleared.
    pub async fn set_sticky(&self, fault: Value) {
        self.http
            .put(format!("{}/_mock/sticky", self.mock_url))
            .json(&fault)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("PUT /_mock/sticky");
    }

    pub async fn clear_faults(&self) {
        self.http
            .delete(format!("{}/_mock/faults", self.mock_url))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("DELETE /_mock/faults");
    }

    // --- the store ----------------------------------------------------------------------

    pub async fn stored(&self) -> Option<Stored> {
        let stored = read_parameter(&self.ssm, &self.parameter_name).await?;
        Some(Stored {
            parameter_type: stored.parameter_type,
            envelope: serde_json::from_str(&stored.value).expect("the stored value is JSON"),
        })
    }

    pub async fn delete_parameter(&self) {
        match self
            .ssm
            .delete_parameter()
            .name(&self.parameter_name)
            .send()
            .await
        {
            Ok(_) => {}
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_parameter_not_found()) => {}
            Err(error) => panic!("deleting the parameter: {}", DisplayErrorContext(&error)),
        }
    }

    /// Stores a valid envelope for `access_token` directly (a SecureString with the run's
    /// KMS key), as if refresh had written it.
    pub async fn put_envelope(
        &mut self,
        access_token: &str,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) {
        self.own_tokens.push(access_token.to_owned());
        let envelope = json!({
            "version": 1,
            "access_token": access_token,
            "token_type": "Bearer",
            "scope": null,
            "issued_at": rfc3339(issued_at),
            "expires_at": rfc3339(expires_at),
            "token_id": token_id(access_token),
        });
        self.ssm
            .put_parameter()
            .name(&self.parameter_name)
            .value(envelope.to_string())
            .r#type(ParameterType::SecureString)
            .key_id(&self.kms_key_id)
            .overwrite(true)
            .send()
            .await
            .unwrap_or_else(|error| {
                panic!("writing the parameter: {}", DisplayErrorContext(&error))
            });
    }

    // --- the logs -------------------------------------------------------------------------

    /// The functions' audit events so far (their JSON log lines with `audit: true`, at the
    /// top level or under `fields`), flattened.
    pub fn audit_events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.watch_log)
            .unwrap_or_else(|error| panic!("reading {}: {error}", self.watch_log.display()));
        text.lines()
            .filter_map(|line| {
                let start = line.find('{')?;
                let mut value: Value = serde_json::from_str(&line[start..]).ok()?;
                if let Some(Value::Object(fields)) = value.get("fields").cloned()
                    && let Value::Object(map) = &mut value
                {
                    map.extend(fields);
                }
                (value.get("audit") == Some(&Value::Bool(true))).then_some(value)
            })
            .collect()
    }

    /// The audit events named `event` that match every `(field, value)` in `fields`.
    pub fn audit_events_matching(&self, event: &str, fields: &[(&str, Value)]) -> Vec<Value> {
        self.audit_events()
            .into_iter()
            .filter(|e| e["event"] == event && fields.iter().all(|(k, v)| &e[*k] == v))
            .collect()
    }

    /// Fails unless the refresh function logged `TOKEN_GENERATED` for `token_id`.
    pub fn assert_refresh_generated(&self, token_id: &str) {
        let generated = self.audit_events_matching(
            "TOKEN_GENERATED",
            &[
                ("token_id", Value::from(token_id)),
                ("function_name", Value::from("refresh")),
            ],
        );
        assert!(
            !generated.is_empty(),
            "the refresh function logged TOKEN_GENERATED for {token_id}"
        );
    }

    /// Fails when any log of the run (the watch's, that is every line both functions
    /// wrote; the token endpoint's; the emulator's; this test binary's tracing) holds the
    /// client secret, the Basic authorization value, a token the endpoint issued or a
    /// token a test stored itself.
    pub async fn assert_logs_clean(&self) {
        let stats = self.stats().await;
        let mut logs: Vec<(String, String)> = Vec::new();
        let entries = std::fs::read_dir(&self.log_dir)
            .unwrap_or_else(|error| panic!("reading {}: {error}", self.log_dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "log") {
                let bytes = std::fs::read(&path).unwrap_or_default();
                logs.push((
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
        assert!(
            logs.iter().any(|(name, _)| name == "lambda-watch.log"),
            "the watch's log is not in {}",
            self.log_dir.display()
        );
        logs.push((
            "this test binary's tracing".to_owned(),
            String::from_utf8_lossy(&captured_tracing().lock().unwrap()).into_owned(),
        ));
        let basic = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", self.client_id, self.client_secret))
        };
        for (name, text) in &logs {
            assert!(
                !text.contains(&self.client_secret),
                "{name} holds the client secret"
            );
            assert!(
                !text.contains(&basic),
                "{name} holds the Authorization header value"
            );
            for token in stats.issued_tokens.iter().chain(&self.own_tokens) {
                assert!(
                    !text.contains(token.as_str()),
                    "{name} holds an access token (token_id {})",
                    token_id(token)
                );
            }
        }
    }
}

pub use integration_tests::scheduled_event;

/// Every tracing line this test binary wrote (the caller library's), for the log checks.
pub fn captured_tracing() -> Arc<Mutex<Vec<u8>>> {
    integration_tests::captured_tracing("e2e-tracing.log", tracing::Level::TRACE)
}

/// The `token_id` the contract defines, for a token the test holds.
pub fn id_of(access_token: &str) -> String {
    token_id(access_token)
}
