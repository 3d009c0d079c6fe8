//! The client credentials, read from one Secrets Manager secret holding
//! `{"client_id": "...", "client_secret": "..."}`.

use std::fmt;

use aws_sdk_secretsmanager::Client as SecretsManagerClient;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

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
        let client_id = raw
            .client_id
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| {
                CredentialsError::Malformed("client_id is missing or empty".to_owned())
            })?;
        let client_secret = raw
            .client_secret
            .filter(|secret| !secret.expose_secret().is_empty())
            .ok_or_else(|| {
                CredentialsError::Malformed("client_secret is missing or empty".to_owned())
            })?;
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

/// Why the credentials could not be had. Never holds the secret's value.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("the credentials secret {secret_id} does not exist")]
    NotFound { secret_id: String },
    #[error("the credentials secret could not be read: {0}")]
    Unreadable(String),
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
            .map_err(|error| {
                let service_error = error.into_service_error();
                if service_error.is_resource_not_found_exception() {
                    CredentialsError::NotFound {
                        secret_id: self.secret_id.clone(),
                    }
                } else {
                    CredentialsError::Unreadable(
                        aws_sdk_secretsmanager::error::DisplayErrorContext(&service_error)
                            .to_string(),
                    )
                }
            })?;
        let json = output.secret_string().ok_or_else(|| {
            CredentialsError::Malformed("the secret has no string value".to_owned())
        })?;
        ClientCredentials::from_secret_json(json)
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
