//! Integration tests of the functions' handlers against a real AWS emulator (moto's
//! server, started by `scripts/test.sh`, reached through `AWS_ENDPOINT_URL`) and the
//! local Orange-like token endpoint (`tools/mock-orange`, started by each test).

mod day;
mod get_token;
mod harness;
mod hostile_input;
mod load;
mod refresh;
mod store_faults;

/// Where this binary's tracing is kept, and from which level: TRACE, so that the scan
/// covers the AWS SDKs' own request traces.
const TRACING: (&str, tracing::Level) = ("service-tracing.log", tracing::Level::TRACE);
