#!/usr/bin/env bash
# Builds mltrack's benchmarks in Release and prints one table: each figure for mltrack, for each baseline run
# in the same process (fprintf, nlohmann::json per line, spdlog's async logger) and how many times better
# mltrack is. docs/performance.md explains every figure and holds the latest table.
#   bench/run.sh           full: 10 M points per throughput figure, 100 M points for memory, 3 compile
#                          timings each (header-only and compiled mode), Google Benchmark micro figures
#                          (rings, clocks), the TensorBoard sink
#   bench/run.sh --quick   under two minutes; ends with one machine-readable line:
#                          hot_path_ns=<x> jsonl_mpts=<y> tensorboard_mpts=<z> rss_mib=<w> close_ms=<v>
# Environment: MLTRACK_BENCH_BUILD_DIR (default build-bench), CXX.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh

quick=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "bench/run.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

mltrack_need_packages "${MLTRACK_BUILD_PACKAGES[@]}" libbenchmark-dev libspdlog-dev
build=${MLTRACK_BENCH_BUILD_DIR:-build-bench}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLTRACK_BUILD_TESTS=OFF -DMLTRACK_BUILD_EXAMPLES=OFF \
      -DMLTRACK_BUILD_TOOLS=OFF -DMLTRACK_BUILD_BENCH=ON >/dev/null
targets=(bench_hot_path bench_queue bench_quiet bench_reader bench_c_api)
[ "$quick" = 0 ] && targets+=(bench_tensorboard)
cmake --build "$build" --target "${targets[@]}" >/dev/null

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) CPUs," \
     "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(${CXX:-c++} --version | head -1)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- compile time of one translation unit (-O2 -std=c++17)
# The baseline includes only nlohmann/json.hpp and builds one json. "train" is a typical training TU: it
# includes mltrack.hpp, starts a run with the JSONL and TensorBoard sinks and logs params and metrics; it is
# compiled header-only (the default) and in compiled mode (-DMLTRACK_COMPILED_LIB, the bodies in
# mltrack::compiled), whose one-off cost is the implementation TU, src/mltrack.cpp.
cxx=${CXX:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include <nlohmann/json.hpp>\nint main() { nlohmann::json j; j["a"] = 1; return j.size() == 1 ? 0 : 1; }\n' >"$tmp/nlohmann.cpp"
printf '#include <nlohmann/json.hpp>\n#include <mltrack/fwd.hpp>\nint main() { nlohmann::json j; j["a"] = 1; return j.size() == 1 ? 0 : 1; }\n' >"$tmp/fwd.cpp"
printf '#include <nlohmann/json.hpp>\n#include <mltrack/mltrack.hpp>\nint main() { nlohmann::json j; j["a"] = 1; mltrack::config c{"e"}; return j.size() == 1 && c.queue_capacity ? 0 : 1; }\n' >"$tmp/mltrack.cpp"
cat >"$tmp/train.cpp" <<'TU'
#include <mltrack/mltrack.hpp>
int main(int argc, char**) {
    mltrack::tracker t{{"exp"}, mltrack::sinks::jsonl{"out"}, mltrack::sinks::tensorboard{"tb"}};
    auto run = t.start_run("r1");
    run.log_params({{"lr", 0.1}, {"batch", 32}, {"optimizer", "adam"}});
    auto loss = run.metric("train/loss");
    for (int step = 0; step < 100 * argc; ++step) loss.log(1.0 / (step + 1), step);
    run.log_summary({{"best_loss", 0.01}});
    run.end();
}
TU
# "log" is a module of a training code that logs into a run made elsewhere (the program's one tracker is
# made in another TU): it includes only mltrack/run.hpp, as most of a big code's TUs that log would.
cat >"$tmp/log.cpp" <<'TU'
#include <mltrack/run.hpp>
void train_epoch(mltrack::run& run, int epoch, int steps) {
    run.log_params({{"epoch_steps", steps}});
    auto loss = run.metric("train/loss");
    for (int step = 0; step < steps; ++step) loss.log(1.0 / (step + 1), epoch * steps + step);
    run.log_summary({{"last_epoch", epoch}});
}
TU
cp src/mltrack.cpp "$tmp/implementation.cpp"
reps=3
[ "$quick" = 1 ] && reps=1
# CPU seconds (user + sys) of the compiler, less sensitive to other load than wall time; the TUs are
# compiled in turn, best of $reps each. cpu_s NAME [FLAGS...]
cpu_s() {
    local t name=$1
    shift
    t=$( { TIMEFORMAT='%U %S'; time "$cxx" -std=c++17 -O2 -Iinclude "$@" -c "$tmp/$name.cpp" -o "$tmp/$name.o" >/dev/null 2>&1; } 2>&1 )
    awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.2f", a[1] + a[2] }'
}
c_nl=""; c_fwd=""; c_ml=""; c_train=""; c_train_c=""; c_log=""; c_log_c=""; c_impl=""
best() { if [ -z "$1" ] || awk "BEGIN {exit !($2 < $1)}"; then echo "$2"; else echo "$1"; fi; }
for _ in $(seq "$reps"); do
    c_nl=$(best "$c_nl" "$(cpu_s nlohmann)")
    c_fwd=$(best "$c_fwd" "$(cpu_s fwd)")
    c_ml=$(best "$c_ml" "$(cpu_s mltrack)")
    c_train=$(best "$c_train" "$(cpu_s train)")
    c_train_c=$(best "$c_train_c" "$(cpu_s train -DMLTRACK_COMPILED_LIB)")
    c_log=$(best "$c_log" "$(cpu_s log)")
    c_log_c=$(best "$c_log_c" "$(cpu_s log -DMLTRACK_COMPILED_LIB)")
    c_impl=$(best "$c_impl" "$(cpu_s implementation)")
done

# ---- the whole-program driver (its table, then the machine-readable line)
args=()
[ "$quick" = 1 ] && args+=(--quick)
out=$("$build/bench/bench_hot_path" "${args[@]}")
echo
echo "$out" | grep -v '^hot_path_ns='
awk -v ml="$c_ml" -v fwd="$c_fwd" -v nl="$c_nl" -v tr="$c_train" -v trc="$c_train_c" -v lg="$c_log" -v lgc="$c_log_c" \
    -v impl="$c_impl" 'BEGIN {
    printf "%-40s %10.2f %10s %10.2f %10s   %6s / %6.2f / %6s   (%.2fx nlohmann)\n",
           "compile CPU s, TU with mltrack.hpp", ml, "-", nl, "-", "-", nl / ml, "-", ml / nl
    printf "%-40s %10.2f %10s %10.2f %10s   %6s / %6.2f / %6s\n",
           "compile CPU s, TU with fwd.hpp", fwd, "-", nl, "-", "-", nl / fwd, "-"
    printf "%-40s %10.2f %10s %10.2f %10s   %6s / %6.2f / %6s   (%.2fx nlohmann; target <= 2.0x)\n",
           "compile CPU s, training TU, header-only", tr, "-", nl, "-", "-", nl / tr, "-", tr / nl
    printf "%-40s %10.2f %10s %10.2f %10s   %6s / %6.2f / %6s   (%.2fx nlohmann; target <= 1.25x)\n",
           "compile CPU s, training TU, compiled", trc, "-", nl, "-", "-", nl / trc, "-", trc / nl
    printf "%-40s %10.2f %10s %10.2f %10s   %6s / %6.2f / %6s   (%.2fx nlohmann)\n",
           "compile CPU s, logging TU, header-only", lg, "-", nl, "-", "-", nl / lg, "-", lg / nl
    printf "%-40s %10.2f %10s %10.2f %10s   %6s / %6.2f / %6s   (%.2fx nlohmann; target <= 1.25x)\n",
           "compile CPU s, logging TU, compiled", lgc, "-", nl, "-", "-", nl / lgc, "-", lgc / nl
    printf "%-40s %10.2f %10s %10s %10s   (once per build: src/mltrack.cpp)\n",
           "compile CPU s, implementation TU", impl, "-", "-", "-"
}'

# ---- micro figures (Google Benchmark): rings, clocks, caller cost with a discarding sink
echo
if [ "$quick" = 1 ]; then
    "$build/bench/bench_queue" --benchmark_min_time=0.05 --benchmark_filter='uncontended|clock|log_' 2>/dev/null | sed -n '/^BM_/p'
else
    "$build/bench/bench_queue" --benchmark_min_time=0.5 --benchmark_repetitions=3 \
        --benchmark_report_aggregates_only=true 2>/dev/null | sed -n '/^BM_.*_median/p'
    echo
    "$build/bench/bench_tensorboard"
fi
# ---- a quiet writer: idle wake-ups and CPU, overhead in a compute loop, start and close (bench/bench_quiet.cpp),
# each against its baseline in the same run; the full run repeats it with two busy background threads
echo
if [ "$quick" = 1 ]; then
    "$build/bench/bench_quiet" --quick | grep -v '^idle_wakeups_per_s='
else
    "$build/bench/bench_quiet" | grep -v '^idle_wakeups_per_s='
    echo
    "$build/bench/bench_quiet" --busy | grep -v '^idle_wakeups_per_s='
fi
# ---- the C API and the Fortran module against C++: ns per point through a metric handle (bench/bench_c_api.cpp)
echo
if [ "$quick" = 1 ]; then
    "$build/bench/bench_c_api" --samples 50000 | grep -v '^cxx_ns='
else
    "$build/bench/bench_c_api" | grep -v '^cxx_ns='
fi
# ---- the readers over one long run (bench/bench_reader.cpp): parse speed against Python's json.loads loop,
# sync to TensorBoard, and the peak memory of sync, check and export
echo
if [ "$quick" = 1 ]; then
    "$build/bench/bench_reader" --points 1000000 | grep -v '^reader_parse_x_python='
else
    "$build/bench/bench_reader" | grep -v '^reader_parse_x_python='
fi
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$out" | grep '^hot_path_ns='
