# Sourced (not run) by scripts/test.sh and scripts/packyard.
#
# RocksDB's C++ takes about 17 minutes of both cores to compile, and cargo compiles it again
# for every profile and every target directory. So it is compiled once per librocksdb-sys
# version, optimized, into $HOME/.cache/packyard/rocksdb/<version>/librocksdb.a, and every
# build links that archive (ROCKSDB_LIB_DIR + ROCKSDB_STATIC). A missing archive is built
# here; a cached one costs nothing. Does nothing while RocksDB is not in Cargo.lock.

packyard_rocksdb_env() {
  local root lock ver cache dir scratch built
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  lock="$root/Cargo.lock"
  ver=$(awk '/^name = "librocksdb-sys"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$lock")
  [ -n "$ver" ] || return 0
  cache="${PACKYARD_CACHE:-$HOME/.cache/packyard}"
  dir="$cache/rocksdb/$ver"
  if [ ! -f "$dir/librocksdb.a" ]; then
    echo "building RocksDB $ver once (about 20 minutes on 2 cores); cached in $dir" >&2
    scratch="$cache/rocksdb-build/$ver"
    mkdir -p "$scratch/src"
    cat > "$scratch/Cargo.toml" <<TOML
[package]
name = "rocksdb-archive"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
librocksdb-sys = { version = "=$ver", default-features = false, features = ["bindgen-runtime"] }

[profile.release]
debug = false
TOML
    echo 'fn main() {}' > "$scratch/src/main.rs"
    (cd "$scratch" && env -u ROCKSDB_LIB_DIR -u ROCKSDB_STATIC CARGO_TARGET_DIR="$scratch/target" \
      cargo build --release --quiet) || return 1
    built=$(find "$scratch/target/release/build" -path '*librocksdb-sys-*/out/librocksdb.a' | head -n 1)
    [ -n "$built" ] || { echo "RocksDB built but librocksdb.a not found" >&2; return 1; }
    mkdir -p "$dir"
    cp "$built" "$dir/librocksdb.a.tmp" && mv "$dir/librocksdb.a.tmp" "$dir/librocksdb.a"
    rm -rf "$scratch/target"
  fi
  export ROCKSDB_LIB_DIR="$dir" ROCKSDB_STATIC=1
}

packyard_rocksdb_env
