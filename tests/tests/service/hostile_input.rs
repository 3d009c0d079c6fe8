//! Hostile input: any invocation event of either function and any token-endpoint answer gives a value or a
//! typed error, never a panic.

use proptest::prelude::*;
use serde_json::{Map, Value};

use get_token::request::parse_request;
use orange_token::endpoint::{FailureClass, MAX_BODY_BYTES, classify};
use orange_token::envelope::TokenEnvelope;
use refresh::request::RefreshRequest;

/// Any JSON value, nested a few levels, with the field names the functions know
/// mixed in so that the interesting paths are reached.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        Just(Value::from("aws.events")),
        Just(Value::from("3600")),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..8)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("force".to_owned()),
        Just("min_ttl_seconds".to_owned()),
        Just("source".to_owned()),
        Just("action".to_owned()),
        Just("access_token".to_owned()),
        Just("token_type".to_owned()),
        Just("expires_in".to_owned()),
        Just("version".to_owned()),
        Just("token_id".to_owned()),
        "[a-z_]{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_refresh_event_is_a_request_or_an_invalid_request(event in any_json()) {
        match RefreshRequest::from_event(&event) {
            Ok(request) => prop_assert!(request.ask.min_ttl.as_secs() <= 1800),
            Err(error) => prop_assert_eq!(error.error_type(), "InvalidRequest"),
        }
    }

    #[test]
    fn any_get_token_event_is_a_request_or_an_invalid_request(event in any_json()) {
        match parse_request(&event) {
            Ok(request) => {
                prop_assert!(request.min_ttl_seconds.unwrap_or(0) <= 1800);
                prop_assert!(request.caller.map_or(0, |c| c.chars().count()) <= 128);
            }
            Err(error) => prop_assert_eq!(error.error_type(), "InvalidRequest"),
        }
    }

    #[test]
    fn any_token_endpoint_answer_is_a_token_or_a_classified_failure(
        status in 100u16..600,
        retry_after in proptest::option::of(".{0,12}"),
        body in prop_oneof![
            any_json().prop_map(|json| json.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..512),
        ],
    ) {
        match classify(status, retry_after.as_deref(), Some(&body)) {
            Ok(token) => {
                prop_assert_eq!(status, 200);
                prop_assert!(token.expires_in.as_secs() > 0);
                prop_assert!(!token.access_token.expose().trim().is_empty());
                prop_assert_eq!(token.token_type, "Bearer");
            }
            Err(failure) => {
                prop_assert_eq!(failure.http_status, Some(status));
                prop_assert!(failure.detail.chars().count() <= 300);
                if status == 200 {
                    prop_assert_eq!(failure.class, FailureClass::UpstreamInvalidResponse);
                }
            }
        }
    }

    #[test]
    fn any_stored_value_is_an_envelope_or_an_error(json in any_json(), raw in ".{0,200}") {
        let _ = TokenEnvelope::from_json(&json.to_string());
        let _ = TokenEnvelope::from_json(&raw);
    }
}

/// Marks every generated value, so that the scan can look for it in any log.
const VALUE_MARKER: &str = "HostileValue7f3a";

/// The envelope's fields, each either its valid value or an arbitrary marked string.
fn envelope_with_hostile_fields() -> impl Strategy<Value = (Value, Vec<String>)> {
    let valid = TokenEnvelope::issue(
        orange_token::secret::AccessToken::new("valid-token-0123456789"),
        "Bearer",
        None,
        chrono::Utc::now(),
        std::time::Duration::from_secs(3600),
    );
    let valid: Value = serde_json::from_str(&valid.to_json()).unwrap();
    let fields = [
        "version",
        "access_token",
        "token_type",
        "scope",
        "issued_at",
        "expires_at",
        "token_id",
    ];
    prop::collection::vec(proptest::option::of(".{0,40}"), fields.len()).prop_map(move |choices| {
        let mut envelope = valid.clone();
        let mut values = Vec::new();
        for (field, choice) in fields.iter().zip(choices) {
            if let Some(text) = choice {
                let value = format!("{VALUE_MARKER}{text}");
                envelope[*field] = Value::from(value.clone());
                values.push(value);
            }
        }
        (envelope, values)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// What the store logs when it treats a stored value as missing: the reader's error,
    /// which names what is wrong and never a value, whatever the stored bytes.
    #[test]
    fn the_envelope_readers_errors_never_hold_a_stored_value(
        (envelope, values) in envelope_with_hostile_fields()
    ) {
        if let Err(error) = TokenEnvelope::from_json(&envelope.to_string()) {
            let message = error.to_string();
            prop_assert!(!message.contains(VALUE_MARKER), "{}", message);
            let escaped = serde_json::to_string(&message).unwrap();
            integration_tests::keep_for_the_scan("envelope-errors.log", format!("{escaped}\n").as_bytes())
                .expect("TEST_LOG_DIR is writable");
            // Every value starts with the marker: the scan looks for it in every log.
            integration_tests::keep_for_the_scan("envelope-values-tokens.txt", format!("{VALUE_MARKER}\n").as_bytes())
                .expect("TEST_LOG_DIR is writable");
            prop_assert!(values.iter().all(|value| !message.contains(value.as_str())));
        }
    }
}

#[test]
fn an_oversized_answer_is_refused_before_parsing() {
    let failure = classify(200, None, None).expect_err("no body is read past the limit");
    assert_eq!(failure.class, FailureClass::UpstreamInvalidResponse);
    assert!(failure.detail.contains(&MAX_BODY_BYTES.to_string()));
}
