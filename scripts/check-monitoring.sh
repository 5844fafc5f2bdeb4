#!/usr/bin/env bash
# Checks the Prometheus alert rules in deploy/monitoring with promtool (Debian's `prometheus`
# package, installed here when missing). Which metrics they name is checked against a running
# node by cli/tests/monitoring.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "installing promtool (Debian's prometheus package)…" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package starts a Prometheus server; only its promtool is wanted here.
  $sudo_cmd systemctl disable --now prometheus >/dev/null 2>&1 || true
  $sudo_cmd pkill -x prometheus >/dev/null 2>&1 || true
fi
promtool check rules deploy/monitoring/alerts.yaml
