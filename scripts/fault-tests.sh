#!/usr/bin/env bash
# Fault tests against the whole deployment of deploy/compose.yaml (cli/tests/containers.rs and
# cli/tests/containers_store.rs):
# a control-plane leader cut off from its peers, an edge cut off from control plane and
# origin, an origin SIGKILLed mid-upload (the upload resumes through the other), a rolling
# restart of the control plane under writes, an edge restarted with the control plane down,
# every node stopped with SIGTERM, a store node killed and an origin's disk wiped, the whole
# store down.
# Builds the image, then runs the tests one at a time (one PASS or FAIL line each); exits
# non-zero if any fails.
#
# Needs a Docker engine with docker-compose (or the `docker compose` plugin) and root, for
# the iptables rules that cut containers off from each other. Without an engine it says so
# and exits 0. Extra arguments go to `cargo nextest run` (a test name to run only it).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! docker info >/dev/null 2>&1; then
  echo "SKIP fault tests: no Docker engine answers (docker info failed)"
  exit 0
fi
if docker-compose version >/dev/null 2>&1; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  echo "fault tests need docker-compose or the docker compose plugin" >&2
  exit 1
fi
if ! iptables -S DOCKER-USER >/dev/null 2>&1; then
  echo "fault tests need iptables and Docker's DOCKER-USER chain (run as root)" >&2
  exit 1
fi

# What a test killed before its own clean-up could leave behind: its iptables rules (they
# carry the project's name, pyfault-…, as a comment), its Compose project and its volumes.
cleanup() {
  local rules projects volumes rule project
  rules=$(iptables -S DOCKER-USER 2>/dev/null | grep -- '--comment "\?pyfault-' || true)
  while read -r rule; do
    [ -n "$rule" ] || continue
    eval "iptables ${rule/#-A /-D }" || true
  done <<<"$rules"
  projects=$(docker ps -a --filter label=com.docker.compose.project \
    --format '{{.Label "com.docker.compose.project"}}' | grep '^pyfault-' | sort -u || true)
  while read -r project; do
    [ -n "$project" ] || continue
    echo "removing the leftover project $project" >&2
    PACKYARD_ADMIN_KEY=leftover-project-being-removed-0123456789 PACKYARD_GARAGE_RPC_SECRET=x \
    PACKYARD_STORE_ACCESS_KEY_ID=x PACKYARD_STORE_SECRET_ACCESS_KEY=x \
      "${compose[@]}" -p "$project" -f deploy/compose.yaml down -v --remove-orphans -t 1 \
      >/dev/null 2>&1 || true
  done <<<"$projects"
  volumes=$(docker volume ls -q --filter label=com.docker.compose.project |
    grep '^pyfault-' || true)
  if [ -n "$volumes" ]; then
    # shellcheck disable=SC2086
    docker volume rm $volumes >/dev/null 2>&1 || true
  fi
}
cleanup
trap cleanup EXIT

scripts/image.sh

scripts/install-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/packyard/target}"
# shellcheck source=scripts/rocksdb-env.sh
. scripts/rocksdb-env.sh

echo "== cargo nextest (fault tests, one at a time)" >&2
cargo nextest run -p packyard-cli --locked -E 'binary(containers) | binary(containers_store)' --run-ignored only \
  --no-fail-fast "$@"
