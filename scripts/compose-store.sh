#!/usr/bin/env bash
# Makes the Garage store of a running deploy/compose.yaml project usable, once: joins the
# three nodes, gives each a zone and a share of the layout (three copies of everything),
# imports the store's key (PACKYARD_STORE_ACCESS_KEY_ID, PACKYARD_STORE_SECRET_ACCESS_KEY,
# which the origins hold) and makes the bucket `packyard` it may read and write. Safe to run
# again: what exists is kept.
#
#   scripts/compose-store.sh docker-compose -p NAME -f deploy/compose.yaml
#
# The arguments are the compose command that reaches the project.
set -euo pipefail
[ "$#" -gt 0 ] || set -- docker-compose -f "$(dirname "$0")/../deploy/compose.yaml"
compose=("$@")
: "${PACKYARD_STORE_ACCESS_KEY_ID:?set PACKYARD_STORE_ACCESS_KEY_ID}"
: "${PACKYARD_STORE_SECRET_ACCESS_KEY:?set PACKYARD_STORE_SECRET_ACCESS_KEY}"
nodes=(garage-1 garage-2 garage-3)

garage() { # NODE ARGS…: the garage CLI inside NODE's container
  local node=$1
  shift
  "${compose[@]}" exec -T "$node" /usr/local/bin/garage -c /etc/garage.toml "$@"
}

deadline=$((SECONDS + 120))
for node in "${nodes[@]}"; do
  until garage "$node" status >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "FAIL the store's node $node does not answer" >&2
      garage "$node" status >&2 || true
      exit 1
    fi
    sleep 1
  done
done

ids=()
for node in "${nodes[@]}"; do
  id=$(garage "$node" node id -q 2>/dev/null | tr -d '\r' | cut -d@ -f1)
  ids+=("$id")
  [ "$node" = garage-1 ] || garage garage-1 node connect "$id@$node:3901" >/dev/null
done

if garage garage-1 layout show 2>/dev/null | grep -q 'Current cluster layout version: 0'; then
  for i in 0 1 2; do
    garage garage-1 layout assign "${ids[$i]:0:16}" -z "zone-$((i + 1))" -c 10G >/dev/null
  done
  garage garage-1 layout apply --version 1 >/dev/null
fi

until garage garage-1 key info "$PACKYARD_STORE_ACCESS_KEY_ID" >/dev/null 2>&1 ||
  garage garage-1 key import --yes -n packyard \
    "$PACKYARD_STORE_ACCESS_KEY_ID" "$PACKYARD_STORE_SECRET_ACCESS_KEY" >/dev/null 2>&1; do
  if [ $SECONDS -ge $deadline ]; then
    echo "FAIL the store does not take the key" >&2
    garage garage-1 layout show >&2 || true
    exit 1
  fi
  sleep 1
done
garage garage-1 bucket info packyard >/dev/null 2>&1 || garage garage-1 bucket create packyard >/dev/null
garage garage-1 bucket allow --read --write --owner packyard --key "$PACKYARD_STORE_ACCESS_KEY_ID" >/dev/null
echo "the store is ready: three Garage nodes, three copies, bucket packyard" >&2
