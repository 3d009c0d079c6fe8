//! The real function binaries under a local Lambda Runtime API (the `2018-06-01`
//! interface a `provided.al2023` bootstrap talks to), on 127.0.0.1, to see how their
//! init ends: the first `GET /runtime/invocation/next` (the configuration was accepted)
//! or a `POST /runtime/init/error` (it was not), or an exit without either.
//!
//! The binaries are the debug builds of `scripts/test.sh` and `scripts/run-local.sh`,
//! in their target directory outside the workspace (`ORANGE_LAMBDA_TARGET_DIR`, else
//! `${XDG_CACHE_HOME:-$HOME/.cache}/orange-token-service/lambda-target`): `cargo test`
//! holds the workspace target directory's lock while tests run. `cargo build --bin NAME`
//! runs there first, once per binary, exactly as those scripts build them, so the
//! binary is always the workspace's current code (a no-op when it is up to date).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How a function's init ended.
#[derive(Debug)]
pub enum Init {
    /// It asked for its first invocation: the configuration was accepted.
    Ready,
    /// It posted an init error.
    Failed {
        /// The `Lambda-Runtime-Function-Error-Type` header.
        error_type_header: Option<String>,
        body: serde_json::Value,
        /// What the process wrote (stdout and stderr) before it exited.
        output: String,
        exit_success: bool,
    },
    /// It exited without posting an init error.
    Exited { output: String },
}

enum Seen {
    Next,
    InitError {
        error_type_header: Option<String>,
        body: Vec<u8>,
    },
}

struct Api {
    addr: SocketAddr,
    seen: Receiver<Seen>,
}

fn start_api() -> Api {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1");
    let addr = listener.local_addr().expect("the listener's address");
    let (sender, seen) = channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let sender = sender.clone();
            thread::spawn(move || serve(stream, &sender));
        }
    });
    Api { addr, seen }
}

/// Serves one connection: requests in turn until the peer closes it. A `next` is
/// recorded and never answered (the test ends the process).
fn serve(stream: TcpStream, seen: &Sender<Seen>) {
    let mut writer = stream.try_clone().expect("a second handle on the stream");
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|value| value.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        match (method, path) {
            ("GET", "/2018-06-01/runtime/invocation/next") => {
                let _ = seen.send(Seen::Next);
                // Hold the poll open: the process is stopped by the test.
                let mut rest = Vec::new();
                let _ = reader.read_to_end(&mut rest);
                return;
            }
            ("POST", "/2018-06-01/runtime/init/error") => {
                let _ = seen.send(Seen::InitError {
                    error_type_header: headers.get("lambda-runtime-function-error-type").cloned(),
                    body,
                });
                let answer = r#"{"status":"OK"}"#;
                let _ = write!(
                    writer,
                    "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
                    answer.len()
                );
            }
            _ => {
                let _ = write!(
                    writer,
                    "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
                );
            }
        }
    }
}

fn lambda_target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ORANGE_LAMBDA_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache")
        });
    cache.join("orange-token-service").join("lambda-target")
}

/// The current debug build of `bin` (built on first use, as the scripts build it).
pub fn binary(bin: &'static str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<&'static str, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    built
        .entry(bin)
        .or_insert_with(|| {
            let target = lambda_target_dir();
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let output = Command::new(cargo)
                .args(["build", "--locked", "--bin", bin])
                .env("CARGO_TARGET_DIR", &target)
                .current_dir(super::workspace_root())
                .stdin(Stdio::null())
                .output()
                .expect("running cargo build");
            assert!(
                output.status.success(),
                "cargo build --bin {bin} (target directory {}) failed:\n{}",
                target.display(),
                String::from_utf8_lossy(&output.stderr)
            );
            target.join("debug").join(bin)
        })
        .clone()
}

/// Starts `bin` with exactly `variables` (plus the Runtime API's and static test AWS
/// settings) and answers how its init ended.
pub fn start(bin: &'static str, variables: &[(String, String)]) -> Init {
    let path = binary(bin);
    let api = start_api();
    let log = tempfile_path(bin);
    let out = std::fs::File::create(&log).expect("creating the process log");
    let mut child: Child = Command::new(&path)
        .env_clear()
        .envs(
            variables
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str())),
        )
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", bin)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{bin}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("a second handle on the log"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|error| panic!("starting {}: {error}", path.display()));
    let output = || std::fs::read_to_string(&log).unwrap_or_default();
    // Bounded only so that a hung process fails the test instead of hanging it.
    let give_up = Instant::now() + Duration::from_secs(120);
    let outcome = loop {
        match api.seen.recv_timeout(Duration::from_millis(50)) {
            Ok(Seen::Next) => {
                let _ = child.kill();
                let _ = child.wait();
                break Init::Ready;
            }
            Ok(Seen::InitError {
                error_type_header,
                body,
            }) => {
                let status = child.wait().expect("waiting for the process");
                break Init::Failed {
                    error_type_header,
                    body: serde_json::from_slice(&body).unwrap_or_else(|_| {
                        serde_json::Value::String(String::from_utf8_lossy(&body).into_owned())
                    }),
                    output: output(),
                    exit_success: status.success(),
                };
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Ok(Some(_)) = child.try_wait() {
                    // Exited: anything it sent before is already queued.
                    if let Ok(seen) = api.seen.try_recv() {
                        assert!(matches!(seen, Seen::Next), "an init error after the exit");
                        break Init::Ready;
                    }
                    break Init::Exited { output: output() };
                }
                if Instant::now() > give_up {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("{bin} neither started nor failed:\n{}", output());
                }
            }
            Err(RecvTimeoutError::Disconnected) => unreachable!("the API thread keeps a sender"),
        }
    };
    let _ = std::fs::remove_file(&log);
    outcome
}

fn tempfile_path(bin: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "orange-template-{bin}-{}-{}.log",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}
