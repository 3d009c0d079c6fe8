//! The report's sections after the targets: each a short text and a table built from
//! rows, then the notes (`notes.md`, filled in).

use super::{Results, distribution, duration, estimate, mib, ms, table};
use crate::in_process::{AUDIT_LINE, EMF_LINE, STDOUT_LINE, WARM_HIT};
use crate::lambda::{ColdStarts, MemoryRun};
use crate::stats::median;

/// The design notes: prose that does not change from run to run, with `{name}` for the
/// figures of this run.
const NOTES: &str = include_str!("notes.md");

/// A figure of the notes that this run's results lack.
pub const MISSING: &str = "(not measured)";

/// refresh's schedule in template.yaml (`RefreshScheduleRateMinutes`): its default and
/// its fastest, in minutes.
pub const SCHEDULE_MINUTES: (f64, f64) = (4.0, 2.0);

pub fn header(r: &Results) -> String {
    let m = &r.machine;
    let arch = if r.lambda.arch == "arm64" {
        "arm64 (the deployed architecture)".to_owned()
    } else {
        format!(
            "{} (the deployed architecture is arm64: see the notes)",
            r.lambda.arch
        )
    };
    let mut rows = vec![
        ["date", &m.date].map(str::to_owned).to_vec(),
        vec!["commit".to_owned(), format!("`{}`", m.commit)],
        vec![
            "machine".to_owned(),
            format!(
                "{} CPUs (`nproc`), {}, {} memory, Linux {}",
                m.cpus, m.cpu_model, m.memory, m.kernel
            ),
        ],
        vec!["toolchain".to_owned(), m.rustc.clone()],
        vec!["bootstraps run".to_owned(), arch],
    ];
    if let Some(seconds) = r.build_seconds {
        rows.push(vec![
            "release build".to_owned(),
            format!("`scripts/build-release.sh` took {seconds} s in this run (Cargo rebuilds only what changed)"),
        ]);
    }
    format!(
        "Written by `scripts/bench.sh` (do not edit by hand; run it again). Timings are one \
         run's on the machine below: compare them as ratios, on the same machine.\n\n{}\n",
        table(&["", ""], rows)
    )
}

/// Every section after the targets, in order.
pub fn all(r: &Results) -> Vec<String> {
    vec![
        in_process(r),
        caller_libraries(r),
        cold_start(r),
        memory(r),
        sizes(r),
        format!("## Notes\n\n{}", notes(r)),
    ]
}

fn in_process(r: &Results) -> String {
    let criterion_rows = r.criterion.iter().map(|(benchmark, e)| {
        vec![
            benchmark.what.to_owned(),
            estimate(&e.median),
            estimate(&e.mean),
            benchmark.how.to_owned(),
        ]
    });
    let tails = [
        Some((&r.tail, "`/dev/null`")),
        r.tail_pipe
            .as_ref()
            .map(|t| (t, "a pipe that `cat` drains")),
    ];
    let tail_rows = tails.into_iter().flatten().map(|(tail, to)| {
        let mut row = vec![format!("get-token warm hit, log lines to {to}")];
        row.extend(distribution(&tail.summary));
        row
    });
    format!(
        "## In-process\n\n\
         Criterion (`tools/bench/benches/in_process.rs`, `cargo bench -p bench`), built with the \
         bench profile, which is the workspace's `[profile.release]` (Cargo builds benchmarks \
         with `panic = \"unwind\"` whatever the profile says): the estimates of the time per \
         call, with their {:.0} % confidence intervals.\n\n{}\n\
         The warm hit's target is a per-invocation percentile, which criterion does not report \
         (its samples are means of batches): the same bench first times {} invocations one by \
         one, after a warm-up of a twentieth as many. get-token read its store {} time (its \
         first get) and invoked refresh {} times.\n\n{}\n",
        r.criterion
            .first()
            .map_or(95.0, |(_, e)| e.median.confidence_interval.confidence_level
                * 100.0),
        table(
            &["what", "median (interval)", "mean (interval)", "how"],
            criterion_rows
        ),
        r.tail.summary.count,
        r.tail.store_reads,
        r.tail.refresh_invokes,
        table(
            &["what", "p50", "p90", "p99", "p99.9", "max", "samples"],
            tail_rows
        ),
    )
}

fn caller_libraries(r: &Results) -> String {
    let mut rows = Vec::new();
    if let Some(ts) = &r.typescript {
        let how = format!(
            "`await`ed per call, batches of {}, Node.js {}",
            ts.batch, ts.node
        );
        for (what, s) in [
            (
                "TypeScript library, cached hit (`await tokens.token()`)",
                &ts.typescript_cached_hit,
            ),
            (
                "original design, in-memory hit (`await getAccessToken()`)",
                &ts.original_design_hit,
            ),
        ] {
            rows.push([vec![what.to_owned()], distribution(s), vec![how.clone()]].concat());
        }
    }
    if let Some(py) = &r.python {
        let how = format!("batches of {}, CPython {}", py.batch, py.python);
        let what = "Python library, cached hit (`tokens.token()`)".to_owned();
        rows.push([vec![what], distribution(&py.python_cached_hit), vec![how]].concat());
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "## Caller libraries in TypeScript and Python\n\n\
         Per call, in-process: one sample is the mean of a batch of calls on a token already \
         cached (`clients/typescript/bench/cached-hit.mjs`, `clients/python/bench/cached_hit.py`). \
         The original design's hit is its `OAuthTokenService.getAccessToken()` ported to Node.js \
         as written (`clients/typescript/bench/original-design.mjs`): an async method whose cache \
         check builds two luxon `DateTime`s (`DateTime.now()` and `expiresAt.minus({{ minutes: 5 }})`) \
         and compares them, then calls `Logger.debug` at a level that discards it. The library's \
         hit compares the clock with a precomputed number and answers an already-resolved \
         promise.\n\n{}\n",
        table(
            &[
                "what", "p50", "p90", "p99", "p99.9", "max", "samples", "how"
            ],
            rows
        )
    )
}

/// Median, min and max of one measure of the cold starts.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (median(&mut values.to_vec()), min, max)
}

fn cold_start(r: &Results) -> String {
    let runs = r.lambda.functions.iter().flat_map(|f| {
        let hidden = f.cold_without_root_certificates.as_ref();
        [(f.name.clone(), &f.cold)]
            .into_iter()
            .chain(hidden.map(|c| (format!("{}, system root certificates hidden", f.name), c)))
    });
    let rows = runs.map(|(name, c): (String, &ColdStarts)| {
        let (init, init_min, init_max) = spread(&c.init_ms);
        let (first, first_min, first_max) = spread(&c.first_answer_ms);
        vec![
            name,
            format!("{} ({} – {})", ms(init), ms(init_min), ms(init_max)),
            format!("{} ({} – {})", ms(first), ms(first_min), ms(first_max)),
            format!(
                "{} / {}",
                ms(spread(&c.init_cpu_ms).0),
                ms(spread(&c.first_answer_cpu_ms).0)
            ),
        ]
    });
    format!(
        "## Cold start\n\n\
         The release bootstraps under a local Lambda Runtime API (`tools/bench/src/runtime_api.rs`, \
         loopback), each run a new process with one event queued. init = exec → first \
         `GET /runtime/invocation/next`; first answer = exec → the first answer posted, with one \
         SSM `GetParameter` (decrypted) on the local AWS emulator ({} from a warm client: moto, \
         plain HTTP). CPU time is the process's, all threads, from `/proc/<pid>/task/*/schedstat`.\n\n{}\n",
        ms(r.lambda.emulator_read_median_ms),
        table(
            &[
                "function",
                "init: median (min – max)",
                "first answer: median (min – max)",
                "CPU at init / at the first answer (median)"
            ],
            rows
        )
    )
}

/// `N: VmHWM / VmRSS` at each checkpoint.
fn checkpoints(run: &MemoryRun) -> String {
    let marks: Vec<String> = run
        .checkpoints
        .iter()
        .map(|c| {
            format!(
                "{}: {} / {}",
                c.invocations,
                mib(c.vm_hwm_kib as f64 * 1024.0),
                mib(c.vm_rss_kib as f64 * 1024.0)
            )
        })
        .collect();
    marks.join("; ")
}

fn memory(r: &Results) -> String {
    let rows = r.lambda.functions.iter().map(|f| {
        vec![
            f.name.clone(),
            checkpoints(&f.memory),
            format!("{} KiB", f.memory.growth_after_warmup_kib),
            format!(
                "{} / {}",
                duration(f.memory.warm_invocation.p50_ns),
                duration(f.memory.warm_invocation.p99_ns)
            ),
        ]
    });
    let (invocations, warmup) = r.lambda.functions.first().map_or((0, 0), |f| {
        (f.memory.invocations, f.memory.warmup_invocations)
    });
    format!(
        "## Memory\n\n\
         One process per function, {invocations} invocations one after another through the \
         Runtime API; `VmHWM` (peak RSS) and `VmRSS` from `/proc/<pid>/status` after the given \
         number of invocations. Growth after warm-up = peak at the end less peak after {warmup} \
         invocations.\n\n{}\n",
        table(
            &[
                "function",
                "after N invocations: VmHWM / VmRSS",
                "growth after warm-up",
                "warm invocation through the Runtime API: p50 / p99"
            ],
            rows
        )
    )
}

fn sizes(r: &Results) -> String {
    let rows = r.sizes.iter().map(|s| {
        vec![
            s.function.to_owned(),
            s.arch.to_owned(),
            format!("{} ({} bytes)", mib(s.bootstrap as f64), s.bootstrap),
            format!("{} ({} bytes)", mib(s.zip as f64), s.zip),
        ]
    });
    format!(
        "## Deployable size\n\n\
         `sam build --beta-features` (`scripts/build-release.sh`: `cargo lambda build --release` \
         with the workspace's `[profile.release]`); the zip is the build folder deflated, as \
         `sam deploy` uploads it.\n\n{}\n",
        table(&["function", "arch", "bootstrap", "zip"], rows)
    )
}

/// Replaces each `{name}` of `template` with its value.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

fn notes(r: &Results) -> String {
    let median_of = |id: &str| {
        r.estimates(id)
            .map_or(MISSING.to_owned(), |e| duration(e.median.point_estimate))
    };
    let cold = |name: &str, pick: fn(&ColdStarts) -> &Vec<f64>| {
        r.function(name)
            .map_or(MISSING.to_owned(), |f| ms(spread(pick(&f.cold)).0))
    };
    let hidden = |pick: fn(&ColdStarts) -> &Vec<f64>| {
        r.function("get-token")
            .and_then(|f| f.cold_without_root_certificates.as_ref())
            .map_or(MISSING.to_owned(), |c| ms(spread(pick(c)).0))
    };
    let refresh = r.function("refresh").map(|f| &f.memory);
    let at = |n: usize| {
        refresh
            .and_then(|m| m.checkpoints.iter().find(|c| c.invocations == n))
            .map_or(MISSING.to_owned(), |c| mib(c.vm_hwm_kib as f64 * 1024.0))
    };
    let end = refresh.map_or(0, |m| m.invocations);
    let days = |n: usize, minutes: f64| format!("{:.1}", n as f64 * minutes / 60.0 / 24.0);
    let growth = |name: &str| {
        r.function(name).map_or(MISSING.to_owned(), |f| {
            format!("{} KiB", f.memory.growth_after_warmup_kib)
        })
    };
    let pipe = r.tail_pipe.as_ref().map(|t| &t.summary);
    let arm64 = if r.sizes.iter().any(|s| s.arch == "arm64") {
        ""
    } else {
        "- **arm64**, the deployed architecture, is not measured here: the \
         `aarch64-unknown-linux-gnu` Rust target is not installed on this machine \
         (`rustup target add aarch64-unknown-linux-gnu`, then `scripts/build-release.sh` builds \
         both). The sizes and timings above are x86-64; arm64 code of the same program is \
         usually a few percent smaller.\n"
    };
    let values = [
        ("warm_p50", duration(r.tail.summary.p50_ns)),
        ("warm_p99", duration(r.tail.summary.p99_ns)),
        ("warm_p999", duration(r.tail.summary.p999_ns)),
        ("warm_median", median_of(WARM_HIT)),
        (
            "pipe_p99",
            pipe.map_or(MISSING.to_owned(), |s| duration(s.p99_ns)),
        ),
        ("audit_line", median_of(AUDIT_LINE)),
        ("emf_line", median_of(EMF_LINE)),
        ("stdout_line", median_of(STDOUT_LINE)),
        ("init_cpu", cold("get-token", |c| &c.init_cpu_ms)),
        ("init_cpu_hidden", hidden(|c| &c.init_cpu_ms)),
        ("init", cold("get-token", |c| &c.init_ms)),
        ("init_hidden", hidden(|c| &c.init_ms)),
        ("refresh_init_cpu", cold("refresh", |c| &c.init_cpu_ms)),
        ("emulator_read", ms(r.lambda.emulator_read_median_ms)),
        ("get_token_growth", growth("get-token")),
        ("refresh_growth", growth("refresh")),
        ("refresh_1", at(1)),
        ("refresh_1000", at(1_000)),
        ("refresh_end", at(end)),
        ("end", end.to_string()),
        ("days_1000", days(1_000, SCHEDULE_MINUTES.0)),
        ("days_end", days(end, SCHEDULE_MINUTES.0)),
        ("days_end_fastest", days(end, SCHEDULE_MINUTES.1)),
        ("arm64", arm64.to_owned()),
    ];
    fill(NOTES, &values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_the_templates() {
        let template =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"))
                .unwrap();
        let start = template.find("  RefreshScheduleRateMinutes:").unwrap();
        let block: String = template[start..]
            .lines()
            .take(10)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            block.contains(&format!("Default: {}", SCHEDULE_MINUTES.0)),
            "{block}"
        );
        assert!(
            block.contains(&format!("MinValue: {}", SCHEDULE_MINUTES.1)),
            "{block}"
        );
    }
}
