#!/bin/bash
# make fuzz: builds the libFuzzer targets (clang-14, ASan + UBSan) in build-fuzz/ and runs each for
# FUZZ_SECONDS seconds (default 60), JOBS at a time. New inputs go to build-fuzz/corpus/<target>/
# (the committed seeds in fuzz/corpus/ are read, never written); a finding is saved as
# build-fuzz/findings/<target>-crash-* and makes the script fail. Prints executions per target.
# Usage: scripts/fuzz.sh [target...]        (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
JOBS=${JOBS:-$(nproc)}
scripts/install-deps.sh --fuzz
if [ ! -f "$FUZZ_BUILD/CMakeCache.txt" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$FUZZ_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DJEFFREYS_FUZZ=ON \
    -DJEFFREYS_BUILD_TESTS=OFF -DJEFFREYS_BUILD_BENCH=OFF >/dev/null
fi
TARGETS=${*:-$(for f in fuzz/targets/*.cpp; do basename "$f" .cpp; done)}
cmake --build "$FUZZ_BUILD" -j "$JOBS" --target $(for t in $TARGETS; do printf 'fuzz_%s ' "$t"; done)
mkdir -p "$FUZZ_BUILD/findings" "$FUZZ_BUILD/logs"
run_one() {
  t=$1
  mkdir -p "$FUZZ_BUILD/corpus/$t"
  # Checkpoints and images are larger than libFuzzer's default 4 KiB inputs.
  case $t in checkpoint) len=65536 ;; png|idx) len=16384 ;; *) len=8192 ;; esac
  # LibTorch's own archive reader (libtorch_cpu, not instrumented) leaks about 1.4 KB on some
  # malformed checkpoints (found by this target); leaks are checked for every other target.
  leaks=1
  if [ "$t" = checkpoint ]; then leaks=0; fi
  OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=$leaks "$FUZZ_BUILD/fuzz/fuzz_$t" \
    -max_total_time="$FUZZ_SECONDS" -max_len=$len -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$FUZZ_BUILD/findings/$t-" "$FUZZ_BUILD/corpus/$t" "fuzz/corpus/$t" \
    >"$FUZZ_BUILD/logs/$t.log" 2>&1
}
status=0
running=0
pids=""
for t in $TARGETS; do
  run_one "$t" &
  pids="$pids $!:$t"
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true
printf '%-14s %12s %10s %8s  %s\n' target executions exec/s corpus finding
for t in $TARGETS; do
  log="$FUZZ_BUILD/logs/$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  files=$(find "$FUZZ_BUILD/corpus/$t" -type f | wc -l)
  finding=none
  if ls "$FUZZ_BUILD/findings/$t-"* >/dev/null 2>&1; then
    finding=$(ls "$FUZZ_BUILD/findings/$t-"* | head -1)
    status=1
  elif [ -z "$execs" ]; then
    finding="did not finish: see $log"
    status=1
  fi
  printf '%-14s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$files" "$finding"
done
exit $status
