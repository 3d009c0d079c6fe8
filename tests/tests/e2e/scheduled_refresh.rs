//! The schedule's path: refresh renews a missing token, get serves a token the endpoint
//! issued, a second scheduled run asks the endpoint for nothing.

use serde_json::json;

use crate::harness::{id_of, scheduled_event, session};

#[tokio::test]
async fn a_scheduled_refresh_stores_a_token_get_serves_it_and_a_second_run_requests_none() {
    let s = session().await;
    s.delete_parameter().await;
    let before = s.stats().await.token_requests;

    let first = s
        .refresh(scheduled_event())
        .await
        .expect_ok("the scheduled refresh");
    assert_eq!(first["refreshed"], true, "a missing token is renewed");
    assert_eq!(first["reason"], "missing");
    assert_eq!(first["attempts"], 1);
    let token_id = first["token_id"].as_str().expect("token_id").to_owned();
    let stats = s.stats().await;
    assert_eq!(stats.token_requests, before + 1, "one token request");
    assert!(
        stats.issued_token_ids.contains(&token_id),
        "refresh stored token {token_id}, which the endpoint never issued"
    );
    let stored = s.stored().await.expect("refresh stored the token");
    assert_eq!(stored.parameter_type, "SecureString");
    assert_eq!(stored.token_id(), token_id);
    assert!(stats.issued(stored.access_token()));
    assert_eq!(stored.envelope["expires_at"], first["expires_at"]);
    s.assert_refresh_generated(&token_id);
    assert!(
        !s.audit_events_matching("TOKEN_STORED", &[("token_id", json!(token_id))])
            .is_empty(),
        "refresh logged TOKEN_STORED for {token_id}"
    );

    // get: a token the endpoint issued, with its contract fields. (A warm get-token may
    // still serve an earlier token from memory while it has life enough: the contract
    // allows it, so the test only asks for a token the endpoint issued.)
    let got = s
        .get_token(json!({"action": "get", "caller": "e2e"}))
        .await
        .expect_ok("get");
    let access_token = got["access_token"].as_str().expect("access_token");
    assert!(
        s.stats().await.issued(access_token),
        "get served a token the endpoint never issued"
    );
    assert_eq!(got["token_id"], id_of(access_token));
    assert!(
        got["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
    );
    let expires_in = got["expires_in"].as_i64().expect("expires_in");
    assert!(
        (300..=3600).contains(&expires_in),
        "expires_in {expires_in}: more than the 5-minute buffer, at most an hour"
    );
    assert!(got["expires_at"].as_str().is_some_and(|t| t.ends_with('Z')));

    // A second scheduled run finds the token fresh and asks the endpoint for nothing.
    let second = s
        .refresh(scheduled_event())
        .await
        .expect_ok("the second scheduled refresh");
    assert_eq!(second["refreshed"], false);
    assert_eq!(second["reason"], "fresh");
    assert_eq!(second["token_id"], token_id.as_str());
    assert_eq!(second["attempts"], 0);
    assert_eq!(
        s.stats().await.token_requests,
        before + 1,
        "the second scheduled run made a token request"
    );
    assert!(
        !s.audit_events_matching("TOKEN_REFRESH_SKIPPED", &[("token_id", json!(token_id))])
            .is_empty(),
        "refresh logged TOKEN_REFRESH_SKIPPED"
    );

    // status: healthy, the stored token's id, never the token.
    let status = s
        .get_token(json!({"action": "status"}))
        .await
        .expect_ok("status");
    assert_eq!(status["healthy"], true);
    assert_eq!(status["token_id"], token_id.as_str());
    assert!(status.get("access_token").is_none());

    s.assert_logs_clean().await;
}
