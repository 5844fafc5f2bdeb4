#!/usr/bin/env bash
# Installs Garage, the distributed S3-compatible store the object-store tests, the compose
# cluster and the fault tests run Packyard's chunks on, from crates.io, once per machine:
# the binary is cached in $HOME/.cache/packyard/bin (about 9 minutes of two cores the first
# time, nothing after). Prints the binary's path.
set -euo pipefail
version="${PACKYARD_GARAGE_VERSION:-2.5.0}"
cache="${PACKYARD_CACHE:-$HOME/.cache/packyard}"
bin="$cache/bin/garage-$version"
if [ ! -x "$bin" ]; then
  echo "building Garage $version once (about 9 minutes on 2 cores); cached in $bin" >&2
  root="$cache/garage-build/$version"
  mkdir -p "$root" "$cache/bin"
  CARGO_TARGET_DIR="$root/target" cargo install --locked --quiet --root "$root" \
    --version "=$version" garage >&2
  cp "$root/bin/garage" "$bin.tmp" && mv "$bin.tmp" "$bin"
fi
echo "$bin"
