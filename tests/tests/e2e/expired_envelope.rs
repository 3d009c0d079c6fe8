//! An expired token in the store: get renews it through the refresh function.

use chrono::{TimeDelta, Utc};
use serde_json::json;

use crate::harness::{id_of, session};

#[tokio::test]
async fn an_expired_stored_envelope_makes_get_renew_through_refresh() {
    let mut s = session().await;
    let expired = format!(
        "e2e-expired-{}",
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let now = Utc::now();
    s.put_envelope(
        &expired,
        now - TimeDelta::hours(2),
        now - TimeDelta::hours(1),
    )
    .await;
    // The renewal's token lives an hour. A warm get-token may hold a token of at most 25
    // minutes in memory (the endpoint's default here), and may serve it instead of
    // reading the store while it has more life than asked: asking for 25 minutes rules
    // every such token out, so get-token must read the store and find it expired.
    s.push_faults(json!([{"kind": "expires_in", "expires_in": 3600}]))
        .await;
    let before = s.stats().await.token_requests;

    let got = s
        .get_token(json!({"action": "get", "min_ttl_seconds": 1500, "caller": "e2e"}))
        .await
        .expect_ok("get with an expired stored token");
    let access_token = got["access_token"].as_str().expect("access_token");
    assert_ne!(
        got["token_id"],
        id_of(&expired),
        "get served the expired token"
    );
    let stats = s.stats().await;
    assert!(
        stats.issued(access_token),
        "get served a token the endpoint never issued"
    );
    assert_eq!(stats.token_requests, before + 1, "one renewal");
    assert!(got["expires_in"].as_i64().is_some_and(|left| left > 1500));

    // The renewal went through refresh, which stored it.
    let token_id = got["token_id"].as_str().expect("token_id");
    assert_eq!(s.stored().await.expect("stored").token_id(), token_id);
    s.assert_refresh_generated(token_id);
    assert!(
        !s.audit_events_matching(
            "TOKEN_SERVED",
            &[
                ("token_id", json!(token_id)),
                ("function_name", json!("get-token"))
            ]
        )
        .is_empty(),
        "get-token logged TOKEN_SERVED for {token_id}"
    );

    s.assert_logs_clean().await;
    // Leave no token that outlives the endpoint's usual 25 minutes in the store: refresh
    // keeps a stored token that expires later than the one it just fetched, so a forced
    // renewal in a later test would keep this one. The next scheduled run stores a new one.
    s.delete_parameter().await;
}
