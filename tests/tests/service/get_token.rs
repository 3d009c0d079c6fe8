//! The serving path: a Lambda invokes get-token → memory or SSM → (when needed) the
//! refresh function, run in-process on the emulator and the mock token endpoint.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use mock_orange::Fault;
use orange_token::clock::ManualClock;
use orange_token::envelope::token_id;
use orange_token::error::ServiceError;
use orange_token::protocol::TokenResponse;

use crate::harness::{
    GetTokenHarness, GetTokenOptions, RefreshOptions, RefreshScript, invoke_get_token,
};

fn error_of<T: std::fmt::Debug>(result: Result<T, ServiceError>) -> ServiceError {
    match result {
        Ok(value) => panic!("expected a failure, got {value:?}"),
        Err(error) => error,
    }
}

fn manual_clock() -> ManualClock {
    // The simulated clock runs after any time the emulator stamps on a secret created
    // now: refresh sees credentials changed only where a test changes them.
    ManualClock::new(Utc.with_ymd_and_hms(2100, 11, 26, 22, 0, 0).unwrap())
}

fn with_clock(clock: &ManualClock) -> GetTokenOptions {
    GetTokenOptions {
        refresh: RefreshOptions {
            clock: Some(clock.clone()),
            ..RefreshOptions::default()
        },
        ..GetTokenOptions::default()
    }
}

/// The `source` of the last `TOKEN_SERVED` event.
fn last_source(harness: &GetTokenHarness) -> String {
    harness
        .audit_events_named("TOKEN_SERVED")
        .last()
        .expect("a TOKEN_SERVED event")["source"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_cold_get_with_nothing_stored_invokes_refresh_once_and_serves_its_token() {
    let harness = GetTokenHarness::start().await;

    let token = harness
        .token(json!({"caller": "sms-sender"}))
        .await
        .expect("a token is served");

    assert_eq!(harness.refresh_invocations(), 1);
    assert_eq!(
        harness.refresh_payloads(),
        [json!({"min_ttl_seconds": 300})]
    );
    let issued = harness.refresh.mock.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(token.access_token, issued[0]);
    assert_eq!(token.token_id, token_id(&issued[0]));
    assert_eq!(token.token_type, "Bearer");
    assert!((3590..=3600).contains(&token.expires_in), "{token:?}");
    let stored = harness.refresh.stored_envelope().await.unwrap();
    assert_eq!(stored["expires_at"], token.expires_at.as_str());
    // One read finding nothing, one after the renewal.
    assert_eq!(harness.store_loads(), 2);

    let served = harness.audit_events_named("TOKEN_SERVED");
    assert_eq!(served.len(), 1);
    assert_eq!(served[0]["audit"], true);
    assert_eq!(served[0]["function_name"], "get-token");
    assert_eq!(served[0]["token_id"], token.token_id.as_str());
    assert_eq!(served[0]["caller"], "sms-sender");
    assert_eq!(served[0]["source"], "store");
    assert_eq!(served[0]["expires_in"], token.expires_in);
    let metrics = harness.metric_records();
    assert_eq!(metrics[0]["TokenServed"], 1);
    assert_eq!(metrics[0]["Source"], "store");
    harness.assert_no_token_logged();
}

#[tokio::test]
async fn a_warm_get_is_served_from_memory_without_any_aws_call() {
    let harness = GetTokenHarness::start().await;
    let first = harness.token(json!({})).await.unwrap();
    let (loads, invocations) = (harness.store_loads(), harness.refresh_invocations());

    for _ in 0..3 {
        let again = harness.token(json!({"action": "get"})).await.unwrap();
        assert_eq!(again.access_token, first.access_token);
        assert_eq!(last_source(&harness), "memory");
    }

    assert_eq!(harness.store_loads(), loads, "no SSM read");
    assert_eq!(
        harness.refresh_invocations(),
        invocations,
        "no refresh invoke"
    );
    assert_eq!(harness.token_requests(), 1);
    harness.assert_no_token_logged();
}

#[tokio::test]
async fn a_warm_instance_keeps_its_token_until_the_buffer_then_reads_the_newer_stored_one() {
    let clock = manual_clock();
    let harness = GetTokenHarness::with(with_clock(&clock)).await;
    let first = harness.token(json!({})).await.unwrap(); // expires 23:00
    clock.advance(chrono::Duration::minutes(30));
    let newer = harness
        .refresh
        .invoke(json!({"force": true}))
        .await
        .unwrap(); // expires 23:30
    let loads = harness.store_loads();

    // 30 minutes left in memory: still served, even though a newer token is stored.
    let warm = harness.token(json!({})).await.unwrap();
    assert_eq!(warm.token_id, first.token_id);
    assert_eq!(last_source(&harness), "memory");
    assert_eq!(harness.store_loads(), loads);

    // 4 minutes left: inside the 5-minute buffer, so the store is read again.
    clock.advance(chrono::Duration::minutes(26));
    let fresh = harness.token(json!({})).await.unwrap();
    assert_eq!(fresh.token_id, newer.token_id);
    assert_eq!(fresh.expires_at, "2100-11-26T23:30:00Z");
    assert_eq!(fresh.expires_in, 34 * 60);
    assert_eq!(last_source(&harness), "store");
    assert_eq!(harness.store_loads(), loads + 1);
    assert_eq!(
        harness.refresh_invocations(),
        1,
        "the stored token was fresh"
    );
}

#[tokio::test]
async fn a_min_ttl_above_what_is_stored_renews_with_that_min_ttl() {
    let clock = manual_clock();
    let harness = GetTokenHarness::with(with_clock(&clock)).await;
    let first = harness.token(json!({})).await.unwrap();
    clock.advance(chrono::Duration::minutes(40)); // 20 minutes left

    let default = harness.token(json!({})).await.unwrap();
    assert_eq!(default.token_id, first.token_id);
    assert_eq!(last_source(&harness), "memory");

    let long = harness
        .token(json!({"min_ttl_seconds": 1800}))
        .await
        .unwrap();
    assert_ne!(long.token_id, first.token_id);
    assert!(long.expires_in >= 1800);
    assert_eq!(
        harness.refresh_payloads(),
        [
            json!({"min_ttl_seconds": 300}),
            json!({"min_ttl_seconds": 1800})
        ]
    );
    assert_eq!(harness.token_requests(), 2);
}

#[tokio::test]
async fn a_stored_token_inside_the_buffer_is_renewed_before_it_is_served() {
    let clock = manual_clock();
    let harness = GetTokenHarness::with(with_clock(&clock)).await;
    let first = harness.token(json!({})).await.unwrap();
    clock.advance(chrono::Duration::minutes(56)); // 4 minutes left

    let renewed = harness.token(json!({})).await.unwrap();

    assert_ne!(renewed.token_id, first.token_id);
    assert_eq!(renewed.expires_at, "2100-11-26T23:56:00Z");
    assert_eq!(harness.refresh_invocations(), 2);
    assert_eq!(harness.token_requests(), 2);
}

#[tokio::test]
async fn with_the_cache_disabled_every_get_reads_the_store() {
    let harness = GetTokenHarness::with(GetTokenOptions {
        cache_enabled: false,
        ..GetTokenOptions::default()
    })
    .await;
    let first = harness.token(json!({})).await.unwrap();
    // A read finding nothing, the same read again under the renewal lock (another
    // invocation may have renewed meanwhile), and one after the renewal.
    assert_eq!(harness.store_loads(), 3);

    for round in 1..=3 {
        let again = harness.token(json!({})).await.unwrap();
        assert_eq!(again.token_id, first.token_id);
        assert_eq!(last_source(&harness), "store");
        assert_eq!(harness.store_loads(), 3 + round);
    }
    assert_eq!(harness.refresh_invocations(), 1);
}

#[tokio::test]
async fn an_unparseable_stored_envelope_is_renewed() {
    let harness = GetTokenHarness::start().await;
    harness
        .refresh
        .put_raw("{\"version\":1,\"access_token\":")
        .await;

    let token = harness.token(json!({})).await.unwrap();

    assert_eq!(harness.refresh_invocations(), 1);
    assert_eq!(token.access_token, harness.refresh.mock.issued_tokens()[0]);
}

#[tokio::test]
async fn a_throttled_refresh_is_followed_by_rereads_that_find_the_token_stored_meanwhile() {
    let harness = GetTokenHarness::start().await;
    harness.script_refresh(RefreshScript::ThrottledWhileAScheduledRunStores);

    let token = harness
        .token(json!({}))
        .await
        .expect("served after waiting");

    assert_eq!(
        harness.refresh_invocations(),
        1,
        "the throttled invoke is not repeated"
    );
    assert_eq!(harness.token_requests(), 1, "the scheduled run's token");
    assert_eq!(token.access_token, harness.refresh.mock.issued_tokens()[0]);
    assert_eq!(harness.store_loads(), 2, "the first read, then one re-read");
    assert!(harness.audit_events_named("TOKEN_UNAVAILABLE").is_empty());
}

#[tokio::test]
async fn a_throttled_refresh_with_no_token_appearing_is_token_unavailable() {
    let harness = GetTokenHarness::start().await;
    harness.script_every_refresh(Some(RefreshScript::Throttled));

    let error = error_of(harness.token(json!({"caller": "sms-sender"})).await);

    assert_eq!(error.error_type(), "TokenUnavailable");
    assert!(error.to_string().contains("throttled"), "{error}");
    assert_eq!(harness.refresh_invocations(), 1);
    assert_eq!(
        harness.store_loads(),
        1 + 5,
        "the first read and 5 re-reads"
    );
    let unavailable = harness.audit_events_named("TOKEN_UNAVAILABLE");
    assert_eq!(unavailable.len(), 1);
    assert_eq!(unavailable[0]["caller"], "sms-sender");
    assert!(
        unavailable[0]["reason"]
            .as_str()
            .unwrap()
            .contains("throttled")
    );
    assert!(
        harness
            .metric_records()
            .iter()
            .any(|record| record["TokenUnavailable"] == 1)
    );
}

#[tokio::test]
async fn a_failed_renewal_is_token_unavailable_naming_the_refresh_error_type() {
    let clock = manual_clock();
    let harness = GetTokenHarness::with(with_clock(&clock)).await;
    // After a failed token request, refresh sends no other for the minimum interval.
    let interval = chrono::Duration::seconds(60);
    harness
        .refresh
        .mock
        .set_sticky_fault(Some(Fault::Status { status: 503 }));

    let error = error_of(harness.token(json!({})).await);

    assert_eq!(error.error_type(), "TokenUnavailable");
    assert!(error.to_string().contains("UpstreamUnavailable"), "{error}");
    assert_eq!(harness.refresh_invocations(), 1, "never invoked twice");
    let reason = harness.audit_events_named("TOKEN_UNAVAILABLE")[0]["reason"].clone();
    assert!(reason.as_str().unwrap().contains("UpstreamUnavailable"));

    // The same for rejected credentials, and for a function error of any shape.
    clock.advance(interval);
    harness
        .refresh
        .mock
        .set_sticky_fault(Some(Fault::InvalidClient));
    let error = error_of(harness.token(json!({})).await);
    assert!(error.to_string().contains("CredentialsRejected"), "{error}");
    // Inside the interval after that failure: refused without a token request.
    let requests = harness.token_requests();
    let error = error_of(harness.token(json!({})).await);
    assert_eq!(error.error_type(), "TokenUnavailable");
    assert_eq!(harness.token_requests(), requests);
    clock.advance(interval);
    harness.refresh.mock.set_sticky_fault(None);
    harness.script_refresh(RefreshScript::FunctionError {
        error_type: "Sandbox.Timedout".into(),
        error_message: "Task timed out after 30.00 seconds".into(),
    });
    let error = error_of(harness.token(json!({})).await);
    assert_eq!(error.error_type(), "TokenUnavailable");
    assert!(error.to_string().contains("Sandbox.Timedout"), "{error}");

    // Once the endpoint recovers, the next get renews and serves.
    let token = harness.token(json!({})).await.unwrap();
    assert_eq!(harness.refresh_invocations(), 5);
    assert_eq!(
        token.access_token,
        *harness.refresh.mock.issued_tokens().last().unwrap()
    );
    harness.assert_no_token_logged();
}

#[tokio::test]
async fn refresh_naming_an_old_token_answers_the_stored_one_without_renewing() {
    let clock = manual_clock();
    let harness = GetTokenHarness::with(with_clock(&clock)).await;
    let old = harness.token(json!({})).await.unwrap();
    clock.advance(chrono::Duration::seconds(60));
    let newer = harness
        .refresh
        .invoke(json!({"force": true}))
        .await
        .unwrap();
    let requests = harness.token_requests();

    let answer = harness
        .token(
            json!({"action": "refresh", "rejected_token_id": old.token_id, "caller": "sms-sender"}),
        )
        .await
        .unwrap();

    assert_eq!(answer.token_id, newer.token_id);
    assert_eq!(harness.token_requests(), requests, "no renewal");
    assert_eq!(harness.refresh_invocations(), 1, "only the first get's");
    let requested = harness.audit_events_named("TOKEN_REFRESH_REQUESTED");
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0]["outcome"], "already_renewed");
    assert_eq!(requested[0]["rejected_token_id"], old.token_id.as_str());
    assert_eq!(requested[0]["caller"], "sms-sender");
    assert_eq!(last_source(&harness), "store");
    // The memory now holds the token the refresh answered.
    let next = harness.token(json!({})).await.unwrap();
    assert_eq!(next.token_id, newer.token_id);
    assert_eq!(last_source(&harness), "memory");
}

#[tokio::test]
async fn refresh_never_trusts_the_memory() {
    let clock = manual_clock();
    let harness = GetTokenHarness::with(with_clock(&clock)).await;
    let first = harness.token(json!({})).await.unwrap();
    clock.advance(chrono::Duration::seconds(60));
    let loads = harness.store_loads();

    // The rejected token is still the stored one (and the one in memory): renew it.
    let renewed = harness
        .token(json!({"action": "refresh", "rejected_token_id": first.token_id}))
        .await
        .unwrap();

    assert_ne!(renewed.token_id, first.token_id);
    assert!(harness.store_loads() > loads, "the store was read");
    assert_eq!(
        harness.refresh_payloads().last(),
        Some(&json!({"force": true}))
    );
    assert_eq!(
        harness.audit_events_named("TOKEN_REFRESH_REQUESTED")[0]["outcome"],
        "renewed"
    );
    let stored = harness.refresh.stored_envelope().await.unwrap();
    assert_eq!(stored["token_id"], renewed.token_id.as_str());
    // A get afterwards never serves the rejected token from memory.
    let next = harness.token(json!({})).await.unwrap();
    assert_eq!(next.token_id, renewed.token_id);
}

#[tokio::test]
async fn two_hundred_concurrent_refreshes_of_one_rejected_token_cause_one_renewal() {
    let clock = manual_clock();
    let harness = GetTokenHarness::with(with_clock(&clock)).await;
    let rejected = harness.token(json!({})).await.unwrap();
    assert_eq!(harness.token_requests(), 1);
    clock.advance(chrono::Duration::seconds(60));

    let mut calls = JoinSet::new();
    for i in 0..200 {
        let state = Arc::clone(&harness.state);
        let event = json!({"action": "refresh", "rejected_token_id": rejected.token_id,
                           "caller": format!("sender-{i}")});
        calls.spawn(async move { invoke_get_token(&state, event).await });
    }
    let answers: Vec<TokenResponse> = calls
        .join_all()
        .await
        .into_iter()
        .map(|answer| match answer.expect("every refresh is answered") {
            get_token::handler::GetTokenResponse::Token(token) => token,
            other => panic!("{other:?}"),
        })
        .collect();

    assert_eq!(harness.token_requests(), 2, "one renewal at the endpoint");
    assert_eq!(
        harness
            .refresh_payloads()
            .iter()
            .filter(|payload| payload["force"] == true)
            .count(),
        1
    );
    let renewed = harness.refresh.mock.issued_tokens()[1].clone();
    assert!(answers.iter().all(|answer| answer.access_token == renewed));
    let outcomes: Vec<Value> = harness
        .audit_events_named("TOKEN_REFRESH_REQUESTED")
        .into_iter()
        .map(|event| event["outcome"].clone())
        .collect();
    assert_eq!(outcomes.len(), 200);
    assert_eq!(outcomes.iter().filter(|o| **o == "renewed").count(), 1);
    assert_eq!(
        outcomes.iter().filter(|o| **o == "already_renewed").count(),
        199
    );
    harness.assert_no_token_logged();
}

#[tokio::test]
async fn a_thousand_concurrent_gets_on_a_cold_instance_share_one_store_read() {
    let harness = GetTokenHarness::start().await;
    let stored = harness.refresh.scheduled().await.unwrap();

    let tokens = concurrent_gets(&harness, 1000).await;

    assert_eq!(harness.store_loads(), 1);
    assert_eq!(harness.refresh_invocations(), 0);
    assert!(tokens.iter().all(|token| token.token_id == stored.token_id));
    let sources: Vec<String> = harness
        .audit_events_named("TOKEN_SERVED")
        .iter()
        .map(|event| event["source"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sources.len(), 1000);
    assert_eq!(sources.iter().filter(|s| *s == "store").count(), 1);
}

#[tokio::test]
async fn a_thousand_concurrent_gets_on_a_cold_instance_with_nothing_stored_share_one_renewal() {
    let harness = GetTokenHarness::start().await;

    let tokens = concurrent_gets(&harness, 1000).await;

    assert_eq!(harness.refresh_invocations(), 1);
    assert_eq!(harness.token_requests(), 1);
    // The read that found nothing, and the one after the renewal.
    assert_eq!(harness.store_loads(), 2);
    let issued = harness.refresh.mock.issued_tokens();
    assert!(tokens.iter().all(|token| token.access_token == issued[0]));
}

async fn concurrent_gets(harness: &GetTokenHarness, n: usize) -> Vec<TokenResponse> {
    let mut calls = JoinSet::new();
    for _ in 0..n {
        let state = Arc::clone(&harness.state);
        calls.spawn(async move { invoke_get_token(&state, json!({})).await });
    }
    calls
        .join_all()
        .await
        .into_iter()
        .map(|answer| match answer.expect("every get is answered") {
            get_token::handler::GetTokenResponse::Token(token) => token,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn status_reports_the_stored_token_and_never_the_token_itself() {
    let harness = GetTokenHarness::start().await;
    let token = harness.token(json!({})).await.unwrap();
    let loads = harness.store_loads();

    let (status, json) = harness.status().await;

    assert!(status.healthy);
    assert_eq!(status.token_id.as_deref(), Some(token.token_id.as_str()));
    assert_eq!(
        status.expires_at.as_deref(),
        Some(token.expires_at.as_str())
    );
    assert!(status.issued_at.is_some());
    assert!(status.expires_in.is_some_and(|s| s > 3500));
    assert!(!json.contains(&token.access_token), "{json}");
    let value: Value = serde_json::from_str(&json).unwrap();
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "expires_at",
            "expires_in",
            "healthy",
            "issued_at",
            "message",
            "token_id"
        ]
    );
    assert_eq!(harness.store_loads(), loads + 1, "status reads the store");
    let checked = harness.audit_events_named("HEALTH_CHECKED");
    assert_eq!(checked[0]["healthy"], true);
    assert_eq!(checked[0]["expires_in"], status.expires_in.unwrap());
    assert!(
        harness
            .metric_records()
            .iter()
            .any(|record| record["TokenRemainingLifetime"] == status.expires_in.unwrap())
    );
    harness.assert_no_token_logged();
}

#[tokio::test]
async fn status_with_nothing_stored_is_unhealthy_with_null_token_fields() {
    let harness = GetTokenHarness::start().await;

    let (status, json) = harness.status().await;

    assert!(!status.healthy);
    let value: Value = serde_json::from_str(&json).unwrap();
    for field in ["token_id", "issued_at", "expires_at", "expires_in"] {
        assert_eq!(value[field], Value::Null, "{field}");
    }
    assert!(status.message.contains("no token"), "{}", status.message);
    assert_eq!(
        harness.refresh_invocations(),
        0,
        "a health check renews nothing"
    );
    assert_eq!(
        harness.audit_events_named("HEALTH_CHECKED")[0]["healthy"],
        false
    );
}

#[tokio::test]
async fn status_of_a_token_inside_the_buffer_is_unhealthy() {
    let clock = manual_clock();
    let harness = GetTokenHarness::with(with_clock(&clock)).await;
    harness.refresh.scheduled().await.unwrap();
    clock.advance(chrono::Duration::minutes(55)); // exactly the 5-minute buffer left

    let (status, _) = harness.status().await;

    assert!(!status.healthy);
    assert_eq!(status.expires_in, Some(300));
}

#[tokio::test]
async fn bad_events_are_invalid_requests_and_touch_nothing() {
    let harness = GetTokenHarness::start().await;
    for bad in [
        json!(null),
        json!([]),
        json!("get"),
        json!({"action": "renew"}),
        json!({"action": 1}),
        json!({"min_ttl_seconds": 1801}),
        json!({"min_ttl_seconds": "300"}),
        json!({"rejected_token_id": 42}),
        json!({"caller": false}),
        json!({"token": "x"}),
    ] {
        let error = error_of(harness.invoke(bad.clone()).await);
        assert_eq!(error.error_type(), "InvalidRequest", "{bad}");
    }
    assert_eq!(harness.store_loads(), 0);
    assert_eq!(harness.refresh_invocations(), 0);
    assert!(harness.audit_events().is_empty());
}
