//! The token the in-process benchmarks serve. The stores and the refresh function they
//! plug into get-token's seams are the workspace's test doubles
//! (`orange_token::test_support`, `get_token::test_support`).

use std::time::Duration;

use chrono::Utc;

use orange_token::envelope::TokenEnvelope;
use orange_token::secret::AccessToken;

/// A token shaped like Orange's (64 URL-safe characters); never a real one.
pub fn sample_access_token() -> String {
    "bEnChTokEn0a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXyZ-_0123456789abcdef".to_owned()
}

/// A token issued now, living `lifetime`.
pub fn fresh_envelope(lifetime: Duration) -> TokenEnvelope {
    TokenEnvelope::issue(
        AccessToken::new(sample_access_token()),
        "Bearer",
        None,
        Utc::now(),
        lifetime,
    )
}
