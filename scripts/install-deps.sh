#!/usr/bin/env bash
# Installs what building and testing Packyard needs on a fresh Debian machine with a Rust
# toolchain, and nothing when it is already there. Safe to run again.
# protoc needs no install: the proto crate uses a vendored binary.
set -euo pipefail

# From Debian: libclang for RocksDB's bindings (bindgen); zsync, the real multi-range delta
# client the edge is tested with (cli/tests/zsync.rs).
missing=()
dpkg-query -W -f='${Status}' libclang-dev 2>/dev/null | grep -q "install ok installed" ||
  missing+=(libclang-dev)
command -v zsync >/dev/null 2>&1 && command -v zsyncmake >/dev/null 2>&1 || missing+=(zsync)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi
# cargo-nextest runs the test suite; a bare Rust install lacks it.
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest (from crates.io)…" >&2
  cargo install --locked cargo-nextest
fi

# Garage, the distributed S3 store the object-store tests and the compose cluster keep chunks
# in: built from crates.io once, then cached (scripts/install-garage.sh).
scripts_dir="$(cd "$(dirname "$0")" && pwd)"
"$scripts_dir/install-garage.sh" >/dev/null
