//! The token store: one SSM `SecureString` parameter holding the token envelope.

use std::future::Future;

use aws_sdk_ssm::Client as SsmClient;
use aws_sdk_ssm::error::DisplayErrorContext;
use aws_sdk_ssm::types::ParameterType;

use crate::aws_http::error_code;
use crate::envelope::TokenEnvelope;

/// SSM or KMS failed. The message never holds the parameter's value nor AWS's own
/// message (which may name roles and ARNs; the store logs it): `reason` is AWS's error
/// code or a short sentence of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the token store failed to {operation} the token parameter ({reason})")]
pub struct StoreError {
    pub operation: &'static str,
    pub parameter_name: String,
    pub reason: String,
}

/// Where the current token lives. The functions take any implementation; production
/// uses [`SsmTokenStore`], tests may use a memory store.
pub trait TokenStore: Send + Sync {
    /// The stored envelope; `None` when there is none, it cannot be parsed, or the
    /// parameter is not a `SecureString`.
    fn load(&self) -> impl Future<Output = Result<Option<TokenEnvelope>, StoreError>> + Send;
    /// Stores the envelope, creating the parameter on first write; answers its new version.
    fn save(
        &self,
        envelope: &TokenEnvelope,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// The parameter's name, for audit events.
    fn parameter_name(&self) -> &str;
}

/// The SSM parameter, read with decryption and written as a SecureString with a KMS key.
#[derive(Debug, Clone)]
pub struct SsmTokenStore {
    client: SsmClient,
    parameter_name: String,
    kms_key_id: Option<String>,
}

impl SsmTokenStore {
    /// A store that reads and writes; writes encrypt with `kms_key_id`.
    pub fn new(
        client: SsmClient,
        parameter_name: impl Into<String>,
        kms_key_id: impl Into<String>,
    ) -> Self {
        Self {
            client,
            parameter_name: parameter_name.into(),
            kms_key_id: Some(kms_key_id.into()),
        }
    }

    /// A store for a reader (get-token), which has no key to write with.
    pub fn reader(client: SsmClient, parameter_name: impl Into<String>) -> Self {
        Self {
            client,
            parameter_name: parameter_name.into(),
            kms_key_id: None,
        }
    }

    fn error(&self, operation: &'static str, reason: String) -> StoreError {
        StoreError {
            operation,
            parameter_name: self.parameter_name.clone(),
            reason,
        }
    }
}

impl TokenStore for SsmTokenStore {
    #[tracing::instrument(skip(self), fields(parameter_name = %self.parameter_name))]
    async fn load(&self) -> Result<Option<TokenEnvelope>, StoreError> {
        let output = match self
            .client
            .get_parameter()
            .name(&self.parameter_name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => {
                let code = error_code(&error);
                let service_error = error.into_service_error();
                if service_error.is_parameter_not_found() {
                    return Ok(None);
                }
                tracing::error!(code, error = %DisplayErrorContext(&service_error), "reading the token parameter failed");
                return Err(self.error("read", code));
            }
        };
        let Some(parameter) = output.parameter() else {
            return Ok(None);
        };
        if parameter.r#type() != Some(&ParameterType::SecureString) {
            // A plain parameter was not written by refresh (which writes a KMS-encrypted
            // SecureString): whoever planted it must not get its token served.
            tracing::warn!(
                parameter_type = parameter.r#type().map_or("unknown", ParameterType::as_str),
                "the token parameter is not a SecureString; treating it as missing"
            );
            return Ok(None);
        }
        let Some(value) = parameter.value() else {
            return Ok(None);
        };
        match TokenEnvelope::from_json(value) {
            Ok(envelope) => Ok(Some(envelope)),
            Err(error) => {
                // The error names what is wrong with the shape, never the value.
                tracing::warn!(reason = %error, "stored token envelope is unreadable; treating it as missing");
                Ok(None)
            }
        }
    }

    #[tracing::instrument(skip(self, envelope), fields(parameter_name = %self.parameter_name, token_id = %envelope.token_id))]
    async fn save(&self, envelope: &TokenEnvelope) -> Result<i64, StoreError> {
        let Some(kms_key_id) = &self.kms_key_id else {
            return Err(self.error("write", "this store is read-only".to_owned()));
        };
        let value = envelope.to_json();
        let output = self
            .client
            .put_parameter()
            .name(&self.parameter_name)
            .value(value.as_str())
            .r#type(ParameterType::SecureString)
            .key_id(kms_key_id)
            .overwrite(true)
            .description("Orange SMS API OAuth token envelope (managed by the refresh function)")
            .send()
            .await
            .map_err(|error| {
                let code = error_code(&error);
                // A validation error may quote the value it refused: never let the token through.
                let detail = DisplayErrorContext(&error.into_service_error())
                    .to_string()
                    .replace(envelope.access_token.expose(), "[redacted]");
                tracing::error!(code, error = %detail, "writing the token parameter failed");
                self.error("write", code)
            })?;
        Ok(output.version())
    }

    fn parameter_name(&self) -> &str {
        &self.parameter_name
    }
}
