//! What the tests need: AWS clients on the emulator, a fresh parameter and secret per
//! test, a mock token endpoint, the refresh handler with captured audit and metric lines,
//! and a capture of every tracing line for the secret scans.

mod get_token_harness;
mod refresh_harness;

pub use get_token_harness::*;
pub use refresh_harness::*;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use integration_tests::keep_for_the_scan;
use orange_token::endpoint::RetryPolicy;
use serde_json::Value;

pub const CLIENT_ID: &str = "test-client-id";
pub const CLIENT_SECRET: &str = "test-client-secret-9f8e7d";

/// The emulator's SDK configuration. Refuses anything but a loopback endpoint.
pub async fn aws() -> SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "AWS_ENDPOINT_URL must point at the local AWS emulator (run the tests with scripts/test.sh), got {endpoint:?}"
    );
    assert_eq!(
        std::env::var("AWS_EC2_METADATA_DISABLED").as_deref(),
        Ok("true"),
        "set AWS_EC2_METADATA_DISABLED=true (scripts/test.sh does)"
    );
    orange_token::aws_http::load_sdk_config()
        .await
        .expect("the AWS HTTPS client is built")
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{nanos}-{}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Every tracing line any test of this binary wrote, for the secret scans.
pub fn captured_tracing() -> Arc<Mutex<Vec<u8>>> {
    integration_tests::captured_tracing(crate::TRACING.0, crate::TRACING.1)
}

/// Keeps audit and metric lines of a memory sink for the scan.
fn keep_lines_for_the_scan(sinks: &[&Arc<Mutex<Vec<String>>>]) {
    for lines in sinks {
        let mut text = lines.lock().unwrap().join("\n");
        text.push('\n');
        keep_for_the_scan("service-audit-and-metrics.log", text.as_bytes())
            .expect("TEST_LOG_DIR is writable");
    }
}

/// A fast retry policy so that failure tests finish quickly.
pub fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        min_attempt_time: Duration::from_millis(100),
    }
}

pub fn credentials_json(client_id: &str, client_secret: &str) -> String {
    serde_json::json!({"client_id": client_id, "client_secret": client_secret}).to_string()
}

fn parse_lines(lines: &Arc<Mutex<Vec<String>>>) -> Vec<Value> {
    lines
        .lock()
        .unwrap()
        .iter()
        .map(|line| serde_json::from_str(line).expect("every log line is JSON"))
        .collect()
}
