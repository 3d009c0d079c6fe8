//! `bench`: the performance report's measurements. `scripts/bench.sh` runs them all.
//!
//! ```text
//! bench micro  --out FILE [--quick]
//! bench warm-hit --out FILE [--quick]              (the warm hit alone; stdout as given)
//! bench load   --out FILE                          (needs AWS_ENDPOINT_URL: the emulator)
//! bench lambda --lambda-dir DIR --out FILE [--runs N] [--invocations N]   (same)
//! bench report --results DIR --lambda-dir DIR --out docs/performance.md [--build-seconds S]
//! ```
//!
//! The in-process measurements write their audit and metric lines to standard output,
//! as the functions do: run them with standard output piped to a reader (`| cat
//! >/dev/null`), as Lambda's log collector reads it. Progress goes to standard error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_ssm::types::ParameterType;

use bench::lambda::{self, Function, FunctionResults, LambdaResults, MemoryVariant};
use bench::runtime_api::TraceIds;
use bench::{load, micro, report};

/// The parameter the benchmarks store their token in (on the emulator only).
const PARAMETER_NAME: &str = "/orange-sms-bench/oauth/access-token";

fn main() {
    if let Err(error) = run() {
        eprintln!("bench: {error}");
        std::process::exit(1);
    }
}

struct Args {
    command: String,
    options: HashMap<String, String>,
    flags: Vec<String>,
}

impl Args {
    fn parse() -> Result<Self, String> {
        let mut args = std::env::args().skip(1);
        let command = args.next().ok_or(USAGE)?;
        let mut options = HashMap::new();
        let mut flags = Vec::new();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?}\n{USAGE}"));
            };
            if name == "quick" {
                flags.push(name.to_owned());
                continue;
            }
            let value = args.next().ok_or(format!("--{name} needs a value"))?;
            options.insert(name.to_owned(), value);
        }
        Ok(Self {
            command,
            options,
            flags,
        })
    }

    fn path(&self, name: &str) -> Result<PathBuf, String> {
        self.options
            .get(name)
            .map(PathBuf::from)
            .ok_or(format!("--{name} is required\n{USAGE}"))
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|flag| flag == name)
    }

    fn number(&self, name: &str, default: usize) -> Result<usize, String> {
        self.options.get(name).map_or(Ok(default), |value| {
            value
                .parse()
                .map_err(|_| format!("--{name} must be a whole number"))
        })
    }
}

const USAGE: &str = "usage: bench micro --out FILE [--quick] | \
bench warm-hit --out FILE [--quick] | bench load --out FILE | \
bench lambda --lambda-dir DIR --out FILE [--runs N] [--invocations N] | \
bench report --results DIR --lambda-dir DIR --out FILE [--build-seconds S]";

fn run() -> Result<(), String> {
    let args = Args::parse()?;
    if args.command != "report" {
        // The functions' log format in Lambda (the template sets it). Set before any
        // thread starts.
        // SAFETY: single-threaded here; nothing reads the environment concurrently.
        unsafe { std::env::set_var("AWS_LAMBDA_LOG_FORMAT", "JSON") };
        orange_token::runtime::init_tracing();
    }
    match args.command.as_str() {
        "micro" => {
            let results = micro::run(&current_thread()?, args.flag("quick"))?;
            write_json(&args.path("out")?, &results)
        }
        "warm-hit" => {
            let results = micro::warm_hit_only(&current_thread()?, args.flag("quick"))?;
            write_json(&args.path("out")?, &results)
        }
        "load" => {
            let runtime = multi_thread()?;
            let results = runtime.block_on(async {
                let ssm = ssm_client().await?;
                seed(&ssm).await?;
                load::run(&ssm, PARAMETER_NAME).await
            })?;
            write_json(&args.path("out")?, &results)
        }
        "lambda" => {
            let lambda_dir = args.path("lambda-dir")?;
            let runs = args.number("runs", 20)?;
            let invocations = args.number("invocations", 10_000)?;
            let results = lambda_command(&lambda_dir, runs, invocations)?;
            write_json(&args.path("out")?, &results)
        }
        "report" => {
            let build_seconds = args
                .options
                .get("build-seconds")
                .and_then(|s| s.parse::<u64>().ok());
            let markdown = report::render(
                &args.path("results")?,
                &args.path("lambda-dir")?,
                build_seconds,
            )?;
            let out = args.path("out")?;
            std::fs::write(&out, &markdown)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            println!("{markdown}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

fn current_thread() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn multi_thread() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), String> {
    let json = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

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

async fn ssm_client() -> Result<aws_sdk_ssm::Client, String> {
    emulator_endpoint()?;
    let config = orange_token::aws_http::load_sdk_config()
        .await
        .map_err(|e| e.to_string())?;
    Ok(aws_sdk_ssm::Client::new(&config))
}

/// Stores a token with two hours to live: get-token serves it, refresh finds it fresh.
async fn seed(ssm: &aws_sdk_ssm::Client) -> Result<(), String> {
    let envelope = bench::support::fresh_envelope(Duration::from_secs(2 * 3600));
    ssm.put_parameter()
        .name(PARAMETER_NAME)
        .value(envelope.to_json().as_str())
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot store the benchmark token on the emulator: {}",
                aws_sdk_ssm::error::DisplayErrorContext(&e)
            )
        })?;
    Ok(())
}

/// One `GetParameter` with decryption, from a warm client: median of 20, ms.
async fn emulator_read_ms(ssm: &aws_sdk_ssm::Client) -> Result<f64, String> {
    let mut samples = Vec::new();
    for i in 0..21 {
        let started = Instant::now();
        ssm.get_parameter()
            .name(PARAMETER_NAME)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_ssm::error::DisplayErrorContext(&e)))?;
        if i > 0 {
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(bench::stats::median(&mut samples))
}

/// The C library's settings variable, and what template.yaml sets it to for refresh.
const GLIBC_TUNABLES: &str = "GLIBC_TUNABLES";
const REFRESH_GLIBC_TUNABLES: &str = "glibc.malloc.tcache_count=0";

/// What Lambda sets for every function, plus the emulator and static credentials.
fn lambda_env(name: &str, bootstrap: &Path, endpoint: &str) -> Vec<(String, String)> {
    let task_root = bootstrap
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    [
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{name}")),
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
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn lambda_command(
    lambda_dir: &Path,
    runs: usize,
    invocations: usize,
) -> Result<LambdaResults, String> {
    let endpoint = emulator_endpoint()?;
    let runtime = multi_thread()?;
    let emulator_read_median_ms = runtime.block_on(async {
        let ssm = ssm_client().await?;
        seed(&ssm).await?;
        emulator_read_ms(&ssm).await
    })?;
    drop(runtime);

    let get_token_bootstrap = lambda::bootstrap_path(lambda_dir, "get-token");
    let mut get_token_env = lambda_env("get-token", &get_token_bootstrap, &endpoint);
    get_token_env.extend(
        [
            ("REFRESH_FUNCTION_NAME", "refresh"),
            ("OAUTH_EXPIRY_BUFFER_MINUTES", "5"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let refresh_bootstrap = lambda::bootstrap_path(lambda_dir, "refresh");
    let mut refresh_env = lambda_env("refresh", &refresh_bootstrap, &endpoint);
    refresh_env.extend(
        [
            ("ORANGE_CREDENTIALS_SECRET_ID", "bench/orange-credentials"),
            ("TOKEN_KMS_KEY_ID", "alias/aws/ssm"),
            // Never called: the stored token is fresh, so refresh skips. Loopback anyway.
            ("ORANGE_TOKEN_ENDPOINT", "http://127.0.0.1:9/oauth/v3/token"),
            // As template.yaml sets it (glibc's per-thread cache off: a flat heap).
            (GLIBC_TUNABLES, REFRESH_GLIBC_TUNABLES),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let functions = [
        Function {
            name: "get-token".to_owned(),
            bootstrap: get_token_bootstrap,
            env: get_token_env,
            event: micro::GET_EVENT.to_vec(),
            expect: "\"access_token\"".to_owned(),
        },
        Function {
            name: "refresh".to_owned(),
            bootstrap: refresh_bootstrap,
            env: refresh_env,
            event: b"{}".to_vec(),
            expect: "\"refreshed\":false".to_owned(),
        },
    ];
    let mut results = Vec::new();
    for function in &functions {
        if !function.bootstrap.is_file() {
            return Err(format!(
                "{} is missing: run scripts/build-release.sh",
                function.bootstrap.display()
            ));
        }
        eprintln!("bench: {}: {runs} cold starts", function.name);
        let cold = lambda::cold_starts(function, runs)?;
        eprintln!(
            "bench: {}: {invocations} invocations of one instance (peak memory)",
            function.name
        );
        let warmup = invocations.min(1_000);
        let memory = lambda::memory(function, invocations, warmup, TraceIds::Unique)?;
        // Where growth comes from: the same run with one trace id for all invocations.
        let mut memory_variants = Vec::new();
        // What the template's C library setting does: the same run without it.
        if function.env.iter().any(|(k, _)| k == GLIBC_TUNABLES) {
            eprintln!(
                "bench: {}: the memory run again without {GLIBC_TUNABLES}",
                function.name
            );
            let mut without = function.clone();
            without.env.retain(|(k, _)| k != GLIBC_TUNABLES);
            memory_variants.push(MemoryVariant {
                label: format!("{}, without `{GLIBC_TUNABLES}`", function.name),
                run: lambda::memory(&without, invocations, warmup, TraceIds::Unique)?,
            });
        }
        // Where growth comes from, if any: the same run with one trace id throughout.
        if memory.growth_after_warmup_kib > 0 {
            eprintln!(
                "bench: {}: the memory run again with one constant trace id",
                function.name
            );
            memory_variants.push(MemoryVariant {
                label: format!("{}, one constant trace id", function.name),
                run: lambda::memory(function, invocations, warmup, TraceIds::Constant)?,
            });
        }
        // What loading the system's root certificates at init costs (get-token only:
        // refresh's token-endpoint client refuses to start without any).
        let cold_without_root_certificates = if function.name == "get-token" {
            eprintln!(
                "bench: {}: {runs} cold starts without the system's root certificates",
                function.name
            );
            let mut without = function.clone();
            without.env.extend(
                [
                    ("SSL_CERT_FILE", "/dev/null"),
                    ("SSL_CERT_DIR", "/nonexistent"),
                ]
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
            );
            Some(lambda::cold_starts(&without, runs)?)
        } else {
            None
        };
        results.push(FunctionResults {
            name: function.name.clone(),
            bootstrap: function.bootstrap.display().to_string(),
            cold,
            memory,
            memory_variants,
            cold_without_root_certificates,
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
