#!/usr/bin/env bash
# Builds the image and runs deploy/compose.yaml end to end: three control nodes, three Garage
# nodes, two origins and three edges boot; a pack is built and uploaded through the CLI; its
# chunks are in the Garage bucket; every edge serves the same bytes; everything is torn down
# (volumes too). One PASS line per check; the first failure prints the containers' logs and
# exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/packyard/target}"
scripts/image.sh
packyard="$CARGO_TARGET_DIR/release/packyard"

project="${PACKYARD_COMPOSE_PROJECT:-packyard-smoke}"
PACKYARD_ADMIN_KEY="smoke-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export PACKYARD_ADMIN_KEY
export PACKYARD_SERVER=http://127.0.0.1:7100
hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
PACKYARD_GARAGE_RPC_SECRET=$(hex 32)
PACKYARD_STORE_ACCESS_KEY_ID="GK$(hex 12)"
PACKYARD_STORE_SECRET_ACCESS_KEY=$(hex 32)
export PACKYARD_GARAGE_RPC_SECRET PACKYARD_STORE_ACCESS_KEY_ID PACKYARD_STORE_SECRET_ACCESS_KEY
compose() { docker-compose -p "$project" -f deploy/compose.yaml "$@"; }
work=$(mktemp -d)
ok=0
finish() {
  if [ "$ok" -ne 1 ]; then
    echo "FAIL compose smoke test; the containers' last log lines:" >&2
    compose logs --no-color --tail=60 >&2 || true
  fi
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap finish EXIT
pass() { echo "PASS $*"; }

# Waits up to $2 seconds for `curl $1 …` to succeed.
wait_for() {
  local what=$1 secs=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until curl -fsS -o /dev/null "$@" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "FAIL $what: not within ${secs}s" >&2
      return 1
    fi
    sleep 0.5
  done
}

compose down -v --remove-orphans >/dev/null 2>&1 || true
compose up -d
scripts/compose-store.sh docker-compose -p "$project" -f deploy/compose.yaml
pass "three Garage nodes hold the bucket, three copies of everything"
wait_for "the control plane elects a leader and answers" 120 "$PACKYARD_SERVER/readyz"
pass "three control nodes formed a cluster (admin API ready on :7100)"
for port in 7110 7120; do
  wait_for "control node on :$port" 60 "http://127.0.0.1:$port/readyz"
done
# Ready is not yet keyed: the leader writes the operator's key once elected, and each node
# takes it when it applies that entry.
for port in 7100 7110 7120; do
  wait_for "control node on :$port takes the operator key" 30 \
    -H "Authorization: Bearer $PACKYARD_ADMIN_KEY" "http://127.0.0.1:$port/v1/apps"
done
pass "every control node answers and takes the operator key"

mkdir -p "$work/demo/Textures"
head -c 300000 /dev/urandom > "$work/demo/intro.m4v"
head -c 200000 /dev/urandom > "$work/demo/Textures/stone.ktx"
cat > "$work/demo/Manifest.json" <<'JSON'
{ "assetPackID": "level-1",
  "downloadPolicy": { "onDemand": {} },
  "fileSelectors": [ { "file": "intro.m4v" }, { "directory": "Textures" } ],
  "platforms": ["iOS"] }
JSON
"$packyard" pack build "$work/demo/Manifest.json" -o "$work/level-1.tar" >/dev/null
app=$("$packyard" apps create --name Smoke --bundle-id com.example.smoke --primary-language en-US -q)
pack=$("$packyard" packs create --app "$app" level-1 -q)
"$packyard" versions upload --pack "$pack" "$work/level-1.tar" -q >/dev/null
pass "uploaded $(stat -c %s "$work/level-1.tar") bytes through the CLI; the origin chunked them"
token=$("$packyard" tester-tokens create --app "$app" --channel internal -q)
# Garage counts a bucket's objects in the background: the count may lag the upload a little.
objects=0
deadline=$((SECONDS + 60))
while [ "${objects:-0}" -eq 0 ]; do
  objects=$(compose exec -T garage-2 /usr/local/bin/garage -c /etc/garage.toml bucket info packyard |
    awk '/^Objects:/ { print $2 }')
  if [ "${objects:-0}" -eq 0 ] && [ $SECONDS -ge $deadline ]; then
    echo "FAIL the bucket holds no objects after the upload" >&2
    exit 1
  fi
  [ "${objects:-0}" -gt 0 ] || sleep 1
done
pass "the chunks are in the Garage bucket ($objects objects), not on an origin's disk"

for port in 7301 7302 7303; do
  url="http://127.0.0.1:$port/apps/$app/internal/level-1"
  wait_for "edge on :$port serves the pack" 60 -H "Authorization: Bearer $token" "$url"
  curl -fsS -H "Authorization: Bearer $token" -o "$work/got-$port" "$url"
  cmp "$work/got-$port" "$work/level-1.tar"
  pass "edge :$port served the pack byte for byte"
done
ok=1
echo "compose smoke test: passed"
