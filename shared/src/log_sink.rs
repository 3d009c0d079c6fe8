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

    /// Writes two lines, each to its own sink; when both sinks are standard output, with
    /// one `write` (get-token's warm path writes an audit line and a metric line per
    /// invocation: one system call fewer).
    pub fn write_both(first: (&LogSink, &str), second: (&LogSink, &str)) {
        match (first, second) {
            ((Self::Stdout, first), (Self::Stdout, second)) => {
                let mut lines = String::with_capacity(first.len() + second.len() + 2);
                lines.push_str(first);
                lines.push('\n');
                lines.push_str(second);
                lines.push('\n');
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(lines.as_bytes());
                let _ = stdout.flush();
            }
            ((first_sink, first), (second_sink, second)) => {
                first_sink.write_line(first);
                second_sink.write_line(second);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_lines_written_together_each_reach_their_own_sink() {
        let (audit, audit_lines) = LogSink::memory();
        let (metrics, metric_lines) = LogSink::memory();
        LogSink::write_both((&audit, "audit"), (&metrics, "metric"));
        assert_eq!(*audit_lines.lock().unwrap(), ["audit"]);
        assert_eq!(*metric_lines.lock().unwrap(), ["metric"]);

        let (shared, lines) = LogSink::memory();
        LogSink::write_both((&shared, "first"), (&shared, "second"));
        assert_eq!(*lines.lock().unwrap(), ["first", "second"]);
    }
}
