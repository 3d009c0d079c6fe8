//! The token envelope stored in SSM and the `token_id` fingerprint.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::secret::{AccessToken, is_b64token};

/// The only envelope version this code reads and writes.
pub const ENVELOPE_VERSION: u32 = 1;

/// The first 12 hex digits of SHA-256 of the access token: how logs, metrics and
/// callers name a token.
pub fn token_id(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    let mut id = hex::encode(&digest[..6]);
    id.truncate(12);
    id
}

/// A token with its times, as stored in the SSM parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEnvelope {
    pub access_token: AccessToken,
    pub token_type: String,
    pub scope: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub token_id: String,
}

/// Why a stored value is not a usable envelope. Messages name what is wrong and where,
/// never a value: the stored bytes may hold a token in any field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error(
        "the envelope is not JSON of the expected shape ({category} error at line {line}, column {column})"
    )]
    Shape {
        category: &'static str,
        line: usize,
        column: usize,
    },
    #[error("the envelope has another version than {ENVELOPE_VERSION}")]
    Version,
    #[error("the envelope's access_token is not 1 to 4096 characters of RFC 6750's b64token set")]
    InvalidToken,
    #[error("the envelope's token_id does not match its access_token")]
    TokenIdMismatch,
    #[error("the envelope's {field} is not an RFC 3339 time")]
    Time { field: &'static str },
    #[error("the envelope expires before it was issued")]
    TimesOutOfOrder,
}

impl From<serde_json::Error> for EnvelopeError {
    /// serde_json's own message may quote the value it refused: only its category and
    /// position are kept.
    fn from(error: serde_json::Error) -> Self {
        let category = match error.classify() {
            serde_json::error::Category::Io => "read",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "field",
            serde_json::error::Category::Eof => "truncation",
        };
        Self::Shape {
            category,
            line: error.line(),
            column: error.column(),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeJson<'a> {
    version: u32,
    access_token: &'a str,
    token_type: &'a str,
    scope: Option<&'a str>,
    issued_at: String,
    expires_at: String,
    token_id: &'a str,
}

impl TokenEnvelope {
    /// Wraps a freshly issued token: it expires `expires_in` after `issued_at`.
    pub fn issue(
        access_token: AccessToken,
        token_type: impl Into<String>,
        scope: Option<String>,
        issued_at: DateTime<Utc>,
        expires_in: Duration,
    ) -> Self {
        let lifetime = chrono::Duration::from_std(expires_in).unwrap_or(chrono::Duration::MAX);
        let expires_at = issued_at
            .checked_add_signed(lifetime)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        Self {
            token_id: token_id(access_token.expose()),
            access_token,
            token_type: token_type.into(),
            scope,
            issued_at: truncate_to_seconds(issued_at),
            expires_at: truncate_to_seconds(expires_at),
        }
    }

    /// Reads an envelope from its JSON. Any deviation from the contract's shape is an error;
    /// callers treat such a token as missing.
    pub fn from_json(json: &str) -> Result<Self, EnvelopeError> {
        let raw: EnvelopeJson<'_> = serde_json::from_str(json)?;
        if raw.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::Version);
        }
        if !is_b64token(raw.access_token) {
            return Err(EnvelopeError::InvalidToken);
        }
        if token_id(raw.access_token) != raw.token_id {
            return Err(EnvelopeError::TokenIdMismatch);
        }
        let issued_at = parse_time("issued_at", &raw.issued_at)?;
        let expires_at = parse_time("expires_at", &raw.expires_at)?;
        if expires_at < issued_at {
            return Err(EnvelopeError::TimesOutOfOrder);
        }
        Ok(Self {
            access_token: AccessToken::new(raw.access_token),
            token_type: raw.token_type.to_owned(),
            scope: raw.scope.map(str::to_owned),
            issued_at,
            expires_at,
            token_id: raw.token_id.to_owned(),
        })
    }

    /// The envelope's JSON. It holds the token: the buffer is wiped when dropped.
    pub fn to_json(&self) -> Zeroizing<String> {
        let raw = EnvelopeJson {
            version: ENVELOPE_VERSION,
            access_token: self.access_token.expose(),
            token_type: &self.token_type,
            scope: self.scope.as_deref(),
            issued_at: rfc3339(self.issued_at),
            expires_at: rfc3339(self.expires_at),
            token_id: &self.token_id,
        };
        // Serialising strings and numbers into a String cannot fail.
        Zeroizing::new(serde_json::to_string(&raw).unwrap_or_default())
    }

    /// Whole seconds of life left at `now` (negative once expired).
    pub fn expires_in(&self, now: DateTime<Utc>) -> i64 {
        (self.expires_at - now).num_seconds()
    }

    /// True when the token has at least `min_life` left at `now`.
    pub fn has_life_left(&self, now: DateTime<Utc>, min_life: Duration) -> bool {
        let min_life = chrono::Duration::from_std(min_life).unwrap_or(chrono::Duration::MAX);
        now.checked_add_signed(min_life)
            .is_some_and(|deadline| self.expires_at >= deadline)
    }
}

/// RFC 3339 UTC with whole seconds and a `Z`, as the envelope writes times.
pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn truncate_to_seconds(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(time.timestamp(), 0).unwrap_or(time)
}

fn parse_time(field: &'static str, value: &str) -> Result<DateTime<Utc>, EnvelopeError> {
    DateTime::parse_from_rfc3339(value)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| EnvelopeError::Time { field })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn envelope(expires_in_secs: u64) -> TokenEnvelope {
        TokenEnvelope::issue(
            AccessToken::new("token-abc"),
            "Bearer",
            None,
            at("2026-11-26T22:00:00Z"),
            Duration::from_secs(expires_in_secs),
        )
    }

    #[test]
    fn token_id_is_the_first_12_hex_digits_of_sha256() {
        // sha256("abc") = ba7816bf8f01cfea414140de5dae2223...
        assert_eq!(token_id("abc"), "ba7816bf8f01");
    }

    #[test]
    fn envelope_round_trips_in_the_contract_shape() {
        let envelope = envelope(3600);
        let json = envelope.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["version"], 1);
        assert_eq!(value["token_type"], "Bearer");
        assert_eq!(value["scope"], serde_json::Value::Null);
        assert_eq!(value["issued_at"], "2026-11-26T22:00:00Z");
        assert_eq!(value["expires_at"], "2026-11-26T23:00:00Z");
        assert_eq!(value["token_id"], token_id("token-abc"));
        assert_eq!(TokenEnvelope::from_json(&json).unwrap(), envelope);
    }

    #[test]
    fn unparseable_envelopes_are_errors() {
        let good = envelope(3600).to_json();
        let mut wrong_id: serde_json::Value = serde_json::from_str(&good).unwrap();
        wrong_id["token_id"] = "000000000000".into();
        let mut wrong_version: serde_json::Value = serde_json::from_str(&good).unwrap();
        wrong_version["version"] = 2.into();
        let mut bad_time: serde_json::Value = serde_json::from_str(&good).unwrap();
        bad_time["expires_at"] = "tomorrow".into();
        for bad in [
            String::new(),
            "kms:alias/aws/ssm:abc".to_owned(),
            "{}".to_owned(),
            wrong_id.to_string(),
            wrong_version.to_string(),
            bad_time.to_string(),
        ] {
            assert!(TokenEnvelope::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn life_left_and_expires_in() {
        let stored = envelope(3600);
        let now = at("2026-11-26T22:55:00Z");
        assert_eq!(stored.expires_in(now), 300);
        assert!(stored.has_life_left(now, Duration::from_secs(300)));
        assert!(!stored.has_life_left(now, Duration::from_secs(301)));
        assert_eq!(stored.expires_in(at("2026-11-26T23:00:10Z")), -10);
    }

    #[test]
    fn debug_output_never_holds_the_token() {
        let stored = envelope(3600);
        assert!(!format!("{stored:?}").contains("token-abc"));
    }
}
