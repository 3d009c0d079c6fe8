# Shared helpers for the project's scripts. Source it; do not run it.
# Everything here binds and talks to loopback addresses only.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"

# Static test credentials: the AWS SDK then never probes the instance-metadata address.
export_test_aws_env() {
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
  export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_http URL SECONDS: waits until URL answers at all.
wait_for_http() {
  local url="$1" seconds="$2" i
  for ((i = 0; i < seconds * 10; i++)); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "timed out waiting for $url" >&2
  return 1
}

# start_moto LOGFILE: starts moto's server on a free loopback port; sets MOTO_PID and
# exports AWS_ENDPOINT_URL.
start_moto() {
  local log="$1" port
  port="$(free_port)"
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  wait_for_http "$AWS_ENDPOINT_URL/moto-api/" 60
}

# stop_pid PID: stops one process we started, and waits for it.
stop_pid() {
  local pid="${1:-}"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# --- The whole service on one machine (scripts/run-local.sh, scripts/test.sh) -------------
#
# The functions run under `cargo lambda watch` with their own target directory OUTSIDE
# the workspace: `cargo test` holds the workspace target directory's lock while tests run,
# and the watch must not rebuild because something wrote inside the workspace. Logs of the
# processes started here go to a directory the caller makes with `mktemp -d`, also outside.

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/orange-token-service"
lambda_target_dir="${ORANGE_LAMBDA_TARGET_DIR:-$cache_root/lambda-target}"

# export_loopback_no_proxy: a proxy configured in the environment must never see the
# local service's traffic (nor its tokens): loopback addresses bypass it.
export_loopback_no_proxy() {
  local loopback="127.0.0.1,localhost,::1"
  export NO_PROXY="${NO_PROXY:+$NO_PROXY,}$loopback" no_proxy="${no_proxy:+$no_proxy,}$loopback"
}

# The binaries the local service runs; get-token only once it exists in the workspace.
local_service_bins() {
  local bins=(mock-orange refresh)
  [[ -f "$root/functions/get-token/Cargo.toml" ]] && bins+=(get-token)
  echo "${bins[@]}"
}

# build_local_service: compiles the mock token endpoint and the functions, one binary per
# cargo invocation (exactly as `cargo lambda watch` runs them with `cargo run --bin NAME`,
# so the watch finds them up to date), into $lambda_target_dir. Cargo's own progress is
# shown; the first build takes several minutes.
build_local_service() {
  local bin started
  mkdir -p "$lambda_target_dir"
  started=$SECONDS
  for bin in $(local_service_bins); do
    echo "build: $bin (target directory $lambda_target_dir)"
    (cd "$root" && CARGO_TARGET_DIR="$lambda_target_dir" cargo build --locked --bin "$bin")
  done
  echo "build: done in $((SECONDS - started)) s"
}

# wait_for_tcp PORT SECONDS: waits until something accepts connections on 127.0.0.1:PORT.
wait_for_tcp() {
  local port="$1" seconds="$2" i
  for ((i = 0; i < seconds * 10; i++)); do
    if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "timed out waiting for 127.0.0.1:$port" >&2
  return 1
}

# start_mock_orange LOGFILE [mock-orange options]: starts the mock token endpoint on a
# loopback port it picks itself (--addr 127.0.0.1:0), with the client secret from
# MOCK_ORANGE_CLIENT_SECRET (never on the command line). Sets MOCK_ORANGE_PID,
# MOCK_ORANGE_URL (http://127.0.0.1:PORT, the control API) and MOCK_ORANGE_TOKEN_URL.
start_mock_orange() {
  local log="$1" i line
  shift
  "$lambda_target_dir/debug/mock-orange" --addr 127.0.0.1:0 "$@" >"$log" 2>&1 </dev/null &
  MOCK_ORANGE_PID=$!
  for ((i = 0; i < 300; i++)); do
    line="$(grep -m1 -o 'mock-orange listening on http://127\.0\.0\.1:[0-9]*' "$log" 2>/dev/null || true)"
    if [[ -n "$line" ]]; then
      MOCK_ORANGE_URL="${line#mock-orange listening on }"
      MOCK_ORANGE_TOKEN_URL="$MOCK_ORANGE_URL/oauth/v3/token"
      return 0
    fi
    if ! kill -0 "$MOCK_ORANGE_PID" 2>/dev/null; then
      echo "mock-orange did not start:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "timed out waiting for mock-orange (log: $log)" >&2
  return 1
}

# seed_emulator SECRET_ID KMS_ALIAS: creates, in the AWS emulator at AWS_ENDPOINT_URL, a
# KMS key with the alias KMS_ALIAS (e.g. alias/orange-token-local) and the credentials
# secret SECRET_ID holding {"client_id": $SEED_CLIENT_ID, "client_secret":
# $SEED_CLIENT_SECRET}. The values come from the environment, never from the command line.
seed_emulator() {
  SEED_SECRET_ID="$1" SEED_KMS_ALIAS="$2" "$venv/bin/python" - <<'PY'
import json, os
import boto3

endpoint = os.environ["AWS_ENDPOINT_URL"]
host = endpoint.split("//", 1)[-1].split(":", 1)[0].split("/", 1)[0]
if host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
    raise SystemExit(f"seed_emulator: AWS_ENDPOINT_URL must be a loopback address, not {endpoint}")
kms = boto3.client("kms", endpoint_url=endpoint)
key_id = kms.create_key(Description="orange-token-service local run")["KeyMetadata"]["KeyId"]
kms.create_alias(AliasName=os.environ["SEED_KMS_ALIAS"], TargetKeyId=key_id)
secrets = boto3.client("secretsmanager", endpoint_url=endpoint)
secrets.create_secret(
    Name=os.environ["SEED_SECRET_ID"],
    SecretString=json.dumps(
        {"client_id": os.environ["SEED_CLIENT_ID"], "client_secret": os.environ["SEED_CLIENT_SECRET"]}
    ),
)
print(f"seed: KMS key {key_id} ({os.environ['SEED_KMS_ALIAS']}), secret {os.environ['SEED_SECRET_ID']}")
PY
}

# start_lambda_watch LOGFILE [VAR=VALUE...]: runs `cargo lambda watch` for the workspace on
# 127.0.0.1 and a free port, in its own session (setsid) so that it and every process it
# spawns (cargo run, the function binaries) can be stopped together (stop_session). The
# functions get the current environment plus the VAR=VALUE assignments (their
# configuration) plus AWS_ENDPOINT_URL_LAMBDA pointing at the watch itself, so that
# get-token invokes refresh through the watch's Invoke API while every other AWS call
# goes to AWS_ENDPOINT_URL. Uses $lambda_target_dir. Sets LAMBDA_WATCH_PID (also its
# process group and session id), LAMBDA_WATCH_URL and LAMBDA_WATCH_LOG.
start_lambda_watch() {
  local log="$1" port cargo_bin pgid
  shift
  port="$(free_port)"
  LAMBDA_WATCH_URL="http://127.0.0.1:$port"
  cargo_bin="$(command -v cargo)"
  # cargo-lambda runs `cargo run --bin NAME` with the cargo of $CARGO, else of PATH.
  (
    cd "$root"
    exec env "$@" AWS_ENDPOINT_URL_LAMBDA="$LAMBDA_WATCH_URL" \
      CARGO="$cargo_bin" CARGO_TARGET_DIR="$lambda_target_dir" \
      setsid "$venv/bin/cargo-lambda" lambda watch -A 127.0.0.1 -P "$port"
  ) >"$log" 2>&1 </dev/null &
  LAMBDA_WATCH_PID=$!
  LAMBDA_WATCH_LOG="$log"
  sleep 0.2
  pgid="$(ps -o pgid= -p "$LAMBDA_WATCH_PID" 2>/dev/null | tr -d ' ')"
  if [[ -n "$pgid" && "$pgid" != "$LAMBDA_WATCH_PID" ]]; then
    echo "cargo lambda watch did not get its own session (pgid $pgid, pid $LAMBDA_WATCH_PID): run the script with bash, do not source it into an interactive shell" >&2
    return 1
  fi
  if ! wait_for_tcp "$port" 120; then
    echo "cargo lambda watch did not start (log: $log):" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
}

# session_pids SID: the processes of session SID.
session_pids() {
  ps -e -o pid=,sid= | awk -v sid="$1" '$2 == sid { print $1 }'
}

# descendant_pids PID: every process below PID in the process tree.
descendant_pids() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      for (pid in parent) {
        p = parent[pid]
        for (depth = 0; p != "" && p != 0 && depth < 64; depth++) {
          if (p == root) { print pid; break }
          p = parent[p]
        }
      }
    }'
}

# stop_session SID: stops the session leader SID (cargo lambda watch, started with setsid)
# and everything it started: the processes of its session and of its process tree
# (watchexec starts each function's `cargo run` in a session of its own). SIGTERM to the
# leader first, so that it stops its functions itself; SIGKILL after 10 seconds to
# whatever is left of what was seen running.
stop_session() {
  local sid="${1:-}" tracked alive i pid
  [[ -n "$sid" ]] || return 0
  tracked="$sid $(session_pids "$sid") $(descendant_pids "$sid")"
  kill -TERM -- "-$sid" 2>/dev/null || kill -TERM "$sid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    # Anything started meanwhile is tracked too.
    tracked="$tracked $(session_pids "$sid") $(descendant_pids "$sid")"
    alive=""
    for pid in $tracked; do
      kill -0 "$pid" 2>/dev/null && alive="$alive $pid"
    done
    [[ -z "$alive" ]] && break
    # The leader gone, its orphans are ours to stop.
    kill -0 "$sid" 2>/dev/null || kill -TERM $alive 2>/dev/null || true
    sleep 0.1
  done
  alive=""
  for pid in $tracked; do
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null && alive="$alive $pid"
  done
  wait "$sid" 2>/dev/null || true
  if [[ -n "$alive" ]]; then
    sleep 0.5
    for pid in $alive; do
      kill -0 "$pid" 2>/dev/null && echo "stop_session: process $pid survived SIGKILL" >&2
    done
  fi
  return 0
}

# ports_free URL...: fails, naming them, when something still listens at one of the
# loopback URLs (http://127.0.0.1:PORT...).
ports_free() {
  local url port busy=""
  for url in "$@"; do
    [[ -n "$url" ]] || continue
    port="${url#http://127.0.0.1:}"
    port="${port%%/*}"
    if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; then
      busy="$busy $port"
    fi
  done
  if [[ -n "$busy" ]]; then
    echo "still listening on 127.0.0.1:${busy# }" >&2
    return 1
  fi
}

# invoke_function NAME PAYLOAD_FILE OUT_FILE [TIMEOUT_SECONDS]: one RequestResponse invoke
# through the Lambda Invoke API of the watch at LAMBDA_WATCH_URL (what `aws lambda invoke`
# sends). Writes the answer's payload to OUT_FILE and prints the HTTP status and the
# X-Amz-Function-Error header ("-" when absent). cargo lambda watch answers a function
# error with HTTP 500 and the error as the body; real Lambda with 200 and
# X-Amz-Function-Error. When a function exits instead of answering (a failed init: the
# watch then never answers), the watch's log (LAMBDA_WATCH_LOG) says so: it prints
# "000 function-exited" and copies the log's last lines to OUT_FILE.
invoke_function() {
  WATCH_LOG="${LAMBDA_WATCH_LOG:-}" "$venv/bin/python" - "$LAMBDA_WATCH_URL" "$@" <<'PY'
import os, sys, threading, time, urllib.error, urllib.request

base, name, payload_file, out_file = sys.argv[1:5]
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 300
log = os.environ.get("WATCH_LOG") or None
log_start = os.path.getsize(log) if log and os.path.exists(log) else 0
with open(payload_file, "rb") as f:
    payload = f.read()
request = urllib.request.Request(
    f"{base}/2015-03-31/functions/{name}/invocations",
    data=payload,
    method="POST",
    headers={"Content-Type": "application/json", "X-Amz-Invocation-Type": "RequestResponse"},
)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
result = {}

def call():
    try:
        with opener.open(request, timeout=timeout) as response:
            result["answer"] = (response.status, response.headers.get("X-Amz-Function-Error", ""), response.read())
    except urllib.error.HTTPError as error:
        result["answer"] = (error.code, error.headers.get("X-Amz-Function-Error", ""), error.read())
    except Exception as error:  # connection refused, timeout
        result["error"] = error

thread = threading.Thread(target=call, daemon=True)
thread.start()
deadline = time.monotonic() + timeout + 5
while thread.is_alive() and time.monotonic() < deadline:
    thread.join(0.5)
    if log and thread.is_alive():
        with open(log, "rb") as f:
            f.seek(log_start)
            new = f.read().decode("utf-8", "replace")
        if "command exited" in new or "command killed" in new:
            with open(out_file, "w") as f:
                f.write("\n".join(new.splitlines()[-15:]) + "\n")
            print("000 function-exited")
            sys.exit(0)
if "answer" not in result:
    sys.exit(f"invoking {name}: {result.get('error', 'no answer within the timeout')}")
status, function_error, body = result["answer"]
with open(out_file, "wb") as f:
    f.write(body)
print(status, function_error or "-")
PY
}

# wait_for_function NAME PAYLOAD_FILE SECONDS: invokes NAME until it answers anything that
# is a function's answer (a payload, or a function error with an errorType): the watch
# builds and starts a function on its first invoke. Fails at once, with the end of the
# watch's log, when the function exits instead (e.g. a configuration error at init).
wait_for_function() {
  local name="$1" payload="$2" seconds="$3" out started status
  out="$(mktemp)"
  started=$SECONDS
  while ((SECONDS - started < seconds)); do
    status="$(invoke_function "$name" "$payload" "$out" "$((seconds - (SECONDS - started) + 1))" 2>/dev/null || true)"
    case "$status" in
      200\ *) rm -f "$out"; return 0 ;;
      "000 function-exited")
        echo "function $name exited instead of answering; the watch's log ends with:" >&2
        cat "$out" >&2
        rm -f "$out"
        return 1
        ;;
      *) if grep -q '"errorType"' "$out" 2>/dev/null; then rm -f "$out"; return 0; fi ;;
    esac
    sleep 1
  done
  echo "function $name did not answer within $seconds s (last answer: ${status:-none})" >&2
  rm -f "$out"
  return 1
}
