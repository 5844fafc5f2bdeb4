#!/usr/bin/env bash
# Brings deploy/compose.yaml up on this Docker host and makes its Garage store usable
# (scripts/compose-store.sh). The secrets the project needs are taken from the environment,
# or made here and kept in deploy/.env (mode 600) for the next `up`: the store's RPC secret
# and key. PACKYARD_ADMIN_KEY must be set (32 characters or more). Extra arguments go to
# `docker-compose up -d` (a service name, say).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PACKYARD_ADMIN_KEY:?set PACKYARD_ADMIN_KEY to a key of 32 characters or more}"
env_file=deploy/.env
if [ -f "$env_file" ]; then
  set -a
  # shellcheck disable=SC1090
  . "$env_file"
  set +a
fi
hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
if [ -z "${PACKYARD_GARAGE_RPC_SECRET:-}" ] || [ -z "${PACKYARD_STORE_ACCESS_KEY_ID:-}" ] ||
  [ -z "${PACKYARD_STORE_SECRET_ACCESS_KEY:-}" ]; then
  PACKYARD_GARAGE_RPC_SECRET="${PACKYARD_GARAGE_RPC_SECRET:-$(hex 32)}"
  PACKYARD_STORE_ACCESS_KEY_ID="${PACKYARD_STORE_ACCESS_KEY_ID:-GK$(hex 12)}"
  PACKYARD_STORE_SECRET_ACCESS_KEY="${PACKYARD_STORE_SECRET_ACCESS_KEY:-$(hex 32)}"
  (
    umask 077
    printf 'PACKYARD_GARAGE_RPC_SECRET=%s\nPACKYARD_STORE_ACCESS_KEY_ID=%s\nPACKYARD_STORE_SECRET_ACCESS_KEY=%s\n' \
      "$PACKYARD_GARAGE_RPC_SECRET" "$PACKYARD_STORE_ACCESS_KEY_ID" \
      "$PACKYARD_STORE_SECRET_ACCESS_KEY" >"$env_file"
  )
  echo "the store's secrets are in $env_file" >&2
fi
export PACKYARD_GARAGE_RPC_SECRET PACKYARD_STORE_ACCESS_KEY_ID PACKYARD_STORE_SECRET_ACCESS_KEY
compose=(docker-compose -f deploy/compose.yaml)
"${compose[@]}" up -d "$@"
scripts/compose-store.sh "${compose[@]}"
