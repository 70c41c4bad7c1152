#!/usr/bin/env bash
# examples/c_heat end to end: the sweep's runs read back by the C++ reader (c_readback: params, exact step
# ranges, summary metrics, histograms) and every file checked by `mltrack check` (JSONL and TensorBoard).
#   c_heat.sh C_HEAT READBACK MLTRACK_CLI OUT_DIR
set -euo pipefail
heat=$1 readback=$2 cli=$3 out=$4
steps=120
rm -rf "$out"
"$heat" --out "$out" --steps $steps --n 24
for alpha in 0.05:0.05 0.10:0.1 0.20:0.2; do
    "$readback" "$out/runs/c-heat/alpha-${alpha%:*}" state=COMPLETE param:alpha=${alpha#*:} param:grid=24 param:steps=$steps \
        param:scheme=ftcs param:stable=true tag:solver=heat2d steps:residual=0..$((steps - 1)) \
        steps:energy=0..$((steps - 1)) points:probe/center=$((steps / 10)) histograms:field=1 summary_text:verdict=evolving
done
"$readback" "$out/runs/c-heat/sweep" state=COMPLETE param:values=3 steps:sweep/alpha=0..2 steps:sweep/final_energy=0..2
"$cli" check "$out/runs"
"$cli" check "$out/tb"
"$cli" ls "$out/runs"
