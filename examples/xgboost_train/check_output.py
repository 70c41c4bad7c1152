#!/usr/bin/env python3
"""Runs xgboost_train into a fresh folder and checks what it logged, reading the JSONL file with Python's
json module (not mltrack's reader): params, one point per round per eval metric, the model artifact.

    check_output.py PATH/TO/xgboost_train OUT_DIR
"""
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys

ROUNDS = 20
EARLY_STOPPING = 5
METRICS = ["train/rmse", "train/mae", "valid/rmse", "valid/mae"]


def fail(msg):
    print("check_output.py: FAILED: " + msg, file=sys.stderr)
    sys.exit(1)


def number(v):
    return float(v) if isinstance(v, str) else v  # "NaN", "Infinity" are strings in the file


def main():
    exe, out = sys.argv[1], sys.argv[2]
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run([exe, "--out", out, "--run", "ci", "--rounds", str(ROUNDS), "--rows", "3000"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240)
    print(proc.stdout, end="")
    if proc.returncode != 0:
        fail("xgboost_train exited with %d" % proc.returncode)

    run_dir = os.path.join(out, "runs", "xgboost-train", "ci")
    with open(os.path.join(run_dir, "events.jsonl"), encoding="utf-8") as f:
        text = f.read()
    if not text.endswith("\n"):
        fail("events.jsonl does not end with a newline")
    lines = [json.loads(line) for line in text.splitlines()]
    if lines[0]["kind"] != "run_start" or lines[-1]["kind"] != "run_end":
        fail("the run does not start with run_start and end with run_end")
    if lines[-1]["state"] != "COMPLETE":
        fail("run state %r" % lines[-1]["state"])

    params = {}
    for line in lines:
        if line["kind"] == "params":
            params.update(line["values"])
    expected = {"objective": "reg:squarederror", "max_depth": 4, "eta": 0.2, "eval_metric": "rmse,mae",
                "num_boost_round": ROUNDS, "early_stopping_rounds": EARLY_STOPPING, "data/rows": 3000}
    for k, v in expected.items():
        if params.get(k) != v or type(params.get(k)) is not type(v):
            fail("param %s is %r, expected %r" % (k, params.get(k), v))

    arts = [l for l in lines if l["kind"] == "artifact"]
    if len(arts) != 1:
        fail("%d artifacts, expected 1" % len(arts))
    a = arts[0]
    if a["type"] != "model" or a["framework"] != "xgboost" or not re.fullmatch(r"\d+\.\d+\.\d+", a["framework_version"]):
        fail("model artifact: %r" % a)
    model_file = os.path.join(run_dir, a["path"])
    data = open(model_file, "rb").read()
    if len(data) == 0 or len(data) != a["size"] or hashlib.sha256(data).hexdigest() != a["sha256"]:
        fail("the model file does not match its artifact line (size %d)" % len(data))
    if "learner" not in json.loads(data):
        fail("the model file is not an XGBoost JSON model")
    rounds = a["metadata"]["rounds"]

    series = {}
    for line in lines:
        if line["kind"] == "metrics":
            for k, v in line["values"].items():
                series.setdefault(k, []).append((line["step"], number(v)))
    if sorted(series) != sorted(METRICS):
        fail("metric keys %s, expected %s" % (sorted(series), sorted(METRICS)))
    for k in METRICS:
        steps = [s for s, _ in series[k]]
        if steps != list(range(rounds)):
            fail("%s has steps %s, expected 0..%d" % (k, steps, rounds - 1))
        if not all(math.isfinite(v) and v >= 0 for _, v in series[k]):
            fail("%s has a negative or non-finite value" % k)
    if not series["train/rmse"][-1][1] < series["train/rmse"][0][1]:
        fail("train/rmse did not decrease")

    summary = {}
    for line in lines:
        if line["kind"] == "summary":
            summary.update(line["values"])
    best = summary.get("best_iteration")
    if best is None:
        fail("no best_iteration summary metric")
    valid_mae = [v for _, v in series["valid/mae"]]
    if int(best) != valid_mae.index(min(valid_mae)):
        fail("best_iteration %s is not the round of the smallest valid/mae" % best)
    if rounds != ROUNDS and rounds != int(best) + 1 + EARLY_STOPPING:
        fail("%d rounds: neither all %d nor an early stop after round %d" % (rounds, ROUNDS, best))

    tb = os.path.join(out, "tb", "xgboost-train", "ci")
    if not any(n.startswith("events.out.tfevents.") and os.path.getsize(os.path.join(tb, n)) > 0 for n in os.listdir(tb)):
        fail("no TensorBoard event file")
    print("check_output.py: ok (%d rounds, %d metric keys, model %d bytes)" % (rounds, len(series), len(data)))


if __name__ == "__main__":
    main()
