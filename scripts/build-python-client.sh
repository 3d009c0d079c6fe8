#!/usr/bin/env bash
# Builds the Python caller library (clients/python) into a wheel, for a Lambda's
# deployment package: target/python-client/orange_token_client-<version>-py3-none-any.whl.
# Usage: scripts/build-python-client.sh [OUT_DIR]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="${1:-$root/target/python-client}"
mkdir -p "$out"
python3 -m pip wheel --quiet --disable-pip-version-check --no-deps "$root/clients/python" -w "$out"
ls -1 "$out"/orange_token_client-*.whl
