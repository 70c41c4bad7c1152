#!/usr/bin/env python3
"""Loads a logdir with TensorBoard's own Python reader (`--load_fast=false`), the way `tensorboard --logdir`
serves it, and prints what each dashboard shows as one JSON object (the same shape as the model of
TensorBoard's rules in tests/support/tb_model.hpp prints):

  {"errors": [...routes that failed...], "runs": {run: {"scalars": {tag: [[step, value]...]},
   "text": {tag: [[step, text]...]}, "images": {tag: [[step, n]...]}, "histograms": {tag: [step...]},
   "pr_curves": {tag: [step...]}}}, "hparams": {"hparams": [name...], "metrics": ["group|tag"...],
   "sessions": {run: {"group": g, "status": s, "hparams": {k: v}, "metrics": {"group|tag": [step, value]}}},
   "domains": {name: [value...]}}}

usage: tb_view.py --tensorboard SRC LOGDIR      SRC: a folder holding TensorBoard's `tensorboard` package
                                                with its *_pb2.py modules generated (see setup.sh)
No TensorFlow is needed: TensorBoard uses its own stub. The routes are called through the WSGI app the
server builds (werkzeug's test client), so what fails here fails in the browser."""
import argparse
import json
import logging
import math
import re
import sys
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tensorboard", required=True)
    ap.add_argument("logdir")
    args = ap.parse_args()
    sys.path.insert(0, args.tensorboard)
    logging.disable(logging.WARNING)

    # program.py imports the gRPC client of the Rust data server, whose generated stubs need grpc's protoc
    # plugin; --load_fast=false never uses it, so an empty module stands in for the stubs.
    import types
    sys.modules["tensorboard.data.proto.data_provider_pb2_grpc"] = types.ModuleType("data_provider_pb2_grpc")
    from tensorboard import default, program
    from tensorboard.backend import application
    from werkzeug.test import Client

    tb = program.TensorBoard(plugins=default.get_plugins())
    tb.configure(argv=["", "--logdir", args.logdir, "--load_fast=false", "--reload_task=blocking",
                       "--reload_interval=0"])
    provider, multiplexer = tb._make_data_provider()
    app = application.TensorBoardWSGIApp(tb.flags, tb.plugin_loaders, provider, tb.assets_zip_provider,
                                         multiplexer)
    client = Client(app)
    errors = []

    def call(method, route, **kw):
        r = client.open(route, method=method, **kw)
        if r.status_code != 200:
            errors.append("%s %s: HTTP %d" % (method, route.split("?")[0], r.status_code))
            return None
        return json.loads(r.get_data(as_text=True))

    def q(**params):
        return urllib.parse.urlencode(params)

    runs = {}

    def run_view(run):
        return runs.setdefault(run, {"scalars": {}, "text": {}, "images": {}, "histograms": {}, "pr_curves": {}})

    call("GET", "/data/runs")
    scalar_tags = call("GET", "/data/plugin/scalars/tags") or {}
    for run, tags in sorted(scalar_tags.items()):
        for tag in sorted(tags):
            pts = call("GET", "/data/plugin/scalars/scalars?" + q(run=run, tag=tag)) or []
            run_view(run)["scalars"][tag] = [[p[1], num(p[2])] for p in pts]
    text_tags = call("GET", "/data/plugin/text/tags") or {}
    for run, tags in sorted(text_tags.items()):
        for tag in sorted(tags):
            pts = call("GET", "/data/plugin/text/text?" + q(run=run, tag=tag)) or []
            run_view(run)["text"][tag] = [[p["step"], strip_html(p["text"])] for p in pts]
    image_tags = call("GET", "/data/plugin/images/tags") or {}
    for run, tags in sorted(image_tags.items()):
        for tag in sorted(tags):
            pts = call("GET", "/data/plugin/images/images?" + q(run=run, tag=tag, sample=0)) or []
            run_view(run)["images"][tag] = [[p["step"], 1] for p in pts]
    histo_tags = call("GET", "/data/plugin/histograms/tags") or {}
    for run, tags in sorted(histo_tags.items()):
        for tag in sorted(tags):
            pts = call("GET", "/data/plugin/histograms/histograms?" + q(run=run, tag=tag)) or []
            run_view(run)["histograms"][tag] = [p[1] for p in pts]
    pr_tags = call("GET", "/data/plugin/pr_curves/tags") or {}
    for run, tags in sorted(pr_tags.items()):
        for tag in sorted(tags):
            data = call("GET", "/data/plugin/pr_curves/pr_curves?" + q(run=run, tag=tag)) or {}
            run_view(run)["pr_curves"][tag] = [e["step"] for e in data.get(run, [])]

    # The Time Series dashboard (TensorBoard's default page) lists every tag, then asks for each series.
    ts_tags = call("GET", "/data/plugin/timeseries/tags")
    if ts_tags is not None:
        reqs = []
        for plugin in ("scalars", "histograms"):
            for tag in ts_tags.get(plugin, {}).get("tagDescriptions", {}):
                reqs.append({"plugin": plugin, "tag": tag})
        for tag, info in ts_tags.get("images", {}).get("tagRunSampledInfo", {}).items():
            for run in info:
                reqs.append({"plugin": "images", "tag": tag, "run": run, "sample": 0})
        if reqs:
            call("POST", "/data/plugin/timeseries/timeSeries", data={"requests": json.dumps(reqs)})

    # HParams, as its dashboard asks: the experiment, then the session groups with every column.
    hp = {"hparams": [], "metrics": [], "sessions": {}, "domains": {}}
    exp = call("POST", "/data/plugin/hparams/experiment",
               data=json.dumps({"experimentName": "", "includeMetrics": True}),
               content_type="application/json")
    if exp:
        cols = []
        for h in exp.get("hparamInfos", []):
            hp["hparams"].append(h["name"])
            cols.append({"hparam": h["name"], "includeInResult": True})
            if "domainDiscrete" in h:
                hp["domains"][h["name"]] = sorted(str(v) for v in h["domainDiscrete"])
        for m in exp.get("metricInfos", []):
            name = m["name"]
            hp["metrics"].append(name.get("group", "") + "|" + name["tag"])
            cols.append({"metric": name, "includeInResult": True})
        groups = call("POST", "/data/plugin/hparams/session_groups",
                      data=json.dumps({"experimentName": "", "allowedStatuses":
                                       ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
                                       "colParams": cols, "startIndex": 0, "sliceSize": 10000,
                                       "includeMetrics": True}),
                      content_type="application/json")
        for g in (groups or {}).get("sessionGroups", []):
            for s in g.get("sessions", []):
                hp["sessions"][s["name"]] = {
                    "group": g["name"],
                    "status": s.get("status", "STATUS_UNKNOWN"),
                    "hparams": {k: v for k, v in sorted(g.get("hparams", {}).items())},
                    "metrics": {mv["name"].get("group", "") + "|" + mv["name"]["tag"]:
                                [int(mv.get("trainingStep", 0)), num(mv.get("value"))]
                                for mv in s.get("metricValues", [])},
                }
    print(json.dumps({"errors": errors, "runs": runs, "hparams": hp}, indent=1, sort_keys=True,
                     ensure_ascii=False))


def num(v):
    if isinstance(v, str):  # JSON has no NaN/Infinity: TensorBoard sends them as strings
        return v
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return str(v)
    return v


def strip_html(s):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", s)).strip()


if __name__ == "__main__":
    main()
