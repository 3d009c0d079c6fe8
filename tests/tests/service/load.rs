//! Load, in-process: many concurrent `get`s through one get-token instance, and
//! through 100 instances. The counts are the contract: a warm token is never renewed by
//! get-token (zero token requests) and each instance reads the store once, however many
//! `get`s arrive together. `scripts/bench.sh` runs these tests and its report
//! (`docs/performance.md`) shows the counts; no timing is asserted here.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use get_token::handler::{GetTokenResponse, GetTokenState, handle};
use get_token::test_support::CountingRefreshFunction;
use orange_token::audit::AuditLog;
use orange_token::clock::SystemClock;
use orange_token::config::GetTokenConfig;
use orange_token::envelope::TokenEnvelope;
use orange_token::log_sink::LogSink;
use orange_token::metrics::Metrics;
use orange_token::secret::AccessToken;
use orange_token::test_support::store::{CountingStore, MEMORY_PARAMETER_NAME, MemoryStore};

struct Outcome {
    served: usize,
    token_ids: Vec<String>,
    store_reads: usize,
    token_requests: usize,
}

/// `gets` concurrent gets over `instances` fresh instances (round robin), all released at
/// once by a barrier.
async fn concurrent_gets(instances: usize, gets: usize) -> Outcome {
    let envelope = TokenEnvelope::issue(
        AccessToken::new("load-test-token-0123456789abcdef"),
        "Bearer",
        None,
        Utc::now(),
        Duration::from_secs(3600),
    );
    let reads = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let states: Vec<_> = (0..instances)
        .map(|_| {
            let config = GetTokenConfig {
                parameter_name: MEMORY_PARAMETER_NAME.to_owned(),
                expiry_buffer: Duration::from_secs(300),
                cache_enabled: true,
                refresh_function_name: "refresh".to_owned(),
            };
            // Memory sinks, dropped with the state: the lines are not what is tested here.
            let (sink, _lines) = LogSink::memory();
            Arc::new(GetTokenState::new(
                config,
                // Each read takes an SSM round trip, so that concurrent gets really
                // overlap the first read.
                CountingStore::sharing(
                    MemoryStore::new(Some(envelope.clone()))
                        .with_read_latency(Duration::from_millis(20)),
                    reads.clone(),
                ),
                CountingRefreshFunction::sharing(requests.clone()),
                AuditLog::new(sink.clone(), "get-token"),
                Metrics::new(sink, "get-token"),
                Arc::new(SystemClock),
            ))
        })
        .collect();
    let barrier = Arc::new(Barrier::new(gets));
    let mut tasks = JoinSet::new();
    for i in 0..gets {
        let state = states[i % instances].clone();
        let barrier = barrier.clone();
        tasks.spawn(async move {
            barrier.wait().await;
            let mut context = Context::default();
            context.request_id = format!("load-{i}");
            let event = json!({"action": "get", "min_ttl_seconds": 300, "caller": "load"});
            handle(&state, LambdaEvent::new(event, context)).await
        });
    }
    let mut token_ids = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("the get task ran") {
            Ok(GetTokenResponse::Token(token)) => token_ids.push(token.token_id),
            Ok(other) => panic!("a get answered {other:?}"),
            Err(error) => panic!("a get failed: {error}"),
        }
    }
    Outcome {
        served: token_ids.len(),
        token_ids,
        store_reads: reads.load(Ordering::SeqCst),
        token_requests: requests.load(Ordering::SeqCst),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_gets_through_one_instance_read_the_store_once() {
    let outcome = concurrent_gets(1, 1_000).await;

    assert_eq!(outcome.served, 1_000);
    assert_eq!(outcome.token_requests, 0, "get-token asked for no token");
    assert_eq!(outcome.store_reads, 1, "one SSM read for the instance");
    assert!(outcome.token_ids.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_gets_through_100_instances_read_the_store_once_per_instance() {
    let outcome = concurrent_gets(100, 1_000).await;

    assert_eq!(outcome.served, 1_000);
    assert_eq!(outcome.token_requests, 0, "get-token asked for no token");
    assert_eq!(outcome.store_reads, 100, "one SSM read per instance");
}
