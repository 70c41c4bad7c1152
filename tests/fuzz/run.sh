#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined) and runs each for SECONDS
# (default 20) from its seed corpus in tests/fuzz/corpus/<target>/. New inputs go to build-fuzz/corpus/
# (never into the repository); a crash, a sanitizer report or a timeout is written to build-fuzz/findings/
# and fails the script. Prints the executions per target.
#   tests/fuzz/run.sh          CI: 20 s per target
#   tests/fuzz/run.sh 600      the longer run (docs/reliability.md)
# Environment: MLTRACK_FUZZ_DIR (default build-fuzz), CLANGXX (default clang++).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/deps.sh
seconds=${1:-20}
mltrack_need_packages clang libclang-rt-14-dev nlohmann-json3-dev libcurl4-openssl-dev libssl-dev
cxx=${CLANGXX:-clang++}
out=${MLTRACK_FUZZ_DIR:-build-fuzz}
rm -rf "$out/findings"  # findings of an earlier run were reported then; the corpus is kept
mkdir -p "$out/findings"
targets=(jsonl_reader fast_metrics_line tensorboard_check vertex_response names)
flags=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Iinclude -Itools/mltrack -Itests)
jobs=${MLTRACK_JOBS:-$(nproc 2>/dev/null || echo 2)}
throttle() { while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 0.2; done; }
for t in "${targets[@]}"; do
    if [ ! "$out/fuzz_$t" -nt "tests/fuzz/fuzz_$t.cpp" ] || [ -n "$(find include tools/mltrack -newer "$out/fuzz_$t" -name '*.hpp' | head -1)" ]; then
        echo "==> building fuzz_$t"
        libs=()
        [ "$t" = vertex_response ] && libs=(-lcurl -lcrypto)
        rm -f "$out/fuzz_$t"
        throttle
        "$cxx" "${flags[@]}" "tests/fuzz/fuzz_$t.cpp" -o "$out/fuzz_$t" "${libs[@]}" &
    fi
done
wait_all() { local rc=0 p; for p in $(jobs -rp); do wait "$p" || rc=1; done; return $rc; }
wait_all || { echo "tests/fuzz/run.sh: a target did not build" >&2; exit 1; }
for t in "${targets[@]}"; do [ -x "$out/fuzz_$t" ] || { echo "tests/fuzz/run.sh: fuzz_$t did not build" >&2; exit 1; }; done
# Targets run side by side, one per CPU (each libFuzzer process is single-threaded).
fuzz_one() {
    local t=$1
    mkdir -p "$out/corpus/$t" "$out/findings/$t"
    local rc=0
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    TMPDIR="$out" "$out/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/findings/$t/" "$out/corpus/$t" "tests/fuzz/corpus/$t" >"$out/fuzz_$t.log" 2>&1 || rc=$?
    echo "$rc" >"$out/fuzz_$t.rc"
}
for t in "${targets[@]}"; do
    throttle
    fuzz_one "$t" &
done
wait
failed=0
for t in "${targets[@]}"; do
    log="$out/fuzz_$t.log"
    rc=$(cat "$out/fuzz_$t.rc" 2>/dev/null || echo 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    found=$(find "$out/findings/$t" -type f | wc -l)
    printf '%-18s %10s executions in %s s, corpus %s inputs, findings %s\n' "$t" "${execs:-?}" "$seconds" \
        "$(find "$out/corpus/$t" -type f | wc -l)" "$found"
    if [ "$rc" != 0 ] || [ "$found" != 0 ]; then
        failed=1
        grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log" | head -20 >&2 || true
    fi
done
[ "$failed" = 0 ] || { echo "tests/fuzz/run.sh: findings (see $out/findings/, $out/fuzz_*.log)" >&2; exit 1; }
