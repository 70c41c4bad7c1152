#!/usr/bin/env bash
# valgrind memcheck on the examples, built without sanitizers (build-valgrind/, Debug):
#   examples/quickstart (JSONL + TensorBoard sinks, writer thread, read back), then `mltrack check` and
#   `mltrack ls` on what it wrote, then examples/vertex_quickstart against the fake Vertex AI service on
#   loopback (libcurl, the sink's engine, token handling) when libcurl is there.
# Any memcheck error or definite/possible leak fails the script (--error-exitcode=1 --leak-check=full).
#   tests/valgrind/run.sh [--steps N]     (default 40 steps: valgrind runs the code ~20-50x slower)
# Environment: MLTRACK_VALGRIND_DIR (default build-valgrind), MLTRACK_JOBS.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/deps.sh
steps=40
[ "${1:-}" = --steps ] && steps=$2
mltrack_need_packages valgrind g++ cmake ninja-build
dir=${MLTRACK_VALGRIND_DIR:-build-valgrind}
jobs=${MLTRACK_JOBS:-$(nproc 2>/dev/null || echo 2)}
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMLTRACK_BUILD_EXAMPLES=ON -DMLTRACK_BUILD_TOOLS=ON \
      -DMLTRACK_BUILD_TESTS=OFF -DMLTRACK_BUILD_BENCH=OFF -DMLTRACK_SANITIZE= >/dev/null
targets=(quickstart mltrack_cli)
grep -q '^build vertex_quickstart:' "$dir/build.ninja" && targets+=(vertex_quickstart)
cmake --build "$dir" -j "$jobs" --target "${targets[@]}"

out=$(mktemp -d)
trap 'rm -rf "$out"; [ -n "${fake:-}" ] && kill "$fake" 2>/dev/null; true' EXIT
vg=(valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible
    --show-leak-kinds=definite,possible --track-origins=yes)
cli=$dir/bin/mltrack

echo "==> valgrind: quickstart --steps $steps"
"${vg[@]}" "$dir/examples/quickstart" --out "$out/quickstart" --steps "$steps" >"$out/quickstart.txt"
tail -3 "$out/quickstart.txt"
echo "==> valgrind: mltrack check / ls"
"${vg[@]}" "$cli" check "$out/quickstart/runs" >/dev/null
"${vg[@]}" "$cli" ls "$out/quickstart/runs" >/dev/null

if [ -x "$dir/examples/vertex_quickstart" ]; then
    echo "==> valgrind: vertex_quickstart against the fake service"
    python3 tests/vertex/fake_vertex.py --port 0 >"$out/port" &
    fake=$!
    for _ in $(seq 100); do [ -s "$out/port" ] && break; sleep 0.1; done
    url="http://127.0.0.1:$(head -1 "$out/port")"
    MLTRACK_VERTEX_ENDPOINT=$url MLTRACK_GCS_ENDPOINT=$url GOOGLE_OAUTH_ACCESS_TOKEN=test-token HOME="$out" \
        "${vg[@]}" "$dir/examples/vertex_quickstart" --out "$out/vertex" --steps "$steps" --project test-project \
        --location us-central1 --staging gs://staging-bucket/mltrack >"$out/vertex.txt"
    tail -3 "$out/vertex.txt"
fi
echo "tests/valgrind/run.sh: no memcheck errors, no leaks"
