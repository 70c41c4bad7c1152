#!/usr/bin/env bash
# Checks the MLflow sink against a real MLflow tracking server, started here from an MLflow source export
# (MLflow 2.12 runs from source with Debian's Python packages; see docs/mlflow.md, "Checking against a real
# server"), with SQLite and, where PostgreSQL's binaries are installed, PostgreSQL as its store:
#   1. examples/mlflow_quickstart logs live (two runs: params, curves, summary metrics, classification
#      metrics, a model); check.py reads the server back with MLflow's REST reads (runs/search,
#      metrics/get-history, artifacts/list) and with MLflow's Python client (search_runs,
#      get_metric_history, list_artifacts, Model.load), compares with the JSONL copy, and compares the tags
#      with those of a run logged by mlflow.start_run(run_name=...);
#   2. tests/mlflow_real/edge_run logs offline (NaN, infinities, a param changing value, a refused key, a
#      preempted then resumed run); `mltrack sync --to mlflow:URI` sends it, twice (the second sends
#      nothing); check.py compares again;
#   3. with --bench: tests/mlflow_real/bench_mlflow.cpp and bench_python.py against the same server.
# Skipped (exit 0) when no MLflow source is given: CI does not have one.
#   run.sh MLFLOW_SRC [--build DIR] [--keep DIR] [--bench] [--no-postgres]
# MLFLOW_SRC (or $MLFLOW_SRC): a folder holding the mlflow package (and querystring_parser); DIR: a CMake
# build of mltrack with libcurl (default build).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
src=${MLFLOW_SRC:-} build=build keep= bench=0 postgres=1
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        --bench) bench=1; shift ;;
        --no-postgres) postgres=0; shift ;;
        -*) sed -n '2,19p' "$0"; exit 2 ;;
        *) src=$1; shift ;;
    esac
done
if [ -z "$src" ] || [ ! -f "$src/mlflow/__init__.py" ]; then
    echo "tests/mlflow_real: skipped (no MLflow source export given; see docs/mlflow.md)"
    exit 0
fi
src=$(cd "$src" && pwd)
py=/usr/bin/python3
cmake --build "$build" --target mlflow_quickstart mltrack_cli >/dev/null
cmake --build "$build" --target c_heat >/dev/null 2>&1 || true  # the C API (where a C compiler is found)
out=${keep:-$(mktemp -d)}
mkdir -p "$out"
trap 'stop_all; [ -n "$keep" ] || rm -rf "$out"' EXIT
c++ -std=c++17 -O2 -Iinclude tests/mlflow_real/edge_run.cpp -pthread -o "$out/edge_run"
if [ "$bench" = 1 ]; then
    c++ -std=c++17 -O2 -Iinclude tests/mlflow_real/bench_mlflow.cpp -lcurl -lcrypto -pthread -o "$out/bench_mlflow"
fi
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
server_pid= pg_dir=
stop_server() {  # SIGTERM to the gunicorn master (the mlflow command's child), then to the command itself
    if [ -n "$server_pid" ]; then
        local child
        for child in $(pgrep -P "$server_pid" 2>/dev/null || true); do kill -TERM "$child" 2>/dev/null || true; done
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=
}
stop_pg() {
    if [ -n "$pg_dir" ]; then su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/pg_ctl -D '$pg_dir/data' -m fast stop" >/dev/null 2>&1 || true; fi
    pg_dir=
}
stop_all() { stop_server; stop_pg; }
start_server() {  # start_server STORE_URI NAME: sets $uri
    local port; port=$(free_port)
    uri=http://127.0.0.1:$port
    PYTHONPATH=$src "$py" -m mlflow server --backend-store-uri "$1" --artifacts-destination "$out/artifacts-$2" \
        --host 127.0.0.1 --port "$port" >"$out/server-$2.log" 2>&1 &
    server_pid=$!
    local t0=$SECONDS
    until [ "$(curl -s "$uri/health" || true)" = OK ]; do
        if ! kill -0 "$server_pid" 2>/dev/null || [ $((SECONDS - t0)) -gt 240 ]; then
            echo "the MLflow server did not start:"; tail -20 "$out/server-$2.log"; return 1
        fi
        sleep 1
    done
    echo "MLflow $(PYTHONPATH=$src "$py" -c 'import mlflow; print(mlflow.__version__)' 2>/dev/null) server on $uri" \
         "($1), up in $((SECONDS - t0)) s"
}
failed=0
check() { PYTHONPATH=$src "$py" tests/mlflow_real/check.py --uri "$uri" "$@" 2>&1 | grep -v -i "warning" || failed=1; }

run_backend() {  # run_backend NAME STORE_URI
    local name=$1
    echo; echo "======== store: $name"
    start_server "$2" "$name"
    echo "== 1. examples/mlflow_quickstart, live"
    # Run from the repository, as a training script is run from its own: the git commit becomes a tag.
    MLFLOW_TRACKING_URI=$uri "$build/examples/mlflow_quickstart" --out "$out/qs-$name" --steps 1000 \
        --register "mltrack-quickstart-$name" || failed=1
    check --jsonl "$out/qs-$name/runs" --experiment mlflow-quickstart --registered "mltrack-quickstart-$name"
    echo "== 2. an offline run with edge values, then mltrack sync --to mlflow:URI (twice)"
    "$out/edge_run" "$out/edge-$name"
    "$build/bin/mltrack" sync "$out/edge-$name" --to "mlflow:$uri" || failed=1
    "$build/bin/mltrack" sync "$out/edge-$name" --to "mlflow:$uri" || failed=1
    check --jsonl "$out/edge-$name" --experiment mlflow-edge --absent bad@key
    if [ -x "$build/examples/c_heat" ]; then
        echo "== 3. the C API: examples/c_heat with --sink mlflow:URI"
        "$build/examples/c_heat" --out "$out/c-$name" --steps 300 --sink "mlflow:$uri" >/dev/null || failed=1
        check --jsonl "$out/c-$name/runs" --experiment c-heat
    fi
    if [ "$bench" = 1 ]; then
        echo "== 4. bench: mltrack's sink and MLflow's Python client against this server"
        MLFLOW_TRACKING_URI=$uri "$out/bench_mlflow" --seconds 10 --fast 100000 || failed=1
        PYTHONPATH=$src "$py" tests/mlflow_real/bench_python.py --uri "$uri" --points 40000 --single 2000 2>&1 \
            | grep -v -i warning || failed=1
    fi
    stop_server
}

run_backend sqlite "sqlite:///$out/mlflow.sqlite"

if [ "$postgres" = 1 ] && [ -x /usr/lib/postgresql/15/bin/initdb ] && id postgres >/dev/null 2>&1; then
    pg_dir=$(mktemp -d)
    chown postgres "$pg_dir"
    pg_port=$(free_port)
    su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/initdb --auth=trust -D '$pg_dir/data'" >/dev/null
    su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/pg_ctl -D '$pg_dir/data' -l '$pg_dir/log' -w \
        -o '-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1' start" >/dev/null
    su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/createdb -h 127.0.0.1 -p $pg_port mlflow"
    run_backend postgresql "postgresql://postgres@127.0.0.1:$pg_port/mlflow"
    stop_pg
else
    echo; echo "(PostgreSQL not installed, or --no-postgres: SQLite only)"
fi

echo
if [ "$failed" = 0 ]; then echo "tests/mlflow_real: everything matches"; else echo "tests/mlflow_real: MISMATCHES (above)"; fi
exit "$failed"
