//! Bad events: `InvalidRequest`, never a crash, never a token request.

use serde_json::{Value, json};

use crate::harness::{field_names, session};

fn bad_refresh_events() -> Vec<Value> {
    vec![
        json!([]),
        json!("refresh"),
        json!(42),
        json!(true),
        json!(null),
        json!({"force": "yes"}),
        json!({"force": 1}),
        json!({"min_ttl_seconds": 1801}),
        json!({"min_ttl_seconds": -1}),
        json!({"min_ttl_seconds": 1.5}),
        json!({"min_ttl_seconds": "300"}),
        json!({"unknown": true}),
        json!({"action": "get"}),
        json!({"force": true, "extra": null}),
    ]
}

fn bad_get_token_events() -> Vec<Value> {
    vec![
        json!([]),
        json!("get"),
        json!(7),
        json!(null),
        json!({"action": "delete"}),
        json!({"action": 5}),
        json!({"action": "GET"}),
        json!({"min_ttl_seconds": 1801}),
        json!({"min_ttl_seconds": -5}),
        json!({"min_ttl_seconds": "300"}),
        json!({"rejected_token_id": 12}),
        json!({"caller": ["x"]}),
        json!({"force": true}),
        json!({"source": "aws.events"}),
    ]
}

#[tokio::test]
async fn bad_events_get_invalid_request_never_a_crash() {
    let s = session().await;
    s.ensure_fresh_token().await;
    let before = s.stats().await.token_requests;

    for (function, events) in [
        ("refresh", bad_refresh_events()),
        ("get-token", bad_get_token_events()),
    ] {
        for event in events {
            let answer = s.invoke(function, &event).await;
            let (error_type, message) = match answer {
                crate::harness::Answer::Error {
                    error_type,
                    error_message,
                    ..
                } => (error_type, error_message),
                crate::harness::Answer::Ok(value) => panic!(
                    "{function} accepted the bad event {event}: answer with fields {:?}",
                    field_names(&value)
                ),
            };
            assert_eq!(
                error_type, "InvalidRequest",
                "{function} <- {event}: {message}"
            );
            assert!(!message.is_empty(), "{function} <- {event}: empty message");
        }
    }
    assert_eq!(
        s.stats().await.token_requests,
        before,
        "a bad event caused a token request"
    );

    // Both functions still answer: no crash, no restart needed.
    s.refresh(json!({}))
        .await
        .expect_ok("refresh after the bad events");
    let status = s
        .get_token(json!({"action": "status"}))
        .await
        .expect_ok("get-token after the bad events");
    assert_eq!(status["healthy"], true);
    let log = std::fs::read_to_string(std::env::var("E2E_WATCH_LOG").unwrap_or_default())
        .unwrap_or_default();
    assert!(
        !log.contains("panicked at"),
        "a function panicked (see the watch's log)"
    );

    s.assert_logs_clean().await;
}
