//! The performance report of the token service (`scripts/bench.sh` runs it all and writes
//! `docs/performance.md`):
//!
//! - `benches/in_process.rs` (criterion, `cargo bench -p bench`): the get-token handler's
//!   warm memory hit, the caller library's cached hit, the parsers and the warm hit's log
//!   lines; and the warm hit's per-invocation tail. [`in_process`] names them for the report;
//! - [`functions`]: the release bootstraps under a local Lambda Runtime API
//!   ([`runtime_api`] over [`http`], run by [`lambda`]): cold start and memory;
//! - [`report`]: the markdown, its targets table included.
//!
//! Timings are measured and reported, never asserted. Everything binds and talks to
//! loopback only.

pub mod functions;
pub mod http;
pub mod in_process;
pub mod lambda;
pub mod report;
pub mod runtime_api;
pub mod stats;
