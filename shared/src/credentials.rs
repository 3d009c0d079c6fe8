//! The client credentials, read from one Secrets Manager secret holding
//! `{"client_id": "...", "client_secret": "..."}`.

use std::fmt;

use aws_sdk_secretsmanager::Client as SecretsManagerClient;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::aws_http::{NO_ANSWER, error_code};

/// The OAuth client credentials. `Debug` never prints the secret, and it is wiped on drop.
pub struct ClientCredentials {
    pub client_id: String,
    client_secret: SecretString,
}

impl ClientCredentials {
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
        }
    }

    /// Parses the secret's JSON value.
    pub fn from_secret_json(json: &str) -> Result<Self, CredentialsError> {
        #[derive(Deserialize)]
        struct Raw {
            client_id: Option<String>,
            client_secret: Option<SecretString>,
        }
        let raw: Raw = serde_json::from_str(json).map_err(|_| {
            CredentialsError::Malformed("the secret is not a JSON object".to_owned())
        })?;
        let client_id = raw.client_id.unwrap_or_default();
        let client_secret = raw
            .client_secret
            .unwrap_or_else(|| SecretString::from(String::new()));
        check_field("client_id", &client_id)?;
        check_field("client_secret", client_secret.expose_secret())?;
        if client_id.contains(':') {
            return Err(CredentialsError::Malformed(
                "client_id must not contain ':' (Basic authentication separator)".to_owned(),
            ));
        }
        Ok(Self {
            client_id,
            client_secret,
        })
    }

    /// The secret, for the Basic authentication header only.
    pub fn client_secret(&self) -> &str {
        self.client_secret.expose_secret()
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// A credential is blank or has spaces around it: a pasting mistake that Orange would
/// answer with a rejection, found here with a clear message instead.
fn check_field(name: &str, value: &str) -> Result<(), CredentialsError> {
    if value.trim().is_empty() {
        return Err(CredentialsError::Malformed(format!(
            "{name} is missing, empty or blank"
        )));
    }
    if value.trim() != value {
        return Err(CredentialsError::Malformed(format!(
            "{name} has spaces or line breaks around it"
        )));
    }
    Ok(())
}

/// Why the credentials could not be had. Never holds the secret's value, nor AWS's
/// own message (logged where it happens); `code` is AWS's error code.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("the credentials secret does not exist")]
    NotFound,
    /// Refused for good (access denied, a deleted or disabled secret): an operator
    /// must act on the secret or its policy.
    #[error("the credentials secret could not be read ({code})")]
    Unreadable { code: String },
    /// Secrets Manager or its KMS key failed or throttled: a later run may succeed.
    #[error("Secrets Manager or its KMS key is unavailable ({code})")]
    ServiceUnavailable { code: String },
    #[error("the credentials secret is malformed: {0}")]
    Malformed(String),
}

/// Reads the credentials from Secrets Manager on each call, so that a rotated secret is
/// picked up by the next renewal.
#[derive(Debug, Clone)]
pub struct SecretsManagerCredentials {
    client: SecretsManagerClient,
    secret_id: String,
}

impl SecretsManagerCredentials {
    pub fn new(client: SecretsManagerClient, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }

    #[tracing::instrument(skip(self), fields(secret_id = %self.secret_id))]
    pub async fn load(&self) -> Result<ClientCredentials, CredentialsError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|error| from_sdk_error("GetSecretValue", error))?;
        let json = output.secret_string().ok_or_else(|| {
            CredentialsError::Malformed("the secret has no string value".to_owned())
        })?;
        ClientCredentials::from_secret_json(json)
    }

    /// When the secret's value last changed (Secrets Manager's `LastChangedDate`), read
    /// without reading the value.
    #[tracing::instrument(skip(self), fields(secret_id = %self.secret_id))]
    pub async fn last_changed(&self) -> Result<Option<DateTime<Utc>>, CredentialsError> {
        let output = self
            .client
            .describe_secret()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|error| from_sdk_error("DescribeSecret", error))?;
        Ok(output
            .last_changed_date()
            .and_then(|date| DateTime::from_timestamp(date.secs(), date.subsec_nanos())))
    }
}

/// Sorts a Secrets Manager failure: missing, refused for good, or unavailable for now.
/// AWS's message (which may name roles and ARNs) goes to the log only.
fn from_sdk_error<E, R>(operation: &str, error: SdkError<E, R>) -> CredentialsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug,
{
    let code = error_code(&error);
    tracing::error!(
        operation,
        code,
        error = %aws_sdk_secretsmanager::error::DisplayErrorContext(&error),
        "Secrets Manager failed"
    );
    match code.as_str() {
        "ResourceNotFoundException" => CredentialsError::NotFound,
        "ThrottlingException"
        | "InternalServiceError"
        | "InternalFailure"
        | "ServiceUnavailable"
        | "RequestTimeout"
        | "RequestTimeoutException" => CredentialsError::ServiceUnavailable { code },
        // GetSecretValue's KMS failures: the key is disabled, pending deletion, throttled
        // or unreachable.
        "DecryptionFailure"
        | "KMSInternalException"
        | "KMSInvalidStateException"
        | "KMSThrottlingException"
        | "KMSDisabledException" => CredentialsError::ServiceUnavailable { code },
        NO_ANSWER => CredentialsError::ServiceUnavailable { code },
        _ => CredentialsError::Unreadable { code },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_secret_and_never_prints_it() {
        let credentials = ClientCredentials::from_secret_json(
            r#"{"client_id":"abc","client_secret":"s3cr3t-value"}"#,
        )
        .unwrap();
        assert_eq!(credentials.client_id, "abc");
        assert_eq!(credentials.client_secret(), "s3cr3t-value");
        assert!(!format!("{credentials:?}").contains("s3cr3t"));
    }

    #[test]
    fn malformed_secrets_are_named_without_their_value() {
        for (json, expected) in [
            ("not json s3cr3t", "not a JSON object"),
            (r#"{"client_id":"abc"}"#, "client_secret"),
            (r#"{"client_secret":"s3cr3t"}"#, "client_id"),
            (r#"{"client_id":"","client_secret":"s3cr3t"}"#, "client_id"),
            (
                r#"{"client_id":"   ","client_secret":"s3cr3t"}"#,
                "client_id is missing, empty or blank",
            ),
            (
                r#"{"client_id":" abc ","client_secret":"s3cr3t"}"#,
                "client_id has spaces",
            ),
            (
                r#"{"client_id":"abc\n","client_secret":"s3cr3t"}"#,
                "client_id has spaces",
            ),
            (
                r#"{"client_id":"abc","client_secret":"  "}"#,
                "client_secret is missing, empty or blank",
            ),
            (
                r#"{"client_id":"abc","client_secret":""}"#,
                "client_secret is missing",
            ),
            (
                r#"{"client_id":"abc","client_secret":" s3cr3t"}"#,
                "client_secret has spaces",
            ),
            (
                r#"{"client_id":"abc","client_secret":"s3cr3t\t"}"#,
                "client_secret has spaces",
            ),
            (r#"{"client_id":"a:b","client_secret":"s3cr3t"}"#, "':'"),
            (r#"["s3cr3t"]"#, "not a JSON object"),
        ] {
            let error = ClientCredentials::from_secret_json(json).unwrap_err();
            let message = error.to_string();
            assert!(message.contains(expected), "{json}: {message}");
            assert!(!message.contains("s3cr3t"), "{json}: {message}");
        }
    }
}
