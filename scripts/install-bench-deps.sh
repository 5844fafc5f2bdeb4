#!/usr/bin/env bash
# Installs the peers packyard-bench measures against, when missing. Not part of CI: only
# benchmark runs need them. Safe to run again.
set -euo pipefail

# b3sum: the BLAKE3 team's own hasher, the peer of `packyard-bench ingest`.
if ! command -v b3sum >/dev/null 2>&1; then
  echo "installing b3sum (from crates.io)…" >&2
  cargo install --locked b3sum
fi
