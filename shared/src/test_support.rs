//! Test doubles that the crates' tests and the bench share, each written once: a token
//! store in memory, a store wrapper that counts reads, and Lambda clients whose invokes
//! are answered by `aws-smithy-mocks` rules. Compiled for this crate's own tests and
//! behind the `test-support` feature; never in a deployed function.

#[cfg(any(feature = "caller", feature = "server"))]
pub mod lambda;
#[cfg(feature = "server")]
pub mod store;
