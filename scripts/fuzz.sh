#!/usr/bin/env bash
# Fuzzes the parsers that read bytes from the network (the targets in fuzz/), each for a
# bounded time, seeded from the corpora committed under fuzz/corpus/TARGET/. CI runs it
# between clippy and the tests.
#
#   scripts/fuzz.sh                                  every target, 20 s each
#   scripts/fuzz.sh range_header edge_request        only these
#   PACKYARD_FUZZ_SECONDS=600 scripts/fuzz.sh manifest_parse
#
# Exits non-zero when a target panics, fails an assertion, takes longer than
# PACKYARD_FUZZ_TIMEOUT seconds on one input or grows past PACKYARD_FUZZ_RSS_MB, naming the
# target and the input that did it, kept as fuzz/artifacts/TARGET/crash-… (or timeout-…,
# oom-…). Inputs the fuzzer finds go to a scratch directory that is deleted afterwards, so
# the committed corpus is only read and the checkout stays clean.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${PACKYARD_FUZZ_SECONDS:-20}"
timeout="${PACKYARD_FUZZ_TIMEOUT:-10}"
rss_mb="${PACKYARD_FUZZ_RSS_MB:-2048}"
# Targets fuzzed side by side; each is one single-threaded process.
jobs="${PACKYARD_FUZZ_JOBS:-$(nproc)}"
[ "$jobs" -ge 1 ] || jobs=1
# No sanitizer by default: the code fuzzed is safe Rust (the workspace forbids unsafe_code),
# so AddressSanitizer would only watch dependencies' unsafe code, and it costs about 40 %
# more build and two thirds of the inputs per second. Panics, overflow (debug assertions
# are on), timeouts and memory limits are caught either way.
# PACKYARD_FUZZ_SANITIZER=address for a long local run.
sanitizer="${PACKYARD_FUZZ_SANITIZER:-none}"
# Its own target directory outside the clone, as scripts/test.sh keeps the workspace's: the
# fuzz build uses other compiler flags, so sharing one would rebuild both every time. One
# per sanitizer, for the same reason.
export CARGO_TARGET_DIR="${PACKYARD_FUZZ_TARGET_DIR:-$HOME/.cache/packyard/fuzz-target/$sanitizer}"
# The coverage instrumentation libFuzzer needs takes only stable flags; a sanitizer is a -Z
# flag, which this lets the stable toolchain accept.
replay=""
if [ "$sanitizer" != none ]; then
  export RUSTC_BOOTSTRAP=1
  replay="RUSTC_BOOTSTRAP=1 "
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (from crates.io)…" >&2
  cargo install --locked cargo-fuzz --version 0.13.2
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi
for target in "${targets[@]}"; do
  if [ ! -d "fuzz/corpus/$target" ]; then
    echo "fuzz: $target has no seed corpus; add a few valid inputs to fuzz/corpus/$target/" >&2
    exit 1
  fi
done

echo "== cargo fuzz build (${#targets[@]} target(s), sanitizer: $sanitizer)" >&2
# cargo-fuzz has no --locked: refuse a lockfile that would change before building.
cargo fetch --locked --manifest-path fuzz/Cargo.toml
started=$SECONDS
# Release with debug assertions (so overflow checks too), cargo-fuzz's default. `cargo fuzz
# run` below gets the same flags, or it would rebuild.
if [ "${#targets[@]}" -eq 1 ]; then
  cargo fuzz build --sanitizer "$sanitizer" "${targets[0]}"
else
  cargo fuzz build --sanitizer "$sanitizer"
fi
echo "fuzz: built in $((SECONDS - started)) s" >&2

scratch="$(mktemp -d "${TMPDIR:-/tmp}/packyard-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# Runs one target; its output goes to $scratch/TARGET.log, its exit status to .status.
fuzz_one() {
  local target="$1"
  mkdir -p "$scratch/$target" "fuzz/artifacts/$target"
  local status=0
  # The scratch directory comes first: libFuzzer writes new inputs to the first directory
  # only and reads the others as seeds.
  # RUST_LIB_BACKTRACE=0: a backtrace of the target's panic, none of cargo-fuzz's own error.
  RUST_LIB_BACKTRACE=0 cargo fuzz run --sanitizer "$sanitizer" "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss_mb" \
    -print_final_stats=1 >"$scratch/$target.log" 2>&1 || status=$?
  echo "$status" >"$scratch/$target.status"
}

echo "== cargo fuzz run (${seconds} s per target, up to ${jobs} at a time)" >&2
started=$SECONDS
running=0
for target in "${targets[@]}"; do
  fuzz_one "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait
echo "fuzz: ran in $((SECONDS - started)) s" >&2

failed=()
for target in "${targets[@]}"; do
  log="$scratch/$target.log"
  status="$(cat "$scratch/$target.status")"
  if [ "$status" = 0 ]; then
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)"
    found="$(find "$scratch/$target" -type f | wc -l)"
    echo "fuzz: $target ok: ${runs:-?} inputs, ${cov:-cov: ?}, $found new" >&2
    continue
  fi
  failed+=("$target")
  echo >&2
  cp "$log" "fuzz/artifacts/$target/run.log"
  echo "fuzz: $target FAILED (exit $status); all its output is in fuzz/artifacts/$target/run.log" >&2
  # From the panic, timeout or out-of-memory report on: the message and the first frames.
  awk '/panicked at|ERROR: libFuzzer|ALARM:/ { p = 1 } p && n < 40 { print "  | " $0; n++ }' \
    "$log" >&2
  input="$(grep -o 'Test unit written to .*' "$log" | tail -n 1 | sed 's/^Test unit written to //')"
  input="${input#"$PWD/"}"
  if [ -n "$input" ]; then
    echo "fuzz: $target: the failing input is $input" >&2
    echo "fuzz: replay it with: ${replay}CARGO_TARGET_DIR=$CARGO_TARGET_DIR" \
      "cargo fuzz run --sanitizer $sanitizer $target $input" >&2
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: ${#failed[@]} of ${#targets[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} target(s) ran ${seconds} s each without a failure" >&2
