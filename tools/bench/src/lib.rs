//! The performance report of the token service (`scripts/bench.sh` runs it and writes
//! `docs/performance.md`):
//!
//! - [`micro`]: in-process distributions: the get-token handler's warm memory hit,
//!   the caller library's cached hit, the token-endpoint answer and envelope parsers;
//! - [`load`]: many concurrent `get`s through one instance and through 100 instances,
//!   counting store reads and refresh invokes;
//! - [`lambda`]: the release bootstraps under a local Lambda Runtime API
//!   ([`runtime_api`]): cold start and peak memory;
//! - [`report`]: the markdown table with the targets.
//!
//! Timings are measured and reported, never asserted; the counts are asserted in
//! `tests/tests/service/load.rs` too. Everything binds and talks to loopback only.

pub mod http;
pub mod lambda;
pub mod load;
pub mod micro;
pub mod report;
pub mod runtime_api;
pub mod stats;
pub mod support;
