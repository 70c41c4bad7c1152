#!/usr/bin/env bash
# Builds and runs the four consumer projects against this checkout: an installed package found with
# find_package, add_subdirectory, a meson subproject, and the single header alone (plus nlohmann).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "-- consumer: find_package (install into a temporary prefix)"
cmake -S "$src" -B "$work/lib" -G Ninja -DMLTRACK_BUILD_TESTS=OFF -DMLTRACK_BUILD_EXAMPLES=OFF \
      -DMLTRACK_BUILD_TOOLS=OFF -DMLTRACK_BUILD_BENCH=OFF -DMLTRACK_INSTALL=ON -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --install "$work/lib" >/dev/null
cmake -S "$here/find_package" -B "$work/fp" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/fp" >/dev/null
"$work/fp/consumer" "$work/out-fp"
test -f "$work/prefix/share/pkgconfig/mltrack.pc"
PKG_CONFIG_PATH="$work/prefix/share/pkgconfig" pkg-config --cflags mltrack >/dev/null

echo "-- consumer: add_subdirectory"
cmake -S "$here/add_subdirectory" -B "$work/as" -G Ninja -DMLTRACK_SOURCE="$src" >/dev/null
cmake --build "$work/as" >/dev/null
"$work/as/consumer" "$work/out-as"

echo "-- consumer: meson subproject"
cp -r "$here/meson_subproject" "$work/ms"
cp "$here/main.cpp" "$work/main.cpp"
mkdir -p "$work/ms/subprojects"
ln -s "$src" "$work/ms/subprojects/mltrack"
meson setup "$work/ms/build" "$work/ms" >/dev/null
meson compile -C "$work/ms/build" >/dev/null
"$work/ms/build/consumer" "$work/out-ms"

echo "-- consumer: single header"
${CXX:-c++} -std=c++17 -Wall -Wextra -Werror -I "$src/single_include" "$here/main.cpp" -pthread -o "$work/sh"
"$work/sh" "$work/out-sh"

echo "consumers: all four built and ran"
