#!/usr/bin/env python3
"""Runs libtorch_train into a fresh folder with a few steps and checks what it logged, reading the JSONL
file with Python's json module (not mltrack's reader): loss per step, the StepLR learning rate, gradient-norm
histograms, weight histograms, the saved model as a "libtorch" model artifact.

    check_output.py PATH/TO/libtorch_train OUT_DIR
"""
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys

STEPS = 120
HIST_EVERY = 20
LR, GAMMA, STEP_SIZE, HIDDEN = 0.02, 0.5, 100, 32


def fail(msg):
    print("check_output.py: FAILED: " + msg, file=sys.stderr)
    sys.exit(1)


def number(v):
    return float(v) if isinstance(v, str) else v  # "NaN", "Infinity" are strings in the file


def main():
    exe, out = sys.argv[1], sys.argv[2]
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run([exe, "--out", out, "--run", "ci", "--steps", str(STEPS), "--hist-every", str(HIST_EVERY)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240)
    print(proc.stdout, end="")
    if proc.returncode != 0:
        fail("libtorch_train exited with %d" % proc.returncode)

    run_dir = os.path.join(out, "runs", "libtorch-train", "ci")
    with open(os.path.join(run_dir, "events.jsonl"), encoding="utf-8") as f:
        text = f.read()
    if not text.endswith("\n"):
        fail("events.jsonl does not end with a newline")
    lines = [json.loads(line) for line in text.splitlines()]
    if lines[0]["kind"] != "run_start" or lines[-1]["kind"] != "run_end" or lines[-1]["state"] != "COMPLETE":
        fail("the run does not start with run_start and end COMPLETE")

    params = {}
    for line in lines:
        if line["kind"] == "params":
            params.update(line["values"])
    for k, v in {"hidden": HIDDEN, "lr": LR, "gamma": GAMMA, "step_size": STEP_SIZE, "steps": STEPS,
                 "optimizer": "adam", "scheduler": "step_lr"}.items():
        if params.get(k) != v:
            fail("param %s is %r, expected %r" % (k, params.get(k), v))

    series = {}
    for line in lines:
        if line["kind"] == "metrics":
            for k, v in line["values"].items():
                series.setdefault(k, []).append((line["step"], number(v)))
    for k in ("train/loss", "train/lr"):
        if [s for s, _ in series.get(k, [])] != list(range(STEPS)):
            fail("%s is not logged once per step 0..%d" % (k, STEPS - 1))
    # StepLR halves the rate every STEP_SIZE steps. The rate is logged before that step's scheduler.step();
    # LibTorch's StepLR (unlike PyTorch's, which steps once in its constructor) first decays on its
    # (STEP_SIZE + 1)-th step() call, so the rate logged at step s is LR * GAMMA^((s - 1) // STEP_SIZE).
    for step, lr in series["train/lr"]:
        if not math.isclose(lr, LR * GAMMA ** (max(step - 1, 0) // STEP_SIZE), rel_tol=1e-12):
            fail("train/lr at step %d is %r" % (step, lr))
    loss = [v for _, v in series["train/loss"]]
    if not all(math.isfinite(v) and v >= 0 for v in loss):
        fail("train/loss has a negative or non-finite value")
    if not sum(loss[-20:]) < sum(loss[:20]):
        fail("train/loss did not decrease")
    if [s for s, _ in series.get("valid/loss", [])] != [49, 99, STEPS - 1]:
        fail("valid/loss steps: %r" % series.get("valid/loss"))

    hist_steps = sorted(set(list(range(0, STEPS, HIST_EVERY)) + [STEPS - 1]))
    grads = [l for l in lines if l["kind"] == "histogram" and l["name"] == "grad_norm"]
    if [h["step"] for h in grads] != hist_steps:
        fail("grad_norm histograms at steps %r, expected %r" % ([h["step"] for h in grads], hist_steps))
    totals = dict(series.get("grad_norm/total", []))
    if sorted(totals) != hist_steps:
        fail("grad_norm/total at steps %r" % sorted(totals))
    for h in grads:
        buckets = h["buckets"]
        if sum(b[2] for b in buckets) != 4:  # fc1.weight, fc1.bias, fc2.weight, fc2.bias
            fail("grad_norm histogram at step %d does not count 4 parameter tensors" % h["step"])
        largest = max(b[1] for b in buckets)
        total = totals[h["step"]]
        if not (largest > 0 and largest <= total * (1 + 1e-9) and total <= 2 * largest * (1 + 1e-9)):
            fail("grad_norm/total %r at step %d does not fit the largest norm %r" % (total, h["step"], largest))

    weights = {l["name"]: l for l in lines if l["kind"] == "histogram" and l["name"].startswith("weights/")}
    expected = {"weights/fc1.weight": HIDDEN, "weights/fc1.bias": HIDDEN, "weights/fc2.weight": HIDDEN,
                "weights/fc2.bias": 1}
    if sorted(weights) != sorted(expected):
        fail("weight histograms %r" % sorted(weights))
    for name, count in expected.items():
        if sum(b[2] for b in weights[name]["buckets"]) != count or weights[name]["step"] != STEPS - 1:
            fail("%s does not hold %d values at the last step" % (name, count))

    arts = [l for l in lines if l["kind"] == "artifact"]
    if len(arts) != 1:
        fail("%d artifacts, expected 1" % len(arts))
    a = arts[0]
    if a["type"] != "model" or a["framework"] != "libtorch" or not re.fullmatch(r"\d+\.\d+\.\d+", a["framework_version"]):
        fail("model artifact: %r" % a)
    data = open(os.path.join(run_dir, a["path"]), "rb").read()
    if len(data) != a["size"] or hashlib.sha256(data).hexdigest() != a["sha256"] or not data.startswith(b"PK"):
        fail("the model file does not match its artifact line, or is not a torch::save archive")

    tb = os.path.join(out, "tb", "libtorch-train", "ci")
    if not any(n.startswith("events.out.tfevents.") and os.path.getsize(os.path.join(tb, n)) > 0 for n in os.listdir(tb)):
        fail("no TensorBoard event file")
    print("check_output.py: ok (%d steps, %d gradient histograms, model %d bytes)" % (STEPS, len(grads), len(data)))


if __name__ == "__main__":
    main()
