//! The caller library against the real Invoke API: a token, then one retry with a new
//! token after a simulated 401.

use std::sync::{Arc, Mutex};

use serde_json::json;

use orange_token::caller::{AuthFailure, TokenClient, is_auth_failure};

use crate::harness::{id_of, session};

/// What a simulated SMS API answered.
#[derive(Debug)]
struct SimulatedApiError {
    status: u16,
    body: &'static [u8],
}

impl AuthFailure for SimulatedApiError {
    fn is_auth_failure(&self) -> bool {
        is_auth_failure(self.status, self.body)
    }
}

#[tokio::test]
async fn the_caller_library_retries_once_after_a_401_with_a_new_token() {
    let s = session().await;
    s.ensure_fresh_token().await;
    let tokens = TokenClient::builder(s.lambda.clone(), "get-token")
        .caller("e2e-sms-sender")
        .build()
        .expect("a token client");

    let first = tokens.access_token().await.expect("a token");
    assert!(s.stats().await.issued(first.expose()));
    assert_eq!(first.token_id(), id_of(first.expose()));
    let cached = tokens.access_token().await.expect("the cached token");
    assert_eq!(cached.token_id(), first.token_id(), "served from the cache");
    let before = s.stats().await.token_requests;

    // The "SMS API" rejects the first token with Orange's 401 and accepts the next one.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sent = tokens
        .with_token(|authorization| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                seen.push(authorization.token_id().to_owned());
                if seen.len() == 1 {
                    Err(SimulatedApiError {
                        status: 401,
                        body: br#"{"code": 42, "message": "Expired credentials"}"#,
                    })
                } else {
                    Ok(authorization.expose().to_owned())
                }
            }
        })
        .await
        .unwrap_or_else(|error| panic!("the retry with a new token failed: {error:?}"));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "one request, then exactly one retry");
    assert_eq!(seen[0], first.token_id());
    assert_ne!(seen[1], seen[0], "the retry used the rejected token again");
    let renewed = sent
        .strip_prefix("Bearer ")
        .expect("the header value is \"Bearer <token>\"");
    assert_eq!(id_of(renewed), seen[1]);
    let stats = s.stats().await;
    assert!(
        stats.issued(renewed),
        "the retry's token was never issued by the endpoint"
    );
    assert_eq!(
        s.stored().await.expect("stored").token_id(),
        seen[1],
        "the retry's token is the stored one"
    );

    // get-token renewed the rejected token, unless the store already held another one
    // (a warm get-token may have served an older token from memory): exactly what its
    // audit event says, and at most one token request.
    let requested = s.audit_events_matching(
        "TOKEN_REFRESH_REQUESTED",
        &[
            ("rejected_token_id", json!(seen[0])),
            ("caller", json!("e2e-sms-sender")),
        ],
    );
    let outcome = requested
        .last()
        .and_then(|event| event["outcome"].as_str())
        .expect("get-token logged TOKEN_REFRESH_REQUESTED for the rejected token");
    let expected_requests = match outcome {
        "renewed" => before + 1,
        "already_renewed" => before,
        other => panic!("unexpected outcome {other}"),
    };
    assert_eq!(stats.token_requests, expected_requests, "outcome {outcome}");

    // The library now serves the new token from its cache.
    let now = tokens.access_token().await.expect("the renewed token");
    assert_eq!(now.token_id(), seen[1]);

    s.assert_logs_clean().await;
}
