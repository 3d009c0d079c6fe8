//! `docs/performance.md`, from the results `scripts/bench.sh` gathers: criterion's
//! estimates, the warm hit's per-invocation tail, the Runtime API measurements, the
//! zips `scripts/build-release.sh` made, the caller libraries' scripts in TypeScript and
//! Python, and the load test's outcome. Every table is built from rows ([`sections`],
//! [`targets`]); the prose that does not change from run to run is `notes.md`, filled in.

mod sections;
mod targets;

use std::path::Path;
use std::process::Command;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::in_process::{BENCHMARKS, Benchmark, GROUP, WarmHitTail};
use crate::lambda::{FunctionResults, LambdaResults};
use crate::stats::Summary;

/// One estimate of criterion's `estimates.json`, ns.
#[derive(Debug, Clone, Deserialize)]
pub struct Estimate {
    pub point_estimate: f64,
    pub confidence_interval: Interval,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Interval {
    pub confidence_level: f64,
    pub lower_bound: f64,
    pub upper_bound: f64,
}

/// What criterion estimated of one benchmark (the per-iteration time).
#[derive(Debug, Clone, Deserialize)]
pub struct Estimates {
    pub mean: Estimate,
    pub median: Estimate,
}

/// `clients/typescript/bench/cached-hit.mjs`: the TypeScript caller library's cached hit
/// and the original design's in-memory hit, per call, one sample per batch.
#[derive(Debug, Deserialize)]
pub struct TypeScriptResults {
    pub batch: usize,
    pub node: String,
    pub typescript_cached_hit: Summary,
    pub original_design_hit: Summary,
}

/// `clients/python/bench/cached_hit.py`: the Python caller library's cached hit.
#[derive(Debug, Deserialize)]
pub struct PythonResults {
    pub batch: usize,
    pub python: String,
    pub python_cached_hit: Summary,
}

/// One deployable: `target/lambda/<arch>/<function>/bootstrap{,.zip}`, bytes.
#[derive(Debug)]
pub struct Size {
    pub arch: &'static str,
    pub function: &'static str,
    pub bootstrap: u64,
    pub zip: u64,
}

/// Where and from what the measurements ran.
#[derive(Debug, Default)]
pub struct Machine {
    pub date: String,
    pub commit: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub memory: String,
    pub kernel: String,
    pub rustc: String,
}

/// Everything the report shows.
#[derive(Debug)]
pub struct Results {
    pub machine: Machine,
    pub build_seconds: Option<usize>,
    /// Criterion's estimates, in the order of [`BENCHMARKS`].
    pub criterion: Vec<(&'static Benchmark, Estimates)>,
    /// The warm hit per invocation, log lines to `/dev/null` (judged) and to a drained pipe.
    pub tail: WarmHitTail,
    pub tail_pipe: Option<WarmHitTail>,
    pub lambda: LambdaResults,
    pub sizes: Vec<Size>,
    /// The closing line of `cargo test --test service load::`, when it passed.
    pub load_test: Option<String>,
    pub typescript: Option<TypeScriptResults>,
    pub python: Option<PythonResults>,
}

fn read<T: DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("cannot parse {}: {e}", path.display()))
}

impl Results {
    /// Reads `results` (the files `scripts/bench.sh` writes there; `criterion/` is
    /// `CRITERION_HOME`) and the deployables under `lambda_root`.
    pub fn read(
        results: &Path,
        lambda_root: &Path,
        build_seconds: Option<usize>,
    ) -> Result<Self, String> {
        let criterion = BENCHMARKS
            .iter()
            .map(|benchmark| {
                let path = results
                    .join("criterion")
                    .join(GROUP)
                    .join(benchmark.id)
                    .join("new/estimates.json");
                read(&path).map(|estimates| (benchmark, estimates))
            })
            .collect::<Result<_, _>>()?;
        let load_test = std::fs::read_to_string(results.join("load-test.log"))
            .ok()
            .and_then(|log| {
                log.lines()
                    .find(|line| line.starts_with("test result: ok."))
                    .map(str::to_owned)
            });
        Ok(Self {
            machine: machine(),
            build_seconds,
            criterion,
            tail: read(&results.join("warm-hit.json"))?,
            tail_pipe: read(&results.join("warm-hit-pipe.json")).ok(),
            lambda: read(&results.join("lambda.json"))?,
            sizes: sizes(lambda_root),
            load_test,
            typescript: read(&results.join("clients-typescript.json")).ok(),
            python: read(&results.join("clients-python.json")).ok(),
        })
    }

    pub fn function(&self, name: &str) -> Option<&FunctionResults> {
        self.lambda.functions.iter().find(|f| f.name == name)
    }

    pub fn estimates(&self, id: &str) -> Option<&Estimates> {
        self.criterion
            .iter()
            .find(|(benchmark, _)| benchmark.id == id)
            .map(|(_, estimates)| estimates)
    }
}

fn sizes(lambda_root: &Path) -> Vec<Size> {
    let mut sizes = Vec::new();
    for arch in ["arm64", "x86_64"] {
        for function in ["get-token", "refresh"] {
            let dir = lambda_root.join(arch).join(function);
            let len = |name: &str| std::fs::metadata(dir.join(name)).ok().map(|m| m.len());
            if let (Some(bootstrap), Some(zip)) = (len("bootstrap"), len("bootstrap.zip")) {
                sizes.push(Size {
                    arch,
                    function,
                    bootstrap,
                    zip,
                });
            }
        }
    }
    sizes
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The first `key: value` line of a `/proc` file whose key is `key`.
fn proc_field(file: &str, key: &str) -> Option<String> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            (name.trim() == key).then(|| value.trim().to_owned())
        })
}

fn machine() -> Machine {
    let commit = command_line("git", &["rev-parse", "--short=12", "HEAD"]).map(|commit| {
        // Only what the measured code is built from counts.
        let measured = [
            "functions",
            "shared",
            "tools/bench",
            "Cargo.toml",
            "Cargo.lock",
        ];
        let mut args = vec!["status", "--porcelain", "--untracked-files=no", "--"];
        args.extend(measured);
        match command_line("git", &args) {
            Some(status) if !status.is_empty() => {
                format!("{commit} (with uncommitted changes to the measured code)")
            }
            _ => commit,
        }
    });
    let memory = proc_field("/proc/meminfo", "MemTotal")
        .and_then(|kib| kib.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0));
    let unknown = || "unknown".to_owned();
    Machine {
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        commit: commit.unwrap_or_else(unknown),
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        cpu_model: proc_field("/proc/cpuinfo", "model name").unwrap_or_else(unknown),
        memory: memory.unwrap_or_else(unknown),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| unknown(), |k| k.trim().to_owned()),
        rustc: command_line("rustc", &["--version"]).unwrap_or_else(unknown),
    }
}

/// The whole report.
pub fn render(results: &Results) -> String {
    let targets = targets::rows(results);
    let missed: Vec<&str> = targets
        .iter()
        .filter(|row| !row.met)
        .map(|row| row.what.as_str())
        .collect();
    let mut out = String::from("# Performance\n\n");
    out.push_str(&sections::header(results));
    out.push_str("## Targets\n\n");
    out.push_str(&table(
        &["what", "target", "measured", "met?"],
        targets.iter().map(targets::Row::cells),
    ));
    out.push_str(if missed.is_empty() {
        "\nEvery target is met in this run.\n\n"
    } else {
        "\n"
    });
    if !missed.is_empty() {
        out.push_str(&format!("Missed in this run: {}.\n\n", missed.join("; ")));
    }
    for section in sections::all(results) {
        out.push_str(&section);
    }
    out
}

/// A markdown table.
pub fn table(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
    let headers: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    let mut out = line(&headers);
    out.push_str(&line(&vec!["---".to_owned(); headers.len()]));
    for row in rows {
        out.push_str(&line(&row));
    }
    out
}

/// A duration in the unit that reads best.
pub fn duration(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}

pub fn ms(value: f64) -> String {
    duration(value * 1_000_000.0)
}

pub fn mib(bytes: f64) -> String {
    format!("{:.2} MiB", bytes / (1024.0 * 1024.0))
}

/// A criterion estimate with its interval: `61 ns (60 ns – 62 ns)`.
pub fn estimate(e: &Estimate) -> String {
    format!(
        "{} ({} – {})",
        duration(e.point_estimate),
        duration(e.confidence_interval.lower_bound),
        duration(e.confidence_interval.upper_bound)
    )
}

/// p50, p90, p99, p99.9, max and the number of samples.
pub fn distribution(s: &Summary) -> Vec<String> {
    let mut cells: Vec<String> = [s.p50_ns, s.p90_ns, s.p99_ns, s.p999_ns, s.max_ns]
        .into_iter()
        .map(duration)
        .collect();
    cells.push(s.count.to_string());
    cells
}

#[cfg(test)]
mod tests;
