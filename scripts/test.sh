#!/usr/bin/env bash
# Builds mltrack and runs every test: the single-header check, the CMake build with -Werror and ctest, the
# consumer projects, the meson build and its tests, and the suite under ASan+UBSan (in compiled mode) and TSan.
#   scripts/test.sh           everything (what CI runs, through .ci/run)
#   scripts/test.sh --quick   no sanitizers and no meson: single header, CMake + ctest, CMake consumers
# Missing Debian packages are installed when run as root (else the apt-get line is printed).
# Environment: MLTRACK_BUILD_DIR (default build), MLTRACK_JOBS (default: number of CPUs), CXX (the main
# CMake build), MLTRACK_CLANG (default clang++: the meson and sanitizer builds, which it compiles in about
# half GCC's time, and which so also check that mltrack builds warning-free with Clang).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh

quick=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "scripts/test.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

mltrack_need_packages "${MLTRACK_BUILD_PACKAGES[@]}" "${MLTRACK_TEST_PACKAGES[@]}"
if [ "$quick" = 0 ]; then
    mltrack_need_packages "${MLTRACK_AUTOLOG_PACKAGES[@]}"   # XGBoost adapter test, framework examples
fi
jobs=${MLTRACK_JOBS:-$(nproc 2>/dev/null || echo 2)}
clang=${MLTRACK_CLANG:-clang++}
command -v "$clang" >/dev/null 2>&1 || clang=${CXX:-c++}
banner() { printf '\n==== %s ==== (at %d s)\n' "$*" "$((SECONDS - started))"; }
started=$SECONDS

# The unit tests a build registered (names only), to compare the CMake and meson builds.
unit_tests_ctest() { ctest --test-dir "$1" -N | sed -n 's/^ *Test *#[0-9]*: \(test_[A-Za-z0-9_]*\)$/\1/p' | sort; }
unit_tests_meson() { meson test -C "$1" --list 2>/dev/null | sed -n 's/^\(mltrack:\)\{0,1\}\(test_[A-Za-z0-9_]*\)$/\2/p' | sort; }

banner "single header is up to date"
python3 tools/amalgamate.py --check

banner "CMake build (Debug, -Werror) and ctest"
build=${MLTRACK_BUILD_DIR:-build}
# -g1 (line tables, no variables): failures still print file:line, and GCC compiles ~20% faster than with -g.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DMLTRACK_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"

if [ "$quick" = 1 ]; then
    banner "consumer projects (moved install: find_package + pkg-config; add_subdirectory, single header; no meson)"
    bash tests/consumers/run.sh --no-meson
    echo
    echo "scripts/test.sh --quick: passed in $((SECONDS - started)) s (sanitizers and meson skipped)"
    exit 0
fi

banner "consumer projects (moved installs: find_package + pkg-config + meson; add_subdirectory, meson subproject, single header)"
bash tests/consumers/run.sh

banner "meson build ($clang, -Werror) and meson test"
if [ -d build-meson/meson-private ]; then
    meson setup --reconfigure build-meson -Dwerror=true >/dev/null   # picks up new test files
else
    rm -rf build-meson
    CXX="$clang" meson setup build-meson -Dwerror=true >/dev/null
fi
meson compile -C build-meson -j "$jobs"
meson test -C build-meson --print-errorlogs --num-processes "$jobs"
# Every unit test ctest runs, meson runs too (but the CLI's tests, which need the CMake-built command).
if ! diff <(unit_tests_ctest "$build" | grep -v '^test_cli') <(unit_tests_meson build-meson); then
    echo "scripts/test.sh: ctest (<) and meson test (>) run different unit tests" >&2
    exit 1
fi

banner "benchmark guard (Release): fails only when a ratio to a baseline run in the same process collapses"
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLTRACK_BUILD_TESTS=OFF -DMLTRACK_BUILD_EXAMPLES=OFF \
      -DMLTRACK_BUILD_TOOLS=OFF -DMLTRACK_BUILD_BENCH=ON >/dev/null
cmake --build build-bench --target bench_hot_path -j "$jobs"
build-bench/bench/bench_hot_path --guard

banner "crash test: SIGKILL at random moments, ${MLTRACK_CRASH_TRIALS:-8} trials per sink (tests/crash/)"
"$build/tests/crash_kill"

banner "fuzzing: each libFuzzer target for ${MLTRACK_FUZZ_SECONDS:-20} s (tests/fuzz/run.sh)"
bash tests/fuzz/run.sh "${MLTRACK_FUZZ_SECONDS:-20}"

banner "valgrind memcheck on the examples (tests/valgrind/run.sh)"
bash tests/valgrind/run.sh

# TSan needs its fixed memory layout; with high mmap entropy (vm.mmap_rnd_bits > 28) some kernels break it.
# Then the tests run with address randomization off for that process tree (setarch -R).
tsan_runner=()
tsan_probe() {
    local dir
    dir=$(mktemp -d)
    printf '#include <thread>\nint main() { std::thread t([] {}); t.join(); }\n' >"$dir/probe.cpp"
    if "$clang" -fsanitize=thread -pthread "$dir/probe.cpp" -o "$dir/probe" 2>/dev/null; then
        if ! "$dir/probe" >/dev/null 2>&1 && setarch "$(uname -m)" -R "$dir/probe" >/dev/null 2>&1; then
            echo "TSan needs address randomization off here: running the TSan suite under setarch -R"
            tsan_runner=(setarch "$(uname -m)" -R)
        fi
    fi
    rm -rf "$dir"
}

# The ASan+UBSan build links the suite against mltrack::compiled (the compiled mode, detail/compiled.hpp);
# every other build uses the header-only default: both modes are tested on every run at no extra build.
for san in "address,undefined" "thread"; do
    case "$san" in
        thread) dir=build-tsan; mode=OFF; tsan_probe ;;
        *) dir=build-asan; mode=ON ;;
    esac
    banner "sanitizers: $san ($dir/, $clang, compiled mode $mode)"
    CXX="$clang" cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMLTRACK_WARNINGS_AS_ERRORS=ON \
          -DMLTRACK_TESTS_COMPILED="$mode" -DMLTRACK_SANITIZE="$san" -DMLTRACK_BUILD_EXAMPLES=ON -DMLTRACK_BUILD_TOOLS=ON -DMLTRACK_BUILD_BENCH=OFF \
          -DMLTRACK_BUILD_TORCH_EXAMPLE=OFF >/dev/null
    cmake --build "$dir" -j "$jobs"
    runner=()
    [ "$san" = thread ] && runner=("${tsan_runner[@]}")
    # die_after_fork=0: the fork tests start threads in a forked child on purpose (Clang's TSan refuses that
    # by default).
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:die_after_fork=0 \
        "${runner[@]}" ctest --test-dir "$dir" --output-on-failure -j "$jobs"
done

echo
echo "scripts/test.sh: all passed in $((SECONDS - started)) s"
