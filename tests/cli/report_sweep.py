#!/usr/bin/env python3
"""Writes a JSONL root with one experiment of N runs (default 100) for the report's browser checks: params
lr (log-spaced), batch_size and optimizer; time series train/loss (noisy, decreasing), val/acc and
grad/delta (which goes negative, for log-scale y); the summary metric best_acc in every run.

    report_sweep.py ROOT [N]
"""
import json
import math
import os
import random
import sys


def main():
    root = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    rng = random.Random(7)
    for i in range(n):
        name = "run-%d" % i
        folder = os.path.join(root, "sweep", name)
        os.makedirs(folder, exist_ok=True)
        t = 1700000000.0 + i
        lr = 10 ** (-4 + 3 * (i % 10) / 9)
        batch = [16, 32, 64, 128][i % 4]
        optimizer = ["adam", "sgd", "adamw"][i % 3]
        quality = 1 - abs(math.log10(lr) + 2.5) / 2.5 + 0.05 * rng.random()
        lines = [{"kind": "run_start", "time": t, "format": "mltrack.jsonl", "format_version": 1,
                  "mltrack_version": "0.1.0", "experiment": "sweep", "run": name},
                 {"kind": "params", "time": t, "values": {"lr": lr, "batch_size": batch, "optimizer": optimizer}}]
        for step in range(0, 200):
            loss = (2.0 - quality) * math.exp(-step / 60.0) + 0.1 + 0.15 * rng.random()
            acc = min(1.0, 0.4 + 0.5 * quality * (1 - math.exp(-step / 50.0)) + 0.05 * rng.random())
            delta = math.sin(step / 15.0 + i) * math.exp(-step / 100.0)
            lines.append({"kind": "metrics", "time": t + step, "step": step,
                          "values": {"train/loss": loss, "val/acc": acc, "grad/delta": delta}})
        lines.append({"kind": "summary", "time": t + 300, "values": {"best_acc": 0.4 + 0.5 * quality}})
        lines.append({"kind": "run_end", "time": t + 301, "state": "COMPLETE" if i % 17 else "FAILED"})
        with open(os.path.join(folder, "events.jsonl"), "w") as f:
            for line in lines:
                f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
