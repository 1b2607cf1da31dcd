#!/usr/bin/env bash
# Fuzzes vkattn's readers with libFuzzer: .npy, .safetensors, model.json and operation
# parameters given as key=value (tests/fuzz). Builds build-fuzz with clang (ASan + UBSan
# + libFuzzer), then runs each target for SECONDS from its seed corpus in
# tests/fuzz/corpus/NAME (every file there runs first: a crash once found and saved there
# is a test forever). New crashes are written to build-fuzz/crashes/. The suite runs
# this with 15 s per target; for hours: scripts/fuzz.sh 3600. (The targets' own messages
# are dropped: -close_fd_mask=2; the sanitizers' reports still reach the log.)
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_npy fuzz_safetensors fuzz_model_json fuzz_params)

if ! CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DVKATTN_FUZZ=ON -DVKATTN_BUILD_TESTS=OFF \
  -DVKATTN_BUILD_SAMPLES=OFF >/dev/null || ! cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}" >/dev/null; then
  echo "fuzz: the clang build failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
mkdir -p build-fuzz/crashes
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
passed=0
failed=0
for t in "${targets[@]}"; do
  name=${t#fuzz_}
  work=build-fuzz/corpus/$name
  mkdir -p "$work"
  echo "== $t: $seconds s" >&2
  if build-fuzz/tests/fuzz/"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 -close_fd_mask=2 \
    -artifact_prefix=build-fuzz/crashes/"$name"- "$work" tests/fuzz/corpus/"$name" 2>build-fuzz/"$t".log; then
    passed=$((passed + 1))
    grep -E "stat::number_of_executed_units|cov:" build-fuzz/"$t".log | tail -2 >&2
  else
    failed=$((failed + 1))
    tail -40 build-fuzz/"$t".log >&2
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
