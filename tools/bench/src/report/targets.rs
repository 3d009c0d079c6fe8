//! The Targets table: one row per target, each with how it is measured.

use super::{Results, duration, mib, ms};
use crate::in_process::CALLER_HIT;
use crate::lambda::{FunctionResults, MemoryRun};

pub const WARM_HIT_P99_NS: f64 = 20_000.0;
pub const CALLER_HIT_NS: f64 = 200.0;
pub const GET_TOKEN_INIT_MS: f64 = 8.0;
pub const GET_TOKEN_FIRST_ANSWER_MS: f64 = 15.0;
pub const PEAK_KIB: f64 = 16.0 * 1024.0;
pub const ZIP_BYTES: f64 = 3.0 * 1024.0 * 1024.0;
pub const TYPESCRIPT_SPEEDUP: f64 = 25.0;
/// The memory growth target: at the growth rate measured after warm-up, the peak stays
/// under [`PEAK_KIB`] for at least this many invocations (far more than a Lambda
/// instance lives through: `notes.md`).
pub const GROWTH_HORIZON_INVOCATIONS: f64 = 1_000_000.0;

pub struct Row {
    pub what: String,
    pub target: String,
    pub measured: String,
    pub met: bool,
    /// How close to the target, e.g. `17 % of the target`.
    pub margin: String,
}

impl Row {
    pub fn cells(&self) -> Vec<String> {
        let verdict = match (self.met, self.margin.is_empty()) {
            (true, true) => "yes".to_owned(),
            (true, false) => format!("yes ({})", self.margin),
            (false, _) => format!("**no** ({})", self.margin),
        };
        vec![
            self.what.clone(),
            self.target.clone(),
            self.measured.clone(),
            verdict,
        ]
    }
}

/// A row whose measure must be at most `target`.
fn at_most(what: String, target: String, value: f64, limit: f64, measured: String) -> Row {
    Row {
        what,
        target,
        measured,
        met: value <= limit,
        margin: format!("{:.0} % of the target", value / limit * 100.0),
    }
}

/// At the growth rate after warm-up, how many invocations until the peak reaches the
/// target; `None` when memory did not grow.
pub fn invocations_to_limit(run: &MemoryRun) -> Option<f64> {
    let grown = run.growth_after_warmup_kib as f64;
    let measured_over = run
        .invocations
        .saturating_sub(run.warmup_invocations)
        .max(1) as f64;
    (grown > 0.0).then(|| (PEAK_KIB - run.peak_kib as f64).max(0.0) / grown * measured_over)
}

fn memory_rows(f: &FunctionResults) -> [Row; 2] {
    let m = &f.memory;
    let peak = at_most(
        format!(
            "{} peak memory (max RSS) over {} invocations",
            f.name, m.invocations
        ),
        "≤ 16 MiB".to_owned(),
        m.peak_kib as f64,
        PEAK_KIB,
        mib(m.peak_kib as f64 * 1024.0),
    );
    let limit = invocations_to_limit(m);
    let growth = Row {
        what: format!(
            "{} memory growth after warm-up ({} → {} invocations), extrapolated",
            f.name, m.warmup_invocations, m.invocations
        ),
        target: "16 MiB not reached within 1,000,000 invocations".to_owned(),
        measured: match limit {
            None => format!("{} KiB: flat", m.growth_after_warmup_kib),
            Some(n) => format!(
                "+{} KiB: 16 MiB after ≈ {:.1} million invocations",
                m.growth_after_warmup_kib,
                n / 1e6
            ),
        },
        met: limit.is_none_or(|n| n >= GROWTH_HORIZON_INVOCATIONS),
        margin: String::new(),
    };
    [peak, growth]
}

/// Every target, measured.
pub fn rows(r: &Results) -> Vec<Row> {
    let mut rows = Vec::new();
    let tail = &r.tail.summary;
    rows.push(at_most(
        format!(
            "get-token handler, warm memory hit, per invocation in-process (log lines to {})",
            if r.tail.stdout == "character device" {
                "`/dev/null`"
            } else {
                &r.tail.stdout
            }
        ),
        "p99 ≤ 20 µs".to_owned(),
        tail.p99_ns,
        WARM_HIT_P99_NS,
        format!(
            "p50 {}, p99 {}",
            duration(tail.p50_ns),
            duration(tail.p99_ns)
        ),
    ));
    if let Some(hit) = r.estimates(CALLER_HIT) {
        rows.push(at_most(
            "caller library, cached hit (`access_token()`), per call: criterion's median (95 % interval)".to_owned(),
            "≤ 200 ns".to_owned(),
            hit.median.point_estimate,
            CALLER_HIT_NS,
            super::estimate(&hit.median),
        ));
    }
    if let Some(get_token) = r.function("get-token") {
        let cold = &get_token.cold;
        let runs = cold.init_ms.len();
        let init = crate::stats::median(&mut cold.init_ms.clone());
        let first = crate::stats::median(&mut cold.first_answer_ms.clone());
        rows.push(at_most(
            format!("get-token cold start: exec → first `/next` (init), median of {runs}"),
            "≤ 8 ms".to_owned(),
            init,
            GET_TOKEN_INIT_MS,
            ms(init),
        ));
        rows.push(at_most(
            format!("get-token cold start: exec → first answer (one SSM read), median of {runs}"),
            "≤ 15 ms".to_owned(),
            first,
            GET_TOKEN_FIRST_ANSWER_MS,
            ms(first),
        ));
    }
    for function in &r.lambda.functions {
        rows.extend(memory_rows(function));
    }
    for size in &r.sizes {
        rows.push(at_most(
            format!(
                "{} deployable, {}: zip (bootstrap)",
                size.function, size.arch
            ),
            "zip ≤ 3 MiB".to_owned(),
            size.zip as f64,
            ZIP_BYTES,
            format!("{} ({})", mib(size.zip as f64), mib(size.bootstrap as f64)),
        ));
    }
    if r.sizes.is_empty() {
        rows.push(Row {
            what: "deployable size".to_owned(),
            target: "zip ≤ 3 MiB".to_owned(),
            measured: "no bootstrap.zip under target/lambda".to_owned(),
            met: false,
            margin: "not measured".to_owned(),
        });
    }
    for (instances, reads) in [
        ("one instance", "1 SSM read"),
        ("100 instances", "100 SSM reads (one per instance)"),
    ] {
        rows.push(Row {
            what: format!(
                "load: 1000 concurrent `get` through {instances} (`tests/tests/service/load.rs`)"
            ),
            target: format!("0 token requests, {reads}"),
            measured: match &r.load_test {
                Some(_) => "as asserted: the test passed in this run".to_owned(),
                None => "the load test did not pass".to_owned(),
            },
            met: r.load_test.is_some(),
            margin: String::new(),
        });
    }
    if let Some(ts) = &r.typescript {
        let speedup = ts.original_design_hit.p50_ns / ts.typescript_cached_hit.p50_ns;
        rows.push(Row {
            what: "TypeScript caller library, cached hit (`await tokens.token()`) against the original design's (`await getAccessToken()`), per call".to_owned(),
            target: format!("≥ {TYPESCRIPT_SPEEDUP:.0}× faster"),
            measured: format!(
                "{} against {}: {speedup:.0}×",
                duration(ts.typescript_cached_hit.p50_ns),
                duration(ts.original_design_hit.p50_ns)
            ),
            met: speedup >= TYPESCRIPT_SPEEDUP,
            margin: String::new(),
        });
    }
    rows
}
