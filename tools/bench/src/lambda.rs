//! The release bootstraps under the local Runtime API ([`crate::runtime_api`]): cold
//! start (exec → first `/next`, exec → first answer) and peak memory over many
//! invocations (`VmHWM` of `/proc/<pid>/status`).
//!
//! Each bootstrap runs with a cleared environment plus what Lambda sets and the
//! function's configuration, pointed at the local AWS emulator (`AWS_ENDPOINT_URL`,
//! loopback only) with static credentials.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::runtime_api::{Answer, RuntimeApi};
use crate::stats::Summary;

/// One function to run.
#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub bootstrap: PathBuf,
    /// The function's configuration (the contract's variables and the AWS SDK's).
    pub env: Vec<(String, String)>,
    /// The event of every invocation.
    pub event: Vec<u8>,
    /// A string every successful answer holds.
    pub expect: String,
}

/// `runs` cold starts of one function, ms per run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColdStarts {
    /// exec → first `GET /next` (the function's init).
    pub init_ms: Vec<f64>,
    /// exec → the first answer posted.
    pub first_answer_ms: Vec<f64>,
    /// CPU time of the process (all threads) at its first `/next`: the init's own work,
    /// whatever else runs on the machine.
    pub init_cpu_ms: Vec<f64>,
    /// CPU time once the first answer is posted (the process waits for the next event).
    pub first_answer_cpu_ms: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    pub invocations: usize,
    pub vm_hwm_kib: u64,
    pub vm_rss_kib: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryRun {
    pub invocations: usize,
    pub checkpoints: Vec<Checkpoint>,
    /// Peak RSS over the whole run.
    pub peak_kib: u64,
    /// Peak RSS after the last invocation less the peak after warm-up.
    pub growth_after_warmup_kib: i64,
    pub warmup_invocations: usize,
    /// One warm invocation through the Runtime API (push → answer), loopback HTTP included.
    pub warm_invocation: Summary,
}

/// Keeps the last bytes a child wrote, for error messages; drains the pipe as
/// Lambda's log collector does.
fn drain(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let tail = Arc::new(Mutex::new(Vec::new()));
    let keep = tail.clone();
    thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            if let Ok(mut tail) = keep.lock() {
                tail.extend_from_slice(&buffer[..n]);
                let excess = tail.len().saturating_sub(8 * 1024);
                tail.drain(..excess);
            }
        }
    });
    tail
}

struct Running {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    started: Instant,
}

impl Running {
    fn output(&self) -> String {
        let text = |tail: &Arc<Mutex<Vec<u8>>>| {
            tail.lock()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default()
        };
        format!(
            "stdout (end): {}\nstderr (end): {}",
            text(&self.stdout),
            text(&self.stderr)
        )
    }

    /// Waits until `count` `/next` requests arrived; fails early when the process exits.
    fn next_calls(
        &mut self,
        api: &RuntimeApi,
        count: usize,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while !api.wait_next_calls(count, Duration::from_millis(100)) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "the process exited ({status}) before its /next call {count}"
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!("no /next call {count} within {timeout:?}"));
            }
        }
        Ok(())
    }

    /// Waits for the answer to `request_id`; fails early when the process exits.
    fn answer(
        &mut self,
        api: &RuntimeApi,
        request_id: &str,
        timeout: Duration,
    ) -> Result<Answer, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let slice = deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100));
            match api.wait_answer(request_id, slice) {
                Ok(answer) => return Ok(answer),
                Err(error) if Instant::now() >= deadline => return Err(error),
                Err(error) if error.contains("init") => return Err(error),
                Err(_) => {}
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the process exited ({status}) before answering"));
            }
        }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(function: &Function, api: &RuntimeApi) -> Result<Running, String> {
    let mut command = Command::new(&function.bootstrap);
    command
        .env_clear()
        .envs(function.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", api.addr().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", function.bootstrap.display()))?;
    let stdout = drain(child.stdout.take().ok_or("no stdout")?);
    let stderr = drain(child.stderr.take().ok_or("no stderr")?);
    Ok(Running {
        child,
        stdout,
        stderr,
        started,
    })
}

fn check(function: &Function, body: &[u8], error: bool) -> Result<(), String> {
    let text = String::from_utf8_lossy(body);
    if error || !text.contains(&function.expect) {
        // An error body holds errorType and errorMessage, never a token.
        let shown = if error {
            text.into_owned()
        } else {
            format!("an answer without {:?}", function.expect)
        };
        return Err(format!("{} answered {shown}", function.name));
    }
    Ok(())
}

fn arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:123456789012:function:{name}")
}

/// `runs` cold starts, each a new process and a new Runtime API with one event queued.
pub fn cold_starts(function: &Function, runs: usize) -> Result<ColdStarts, String> {
    let mut init_ms = Vec::with_capacity(runs);
    let mut first_answer_ms = Vec::with_capacity(runs);
    let mut init_cpu_ms = Vec::with_capacity(runs);
    let mut first_answer_cpu_ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let api = RuntimeApi::start(&arn(&function.name)).map_err(|e| e.to_string())?;
        let mut running = spawn(function, &api)?;
        let pid = running.child.id();
        // The event is queued once the first /next arrives: the process then waits in it,
        // so its CPU time is the init's. A queued event is handed out within microseconds.
        let measured = (|| {
            running.next_calls(&api, 1, Duration::from_secs(30))?;
            let init_cpu = process_cpu_ms(pid)?;
            let request_id = api.push(&function.event);
            let answer = running.answer(&api, &request_id, Duration::from_secs(30))?;
            running.next_calls(&api, 2, Duration::from_secs(30))?;
            let first_cpu = process_cpu_ms(pid)?;
            Ok::<_, String>((init_cpu, answer, first_cpu))
        })();
        let (init_cpu, answer, first_cpu) = match measured {
            Ok(measured) => measured,
            Err(error) => {
                let output = running.output();
                running.stop();
                return Err(format!("{}: {error}\n{output}", function.name));
            }
        };
        let first_next = api.first_next().ok_or("no /next before the answer")?;
        init_ms.push(ms(first_next - running.started));
        first_answer_ms.push(ms(answer.at - running.started));
        init_cpu_ms.push(init_cpu);
        first_answer_cpu_ms.push(first_cpu);
        running.stop();
        api.close();
        check(function, &answer.body, answer.error)?;
    }
    Ok(ColdStarts {
        init_ms,
        first_answer_ms,
        init_cpu_ms,
        first_answer_cpu_ms,
    })
}

/// `invocations` invocations of one process, one at a time; memory read at `checkpoints`
/// (invocation counts) and at the end.
pub fn memory(
    function: &Function,
    invocations: usize,
    warmup_invocations: usize,
) -> Result<MemoryRun, String> {
    let api = RuntimeApi::start(&arn(&function.name)).map_err(|e| e.to_string())?;
    let mut running = spawn(function, &api)?;
    let pid = running.child.id();
    let mut marks: Vec<usize> = [1, 10, 100, warmup_invocations, invocations / 2, invocations]
        .into_iter()
        .filter(|n| *n <= invocations)
        .collect();
    marks.sort_unstable();
    marks.dedup();
    let mut checkpoints = Vec::new();
    let mut latencies = Vec::with_capacity(invocations);
    let result = (|| {
        for i in 1..=invocations {
            let started = Instant::now();
            let request_id = api.push(&function.event);
            let answer = running.answer(&api, &request_id, Duration::from_secs(30))?;
            latencies.push(answer.at.saturating_duration_since(started));
            if i == 1 || i.is_multiple_of(1000) {
                check(function, &answer.body, answer.error)?;
            }
            if marks.contains(&i) {
                let (vm_hwm_kib, vm_rss_kib) = proc_memory(pid)?;
                checkpoints.push(Checkpoint {
                    invocations: i,
                    vm_hwm_kib,
                    vm_rss_kib,
                });
            }
        }
        Ok::<_, String>(())
    })();
    if let Err(error) = result {
        let output = running.output();
        running.stop();
        return Err(format!("{}: {error}\n{output}", function.name));
    }
    running.stop();
    api.close();
    let peak_kib = checkpoints.iter().map(|c| c.vm_hwm_kib).max().unwrap_or(0);
    let at_warmup = checkpoints
        .iter()
        .find(|c| c.invocations >= warmup_invocations)
        .map_or(0, |c| c.vm_hwm_kib);
    // The first invocation is the cold one; the rest are warm.
    let warm = latencies.get(1..).unwrap_or_default();
    Ok(MemoryRun {
        invocations,
        growth_after_warmup_kib: i64::try_from(peak_kib).unwrap_or(i64::MAX)
            - i64::try_from(at_warmup).unwrap_or(0),
        checkpoints,
        peak_kib,
        warmup_invocations,
        warm_invocation: Summary::of_durations(warm).ok_or("no warm invocations")?,
    })
}

/// CPU time of every thread of a process so far (`/proc/<pid>/task/*/schedstat`), ms.
pub fn process_cpu_ms(pid: u32) -> Result<f64, String> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map_err(|e| format!("cannot list /proc/{pid}/task: {e}"))?;
    let mut nanos: u64 = 0;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        nanos += stat
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(nanos as f64 / 1_000_000.0)
}

/// `VmHWM` and `VmRSS` of a process, KiB.
pub fn proc_memory(pid: u32) -> Result<(u64, u64), String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .ok_or(format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmHWM:")?, field("VmRSS:")?))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// One function's cold starts and memory run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FunctionResults {
    pub name: String,
    pub cold: ColdStarts,
    /// Cold starts with the system's root certificates hidden (`SSL_CERT_FILE=/dev/null`):
    /// what reading them at start would cost (get-token only; refresh's token-endpoint
    /// client needs them).
    pub cold_without_root_certificates: Option<ColdStarts>,
    pub memory: MemoryRun,
}

/// Everything measured under the Runtime API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LambdaResults {
    /// `x86_64` or `arm64`: the architecture of the bootstraps run.
    pub arch: String,
    pub functions: Vec<FunctionResults>,
    /// One `GetParameter` with decryption on the local AWS emulator from a warm client
    /// (median of 20): part of every first answer.
    pub emulator_read_median_ms: f64,
}
