#!/usr/bin/env bash
# The benchmark command: measures the service against its performance targets, prints
# the report and writes it to docs/performance.md with the machine and the commit.
# Not part of the test run. Takes about 5 to 15 minutes once the release builds are
# cached; the first ones take 30 minutes or more on 2 cores (the functions' build, and
# the benchmarks', whose dependencies Cargo builds apart: benchmarks always unwind).
#
# 1. installs the pinned Python tools (scripts/setup-venv.sh);
# 2. builds the deployables (scripts/build-release.sh: sam build, the zips Lambda gets);
# 3. runs the in-process benchmarks (`cargo bench -p bench`: criterion, built with the bench
#    profile, which is the workspace's release profile), first with the functions' log
#    lines on /dev/null, then the warm hit's per-invocation tail alone with them on a pipe
#    that `cat` drains, as Lambda's log collector does; that build also makes the `bench`
#    tool (target/release/bench);
# 4. runs the load test whose counts the report shows (cargo test, tests/tests/service/load.rs);
# 5. the TypeScript caller library's cached hit against the original design's in-memory hit
#    (clients/typescript/bench, after `npm ci`), and the Python library's (clients/python/bench);
# 6. starts moto's server on a loopback port (scripts/lib.sh) and runs `bench lambda`: cold
#    starts and memory of the bootstraps under a local Lambda Runtime API (loopback);
# 7. `bench report`: docs/performance.md;
# and stops what it started, by process id, whatever happens.
#
# Options (environment): BENCH_RUNS (cold starts per function, default 20),
# BENCH_INVOCATIONS (invocations of the memory run, default 10000), BENCH_QUICK=1 (short
# criterion runs and a tenth of the tail's samples, for a quick look).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$root"

started_at=$SECONDS
MOTO_PID=""
work=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_pid "$MOTO_PID"
  if [[ -n "$work" ]]; then
    if ((status == 0)); then
      rm -rf "$work"
    else
      echo "bench: results and logs kept in $work" >&2
    fi
  fi
  echo "bench: $( ((status == 0)) && echo done || echo "FAILED (exit $status)") in $((SECONDS - started_at)) s"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash scripts/setup-venv.sh
work="$(mktemp -d "${TMPDIR:-/tmp}/orange-token-bench.XXXXXX")"

build_started=$SECONDS
bash scripts/build-release.sh
build_seconds=$((SECONDS - build_started))

criterion=()
[[ "${BENCH_QUICK:-}" == 1 ]] && criterion=(--warm-up-time 1 --measurement-time 2)
echo "bench: in-process benchmarks (cargo bench -p bench; criterion's output goes to /dev/null with the log lines, its estimates to $work/criterion)"
CRITERION_HOME="$work/criterion" BENCH_TAIL_OUT="$work/warm-hit.json" \
  cargo bench --locked -p bench --bench in_process -- "${criterion[@]}" >/dev/null
BENCH_ONLY=tail BENCH_TAIL_OUT="$work/warm-hit-pipe.json" \
  cargo bench --locked -p bench --bench in_process | cat >/dev/null
bench_bin="$root/target/release/bench"

echo "bench: the load test (tests/tests/service/load.rs)"
cargo test --locked -p integration-tests --test service load:: 2>&1 | tee "$work/load-test.log" | tail -3

echo "bench: caller libraries in TypeScript and Python, cached hits"
quick=()
[[ "${BENCH_QUICK:-}" == 1 ]] && quick=(--quick)
(cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error)
node clients/typescript/bench/cached-hit.mjs "$work/clients-typescript.json" "${quick[@]}"
"$venv/bin/python" clients/python/bench/cached_hit.py "$work/clients-python.json" "${quick[@]}"

# The bootstraps the benchmarks run: arm64 when built and this machine runs arm64 code,
# else x86-64.
lambda_dir="$root/target/lambda/x86_64"
if [[ "$(uname -m)" == aarch64 && -f "$root/target/lambda/arm64/get-token/bootstrap" ]]; then
  lambda_dir="$root/target/lambda/arm64"
fi
export_test_aws_env
start_moto "$work/moto.log"
echo "bench: AWS emulator (moto) at $AWS_ENDPOINT_URL"
"$bench_bin" lambda --lambda-dir "$lambda_dir" --out "$work/lambda.json" \
  --runs "${BENCH_RUNS:-20}" --invocations "${BENCH_INVOCATIONS:-10000}"

# The raw results stay beside the build, so the report can be rendered again:
#   target/release/bench report --results target/bench-results --lambda-root target/lambda \
#     --out docs/performance.md
rm -rf "$root/target/bench-results"
cp -r "$work" "$root/target/bench-results"
"$bench_bin" report --results "$work" --lambda-root "$root/target/lambda" \
  --build-seconds "$build_seconds" --out "$root/docs/performance.md"
echo "bench: written to docs/performance.md (raw results in target/bench-results)"
