#!/usr/bin/env bash
# Builds and runs the quickstart: a small simulated training sweep logged to ./mltrack-out/ (JSONL, plus
# TensorBoard files when that sink is built), then prints what it reads back. Arguments go to the example
# (--out DIR, --steps N).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
mltrack_need_packages "${MLTRACK_BUILD_PACKAGES[@]}"

build=${MLTRACK_DEMO_BUILD_DIR:-build-demo}
echo "==> building examples/quickstart in $build/"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLTRACK_BUILD_TESTS=OFF -DMLTRACK_BUILD_TOOLS=OFF \
      -DMLTRACK_BUILD_BENCH=OFF -DMLTRACK_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target quickstart
# --out ./mltrack-out first: an --out among the user's arguments comes later and wins.
echo "==> running $build/examples/quickstart --out ./mltrack-out $*"
exec "$build/examples/quickstart" --out ./mltrack-out "$@"
