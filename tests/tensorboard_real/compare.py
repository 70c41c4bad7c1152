#!/usr/bin/env python3
"""Compares what TensorBoard showed (tb_view.py's JSON) with what the model of its rules predicted
(tests/support/tb_model.hpp, via tb_scenarios). Texts are compared by their steps (TensorBoard renders the
markdown as HTML); numbers as float32. Prints every difference; exit status 1 when there is one.

usage: compare.py MODEL.json REAL.json"""
import json
import math
import sys


def norm(view):
    for run in view.get("runs", {}).values():
        run["text"] = {tag: [p[0] for p in pts] for tag, pts in run.get("text", {}).items()}
    return view


def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) or isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
        return a == b
    if isinstance(a, str) and isinstance(b, str) and a.lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
        return a.lower().replace("inity", "") == b.lower().replace("inity", "")
    return a == b


def diff(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append("%s/%s: only TensorBoard shows it: %s" % (path, k, json.dumps(b[k])[:200]))
            elif k not in b:
                out.append("%s/%s: TensorBoard does not show it (model: %s)" % (path, k, json.dumps(a[k])[:200]))
            else:
                diff(a[k], b[k], path + "/" + k, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append("%s: model %d items, TensorBoard %d: %s vs %s" % (path, len(a), len(b),
                                                                          json.dumps(a)[:200], json.dumps(b)[:200]))
        else:
            for i, (x, y) in enumerate(zip(a, b)):
                diff(x, y, "%s[%d]" % (path, i), out)
    elif not same(a, b):
        out.append("%s: model %s, TensorBoard %s" % (path, json.dumps(a), json.dumps(b)))


def main():
    model, real = (norm(json.load(open(p, encoding="utf-8"))) for p in sys.argv[1:3])
    model["errors"] = sorted(model["errors"])
    real["errors"] = sorted(real["errors"])
    out = []
    diff(model, real, "", out)
    for line in out:
        print("  " + line)
    sys.exit(1 if out else 0)


if __name__ == "__main__":
    main()
