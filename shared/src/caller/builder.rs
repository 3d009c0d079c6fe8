//! Building a [`TokenClient`]: its options, from code or from the environment, checked
//! once.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{
    BUFFER_VARIABLE, Cache, Clock, ConfigError, DEFAULT_BUFFER, FUNCTION_NAME_VARIABLE, Inner,
    MAX_MIN_TTL_SECONDS, SystemClock, TokenClient,
};

/// Builds a [`TokenClient`]; see [`TokenClient::builder`].
pub struct TokenClientBuilder {
    lambda: aws_sdk_lambda::Client,
    function_name: String,
    caller: Option<String>,
    buffer: Duration,
    min_ttl_seconds: Option<u32>,
    clock: Arc<dyn Clock>,
}

impl TokenClient {
    /// A builder for a client of the get-token function `function_name` (a name, an
    /// ARN, or a partial ARN, optionally with `:alias`), with the defaults: a 5-minute
    /// buffer, no `min_ttl_seconds`, no `caller` name.
    ///
    /// The Lambda client is used as configured (region, credentials, timeouts),
    /// except that the invokes of get-token are never retried by the SDK (see
    /// [`TokenClient::access_token`]).
    pub fn builder(
        lambda: aws_sdk_lambda::Client,
        function_name: impl Into<String>,
    ) -> TokenClientBuilder {
        TokenClientBuilder {
            lambda,
            function_name: function_name.into(),
            caller: None,
            buffer: DEFAULT_BUFFER,
            min_ttl_seconds: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// A client of the get-token function named by `GET_TOKEN_FUNCTION_NAME` (the
    /// stack's `GetTokenFunctionName` output), with the buffer from
    /// `OAUTH_EXPIRY_BUFFER_MINUTES` (default 5) and, as its `caller` name, this
    /// Lambda's own name (`AWS_LAMBDA_FUNCTION_NAME`). See
    /// [`TokenClientBuilder::with_env`].
    pub fn from_env(lambda: aws_sdk_lambda::Client) -> Result<Self, ConfigError> {
        Self::from_vars(lambda, |name| std::env::var(name).ok())
    }

    pub(super) fn from_vars(
        lambda: aws_sdk_lambda::Client,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let function_name = var(FUNCTION_NAME_VARIABLE)
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .ok_or_else(|| ConfigError::InvalidVariable {
                variable: FUNCTION_NAME_VARIABLE,
                reason: "it is required: set it to the get-token function's name or ARN (the stack output GetTokenFunctionName)".to_owned(),
            })?;
        Self::builder(lambda, function_name).with_vars(var)?.build()
    }
}

impl TokenClientBuilder {
    /// The name sent as `caller` in every request (get-token's audit log shows it).
    pub fn caller(mut self, caller: impl Into<String>) -> Self {
        self.caller = Some(caller.into());
        self
    }

    /// Never serve a token with this little life left (default 5 minutes, at most
    /// 30; rounded up to whole seconds).
    pub fn buffer(mut self, buffer: Duration) -> Self {
        self.buffer = buffer;
        self
    }

    /// Ask for, and serve only, tokens with at least this many seconds left, when
    /// more than the buffer (0 to 1800).
    pub fn min_ttl_seconds(mut self, min_ttl_seconds: u32) -> Self {
        self.min_ttl_seconds = Some(min_ttl_seconds);
        self
    }

    /// The clock the cache judges freshness by (default: the system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Reads the process environment:
    /// - `OAUTH_EXPIRY_BUFFER_MINUTES` (whole minutes, 0 to 30): the buffer; when unset
    ///   or empty the buffer is left as is (5 minutes by default);
    /// - `AWS_LAMBDA_FUNCTION_NAME` (set by Lambda): the `caller` name, unless one
    ///   was set already.
    pub fn with_env(self) -> Result<Self, ConfigError> {
        self.with_vars(|name| std::env::var(name).ok())
    }

    pub(super) fn with_vars(
        mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let value = |name: &str| {
            var(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        if let Some(minutes) = value(BUFFER_VARIABLE) {
            match minutes.parse::<u64>() {
                Ok(minutes @ 0..=30) => self.buffer = Duration::from_secs(minutes * 60),
                _ => {
                    return Err(ConfigError::InvalidVariable {
                        variable: BUFFER_VARIABLE,
                        reason: "expected a whole number of minutes from 0 to 30".to_owned(),
                    });
                }
            }
        }
        if self.caller.is_none() {
            self.caller = value("AWS_LAMBDA_FUNCTION_NAME");
        }
        Ok(self)
    }

    /// Checks the options and builds the client.
    pub fn build(self) -> Result<TokenClient, ConfigError> {
        let function_name = self.function_name.trim().to_owned();
        if function_name.is_empty() {
            return Err(ConfigError::InvalidOption {
                option: "function_name",
                reason: "the get-token function name is empty".to_owned(),
            });
        }
        let caller = match self.caller {
            None => None,
            Some(caller) if caller.trim().is_empty() => {
                return Err(ConfigError::InvalidOption {
                    option: "caller",
                    reason: "the caller name is empty".to_owned(),
                });
            }
            Some(caller) => Some(caller.trim().to_owned()),
        };
        let buffer_seconds = self
            .buffer
            .as_secs()
            .saturating_add(u64::from(self.buffer.subsec_nanos() > 0));
        let buffer_seconds = match u32::try_from(buffer_seconds) {
            Ok(seconds) if seconds <= MAX_MIN_TTL_SECONDS => seconds,
            _ => {
                return Err(ConfigError::InvalidOption {
                    option: "buffer",
                    reason: "at most 30 minutes".to_owned(),
                });
            }
        };
        if let Some(min_ttl_seconds) = self.min_ttl_seconds
            && min_ttl_seconds > MAX_MIN_TTL_SECONDS
        {
            return Err(ConfigError::InvalidOption {
                option: "min_ttl_seconds",
                reason: format!("from 0 to {MAX_MIN_TTL_SECONDS}"),
            });
        }
        let threshold_seconds = buffer_seconds.max(self.min_ttl_seconds.unwrap_or(0));
        Ok(TokenClient {
            inner: Arc::new(Inner {
                lambda: self.lambda,
                function_name,
                caller,
                buffer: self.buffer,
                min_ttl_seconds: self.min_ttl_seconds,
                threshold_seconds,
                clock: self.clock,
                cache: Mutex::new(Cache::default()),
                refill: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

impl fmt::Debug for TokenClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenClientBuilder")
            .field("function_name", &self.function_name)
            .field("caller", &self.caller)
            .field("buffer", &self.buffer)
            .field("min_ttl_seconds", &self.min_ttl_seconds)
            .finish_non_exhaustive()
    }
}
