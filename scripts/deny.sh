#!/usr/bin/env bash
# Supply-chain checks: `cargo deny check bans licenses sources` (policy in deny.toml).
# Installs the pinned cargo-deny from crates.io on first use (about 7 minutes on 2 cores)
# into a cache outside the workspace, reused by later runs and clones on this machine.
# The advisories check needs the RustSec database from GitHub, which these machines
# cannot reach: run `scripts/deny.sh advisories` where it can be fetched.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="0.20.2"
tools="${XDG_CACHE_HOME:-$HOME/.cache}/orange-token-service/tools"
deny="$tools/bin/cargo-deny"
if [[ ! -x "$deny" ]] || [[ "$("$deny" --version 2>/dev/null)" != "cargo-deny $version" ]]; then
  echo "deny: installing cargo-deny $version into $tools (first time only)"
  cargo install --quiet --locked --root "$tools" --version "$version" cargo-deny
fi
cd "$root"
if [[ "${1:-}" == "advisories" ]]; then
  exec "$deny" check advisories
fi
"$deny" --offline check bans licenses sources
