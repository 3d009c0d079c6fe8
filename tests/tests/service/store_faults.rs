//! SSM faults the emulator cannot show (KMS denial, SSM outages), injected with
//! `aws-smithy-mocks` on the real `aws_sdk_ssm::Client`; Secrets Manager and the token
//! endpoint stay real (moto and the mock endpoint).

use aws_sdk_ssm::Client as SsmClient;
use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
use aws_sdk_ssm::operation::put_parameter::PutParameterError;
use aws_sdk_ssm::types::error::{InternalServerError, InvalidKeyId};
use aws_sdk_ssm::types::{Parameter, ParameterType};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use chrono::Utc;
use serde_json::json;

use orange_token::envelope::TokenEnvelope;
use orange_token::secret::AccessToken;

use crate::harness::{RefreshHarness, RefreshOptions};

fn expiring_envelope_json() -> String {
    // Issued 50 minutes ago: inside the 20-minute threshold, still valid.
    TokenEnvelope::issue(
        AccessToken::new("old-token-still-valid"),
        "Bearer",
        None,
        Utc::now() - chrono::Duration::minutes(50),
        std::time::Duration::from_secs(3600),
    )
    .to_json()
    .to_string()
}

#[tokio::test]
async fn a_failed_write_after_a_good_token_is_store_unavailable_and_keeps_the_old_token() {
    let stored = expiring_envelope_json();
    let read = {
        let stored = stored.clone();
        mock!(SsmClient::get_parameter).then_output(move || {
            GetParameterOutput::builder()
                .parameter(
                    Parameter::builder()
                        .r#type(ParameterType::SecureString)
                        .value(stored.clone())
                        .build(),
                )
                .build()
        })
    };
    let write = mock!(SsmClient::put_parameter).then_error(|| {
        PutParameterError::InvalidKeyId(
            InvalidKeyId::builder()
                .message("KMS key access denied")
                .build(),
        )
    });
    let ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, &[&read, &write]);
    let harness = RefreshHarness::with(RefreshOptions {
        ssm: Some(ssm),
        ..RefreshOptions::default()
    })
    .await;

    let error = harness.scheduled().await.expect_err("the write fails");

    assert_eq!(error.error_type(), "StoreUnavailable");
    assert_eq!(
        harness.mock.token_requests(),
        1,
        "the token was fetched once"
    );
    assert_eq!(write.num_calls(), 1, "one write, no retry that could race");
    assert_eq!(
        harness.audit_event_names(),
        ["TOKEN_GENERATED", "TOKEN_STORE_FAILED"]
    );
    let failed = &harness.audit_events()[1];
    assert_eq!(failed["parameter_name"], harness.parameter_name.as_str());
    let audited = failed["error"].as_str().unwrap();
    assert!(audited.contains("failed to write"), "{audited}");
    assert!(
        !audited.contains("KMS key access denied")
            && !error.to_string().contains("KMS key access denied"),
        "AWS's own message goes to the log only: {audited}"
    );
    assert!(harness.all_log_text().contains("KMS key access denied"));
    assert!(!error.to_string().contains("old-token-still-valid"));
    harness.assert_no_secret_logged();
}

#[tokio::test]
async fn a_failed_read_or_denied_decryption_is_store_unavailable_and_fetches_nothing() {
    let decryption_denied = || {
        GetParameterError::InvalidKeyId(
            InvalidKeyId::builder()
                .message("User is not authorized to perform kms:Decrypt")
                .build(),
        )
    };
    let outage = || GetParameterError::InternalServerError(InternalServerError::builder().build());
    let faults: [fn() -> GetParameterError; 2] = [decryption_denied, outage];
    for fault in faults {
        let read = mock!(SsmClient::get_parameter).then_error(fault);
        let write = mock!(SsmClient::put_parameter).then_error(|| {
            PutParameterError::InternalServerError(InternalServerError::builder().build())
        });
        let ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, &[&read, &write]);
        let harness = RefreshHarness::with(RefreshOptions {
            ssm: Some(ssm),
            ..RefreshOptions::default()
        })
        .await;

        let error = harness.invoke(json!({})).await.expect_err("the read fails");

        assert_eq!(error.error_type(), "StoreUnavailable");
        assert_eq!(harness.mock.token_requests(), 0);
        assert_eq!(
            write.num_calls(),
            0,
            "nothing is written over an unreadable store"
        );
        assert_eq!(harness.audit_event_names(), ["TOKEN_STORE_FAILED"]);
        let metrics = harness.metric_records();
        assert_eq!(metrics[0]["RefreshFailure"], 1);
        assert_eq!(metrics[0]["ErrorType"], "StoreUnavailable");
    }
}
