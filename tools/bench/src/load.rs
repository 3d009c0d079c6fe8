//! Load, simulated in-process: many concurrent `get`s through one get-token instance,
//! and through 100 instances (100 separate handler states, each with its own memory),
//! against a real SSM store on the local AWS emulator. Counts the store reads and the
//! refresh invokes (each would be a token request), and times every `get`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lambda_runtime::{Context as LambdaContext, LambdaEvent};
use serde::{Deserialize, Serialize};
use tokio::sync::Barrier;

use get_token::handler::{GetTokenResponse, GetTokenState, handle};
use orange_token::audit::AuditLog;
use orange_token::clock::SystemClock;
use orange_token::config::GetTokenConfig;
use orange_token::log_sink::LogSink;
use orange_token::metrics::Metrics;
use orange_token::store::SsmTokenStore;

use crate::micro::GET_EVENT;
use crate::stats::Summary;
use get_token::test_support::CountingRefreshFunction;
use orange_token::test_support::store::CountingStore;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    pub instances: usize,
    pub gets: usize,
    pub served: usize,
    pub store_reads: usize,
    pub refresh_invokes: usize,
    pub latency: Summary,
    pub wall_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadResults {
    pub one_instance: Scenario,
    pub many_instances: Scenario,
}

type State = GetTokenState<CountingStore<SsmTokenStore>, CountingRefreshFunction>;

/// `gets` concurrent gets spread evenly over `instances` fresh instances, all started
/// at once.
pub async fn scenario(
    ssm: &aws_sdk_ssm::Client,
    parameter_name: &str,
    instances: usize,
    gets: usize,
) -> Result<Scenario, String> {
    let reads = Arc::new(AtomicUsize::new(0));
    let invokes = Arc::new(AtomicUsize::new(0));
    let states: Vec<Arc<State>> = (0..instances)
        .map(|_| {
            let config = GetTokenConfig {
                parameter_name: parameter_name.to_owned(),
                expiry_buffer: Duration::from_secs(300),
                cache_enabled: true,
                refresh_function_name: "refresh".to_owned(),
            };
            Arc::new(GetTokenState::new(
                config,
                CountingStore::sharing(
                    SsmTokenStore::reader(ssm.clone(), parameter_name),
                    reads.clone(),
                ),
                CountingRefreshFunction::sharing(invokes.clone()),
                AuditLog::new(LogSink::Stdout, "get-token"),
                Metrics::new(LogSink::Stdout, "get-token"),
                Arc::new(SystemClock),
            ))
        })
        .collect();
    let barrier = Arc::new(Barrier::new(gets));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..gets {
        let state = states[i % instances].clone();
        let barrier = barrier.clone();
        tasks.spawn(async move {
            barrier.wait().await;
            let started = Instant::now();
            let payload = serde_json::from_slice(GET_EVENT).map_err(|e| e.to_string())?;
            let mut context = LambdaContext::default();
            context.request_id = format!("load-{i}");
            let answer = handle(&state, LambdaEvent::new(payload, context)).await;
            let elapsed = started.elapsed();
            match answer {
                Ok(GetTokenResponse::Token(_)) => Ok((started, elapsed)),
                Ok(_) => Err("not a token".to_owned()),
                Err(error) => Err(format!("get failed: {error}")),
            }
        });
    }
    let mut latencies = Vec::with_capacity(gets);
    let mut first_start: Option<Instant> = None;
    let mut last_end: Option<Instant> = None;
    while let Some(joined) = tasks.join_next().await {
        let (started, elapsed) = joined.map_err(|e| e.to_string())??;
        first_start = Some(first_start.map_or(started, |t| t.min(started)));
        last_end = Some(last_end.map_or(started + elapsed, |t| t.max(started + elapsed)));
        latencies.push(elapsed);
    }
    let wall = match (first_start, last_end) {
        (Some(start), Some(end)) => end - start,
        _ => Duration::ZERO,
    };
    Ok(Scenario {
        instances,
        gets,
        served: latencies.len(),
        store_reads: reads.load(Ordering::SeqCst),
        refresh_invokes: invokes.load(Ordering::SeqCst),
        latency: Summary::of_durations(&latencies).ok_or("no gets")?,
        wall_ms: wall.as_secs_f64() * 1000.0,
    })
}

/// Both scenarios: 1,000 gets through one instance; 1,000 gets through 100 instances.
pub async fn run(ssm: &aws_sdk_ssm::Client, parameter_name: &str) -> Result<LoadResults, String> {
    eprintln!("bench: load, 1,000 concurrent gets through one instance");
    let one_instance = scenario(ssm, parameter_name, 1, 1_000).await?;
    eprintln!("bench: load, 1,000 concurrent gets through 100 instances");
    let many_instances = scenario(ssm, parameter_name, 100, 1_000).await?;
    Ok(LoadResults {
        one_instance,
        many_instances,
    })
}
