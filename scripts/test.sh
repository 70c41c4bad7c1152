#!/usr/bin/env bash
# Builds mltrack and runs every test: the CMake build with -Werror and ctest, the meson build and its tests,
# the single-header check, the consumer projects, and the suite under ASan+UBSan and under TSan.
#   scripts/test.sh           everything
#   scripts/test.sh --quick   the CMake build and ctest only
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh

quick=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
        *) echo "scripts/test.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

mltrack_need_packages "${MLTRACK_BUILD_PACKAGES[@]}" "${MLTRACK_TEST_PACKAGES[@]}"
jobs=${MLTRACK_JOBS:-$(nproc 2>/dev/null || echo 2)}
banner() { printf '\n==== %s ====\n' "$*"; }

banner "single header is up to date"
python3 tools/amalgamate.py --check

banner "CMake build (-Werror) and ctest"
build=${MLTRACK_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMLTRACK_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"

if [ "$quick" = 1 ]; then
    echo "scripts/test.sh --quick: passed"
    exit 0
fi

banner "consumer projects (find_package, add_subdirectory, meson subproject, single header)"
bash tests/consumers/run.sh

banner "meson build and meson test"
rm -rf build-meson
meson setup build-meson -Dwerror=true >/dev/null
meson test -C build-meson --print-errorlogs --num-processes "$jobs"

for san in "address,undefined" "thread"; do
    dir="build-${san%%,*}"
    banner "sanitizers: $san"
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMLTRACK_WARNINGS_AS_ERRORS=ON \
          -DMLTRACK_SANITIZE="$san" -DMLTRACK_BUILD_EXAMPLES=ON -DMLTRACK_BUILD_TOOLS=ON -DMLTRACK_BUILD_BENCH=OFF >/dev/null
    cmake --build "$dir" -j "$jobs"
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        ctest --test-dir "$dir" --output-on-failure -j "$jobs"
done

echo
echo "scripts/test.sh: all passed"
