//! Request handling: the token endpoint, its faults, and the control API.

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore as _;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::fault::{Fault, orange_code_for_status, orange_error};
use crate::http::{self, Body, ReadError, Request, Response};
use crate::{MockConfig, RateLimit, RecordedRequest, TOKEN_PATH, token_id};

/// State shared by the server task and every [`crate::MockOrange`] handle.
pub(crate) struct Shared {
    pub config: MockConfig,
    state: Mutex<State>,
}

#[derive(Default)]
pub(crate) struct State {
    pub faults: VecDeque<Fault>,
    pub sticky: Option<Fault>,
    pub token_requests: usize,
    pub issued: Vec<String>,
    pub requests: Vec<RecordedRequest>,
    /// Admission times of the token requests inside the rate-limit window.
    rate_window: VecDeque<Instant>,
    /// The client secret accepted from now on, when it was regenerated.
    pub regenerated_secret: Option<String>,
}

impl Shared {
    pub fn new(config: MockConfig) -> Shared {
        Shared {
            config,
            state: Mutex::new(State::default()),
        }
    }

    /// The state; a panic elsewhere while holding the lock does not make it
    /// unusable (it only ever holds plain data).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a token request and takes the fault to apply to it, if any.
    fn begin_token_request(&self) -> Option<Fault> {
        let mut state = self.state();
        state.token_requests += 1;
        match state.faults.pop_front() {
            Some(fault) => Some(fault),
            None => state.sticky.clone(),
        }
    }

    fn issue(&self, token: &str) {
        self.state().issued.push(token.to_string());
    }

    fn log(&self, line: std::fmt::Arguments<'_>) {
        if self.config.log_requests {
            let _ = writeln!(std::io::stderr().lock(), "mock-orange: {line}");
        }
    }
}

/// Accepts connections until `shutdown` fires (or its sender is dropped);
/// then aborts every connection still open.
pub(crate) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve(stream, Arc::clone(&shared)));
                }
                Err(_) => {
                    // e.g. out of file descriptors: back off briefly.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

/// What to do with the connection once a request has been handled.
enum Outcome {
    Respond(Response),
    /// Close with a TCP reset and no answer.
    Reset,
    /// Nothing to send: the client went away (or we hung until it did).
    Abandoned,
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let request = match http::read_request(&mut stream).await {
        Ok(request) => request,
        Err(ReadError::Gone) => return,
        Err(ReadError::Bad(status, why)) => {
            let response = Response::json(
                status,
                &json!({"error": "invalid_request", "error_description": why}),
            );
            let _ = http::write_response(&mut stream, &response, false).await;
            shared.log(format_args!("unreadable request -> {status} ({why})"));
            return;
        }
    };
    let path = request.path().to_string();
    let head_only = request.method == "HEAD";

    let (outcome, fault_kind) = if path == "/_mock" || path.starts_with("/_mock/") {
        (Outcome::Respond(control(&shared, &request, &path)), None)
    } else {
        shared
            .state()
            .requests
            .push(RecordedRequest::from_request(&request));
        if path == TOKEN_PATH {
            if request.method == "POST" {
                token_request(&mut stream, &shared, &request).await
            } else {
                let response = orange_status(405).with_header("Allow", "POST".to_string());
                (Outcome::Respond(response), None)
            }
        } else {
            (Outcome::Respond(orange_status(404)), None)
        }
    };

    let fault = fault_kind
        .map(|k| format!(" fault={k}"))
        .unwrap_or_default();
    // Only the method and the path (no query string, no header) are logged:
    // never the Authorization header, the secret or a token.
    let method = request.method.as_str();
    match outcome {
        Outcome::Respond(response) => {
            let status = response.status;
            let _ = http::write_response(&mut stream, &response, head_only).await;
            shared.log(format_args!("{method} {path} -> {status}{fault}"));
        }
        Outcome::Reset => {
            let _ = stream.set_zero_linger();
            drop(stream);
            shared.log(format_args!("{method} {path} -> connection reset{fault}"));
        }
        Outcome::Abandoned => {
            shared.log(format_args!("{method} {path} -> no answer{fault}"));
        }
    }
}

/// Handles `POST /oauth/v3/token`: applies the next fault, or answers normally.
async fn token_request(
    stream: &mut TcpStream,
    shared: &Shared,
    request: &Request,
) -> (Outcome, Option<&'static str>) {
    let Some(fault) = shared.begin_token_request() else {
        return (Outcome::Respond(normal_token_answer(shared, request)), None);
    };
    let kind = Some(fault.kind());
    let outcome = match fault {
        Fault::Delay { millis } => {
            if sleep_unless_peer_closes(stream, Duration::from_millis(millis)).await {
                Outcome::Respond(normal_token_answer(shared, request))
            } else {
                Outcome::Abandoned
            }
        }
        Fault::Hang => {
            http::wait_for_peer_close(stream).await;
            Outcome::Abandoned
        }
        Fault::ConnectionReset => Outcome::Reset,
        other => Outcome::Respond(fault_answer(shared, other)),
    };
    (outcome, kind)
}

/// Sleeps for `duration`; returns false early if the peer closes meanwhile.
async fn sleep_unless_peer_closes(stream: &mut TcpStream, duration: Duration) -> bool {
    let sleep = tokio::time::sleep(duration);
    tokio::pin!(sleep);
    let mut sink = [0u8; 1024];
    loop {
        tokio::select! {
            () = &mut sleep => return true,
            read = stream.read(&mut sink) => match read {
                Ok(0) | Err(_) => return false,
                // Bytes past the request: ignored (the answer closes anyway).
                Ok(_) => {}
            },
        }
    }
}

/// The answer of a well-behaved Orange endpoint.
fn normal_token_answer(shared: &Shared, request: &Request) -> Response {
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
fn new_token() -> String {
    let mut bytes = [0u8; 30];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether a client following the contract accepts this `expires_in`.
fn valid_expires_in(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_u64().is_some_and(|v| v > 0),
        Value::String(s) => {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.bytes().any(|b| b != b'0')
        }
        _ => false,
    }
}

fn fault_answer(shared: &Shared, fault: Fault) -> Response {
    let expires_in = shared.config.expires_in;
    match fault {
        Fault::Status { status } => orange_status(status),
        Fault::TooManyRequests {
            retry_after_seconds,
        } => too_many_requests(retry_after_seconds),
        Fault::Html200 => Response {
            status: 200,
            content_type: Some("text/html; charset=utf-8".to_string()),
            headers: Vec::new(),
            body: Body::Bytes(
                b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head>\
                  <body><h1>Service under maintenance</h1></body></html>\n"
                    .to_vec(),
            ),
        },
        Fault::Empty200 => Response {
            status: 200,
            content_type: Some("application/json".to_string()),
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
        },
        Fault::MissingAccessToken => Response::json(
            200,
            &json!({"token_type": "Bearer", "expires_in": expires_in}),
        ),
        Fault::ExpiresIn {
            expires_in: raw_expires_in,
        } => {
            let token = new_token();
            if valid_expires_in(&raw_expires_in) {
                shared.issue(&token);
            }
            Response::json(
                200,
                &json!({"token_type": "Bearer", "access_token": token, "expires_in": raw_expires_in}),
            )
        }
        Fault::TokenType { token_type } => {
            let token = new_token();
            if token_type.eq_ignore_ascii_case("bearer") {
                shared.issue(&token);
            }
            Response::json(
                200,
                &json!({"token_type": token_type, "access_token": token, "expires_in": expires_in}),
            )
        }
        Fault::Oversized200 { bytes } => {
            let prefix = format!(
                r#"{{"token_type":"Bearer","access_token":"{}","expires_in":{expires_in},"padding":""#,
                new_token()
            )
            .into_bytes();
            let suffix = b"\"}".to_vec();
            let count = bytes.saturating_sub(prefix.len() + suffix.len());
            Response {
                status: 200,
                content_type: Some("application/json".to_string()),
                headers: Vec::new(),
                body: Body::Padded {
                    prefix,
                    fill: b'x',
                    count,
                    suffix,
                },
            }
        }
        Fault::InvalidClient => invalid_client(),
        Fault::InvalidRequest => oauth_error(
            400,
            "invalid_request",
            "The request is missing a required parameter or is otherwise malformed",
        ),
        Fault::OrangeCode { status, code } => orange_code(status, code),
        Fault::Raw {
            status,
            content_type,
            body,
        } => Response {
            status,
            // Header values cannot hold line breaks.
            content_type: content_type.map(|ct| ct.replace(['\r', '\n'], "")),
            headers: Vec::new(),
            body: Body::Bytes(body.into_bytes()),
        },
        // Handled by the caller; answering normally keeps this total.
        Fault::Hang | Fault::Delay { .. } | Fault::ConnectionReset => orange_status(500),
    }
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    Response::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

fn invalid_client() -> Response {
    oauth_error(401, "invalid_client", "Client authentication failed")
}

fn too_many_requests(retry_after_seconds: Option<u64>) -> Response {
    let response = orange_code(429, 53);
    match retry_after_seconds {
        Some(secs) => response.with_header("Retry-After", secs.to_string()),
        None => response,
    }
}

/// Orange's body for `code`, with that HTTP status.
fn orange_code(status: u16, code: u32) -> Response {
    let (message, description) = orange_error(code);
    Response::json(
        status,
        &json!({"code": code, "message": message, "description": description}),
    )
}

/// An Orange-style error answer for a bare status.
fn orange_status(status: u16) -> Response {
    let code = orange_code_for_status(status);
    if code == u32::from(status) {
        Response::json(
            status,
            &json!({
                "code": code,
                "message": http::reason(status),
                "description": format!("The mock answered with HTTP {status}."),
            }),
        )
    } else {
        orange_code(status, code)
    }
}

/// The control API under `/_mock/`.
fn control(shared: &Shared, request: &Request, path: &str) -> Response {
    let method = request.method.as_str();
    match (method, path) {
        ("POST", "/_mock/faults") => {
            let faults = match parse_faults(&request.body) {
                Ok(faults) => faults,
                Err(why) => return control_error(400, &why),
            };
            let mut state = shared.state();
            state.faults.extend(faults);
            Response::json(200, &json!({"queued": state.faults.len()}))
        }
        ("DELETE", "/_mock/faults") => {
            let mut state = shared.state();
            state.faults.clear();
            state.sticky = None;
            Response::json(200, &json!({"queued": 0, "sticky": null}))
        }
        ("GET", "/_mock/faults") => {
            let state = shared.state();
            Response::json(
                200,
                &json!({"queued": state.faults, "sticky": state.sticky}),
            )
        }
        ("PUT", "/_mock/sticky") => {
            let sticky: Option<Fault> = match serde_json::from_slice(&request.body) {
                Ok(sticky) => sticky,
                Err(e) => return control_error(400, &format!("not a fault or null: {e}")),
            };
            if let Some(Err(why)) = sticky.as_ref().map(Fault::validate) {
                return control_error(400, &why);
            }
            let mut state = shared.state();
            state.sticky = sticky;
            Response::json(200, &json!({"sticky": state.sticky}))
        }
        ("GET", "/_mock/sticky") => Response::json(200, &json!({"sticky": shared.state().sticky})),
        ("GET", "/_mock/stats") => {
            let state = shared.state();
            let ids: Vec<String> = state.issued.iter().map(|t| token_id(t)).collect();
            Response::json(
                200,
                &json!({
                    "token_requests": state.token_requests,
                    "issued_tokens": state.issued,
                    "issued_token_ids": ids,
                    "queued_faults": state.faults.len(),
                    "sticky_fault": state.sticky,
                }),
            )
        }
        (_, "/_mock/faults" | "/_mock/sticky" | "/_mock/stats") => {
            control_error(405, &format!("{method} is not supported on {path}"))
        }
        _ => control_error(404, &format!("no control endpoint {path}")),
    }
}

/// A control-API body: one fault, or an array of faults queued in order.
fn parse_faults(body: &[u8]) -> Result<Vec<Fault>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let faults = if value.is_array() {
        serde_json::from_value::<Vec<Fault>>(value)
    } else {
        serde_json::from_value::<Fault>(value).map(|f| vec![f])
    }
    .map_err(|e| format!("not a fault: {e}"))?;
    for fault in &faults {
        fault.validate()?;
    }
    Ok(faults)
}

fn control_error(status: u16, message: &str) -> Response {
    Response::json(status, &json!({"error": message}))
}

#[cfg(test)]
mod tests {
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
    fn expires_in_validity() {
        assert!(valid_expires_in(&json!(3600)));
        assert!(valid_expires_in(&json!("3600")));
        assert!(!valid_expires_in(&json!(0)));
        assert!(!valid_expires_in(&json!("0")));
        assert!(!valid_expires_in(&json!(-5)));
        assert!(!valid_expires_in(&json!("abc")));
        assert!(!valid_expires_in(&json!("")));
        assert!(!valid_expires_in(&json!(3600.5)));
        assert!(!valid_expires_in(&json!(null)));
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
