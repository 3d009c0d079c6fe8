#!/usr/bin/env bash
# The benchmark command: measures the service against its performance targets, prints
# the table and writes it to docs/performance.md with the machine and the commit.
# Not part of the test run. Takes about 10 minutes after the first release build
# (which takes 15 to 25 minutes on 2 cores).
#
# 1. installs the pinned Python tools (scripts/setup-venv.sh);
# 2. builds the release bootstraps (scripts/build-release.sh: cargo lambda build
#    --release, sizes), and the `bench` tool with the same toolchain, target and profile
#    (cargo lambda build --bin bench: it reuses the functions' compiled dependencies, and
#    measures the code as deployed);
# 3. starts moto's server on a loopback port (scripts/lib.sh) and runs
#    - bench micro: in-process distributions (get-token warm hit, caller cached hit,
#      parsers), with the functions' log lines going to a drained pipe as in Lambda;
#    - bench warm-hit: the get-token warm hit again, its log lines to /dev/null;
#    - bench load: 1,000 concurrent gets through 1 and through 100 instances;
#    - the TypeScript caller library's cached hit against the original design's in-memory
#      hit (clients/typescript/bench, after `npm ci`), and the Python caller library's
#      cached hit (clients/python/bench);
#    - bench lambda: cold starts and peak memory of the bootstraps under a local Lambda
#      Runtime API (tools/bench, loopback);
#    - bench report: docs/performance.md;
# 4. stops what it started, by process id, whatever happens.
#
# Options (environment): BENCH_RUNS (cold starts per function, default 20),
# BENCH_INVOCATIONS (invocations of the memory run, default 10000), BENCH_QUICK=1 (a
# tenth of the in-process iterations, for a quick look; the report says nothing of it).
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

host_arch_flag=--x86-64
[[ "$(uname -m)" == aarch64 ]] && host_arch_flag=--arm64
echo "bench: building the bench tool (cargo lambda build --release $host_arch_flag --bin bench)"
PATH="$venv/bin:$PATH" "$venv/bin/cargo-lambda" lambda build --release --locked "$host_arch_flag" \
  --lambda-dir target/lambda/tools --bin bench
bench_bin="$root/target/lambda/tools/bench/bootstrap"

# The bootstraps the benchmarks run: arm64 when built and this machine runs arm64 code,
# else x86-64.
lambda_dir="$root/target/lambda/x86_64"
if [[ "$(uname -m)" == aarch64 && -f "$root/target/lambda/arm64/get-token/bootstrap" ]]; then
  lambda_dir="$root/target/lambda/arm64"
fi

export_test_aws_env
start_moto "$work/moto.log"
echo "bench: AWS emulator (moto) at $AWS_ENDPOINT_URL"

quick=()
[[ "${BENCH_QUICK:-}" == 1 ]] && quick=(--quick)
# The functions' audit, metric and tracing lines go to standard output: a pipe that
# `cat` drains, as Lambda's log collector does.
"$bench_bin" micro --out "$work/micro.json" "${quick[@]}" | cat >/dev/null
# The warm hit alone with its lines to /dev/null: the handler's own cost, its write
# included, without a pipe reader to wake (the report shows both).
"$bench_bin" warm-hit --out "$work/warm-hit.json" "${quick[@]}" >/dev/null
"$bench_bin" load --out "$work/load.json" | cat >/dev/null
echo "bench: caller libraries in TypeScript and Python, cached hits"
(cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error)
node clients/typescript/bench/cached-hit.mjs "$work/clients-typescript.json" "${quick[@]}"
"$venv/bin/python" clients/python/bench/cached_hit.py "$work/clients-python.json" "${quick[@]}"
"$bench_bin" lambda --lambda-dir "$lambda_dir" --out "$work/lambda.json" \
  --runs "${BENCH_RUNS:-20}" --invocations "${BENCH_INVOCATIONS:-10000}"
"$bench_bin" report --results "$work" --lambda-dir "$root/target/lambda" \
  --build-seconds "$build_seconds" --out "$root/docs/performance.md"
# The raw results stay beside the build, so the report can be rendered again:
#   target/lambda/tools/bench/bootstrap report --results target/bench-results \
#     --lambda-dir target/lambda --out docs/performance.md
mkdir -p "$root/target/bench-results"
cp "$work"/*.json "$root/target/bench-results/"
echo "bench: written to docs/performance.md (raw results in target/bench-results)"
