#!/usr/bin/env bash
# Installs the project's Python tools (moto server, cfn-lint, sam, cargo-lambda, ziglang,
# pytest) into ./.venv with the versions pinned in requirements-dev.txt, and the Python
# caller library (clients/python) editable, without dependencies (boto3 is pinned there
# too). Safe to run again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.requirements.sha256"
want="$(cat "$root/requirements-dev.txt" "$root/clients/python/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "setup-venv: $venv is up to date"
  exit 0
fi
echo "setup-venv: installing pinned Python tools into $venv (first time takes a few minutes)"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/requirements-dev.txt"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$root/clients/python"
echo "$want" > "$stamp"
echo "setup-venv: done"
