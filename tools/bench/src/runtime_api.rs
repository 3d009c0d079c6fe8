//! A local Lambda Runtime API (the `2018-06-01` interface a `provided.al2023` bootstrap
//! polls), on 127.0.0.1: it hands out the invocations it is given, one per
//! `GET /runtime/invocation/next`, and records when each request arrives and what the
//! function answered.
//!
//! - `GET  /2018-06-01/runtime/invocation/next`: long-polls; answers the next event with
//!   `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms` (now + 30 s),
//!   `Lambda-Runtime-Invoked-Function-Arn` and `Lambda-Runtime-Trace-Id`.
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `.../{id}/error`: the answer.
//! - `POST /2018-06-01/runtime/init/error`: the function failed at init.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::http::{Request, Response, Server};

const PREFIX: &str = "/2018-06-01/runtime";

/// The function's answer to one invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    pub request_id: String,
    pub at: Instant,
    /// Posted to `/error` rather than `/response`.
    pub error: bool,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<(String, Vec<u8>)>,
    /// When each `/next` arrived.
    next_calls: Vec<Instant>,
    answers: Vec<Answer>,
    init_error: Option<Vec<u8>>,
    closed: bool,
    sequence: u64,
}

struct Shared {
    inner: Mutex<Inner>,
    changed: Condvar,
    function_arn: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One Runtime API, for one run of one bootstrap.
pub struct RuntimeApi {
    server: Server,
    shared: Arc<Shared>,
}

impl RuntimeApi {
    /// Starts serving on 127.0.0.1 (a free port).
    pub fn start(function_arn: &str) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::default()),
            changed: Condvar::new(),
            function_arn: function_arn.to_owned(),
        });
        let handler_state = shared.clone();
        let server = Server::start(Arc::new(move |request| handle(&handler_state, request)))?;
        Ok(Self { server, shared })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Queues one invocation; answers its request id.
    pub fn push(&self, payload: &[u8]) -> String {
        let mut inner = self.shared.lock();
        inner.sequence += 1;
        let id = format!("bench-{:08}", inner.sequence);
        inner.queue.push_back((id.clone(), payload.to_vec()));
        drop(inner);
        self.shared.changed.notify_all();
        id
    }

    /// Waits up to `timeout` for the answer to `request_id`, or for an init error.
    pub fn wait_answer(&self, request_id: &str, timeout: Duration) -> Result<Answer, String> {
        let deadline = Instant::now() + timeout;
        let mut inner = self.shared.lock();
        loop {
            if let Some(answer) = inner
                .answers
                .iter()
                .rev()
                .find(|answer| answer.request_id == request_id)
            {
                return Ok(answer.clone());
            }
            if let Some(body) = &inner.init_error {
                return Err(format!(
                    "the function failed at init: {}",
                    String::from_utf8_lossy(body)
                ));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("no answer to {request_id} within {timeout:?}"));
            }
            inner = self
                .shared
                .changed
                .wait_timeout(inner, (deadline - now).min(Duration::from_millis(100)))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// When the first `/next` arrived (the end of the function's init).
    pub fn first_next(&self) -> Option<Instant> {
        self.shared.lock().next_calls.first().copied()
    }

    /// Waits up to `timeout` until `count` `/next` requests arrived; answers whether they did.
    pub fn wait_next_calls(&self, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut inner = self.shared.lock();
        while inner.next_calls.len() < count {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            inner = self
                .shared
                .changed
                .wait_timeout(inner, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// Stops serving: pending `/next` polls are answered 410 and new connections refused.
    pub fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
        self.server.close();
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.close();
    }
}

fn handle(shared: &Shared, request: Request) -> Response {
    let arrived = Instant::now();
    let Some(route) = request.path.strip_prefix(PREFIX) else {
        return Response::new(404, "not a Runtime API path");
    };
    match (request.method.as_str(), route) {
        ("GET", "/invocation/next") => next(shared, arrived),
        ("POST", "/init/error") => {
            shared.lock().init_error = Some(request.body);
            shared.changed.notify_all();
            Response::new(202, r#"{"status":"OK"}"#)
        }
        ("POST", path) => {
            let Some(rest) = path.strip_prefix("/invocation/") else {
                return Response::new(404, "unknown path");
            };
            let (request_id, error) = if let Some(id) = rest.strip_suffix("/response") {
                (id, false)
            } else if let Some(id) = rest.strip_suffix("/error") {
                (id, true)
            } else {
                return Response::new(404, "unknown path");
            };
            shared.lock().answers.push(Answer {
                request_id: request_id.to_owned(),
                at: arrived,
                error,
                body: request.body,
            });
            shared.changed.notify_all();
            Response::new(202, r#"{"status":"OK"}"#)
        }
        _ => Response::new(404, "unknown path"),
    }
}

fn next(shared: &Shared, arrived: Instant) -> Response {
    let mut inner = shared.lock();
    inner.next_calls.push(arrived);
    shared.changed.notify_all();
    loop {
        if inner.closed {
            return Response::new(410, "runtime API closed");
        }
        if let Some((request_id, payload)) = inner.queue.pop_front() {
            // A new trace id per invocation, as Lambda sends.
            let id = request_id.trim_start_matches("bench-");
            let trace_id = format!(
                "Root=1-{:08x}-{id:0>24};Parent={id:0>16};Sampled=0",
                unix_seconds()
            );
            let deadline_ms = SystemTime::now()
                .checked_add(Duration::from_secs(30))
                .and_then(|deadline| deadline.duration_since(UNIX_EPOCH).ok())
                .map(|since| since.as_millis())
                .unwrap_or_default();
            return Response::new(200, payload)
                .header("content-type", "application/json")
                .header("lambda-runtime-aws-request-id", request_id.clone())
                .header("lambda-runtime-deadline-ms", deadline_ms.to_string())
                .header(
                    "lambda-runtime-invoked-function-arn",
                    shared.function_arn.clone(),
                )
                .header("lambda-runtime-trace-id", trace_id);
        }
        inner = shared
            .changed
            .wait_timeout(inner, Duration::from_millis(200))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;

    use super::*;

    #[test]
    fn hands_out_events_and_records_answers() {
        let api = RuntimeApi::start("arn:aws:lambda:us-east-1:123456789012:function:f").unwrap();
        let id = api.push(br#"{"a":1}"#);
        let mut stream = TcpStream::connect(api.addr()).unwrap();
        stream
            .write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: x\r\n\r\n")
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        assert!(head.contains(&format!("lambda-runtime-aws-request-id: {id}")));
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        assert_eq!(body, br#"{"a":1}"#);
        assert!(api.first_next().is_some());

        let answer = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\ncontent-length: 2\r\n\r\nok"
        );
        stream.write_all(answer.as_bytes()).unwrap();
        let answer = api.wait_answer(&id, Duration::from_secs(5)).unwrap();
        assert_eq!(answer.body, b"ok");
        assert!(!answer.error);
        api.close();
    }
}
