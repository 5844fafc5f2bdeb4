#!/usr/bin/env bash
# Installs the peers packyard-bench measures against, when missing. Not part of CI: only
# benchmark runs need them. Safe to run again.
set -euo pipefail

# b3sum: the BLAKE3 team's own hasher, the peer of `packyard-bench ingest`.
if ! command -v b3sum >/dev/null 2>&1; then
  echo "installing b3sum (from crates.io)…" >&2
  cargo install --locked b3sum
fi

# The peers of the side-by-side load runs, from Debian (bookworm: nginx 1.22, etcd 3.4):
# nginx for `packyard-bench vs-nginx`, etcd for `packyard-bench vs-etcd`. `taskset` (util-linux)
# pins servers and the load generator to different cores.
missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]} (apt)…" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # Only the binaries are needed: the packages' own services are neither wanted nor started
  # (the benchmarks start nginx and etcd themselves, on free ports, in temp directories).
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now nginx etcd >/dev/null 2>&1 || true
  fi
fi
