//! Storms: whatever callers do, Orange's token endpoint sees at most one forced token
//! request per minimum interval (60 s by default), on top of the scheduled renewals.
//!
//! 20 get-token instances (each its own memory) share the store and the refresh
//! function (run in-process, throttled beyond one at a time as the deployed function's
//! reserved concurrency of 1 does). 1,000 callers behave as the caller libraries do:
//! get a token, send the SMS, and when Orange's answer is an authentication failure,
//! ask get-token to `refresh` the rejected token and try once more. Orange's SMS API
//! rejects every request for 10 simulated minutes; the token endpoint itself works.
//!
//! Its own test binary, on the service tests' harness (`tests/tests/service/harness.rs`,
//! moto's server and the mock endpoint), with tracing kept from INFO: its tens of
//! thousands of invocations would write gigabytes of the AWS SDKs' TRACE lines, which
//! the service tests already scan.

#[path = "../service/harness/mod.rs"]
#[allow(dead_code)]
mod harness;

/// Where this binary's tracing is kept, and from which level.
const TRACING: (&str, tracing::Level) = ("storm-tracing.log", tracing::Level::INFO);

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::json;
use tokio::task::JoinSet;

use get_token::handler::GetTokenResponse;
use orange_token::caller::is_auth_failure;
use orange_token::clock::{Clock, ManualClock};

use harness::{
    GetTokenHarness, GetTokenOptions, GetTokenTestState, RefreshOptions, invoke_get_token,
};

const INSTANCES: usize = 20;
const CALLERS: usize = 1_000;
/// Every caller sends one SMS every 30 simulated seconds for 10 minutes.
const ROUNDS: i64 = 20;
const ROUND_SECONDS: i64 = 30;
const BUFFER_SECONDS: i64 = 300;

/// How one caller's SMS ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// get-token answered this function error (callers answer 503 for it).
    Unavailable(String),
    /// Orange refused the request with a renewed token too (after the one retry).
    RejectedAfterRetry,
    /// Orange's refusal is not an authentication failure: no renewal asked for.
    RefusedWithoutRenewal,
}

/// Orange's answer to every SMS request of the storm.
#[derive(Clone, Copy)]
struct OrangeAnswer {
    status: u16,
    body: &'static str,
}

async fn token_or_error(
    instance: &GetTokenTestState,
    event: serde_json::Value,
) -> Result<orange_token::protocol::TokenResponse, String> {
    match invoke_get_token(instance, event).await {
        Ok(GetTokenResponse::Token(token)) => Ok(token),
        Ok(other) => panic!("expected a token, got {other:?}"),
        Err(error) => Err(error.error_type().to_owned()),
    }
}

/// One SMS, as a caller library sends it.
async fn send_sms(instance: &GetTokenTestState, caller: &str, orange: OrangeAnswer) -> Outcome {
    let token = match token_or_error(instance, json!({"caller": caller})).await {
        Ok(token) => token,
        Err(error_type) => return Outcome::Unavailable(error_type),
    };
    assert!(
        token.expires_in > BUFFER_SECONDS,
        "a token with {} s left was served",
        token.expires_in
    );
    if !is_auth_failure(orange.status, orange.body.as_bytes()) {
        return Outcome::RefusedWithoutRenewal;
    }
    let event = json!({"action": "refresh", "rejected_token_id": token.token_id, "caller": caller});
    match token_or_error(instance, event).await {
        Ok(renewed) => {
            assert_ne!(
                renewed.token_id, token.token_id,
                "the rejected token was served again as good"
            );
            assert!(renewed.expires_in > BUFFER_SECONDS);
            // The one retry: Orange rejects the renewed token too.
            Outcome::RejectedAfterRetry
        }
        Err(error_type) => Outcome::Unavailable(error_type),
    }
}

struct Storm {
    harness: GetTokenHarness,
    clock: ManualClock,
    outcomes: Vec<Outcome>,
}

/// Runs the storm: a scheduled run first (the stored token), then every round of
/// 1,000 concurrent SMS, with the schedule's own runs every 4 minutes.
async fn storm(orange: OrangeAnswer) -> Storm {
    // After any time the emulator stamps on a secret created now (see day.rs).
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2100, 11, 26, 22, 0, 0).unwrap());
    let harness = GetTokenHarness::with(GetTokenOptions {
        refresh: RefreshOptions {
            clock: Some(clock.clone()),
            ..RefreshOptions::default()
        },
        ..GetTokenOptions::default()
    })
    .await;
    harness.refresh.scheduled().await.expect("the first token");
    let instances: Vec<Arc<GetTokenTestState>> = std::iter::once(Arc::clone(&harness.state))
        .chain((1..INSTANCES).map(|_| harness.another_instance()))
        .collect();
    let mut outcomes = Vec::new();
    for round in 0..ROUNDS {
        if round > 0 {
            clock.advance(chrono::Duration::seconds(ROUND_SECONDS));
        }
        if (round * ROUND_SECONDS) % 240 == 0 && round > 0 {
            harness.refresh.scheduled().await.expect("a scheduled run");
        }
        let mut sms = JoinSet::new();
        for caller in 0..CALLERS {
            let instance = Arc::clone(&instances[caller % INSTANCES]);
            sms.spawn(
                async move { send_sms(&instance, &format!("sms-sender-{caller}"), orange).await },
            );
        }
        outcomes.extend(sms.join_all().await);
    }
    Storm {
        harness,
        clock,
        outcomes,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_401_costs_one_token_request_per_interval_whatever_the_callers_do() {
    let Storm {
        harness,
        clock,
        outcomes,
    } = storm(OrangeAnswer {
        status: 401,
        body: r#"{"code": 42, "message": "Expired credentials"}"#,
    })
    .await;

    // The first token, then at most one forced renewal per 60-second interval.
    let requests = harness.token_requests();
    let minutes = (clock.now() - Utc.with_ymd_and_hms(2100, 11, 26, 22, 0, 0).unwrap())
        .num_minutes() as usize;
    println!("storm (401): {requests} token requests in {minutes} simulated minutes");
    assert!(requests <= 11, "{requests} token requests");
    assert!(requests >= 2, "the rejected token was never replaced");
    assert_eq!(outcomes.len(), CALLERS * ROUNDS as usize);
    // Every caller ends in a refusal or a 503-class answer, never in a success.
    for outcome in &outcomes {
        match outcome {
            Outcome::Unavailable(error_type) => assert_eq!(error_type, "TokenUnavailable"),
            Outcome::RejectedAfterRetry => {}
            Outcome::RefusedWithoutRenewal => panic!("a 401 is an authentication failure"),
        }
    }
    let unavailable = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Unavailable(_)))
        .count();
    println!(
        "storm (401): {unavailable} of {} SMS answered 503",
        outcomes.len()
    );
    assert!(unavailable > 0);
    let rate_limited = harness
        .audit_events_named("TOKEN_REFRESH_REQUESTED")
        .iter()
        .filter(|event| event["outcome"] == "rate_limited")
        .count();
    assert!(rate_limited > 0, "no refresh was refused as recent");
    harness.assert_no_token_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_refusal_costs_no_forced_renewal() {
    let Storm {
        harness, outcomes, ..
    } = storm(OrangeAnswer {
        status: 403,
        body: r#"{"requestError": {"policyException": {"messageId": "POL0001", "text": "A policy error occurred."}}}"#,
    })
    .await;

    assert_eq!(harness.token_requests(), 1, "only the first token");
    assert!(
        harness
            .refresh_payloads()
            .iter()
            .all(|payload| payload["force"] != true),
        "no forced renewal"
    );
    assert!(
        outcomes
            .iter()
            .all(|outcome| *outcome == Outcome::RefusedWithoutRenewal)
    );
}
