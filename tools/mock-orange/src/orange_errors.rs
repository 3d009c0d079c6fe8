//! Orange's error answers: its error codes with their messages, and the OAuth
//! (RFC 6749) error bodies.

use serde_json::json;

use crate::http::{self, Response};

/// Orange's message and description for an error code.
fn orange_error(code: u32) -> (&'static str, &'static str) {
    match code {
        1 => (
            "Internal error",
            "The server encountered an unexpected error and could not complete the request.",
        ),
        5 => (
            "The service is temporarily unavailable",
            "The service is temporarily unavailable; try again later.",
        ),
        40 => (
            "Missing credentials",
            "The requested service needs credentials, but none were provided.",
        ),
        41 => (
            "Invalid credentials",
            "The requested service needs credentials, and the ones provided were invalid.",
        ),
        42 => (
            "Expired credentials",
            "The requested service needs credentials, and the ones provided were out-of-date.",
        ),
        50 => (
            "Access denied",
            "The application that makes the request is not authorized to access this endpoint.",
        ),
        53 => (
            "Too many requests",
            "The application has made too many calls and has exceeded the rate limit for this service.",
        ),
        60 => (
            "Resource not found",
            "The requested URI or the requested resource does not exist.",
        ),
        61 => (
            "Method not allowed",
            "The URI does not support the requested method. The available methods are listed in the Allow header.",
        ),
        62 => (
            "Not acceptable",
            "The Accept incoming header does not match any available content-type.",
        ),
        _ => ("Error", "The request could not be completed."),
    }
}

/// The Orange error code used for a bare HTTP status.
fn orange_code_for_status(status: u16) -> u32 {
    match status {
        401 => 41,
        403 => 50,
        404 => 60,
        405 => 61,
        406 => 62,
        429 => 53,
        500 => 1,
        503 => 5,
        other => u32::from(other),
    }
}

pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    Response::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

pub(crate) fn invalid_client() -> Response {
    oauth_error(401, "invalid_client", "Client authentication failed")
}

pub(crate) fn too_many_requests(retry_after_seconds: Option<u64>) -> Response {
    let response = orange_code(429, 53);
    match retry_after_seconds {
        Some(secs) => response.with_header("Retry-After", secs.to_string()),
        None => response,
    }
}

/// Orange's body for `code`, with that HTTP status.
pub(crate) fn orange_code(status: u16, code: u32) -> Response {
    let (message, description) = orange_error(code);
    Response::json(
        status,
        &json!({"code": code, "message": message, "description": description}),
    )
}

/// An Orange-style error answer for a bare status.
pub(crate) fn orange_status(status: u16) -> Response {
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
