#!/usr/bin/env bash
# Checks what a first deployment of the stack needs (docs/deploy.md, step 0), and says
# what to do about each failure. Read-only: it changes nothing in the account.
#
#   scripts/preflight.sh --stack STACK --region REGION [--architecture arm64|x86_64]
#
# Tools: AWS CLI v2, sam, cargo-lambda, zig, jq, and the aarch64-unknown-linux-gnu Rust
# target for arm64 (.venv/bin, after scripts/setup-venv.sh, has sam, cargo-lambda and zig).
# Account: the region, the caller's credentials (aws sts get-caller-identity) and the IAM
# ARN to name in KeyAdministratorArns/SecretOperatorArns, and the Lambda concurrency the
# refresh function's reserved concurrency of 1 needs (unreserved >= 10 + 1 for a new stack).
# Exits 1 when a check fails.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

stack="${STACK:-}" region="${REGION:-${AWS_REGION:-}}" architecture=arm64
while (($#)); do
  case "$1" in
    --stack) stack="$2"; shift 2 ;;
    --region) region="$2"; shift 2 ;;
    --architecture) architecture="$2"; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "preflight: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$architecture" in arm64 | x86_64) ;; *) echo "preflight: --architecture is arm64 or x86_64" >&2; exit 2 ;; esac

# The project's pinned tools, when installed, come first.
[[ -d "$root/.venv/bin" ]] && export PATH="$root/.venv/bin:$PATH"

failures=0
# json FIELD.PATH: a field of the JSON document on standard input (python3, a project
# prerequisite, rather than jq, which is only checked for the runbook's sake).
json() { python3 -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[key]
print(value)' "$1"; }
pass() { printf 'ok    %s\n' "$1"; }
fail() { printf 'FAIL  %s\n      -> %s\n' "$1" "$2"; failures=$((failures + 1)); }

# --- tools -------------------------------------------------------------------------------
if version="$(aws --version 2>&1)" && [[ "$version" == aws-cli/2.* ]]; then
  pass "AWS CLI v2 (${version%% *})"
else
  fail "AWS CLI v2 (found: ${version:-none})" "install AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
fi
if version="$(sam --version 2>/dev/null)"; then pass "$version"; else
  fail "SAM CLI" "bash scripts/setup-venv.sh && export PATH=\"\$PWD/.venv/bin:\$PATH\""
fi
if version="$(cargo-lambda lambda --version 2>/dev/null || cargo lambda --version 2>/dev/null)"; then pass "$version"; else
  fail "cargo-lambda" "bash scripts/setup-venv.sh (it installs cargo-lambda into .venv)"
fi
if version="$(zig version 2>/dev/null || python3 -m ziglang version 2>/dev/null)"; then pass "zig $version"; else
  fail "zig (cargo-lambda links with it)" "bash scripts/setup-venv.sh (the ziglang package)"
fi
if command -v jq >/dev/null; then pass "jq ($(jq --version))"; else
  fail "jq (the runbook builds the secret's JSON with it)" "install jq from your system's packages"
fi
if [[ "$architecture" == arm64 ]]; then
  if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    pass "Rust target aarch64-unknown-linux-gnu (Architecture=arm64)"
  else
    fail "Rust target aarch64-unknown-linux-gnu (Architecture=arm64)" \
      "rustup target add aarch64-unknown-linux-gnu, or deploy with Architecture=x86_64 (docs/deploy.md, step 1)"
  fi
else
  pass "Architecture=x86_64: no cross target needed"
fi

# --- account -----------------------------------------------------------------------------
[[ -n "$region" ]] || region="$(aws configure get region 2>/dev/null || true)"
if [[ -n "$region" ]]; then pass "region $region"; else
  fail "region" "pass --region or export REGION (docs/deploy.md sets STACK and REGION)"
fi
[[ -n "$stack" ]] || fail "stack name" "pass --stack or export STACK"

if identity="$(aws sts get-caller-identity --output json 2>&1)"; then
  caller_arn="$(json Arn <<<"$identity")" account="$(json Account <<<"$identity")"
  pass "credentials: $caller_arn"
  # An assumed role's session ARN names the role: key and secret policies need the role's ARN.
  if [[ "$caller_arn" == arn:*:sts::*:assumed-role/* ]]; then
    role_name="${caller_arn#*:assumed-role/}"
    role_name="${role_name%%/*}"
    role_arn="$(aws iam get-role --role-name "$role_name" --query Role.Arn --output text 2>/dev/null \
      || echo "arn:aws:iam::$account:role/$role_name")"
  else
    role_arn="$caller_arn"
  fi
  echo "      your IAM ARN for KeyAdministratorArns / SecretOperatorArns: $role_arn"
else
  fail "credentials (aws sts get-caller-identity)" "configure credentials for the target account: $identity"
  region=""
fi

if [[ -n "$region" ]]; then
  if settings="$(aws lambda get-account-settings --region "$region" --output json 2>&1)"; then
    total="$(json AccountLimit.ConcurrentExecutions <<<"$settings")"
    unreserved="$(json AccountLimit.UnreservedConcurrentExecutions <<<"$settings")"
    # A stack that exists already holds its reservation of 1.
    needed=11
    if [[ -n "$stack" ]] && aws cloudformation describe-stacks --region "$region" --stack-name "$stack" >/dev/null 2>&1; then
      needed=10
    fi
    if ((unreserved >= needed)); then
      pass "Lambda concurrency: $unreserved unreserved of $total (needs >= $needed)"
    else
      fail "Lambda concurrency: $unreserved unreserved of $total; refresh reserves 1 and Lambda keeps 10 unreserved" \
        "request a higher 'Concurrent executions' quota (Service Quotas, AWS Lambda) in $region"
    fi
  else
    fail "Lambda account settings in $region" "$settings"
  fi
fi

echo
if ((failures)); then
  echo "preflight: $failures check(s) failed"
  exit 1
fi
echo "preflight: ready to build and deploy $stack in $region ($architecture)"
