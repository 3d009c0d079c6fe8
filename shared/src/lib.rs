//! Orange SMS API OAuth token service: the library behind the `refresh` and
//! `get-token` functions, and the caller library that other Lambdas link.
//!
//! Features:
//! - `server` (default): everything the two functions use.
//! - `caller`: the small client other Rust Lambdas link to get a token
//!   (`default-features = false, features = ["caller"]`).
//! - `test-support`: [`test_support`], the test doubles the workspace's tests and the
//!   bench share (a memory store, a counting store, mocked Lambda clients).
//!
//! The data path of a scheduled refresh, top-down: [`config`] (variables) →
//! [`credentials`] (Secrets Manager) → [`endpoint`] (Orange's token endpoint, retried)
//! → [`renewal`] (whether and why to renew) → [`envelope`] (the stored shape) → [`store`] (SSM
//! SecureString), with [`audit`] events along the way and [`error`] at the edge.

pub mod protocol;

#[cfg(feature = "server")]
pub mod audit;
#[cfg(feature = "server")]
pub mod aws_http;
#[cfg(any(feature = "server", feature = "caller"))]
pub mod clock;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod credentials;
#[cfg(feature = "server")]
pub mod deadline;
#[cfg(feature = "server")]
pub mod endpoint;
#[cfg(feature = "server")]
pub mod envelope;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod event;
#[cfg(any(feature = "caller", feature = "server"))]
pub mod lambda_invoke;
#[cfg(feature = "server")]
pub mod log_sink;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod renewal;
#[cfg(feature = "server")]
pub mod runtime;
#[cfg(feature = "server")]
pub mod secret;
#[cfg(feature = "server")]
pub mod store;

#[cfg(feature = "caller")]
pub mod caller;

#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
