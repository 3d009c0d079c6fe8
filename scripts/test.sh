#!/usr/bin/env bash
# The test command: every check and test of the workspace, and the end-to-end tests
# through the Lambda Invoke API. Usage: scripts/test.sh [extra cargo test arguments]
#
# 1. installs the pinned Python tools (scripts/setup-venv.sh); cargo fmt --check; clippy;
#    the template checks (scripts/check-template.sh);
# 2. builds mock-orange and both functions into their own target directory outside the
#    workspace (cargo test holds the workspace target directory's lock while tests run,
#    so a watch building there would wait forever);
# 3. starts, on loopback only, moto's server (AWS_ENDPOINT_URL), mock-orange and
#    `cargo lambda watch` with both functions, seeds the emulator, invokes each function
#    once so that the tests never wait for a first start, and exports the E2E_* variables
#    the end-to-end tests (tests/tests/e2e) read;
# 4. cargo test --workspace (unit, integration, end-to-end; the tests keep their logs in
#    TEST_LOG_DIR);
# 5. the TypeScript and Python caller libraries' tests, unit and end-to-end, against the
#    same local service: `npm ci` in clients/typescript (the lockfile's versions), its type
#    check and `node --test`; pytest over clients/python (installed editable into .venv by
#    setup-venv.sh). Their output goes to the log directory too;
#    then an init error through the Invoke API (a second watch, a variable unset);
# 6. scripts/scan-logs.py over every log of the run: no token, no client secret, no
#    Authorization value;
# 7. stops everything it started, by process id, whatever happens.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$root"

started_at=$SECONDS
MOTO_PID="" MOCK_ORANGE_PID="" LAMBDA_WATCH_PID=""
logs=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_session "$LAMBDA_WATCH_PID"
  stop_pid "$MOCK_ORANGE_PID"
  stop_pid "$MOTO_PID"
  if [[ -n "$logs" ]]; then
    if ((status == 0)); then
      rm -rf "$logs"
    else
      echo "test: logs of the local service kept in $logs" >&2
    fi
  fi
  echo "test: $( ((status == 0)) && echo passed || echo "FAILED (exit $status)") in $((SECONDS - started_at)) s"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash scripts/setup-venv.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
bash scripts/check-template.sh

echo "test: building the local service for the end-to-end tests"
build_local_service

export_test_aws_env
export_loopback_no_proxy
logs="$(mktemp -d "${TMPDIR:-/tmp}/orange-token-test.XXXXXX")"
start_moto "$logs/moto.log"
echo "test: AWS emulator (moto) at $AWS_ENDPOINT_URL"

e2e_secret="e2e-$("$venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))')"
export SEED_CLIENT_ID=e2e-client-id SEED_CLIENT_SECRET="$e2e_secret"
# Tokens of 25 minutes: more than the refresh threshold (20), so a scheduled run finds a
# new token fresh; less than get-token's largest min_ttl_seconds (30), so a test can ask
# for more life than a served token has (see tests/tests/e2e/main.rs).
MOCK_ORANGE_CLIENT_SECRET="$e2e_secret" start_mock_orange "$logs/mock-orange.log" \
  --client-id "$SEED_CLIENT_ID" --expires-in 1500
echo "test: token endpoint (mock-orange) at $MOCK_ORANGE_TOKEN_URL"
seed_emulator e2e/orange-credentials alias/orange-token-e2e
unset SEED_CLIENT_SECRET

e2e_parameter=/orange-sms-e2e/oauth/access-token
# OAUTH_MIN_FORCE_INTERVAL_SECONDS=0: the end-to-end tests share this one service and the
# wall clock, and several force renewals back to back, so the interval (60 s by default)
# would make each depend on the others' order. The interval is proven on a simulated clock
# (tests/tests/service, tests/tests/storm), and scripts/run-local.sh runs the defaults.
start_lambda_watch "$logs/lambda-watch.log" \
  OAUTH_MIN_FORCE_INTERVAL_SECONDS=0 \
  ORANGE_TOKEN_ENDPOINT="$MOCK_ORANGE_TOKEN_URL" \
  ORANGE_CREDENTIALS_SECRET_ID=e2e/orange-credentials \
  TOKEN_PARAMETER_NAME="$e2e_parameter" \
  TOKEN_KMS_KEY_ID=alias/orange-token-e2e \
  REFRESH_FUNCTION_NAME=refresh \
  AWS_LAMBDA_LOG_FORMAT=JSON
echo "test: cargo lambda watch at $LAMBDA_WATCH_URL (target directory $lambda_target_dir)"

# Start each function once (a bad event for refresh: answered InvalidRequest, no effect;
# a status for get-token), so that no test waits for a function's first start.
echo '{"warm_up": true}' >"$logs/warm-up.json"
echo '{"action": "status", "caller": "warm-up"}' >"$logs/status.json"
wait_for_function refresh "$logs/warm-up.json" 600
wait_for_function get-token "$logs/status.json" 600
echo "test: functions started"

export E2E_LAMBDA_ENDPOINT="$LAMBDA_WATCH_URL"
export E2E_MOCK_ORANGE_URL="$MOCK_ORANGE_URL"
export E2E_TOKEN_PARAMETER_NAME="$e2e_parameter"
export E2E_KMS_KEY_ID=alias/orange-token-e2e
export E2E_CLIENT_ID="$SEED_CLIENT_ID"
export E2E_CLIENT_SECRET="$e2e_secret"
export E2E_WATCH_LOG="$logs/lambda-watch.log"
export E2E_LOG_DIR="$logs"

# Every test keeps what it logged in TEST_LOG_DIR (the service harness: tracing, audit and
# metric lines, issued tokens), next to the local service's logs.
export TEST_LOG_DIR="$logs"
cargo test --workspace --locked "$@"

# The caller libraries in TypeScript and Python, unit and end-to-end tests, while the local
# service is up. Their output is kept with the other logs, so the scan below covers it.
echo "test: TypeScript caller library (clients/typescript: npm ci, tsc, node --test)"
(
  cd clients/typescript
  npm ci --no-audit --no-fund --loglevel=error
  npm run --silent typecheck
  node --test test/unit/ test/e2e/
) 2>&1 | tee "$logs/clients-typescript.log"
echo "test: Python caller library (clients/python: pytest)"
"$venv/bin/python" -m pytest clients/python/tests -q -p no:cacheprovider 2>&1 | tee "$logs/clients-python.log"

# An init error through the Invoke API: get-token started without REFRESH_FUNCTION_NAME
# posts a Configuration init error to the Runtime API (shared/src/runtime/init_error.rs), and the
# invoke is answered with it, naming the variable. A second watch on the same build, with
# the variable unset (the first is stopped: its tests are done).
echo "test: an init error through the Invoke API (get-token without REFRESH_FUNCTION_NAME)"
stop_session "$LAMBDA_WATCH_PID"
start_lambda_watch "$logs/lambda-watch-init-error.log" \
  TOKEN_PARAMETER_NAME="$e2e_parameter" \
  AWS_LAMBDA_LOG_FORMAT=JSON
invoke_function get-token "$logs/status.json" "$logs/init-error.json" 300 >"$logs/init-error.status" || true
"$venv/bin/python" - "$logs/init-error.json" <<'PY'
import json, sys
text = open(sys.argv[1], errors="replace").read()
try:
    answer = json.loads(text)
except ValueError:
    sys.exit(f"test: the invoke was not answered with an error object:\n{text[-2000:]}")
if answer.get("errorType") != "Configuration" or "REFRESH_FUNCTION_NAME" not in answer.get("errorMessage", ""):
    sys.exit(f"test: expected a Configuration init error naming REFRESH_FUNCTION_NAME, got {answer}")
print(f"test: get-token answered {answer['errorType']}: {answer['errorMessage']}")
PY

# Once more over every log of the run, now that all tests are done: the local service's
# (watch, mock, moto) and the tests' own, for the client secrets, the Basic value, the
# tokens the endpoints issued (*tokens*.txt) and any Authorization value.
"$venv/bin/python" - "$MOCK_ORANGE_URL" >"$logs/e2e-issued-tokens.txt" <<'PY'
import json, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for token in json.load(opener.open(sys.argv[1] + "/_mock/stats", timeout=10))["issued_tokens"]:
    print(token)
PY
e2e_basic="$(BASIC="$SEED_CLIENT_ID:$e2e_secret" "$venv/bin/python" -c 'import base64, os; print(base64.b64encode(os.environ["BASIC"].encode()).decode())')"
"$venv/bin/python" scripts/scan-logs.py "$logs" --secret "$e2e_secret" --secret "$e2e_basic"
