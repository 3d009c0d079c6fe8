//! What the in-process benchmarks (`benches/in_process.rs`, criterion) measure and where
//! their results are: the benchmark ids and what each row of the report says of them,
//! and the file of the get-token warm hit's per-invocation tail.

use serde::{Deserialize, Serialize};

use crate::stats::Summary;

/// What the caller library sends for a `get` (its buffer as `min_ttl_seconds`).
pub const GET_EVENT: &[u8] = br#"{"action":"get","min_ttl_seconds":300,"caller":"sms-sender"}"#;

/// A token shaped like Orange's (64 URL-safe characters); never a real one.
pub const SAMPLE_ACCESS_TOKEN: &str =
    "bEnChTokEn0a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXyZ-_0123456789abcdef";

/// The criterion group of every in-process benchmark.
pub const GROUP: &str = "in_process";

pub const WARM_HIT: &str = "get_token_warm_hit";
pub const AUDIT_LINE: &str = "audit_line";
pub const EMF_LINE: &str = "emf_line";
pub const STDOUT_LINE: &str = "stdout_line";
pub const CALLER_HIT: &str = "caller_cached_hit";
pub const PARSE_ANSWER: &str = "parse_token_answer";
pub const PARSE_ENVELOPE: &str = "parse_envelope";

/// One criterion benchmark as the report shows it.
#[derive(Debug)]
pub struct Benchmark {
    pub id: &'static str,
    pub what: &'static str,
    pub how: &'static str,
}

/// Every criterion benchmark, in the report's order.
pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        id: WARM_HIT,
        what: "get-token handler, warm memory hit",
        how: "event bytes → JSON → `handle` → answer bytes; the audit and EMF lines written \
              to standard output (`/dev/null`) in one `write`, tracing through the runtime's \
              JSON subscriber at its default level",
    },
    Benchmark {
        id: AUDIT_LINE,
        what: "… its audit line `TOKEN_SERVED`, built",
        how: "`AuditLog::line`: serialised straight from borrowed values",
    },
    Benchmark {
        id: EMF_LINE,
        what: "… its EMF metric line, built",
        how: "`Metrics::token_served_record`: a record rendered once at start, filled in",
    },
    Benchmark {
        id: STDOUT_LINE,
        what: "… one 300-byte line written to standard output",
        how: "`LogSink::Stdout::write_line` to `/dev/null`: one `write` system call",
    },
    Benchmark {
        id: CALLER_HIT,
        what: "caller library, cached hit (`access_token()`)",
        how: "a token already cached; the Lambda client is `mock_lambda` (`orange_token::test_support`), \
              invoked once before measuring",
    },
    Benchmark {
        id: PARSE_ANSWER,
        what: "parse a token-endpoint answer (`classify`)",
        how: "Orange's answer with a 64-character token",
    },
    Benchmark {
        id: PARSE_ENVELOPE,
        what: "parse an envelope (`TokenEnvelope::from_json`)",
        how: "includes the SHA-256 `token_id` check and two RFC 3339 times",
    },
];

/// The get-token warm hit, one sample per invocation (criterion reports means of
/// batches; the target is a per-invocation percentile).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WarmHitTail {
    pub summary: Summary,
    /// What standard output was: `character device`, `file`, `pipe`, `socket`, `other`.
    pub stdout: String,
    /// Store reads and refresh invokes during the run (1 and 0: the first get).
    pub store_reads: usize,
    pub refresh_invokes: usize,
}

/// What the process's standard output is.
pub fn stdout_kind() -> String {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::metadata("/proc/self/fd/1") else {
        return "unknown".to_owned();
    };
    let kind = meta.file_type();
    let name = if kind.is_char_device() {
        "character device"
    } else if kind.is_file() {
        "file"
    } else if kind.is_fifo() {
        "pipe"
    } else if kind.is_socket() {
        "socket"
    } else {
        "other"
    };
    name.to_owned()
}
