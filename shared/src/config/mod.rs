//! Configuration from the contract's environment variables, validated at start-up.
//!
//! A missing or malformed variable stops the function at init with a [`ConfigError`]
//! that names the variable. No variable read here holds a secret.

mod vars;

use std::time::Duration;

use url::Url;

pub use vars::{ProcessEnv, VarSource};

use vars::{boolean, minutes, optional, required, whole_number};

/// Default token endpoint of Orange's OAuth v3 API.
pub const DEFAULT_TOKEN_ENDPOINT: &str = "https://api.orange.com/oauth/v3/token";
/// Default KMS key for the SecureString.
pub const DEFAULT_KMS_KEY_ID: &str = "alias/aws/ssm";
/// Renew when the stored token has this little life left. With the default buffer (5 min)
/// and the template's default schedule (every 4 min), 15 minutes leave
/// floor(15 / 4) = 3 scheduled attempts before a token gets too old to serve.
pub const DEFAULT_REFRESH_THRESHOLD_MINUTES: u64 = 20;
/// Never hand out a token with less life left than this.
pub const DEFAULT_EXPIRY_BUFFER_MINUTES: u64 = 5;
/// Per-attempt timeout of a token request.
pub const DEFAULT_HTTP_TIMEOUT_SECONDS: u64 = 10;
/// A forced renewal is refused while the stored token is younger than this.
pub const DEFAULT_MIN_FORCE_INTERVAL_SECONDS: u64 = 60;

/// A configuration problem, naming the variable at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {variable} is required but not set")]
    Missing { variable: &'static str },
    #[error("environment variable {variable} is invalid: {reason}")]
    Invalid {
        variable: &'static str,
        reason: String,
    },
}

/// Configuration of the `refresh` function.
#[derive(Debug, Clone)]
pub struct RefreshConfig {
    pub token_endpoint: Url,
    pub scope: Option<String>,
    pub credentials_secret_id: String,
    pub parameter_name: String,
    pub kms_key_id: String,
    pub refresh_threshold: Duration,
    /// Tokens whose lifetime is not longer than this are refused on receipt: they
    /// could never be served.
    pub expiry_buffer: Duration,
    /// A forced renewal of a token younger than this is refused (`recent`).
    pub min_force_interval: Duration,
    pub http_timeout: Duration,
}

impl RefreshConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(vars: &impl VarSource) -> Result<Self, ConfigError> {
        let endpoint = optional(vars, "ORANGE_TOKEN_ENDPOINT")
            .unwrap_or_else(|| DEFAULT_TOKEN_ENDPOINT.to_owned());
        Ok(Self {
            token_endpoint: parse_token_endpoint("ORANGE_TOKEN_ENDPOINT", &endpoint)?,
            scope: optional(vars, "ORANGE_OAUTH_SCOPE"),
            credentials_secret_id: required(vars, "ORANGE_CREDENTIALS_SECRET_ID")?,
            parameter_name: parameter_name(vars)?,
            kms_key_id: optional(vars, "TOKEN_KMS_KEY_ID")
                .unwrap_or_else(|| DEFAULT_KMS_KEY_ID.to_owned()),
            refresh_threshold: minutes(
                vars,
                "OAUTH_REFRESH_THRESHOLD_MINUTES",
                DEFAULT_REFRESH_THRESHOLD_MINUTES,
                1..=50,
            )?,
            expiry_buffer: expiry_buffer(vars)?,
            min_force_interval: Duration::from_secs(whole_number(
                vars,
                "OAUTH_MIN_FORCE_INTERVAL_SECONDS",
                DEFAULT_MIN_FORCE_INTERVAL_SECONDS,
                0..=600,
            )?),
            http_timeout: Duration::from_secs(whole_number(
                vars,
                "ORANGE_HTTP_TIMEOUT_SECONDS",
                DEFAULT_HTTP_TIMEOUT_SECONDS,
                1..=60,
            )?),
        })
    }
}

/// Configuration of the `get-token` function.
#[derive(Debug, Clone)]
pub struct GetTokenConfig {
    pub parameter_name: String,
    pub expiry_buffer: Duration,
    pub cache_enabled: bool,
    pub refresh_function_name: String,
}

impl GetTokenConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(vars: &impl VarSource) -> Result<Self, ConfigError> {
        Ok(Self {
            parameter_name: parameter_name(vars)?,
            expiry_buffer: expiry_buffer(vars)?,
            cache_enabled: boolean(vars, "OAUTH_CACHE_ENABLED", true)?,
            refresh_function_name: required(vars, "REFRESH_FUNCTION_NAME")?,
        })
    }
}

/// `OAUTH_EXPIRY_BUFFER_MINUTES` (0 to 30, default 5): get-token serves no token with
/// less life left, and refresh accepts no token that lives no longer. (The caller
/// library reads the same variable with its own parser: it links no server code.)
pub fn expiry_buffer(vars: &impl VarSource) -> Result<Duration, ConfigError> {
    minutes(
        vars,
        "OAUTH_EXPIRY_BUFFER_MINUTES",
        DEFAULT_EXPIRY_BUFFER_MINUTES,
        0..=30,
    )
}

/// The token endpoint must be https, except for a loopback host (local runs and tests).
pub fn parse_token_endpoint(variable: &'static str, value: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        variable,
        reason: reason.to_owned(),
    };
    let url = Url::parse(value).map_err(|_| invalid("not a valid URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials in the URL"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(invalid(
            "must use https (plain http only for a loopback host)",
        )),
        _ => Err(invalid("must be an https URL")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn parameter_name(vars: &impl VarSource) -> Result<String, ConfigError> {
    let variable = "TOKEN_PARAMETER_NAME";
    let name = required(vars, variable)?;
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c));
    if !valid_chars || name.len() > 1011 {
        return Err(ConfigError::Invalid {
            variable,
            reason: "an SSM parameter name holds only letters, digits, '_', '.', '-' and '/'"
                .to_owned(),
        });
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const REFRESH_MINIMUM: &[(&str, &str)] = &[
        ("ORANGE_CREDENTIALS_SECRET_ID", "orange/credentials"),
        ("TOKEN_PARAMETER_NAME", "/orange-sms/oauth/access-token"),
    ];

    #[test]
    fn refresh_defaults_follow_the_contract() {
        let config = RefreshConfig::from_source(&vars(REFRESH_MINIMUM)).unwrap();
        assert_eq!(config.token_endpoint.as_str(), DEFAULT_TOKEN_ENDPOINT);
        assert_eq!(config.scope, None);
        assert_eq!(config.kms_key_id, "alias/aws/ssm");
        assert_eq!(config.refresh_threshold, Duration::from_secs(20 * 60));
        assert_eq!(config.http_timeout, Duration::from_secs(10));
        assert_eq!(config.expiry_buffer, Duration::from_secs(5 * 60));
        assert_eq!(config.min_force_interval, Duration::from_secs(60));
    }

    #[test]
    fn the_force_interval_takes_0_to_600_seconds() {
        for (value, seconds) in [("0", 0), ("600", 600), ("90", 90)] {
            let mut pairs = REFRESH_MINIMUM.to_vec();
            pairs.push(("OAUTH_MIN_FORCE_INTERVAL_SECONDS", value));
            let config = RefreshConfig::from_source(&vars(&pairs)).unwrap();
            assert_eq!(config.min_force_interval, Duration::from_secs(seconds));
        }
        for value in ["601", "-1", "1.5", "soon"] {
            let mut pairs = REFRESH_MINIMUM.to_vec();
            pairs.push(("OAUTH_MIN_FORCE_INTERVAL_SECONDS", value));
            let error = RefreshConfig::from_source(&vars(&pairs)).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("OAUTH_MIN_FORCE_INTERVAL_SECONDS"),
                "{value}: {error}"
            );
        }
    }

    #[test]
    fn default_threshold_and_buffer_leave_three_scheduled_attempts_at_four_minutes() {
        let window = DEFAULT_REFRESH_THRESHOLD_MINUTES - DEFAULT_EXPIRY_BUFFER_MINUTES;
        assert!(window / 4 >= 3);
    }

    #[test]
    fn missing_required_variable_is_named() {
        let error =
            RefreshConfig::from_source(&vars(&[("TOKEN_PARAMETER_NAME", "/p")])).unwrap_err();
        assert_eq!(
            error,
            ConfigError::Missing {
                variable: "ORANGE_CREDENTIALS_SECRET_ID"
            }
        );
        assert!(error.to_string().contains("ORANGE_CREDENTIALS_SECRET_ID"));
        let error =
            GetTokenConfig::from_source(&vars(&[("TOKEN_PARAMETER_NAME", "/p")])).unwrap_err();
        assert!(error.to_string().contains("REFRESH_FUNCTION_NAME"));
    }

    #[test]
    fn endpoint_must_be_https_unless_loopback() {
        for ok in [
            "https://api.orange.com/oauth/v3/token",
            "http://127.0.0.1:8900/oauth/v3/token",
            "http://localhost:1/t",
            "http://[::1]:8900/t",
        ] {
            assert!(parse_token_endpoint("V", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.orange.com/oauth/v3/token",
            "http://10.0.0.1/t",
            "ftp://127.0.0.1/t",
            "not a url",
            "https://user:pass@api.orange.com/t",
        ] {
            let error = parse_token_endpoint("ORANGE_TOKEN_ENDPOINT", bad).unwrap_err();
            assert!(error.to_string().contains("ORANGE_TOKEN_ENDPOINT"), "{bad}");
            assert!(!error.to_string().contains("pass"), "{bad}");
        }
    }

    #[test]
    fn cache_flag_accepts_any_case_and_rejects_the_rest() {
        let base = [
            ("TOKEN_PARAMETER_NAME", "/p"),
            ("REFRESH_FUNCTION_NAME", "refresh"),
        ];
        for (value, expected) in [("TRUE", true), ("false", false), ("False", false)] {
            let mut pairs = base.to_vec();
            pairs.push(("OAUTH_CACHE_ENABLED", value));
            let config = GetTokenConfig::from_source(&vars(&pairs)).unwrap();
            assert_eq!(config.cache_enabled, expected);
        }
        let mut pairs = base.to_vec();
        pairs.push(("OAUTH_CACHE_ENABLED", "yes"));
        let error = GetTokenConfig::from_source(&vars(&pairs)).unwrap_err();
        assert!(matches!(
            error,
            ConfigError::Invalid {
                variable: "OAUTH_CACHE_ENABLED",
                ..
            }
        ));
        let config = GetTokenConfig::from_source(&vars(&base)).unwrap();
        assert!(config.cache_enabled);
        assert_eq!(config.expiry_buffer, Duration::from_secs(300));
    }

    #[test]
    fn malformed_numbers_are_configuration_errors() {
        let mut pairs = REFRESH_MINIMUM.to_vec();
        pairs.push(("OAUTH_REFRESH_THRESHOLD_MINUTES", "soon"));
        let error = RefreshConfig::from_source(&vars(&pairs)).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("OAUTH_REFRESH_THRESHOLD_MINUTES")
        );
        let mut pairs = REFRESH_MINIMUM.to_vec();
        pairs.push(("ORANGE_HTTP_TIMEOUT_SECONDS", "0"));
        assert!(RefreshConfig::from_source(&vars(&pairs)).is_err());
    }

    #[test]
    fn empty_scope_is_unset() {
        let mut pairs = REFRESH_MINIMUM.to_vec();
        pairs.push(("ORANGE_OAUTH_SCOPE", ""));
        assert_eq!(
            RefreshConfig::from_source(&vars(&pairs)).unwrap().scope,
            None
        );
    }
}
