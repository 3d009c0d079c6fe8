#!/usr/bin/env bash
# The run command: the whole service on this machine, end to end, then a short report.
#
#   scripts/run-local.sh                 # run, report, stop everything
#   scripts/run-local.sh --keep-running  # same, then keep it all up until Ctrl-C
#
# 1. installs the pinned Python tools into .venv (scripts/setup-venv.sh) and builds the
#    mock token endpoint and both functions (cargo's progress is shown; the first build
#    takes several minutes) into a target directory outside the workspace;
# 2. starts, on loopback only: moto's server (the AWS emulator), mock-orange (an
#    Orange-like token endpoint) and `cargo lambda watch` running `refresh` and
#    `get-token`; creates the KMS key and the credentials secret in the emulator;
# 3. through the Lambda Invoke API: the scheduled event to `refresh`, then `get`, `status`
#    and a `refresh` with a rejected token to `get-token` (refused as too soon after the
#    token was issued, with the contract's defaults), and one bad event;
# 4. prints what happened, the token's id and remaining life and the audit events (never
#    the token), checks that no log holds the token or the client secret;
# 5. stops everything it started, by process id, on success, failure or Ctrl-C.
#
# Details: docs/local-run.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$root"

keep_running=false
case "${1:-}" in
  "") ;;
  --keep-running) keep_running=true ;;
  -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: scripts/run-local.sh [--keep-running]" >&2; exit 2 ;;
esac

started_at=$SECONDS
say() { printf '\n==> %s\n' "$*"; }

MOTO_PID="" MOCK_ORANGE_PID="" LAMBDA_WATCH_PID=""
logs=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n "$LAMBDA_WATCH_PID$MOCK_ORANGE_PID$MOTO_PID" ]]; then
    echo
    echo "run-local: stopping cargo lambda watch, mock-orange and moto"
  fi
  stop_session "$LAMBDA_WATCH_PID"
  stop_pid "$MOCK_ORANGE_PID"
  stop_pid "$MOTO_PID"
  if ! ports_free "${MOTO_PID:+${AWS_ENDPOINT_URL:-}}" "${MOCK_ORANGE_PID:+${MOCK_ORANGE_URL:-}}" "${LAMBDA_WATCH_PID:+${LAMBDA_WATCH_URL:-}}"; then
    echo "run-local: WARNING: a port of this run is still in use" >&2
    status=1
  fi
  if [[ -n "$logs" ]]; then
    echo "run-local: logs kept in $logs"
  fi
  if ((status == 0)); then
    echo "run-local: done in $((SECONDS - started_at)) s"
  elif ((status == 130)); then
    echo "run-local: interrupted after $((SECONDS - started_at)) s; everything it started is stopped" >&2
  else
    echo "run-local: FAILED (exit $status) after $((SECONDS - started_at)) s" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "1/5 tools and build"
bash scripts/setup-venv.sh
if [[ ! -f functions/get-token/Cargo.toml ]]; then
  echo "run-local: functions/get-token is not in this checkout: running the refresh half only" >&2
fi
build_local_service

say "2/5 local AWS emulator, token endpoint and functions (loopback only)"
export_test_aws_env
export_loopback_no_proxy
logs="$(mktemp -d "${TMPDIR:-/tmp}/orange-token-local.XXXXXX")"
start_moto "$logs/moto.log"
echo "moto (AWS emulator):          $AWS_ENDPOINT_URL"

# A fresh client secret for this run: the mock accepts it, the secret holds it, and the
# final check makes sure no log line holds it.
client_secret="local-$("$venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))')"
export SEED_CLIENT_ID=local-client-id SEED_CLIENT_SECRET="$client_secret"
MOCK_ORANGE_CLIENT_SECRET="$client_secret" start_mock_orange "$logs/mock-orange.log" --client-id "$SEED_CLIENT_ID"
echo "mock-orange (token endpoint): $MOCK_ORANGE_TOKEN_URL"

secret_id=orange-token-local/credentials
kms_alias=alias/orange-token-local
seed_emulator "$secret_id" "$kms_alias"
unset SEED_CLIENT_SECRET

# The functions' configuration: the contract's variables and the standard AWS ones
# (AWS_ENDPOINT_URL and the static credentials exported above, AWS_ENDPOINT_URL_LAMBDA
# added by start_lambda_watch), nothing else. AWS_LAMBDA_LOG_FORMAT=JSON as the template sets.
start_lambda_watch "$logs/lambda-watch.log" \
  ORANGE_TOKEN_ENDPOINT="$MOCK_ORANGE_TOKEN_URL" \
  ORANGE_CREDENTIALS_SECRET_ID="$secret_id" \
  TOKEN_PARAMETER_NAME=/orange-sms/oauth/access-token \
  TOKEN_KMS_KEY_ID="$kms_alias" \
  REFRESH_FUNCTION_NAME=refresh \
  AWS_LAMBDA_LOG_FORMAT=JSON
echo "cargo lambda watch:            $LAMBDA_WATCH_URL (Invoke API; get-token reaches refresh here)"
echo "logs:                          $logs"

say "3/5 invocations through the Lambda Invoke API"
invocations="$logs/invocations"
mkdir -p "$invocations"
step=0
# call FUNCTION EVENT_FILE LABEL: one invoke; the answer goes to $invocations/N.json and
# its status line to $invocations/N.status.
call() {
  local function="$1" event="$2" label="$3"
  step=$((step + 1))
  printf '%-44s' "$step. $label"
  local begin=$SECONDS
  echo "$function|$event|$label" >"$invocations/$step.what"
  if grep -qs function-exited "$invocations"/*.status; then
    # The watch does not restart a function that exited: a call would hang.
    echo "000 skipped" >"$invocations/$step.status"
    echo " skipped (a function exited)"
    return 0
  fi
  invoke_function "$function" "$event" "$invocations/$step.json" 600 >"$invocations/$step.status" ||
    echo "000 -" >"$invocations/$step.status"
  printf ' %s (%d s)\n' "$(cut -d' ' -f1 "$invocations/$step.status" | sed 's/^200$/ok/;s/^500$/function error/;s/^000$/no answer/')" "$((SECONDS - begin))"
}
call refresh events/refresh-scheduled.json "refresh  <- scheduled event"
if [[ -f functions/get-token/Cargo.toml ]]; then
  call get-token events/get-token-get.json "get-token <- get"
  call get-token events/get-token-status.json "get-token <- status"
  # The token the caller was just given was "rejected by Orange": name it.
  "$venv/bin/python" - "$invocations/2.json" "$invocations/rejected-event.json" <<'PY'
import json, sys
try:
    token_id = json.load(open(sys.argv[1])).get("token_id") or "000000000000"
except Exception:
    token_id = "000000000000"
json.dump({"action": "refresh", "rejected_token_id": token_id, "caller": "local-run"}, open(sys.argv[2], "w"))
PY
  # The contract's defaults apply: the rejected token was issued a moment ago, less than
  # OAUTH_MIN_FORCE_INTERVAL_SECONDS (60) before, so refresh refuses to renew it and
  # get-token answers TokenUnavailable (audit outcome rate_limited): Orange is not asked.
  call get-token "$invocations/rejected-event.json" "get-token <- refresh (token rejected within the interval)"
  call get-token events/bad-event.json "get-token <- a bad event"
else
  call refresh events/refresh-empty.json "refresh  <- {} (token still fresh)"
  call refresh events/bad-event.json "refresh  <- a bad event"
fi

say "4/5 report"
# Give the functions' last log lines a moment to reach the log file.
sleep 0.5
"$venv/bin/python" -c 'import sys,urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=5).read())' "$MOCK_ORANGE_URL/_mock/stats" >"$logs/mock-stats.json"
REPORT_SECRET="$client_secret" REPORT_CLIENT_ID="$SEED_CLIENT_ID" "$venv/bin/python" - "$logs" <<'PY'
import base64, glob, json, os, sys
from datetime import datetime, timezone

logs = sys.argv[1]
inv = os.path.join(logs, "invocations")
failures = []

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except Exception:
        return None

def life(seconds):
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    seconds = abs(int(seconds))
    return f"{sign}{seconds // 60} min {seconds % 60:02d} s"

def seconds_until(stamp):
    try:
        return (datetime.fromisoformat(stamp.replace("Z", "+00:00")) - datetime.now(timezone.utc)).total_seconds()
    except Exception:
        return None

print("What happened:")
steps = sorted(int(os.path.basename(p).split(".")[0]) for p in glob.glob(os.path.join(inv, "*.what")))
tokens_seen = []
for n in steps:
    function, event, label = open(os.path.join(inv, f"{n}.what")).read().strip().split("|", 2)
    status = open(os.path.join(inv, f"{n}.status")).read().split()
    answer = load(os.path.join(inv, f"{n}.json"))
    if isinstance(answer, dict) and "access_token" in answer:
        # Keep no token on disk either.
        answer["access_token"] = "[redacted]"
        with open(os.path.join(inv, f"{n}.json"), "w") as f:
            json.dump(answer, f)
    http, function_error = status[0], status[1] if len(status) > 1 else "-"
    if function_error == "skipped":
        line = "skipped: a function exited before"
        failures.append(f"step {n} ({label}): skipped")
    elif function_error == "function-exited":
        tail = open(os.path.join(inv, f"{n}.json"), errors="replace").read().rstrip()
        line = "the function exited instead of answering; the watch's log ends with:\n" + "\n".join(" " * 10 + l for l in tail.splitlines())
        failures.append(f"step {n} ({label}): the function exited (see lambda-watch.log)")
    elif not isinstance(answer, dict):
        line = f"no JSON answer (HTTP {http})"
        failures.append(f"step {n}: {line}")
    elif "errorType" in answer:
        line = f"{answer['errorType']}: {answer.get('errorMessage', '')}"
        shape = "HTTP 500 (the local runtime's shape of a function error)" if http == "500" else f"HTTP {http}, X-Amz-Function-Error {function_error}"
        line += f"\n{'':8}[{shape}]"
        if "within the interval" in label:
            if answer["errorType"] != "TokenUnavailable":
                failures.append(f"step {n}: a renewal within the interval gave {answer['errorType']}, not TokenUnavailable")
            line += "\n" + " " * 8 + "(expected: refresh renews a fresh token at most once per minimum interval)"
        elif "bad event" not in label:
            failures.append(f"step {n} ({label}) failed: {answer['errorType']}")
        elif answer["errorType"] != "InvalidRequest":
            failures.append(f"step {n}: a bad event gave {answer['errorType']}, not InvalidRequest")
    elif "refreshed" in answer:
        what = "renewed" if answer["refreshed"] else "not renewed"
        line = (f"{what} (reason {answer.get('reason')}), token_id {answer.get('token_id')}, "
                f"expires_at {answer.get('expires_at')} (in {life(seconds_until(answer.get('expires_at')))}), "
                f"{answer.get('attempts')} token request(s)")
        tokens_seen.append(answer.get("token_id"))
    elif "healthy" in answer:
        line = (f"healthy {str(answer['healthy']).lower()}, token_id {answer.get('token_id')}, "
                f"expires in {life(answer.get('expires_in'))}: {answer.get('message')}")
    elif "access_token" in answer:
        line = (f"a {answer.get('token_type')} token (not shown), token_id {answer.get('token_id')}, "
                f"expires_at {answer.get('expires_at')} (in {life(answer.get('expires_in'))})")
        tokens_seen.append(answer.get("token_id"))
    else:
        line = "answer: " + ", ".join(sorted(answer))
    print(f"  {n}. {label}\n{'':8}{line}")
    if "bad event" in label and not (isinstance(answer, dict) and answer.get("errorType") == "InvalidRequest"):
        if not any(f.startswith(f"step {n}") for f in failures):
            failures.append(f"step {n}: a bad event was not answered InvalidRequest")

stats = load(os.path.join(logs, "mock-stats.json")) or {}
issued = stats.get("issued_tokens", [])
print(f"\nToken endpoint (mock-orange): {stats.get('token_requests', '?')} token request(s), "
      f"{len(issued)} token(s) issued: {', '.join(stats.get('issued_token_ids', [])) or '-'}")

# Audit events: the functions' JSON log lines with "audit": true (top level or under "fields").
print("\nAudit events:")
watch_log = os.path.join(logs, "lambda-watch.log")
count = 0
skip = {"audit", "event", "request_id", "function_name", "timestamp", "level", "message", "target"}
for raw in open(watch_log, errors="replace"):
    start = raw.find("{")
    if start < 0 or '"audit"' not in raw:
        continue
    try:
        record = json.loads(raw[start:])
    except ValueError:
        continue
    fields = record.get("fields") if isinstance(record.get("fields"), dict) else {}
    merged = {**record, **fields}
    if merged.get("audit") is not True:
        continue
    count += 1
    rest = ", ".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in merged.items() if k not in skip and v is not None and not isinstance(v, dict))
    print(f"  {merged.get('timestamp', '')[11:19]}  {merged.get('function_name', '?'):<10} {merged.get('event', '?'):<24} {rest}")
if count == 0:
    print("  (none found in the watch log)")
    failures.append("no audit event in the functions' logs")

# No log line of the run may hold an issued token, the client secret or the Basic value.
secret = os.environ["REPORT_SECRET"]
basic = base64.b64encode(f"{os.environ['REPORT_CLIENT_ID']}:{secret}".encode()).decode()
leaks = []
for path in sorted(glob.glob(os.path.join(logs, "*.log"))):
    text = open(path, errors="replace").read()
    name = os.path.basename(path)
    if secret in text:
        leaks.append(f"{name} holds the client secret")
    if basic in text:
        leaks.append(f"{name} holds the Authorization header value")
    if any(token in text for token in issued):
        leaks.append(f"{name} holds an access token")
if leaks:
    failures.extend(leaks)
    print("\nLogs: " + "; ".join(leaks))
else:
    print(f"\nLogs: no line of {', '.join(sorted(os.path.basename(p) for p in glob.glob(os.path.join(logs, '*.log'))))} "
          "holds a token, the client secret or the Authorization header")

if failures:
    print("\nPROBLEMS:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("\nThe service works end to end.")
PY

if $keep_running; then
  say "5/5 running until Ctrl-C"
  # From here on, Ctrl-C is the normal way to stop.
  trap 'exit 0' INT TERM
  port="${LAMBDA_WATCH_URL##*:}"
  cat <<EOF
The service keeps running. Try, from $root:
  .venv/bin/cargo-lambda lambda invoke --invoke-address 127.0.0.1 --invoke-port $port refresh --data-file events/refresh-force.json
  .venv/bin/cargo-lambda lambda invoke --invoke-address 127.0.0.1 --invoke-port $port get-token --data-file events/get-token-status.json
Mock control API: $MOCK_ORANGE_URL/_mock/stats (faults: docs/local-run.md)
Functions' log:   $logs/lambda-watch.log
Editing the code makes the watch rebuild and restart the functions.
EOF
  while kill -0 "$LAMBDA_WATCH_PID" 2>/dev/null; do sleep 1; done
  echo "run-local: cargo lambda watch stopped by itself" >&2
  exit 1
fi
say "5/5 stopping"
