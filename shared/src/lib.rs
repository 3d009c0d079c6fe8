//! Orange SMS API OAuth token service: the library behind the `refresh` and
//! `get-token` functions, and the caller library that other Lambdas link.
//!
//! Features:
//! - `server` (default): everything the two functions use.
//! - `caller`: the small client other Rust Lambdas link to get a token
//!   (`default-features = false, features = ["caller"]`).

pub mod protocol;

#[cfg(feature = "caller")]
pub mod caller;
