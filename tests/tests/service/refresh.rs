//! The refresh path: schedule → refresh → token endpoint → SSM SecureString.

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use mock_orange::Fault;
use orange_token::clock::ManualClock;
use orange_token::envelope::{TokenEnvelope, token_id};
use orange_token::error::ServiceError;
use orange_token::renewal::RefreshReason as Reason;
use orange_token::secret::AccessToken;

use crate::harness::{RefreshHarness, RefreshOptions, credentials_json, fast_retries, unique};

fn error_type(result: Result<impl std::fmt::Debug, ServiceError>) -> &'static str {
    match result {
        Ok(value) => panic!("expected a failure, got {value:?}"),
        Err(error) => error.error_type(),
    }
}

fn event<'a>(events: &'a [Value], name: &str) -> &'a Value {
    events
        .iter()
        .find(|event| event["event"] == name)
        .unwrap_or_else(|| panic!("no {name} audit event in {events:?}"))
}

#[tokio::test]
async fn the_first_scheduled_run_creates_the_secure_string_parameter() {
    let harness = RefreshHarness::start().await;
    assert!(harness.stored_raw().await.is_none());

    let response = harness.scheduled().await.expect("refresh succeeds");

    assert!(response.refreshed);
    assert_eq!(response.reason, Reason::Missing);
    assert_eq!(response.attempts, 1);
    let issued = harness.mock.issued_tokens();
    assert_eq!(issued.len(), 1);
    let (raw, parameter_type) = harness.stored_raw().await.expect("parameter created");
    assert_eq!(parameter_type, "SecureString");
    let envelope: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(envelope["version"], 1);
    assert_eq!(envelope["access_token"], issued[0].as_str());
    assert_eq!(envelope["token_type"], "Bearer");
    assert_eq!(envelope["token_id"], token_id(&issued[0]));
    assert_eq!(envelope["token_id"], response.token_id.as_str());
    assert_eq!(envelope["expires_at"], response.expires_at.as_str());
    let issued_at =
        chrono::DateTime::parse_from_rfc3339(envelope["issued_at"].as_str().unwrap()).unwrap();
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(envelope["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires_at - issued_at).num_seconds(), 3600);

    assert_eq!(
        harness.audit_event_names(),
        ["TOKEN_GENERATED", "TOKEN_STORED"]
    );
    let events = harness.audit_events();
    let generated = event(&events, "TOKEN_GENERATED");
    assert_eq!(generated["audit"], true);
    assert_eq!(generated["function_name"], "refresh");
    assert_eq!(generated["token_id"], response.token_id.as_str());
    assert_eq!(generated["attempts"], 1);
    assert!(generated["latency_ms"].is_u64());
    assert_eq!(generated["scope"], Value::Null);
    assert!(
        generated["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let stored = event(&events, "TOKEN_STORED");
    assert_eq!(stored["parameter_name"], harness.parameter_name.as_str());
    assert_eq!(stored["parameter_version"], 1);
    harness.assert_no_secret_logged();
}

#[tokio::test]
async fn the_request_is_a_basic_auth_client_credentials_form() {
    let harness = RefreshHarness::with(RefreshOptions {
        scope: Some("sms:send".to_owned()),
        ..RefreshOptions::default()
    })
    .await;
    harness.scheduled().await.expect("refresh succeeds");
    let requests = harness.mock.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/oauth/v3/token");
    assert_eq!(request.accept.as_deref(), Some("application/json"));
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        request.body,
        "grant_type=client_credentials&scope=sms%3Asend"
    );
    assert!(
        request
            .authorization
            .as_deref()
            .is_some_and(|value| value.starts_with("Basic "))
    );
    let envelope = harness.stored_envelope().await.unwrap();
    assert_eq!(envelope["scope"], "sms:send");
}

#[tokio::test]
async fn a_second_run_within_the_threshold_makes_no_token_request() {
    let harness = RefreshHarness::start().await;
    let first = harness.scheduled().await.unwrap();
    let stored_before = harness.stored_raw().await;

    let second = harness.scheduled().await.unwrap();

    assert_eq!(harness.mock.token_requests(), 1);
    assert!(!second.refreshed);
    assert_eq!(second.reason, Reason::Fresh);
    assert_eq!(second.token_id, first.token_id);
    assert_eq!(second.attempts, 0);
    assert_eq!(harness.stored_raw().await, stored_before);
    let events = harness.audit_events();
    let skipped = event(&events, "TOKEN_REFRESH_SKIPPED");
    assert_eq!(skipped["token_id"], first.token_id.as_str());
    assert!(
        skipped["expires_in"]
            .as_i64()
            .is_some_and(|s| s > 3500 && s <= 3600)
    );
}

/// A harness on a simulated clock at the contract's default interval (60 s).
async fn on_clock(clock: &ManualClock, mock: mock_orange::MockConfig) -> RefreshHarness {
    RefreshHarness::with(RefreshOptions {
        clock: Some(clock.clone()),
        mock,
        ..RefreshOptions::default()
    })
    .await
}

fn simulated_start() -> ManualClock {
    // After any time the emulator stamps on a secret created now (see day.rs).
    ManualClock::new(Utc.with_ymd_and_hms(2100, 11, 26, 22, 0, 0).unwrap())
}

#[tokio::test]
async fn force_renews_a_fresh_token_once_the_interval_has_passed() {
    let clock = simulated_start();
    let harness = on_clock(&clock, RefreshOptions::default().mock).await;
    let first = harness.invoke(json!({})).await.unwrap();

    clock.advance(chrono::Duration::seconds(59));
    let refused = harness
        .invoke(json!({"force": true, "caller": "sms-sender"}))
        .await
        .unwrap();
    assert!(!refused.refreshed);
    assert_eq!(refused.reason, Reason::Recent);
    assert_eq!(refused.token_id, first.token_id);
    assert_eq!(
        harness.mock.token_requests(),
        1,
        "no token request inside the interval"
    );

    clock.advance(chrono::Duration::seconds(1));
    let forced = harness
        .invoke(json!({"force": true, "caller": "sms-sender"}))
        .await
        .unwrap();
    assert!(forced.refreshed);
    assert_eq!(forced.reason, Reason::Forced);
    assert_ne!(forced.token_id, first.token_id);
    assert_eq!(harness.mock.token_requests(), 2);
    let envelope = harness.stored_envelope().await.unwrap();
    assert_eq!(envelope["token_id"], forced.token_id.as_str());
    let events = harness.audit_events();
    let stored_events: Vec<&Value> = events
        .iter()
        .filter(|event| event["event"] == "TOKEN_STORED")
        .collect();
    assert_eq!(stored_events[1]["parameter_version"], 2);
    let skipped = event(&events, "TOKEN_REFRESH_SKIPPED");
    assert_eq!(skipped["reason"], "recent");
    let generated: Vec<&Value> = events
        .iter()
        .filter(|event| event["event"] == "TOKEN_GENERATED")
        .collect();
    assert_eq!(generated[0]["reason"], "missing");
    assert_eq!(generated[0]["caller"], Value::Null);
    assert_eq!(generated[1]["reason"], "forced");
    assert_eq!(generated[1]["caller"], "sms-sender");
}

#[tokio::test]
async fn a_scheduled_run_is_recorded_as_the_schedule_and_counts_its_token_requests() {
    let harness = RefreshHarness::start().await;
    harness.scheduled().await.unwrap();
    let events = harness.audit_events();
    let generated = event(&events, "TOKEN_GENERATED");
    assert_eq!(generated["caller"], "schedule");
    assert_eq!(generated["reason"], "missing");
    let requests: Vec<Value> = harness
        .metric_records()
        .into_iter()
        .filter(|record| record.get("TokenRequests").is_some())
        .collect();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["TokenRequests"], 1);
    assert_eq!(requests[0]["Outcome"], "success");
}

#[tokio::test]
async fn min_ttl_above_the_remaining_life_renews() {
    let clock = simulated_start();
    let harness = on_clock(
        &clock,
        mock_orange::MockConfig {
            expires_in: 1500,
            ..RefreshOptions::default().mock
        },
    )
    .await;
    harness.scheduled().await.unwrap();
    // 25 minutes left: fresh for the 20-minute threshold...
    assert_eq!(harness.scheduled().await.unwrap().reason, Reason::Fresh);
    // ...but not for a caller that needs 30: renewed once the token is a minute old,
    // refused as recent before (Orange's tokens may be shorter than what callers ask).
    let refused = harness
        .invoke(json!({"min_ttl_seconds": 1800}))
        .await
        .unwrap();
    assert_eq!(refused.reason, Reason::Recent);
    clock.advance(chrono::Duration::seconds(60));
    let renewed = harness
        .invoke(json!({"min_ttl_seconds": 1800}))
        .await
        .unwrap();
    assert_eq!(renewed.reason, Reason::Expiring);
    assert_eq!(harness.mock.token_requests(), 2);
}

#[tokio::test]
async fn a_token_inside_the_threshold_is_renewed_on_schedule() {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2100, 11, 26, 22, 0, 0).unwrap());
    let harness = RefreshHarness::with(RefreshOptions {
        clock: Some(clock.clone()),
        ..RefreshOptions::default()
    })
    .await;
    let first = harness.scheduled().await.unwrap();
    assert_eq!(first.expires_at, "2100-11-26T23:00:00Z");
    clock.advance(chrono::Duration::minutes(39));
    assert_eq!(harness.scheduled().await.unwrap().reason, Reason::Fresh);
    clock.advance(chrono::Duration::minutes(2));
    let renewed = harness.scheduled().await.unwrap();
    assert_eq!(renewed.reason, Reason::Expiring);
    assert_eq!(renewed.expires_at, "2100-11-26T23:41:00Z");
    assert_eq!(harness.mock.token_requests(), 2);
}

#[tokio::test]
async fn an_unparseable_stored_envelope_is_treated_as_missing() {
    let harness = RefreshHarness::start().await;
    harness.put_raw("{\"version\":1,\"access_token\":").await;
    let response = harness.scheduled().await.unwrap();
    assert_eq!(response.reason, Reason::Missing);
    assert_eq!(
        harness.stored_envelope().await.unwrap()["token_id"],
        response.token_id.as_str()
    );
}

/// Each failure of the contract's table, after a good token was stored: the stored
/// value stays byte-for-byte, the error type and attempt count are right, and the
/// failure is audited.
/// A harness with a good token stored (and its raw value), for tests whose every case
/// forces a renewal right after the last: the interval (tested on its own above) would
/// refuse them all, so it is 0 here.
async fn with_a_token_to_force_over(
    http_timeout_seconds: u64,
) -> (RefreshHarness, (String, String)) {
    let harness = RefreshHarness::with(RefreshOptions {
        http_timeout_seconds,
        min_force_interval_seconds: Some(0),
        ..RefreshOptions::default()
    })
    .await;
    harness
        .scheduled()
        .await
        .expect("a good token is stored first");
    let stored = harness.stored_raw().await.expect("stored");
    (harness, stored)
}

#[tokio::test]
async fn every_failure_class_leaves_the_stored_token_intact() {
    struct Case {
        fault: Fault,
        error_type: &'static str,
        http_status: Option<u16>,
        requests: usize,
    }
    let retried = 3; // fast_retries(3)
    let cases = [
        Case {
            fault: Fault::Status { status: 500 },
            error_type: "UpstreamUnavailable",
            http_status: Some(500),
            requests: retried,
        },
        Case {
            fault: Fault::Status { status: 502 },
            error_type: "UpstreamUnavailable",
            http_status: Some(502),
            requests: retried,
        },
        Case {
            fault: Fault::Status { status: 503 },
            error_type: "UpstreamUnavailable",
            http_status: Some(503),
            requests: retried,
        },
        Case {
            fault: Fault::ConnectionReset,
            error_type: "UpstreamUnavailable",
            http_status: None,
            requests: retried,
        },
        Case {
            fault: Fault::Hang,
            error_type: "UpstreamUnavailable",
            http_status: None,
            requests: retried,
        },
        Case {
            fault: Fault::TooManyRequests {
                retry_after_seconds: None,
            },
            error_type: "UpstreamUnavailable",
            http_status: Some(429),
            requests: retried,
        },
        Case {
            fault: Fault::InvalidClient,
            error_type: "CredentialsRejected",
            http_status: Some(401),
            requests: 1,
        },
        Case {
            fault: Fault::InvalidRequest,
            error_type: "CredentialsRejected",
            http_status: Some(400),
            requests: 1,
        },
        Case {
            fault: Fault::OrangeCode {
                status: 401,
                code: 42,
            },
            error_type: "CredentialsRejected",
            http_status: Some(401),
            requests: 1,
        },
        Case {
            fault: Fault::OrangeCode {
                status: 403,
                code: 50,
            },
            error_type: "CredentialsRejected",
            http_status: Some(403),
            requests: 1,
        },
        Case {
            fault: Fault::Status { status: 404 },
            error_type: "Configuration",
            http_status: Some(404),
            requests: 1,
        },
        Case {
            fault: Fault::Status { status: 405 },
            error_type: "Configuration",
            http_status: Some(405),
            requests: 1,
        },
        Case {
            fault: Fault::Status { status: 406 },
            error_type: "Configuration",
            http_status: Some(406),
            requests: 1,
        },
        Case {
            fault: Fault::Html200,
            error_type: "UpstreamInvalidResponse",
            http_status: Some(200),
            requests: 1,
        },
        Case {
            fault: Fault::Empty200,
            error_type: "UpstreamInvalidResponse",
            http_status: Some(200),
            requests: 1,
        },
        Case {
            fault: Fault::MissingAccessToken,
            error_type: "UpstreamInvalidResponse",
            http_status: Some(200),
            requests: 1,
        },
        Case {
            fault: Fault::ExpiresIn {
                expires_in: json!(0),
            },
            error_type: "UpstreamInvalidResponse",
            http_status: Some(200),
            requests: 1,
        },
        Case {
            fault: Fault::ExpiresIn {
                expires_in: json!(-5),
            },
            error_type: "UpstreamInvalidResponse",
            http_status: Some(200),
            requests: 1,
        },
        Case {
            fault: Fault::ExpiresIn {
                expires_in: json!("soon"),
            },
            error_type: "UpstreamInvalidResponse",
            http_status: Some(200),
            requests: 1,
        },
        Case {
            fault: Fault::TokenType {
                token_type: "mac".into(),
            },
            error_type: "UpstreamInvalidResponse",
            http_status: Some(200),
            requests: 1,
        },
        Case {
            fault: Fault::Oversized200 {
                bytes: 4 * 1024 * 1024,
            },
            error_type: "UpstreamInvalidResponse",
            http_status: Some(200),
            requests: 1,
        },
    ];
    let (harness, stored) = with_a_token_to_force_over(1).await;
    for case in cases {
        let requests_before = harness.mock.token_requests();
        let audit_before = harness.audit_events().len();
        harness.mock.set_sticky_fault(Some(case.fault.clone()));

        let result = harness.invoke(json!({"force": true})).await;

        harness.mock.set_sticky_fault(None);
        assert_eq!(error_type(result), case.error_type, "{:?}", case.fault);
        assert_eq!(
            harness.mock.token_requests() - requests_before,
            case.requests,
            "requests for {:?}",
            case.fault
        );
        assert_eq!(
            harness.stored_raw().await.as_ref(),
            Some(&stored),
            "{:?}",
            case.fault
        );
        let new_events = &harness.audit_events()[audit_before..];
        assert_eq!(new_events.len(), 1, "{:?}: {new_events:?}", case.fault);
        let failed = &new_events[0];
        assert_eq!(failed["event"], "TOKEN_GENERATION_FAILED");
        assert_eq!(failed["error_class"], case.error_type);
        assert_eq!(failed["attempts"], case.requests as u64, "{:?}", case.fault);
        assert_eq!(
            failed["http_status"].as_u64().map(|s| s as u16),
            case.http_status,
            "{:?}",
            case.fault
        );
    }
    let failures: Vec<Value> = harness
        .metric_records()
        .into_iter()
        .filter(|record| record.get("RefreshFailure").is_some())
        .collect();
    assert_eq!(failures.len(), 21);
    harness.assert_no_secret_logged();
}

#[tokio::test]
async fn transient_failures_within_the_retry_budget_end_in_success() {
    let harness = RefreshHarness::start().await;
    harness.mock.push_fault(Fault::Status { status: 503 });
    harness.mock.push_fault(Fault::TooManyRequests {
        retry_after_seconds: Some(1),
    });
    let response = harness.scheduled().await.expect("third attempt succeeds");
    assert_eq!(response.attempts, 3);
    assert_eq!(harness.mock.token_requests(), 3);
    let events = harness.audit_events();
    assert_eq!(event(&events, "TOKEN_GENERATED")["attempts"], 3);
    assert_eq!(
        harness.stored_envelope().await.unwrap()["token_id"],
        response.token_id.as_str()
    );
}

#[tokio::test]
async fn expires_in_as_a_digit_string_is_a_valid_token() {
    let harness = RefreshHarness::start().await;
    harness.mock.push_fault(Fault::ExpiresIn {
        expires_in: json!("3600"),
    });
    let response = harness.scheduled().await.expect("digit string accepted");
    assert!(response.refreshed);
}

#[tokio::test]
async fn a_slow_answer_within_the_timeout_succeeds() {
    let harness = RefreshHarness::start().await; // 2 s per attempt
    harness.mock.push_fault(Fault::Delay { millis: 1200 });
    let response = harness.scheduled().await.expect("slow answer accepted");
    assert_eq!(response.attempts, 1);
}

#[tokio::test]
async fn rejected_credentials_are_not_retried() {
    let harness = RefreshHarness::with(RefreshOptions {
        secret_value: Some(credentials_json(crate::harness::CLIENT_ID, "wrong-secret")),
        retry: fast_retries(5),
        ..RefreshOptions::default()
    })
    .await;
    assert_eq!(error_type(harness.scheduled().await), "CredentialsRejected");
    assert_eq!(harness.mock.token_requests(), 1);
    assert!(harness.stored_raw().await.is_none());
    let text = harness.all_log_text();
    assert!(!text.contains("wrong-secret"));
}

#[tokio::test]
async fn missing_or_malformed_credentials_never_reach_the_endpoint() {
    for secret_value in [
        None,
        Some("not json".to_owned()),
        Some(json!({"client_id": "abc"}).to_string()),
    ] {
        let harness = RefreshHarness::with(RefreshOptions {
            secret_value,
            ..RefreshOptions::default()
        })
        .await;
        assert_eq!(
            error_type(harness.scheduled().await),
            "CredentialsUnavailable"
        );
        assert_eq!(harness.mock.token_requests(), 0);
        let events = harness.audit_events();
        let failed = event(&events, "TOKEN_GENERATION_FAILED");
        assert_eq!(failed["error_class"], "CredentialsUnavailable");
        assert_eq!(failed["attempts"], 0);
    }
}

#[tokio::test]
async fn bad_events_are_invalid_requests_and_touch_nothing() {
    let harness = RefreshHarness::start().await;
    for bad in [
        json!(null),
        json!([]),
        json!("refresh"),
        json!({"force": "true"}),
        json!({"min_ttl_seconds": 3600}),
        json!({"unknown": 1}),
    ] {
        assert_eq!(
            error_type(harness.invoke(bad.clone()).await),
            "InvalidRequest",
            "{bad}"
        );
    }
    assert_eq!(harness.mock.token_requests(), 0);
    assert!(harness.stored_raw().await.is_none());
}

/// The scheduled run and a forced one race: the slow one (asked first, answered last)
/// must not overwrite the newer token the fast one stored.
#[tokio::test]
async fn racing_refreshes_leave_the_newer_token_stored() {
    let clock = simulated_start();
    let harness = std::sync::Arc::new(
        RefreshHarness::with(RefreshOptions {
            http_timeout_seconds: 5,
            clock: Some(clock.clone()),
            ..RefreshOptions::default()
        })
        .await,
    );
    harness.mock.push_fault(Fault::Delay { millis: 2500 });
    let slow = {
        let harness = harness.clone();
        tokio::spawn(async move { harness.scheduled().await })
    };
    // The slow run's request has reached the endpoint (its token is asked for first)...
    while harness.mock.token_requests() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // ...and the forced run asks five seconds later.
    clock.advance(chrono::Duration::seconds(5));
    let fast = harness
        .invoke(json!({"force": true}))
        .await
        .expect("forced refresh");
    let stored_by_fast = harness.stored_raw().await.expect("stored");

    let slow = slow
        .await
        .unwrap()
        .expect("the slow run answers the newer token");

    assert_eq!(harness.mock.token_requests(), 2);
    assert_eq!(
        slow.token_id, fast.token_id,
        "the slow run answers what is stored"
    );
    assert_eq!(harness.stored_raw().await, Some(stored_by_fast));
    let stored = harness.stored_envelope().await.unwrap();
    assert_eq!(stored["token_id"], fast.token_id.as_str());
    assert_eq!(
        harness
            .audit_event_names()
            .iter()
            .filter(|name| *name == "TOKEN_STORED")
            .count(),
        1,
        "the older token was never written"
    );
}

/// A forced renewal replaces the stored (rejected) token even when that one would have
/// lived longer than the new one.
#[tokio::test]
async fn a_forced_renewal_replaces_a_longer_lived_rejected_token() {
    let harness = RefreshHarness::start().await;
    let rejected = orange_token::envelope::TokenEnvelope::issue(
        orange_token::secret::AccessToken::new("rejected-but-long-lived"),
        "Bearer",
        None,
        chrono::Utc::now() - chrono::Duration::minutes(1),
        std::time::Duration::from_secs(6 * 3600),
    );
    harness.put_raw(&rejected.to_json()).await;

    let forced = harness
        .invoke(json!({"force": true}))
        .await
        .expect("forced refresh");

    assert!(forced.refreshed);
    assert_ne!(forced.token_id, rejected.token_id);
    let stored = harness.stored_envelope().await.unwrap();
    assert_eq!(stored["token_id"], forced.token_id.as_str());
}

#[tokio::test]
async fn refused_token_shapes_leave_the_store_as_it_was_and_are_logged_nowhere() {
    let (harness, stored) = with_a_token_to_force_over(2).await;
    // Each refused token starts with a marker no other line holds.
    let marker = unique("RefusedToken").replace('-', "");
    let valid_lifetime = json!(3600);
    let mut cases: Vec<(String, Value)> = [
        "\"quote",
        "\\backslash",
        " space",
        "\nnewline",
        "\ttab",
        "\u{7}bell",
        ",comma",
        ";semicolon",
        "\u{e9}accent",
        "%20percent",
        "=middle=",
        "<html>",
        "\u{0}nul",
    ]
    .iter()
    .map(|tail| (format!("{marker}{tail}"), valid_lifetime.clone()))
    .collect();
    cases.push((
        format!("{marker}{}", "T".repeat(4097 - marker.len())),
        valid_lifetime.clone(),
    ));
    cases.push((String::new(), valid_lifetime.clone()));
    // Lifetimes: not longer than the 5-minute buffer, longer than a day.
    for (index, expires_in) in [
        json!(300),
        json!(1),
        json!("300"),
        json!(86_401),
        json!(100_000_000_000u64),
    ]
    .into_iter()
    .enumerate()
    {
        cases.push((format!("{marker}Lifetime{index}"), expires_in));
    }
    for (token, expires_in) in &cases {
        let body = json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in});
        harness.mock.set_sticky_fault(Some(Fault::Raw {
            status: 200,
            content_type: Some("application/json".to_owned()),
            body: body.to_string(),
        }));

        let result = harness.invoke(json!({"force": true})).await;

        harness.mock.set_sticky_fault(None);
        assert_eq!(error_type(result), "UpstreamInvalidResponse", "{body}");
        assert_eq!(harness.stored_raw().await.as_ref(), Some(&stored), "{body}");
    }
    let logged = harness.all_log_text();
    let refused: Vec<String> = cases
        .iter()
        .map(|(token, _)| token.clone())
        .filter(|token| !token.is_empty())
        .collect();
    for token in &refused {
        let escaped = serde_json::to_string(token).unwrap();
        assert!(
            !logged.contains(token.as_str()),
            "a refused token was logged"
        );
        assert!(
            !logged.contains(&escaped[1..escaped.len() - 1]),
            "a refused token was logged JSON-escaped"
        );
    }
    assert!(
        !logged.contains(&marker),
        "part of a refused token was logged"
    );
    // For scripts/scan-logs.py: one JSON string per line.
    let lines: Vec<String> = refused
        .iter()
        .map(|token| serde_json::to_string(token).unwrap())
        .collect();
    integration_tests::keep_for_the_scan(
        "refused-tokens.txt",
        (lines.join("\n") + "\n").as_bytes(),
    )
    .expect("TEST_LOG_DIR is writable");
}

#[tokio::test]
async fn a_plain_string_parameter_is_never_read_and_the_next_renewal_stores_a_secure_string() {
    let harness = RefreshHarness::start().await;
    let planted = TokenEnvelope::issue(
        AccessToken::new("planted-token-0123456789"),
        "Bearer",
        None,
        Utc::now(),
        std::time::Duration::from_secs(86_400),
    );
    harness
        .put_raw_as(
            &planted.to_json(),
            aws_sdk_ssm::types::ParameterType::String,
        )
        .await;

    let response = harness.scheduled().await.expect("renewed");

    assert!(response.refreshed);
    assert_eq!(response.reason, Reason::Missing);
    assert_ne!(response.token_id, planted.token_id);
    let (raw, parameter_type) = harness.stored_raw().await.expect("stored");
    assert_eq!(parameter_type, "SecureString");
    assert!(!raw.contains("planted-token"));
    assert!(
        harness.all_log_text().contains("not a SecureString"),
        "the warning names the reason"
    );
    assert!(!harness.all_log_text().contains("planted-token"));
}

/// Waits until the wall clock has left `second`: Secrets Manager stamps a change to the
/// second, and a change in the second a token was issued in is not after it.
async fn until_after(second: chrono::DateTime<Utc>) {
    while Utc::now().timestamp() <= second.timestamp() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The rotation runbook of docs/deploy.md, walked on the emulator: regenerate the secret
/// at Orange and put it (checked at the next run), then a typo (refused; the old token
/// stays stored and served), then the fix.
#[tokio::test]
async fn a_rotated_secret_is_put_to_work_at_the_next_run_and_a_typo_keeps_the_old_token() {
    const ROTATED: &str = "rotated-client-secret-5b1e";
    const TYPO: &str = "rotated-client-secret-5b1f";
    let service = crate::harness::GetTokenHarness::start().await;
    let refresh = &service.refresh;
    let secrets = aws_sdk_secretsmanager::Client::new(&crate::harness::aws().await);
    let secret_id = refresh.state.config.credentials_secret_id.clone();
    let put = |client_secret: &'static str| {
        let secrets = secrets.clone();
        let secret_id = secret_id.clone();
        async move {
            secrets
                .put_secret_value()
                .secret_id(secret_id)
                .secret_string(credentials_json(crate::harness::CLIENT_ID, client_secret))
                .send()
                .await
                .expect("put the secret");
        }
    };
    let first = refresh.scheduled().await.expect("the first token");
    let issued_at = |token_id: &str| {
        let token_id = token_id.to_owned();
        async move {
            let envelope = refresh.stored_envelope().await.expect("stored");
            assert_eq!(envelope["token_id"], token_id.as_str());
            chrono::DateTime::parse_from_rfc3339(envelope["issued_at"].as_str().unwrap())
                .unwrap()
                .with_timezone(&Utc)
        }
    };

    // 1. The operator regenerates the secret at Orange (the old one is retired) and puts it.
    until_after(issued_at(&first.token_id).await).await;
    refresh.mock.regenerate_client_secret(ROTATED);
    put(ROTATED).await;
    let rotated = refresh
        .scheduled()
        .await
        .expect("renewed with the new secret");
    assert!(rotated.refreshed);
    assert_eq!(rotated.reason, Reason::CredentialsChanged);
    assert_ne!(rotated.token_id, first.token_id);
    assert_eq!(refresh.scheduled().await.unwrap().reason, Reason::Fresh);

    // 2. A typo: refused at the next run; the token of step 1 stays stored and served.
    until_after(issued_at(&rotated.token_id).await).await;
    put(TYPO).await;
    let requests = refresh.mock.token_requests();
    assert_eq!(error_type(refresh.scheduled().await), "CredentialsRejected");
    assert_eq!(refresh.mock.token_requests(), requests + 1);
    assert_eq!(
        refresh.stored_envelope().await.unwrap()["token_id"],
        rotated.token_id.as_str()
    );
    let served = service
        .token(json!({"caller": "sms-sender"}))
        .await
        .unwrap();
    assert_eq!(served.token_id, rotated.token_id);
    assert!(
        refresh
            .metric_records()
            .iter()
            .any(|record| record["RefreshFailure"] == 1
                && record["ErrorType"] == "CredentialsRejected"),
        "the failure alarm's metric"
    );

    // 3. The fix, put right away: tried at the next run although a request failed less
    // than the minimum interval ago (new credentials get their own try).
    until_after(Utc::now()).await;
    put(ROTATED).await;
    let fixed = refresh
        .scheduled()
        .await
        .expect("renewed with the fixed secret");
    assert_eq!(fixed.reason, Reason::CredentialsChanged);
    assert_ne!(fixed.token_id, rotated.token_id);
    let logged = refresh.all_log_text();
    assert!(!logged.contains(ROTATED) && !logged.contains(TYPO));
    service.assert_no_token_logged();
}
