#!/usr/bin/env bash
# Builds and runs a small consumer program through every packaging route mltrack offers, each in a fresh
# temporary folder (removed afterwards):
#   find_package      `cmake --install --prefix` into a temporary prefix, which is then moved elsewhere (the
#                     installed files must not name the prefix they were installed into); from the moved tree:
#                     find_package(mltrack), pkg-config mltrack and mltrack-compiled, and meson's dependency('mltrack')
#                     by pkg-config
#   meson_install     `meson install` into a prefix, moved elsewhere: pkg-config mltrack (and mltrack-compiled's
#                     library) from the moved tree
#   add_subdirectory  the repository vendored with add_subdirectory (its tests must not be built)
#   meson_subproject  the repository as a meson subproject, through dependency('mltrack') (its tests neither)
#   single_header     only -I single_include plus nlohmann_json (and the Vertex AI single header, if generated);
#                     then the compiled mode: one TU defines MLTRACK_IMPLEMENTATION, the program MLTRACK_COMPILED_LIB
# The CMake and meson routes build the consumer a second time in compiled mode (mltrack::compiled, the
# mltrack-compiled dependency).
# Each consumer logs one run to JSONL and fails unless DIR/consumer-exp/r1/events.jsonl is written.
#
# Usage: tests/consumers/run.sh [--no-meson] [ROUTE...]     (default: all routes)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cxx=${CXX:-c++}
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi

routes=()
with_meson=1
for arg in "$@"; do
    case "$arg" in
        --no-meson) with_meson=0 ;;
        find_package|add_subdirectory|meson_subproject|meson_install|single_header) routes+=("$arg") ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "tests/consumers/run.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done
if [ ${#routes[@]} -eq 0 ]; then
    routes=(find_package add_subdirectory single_header)
    if [ "$with_meson" = 1 ]; then routes+=(meson_subproject meson_install); fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mltrack-consumers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

step() { printf -- '--- consumer %s\n' "$*"; }
fail() { echo "tests/consumers/run.sh: $*" >&2; exit 1; }

# The include dir that `pkg-config --cflags mltrack` gives (PKG_CONFIG_PATH at the .pc file's folder $1),
# with symbolic links and ".." resolved; fails unless it is $2/include.
check_pkg_config_include() {
    local pcdir=$1 prefix=$2 flags inc
    flags=$(PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" pkg-config --cflags mltrack) \
        || fail "pkg-config does not find mltrack in $pcdir"
    # shellcheck disable=SC2086  # the flags are words
    inc=$(printf '%s\n' $flags | sed -n 's/^-I//p' | head -n 1)
    if [ -z "$inc" ] || [ ! -d "$inc" ]; then fail "pkg-config mltrack gives '$flags': no include dir that exists"; fi
    [ "$(cd "$inc" && pwd -P)" = "$(cd "$prefix/include" && pwd -P)" ] \
        || fail "pkg-config mltrack gives '$flags', not $prefix/include"
}

# Fails when a file installed under $1 names the folder $2 (where the tree was installed before being moved).
check_no_install_path() {
    local hits
    hits=$(grep -rlF "$2" "$1" || true)
    [ -z "$hits" ] || fail "installed files name the install folder $2 (not relocatable): $hits"
}

# Runs a consumer binary and checks what it wrote (the program checks too; this guards against a no-op).
run_consumer() {
    local bin=$1 out=$2
    "$bin" "$out" || fail "$bin failed"
    [ -s "$out/consumer-exp/r1/events.jsonl" ] || fail "$out/consumer-exp/r1/events.jsonl is missing or empty"
}

route_find_package() {
    step "find_package: cmake --install --prefix into a temporary prefix, then move the tree"
    # Configured with the default prefix: the prefix given at install time (or a later move) must win.
    local installed="$tmp/install/some/odd/prefix" prefix="$tmp/moved/mltrack"
    cmake -S "$repo" -B "$tmp/fp-lib" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
          -DMLTRACK_BUILD_TESTS=OFF -DMLTRACK_BUILD_EXAMPLES=OFF -DMLTRACK_BUILD_TOOLS=OFF \
          -DMLTRACK_BUILD_BENCH=OFF -DMLTRACK_INSTALL=ON >/dev/null
    cmake --build "$tmp/fp-lib" >/dev/null
    cmake --install "$tmp/fp-lib" --prefix "$installed" >/dev/null
    [ -f "$installed/include/mltrack/mltrack.hpp" ] || fail "install did not put include/mltrack/mltrack.hpp in the prefix"
    mkdir -p "$tmp/moved"
    mv "$installed" "$prefix"
    rm -rf "$tmp/install"
    check_no_install_path "$prefix" "$installed"
    local config
    config=$(find "$prefix" -name mltrackConfig.cmake -print -quit)
    [ -n "$config" ] || fail "install did not write mltrackConfig.cmake"
    [ -n "$(find "$prefix" -name mltrackConfigVersion.cmake -print -quit)" ] || fail "no mltrackConfigVersion.cmake"
    [ -n "$(find "$prefix" -name mltrackTargets.cmake -print -quit)" ] || fail "no mltrackTargets.cmake"

    step "find_package: configure, build and run the consumer (CMAKE_PREFIX_PATH at the moved tree)"
    cmake -S "$here/find_package" -B "$tmp/fp" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/fp.log" \
        || { cat "$tmp/fp.log"; fail "find_package consumer did not configure"; }
    grep -q "found mltrack .* in $prefix" "$tmp/fp.log" || { cat "$tmp/fp.log"; fail "find_package found another mltrack"; }
    cmake --build "$tmp/fp" >/dev/null
    run_consumer "$tmp/fp/consumer" "$tmp/fp-out"
    run_consumer "$tmp/fp/consumer_compiled" "$tmp/fp-compiled-out"
    run_consumer "$tmp/fp/consumer_c" "$tmp/fp-c-out"
    if grep -q "mltrack::fortran is available" "$tmp/fp.log"; then
        run_consumer "$tmp/fp/consumer_f" "$tmp/fp-f-out"
    fi

    step "Makefile: the C API (and the Fortran module) with pkg-config mltrack-c / mltrack-fortran from the moved tree"
    local fortran=""
    if [ -n "$(find "$prefix" -name mltrack-fortran.pc -print -quit)" ] && command -v "${FC:-gfortran}" >/dev/null 2>&1; then
        fortran=consumer_f
    fi
    mkdir -p "$tmp/mk"
    PKG_CONFIG_PATH="$(dirname "$(find "$prefix" -name mltrack-c.pc -print -quit)")" \
        make -s -C "$tmp/mk" -f "$here/makefile/Makefile" FORTRAN="$fortran" >/dev/null \
        || fail "the Makefile consumer did not build"
    run_consumer "$tmp/mk/consumer_c" "$tmp/mk-c-out"
    if [ -n "$fortran" ]; then run_consumer "$tmp/mk/consumer_f" "$tmp/mk-f-out"; fi

    step "pkg-config: compile the consumer with pkg-config mltrack from the moved tree"
    local pc
    pc=$(find "$prefix" -name mltrack.pc -print -quit)
    [ -n "$pc" ] || fail "install did not write mltrack.pc"
    check_pkg_config_include "$(dirname "$pc")" "$prefix"
    local flags
    flags=$(PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" pkg-config --cflags --libs mltrack)
    # shellcheck disable=SC2086  # the flags are words
    "$cxx" -std=c++17 "$here/consumer.cpp" -o "$tmp/pc-consumer" $flags
    run_consumer "$tmp/pc-consumer" "$tmp/pc-out"
    step "pkg-config: the consumer in compiled mode, with pkg-config mltrack-compiled"
    flags=$(PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" pkg-config --cflags --libs mltrack-compiled) \
        || fail "pkg-config does not find mltrack-compiled"
    # shellcheck disable=SC2086  # the flags are words
    "$cxx" -std=c++17 "$here/consumer.cpp" -o "$tmp/pc-consumer-compiled" $flags
    run_consumer "$tmp/pc-consumer-compiled" "$tmp/pc-compiled-out"

    if [ "$with_meson" = 1 ]; then
        # Configure only (the pkg-config build above compiled the same flags): no subprojects/ folder, so
        # dependency('mltrack') can only come from pkg-config.
        step "meson: dependency('mltrack') and dependency('mltrack-compiled') by pkg-config from the moved tree"
        local proj="$tmp/meson-pc"
        mkdir -p "$proj"
        cp "$here/meson_subproject/meson.build" "$here/meson_subproject/meson_options.txt" "$proj/"
        cp "$here/consumer.cpp" "$proj/main.cpp"
        cp "$here/consumer.c" "$proj/consumer.c"
        PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
            meson setup "$proj/build" "$proj" >"$tmp/meson-pc.log" \
            || { cat "$tmp/meson-pc.log"; fail "meson consumer did not find mltrack by pkg-config"; }
        local inc
        inc=$(meson introspect --dependencies "$proj/build" | python3 -c \
            'import json,sys; print(next(a[2:] for d in json.load(sys.stdin) if d["name"] == "mltrack" for a in d["compile_args"] if a.startswith("-I")))') \
            || fail "meson's dependency('mltrack') has no include dir"
        [ "$(cd "$inc" && pwd -P)" = "$(cd "$prefix/include" && pwd -P)" ] \
            || fail "meson's dependency('mltrack') includes $inc, not $prefix/include"
    fi
}

route_add_subdirectory() {
    step "add_subdirectory: configure (checks that no tests are built), build and run"
    cmake -S "$here/add_subdirectory" -B "$tmp/as" "${generator[@]}" -DMLTRACK_SOURCE="$repo" >"$tmp/as.log" \
        || { cat "$tmp/as.log"; fail "add_subdirectory consumer did not configure"; }
    cmake --build "$tmp/as" >/dev/null
    run_consumer "$tmp/as/consumer" "$tmp/as-out"
    run_consumer "$tmp/as/consumer_compiled" "$tmp/as-compiled-out"
    run_consumer "$tmp/as/consumer_c" "$tmp/as-c-out"
}

route_meson_subproject() {
    step "meson subproject: dependency('mltrack') from subprojects/mltrack"
    local proj="$tmp/meson"
    mkdir -p "$proj/subprojects"
    cp "$here/meson_subproject/meson.build" "$here/meson_subproject/meson_options.txt" "$proj/"
    cp "$here/consumer.cpp" "$proj/main.cpp"
    cp "$here/consumer.c" "$proj/consumer.c"
    ln -s "$repo" "$proj/subprojects/mltrack"
    meson setup "$proj/build" "$proj" --force-fallback-for=mltrack >"$tmp/meson.log" \
        || { cat "$tmp/meson.log"; fail "meson consumer did not configure"; }
    # Only the consumers (header-only, compiled, C) and the libraries they use may be build targets:
    # mltrack's tests and examples stay off in a subproject.
    local targets
    targets=$(meson introspect --targets "$proj/build" | python3 -c \
        'import json,sys; print(" ".join(sorted(t["name"] for t in json.load(sys.stdin))))')
    [ "$targets" = "consumer consumer_c consumer_compiled mltrack-c mltrack-compiled" ] \
        || fail "meson subproject builds more than the consumer: $targets"
    meson compile -C "$proj/build" >/dev/null
    run_consumer "$proj/build/consumer" "$tmp/meson-out"
    run_consumer "$proj/build/consumer_compiled" "$tmp/meson-compiled-out"
    run_consumer "$proj/build/consumer_c" "$tmp/meson-c-out"
}

route_meson_install() {
    step "meson install into a temporary prefix, then move the tree: pkg-config mltrack from there"
    local installed="$tmp/meson-install/some/odd/prefix" prefix="$tmp/meson-moved/mltrack"
    meson setup "$tmp/mi" "$repo" -Dtests=false -Dexamples=false --prefix "$installed" >"$tmp/mi.log" \
        || { cat "$tmp/mi.log"; fail "meson setup of mltrack failed"; }
    meson install -C "$tmp/mi" --quiet >/dev/null
    mkdir -p "$tmp/meson-moved"
    mv "$installed" "$prefix"
    rm -rf "$tmp/meson-install"
    check_no_install_path "$prefix" "$installed"
    local pc
    pc=$(find "$prefix" -name mltrack.pc -print -quit)
    [ -n "$pc" ] || fail "meson install did not write mltrack.pc"
    check_pkg_config_include "$(dirname "$pc")" "$prefix"
    local lib
    lib=$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --libs-only-L mltrack-compiled | awk '{ sub(/^-L/, "", $1); print $1 }')
    [ -f "$lib/libmltrack-compiled.a" ] || fail "pkg-config mltrack-compiled gives '-L$lib', no libmltrack-compiled.a there"
    lib=$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --libs-only-L mltrack-c | awk '{ sub(/^-L/, "", $1); print $1 }')
    [ -f "$lib/libmltrack-c.so" ] || fail "pkg-config mltrack-c gives '-L$lib', no libmltrack-c.so there"
    if command -v gfortran >/dev/null 2>&1; then  # the Fortran module's .mod, where its Cflags look
        local inc
        inc=$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --cflags-only-I mltrack-fortran | awk '{ sub(/^-I/, "", $1); print $1 }')
        [ -f "$inc/mltrack.mod" ] || fail "pkg-config mltrack-fortran gives '-I$inc', no mltrack.mod there"
    fi
}

route_single_header() {
    step "single header: -I single_include only"
    [ -f "$repo/single_include/mltrack/mltrack.hpp" ] || fail "single_include/mltrack/mltrack.hpp is missing"
    "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror -I "$repo/single_include" \
        "$here/consumer.cpp" -o "$tmp/single" -pthread
    run_consumer "$tmp/single" "$tmp/single-out"
    step "single header, compiled mode: one implementation TU, the program's TU with MLTRACK_COMPILED_LIB"
    printf '#define MLTRACK_IMPLEMENTATION\n#include <mltrack/mltrack.hpp>\n' >"$tmp/implementation.cpp"
    "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror -I "$repo/single_include" \
        -c "$tmp/implementation.cpp" -o "$tmp/implementation.o"
    "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror -I "$repo/single_include" -DMLTRACK_COMPILED_LIB \
        -c "$here/consumer.cpp" -o "$tmp/single_compiled.o"
    "$cxx" "$tmp/single_compiled.o" "$tmp/implementation.o" -o "$tmp/single_compiled" -pthread
    run_consumer "$tmp/single_compiled" "$tmp/single-compiled-out"
    if [ -f "$repo/single_include/mltrack/mltrack_vertex_ai.hpp" ]; then
        step "single header: mltrack_vertex_ai.hpp with mltrack.hpp, in both orders"
        printf '#include <mltrack/mltrack_vertex_ai.hpp>\n#include <mltrack/mltrack.hpp>\nint main() { return 0; }\n' \
            >"$tmp/vertex_first.cpp"
        printf '#include <mltrack/mltrack.hpp>\n#include <mltrack/mltrack_vertex_ai.hpp>\nint main() { return 0; }\n' \
            >"$tmp/vertex_second.cpp"
        local f
        for f in vertex_first vertex_second; do
            "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I "$repo/single_include" "$tmp/$f.cpp"
        done
    fi
    if [ -f "$repo/single_include/mltrack/mltrack_mlflow.hpp" ]; then
        step "single header: mltrack_mlflow.hpp with mltrack_vertex_ai.hpp and mltrack.hpp, in any order"
        printf '#include <mltrack/mltrack_mlflow.hpp>
#include <mltrack/mltrack_vertex_ai.hpp>
#include <mltrack/mltrack.hpp>
int main() { mltrack::sinks::mlflow_options o; (void)o; return 0; }
' \
            >"$tmp/mlflow_first.cpp"
        printf '#include <mltrack/mltrack.hpp>
#include <mltrack/mltrack_vertex_ai.hpp>
#include <mltrack/mltrack_mlflow.hpp>
int main() { mltrack::sinks::mlflow_options o; (void)o; return 0; }
' \
            >"$tmp/mlflow_last.cpp"
        for f in mlflow_first mlflow_last; do
            "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I "$repo/single_include" "$tmp/$f.cpp"
        done
    fi
}

for route in "${routes[@]}"; do
    "route_$route"
done
echo "tests/consumers/run.sh: passed (${routes[*]})"
