#!/usr/bin/env bash
# Builds the deployable bootstraps exactly as a deployment builds them, with
# `sam build --beta-features` (the template's rust-cargolambda build method: cargo lambda
# build --release with the workspace's [profile.release]), checks that both bootstraps
# were produced, and prints their sizes:
#
#   .aws-sam/build-x86_64/{RefreshFunction,GetTokenFunction}/bootstrap   always
#   .aws-sam/build-arm64/...                                            when the
#       aarch64-unknown-linux-gnu Rust target is installed (Architecture's default)
#
# and copies each into target/lambda/<arch>/<function>/bootstrap with the zip that Lambda
# receives beside it (bootstrap.zip, as `sam deploy` packages it), where the benchmarks
# (scripts/bench.sh) read them. So the size figures, the benchmarks and the deployed
# artefacts come from one way of building.
#
# x86_64 is built with `--parameter-overrides Architecture=x86_64`: for it the builder
# runs `cargo lambda build --release --bin NAME` with no target flag (the host's, on an
# x86-64 machine; offline). arm64 (`--arm64`) needs its Rust target; without it this says
# so and still exits 0: a missing target alone never fails CI. Any other failure does.
#
# cargo-lambda links with zig (the `ziglang` PyPI package in .venv, run as
# `python3 -m ziglang`), so .venv/bin goes first on PATH. Nothing here talks to AWS: SAM
# CLI's telemetry and version check are off, as in scripts/check-template.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$root"

bash scripts/setup-venv.sh
export PATH="$venv/bin:$PATH"
unset CARGO_TARGET_DIR

# The template's logical ids and the binaries they build.
functions=(RefreshFunction:refresh GetTokenFunction:get-token)

sam_home="$(mktemp -d)"
trap 'rm -rf "$sam_home"' EXIT
export SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true
export __SAM_CLI_APP_DIR="$sam_home"
"$venv/bin/python" -c 'import json, sys, time; json.dump({"lastVersionCheck": time.time(), "telemetryEnabled": False}, open(sys.argv[1], "w"))' \
  "$sam_home/metadata.json"

started=$SECONDS
# build ARCH: sam build for Architecture=ARCH into .aws-sam/build-ARCH, then the bootstraps
# and their zips into target/lambda/ARCH.
build() {
  local arch="$1" step_started=$SECONDS entry id function folder
  local build_dir=".aws-sam/build-$arch"
  echo "build-release: sam build --beta-features --parameter-overrides Architecture=$arch (into $build_dir)"
  rm -rf "$build_dir"
  "$venv/bin/sam" build --beta-features --template template.yaml --build-dir "$build_dir" \
    --parameter-overrides "Architecture=$arch"
  for entry in "${functions[@]}"; do
    id="${entry%%:*}" function="${entry#*:}"
    if [[ ! -x "$build_dir/$id/bootstrap" ]]; then
      echo "build-release: sam build did not produce $build_dir/$id/bootstrap" >&2
      exit 1
    fi
    folder="target/lambda/$arch/$function"
    mkdir -p "$folder"
    cp "$build_dir/$id/bootstrap" "$folder/bootstrap"
    # The archive `sam deploy` uploads: the build folder's content, deflated.
    "$venv/bin/python" - "$build_dir/$id" "$folder/bootstrap.zip" <<'PY'
import os, sys, zipfile
source, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
    for name in sorted(os.listdir(source)):
        info = zipfile.ZipInfo(name)
        info.external_attr = (os.stat(os.path.join(source, name)).st_mode & 0xFFFF) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(source, name), "rb") as f:
            archive.writestr(info, f.read())
PY
  done
  # The bootstrap's architecture is the one asked for.
  local machine
  machine="$("$venv/bin/python" -c 'import sys; d=open(sys.argv[1],"rb").read(20); print({62:"x86_64",183:"arm64"}.get(int.from_bytes(d[18:20],"little"),"other"))' \
    "$build_dir/RefreshFunction/bootstrap")"
  if [[ "$machine" != "$arch" ]]; then
    echo "build-release: $build_dir/RefreshFunction/bootstrap is $machine code, not $arch" >&2
    exit 1
  fi
  echo "build-release: $arch built in $((SECONDS - step_started)) s"
}

build x86_64

arm64_status="built"
if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  build arm64
else
  arm64_status="NOT BUILT: the aarch64-unknown-linux-gnu Rust target is not installed"
fi

echo
echo "build-release: deployable sizes (zip is what Lambda receives; target: zip <= 3 MiB)"
printf '%-10s %-7s %14s %14s\n' function arch bootstrap zip
for arch in arm64 x86_64; do
  for entry in "${functions[@]}"; do
    function="${entry#*:}"
    folder="target/lambda/$arch/$function"
    [[ -f "$folder/bootstrap.zip" ]] || continue
    printf '%-10s %-7s %14s %14s\n' "$function" "$arch" \
      "$(stat -c %s "$folder/bootstrap")" "$(stat -c %s "$folder/bootstrap.zip")"
  done
done
echo
echo "build-release: x86_64 built; arm64 $arm64_status"
if [[ "$arm64_status" != built ]]; then
  cat <<'EOF'
build-release: NOTICE: arm64, the default Architecture, was not built on this machine.
build-release:   To build it: rustup target add aarch64-unknown-linux-gnu && scripts/build-release.sh
build-release:   (this is not a failure: CI goes on without it)
EOF
fi
echo "build-release: done in $((SECONDS - started)) s"
