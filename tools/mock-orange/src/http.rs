//! A deliberately small HTTP/1.1 server side: one request per connection,
//! `Content-Length` bodies only, every answer carries `Connection: close`.
//!
//! Hand-rolled (rather than a framework) so the mock controls the socket
//! itself: it can reset a connection, hang, or stream an oversized body.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest request head (request line plus headers) accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;
/// How long a client may take to send a complete request.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for the client to close after our answer.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// A parsed request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    /// The request target as sent, query string included.
    pub target: String,
    /// Header names in lower case, values trimmed, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The target without its query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// Every value of the header with this (lower-case) name, in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The header with this (lower-case) name when it appears exactly once.
    pub fn single_header(&self, name: &str) -> Option<&str> {
        match self.header_values(name).as_slice() {
            [value] => Some(value),
            _ => None,
        }
    }

    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed or the socket failed before a full request arrived;
    /// nothing can be answered.
    Gone,
    /// The request is unusable; answer with this status and reason, then close.
    Bad(u16, &'static str),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Gone
    }
}

/// Reads one complete request (head and `Content-Length` body).
pub(crate) async fn read_request(stream: &mut TcpStream) -> Result<Request, ReadError> {
    match tokio::time::timeout(READ_TIMEOUT, read_request_inner(stream)).await {
        Ok(result) => result,
        Err(_) => Err(ReadError::Bad(408, "request not received in time")),
    }
}

async fn read_request_inner(stream: &mut TcpStream) -> Result<Request, ReadError> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Bad(431, "request head too large"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(ReadError::Gone);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end > MAX_HEAD {
        return Err(ReadError::Bad(431, "request head too large"));
    }

    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| ReadError::Bad(400, "request head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) if !m.is_empty() && !t.is_empty() => (m, t, v),
        _ => return Err(ReadError::Bad(400, "malformed request line")),
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Bad(505, "only HTTP/1.x is supported"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Bad(400, "malformed header line"));
        };
        if name.is_empty() || name.ends_with(' ') || name.ends_with('\t') {
            return Err(ReadError::Bad(400, "malformed header name"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut request = Request {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        body: Vec::new(),
    };

    if request.header("transfer-encoding").is_some() {
        return Err(ReadError::Bad(411, "send a Content-Length body"));
    }
    let lengths: Vec<&str> = request
        .headers
        .iter()
        .filter(|(n, _)| n == "content-length")
        .map(|(_, v)| v.as_str())
        .collect();
    let length = match lengths.as_slice() {
        [] => 0,
        [one] => one
            .parse::<usize>()
            .map_err(|_| ReadError::Bad(400, "invalid Content-Length"))?,
        _ => return Err(ReadError::Bad(400, "repeated Content-Length")),
    };
    if length > MAX_BODY {
        return Err(ReadError::Bad(413, "request body too large"));
    }
    if length > 0
        && request
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }

    let mut body = buf.split_off(head_end + 4);
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(ReadError::Gone);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    // Anything past Content-Length would be a pipelined request: ignored,
    // since every answer closes the connection.
    body.truncate(length);
    request.body = body;
    Ok(request)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An answer's body: a buffer, or a JSON object streamed to an exact size.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Bytes(Vec<u8>),
    /// `prefix`, then `fill` repeated `count` times, then `suffix`.
    Padded {
        prefix: Vec<u8>,
        fill: u8,
        count: usize,
        suffix: Vec<u8>,
    },
}

impl Body {
    fn len(&self) -> usize {
        match self {
            Body::Bytes(b) => b.len(),
            Body::Padded {
                prefix,
                count,
                suffix,
                ..
            } => prefix.len() + count + suffix.len(),
        }
    }
}

/// A complete answer.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

impl Response {
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            content_type: Some("application/json".to_string()),
            headers: Vec::new(),
            body: Body::Bytes(value.to_string().into_bytes()),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Response {
        self.headers.push((name, value));
        self
    }
}

/// The reason phrase sent for a status.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Writes `response` (without a body when `head_only`) and closes the
/// connection gracefully: shut down our side, then drain what the client
/// still sends until it closes, so the kernel does not answer with a reset.
pub(crate) async fn write_response(
    stream: &mut TcpStream,
    response: &Response,
    head_only: bool,
) -> io::Result<()> {
    // A status outside 200..=999 cannot be a final answer's status line.
    // A 1xx status would leave the client waiting for a final answer.
    let status = if (200..=999).contains(&response.status) {
        response.status
    } else {
        500
    };
    let mut head = format!("HTTP/1.1 {} {}\r\n", status, reason(status));
    if let Some(ct) = &response.content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    head.push_str("Cache-Control: no-store\r\nPragma: no-cache\r\nConnection: close\r\n");
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        match &response.body {
            Body::Bytes(bytes) => stream.write_all(bytes).await?,
            Body::Padded {
                prefix,
                fill,
                count,
                suffix,
            } => {
                stream.write_all(prefix).await?;
                let block = vec![*fill; 64 * 1024];
                let mut left = *count;
                while left > 0 {
                    let n = left.min(block.len());
                    stream.write_all(&block[..n]).await?;
                    left -= n;
                }
                stream.write_all(suffix).await?;
            }
        }
    }
    stream.flush().await?;
    close_gracefully(stream).await;
    Ok(())
}

/// Shuts down our sending side and waits (briefly) for the peer to close.
pub(crate) async fn close_gracefully(stream: &mut TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut sink = [0u8; 4096];
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, drain).await;
}

/// Waits until the peer closes the connection (or the socket fails).
/// Bytes the peer still sends are read and discarded.
pub(crate) async fn wait_for_peer_close(stream: &mut TcpStream) {
    let mut sink = [0u8; 4096];
    loop {
        match stream.read(&mut sink).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
