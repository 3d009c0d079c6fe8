//! The functions' errors, each with the contract's stable `errorType`.

use lambda_runtime::Diagnostic;

use crate::config::ConfigError;
use crate::credentials::CredentialsError;
use crate::endpoint::EndpointError;
use crate::protocol::error_type;
use crate::store::StoreError;

/// A failed invocation. `Display` is the `errorMessage`: a sentence with no secret and no token.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("no servable token: {0}")]
    TokenUnavailable(String),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Configuration(#[from] ConfigError),
}

impl ServiceError {
    /// The contract's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => error_type::INVALID_REQUEST,
            Self::TokenUnavailable(_) => error_type::TOKEN_UNAVAILABLE,
            // Secrets Manager or KMS throttling or failing is an outage of a store, not a
            // problem with the secret: operators look at the service, not the value.
            Self::Credentials(CredentialsError::ServiceUnavailable { .. }) => {
                error_type::STORE_UNAVAILABLE
            }
            Self::Credentials(_) => error_type::CREDENTIALS_UNAVAILABLE,
            Self::Endpoint(error) => error.last.class.error_type(),
            Self::Store(_) => error_type::STORE_UNAVAILABLE,
            Self::Configuration(_) => error_type::CONFIGURATION,
        }
    }
}

impl ServiceError {
    /// The function's error answer for the invocation `request_id`: the stable
    /// `errorMessage` sentence and where its details are logged.
    pub fn answer(&self, request_id: &str) -> Diagnostic {
        Diagnostic {
            error_type: self.error_type().to_owned(),
            error_message: format!(
                "{self} (details in the function's log, request id {request_id})"
            ),
        }
    }
}

impl From<ServiceError> for Diagnostic {
    fn from(error: ServiceError) -> Self {
        Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::{AttemptFailure, FailureClass};

    fn endpoint(class: FailureClass) -> ServiceError {
        ServiceError::Endpoint(EndpointError {
            last: AttemptFailure {
                class,
                http_status: Some(500),
                retry_after: None,
                detail: "HTTP 500".into(),
            },
            attempts: 3,
        })
    }

    #[test]
    fn every_failure_has_the_contracts_error_type() {
        let cases = [
            (ServiceError::InvalidRequest("x".into()), "InvalidRequest"),
            (
                ServiceError::TokenUnavailable("x".into()),
                "TokenUnavailable",
            ),
            (
                ServiceError::Credentials(CredentialsError::Malformed("x".into())),
                "CredentialsUnavailable",
            ),
            (
                ServiceError::Credentials(CredentialsError::NotFound),
                "CredentialsUnavailable",
            ),
            (
                ServiceError::Credentials(CredentialsError::Unreadable {
                    code: "AccessDeniedException".into(),
                }),
                "CredentialsUnavailable",
            ),
            (
                ServiceError::Credentials(CredentialsError::ServiceUnavailable {
                    code: "ThrottlingException".into(),
                }),
                "StoreUnavailable",
            ),
            (
                ServiceError::Credentials(CredentialsError::ServiceUnavailable {
                    code: "KMSDisabledException".into(),
                }),
                "StoreUnavailable",
            ),
            (
                endpoint(FailureClass::UpstreamUnavailable),
                "UpstreamUnavailable",
            ),
            (endpoint(FailureClass::Throttled), "UpstreamUnavailable"),
            (
                endpoint(FailureClass::CredentialsRejected),
                "CredentialsRejected",
            ),
            (endpoint(FailureClass::Configuration), "Configuration"),
            (
                endpoint(FailureClass::UpstreamInvalidResponse),
                "UpstreamInvalidResponse",
            ),
            (
                ServiceError::Store(StoreError {
                    operation: "read",
                    parameter_name: "/p".into(),
                    reason: "denied".into(),
                }),
                "StoreUnavailable",
            ),
            (
                ServiceError::Configuration(ConfigError::Missing { variable: "X" }),
                "Configuration",
            ),
        ];
        for (error, expected) in cases {
            let diagnostic = Diagnostic::from(error);
            assert_eq!(diagnostic.error_type, expected);
            assert!(!diagnostic.error_message.is_empty());
        }
    }

    #[test]
    fn an_answer_is_our_sentence_and_the_request_id_never_awss_message() {
        let error = ServiceError::Credentials(CredentialsError::Unreadable {
            code: "AccessDeniedException".into(),
        });
        let answer = error.answer("8f2c-req");
        assert_eq!(answer.error_type, "CredentialsUnavailable");
        assert_eq!(
            answer.error_message,
            "the credentials secret could not be read (AccessDeniedException) (details in the function's log, request id 8f2c-req)"
        );
        let store = ServiceError::Store(StoreError {
            operation: "read",
            parameter_name: "/orange-sms/oauth/access-token".into(),
            reason: "AccessDeniedException".into(),
        });
        let message = store.answer("r").error_message;
        assert!(!message.contains("/orange-sms"), "{message}");
        assert!(message.contains("request id r"), "{message}");
    }
}
