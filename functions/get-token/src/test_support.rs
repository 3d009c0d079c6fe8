//! A refresh function for tests and the bench, where a renewal is not expected: it
//! counts its invokes (each would be a token request at Orange) and answers a function
//! error. Compiled for this crate's tests and behind the `test-support` feature.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::invoker::{RefreshCall, RefreshInvokeError, RefreshInvoker, RefreshReply};

/// Counts invokes; never renews. Several may share one counter.
#[derive(Debug, Clone, Default)]
pub struct CountingRefreshFunction {
    invokes: Arc<AtomicUsize>,
}

impl CountingRefreshFunction {
    /// Counts into `invokes`, which other instances may count into too.
    pub fn sharing(invokes: Arc<AtomicUsize>) -> Self {
        Self { invokes }
    }

    pub fn invokes(&self) -> usize {
        self.invokes.load(Ordering::SeqCst)
    }
}

impl RefreshInvoker for CountingRefreshFunction {
    async fn invoke(&self, _call: RefreshCall) -> Result<RefreshReply, RefreshInvokeError> {
        self.invokes.fetch_add(1, Ordering::SeqCst);
        Err(RefreshInvokeError::Function {
            error_type: "TokenUnavailable".to_owned(),
            error_message: "this refresh function does not renew".to_owned(),
        })
    }
}
