#!/usr/bin/env bash
# The whole test suite: set up, build, run every test (each GPU test as the device is and
# again under VKATTN_LIMITS=android-2021, all with the Khronos validation layer and
# synchronization validation), then the suite's unit of memory safety: an
# AddressSanitizer + UndefinedBehaviorSanitizer build of the tests, a ThreadSanitizer
# build of the threaded ones and a short libFuzzer run of the readers (scripts/fuzz.sh;
# skip all three with VKATTN_SKIP_SANITIZERS=1). Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
# Runs ctest in a build tree and adds up the "N passed, N failed" lines its tests print.
run_suite() {
  local dir=$1 label=$2
  local log
  log=$(mktemp)
  echo "== $label" >&2
  ctest --test-dir "$dir" --output-on-failure --timeout 900 -j"$(nproc)" 2>&1 | tee "$log" >&2
  local ctest_status=${PIPESTATUS[0]}
  local p f
  p=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$dir/Testing/Temporary/LastTest.log" | awk '{s+=$1} END {print s+0}')
  f=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$dir/Testing/Temporary/LastTest.log" | awk '{s+=$3} END {print s+0}')
  # A test program that crashed, timed out or failed without a summary line still counts.
  local ctest_failed
  ctest_failed=$(grep -cE '\*\*\*(Failed|Exception|Timeout)|  Failed  ' "$log" || true)
  if [ "$ctest_failed" -gt "$f" ]; then f=$ctest_failed; fi
  if [ "$ctest_status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p))
  failed=$((failed + f))
  rm -f "$log"
}

run_suite build "release build"

if [ "${VKATTN_SKIP_SANITIZERS:-0}" != 1 ]; then
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DVKATTN_SANITIZE=ON >/dev/null &&
    cmake --build build-sanitize -j"$(nproc)" >/dev/null || failed=$((failed + 1))
  # LeakSanitizer cannot see into the Vulkan driver's and loader's own allocations;
  # the engine's are checked by the suppressions-free run of its own objects.
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite build-sanitize "AddressSanitizer + UndefinedBehaviorSanitizer build"
fi

if [ "${VKATTN_SKIP_SANITIZERS:-0}" != 1 ]; then
  # ThreadSanitizer over the tests that run the engine from several threads (and the
  # plan and context life cycles they lean on): every report fails.
  tsan_tests="test_lifecycle test_plan test_context"
  echo "== ThreadSanitizer build: $tsan_tests" >&2
  if cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DVKATTN_SANITIZE_THREAD=ON >/dev/null &&
    cmake --build build-tsan -j"$(nproc)" --target $tsan_tests >/dev/null; then
    for t in $tsan_tests; do
      out=$(TSAN_OPTIONS="halt_on_error=1:exitcode=66:suppressions=$PWD/tests/tsan.supp" build-tsan/tests/$t 2>&1)
      status=$?
      echo "$out" >&2
      summary=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
      p=$(echo "$summary" | awk '{print $1+0}')
      f=$(echo "$summary" | awk '{print $3+0}')
      if [ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then f=1; fi
      passed=$((passed + ${p:-0}))
      failed=$((failed + ${f:-0}))
    done
  else
    failed=$((failed + 1))
  fi
fi

if [ "${VKATTN_SKIP_SANITIZERS:-0}" != 1 ]; then
  # libFuzzer over the readers (.npy, .safetensors, model.json, key=value parameters):
  # the seed corpus (and every crash saved into it) first, then 15 s of new inputs each.
  echo "== libFuzzer: 15 s per target" >&2
  summary=$(scripts/fuzz.sh 15 | tail -1)
  p=$(echo "$summary" | awk '{print $1+0}')
  f=$(echo "$summary" | awk '{print $3+0}')
  [ -n "$summary" ] || f=1
  passed=$((passed + p))
  failed=$((failed + f))
fi

# Which reference vectors the oracle tests read (tests/harness.c: test_vectors_dir).
if [ -f "${VKATTN_SHARED_DIR:-../shared}/vectors/index.json" ]; then
  echo "reference vectors: the full set (${VKATTN_SHARED_DIR:-../shared}/vectors)"
else
  echo "reference vectors: the subset bundled in tests/vectors (no ../shared/vectors)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
