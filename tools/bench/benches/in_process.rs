//! The in-process benchmarks, run by `cargo bench -p bench` (`scripts/bench.sh`): criterion
//! for the distributions of the get-token warm hit, the caller library's cached hit, the
//! parsers and the warm hit's log lines; and, before criterion, the warm hit one sample per
//! invocation, whose p99 is a target (criterion reports means of batches, not a tail).
//!
//! The functions' log lines go to standard output, as in Lambda: run it with standard
//! output on `/dev/null` (the judged figures) or on a pipe that another process drains.
//!
//! Environment: `BENCH_TAIL_OUT` (where the per-invocation tail is written, JSON),
//! `BENCH_ONLY=tail` (the tail alone), `BENCH_QUICK=1` (a tenth of the tail's samples).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

use aws_sdk_lambda::Client;
use aws_smithy_mocks::mock;
use chrono::Utc;
use criterion::Criterion;
use lambda_runtime::{Context as LambdaContext, LambdaEvent};
use serde_json::Value;

use bench::in_process::{self as ids, GET_EVENT, SAMPLE_ACCESS_TOKEN, WarmHitTail};
use bench::stats::Summary;
use get_token::handler::{GetTokenResponse, GetTokenState, handle};
use get_token::test_support::CountingRefreshFunction;
use orange_token::audit::{AuditEvent, AuditLog, TokenSource};
use orange_token::caller::TokenClient;
use orange_token::clock::SystemClock;
use orange_token::config::GetTokenConfig;
use orange_token::endpoint::classify;
use orange_token::envelope::{TokenEnvelope, rfc3339};
use orange_token::log_sink::LogSink;
use orange_token::metrics::Metrics;
use orange_token::protocol::TokenResponse;
use orange_token::secret::AccessToken;
use orange_token::test_support::lambda::{http_answer, mock_lambda};
use orange_token::test_support::store::{MEMORY_PARAMETER_NAME, MemoryStore};

type State = GetTokenState<MemoryStore, CountingRefreshFunction>;

fn main() {
    if let Err(error) = run() {
        eprintln!("bench: {error}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    // The functions' log format in Lambda (the template sets it), before any thread starts.
    // SAFETY: single-threaded here; nothing reads the environment concurrently.
    unsafe { std::env::set_var("AWS_LAMBDA_LOG_FORMAT", "JSON") };
    orange_token::runtime::init_tracing();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let _entered = runtime.enter();

    let quick = std::env::var("BENCH_QUICK").as_deref() == Ok("1");
    let tail = warm_hit_tail(&runtime, if quick { 20_000 } else { 200_000 })?;
    eprintln!(
        "bench: get-token warm hit per invocation (stdout: {}): p50 {:.0} ns, p99 {:.0} ns",
        tail.stdout, tail.summary.p50_ns, tail.summary.p99_ns
    );
    if let Ok(path) = std::env::var("BENCH_TAIL_OUT") {
        let json = serde_json::to_string_pretty(&tail).map_err(|e| e.to_string())?;
        std::fs::write(&path, json).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("tail") {
        return Ok(());
    }

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group(ids::GROUP);

    let (state, context) = warm_state(&runtime)?;
    group.bench_function(ids::WARM_HIT, |b| {
        b.iter(|| black_box(invoke(&state, &context)))
    });

    let envelope = fresh_envelope();
    let audit = AuditLog::new(LogSink::Stdout, "get-token");
    let served = || AuditEvent::TokenServed {
        token_id: envelope.token_id.clone(),
        caller: Some("sms-sender".to_owned()),
        source: TokenSource::Memory,
        expires_in: 3599,
    };
    let now = Utc::now();
    group.bench_function(ids::AUDIT_LINE, |b| {
        b.iter(|| black_box(audit.line(&context.request_id, now, &served())))
    });
    let metrics = Metrics::new(LogSink::Stdout, "get-token");
    group.bench_function(ids::EMF_LINE, |b| {
        b.iter(|| black_box(metrics.token_served_record(now, TokenSource::Memory, 3599)))
    });
    let line = format!("{{\"padding\":\"{}\"}}", "x".repeat(284));
    group.bench_function(ids::STDOUT_LINE, |b| {
        b.iter(|| LogSink::Stdout.write_line(black_box(&line)))
    });

    let client = cached_caller(&runtime)?;
    group.bench_function(ids::CALLER_HIT, |b| {
        b.iter(|| black_box(ready(black_box(&client).access_token())))
    });

    let answer = token_answer();
    group.bench_function(ids::PARSE_ANSWER, |b| {
        b.iter(|| black_box(classify(200, None, Some(black_box(answer.as_bytes())))))
    });
    let stored = envelope.to_json();
    group.bench_function(ids::PARSE_ENVELOPE, |b| {
        b.iter(|| black_box(TokenEnvelope::from_json(black_box(stored.as_str()))))
    });

    group.finish();
    criterion.final_summary();
    Ok(())
}

/// A token issued now, living an hour.
fn fresh_envelope() -> TokenEnvelope {
    TokenEnvelope::issue(
        AccessToken::new(SAMPLE_ACCESS_TOKEN),
        "Bearer",
        None,
        Utc::now(),
        Duration::from_secs(3600),
    )
}

/// A typical answer of Orange's token endpoint.
fn token_answer() -> String {
    format!(
        r#"{{"token_type": "Bearer", "access_token": "{SAMPLE_ACCESS_TOKEN}", "expires_in": 3600}}"#
    )
}

/// Polls a future once: the measured paths never wait (a memory hit takes no lock that
/// can be held and does no I/O), so no executor's cost is measured.
fn ready<F: Future>(future: F) -> Result<F::Output, String> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut TaskContext::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err("the measured path waited: it is not a memory hit".to_owned()),
    }
}

/// One invocation as the runtime runs it: the event's bytes into JSON, the context, the
/// handler, the answer into bytes.
fn invoke(state: &State, context: &LambdaContext) -> Result<Vec<u8>, String> {
    let payload: Value = serde_json::from_slice(GET_EVENT).map_err(|e| e.to_string())?;
    let event = LambdaEvent::new(payload, context.clone());
    match ready(handle(state, event))? {
        Ok(response @ GetTokenResponse::Token(_)) => {
            serde_json::to_vec(&response).map_err(|e| e.to_string())
        }
        Ok(_) => Err("get-token did not answer a token".to_owned()),
        Err(error) => Err(format!("get-token failed: {error}")),
    }
}

/// A get-token instance as deployed (log lines to standard output) whose memory holds the
/// token: its first get read the store.
fn warm_state(runtime: &tokio::runtime::Runtime) -> Result<(State, LambdaContext), String> {
    let config = GetTokenConfig {
        parameter_name: MEMORY_PARAMETER_NAME.to_owned(),
        expiry_buffer: Duration::from_secs(300),
        cache_enabled: true,
        refresh_function_name: "refresh".to_owned(),
    };
    let state = GetTokenState::new(
        config,
        MemoryStore::new(Some(fresh_envelope())),
        CountingRefreshFunction::default(),
        AuditLog::new(LogSink::Stdout, "get-token"),
        Metrics::new(LogSink::Stdout, "get-token"),
        Arc::new(SystemClock),
    );
    let mut context = LambdaContext::default();
    context.request_id = "6f1d2c3b-0000-4000-8000-000000000000".to_owned();
    context.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:get-token".to_owned();
    let payload = serde_json::from_slice(GET_EVENT).map_err(|e| e.to_string())?;
    runtime
        .block_on(handle(&state, LambdaEvent::new(payload, context.clone())))
        .map_err(|error| format!("the first get failed: {error}"))?;
    invoke(&state, &context)?;
    Ok((state, context))
}

/// `invocations` warm hits, each timed alone (an `Instant` pair costs ~25 ns).
fn warm_hit_tail(
    runtime: &tokio::runtime::Runtime,
    invocations: usize,
) -> Result<WarmHitTail, String> {
    let (state, context) = warm_state(runtime)?;
    let warmup = invocations / 20;
    let mut samples = Vec::with_capacity(invocations);
    for i in 0..warmup + invocations {
        let started = Instant::now();
        let answer = invoke(&state, &context)?;
        let elapsed = started.elapsed();
        black_box(answer);
        if i >= warmup {
            samples.push(elapsed.as_nanos() as f64);
        }
    }
    Ok(WarmHitTail {
        summary: Summary::of(&mut samples).ok_or("no samples")?,
        stdout: bench::in_process::stdout_kind(),
        store_reads: state.store.loads(),
        refresh_invokes: state.refresh_function.invokes(),
    })
}

/// A caller library client whose cache holds a fresh token: one invoke answered by a
/// mocked Lambda client fills it.
fn cached_caller(runtime: &tokio::runtime::Runtime) -> Result<TokenClient, String> {
    let envelope = fresh_envelope();
    let body = serde_json::to_string(&TokenResponse {
        access_token: SAMPLE_ACCESS_TOKEN.to_owned(),
        token_type: envelope.token_type.clone(),
        expires_at: rfc3339(envelope.expires_at),
        expires_in: envelope.expires_in(Utc::now()),
        token_id: envelope.token_id.clone(),
    })
    .map_err(|e| e.to_string())?;
    let rule = mock!(Client::invoke).then_http_response(move || http_answer(200, &[], &body));
    let client = TokenClient::builder(mock_lambda(&[&rule]), "get-token")
        .caller("sms-sender")
        .build()
        .map_err(|e| e.to_string())?;
    let first = runtime
        .block_on(client.access_token())
        .map_err(|e| format!("the priming invoke failed: {e}"))?;
    if first.expose() != SAMPLE_ACCESS_TOKEN {
        return Err("the priming invoke answered another token".to_owned());
    }
    ready(client.access_token())?.map_err(|e| format!("the cached hit failed: {e}"))?;
    Ok(client)
}
