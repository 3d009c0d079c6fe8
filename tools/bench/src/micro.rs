//! In-process benchmarks: the get-token handler's warm memory hit, the caller
//! library's cached hit, and the two parsers on the token's path.
//!
//! Each measures a distribution, not only a mean: the handler per invocation (one
//! `Instant` pair each, ~25 ns of overhead on a ~µs operation), the sub-microsecond
//! operations per batch (the per-call time of each batch is one sample).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use lambda_runtime::{Context as LambdaContext, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use get_token::handler::{GetTokenResponse, GetTokenState, handle};
use orange_token::audit::{AuditEvent, AuditLog, TokenSource};
use orange_token::caller::TokenClient;
use orange_token::clock::SystemClock;
use orange_token::config::GetTokenConfig;
use orange_token::endpoint::classify;
use orange_token::envelope::{TokenEnvelope, rfc3339};
use orange_token::log_sink::LogSink;
use orange_token::metrics::Metrics;
use orange_token::protocol::TokenResponse;

use crate::http::{Response, Server};
use crate::stats::Summary;
use get_token::test_support::CountingRefreshFunction;
use orange_token::test_support::store::{MEMORY_PARAMETER_NAME, MemoryStore};

use crate::support::{fresh_envelope, sample_access_token};

/// What the caller library sends for a `get` (its buffer as `min_ttl_seconds`).
pub const GET_EVENT: &[u8] = br#"{"action":"get","min_ttl_seconds":300,"caller":"sms-sender"}"#;
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:get-token";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MicroResults {
    /// get-token, warm memory hit, per invocation: event bytes → handler → answer bytes.
    pub handler_warm_hit: Summary,
    /// The same without the log lines (audit, EMF, tracing to a memory sink and a
    /// disabled level): the handler's own work.
    pub handler_warm_hit_quiet: Summary,
    /// `TokenClient::access_token` on a cached token, per call (batches of `batch`).
    pub caller_cached_hit: Summary,
    pub caller_batch: usize,
    /// `classify(200, ...)` of a token-endpoint answer, per call.
    pub parse_token_answer: Summary,
    /// `TokenEnvelope::from_json`, per call.
    pub parse_envelope: Summary,
    pub parse_batch: usize,
    pub store_reads: usize,
    pub refresh_invokes: usize,
    /// Where a warm hit's time goes: one sample per call, each alone.
    pub breakdown: Breakdown,
}

/// The warm hit alone (`bench warm-hit`), with its log lines written to whatever
/// standard output is: `scripts/bench.sh` runs it with standard output on `/dev/null`,
/// so that the figure is the handler's own cost, its `write` included, without a
/// pipe reader to wake.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WarmHitRun {
    pub handler_warm_hit: Summary,
    /// What standard output was: `character device`, `file`, `pipe`, `socket`, `other`.
    pub stdout: String,
}

/// What the process's standard output is.
pub fn stdout_kind() -> String {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata("/proc/self/fd/1") {
        Ok(meta) => {
            let kind = meta.file_type();
            if kind.is_char_device() {
                "character device"
            } else if kind.is_file() {
                "file"
            } else if kind.is_fifo() {
                "pipe"
            } else if kind.is_socket() {
                "socket"
            } else {
                "other"
            }
        }
        Err(_) => "unknown",
    }
    .to_owned()
}

/// The get-token warm hit alone, log lines to standard output as it is.
pub fn warm_hit_only(runtime: &tokio::runtime::Runtime, quick: bool) -> Result<WarmHitRun, String> {
    let iterations = if quick { 20_000 } else { 200_000 };
    let (handler_warm_hit, _) = logged_warm_hit(runtime, iterations)?;
    Ok(WarmHitRun {
        handler_warm_hit,
        stdout: stdout_kind(),
    })
}

/// The parts of a warm hit that write its three log lines, measured alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Breakdown {
    /// `AuditLog::emit(TOKEN_SERVED)` into a memory sink: building the line.
    pub audit_line_build: Summary,
    /// `Metrics::token_served_record` into a memory sink: building the EMF line.
    pub emf_line_build: Summary,
    /// One `LogSink::Stdout::write_line` of a 300-byte line: the write to the pipe.
    pub stdout_write: Summary,
    /// One `tracing::info!` like the handler's "token served", through the runtime's
    /// JSON subscriber to standard output.
    pub tracing_event: Summary,
}

/// Polls a future once: the measured paths never wait (a memory hit takes no lock
/// that can be held, does no I/O).
fn ready<F: Future>(future: F) -> Result<F::Output, String> {
    let mut future = pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err("the measured path waited: it is not a memory hit".to_owned()),
    }
}

fn get_token_state(sink: LogSink) -> GetTokenState<MemoryStore, CountingRefreshFunction> {
    let config = GetTokenConfig {
        parameter_name: MEMORY_PARAMETER_NAME.to_owned(),
        expiry_buffer: Duration::from_secs(300),
        cache_enabled: true,
        refresh_function_name: "refresh".to_owned(),
    };
    GetTokenState::new(
        config,
        MemoryStore::new(Some(fresh_envelope(Duration::from_secs(3600)))),
        CountingRefreshFunction::default(),
        AuditLog::new(sink.clone(), "get-token"),
        Metrics::new(sink, "get-token"),
        Arc::new(SystemClock),
    )
}

/// One invocation as the runtime runs it: the event's bytes into JSON, the context,
/// the handler, the answer into bytes.
fn invoke_once(
    state: &GetTokenState<MemoryStore, CountingRefreshFunction>,
    base: &LambdaContext,
    request_id: &str,
) -> Result<Vec<u8>, String> {
    let payload: Value = serde_json::from_slice(GET_EVENT).map_err(|e| e.to_string())?;
    let mut context = base.clone();
    context.request_id = request_id.to_owned();
    let response = ready(handle(state, LambdaEvent::new(payload, context)))?
        .map_err(|error| format!("get-token failed: {error}"))?;
    if !matches!(response, GetTokenResponse::Token(_)) {
        return Err("get-token did not answer a token".to_owned());
    }
    serde_json::to_vec(&response).map_err(|e| e.to_string())
}

fn handler_samples(
    state: &GetTokenState<MemoryStore, CountingRefreshFunction>,
    warmup: usize,
    iterations: usize,
) -> Result<Summary, String> {
    let mut base = LambdaContext::default();
    base.invoked_function_arn = FUNCTION_ARN.to_owned();
    let request_ids: Vec<String> = (0..1024)
        .map(|i| format!("6f1d2c3b-0000-4000-8000-{i:012}"))
        .collect();
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..warmup + iterations {
        let started = Instant::now();
        let answer = invoke_once(state, &base, &request_ids[i % request_ids.len()])?;
        let elapsed = started.elapsed();
        black_box(answer);
        if i >= warmup {
            samples.push(elapsed.as_nanos() as f64);
        }
    }
    Summary::of(&mut samples).ok_or_else(|| "no samples".to_owned())
}

/// A get-token state writing its log lines to `sink`, whose memory holds the token
/// (its first get read the store).
fn warm_state(
    runtime: &tokio::runtime::Runtime,
    sink: LogSink,
) -> Result<GetTokenState<MemoryStore, CountingRefreshFunction>, String> {
    let state = get_token_state(sink);
    let first = runtime.block_on(handle(
        &state,
        LambdaEvent::new(
            serde_json::from_slice(GET_EVENT).map_err(|e| e.to_string())?,
            LambdaContext::default(),
        ),
    ));
    first.map_err(|error| format!("the first get failed: {error}"))?;
    Ok(state)
}

/// The warm hit as deployed: audit and EMF lines to standard output (whatever it is:
/// `bench micro` runs with a pipe that the caller drains, `bench warm-hit` on
/// `/dev/null`), tracing through the runtime's subscriber.
fn logged_warm_hit(
    runtime: &tokio::runtime::Runtime,
    iterations: usize,
) -> Result<(Summary, GetTokenState<MemoryStore, CountingRefreshFunction>), String> {
    let _entered = runtime.enter();
    let state = warm_state(runtime, LogSink::Stdout)?;
    let logged = handler_samples(&state, iterations / 20, iterations)?;
    Ok((logged, state))
}

/// The get-token handler on a warm instance: the token is in memory.
pub fn handler_warm_hit(
    runtime: &tokio::runtime::Runtime,
    iterations: usize,
) -> Result<(Summary, Summary, usize, usize), String> {
    let (logged, state) = logged_warm_hit(runtime, iterations)?;
    let _entered = runtime.enter();

    // The handler's own work: audit and EMF into a memory sink that is cleared, and
    // tracing's INFO lines filtered out by a thread-local subscriber with no output.
    let (sink, lines) = LogSink::memory();
    let quiet_state = warm_state(runtime, sink)?;
    let quiet =
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::new(), || {
            let mut all = Vec::new();
            let chunk = 10_000;
            let mut done = 0;
            while done < iterations {
                let n = chunk.min(iterations - done);
                let summary = handler_samples(&quiet_state, n / 20, n)?;
                all.push(summary);
                lines.lock().map_err(|e| e.to_string())?.clear();
                done += n;
            }
            Ok::<_, String>(all)
        })?;
    // Chunks are equal in size: the median of their medians and the largest p99 bound
    // the quiet distribution well enough for a breakdown.
    let quiet = merge(&quiet);
    let reads = state.store.loads() + quiet_state.store.loads();
    let invokes = state.refresh_function.invokes() + quiet_state.refresh_function.invokes();
    Ok((logged, quiet, reads, invokes))
}

fn merge(chunks: &[Summary]) -> Summary {
    let mut p50: Vec<f64> = chunks.iter().map(|s| s.p50_ns).collect();
    let pick = |f: fn(&Summary) -> f64| chunks.iter().map(f).fold(f64::NAN, f64::max);
    Summary {
        count: chunks.iter().map(|s| s.count).sum(),
        min_ns: chunks.iter().map(|s| s.min_ns).fold(f64::NAN, f64::min),
        p50_ns: crate::stats::median(&mut p50),
        p90_ns: pick(|s| s.p90_ns),
        p99_ns: pick(|s| s.p99_ns),
        p999_ns: pick(|s| s.p999_ns),
        max_ns: pick(|s| s.max_ns),
        mean_ns: chunks.iter().map(|s| s.mean_ns).sum::<f64>() / chunks.len() as f64,
    }
}

/// A local stand-in for the Lambda Invoke API that answers every invoke with `token`.
fn fake_invoke_api(token: &TokenEnvelope) -> Result<Server, String> {
    let now = chrono::Utc::now();
    let body = serde_json::to_vec(&TokenResponse {
        access_token: token.access_token.expose().to_owned(),
        token_type: token.token_type.clone(),
        expires_at: rfc3339(token.expires_at),
        expires_in: token.expires_in(now),
        token_id: token.token_id.clone(),
    })
    .map_err(|e| e.to_string())?;
    Server::start(Arc::new(move |_request| {
        Response::new(200, body.clone())
            .header("content-type", "application/json")
            .header("x-amz-executed-version", "$LATEST")
    }))
    .map_err(|e| e.to_string())
}

/// The caller library's cached hit: `access_token()` with a fresh token in its cache.
pub fn caller_cached_hit(
    runtime: &tokio::runtime::Runtime,
    batches: usize,
    batch: usize,
) -> Result<Summary, String> {
    let _entered = runtime.enter();
    let api = fake_invoke_api(&fresh_envelope(Duration::from_secs(3600)))?;
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
        .endpoint_url(format!("http://{}", api.addr()))
        .http_client(orange_token::aws_http::https_client().map_err(|e| e.to_string())?)
        .build();
    let client = TokenClient::builder(aws_sdk_lambda::Client::from_conf(config), "get-token")
        .caller("sms-sender")
        .build()
        .map_err(|e| e.to_string())?;
    // One invoke fills the cache.
    let first = runtime
        .block_on(client.access_token())
        .map_err(|e| format!("the priming invoke failed: {e}"))?;
    if first.expose() != sample_access_token() {
        return Err("the priming invoke answered another token".to_owned());
    }
    drop(first);
    api.close();
    let mut samples = Vec::with_capacity(batches);
    for round in 0..batches + batches / 10 {
        let started = Instant::now();
        for _ in 0..batch {
            let token = ready(black_box(&client).access_token())?.map_err(|e| e.to_string())?;
            black_box(token);
        }
        let per_call = started.elapsed().as_nanos() as f64 / batch as f64;
        if round >= batches / 10 {
            samples.push(per_call);
        }
    }
    Summary::of(&mut samples).ok_or_else(|| "no samples".to_owned())
}

/// A typical answer of Orange's token endpoint.
pub fn token_answer() -> Vec<u8> {
    format!(
        r#"{{"token_type": "Bearer", "access_token": "{}", "expires_in": 3600}}"#,
        sample_access_token()
    )
    .into_bytes()
}

fn per_call<T>(
    batches: usize,
    batch: usize,
    mut f: impl FnMut() -> Result<T, String>,
) -> Result<Summary, String> {
    let mut samples = Vec::with_capacity(batches);
    for round in 0..batches + batches / 10 {
        let started = Instant::now();
        for _ in 0..batch {
            black_box(f()?);
        }
        if round >= batches / 10 {
            samples.push(started.elapsed().as_nanos() as f64 / batch as f64);
        }
    }
    Summary::of(&mut samples).ok_or_else(|| "no samples".to_owned())
}

/// Both parsers: a token-endpoint answer and a stored envelope.
pub fn parsers(batches: usize, batch: usize) -> Result<(Summary, Summary), String> {
    let answer = token_answer();
    let answer_summary = per_call(batches, batch, || {
        classify(200, None, Some(black_box(&answer[..]))).map_err(|e| e.detail)
    })?;
    let envelope = fresh_envelope(Duration::from_secs(3600)).to_json();
    let envelope_summary = per_call(batches, batch, || {
        TokenEnvelope::from_json(black_box(envelope.as_str())).map_err(|e| e.to_string())
    })?;
    Ok((answer_summary, envelope_summary))
}

/// Everything above, with the iteration counts of the report.
pub fn run(runtime: &tokio::runtime::Runtime, quick: bool) -> Result<MicroResults, String> {
    let scale = if quick { 10 } else { 1 };
    // The caller and the parsers first: the handler's breakdown below sets a scoped
    // tracing dispatcher, which changes tracing's fast path for the rest of the process.
    eprintln!("bench: caller library, cached hit");
    let caller_batch = 1_000;
    let caller_cached_hit = caller_cached_hit(runtime, 5_000 / scale, caller_batch)?;
    eprintln!("bench: parsers");
    let parse_batch = 16;
    let (parse_token_answer, parse_envelope) = parsers(20_000 / scale, parse_batch)?;
    eprintln!("bench: get-token handler, warm memory hit");
    let (handler_warm_hit, handler_warm_hit_quiet, store_reads, refresh_invokes) =
        handler_warm_hit(runtime, 200_000 / scale)?;
    eprintln!("bench: breakdown of the warm hit's log lines");
    let breakdown = breakdown(50_000 / scale)?;
    Ok(MicroResults {
        handler_warm_hit,
        handler_warm_hit_quiet,
        caller_cached_hit,
        caller_batch,
        parse_token_answer,
        parse_envelope,
        parse_batch,
        store_reads,
        refresh_invokes,
        breakdown,
    })
}

fn each_call(iterations: usize, mut f: impl FnMut(usize)) -> Result<Summary, String> {
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations + iterations / 10 {
        let started = Instant::now();
        f(i);
        if i >= iterations / 10 {
            samples.push(started.elapsed().as_nanos() as f64);
        }
    }
    Summary::of(&mut samples).ok_or_else(|| "no samples".to_owned())
}

/// The cost of each log line of a warm hit, alone.
pub fn breakdown(iterations: usize) -> Result<Breakdown, String> {
    let envelope = fresh_envelope(Duration::from_secs(3600));
    let now = chrono::Utc::now();
    let (sink, lines) = LogSink::memory();
    let clear = |i: usize| {
        if i.is_multiple_of(4096)
            && let Ok(mut lines) = lines.lock()
        {
            lines.clear();
        }
    };
    let audit = AuditLog::new(sink.clone(), "get-token");
    let audit_line_build = each_call(iterations, |i| {
        clear(i);
        audit.emit(
            "6f1d2c3b-0000-4000-8000-000000000000",
            now,
            AuditEvent::TokenServed {
                token_id: envelope.token_id.clone(),
                caller: Some("sms-sender".to_owned()),
                source: TokenSource::Memory,
                expires_in: 3599,
            },
        );
    })?;
    let metrics = Metrics::new(sink, "get-token");
    let emf_line_build = each_call(iterations, |i| {
        clear(i);
        if let Some(record) = metrics.token_served_record(now, TokenSource::Memory, 3599) {
            metrics.sink().write_line(&record);
        }
    })?;
    let line = format!("{{\"padding\":\"{}\"}}", "x".repeat(284));
    let stdout = LogSink::Stdout;
    let stdout_write = each_call(iterations, |_| stdout.write_line(&line))?;
    let token_id = envelope.token_id.clone();
    let tracing_event = each_call(iterations, |_| {
        tracing::info!(token_id = %token_id, source = ?TokenSource::Memory, expires_in = 3599, "token served");
    })?;
    Ok(Breakdown {
        audit_line_build,
        emf_line_build,
        stdout_write,
        tracing_event,
    })
}
