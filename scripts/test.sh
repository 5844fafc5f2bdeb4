#!/usr/bin/env bash
# Runs everything CI runs, in the order a reviewer would: formatting, lints, then every test
# of the workspace (unit, property, integration), ending with the test runner's summary.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# One target directory outside the clone, shared by every checkout on this machine: a fresh
# clone reuses what an earlier build of the same lockfile compiled.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/packyard/target}"
# shellcheck source=scripts/rocksdb-env.sh
. scripts/rocksdb-env.sh

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== every file the docs name exists" >&2
scripts/check-doc-paths.sh
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
scripts/fuzz.sh
echo "== deploy/k8s against the Kubernetes schemas" >&2
scripts/k8s-validate.sh
echo "== deploy/monitoring: the alert rules through promtool" >&2
scripts/check-monitoring.sh
if docker info >/dev/null 2>&1; then
  echo "== the image, the compose smoke test and the fault tests across containers" >&2
  scripts/compose-smoke.sh
  scripts/fault-tests.sh
else
  echo "== no Docker engine here: the compose smoke test and the fault tests are skipped" >&2
fi
echo "== cargo nextest" >&2
cargo nextest run --workspace --locked --profile ci
