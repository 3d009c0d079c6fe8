//! The answer of a well-behaved Orange token endpoint: rate limit, client
//! authentication, content negotiation, the form, then a fresh token.

use std::collections::VecDeque;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore as _;
use serde_json::{Value, json};

use crate::http::{Request, Response};
use crate::orange_errors::{invalid_client, oauth_error, orange_code, too_many_requests};
use crate::state::Shared;
use crate::{MockConfig, RateLimit};

/// The answer of a well-behaved Orange endpoint.
pub(crate) fn normal_token_answer(shared: &Shared, request: &Request) -> Response {
    let config = &shared.config;
    if let Some(limit) = &config.rate_limit {
        let admitted = admit(&mut shared.state().rate_window, limit);
        if let Err(retry_after) = admitted {
            return too_many_requests(Some(retry_after));
        }
    }
    // A repeated Authorization or Content-Type header is refused; repeated
    // Accept headers form one list, as HTTP defines.
    let regenerated = shared.state().regenerated_secret.clone();
    let accepted = match regenerated {
        Some(client_secret) => &MockConfig {
            client_secret,
            ..config.clone()
        },
        None => config,
    };
    if !authorized(request.single_header("authorization"), accepted) {
        return invalid_client();
    }
    let accept = request.header_values("accept");
    if accept.is_empty() || !accepts_json(Some(&accept.join(","))) {
        return orange_code(406, 62);
    }
    if !is_form(request.single_header("content-type")) {
        return oauth_error(
            400,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        );
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    for (i, (name, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(n, _)| n == name) {
            return oauth_error(
                400,
                "invalid_request",
                &format!("Repeated parameter: {name}"),
            );
        }
    }
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    match field("grant_type") {
        None | Some("") => {
            return oauth_error(
                400,
                "invalid_request",
                "Missing required parameter: grant_type",
            );
        }
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                400,
                "unsupported_grant_type",
                "The grant type is not supported; use client_credentials",
            );
        }
    }
    let token = new_token();
    shared.issue(&token);
    let mut body = json!({
        "token_type": "Bearer",
        "access_token": token,
        "expires_in": config.expires_in,
    });
    if let Some(scope) = field("scope") {
        body["scope"] = Value::String(scope.to_string());
    }
    Response::json(200, &body)
}

/// Sliding-window admission: `Ok` and counts the request when fewer than
/// `max_requests` were admitted in the last `window`; otherwise the whole
/// seconds (at least 1) until a slot frees up. Refused requests do not count.
fn admit(window: &mut VecDeque<Instant>, limit: &RateLimit) -> Result<(), u64> {
    let now = Instant::now();
    while let Some(&oldest) = window.front() {
        if now.duration_since(oldest) >= limit.window {
            window.pop_front();
        } else {
            break;
        }
    }
    if window.len() < limit.max_requests as usize {
        window.push_back(now);
        return Ok(());
    }
    let wait = match window.front() {
        Some(&oldest) => (oldest + limit.window).saturating_duration_since(now),
        None => limit.window,
    };
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Err(secs.max(1))
}

fn authorized(header: Option<&str>, config: &MockConfig) -> bool {
    let Some((scheme, encoded)) = header.and_then(|h| h.trim().split_once(' ')) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return false;
    };
    match decoded.split_once(':') {
        Some((id, secret)) => id == config.client_id && secret == config.client_secret,
        None => false,
    }
}

/// Whether an `Accept` header allows `application/json`. A missing header
/// does not (Orange answers 406 without one).
fn accepts_json(header: Option<&str>) -> bool {
    let Some(header) = header else {
        return false;
    };
    header.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim().to_ascii_lowercase();
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused && matches!(media.as_str(), "application/json" | "application/*" | "*/*")
    })
}

fn is_form(header: Option<&str>) -> bool {
    header.is_some_and(|h| {
        h.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// A fresh token: 30 random bytes, URL-safe base64 (40 characters).
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 30];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn accept_header_matching() {
        assert!(accepts_json(Some("application/json")));
        assert!(accepts_json(Some("*/*")));
        assert!(accepts_json(Some("text/html, application/json;q=0.9")));
        assert!(accepts_json(Some("Application/JSON")));
        assert!(accepts_json(Some("application/*")));
        assert!(!accepts_json(None));
        assert!(!accepts_json(Some("text/html")));
        assert!(!accepts_json(Some("application/json;q=0")));
        assert!(!accepts_json(Some("application/xml")));
    }

    #[test]
    fn tokens_are_40_url_safe_chars_and_unique() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 40);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
    }

    #[test]
    fn sliding_window_admission() {
        let limit = RateLimit::new(2, Duration::from_secs(10));
        let mut window = VecDeque::new();
        assert_eq!(admit(&mut window, &limit), Ok(()));
        assert_eq!(admit(&mut window, &limit), Ok(()));
        let retry = admit(&mut window, &limit);
        assert!(
            matches!(retry, Err(s) if (1..=10).contains(&s)),
            "{retry:?}"
        );
        // Refused requests are not counted.
        assert_eq!(window.len(), 2);
        let none = RateLimit::new(0, Duration::from_millis(1500));
        assert_eq!(admit(&mut VecDeque::new(), &none), Err(2));
    }

    #[test]
    fn basic_auth_parsing() {
        let config = MockConfig::default();
        let good = format!(
            "Basic {}",
            STANDARD.encode("test-client-id:test-client-secret")
        );
        assert!(authorized(Some(&good), &config));
        let lower = format!(
            "basic {}",
            STANDARD.encode("test-client-id:test-client-secret")
        );
        assert!(authorized(Some(&lower), &config));
        let wrong = format!("Basic {}", STANDARD.encode("test-client-id:nope"));
        assert!(!authorized(Some(&wrong), &config));
        assert!(!authorized(Some("Bearer abc"), &config));
        assert!(!authorized(Some("Basic !!!"), &config));
        assert!(!authorized(None, &config));
    }
}
