#!/usr/bin/env python3
"""Compares what mltrack logged (its JSONL copy, read with the json module) with what a real MLflow tracking
server holds, read two ways: MLflow's REST reads (runs/search, metrics/get-history, artifacts/list) and
MLflow's own Python client (mlflow.search_runs, MlflowClient.get_metric_history, list_artifacts,
mlflow.models.Model.load). Also logs a run with MLflow's Python client (mlflow.start_run(run_name=...)) and
compares its tags with those of mltrack's runs.

    check.py --uri URI --jsonl ROOT --experiment NAME [--absent KEY]...

MLflow comes from PYTHONPATH (a source export). Prints what it compared; exit status 1 on a mismatch.
"""

import argparse
import json
import math
import os
import sys
import urllib.parse
import urllib.request

failures = []


def fail(msg):
    failures.append(msg)
    print("MISMATCH: " + msg)


def rest(uri, method, path, body=None, query=None):
    url = uri + "/api/2.0/" + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"{}")


def read_jsonl(root, experiment):
    """{run name: {"params", "metrics": {key: [(step, value)]}, "summary", "tags", "state", "artifacts"}}."""
    runs = {}
    exp_dir = os.path.join(root, experiment)
    for name in sorted(os.listdir(exp_dir)):
        path = os.path.join(exp_dir, name, "events.jsonl")
        if not os.path.isfile(path):
            continue
        run = {"params": {}, "metrics": {}, "summary": {}, "tags": {}, "state": None, "artifacts": []}
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                k = rec.get("kind")
                if k == "params":  # MLflow keeps the first value of a param (docs/mlflow.md)
                    for key, v in rec["values"].items():
                        run["params"].setdefault(key, v)
                elif k == "metrics":
                    for key, v in rec["values"].items():
                        run["metrics"].setdefault(key, []).append((rec["step"], v))
                elif k == "summary":
                    run["summary"].update(rec.get("values", {}))
                elif k == "tags":
                    run["tags"].update(rec.get("values", rec.get("tags", {})))
                elif k == "run_end":
                    run["state"] = rec["state"]
                elif k == "artifact":
                    run["artifacts"].append(rec)
        runs[name] = run
    return runs


def as_float(v):
    if isinstance(v, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v]
    return float(v)


def same(a, b):
    a, b = as_float(a), as_float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a):  # MLflow's SQL stores keep +-inf as +-1.7976931348623157e308 (as for its own client)
        return b == a or abs(b) == 1.7976931348623157e308 and (b > 0) == (a > 0)
    return a == b


def param_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v) if not isinstance(v, str) else v


STATUS = {"COMPLETE": "FINISHED", "FAILED": "FAILED", "CANCELLED": "KILLED", "PREEMPTED": "KILLED", None: "RUNNING",
          "RUNNING": "RUNNING"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uri", required=True)
    ap.add_argument("--jsonl", required=True)
    ap.add_argument("--experiment", required=True)
    ap.add_argument("--python-run", default="python-reference")
    ap.add_argument("--registered", help="a registered model: each logged model must be one version of it")
    ap.add_argument("--absent", action="append", default=[],
                    help="a metric key MLflow refuses: logged to JSONL, must not be on the server")
    args = ap.parse_args()
    os.environ["MLFLOW_TRACKING_URI"] = args.uri
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import Model

    logged = read_jsonl(args.jsonl, args.experiment)
    client = MlflowClient()
    exp = rest(args.uri, "GET", "mlflow/experiments/get-by-name", query={"experiment_name": args.experiment})["experiment"]
    eid = exp["experiment_id"]
    df = mlflow.search_runs(experiment_ids=[eid])
    print("experiment %s (id %s): %d runs in mlflow.search_runs, %d in the JSONL copy"
          % (args.experiment, eid, len(df), len(logged)))

    # A run logged by MLflow's own client, for its tags.
    with mlflow.start_run(experiment_id=eid, run_name=args.python_run) as pr:
        mlflow.log_param("lr", 0.1)
        mlflow.log_metric("x", 1.0, step=0)
    py_tags = set(client.get_run(pr.info.run_id).data.tags)
    print("tags of a run logged by MLflow's Python client: %s" % sorted(py_tags))

    for name, run in logged.items():
        found = rest(args.uri, "POST", "mlflow/runs/search",
                     {"experiment_ids": [eid], "filter": "tags.mlflow.runName = '%s'" % name})
        if len(found.get("runs", [])) != 1:
            fail("run %s: %d MLflow runs of that name (runs/search)" % (name, len(found.get("runs", []))))
            continue
        r = found["runs"][0]
        rid = r["info"]["run_id"]
        info = client.get_run(rid)
        row = df[df["run_id"] == rid]
        print("\nrun %s -> MLflow run %s, status %s" % (name, rid, info.info.status))
        if info.info.status != STATUS[run["state"]]:
            fail("run %s: status %s, logged state %s" % (name, info.info.status, run["state"]))
        if len(row) != 1:
            fail("run %s: not in mlflow.search_runs" % name)
        # Tags: MLflow's system tags, as Python sets them (git commit only where a repository was found).
        tags = info.data.tags
        missing = {t for t in py_tags if t.startswith("mlflow.")} - set(tags)
        print("  tags: %s" % sorted(tags))
        if missing:
            fail("run %s: lacks the tags MLflow's client sets: %s" % (name, sorted(missing)))
        if tags.get("mlflow.runName") != name:
            fail("run %s: mlflow.runName %r" % (name, tags.get("mlflow.runName")))
        for k, v in run["tags"].items():
            if tags.get(k) != v:
                fail("run %s: tag %s=%r, logged %r" % (name, k, tags.get(k), v))
        # Params, as text.
        for k, v in run["params"].items():
            got = info.data.params.get(k)
            if got != param_text(v):
                fail("run %s: param %s=%r, logged %r" % (name, k, got, v))
        print("  params: %d, as logged" % len(run["params"]))
        # Metric histories: every point once, REST and Python client alike.
        for key, points in run["metrics"].items():
            if key in args.absent:
                if client.get_metric_history(rid, key):
                    fail("run %s: metric %s is on the server; MLflow refuses that key" % (name, key))
                else:
                    print("  metric %s: not on the server (MLflow refuses the key; the JSONL copy has it)" % key)
                continue
            hist_rest = rest(args.uri, "GET", "mlflow/metrics/get-history",
                             query={"run_id": rid, "metric_key": key, "max_results": 100000}).get("metrics", [])
            hist_py = client.get_metric_history(rid, key)
            got = sorted((m.step, m.value) for m in hist_py)
            want = sorted(points, key=lambda p: p[0])
            if len(hist_rest) != len(want) or len(got) != len(want):
                fail("run %s: metric %s has %d points (REST) / %d (client), logged %d"
                     % (name, key, len(hist_rest), len(got), len(want)))
                continue
            bad = [(g, w) for g, w in zip(got, want) if g[0] != w[0] or not same(w[1], g[1])]
            if bad:
                fail("run %s: metric %s differs at %d points, e.g. %r" % (name, key, len(bad), bad[:3]))
            print("  metric %s: %d points, every one as logged (REST and client)" % (key, len(got)))
        for key, v in run["summary"].items():
            hist = client.get_metric_history(rid, key)
            if len(hist) != 1 or hist[0].step != 0 or not same(v, hist[0].value):
                fail("run %s: summary metric %s = %r, MLflow has %r" % (name, key, v, [(m.step, m.value) for m in hist]))
        print("  summary metrics: %d, as step-0 metrics" % len(run["summary"]))
        # Artifacts: REST list and the client; models load as MLflow models.
        top = rest(args.uri, "GET", "mlflow/artifacts/list", query={"run_id": rid}).get("files", [])
        print("  artifacts (artifacts/list): %s" % [f["path"] for f in top])
        for a in run["artifacts"]:
            name_a = a["name"]
            listed = [f.path for f in client.list_artifacts(rid, name_a)]
            if not listed:
                fail("run %s: artifact %s not listed" % (name, name_a))
                continue
            print("  artifact %s: %s" % (name_a, listed))
            if a.get("type") == "model":
                try:
                    m = Model.load("runs:/%s/%s" % (rid, name_a))
                    print("  model %s: MLmodel loads, flavors %s, run_id %s" % (name_a, sorted(m.flavors), m.run_id))
                    if m.run_id != rid:
                        fail("run %s: MLmodel run_id %s" % (name, m.run_id))
                except Exception as e:  # noqa: BLE001
                    fail("run %s: model %s does not load as an MLflow model: %s" % (name, name_a, e))
    if args.registered:
        versions = client.search_model_versions("name='%s'" % args.registered)
        models = sum(1 for run in logged.values() for a in run["artifacts"] if a.get("type") == "model")
        print("\nregistered model %s: %d versions (%s), %d models logged"
              % (args.registered, len(versions), sorted(v.source for v in versions), models))
        if len(versions) != models:
            fail("registered model %s has %d versions, %d models were logged" % (args.registered, len(versions), models))
    print("\n%s" % ("ALL MATCH" if not failures else "%d MISMATCHES" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
