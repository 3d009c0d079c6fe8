//! The handler called directly, over a memory store and a refresh function that counts
//! its invokes.

use std::sync::Mutex;

use chrono::{DateTime, TimeZone, Utc};
use lambda_runtime::Context;
use orange_token::clock::ManualClock;
use orange_token::log_sink::LogSink;
use orange_token::secret::AccessToken;
use orange_token::test_support::store::{MEMORY_PARAMETER_NAME, MemoryStore};
use serde_json::json;

use super::renew::{MAX_QUOTED_MESSAGE_CHARS, cut_short};
use super::*;
use crate::test_support::CountingRefreshFunction;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 22, 0, 0).unwrap()
}

struct Fixture {
    state: GetTokenState<MemoryStore, CountingRefreshFunction>,
    audit: Arc<Mutex<Vec<String>>>,
    metrics: Arc<Mutex<Vec<String>>>,
}

fn fixture(store: MemoryStore) -> Fixture {
    let vars = |name: &str| match name {
        "TOKEN_PARAMETER_NAME" => Some(MEMORY_PARAMETER_NAME.to_owned()),
        "REFRESH_FUNCTION_NAME" => Some("refresh".to_owned()),
        _ => None,
    };
    let (audit_sink, audit) = LogSink::memory();
    let (metric_sink, metrics) = LogSink::memory();
    let state = GetTokenState::new(
        GetTokenConfig::from_source(&vars).unwrap(),
        store,
        CountingRefreshFunction::default(),
        AuditLog::new(audit_sink, "get-token"),
        Metrics::new(metric_sink, "get-token"),
        Arc::new(ManualClock::new(start())),
    );
    Fixture {
        state,
        audit,
        metrics,
    }
}

async fn invoke(fixture: &Fixture, payload: Value) -> Result<GetTokenResponse, ServiceError> {
    let mut context = Context::default();
    context.request_id = "req-1".into();
    handle(&fixture.state, LambdaEvent::new(payload, context)).await
}

fn stored_token() -> TokenEnvelope {
    TokenEnvelope::issue(
        AccessToken::new("the-access-token-0123"),
        "Bearer",
        None,
        start(),
        Duration::from_secs(3600),
    )
}

#[tokio::test]
async fn a_token_answer_has_exactly_the_contract_fields_and_debug_hides_the_token() {
    let fixture = fixture(MemoryStore::new(Some(stored_token())));
    let response = invoke(&fixture, json!({})).await.unwrap();
    let value = serde_json::to_value(&response).unwrap();
    assert_eq!(
        value,
        json!({"access_token": "the-access-token-0123", "token_type": "Bearer",
               "expires_at": "2026-11-26T23:00:00Z", "expires_in": 3600,
               "token_id": stored_token().token_id})
    );
    assert!(!format!("{response:?}").contains("the-access-token-0123"));
    let logged =
        fixture.audit.lock().unwrap().join("\n") + &fixture.metrics.lock().unwrap().join("\n");
    assert!(!logged.contains("the-access-token-0123"));
    assert_eq!(fixture.state.refresh_function.invokes(), 0);
}

#[tokio::test]
async fn a_store_that_cannot_be_read_is_store_unavailable_for_get_and_refresh() {
    let fixture = fixture(MemoryStore::unreadable());
    for event in [
        json!({}),
        json!({"action": "refresh", "rejected_token_id": "3f9a1c0b7d2e"}),
    ] {
        let error = invoke(&fixture, event.clone()).await.unwrap_err();
        assert_eq!(error.error_type(), "StoreUnavailable", "{event}");
        assert!(
            error.to_string().contains("AccessDeniedException"),
            "{error}"
        );
    }
    assert_eq!(
        fixture.state.refresh_function.invokes(),
        0,
        "nothing renewed blind"
    );
    let audit = fixture.audit.lock().unwrap();
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|line| line.contains("TOKEN_UNAVAILABLE")));
    assert_eq!(
        fixture
            .metrics
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line.contains("\"TokenUnavailable\":1"))
            .count(),
        2
    );
}

#[tokio::test]
async fn status_over_a_store_that_cannot_be_read_is_unhealthy_not_an_error() {
    let fixture = fixture(MemoryStore::unreadable());
    let GetTokenResponse::Status(status) = invoke(&fixture, json!({"action": "status"}))
        .await
        .expect("status answers")
    else {
        panic!("expected a status report");
    };
    assert!(!status.healthy);
    assert_eq!(status.token_id, None);
    assert_eq!(status.expires_in, None);
    assert!(
        status.message.contains("AccessDeniedException"),
        "{}",
        status.message
    );
    let audit = fixture.audit.lock().unwrap();
    let checked: Value = serde_json::from_str(&audit[0]).unwrap();
    assert_eq!(checked["event"], "HEALTH_CHECKED");
    assert_eq!(checked["healthy"], false);
    let metric: Value = serde_json::from_str(&fixture.metrics.lock().unwrap()[0]).unwrap();
    assert_eq!(metric["TokenRemainingLifetime"], 0);
}

#[test]
fn throttle_waits_double_up_to_the_cap() {
    let delays: Vec<u64> = ThrottleWait::default()
        .delays()
        .map(|delay| u64::try_from(delay.as_millis()).unwrap())
        .collect();
    assert_eq!(delays, [200, 400, 800, 1000, 1000]);
}

#[test]
fn long_messages_are_cut() {
    assert_eq!(cut_short("short"), "short");
    let quoted = cut_short(&"x".repeat(1000));
    assert_eq!(quoted.len(), MAX_QUOTED_MESSAGE_CHARS + 3);
}
