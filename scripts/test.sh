#!/usr/bin/env bash
# The test command: installs the pinned Python tools, starts a local AWS emulator
# (moto's server) on loopback, runs every Rust test and the template checks, and stops
# what it started. Usage: scripts/test.sh [extra cargo test arguments]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$root"

bash scripts/setup-venv.sh
export_test_aws_env
logs="$(mktemp -d)"
MOTO_PID=""
trap 'stop_pid "$MOTO_PID"' EXIT INT TERM
start_moto "$logs/moto.log"
echo "test: AWS emulator (moto) at $AWS_ENDPOINT_URL"

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked "$@"
bash scripts/check-template.sh
