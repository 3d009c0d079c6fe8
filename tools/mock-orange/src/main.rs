//! `mock-orange`: runs the mock Orange token endpoint for local runs.
//!
//! ```text
//! mock-orange [--addr 127.0.0.1:8900] [--client-id ID] [--expires-in 3600] [--rate-limit N/SECONDS]
//! ```
//!
//! The client secret comes from `MOCK_ORANGE_CLIENT_SECRET` (default
//! `test-client-secret`), so it never shows in `ps`. Once listening it prints
//! `mock-orange listening on http://ADDR/oauth/v3/token` on stdout; it logs
//! one line per request on stderr; it stops on SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use mock_orange::{MockConfig, MockOrange, RateLimit};

const USAGE: &str = "\
usage: mock-orange [--addr 127.0.0.1:8900] [--client-id ID] [--expires-in SECONDS] [--rate-limit N/SECONDS]

A local stand-in for Orange's OAuth v3 token endpoint (POST /oauth/v3/token).

options:
  --addr ADDR            loopback address to listen on (default 127.0.0.1:8900; port 0 picks one)
  --client-id ID         accepted client id (default test-client-id)
  --expires-in SECONDS   expires_in of issued tokens (default 3600)
  --rate-limit N/SECONDS allow N token requests per sliding window of SECONDS, then 429
  -h, --help             this help

environment:
  MOCK_ORANGE_CLIENT_SECRET  accepted client secret (default test-client-secret)

control API on the same port: POST/DELETE/GET /_mock/faults, PUT/GET /_mock/sticky, GET /_mock/stats";

const DEFAULT_ADDR: &str = "127.0.0.1:8900";
const SECRET_VAR: &str = "MOCK_ORANGE_CLIENT_SECRET";

struct Options {
    addr: SocketAddr,
    config: MockConfig,
}

enum Parsed {
    Run(Box<Options>),
    Help,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut addr: SocketAddr = DEFAULT_ADDR
        .parse()
        .map_err(|e| format!("bad default address: {e}"))?;
    let mut config = MockConfig {
        log_requests: true,
        ..MockConfig::default()
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(Parsed::Help);
        }
        if !matches!(
            flag.as_str(),
            "--addr" | "--client-id" | "--expires-in" | "--rate-limit"
        ) {
            return Err(format!("unknown argument: {flag}"));
        }
        let value = match inline {
            Some(value) => value,
            None => args.next().ok_or_else(|| format!("{flag} needs a value"))?,
        };
        match flag.as_str() {
            "--addr" => {
                addr = value
                    .parse()
                    .map_err(|_| format!("--addr: not an IP:PORT address: {value}"))?;
            }
            "--client-id" => {
                if value.is_empty() || value.contains(':') {
                    return Err("--client-id must be non-empty and hold no ':'".to_string());
                }
                config.client_id = value;
            }
            "--expires-in" => {
                config.expires_in = value
                    .parse()
                    .map_err(|_| format!("--expires-in: not a whole number of seconds: {value}"))?;
            }
            _ => config.rate_limit = Some(parse_rate_limit(&value)?),
        }
    }
    if !addr.ip().is_loopback() {
        return Err(format!(
            "--addr must be a loopback address (127.0.0.1 or ::1), not {}",
            addr.ip()
        ));
    }
    if let Ok(secret) = std::env::var(SECRET_VAR) {
        if secret.is_empty() {
            return Err(format!("{SECRET_VAR} is set but empty"));
        }
        config.client_secret = secret;
    }
    Ok(Parsed::Run(Box::new(Options { addr, config })))
}

fn parse_rate_limit(value: &str) -> Result<RateLimit, String> {
    let bad = || format!("--rate-limit: expected N/SECONDS (e.g. 5/60), not {value}");
    let (n, secs) = value.split_once('/').ok_or_else(bad)?;
    let max_requests: u32 = n.trim().parse().map_err(|_| bad())?;
    let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
    if max_requests == 0 || secs == 0 {
        return Err(format!(
            "--rate-limit: N and SECONDS must be positive: {value}"
        ));
    }
    Ok(RateLimit::new(max_requests, Duration::from_secs(secs)))
}

/// SIGTERM and SIGINT, registered as soon as this is built.
struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn register() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    /// Resolves on the first SIGTERM or SIGINT.
    async fn wait(&mut self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => {}
                _ = self.int.recv() => {}
            }
            Ok(())
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await
        }
    }
}

fn say(out: &mut dyn std::io::Write, line: &str) {
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(options)) => options,
        Ok(Parsed::Help) => {
            say(&mut std::io::stdout(), USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            say(
                &mut std::io::stderr(),
                &format!("mock-orange: {message}\n\n{USAGE}"),
            );
            return ExitCode::from(2);
        }
    };
    // Register the signal handlers before announcing readiness, so a
    // SIGTERM sent right after the banner is not missed.
    let mut signals = match StopSignals::register() {
        Ok(signals) => signals,
        Err(e) => {
            say(
                &mut std::io::stderr(),
                &format!("mock-orange: cannot handle signals: {e}"),
            );
            return ExitCode::FAILURE;
        }
    };
    let mock = match MockOrange::start_on(options.addr, options.config).await {
        Ok(mock) => mock,
        Err(e) => {
            say(
                &mut std::io::stderr(),
                &format!("mock-orange: cannot listen on {}: {e}", options.addr),
            );
            return ExitCode::FAILURE;
        }
    };
    say(
        &mut std::io::stdout(),
        &format!("mock-orange listening on {}", mock.token_url()),
    );
    let result = signals.wait().await;
    mock.shutdown().await;
    match result {
        Ok(()) => {
            say(&mut std::io::stderr(), "mock-orange: stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            say(
                &mut std::io::stderr(),
                &format!("mock-orange: cannot wait for signals: {e}"),
            );
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_flags() {
        let Ok(Parsed::Run(o)) = parse_args(args(&[
            "--addr",
            "127.0.0.1:0",
            "--client-id=abc",
            "--expires-in",
            "60",
            "--rate-limit",
            "5/10",
        ])) else {
            panic!("should parse");
        };
        assert_eq!(o.addr, "127.0.0.1:0".parse::<SocketAddr>().unwrap());
        assert_eq!(o.config.client_id, "abc");
        assert_eq!(o.config.expires_in, 60);
        assert_eq!(
            o.config.rate_limit,
            Some(RateLimit::new(5, Duration::from_secs(10)))
        );
        assert!(o.config.log_requests);
    }

    #[test]
    fn refuses_bad_flags() {
        assert!(parse_args(args(&["--addr", "0.0.0.0:8900"])).is_err());
        assert!(parse_args(args(&["--addr", "10.1.2.3:8900"])).is_err());
        assert!(parse_args(args(&["--rate-limit", "5"])).is_err());
        assert!(parse_args(args(&["--rate-limit", "0/10"])).is_err());
        assert!(parse_args(args(&["--expires-in", "-1"])).is_err());
        assert!(parse_args(args(&["--client-secret", "x"])).is_err());
        assert!(parse_args(args(&["--addr"])).is_err());
        assert!(matches!(parse_args(args(&["--help"])), Ok(Parsed::Help)));
    }
}
