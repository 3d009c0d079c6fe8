#!/usr/bin/env bash
# Installs the project's Python tools (moto server, cfn-lint, sam, cargo-lambda, ziglang)
# into ./.venv with the versions pinned in requirements-dev.txt. Safe to run again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$root/requirements-dev.txt" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "setup-venv: $venv is up to date"
  exit 0
fi
echo "setup-venv: installing pinned Python tools into $venv (first time takes a few minutes)"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/requirements-dev.txt"
echo "$want" > "$stamp"
echo "setup-venv: done"
