//! The token endpoint fails: renewals fail without touching the stored token, and get
//! keeps serving it.

use serde_json::json;

use crate::harness::session;

#[tokio::test]
async fn with_the_token_endpoint_failing_get_keeps_serving_the_valid_token() {
    let s = session().await;
    let token_id = s.ensure_fresh_token().await;
    s.set_sticky(json!({"kind": "status", "status": 503})).await;
    let before = s.stats().await.token_requests;

    // A forced renewal retries, gives up, and leaves the stored token alone.
    let (error_type, message) = s
        .refresh(json!({"force": true}))
        .await
        .expect_error("a forced refresh with the endpoint answering 503");
    assert_eq!(error_type, "UpstreamUnavailable", "{message}");
    let after = s.stats().await.token_requests;
    assert!(
        after >= before + 2,
        "a 503 is retried ({} request(s))",
        after - before
    );
    let stored = s.stored().await.expect("the stored token is still there");
    assert_eq!(
        stored.token_id(),
        token_id,
        "a failed refresh overwrote the store"
    );
    assert!(
        !s.audit_events_matching(
            "TOKEN_GENERATION_FAILED",
            &[("error_class", json!("UpstreamUnavailable"))]
        )
        .is_empty(),
        "refresh logged TOKEN_GENERATION_FAILED"
    );

    // get still serves a valid token, status is still healthy.
    let got = s
        .get_token(json!({"action": "get", "caller": "e2e"}))
        .await
        .expect_ok("get while the endpoint fails");
    assert!(
        s.stats()
            .await
            .issued(got["access_token"].as_str().unwrap_or_default())
    );
    assert!(got["expires_in"].as_i64().is_some_and(|left| left > 300));
    let status = s
        .get_token(json!({"action": "status"}))
        .await
        .expect_ok("status while the endpoint fails");
    assert_eq!(status["healthy"], true);
    assert_eq!(status["token_id"], token_id.as_str());

    // A scheduled run finds the token fresh: no request to the failing endpoint.
    let requests = s.stats().await.token_requests;
    let scheduled = s
        .refresh(crate::harness::scheduled_event())
        .await
        .expect_ok("a scheduled refresh while the endpoint fails");
    assert_eq!(scheduled["reason"], "fresh");
    assert_eq!(s.stats().await.token_requests, requests);

    s.clear_faults().await;
    s.assert_logs_clean().await;
}
