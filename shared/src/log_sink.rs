//! Where structured log lines (audit events, metrics) go: standard output in Lambda,
//! where CloudWatch takes each line as one JSON log event; a memory buffer in tests.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// A destination for whole JSON lines.
#[derive(Debug, Clone, Default)]
pub enum LogSink {
    /// Standard output, one line per write.
    #[default]
    Stdout,
    /// A shared buffer; tests read it back.
    Memory(Arc<Mutex<Vec<String>>>),
}

impl LogSink {
    /// A memory sink and the buffer it writes to.
    pub fn memory() -> (Self, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        (Self::Memory(lines.clone()), lines)
    }

    /// Writes one line. A failing stdout loses the line, never the invocation.
    pub fn write_line(&self, line: &str) {
        match self {
            Self::Stdout => {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{line}");
                let _ = stdout.flush();
            }
            Self::Memory(lines) => lines
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(line.to_owned()),
        }
    }
}
