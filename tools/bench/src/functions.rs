//! The two release bootstraps as the template configures them, pointed at the local AWS
//! emulator (`AWS_ENDPOINT_URL`, loopback only, static test credentials), with a fresh
//! token stored: their cold starts and a memory run of each ([`crate::lambda`]).

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_ssm::types::ParameterType;
use chrono::Utc;
use orange_token::envelope::TokenEnvelope;
use orange_token::secret::AccessToken;

use crate::in_process::{GET_EVENT, SAMPLE_ACCESS_TOKEN};
use crate::lambda::{self, Function, FunctionResults, LambdaResults};
use crate::stats::median;

/// The parameter the benchmarks store their token in (on the emulator only).
const PARAMETER_NAME: &str = "/orange-sms-bench/oauth/access-token";

/// Invocations of the memory run after which the rest count as warm.
pub const WARMUP_INVOCATIONS: usize = 1_000;

/// `AWS_ENDPOINT_URL`, which must be a loopback address (the local AWS emulator).
fn emulator_endpoint() -> Result<String, String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"];
    if !loopback.iter().any(|prefix| endpoint.starts_with(prefix)) {
        return Err(format!(
            "AWS_ENDPOINT_URL must be the local AWS emulator on a loopback address (scripts/bench.sh starts it), not {endpoint:?}"
        ));
    }
    if std::env::var("AWS_EC2_METADATA_DISABLED").as_deref() != Ok("true") {
        return Err("set AWS_EC2_METADATA_DISABLED=true and static test credentials (scripts/lib.sh export_test_aws_env)".to_owned());
    }
    Ok(endpoint)
}

/// Stores a token with two hours to live (get-token serves it, refresh finds it fresh),
/// then times one `GetParameter` with decryption from a warm client: median of 20, ms.
async fn seed_and_time_a_read() -> Result<f64, String> {
    let config = orange_token::aws_http::load_sdk_config()
        .await
        .map_err(|e| e.to_string())?;
    let ssm = aws_sdk_ssm::Client::new(&config);
    let envelope = TokenEnvelope::issue(
        AccessToken::new(SAMPLE_ACCESS_TOKEN),
        "Bearer",
        None,
        Utc::now(),
        Duration::from_secs(2 * 3600),
    );
    let show = |e: &dyn std::fmt::Display| format!("the emulator's SSM: {e}");
    ssm.put_parameter()
        .name(PARAMETER_NAME)
        .value(envelope.to_json().as_str())
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| show(&aws_sdk_ssm::error::DisplayErrorContext(&e)))?;
    let mut samples = Vec::new();
    for i in 0..21 {
        let started = Instant::now();
        ssm.get_parameter()
            .name(PARAMETER_NAME)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| show(&aws_sdk_ssm::error::DisplayErrorContext(&e)))?;
        if i > 0 {
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(median(&mut samples))
}

/// `<lambda_dir>/<name>/bootstrap` with what Lambda sets for every function, the
/// emulator, static credentials, and the function's own variables.
fn function(
    lambda_dir: &Path,
    name: &str,
    endpoint: &str,
    own: &[(&str, &str)],
    event: &[u8],
    expect: &str,
) -> Function {
    let bootstrap = lambda_dir.join(name).join("bootstrap");
    let task_root = lambda_dir.join(name).display().to_string();
    let log_group = format!("/aws/lambda/{name}");
    let common = [
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", &log_group),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/27/[$LATEST]bench"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("LAMBDA_TASK_ROOT", &task_root),
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("TZ", ":UTC"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_ENDPOINT_URL", endpoint),
        ("TOKEN_PARAMETER_NAME", PARAMETER_NAME),
    ];
    Function {
        name: name.to_owned(),
        bootstrap,
        env: common
            .iter()
            .chain(own)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        event: event.to_vec(),
        expect: expect.to_owned(),
    }
}

/// Cold starts (`runs` per function) and one memory run of `invocations` per function.
pub fn measure(
    lambda_dir: &Path,
    runs: usize,
    invocations: usize,
) -> Result<LambdaResults, String> {
    let endpoint = emulator_endpoint()?;
    let emulator_read_median_ms = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(seed_and_time_a_read())?;
    let get_token = function(
        lambda_dir,
        "get-token",
        &endpoint,
        &[
            ("REFRESH_FUNCTION_NAME", "refresh"),
            ("OAUTH_EXPIRY_BUFFER_MINUTES", "5"),
        ],
        GET_EVENT,
        "\"access_token\"",
    );
    let refresh = function(
        lambda_dir,
        "refresh",
        &endpoint,
        &[
            ("ORANGE_CREDENTIALS_SECRET_ID", "bench/orange-credentials"),
            ("TOKEN_KMS_KEY_ID", "alias/aws/ssm"),
            // Never called: the stored token is fresh, so refresh skips. Loopback anyway.
            ("ORANGE_TOKEN_ENDPOINT", "http://127.0.0.1:9/oauth/v3/token"),
        ],
        b"{}",
        "\"refreshed\":false",
    );
    let mut results = Vec::new();
    for function in [get_token, refresh] {
        if !function.bootstrap.is_file() {
            return Err(format!(
                "{} is missing: run scripts/build-release.sh",
                function.bootstrap.display()
            ));
        }
        eprintln!("bench: {}: {runs} cold starts", function.name);
        let cold = lambda::cold_starts(&function, runs)?;
        // What reading the system's root certificates at start would cost (get-token
        // only: refresh's token-endpoint client refuses to start without any).
        let cold_without_root_certificates = if function.name == "get-token" {
            eprintln!(
                "bench: get-token: {runs} cold starts without the system's root certificates"
            );
            let mut hidden = function.clone();
            hidden
                .env
                .push(("SSL_CERT_FILE".to_owned(), "/dev/null".to_owned()));
            hidden
                .env
                .push(("SSL_CERT_DIR".to_owned(), "/nonexistent".to_owned()));
            Some(lambda::cold_starts(&hidden, runs)?)
        } else {
            None
        };
        eprintln!(
            "bench: {}: {invocations} invocations of one instance (memory)",
            function.name
        );
        let memory = lambda::memory(&function, invocations, WARMUP_INVOCATIONS.min(invocations))?;
        results.push(FunctionResults {
            name: function.name.clone(),
            cold,
            cold_without_root_certificates,
            memory,
        });
    }
    let arch = lambda_dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(LambdaResults {
        arch,
        functions: results,
        emulator_read_median_ms,
    })
}
