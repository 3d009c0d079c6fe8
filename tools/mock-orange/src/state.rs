//! The mock's configuration and its mutable state (fault queue, counters, what it
//! has received and issued), behind one lock.

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::fault::Fault;
use crate::{MockConfig, RecordedRequest};

/// State shared by the server task and every [`crate::MockOrange`] handle.
pub(crate) struct Shared {
    pub config: MockConfig,
    state: Mutex<State>,
}

#[derive(Default)]
pub(crate) struct State {
    pub faults: VecDeque<Fault>,
    pub sticky: Option<Fault>,
    pub token_requests: usize,
    pub issued: Vec<String>,
    pub requests: Vec<RecordedRequest>,
    /// Admission times of the token requests inside the rate-limit window.
    pub rate_window: VecDeque<Instant>,
    /// The client secret accepted from now on, when it was regenerated.
    pub regenerated_secret: Option<String>,
}

impl Shared {
    pub fn new(config: MockConfig) -> Shared {
        Shared {
            config,
            state: Mutex::new(State::default()),
        }
    }

    /// The state; a panic elsewhere while holding the lock does not make it
    /// unusable (it only ever holds plain data).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a token request and takes the fault to apply to it, if any.
    pub fn begin_token_request(&self) -> Option<Fault> {
        let mut state = self.state();
        state.token_requests += 1;
        match state.faults.pop_front() {
            Some(fault) => Some(fault),
            None => state.sticky.clone(),
        }
    }

    pub fn issue(&self, token: &str) {
        self.state().issued.push(token.to_string());
    }

    pub fn log(&self, line: std::fmt::Arguments<'_>) {
        if self.config.log_requests {
            let _ = writeln!(std::io::stderr().lock(), "mock-orange: {line}");
        }
    }
}
