#!/usr/bin/env bash
# Builds the image `packyard:latest` (or $PACKYARD_IMAGE) FROM scratch: the release binary, the
# shared libraries `ldd` lists for it and the dynamic loader, and empty /data, /tls and /tmp
# folders owned by the image's user (10001), nothing else. Needs only a Docker engine: no
# registry, no base image.
set -euo pipefail
cd "$(dirname "$0")/.."

image="${PACKYARD_IMAGE:-packyard:latest}"
scripts/install-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/packyard/target}"
# shellcheck source=scripts/rocksdb-env.sh
. scripts/rocksdb-env.sh

echo "== building the release binary" >&2
cargo build --release --locked -p packyard-cli
bin="$CARGO_TARGET_DIR/release/packyard"

# The build context: rootfs/ (root's files) and owned/ (the image user's empty folders: COPY
# gives every file to root unless told otherwise).
stage="$CARGO_TARGET_DIR/image-root"
root="$stage/rootfs"
rm -rf "$stage"
mkdir -p "$root/usr/local/bin" "$root/tmp" "$root/etc" "$stage/owned/data" "$stage/owned/tls" "$stage/owned/ca"
cp "$bin" "$root/usr/local/bin/packyard"
strip --strip-debug "$root/usr/local/bin/packyard" 2>/dev/null || true
# Garage, the distributed S3 store deploy/compose.yaml keeps chunks in, rides along: the same
# image runs `garage server` for the store's nodes (built once by scripts/install-garage.sh).
garage=$(scripts/install-garage.sh)
cp "$garage" "$root/usr/local/bin/garage"
strip --strip-debug "$root/usr/local/bin/garage" 2>/dev/null || true
# Every library the binaries link, at the path the loader looks for it, and the loader.
ldd "$bin" "$garage" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u |
  while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
# Names for the image's user in logs and `ls -n`; host names resolve from /etc/hosts, then DNS
# (glibc's own modules, built into libc since 2.34).
echo "packyard:x:10001:10001::/data:/nonexistent" > "$root/etc/passwd"
echo "packyard:x:10001:" > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chmod 0700 "$stage/owned/data" "$stage/owned/ca"
chmod 0755 "$stage/owned/tls"

echo "== docker build $image" >&2
DOCKER_BUILDKIT=0 docker build --quiet -t "$image" -f deploy/Dockerfile "$stage" >/dev/null 2>&1 ||
  DOCKER_BUILDKIT=0 docker build -t "$image" -f deploy/Dockerfile "$stage"
docker run --rm "$image" --version >&2
docker image ls "$image" >&2
