//! What the workspace's test binaries (`tests/tests/service`, `storm`, `e2e`, `template`)
//! share.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// An EventBridge scheduled event (`"source": "aws.events"`), as the local run sends it
/// (`events/refresh-scheduled.json`). The template's schedule sends `{"caller":
/// "schedule"}` instead; refresh records both as the schedule.
pub fn scheduled_event() -> serde_json::Value {
    serde_json::from_str(include_str!("../../events/refresh-scheduled.json"))
        .expect("events/refresh-scheduled.json is a JSON event")
}

/// Every tracing line this test binary wrote at `level` and above (TRACE: the AWS SDKs'
/// own request traces too), for the secret checks. The first call installs the
/// subscriber; each line is also kept for `scripts/scan-logs.py` in
/// `TEST_LOG_DIR/<kept_as>`, and echoed to stderr with `TEST_LOG=1`.
pub fn captured_tracing(kept_as: &'static str, level: tracing::Level) -> Arc<Mutex<Vec<u8>>> {
    static CAPTURE: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let writer = CaptureWriter {
                buffer: buffer.clone(),
                kept_as,
            };
            let _ = tracing_subscriber::fmt()
                .json()
                .with_max_level(level)
                .with_writer(move || writer.clone())
                .try_init();
            buffer
        })
        .clone()
}

#[derive(Clone)]
struct CaptureWriter {
    buffer: Arc<Mutex<Vec<u8>>>,
    kept_as: &'static str,
}

impl Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        keep_for_the_scan(self.kept_as, bytes)?;
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stderr().write_all(bytes)?;
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Appends to a file in `TEST_LOG_DIR` (set by `scripts/test.sh`), where
/// `scripts/scan-logs.py` looks for secrets in every line the test suite logged.
pub fn keep_for_the_scan(file: &str, bytes: &[u8]) -> std::io::Result<()> {
    let Some(dir) = std::env::var_os("TEST_LOG_DIR") else {
        return Ok(());
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(std::path::Path::new(&dir).join(file))?
        .write_all(bytes)
}
