//! The server: accepts connections, reads one request on each, routes it to the
//! token endpoint or the control API, and writes (or withholds) the answer.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::control::control;
use crate::fault::Fault;
use crate::fault_answer::fault_answer;
use crate::http::{self, ReadError, Request, Response};
use crate::orange_errors::orange_status;
use crate::state::Shared;
use crate::token::normal_token_answer;
use crate::{RecordedRequest, TOKEN_PATH};

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
