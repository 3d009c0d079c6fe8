#!/usr/bin/env bash
# Builds the deployable bootstraps of the functions with `cargo lambda build --release`
# (the workspace's [profile.release]) and prints their sizes:
#
#   target/lambda/x86_64/<function>/bootstrap(.zip)   always
#   target/lambda/arm64/<function>/bootstrap(.zip)    when the aarch64-unknown-linux-gnu
#                                                     Rust target is installed
#
# arm64 is the deployed architecture (template.yaml). When its Rust target is not
# installed (`rustup target add aarch64-unknown-linux-gnu` needs the Rust toolchain
# server, which a machine here may not reach), this says so and still exits 0: a missing
# target alone never fails CI. Any other failure does.
#
# cargo-lambda cross-compiles and links with zig (through cargo-zigbuild), which comes
# from the `ziglang` PyPI package in .venv: cargo-lambda runs `python3 -m ziglang`, so
# .venv/bin goes first on PATH. The target directory is the workspace's `target/` (Cargo
# puts these builds under target/<triple>/release, apart from host builds).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$root"

bash scripts/setup-venv.sh
export PATH="$venv/bin:$PATH"
unset CARGO_TARGET_DIR

functions=()
for function in get-token refresh; do
  if [[ -f "functions/$function/src/main.rs" ]]; then
    functions+=("$function")
  else
    echo "build-release: functions/$function has no binary yet: skipped" >&2
  fi
done
if ((${#functions[@]} == 0)); then
  echo "build-release: no function to build" >&2
  exit 1
fi
bin_args=()
for function in "${functions[@]}"; do bin_args+=(--bin "$function"); done

started=$SECONDS
# build ARCH-DIR [cargo lambda options...]
build() {
  local dir="$1" step_started=$SECONDS
  shift
  echo "build-release: cargo lambda build --release $* (${functions[*]}) into target/lambda/$dir"
  "$venv/bin/cargo-lambda" lambda build --release --locked "$@" \
    --output-format zip --lambda-dir "target/lambda/$dir" "${bin_args[@]}"
  # The zip holds the bootstrap; keep it unpacked beside it too (the benchmarks run it).
  local function
  for function in "${functions[@]}"; do
    "$venv/bin/python" - "target/lambda/$dir/$function" <<'PY'
import os, sys, zipfile
folder = sys.argv[1]
with zipfile.ZipFile(os.path.join(folder, "bootstrap.zip")) as archive:
    archive.extract("bootstrap", folder)
os.chmod(os.path.join(folder, "bootstrap"), 0o755)
PY
  done
  echo "build-release: $dir built in $((SECONDS - step_started)) s"
}

build x86_64 --x86-64

arm64_status="built"
if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  build arm64 --arm64
else
  arm64_status="NOT BUILT: the aarch64-unknown-linux-gnu Rust target is not installed"
fi

echo
echo "build-release: deployable sizes (zip is what Lambda receives; target: zip <= 3 MiB)"
printf '%-10s %-7s %14s %14s\n' function arch bootstrap zip
for dir in arm64 x86_64; do
  for function in "${functions[@]}"; do
    folder="target/lambda/$dir/$function"
    [[ -f "$folder/bootstrap.zip" ]] || continue
    printf '%-10s %-7s %14s %14s\n' "$function" "$dir" \
      "$(stat -c %s "$folder/bootstrap")" "$(stat -c %s "$folder/bootstrap.zip")"
  done
done
echo
echo "build-release: x86_64 built; arm64 $arm64_status"
if [[ "$arm64_status" != built ]]; then
  cat <<'EOF'
build-release: NOTICE: arm64, the deployed architecture, was not built on this machine.
build-release:   To build it: rustup target add aarch64-unknown-linux-gnu && scripts/build-release.sh
build-release:   (this is not a failure: CI goes on without it)
EOF
fi
echo "build-release: done in $((SECONDS - started)) s"
