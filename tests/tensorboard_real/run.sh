#!/usr/bin/env bash
# Loads what the TensorBoard sink wrote into TensorBoard itself (its Python reader and the dashboards'
# backends, as `tensorboard --load_fast=false` serves them) and compares what each dashboard shows with the
# model of TensorBoard's rules that the CI tests use (tests/support/tb_model.hpp):
#   1. every scenario of tests/support/tb_scenarios.hpp (written by the tb_scenarios tool);
#   2. the examples: quickstart, and hpc_job preempted by SIGTERM then requeued (resumed) to completion.
# Skipped (exit 0) when no TensorBoard is given: it needs a snapshot of tensorflow/tensorboard prepared by
# setup.sh, which CI does not have.
#   run.sh [--tensorboard SRC] [--build DIR] [--keep DIR]
# SRC (or $TENSORBOARD_SRC): the folder setup.sh prepared; DIR: a CMake build of mltrack (default build).
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${TENSORBOARD_SRC:-} build=build keep=
while [ $# -gt 0 ]; do
    case "$1" in
        --tensorboard) src=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        *) sed -n '2,10p' "$0"; exit 2 ;;
    esac
done
if [ -z "$src" ] || [ ! -f "$src/tensorboard/__init__.py" ]; then
    echo "tests/tensorboard_real: skipped (no TensorBoard snapshot; see tests/tensorboard_real/README.md)"
    exit 0
fi
cmake --build "$build" --target tb_scenarios quickstart hpc_job mltrack_cli >/dev/null
out=${keep:-$(mktemp -d)}
mkdir -p "$out"
rm -rf "$out/scenarios" "$out/quickstart" "$out/hpc"
[ -n "$keep" ] || trap 'rm -rf "$out"' EXIT
view() { /usr/bin/python3 tests/tensorboard_real/tb_view.py --tensorboard "$src" "$1"; }
failed=0

echo "== scenarios: TensorBoard itself against the model of its rules"
"$build/tests/tb_scenarios" "$out/scenarios" >/dev/null
for logdir_file in "$out"/scenarios/*.logdir; do
    name=$(basename "$logdir_file" .logdir)
    view "$out/scenarios/$(cat "$logdir_file")" >"$out/scenarios/$name.real.json"
    if python3 tests/tensorboard_real/compare.py "$out/scenarios/$name.model.json" "$out/scenarios/$name.real.json" \
        >"$out/scenarios/$name.diff"; then
        printf '  %-20s same\n' "$name"
    else
        printf '  %-20s DIFFERENT:\n' "$name"
        cat "$out/scenarios/$name.diff"
        failed=1
    fi
done

echo "== examples: what TensorBoard shows"
"$build/examples/quickstart" --out "$out/quickstart" --steps 50 >/dev/null
(   # preempted by SIGTERM at its 40th step, then the requeued job resumes and completes
    "$build/examples/hpc_job" --out "$out/hpc" --steps 100 --signal-at 40 >/dev/null 2>&1 || true
    "$build/examples/hpc_job" --out "$out/hpc" --steps 60 >/dev/null
)
for ex in quickstart hpc; do
    view "$out/$ex/tb" >"$out/$ex.real.json"
    python3 - "$out/$ex.real.json" "$ex" "$out/hpc/runs/hpc-example/hpc-job/events.jsonl" <<'PY' || failed=1
import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8"))
name = sys.argv[2]
bad = list(v["errors"])
for run, r in sorted(v["runs"].items()):
    counts = ", ".join("%s %d" % (t, len(p)) for t, p in sorted(r["scalars"].items()))
    steps = {t: [p[0] for p in pts] for t, pts in r["scalars"].items()}
    dup = [t for t, s in steps.items() if len(s) != len(set(s))]
    if dup:
        bad.append("%s: repeated steps in %s" % (run, dup))
    print("  %s %s: scalars %s; images %d, text %d, pr_curves %d" % (name, run, counts, len(r["images"]), len(r["text"]),
                                                                    len(r["pr_curves"])))
for s, d in sorted(v["hparams"]["sessions"].items()):
    print("  %s HParams %s: %s %s, %d metrics" % (name, s, d["status"], json.dumps(d["hparams"], sort_keys=True),
                                                  len(d["metrics"])))
    if d["status"] != "STATUS_SUCCESS":
        bad.append("%s: status %s" % (s, d["status"]))
if name == "hpc":
    # The killed job logged until SIGTERM took effect; TensorBoard keeps a sample of 1000 points per tag
    # (its reservoir), always with the last one: steps must rise, once each, up to the last step logged.
    loss = [p[0] for p in v["runs"]["hpc-example/hpc-job"]["scalars"]["loss"]]
    logged = sum(1 for l in open(sys.argv[3]) if '"loss"' in l)
    if loss != sorted(set(loss)) or loss[-1] != logged - 1:
        bad.append("hpc loss: %d points shown, steps not rising once each up to %d" % (len(loss), logged - 1))
for b in bad:
    print("  PROBLEM: " + b)
sys.exit(1 if bad else 0)
PY
done

if [ "$failed" = 0 ]; then echo "tests/tensorboard_real: TensorBoard shows what was logged"; fi
exit $failed
