//! No log of the run holds a token or the client secret. Every other test checks this
//! too when it ends; this one also covers a renewal forced through get-token, and
//! `scripts/test.sh` checks the logs once more after all tests.

use serde_json::json;

use crate::harness::session;

#[tokio::test]
async fn no_log_of_the_run_holds_a_token_or_the_client_secret() {
    let s = session().await;
    let token_id = s.ensure_fresh_token().await;
    let got = s
        .get_token(json!({"action": "get", "caller": "e2e-logs"}))
        .await
        .expect_ok("get");
    s.get_token(json!({
        "action": "refresh",
        "rejected_token_id": token_id,
        "caller": "e2e-logs"
    }))
    .await
    .expect_ok("refresh of the stored token through get-token");
    s.refresh(json!({"force": true}))
        .await
        .expect_ok("a forced refresh");
    assert!(got["access_token"].is_string());
    assert!(
        s.stats().await.issued_tokens.len() >= 2,
        "the run issued tokens to look for"
    );
    s.assert_logs_clean().await;
}
