//! End-to-end tests: the whole service on this machine, through the real Lambda Invoke
//! API.
//!
//! `scripts/test.sh` starts, before `cargo test`, on loopback only: moto's server (the
//! AWS emulator, `AWS_ENDPOINT_URL`), `mock-orange` (the token endpoint) and
//! `cargo lambda watch` running `refresh` and `get-token` with their own target
//! directory (`cargo test` holds the workspace target directory's lock while tests run:
//! a watch building there would wait forever). get-token invokes refresh through the
//! watch's Invoke API. These tests reach them through the `E2E_*` variables the script
//! exports and fail, naming the variable, when one is missing: run them with
//! `scripts/test.sh` (e.g. `scripts/test.sh --test e2e`).
//!
//! The tests share one watch, one token endpoint and one SSM parameter, so they take a
//! lock ([`harness::session`]) and run one at a time; each starts and ends with the
//! endpoint's faults cleared. The token endpoint issues tokens of 25 minutes
//! (`--expires-in 1500`): more than refresh's threshold (20 minutes), so a new token is
//! fresh, and less than get-token's largest `min_ttl_seconds` (30 minutes), so a test can
//! ask for more life than any token a warm get-token holds in memory.

mod harness;

mod bad_events;
mod caller_library;
mod endpoint_failing;
mod expired_envelope;
mod logs;
mod scheduled_refresh;
