//! A token answer's body: the checks a 200 must pass to be an [`IssuedToken`].

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::secret::{AccessToken, MAX_ACCESS_TOKEN_CHARS, is_b64token};

/// The longest token lifetime accepted (24 hours): Orange's tokens live about an hour,
/// and a far-off `expires_at` would keep a token stored (and served) long after Orange
/// stopped honouring it.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// A token as the endpoint issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: AccessToken,
    pub token_type: String,
    pub expires_in: Duration,
    pub scope: Option<String>,
}

#[derive(Deserialize)]
struct TokenJson {
    access_token: Option<Value>,
    token_type: Option<Value>,
    expires_in: Option<Value>,
    scope: Option<Value>,
}

/// The token in a 200 answer's body, or why there is none.
pub(super) fn parse_token(body: &[u8]) -> Result<IssuedToken, String> {
    let json: TokenJson = serde_json::from_slice(body)
        .map_err(|_| "the 200 answer is not a JSON token object".to_owned())?;
    // The reasons name what is wrong, never the value: a refused token is logged nowhere.
    let access_token = match json.access_token {
        Some(Value::String(token)) if is_b64token(&token) => AccessToken::new(token),
        Some(Value::String(token)) if token.is_empty() => {
            return Err("access_token is empty".to_owned());
        }
        Some(Value::String(token)) if token.len() > MAX_ACCESS_TOKEN_CHARS => {
            return Err(format!(
                "access_token is longer than {MAX_ACCESS_TOKEN_CHARS} characters"
            ));
        }
        Some(Value::String(_)) => {
            return Err("access_token holds characters outside RFC 6750's b64token set".to_owned());
        }
        _ => return Err("access_token is missing or not a string".to_owned()),
    };
    let token_type = match json.token_type {
        Some(Value::String(kind)) if kind.eq_ignore_ascii_case("bearer") => "Bearer".to_owned(),
        Some(Value::String(_)) => return Err("token_type is not Bearer".to_owned()),
        _ => return Err("token_type is missing".to_owned()),
    };
    let expires_in = match json.expires_in {
        Some(Value::Number(number)) => number.as_u64(),
        Some(Value::String(digits))
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            digits.parse::<u64>().ok()
        }
        _ => None,
    }
    .filter(|seconds| (1..=MAX_TOKEN_LIFETIME.as_secs()).contains(seconds))
    .ok_or_else(|| {
        format!(
            "expires_in is not a whole number of seconds from 1 to {}",
            MAX_TOKEN_LIFETIME.as_secs()
        )
    })?;
    let scope = match json.scope {
        Some(Value::String(scope)) if !scope.is_empty() => Some(scope),
        _ => None,
    };
    Ok(IssuedToken {
        access_token,
        token_type,
        expires_in: Duration::from_secs(expires_in),
        scope,
    })
}
