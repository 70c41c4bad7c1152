#!/usr/bin/env python3
"""A fake MLflow tracking server (REST API 2.0 and the mlflow-artifacts proxy) for the mltrack tests.
Python standard library only; listens on 127.0.0.1.

    fake_mlflow.py [--port 0] [--seed S]

Prints the port on its first stdout line, then serves until killed (or until its parent process exits).

What it does, like MLflow 2.x's server with a SQL store (mlflow/server/handlers.py,
mlflow/store/tracking/sqlalchemy_store.py, mlflow/utils/validation.py):
  * experiments/get-by-name, experiments/get, experiments/create (RESOURCE_ALREADY_EXISTS for a name in use,
    deleted experiments included), runs/create, runs/get, runs/update, runs/search (filters on
    tags.<key>, attributes.run_name / status, joined by AND; order_by start_time), runs/log-batch,
    metrics/get-history, registered-models/create, model-versions/create, model-versions/search, and
    PUT/GET of files under /api/2.0/mlflow-artifacts/artifacts/<path>;
  * errors as {"error_code", "message"} with MLflow's HTTP statuses (400 INVALID_PARAMETER_VALUE and
    RESOURCE_ALREADY_EXISTS, 404 RESOURCE_DOES_NOT_EXIST, 404 ENDPOINT_NOT_FOUND);
  * log-batch's limits (1000 metrics, 100 params, 100 tags, 1000 entities, a 1 MB body), key rules, param
    values up to 6000 characters and tag values up to 5000, duplicate param keys refused, a param that
    changes value refused (INVALID_PARAMETER_VALUE, the whole request, params first as MLflow applies them);
  * metric values as protobuf's JSON parser takes them: numbers, or the strings "NaN", "Infinity",
    "-Infinity" (a bare NaN token is refused); a metric point is its own primary key
    (key, timestamp, step, value): the same point logged again is ignored, as the SQL stores do;
  * the latest metric of a key is the one with the highest (step, timestamp, value).
Every body is also checked strictly (unknown fields, wrong types): what MLflow would silently ignore is
recorded in state["validation_errors"], which the tests require to be empty.

Faults from POST /_control/faults {"rules": [...], "seed": S}: each rule has "methods" (a regex on the
endpoint, e.g. "runs/log-batch"), "probability", optional "count", and "kind": "status" (with "status" and
"retry_after"), "reset" (the connection is reset before the request is applied) or "reset_after" (applied,
then reset: the answer is lost), "slow" (with "delay"), "concurrent_create" (experiments/create: another job
creates the same experiment just before, so this request gets RESOURCE_ALREADY_EXISTS).

Control endpoints (no auth): GET /_control/state, POST /_control/faults, POST /_control/config
({"auth": "Bearer x" | "Basic y" | null, "down": bool}), POST /_control/reset, GET /_control/log, ANY /_control/redirect/... (a 302 to another host).
"""

import argparse
import json
import math
import os
import posixpath
import random
import re
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse
import uuid
import http.server

MAX_METRICS = 1000
MAX_PARAMS_TAGS = 100
MAX_ENTITIES = 1000
MAX_BODY = 1000000
MAX_PARAM_VAL = 6000
MAX_TAG_VAL = 5000
MAX_KEY = 250
NAME_RE = re.compile(r"^[/\w.\- ]*$")
STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


class MlflowError(Exception):
    CODES = {"INVALID_PARAMETER_VALUE": 400, "RESOURCE_ALREADY_EXISTS": 400, "BAD_REQUEST": 400,
             "RESOURCE_DOES_NOT_EXIST": 404, "ENDPOINT_NOT_FOUND": 404, "INTERNAL_ERROR": 500,
             "PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401}

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message
        self.http = self.CODES.get(code, 500)


def invalid(msg):
    return MlflowError("INVALID_PARAMETER_VALUE", msg)


def now_ms():
    return int(time.time() * 1000)


def path_not_unique(name):
    norm = posixpath.normpath(name)
    return norm != name or norm == "." or norm.startswith("..") or norm.startswith("/")


def check_key(what, key):
    if key is None or key == "":
        raise invalid("%s name cannot be None. A key name must be provided." % what)
    if not NAME_RE.match(key):
        raise invalid("Invalid %s name: '%s'. Names may only contain alphanumerics, underscores (_), dashes (-), "
                      "periods (.), spaces ( ), and slashes (/)." % (what.lower(), key))
    if path_not_unique(key):
        raise invalid("Invalid %s name: '%s'. Names may be treated as files in certain cases, and must not "
                      "resolve to other names when treated as such." % (what.lower(), key))
    if len(key) > MAX_KEY:
        raise invalid("%s name '%s' had length %d, which exceeded length limit of %d" % (what, key[:250], len(key), MAX_KEY))


def to_double(v, where):
    """protobuf json_format's _ConvertFloat."""
    if isinstance(v, bool):
        raise invalid("%s: not a double: %r" % (where, v))
    if isinstance(v, (int, float)):
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
            raise invalid("%s: Couldn't parse NaN or Infinity, use quoted \"NaN\" instead" % where)
        return float(v)
    if isinstance(v, str):
        if v == "NaN":
            return float("nan")
        if v == "Infinity":
            return float("inf")
        if v == "-Infinity":
            return float("-inf")
        try:
            return float(v)
        except ValueError:
            pass
    raise invalid("%s: not a double: %r" % (where, v))


def to_int64(v, where):
    if isinstance(v, bool):
        raise invalid("%s: not an int64: %r" % (where, v))
    if isinstance(v, int):
        return v
    if isinstance(v, str) and re.match(r"^-?\d+$", v):
        return int(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise invalid("%s: not an int64: %r" % (where, v))


class State:
    def __init__(self):
        self.reset()

    def reset(self):
        self.experiments = {}   # id -> {experiment_id, name, artifact_location, lifecycle_stage, tags}
        self.next_exp = 1
        self.runs = {}          # run_id -> {"info": {...}, "params": {}, "tags": {}, "metrics": {key: [points]}}
        self.points = {}        # run_id -> set of (key, timestamp, step, value, is_nan): the SQL primary key
        self.artifacts = {}     # path -> bytes
        self.registered = {}    # name -> {"name", "versions": [...]}
        self.requests = {}      # endpoint -> count
        self.batch_sizes = []   # metrics per accepted log-batch
        self.validation_errors = []
        self.faults_injected = {}
        self.log = []
        # The Default experiment, as MLflow makes it.
        self.experiments["0"] = {"experiment_id": "0", "name": "Default", "artifact_location": "mlflow-artifacts:/0",
                                 "lifecycle_stage": "active", "tags": {}}

    def snapshot(self):
        runs = {}
        for rid, r in self.runs.items():
            runs[rid] = {"info": r["info"], "params": r["params"], "tags": r["tags"],
                         "metrics": {k: [dict(p, value=json_value(p["value"]))
                                         for p in sorted(v, key=lambda p: (p["step"], p["timestamp"]))]
                                     for k, v in r["metrics"].items()}}
        return {"experiments": self.experiments, "runs": runs, "requests": self.requests,
                "artifacts": {k: len(v) for k, v in self.artifacts.items()},
                "artifact_text": {k: v.decode("utf-8", "replace") for k, v in self.artifacts.items() if len(v) < 65536},
                "registered_models": self.registered, "batch_sizes": self.batch_sizes,
                "validation_errors": self.validation_errors, "faults_injected": self.faults_injected}


def json_value(v):
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, float) and math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


class Api:
    def __init__(self, server):
        self.srv = server
        self.s = server.state

    def strict(self, body, fields, where):
        if not isinstance(body, dict):
            raise invalid("%s: the body is not a JSON object" % where)
        for k, v in body.items():
            if k not in fields:
                self.s.validation_errors.append("%s: unknown field %r" % (where, k))
                continue
            t = fields[k]
            ok = {"str": isinstance(v, str), "list": isinstance(v, list), "int": isinstance(v, (int, str)) and not isinstance(v, bool),
                  "any": True}[t]
            if not ok:
                self.s.validation_errors.append("%s: field %r has the wrong type (%r)" % (where, k, v))

    # ---- experiments
    def exp_by_name(self, name):
        for e in self.s.experiments.values():
            if e["name"] == name:
                return e
        return None

    def exp_json(self, e):
        out = {k: e[k] for k in ("experiment_id", "name", "artifact_location", "lifecycle_stage")}
        out["tags"] = [{"key": k, "value": v} for k, v in e["tags"].items()]
        return out

    def get_by_name(self, q, body):
        name = q.get("experiment_name", [None])[0]
        if not name:
            raise invalid("Missing value for required parameter 'experiment_name'.")
        e = self.exp_by_name(name)
        if e is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name '%s'" % name)
        return {"experiment": self.exp_json(e)}

    def get_experiment(self, q, body):
        eid = q.get("experiment_id", [None])[0]
        e = self.s.experiments.get(eid)
        if e is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", "No Experiment with id=%s exists" % eid)
        return {"experiment": self.exp_json(e)}

    def create_experiment(self, q, body):
        self.strict(body, {"name": "str", "artifact_location": "str", "tags": "list"}, "experiments/create")
        name = body.get("name")
        if not name:
            raise invalid("Invalid experiment name: '%s'" % name)
        if self.exp_by_name(name) is not None:
            raise MlflowError("RESOURCE_ALREADY_EXISTS", "Experiment(name=%s) already exists. Error: ..." % name)
        eid = str(self.s.next_exp)
        self.s.next_exp += 1
        self.s.experiments[eid] = {"experiment_id": eid, "name": name, "artifact_location": "mlflow-artifacts:/" + eid,
                                   "lifecycle_stage": "active", "tags": {}}
        return {"experiment_id": eid}

    # ---- runs
    def run_of(self, rid):
        if not isinstance(rid, str) or not re.match(r"^[a-zA-Z0-9][\w\-]{0,255}$", rid or ""):
            raise invalid("Invalid run ID: '%s'" % rid)
        r = self.s.runs.get(rid)
        if r is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", "Run with id=%s not found" % rid)
        return r

    def run_json(self, r):
        latest = []
        for k, pts in r["metrics"].items():
            m = max(pts, key=lambda p: (p["step"], p["timestamp"], p["value"] if not math.isnan(p["value"]) else 0))
            latest.append({"key": k, "value": json_value(m["value"]), "timestamp": m["timestamp"], "step": m["step"]})
        return {"info": dict(r["info"]),
                "data": {"metrics": latest,
                         "params": [{"key": k, "value": v} for k, v in r["params"].items()],
                         "tags": [{"key": k, "value": v} for k, v in r["tags"].items()]},
                "inputs": {}}

    def create_run(self, q, body):
        self.strict(body, {"experiment_id": "str", "user_id": "str", "run_name": "str", "start_time": "int",
                           "tags": "list"}, "runs/create")
        eid = body.get("experiment_id") or "0"
        e = self.s.experiments.get(eid)
        if e is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", "No Experiment with id=%s exists" % eid)
        if e["lifecycle_stage"] != "active":
            raise invalid("The experiment %s must be in the 'active' state. Current state is deleted." % eid)
        tags = {}
        for t in body.get("tags", []):
            check_key("Tag", t.get("key"))
            v = t.get("value", "")
            if len(v) > MAX_TAG_VAL:
                raise invalid("Tag value '%s' had length %d, which exceeded length limit of %d" % (v[:250], len(v), MAX_TAG_VAL))
            tags[t["key"]] = v
        run_name = body.get("run_name") or tags.get("mlflow.runName") or "fake-run-%d" % len(self.s.runs)
        if "mlflow.runName" in tags and body.get("run_name") and tags["mlflow.runName"] != body["run_name"]:
            raise invalid("Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values")
        tags["mlflow.runName"] = run_name
        rid = uuid.uuid4().hex
        start = to_int64(body.get("start_time", now_ms()), "start_time")
        info = {"run_uuid": rid, "run_id": rid, "run_name": run_name, "experiment_id": eid,
                "user_id": body.get("user_id", ""), "status": "RUNNING", "start_time": start,
                "artifact_uri": "mlflow-artifacts:/%s/%s/artifacts" % (eid, rid), "lifecycle_stage": "active"}
        self.s.runs[rid] = {"info": info, "params": {}, "tags": tags, "metrics": {}}
        self.s.points[rid] = set()
        return {"run": self.run_json(self.s.runs[rid])}

    def get_run(self, q, body):
        return {"run": self.run_json(self.run_of(q.get("run_id", [None])[0]))}

    def update_run(self, q, body):
        self.strict(body, {"run_id": "str", "run_uuid": "str", "status": "str", "end_time": "int", "run_name": "str"},
                    "runs/update")
        r = self.run_of(body.get("run_id") or body.get("run_uuid"))
        if r["info"]["lifecycle_stage"] != "active":
            raise invalid("The run %s must be in the 'active' state." % r["info"]["run_id"])
        if "status" in body:
            if body["status"] not in STATUSES:
                raise invalid("Invalid value %r for parameter 'status'" % body["status"])
            r["info"]["status"] = body["status"]
        if "end_time" in body:
            r["info"]["end_time"] = to_int64(body["end_time"], "end_time")
        if body.get("run_name"):
            r["info"]["run_name"] = body["run_name"]
            r["tags"]["mlflow.runName"] = body["run_name"]
        return {"run_info": dict(r["info"])}

    FILTER_RE = re.compile(r"""^\s*(tags|attributes|attribute|attr|run|params|param|metrics|metric)\.(`[^`]+`|"[^"]+"|[\w.]+)"""
                           r"""\s*(=|!=)\s*'([^']*)'\s*""", re.I)

    def parse_filter(self, text):
        clauses = []
        rest = text or ""
        while rest.strip():
            m = self.FILTER_RE.match(rest)
            if not m:
                raise invalid("Error on parsing filter '%s'" % text)
            kind, key, op, value = m.group(1).lower(), m.group(2).strip('`"'), m.group(3), m.group(4)
            clauses.append((kind, key, op, value))
            rest = rest[m.end():]
            if rest.strip():
                m2 = re.match(r"^\s*and\s+", rest, re.I)
                if not m2:
                    raise invalid("Error on parsing filter '%s'" % text)
                rest = rest[m2.end():]
        return clauses

    def matches(self, r, clauses):
        for kind, key, op, value in clauses:
            if kind == "tags":
                got = r["tags"].get(key)
            elif kind in ("params", "param"):
                got = r["params"].get(key)
            else:
                got = {"run_name": r["info"]["run_name"], "status": r["info"]["status"],
                       "run_id": r["info"]["run_id"]}.get(key)
            if (got == value) != (op == "="):
                return False
        return True

    def search_runs(self, q, body):
        self.strict(body, {"experiment_ids": "list", "filter": "str", "run_view_type": "str", "max_results": "int",
                           "order_by": "list", "page_token": "str"}, "runs/search")
        ids = body.get("experiment_ids", [])
        clauses = self.parse_filter(body.get("filter", ""))
        view = body.get("run_view_type", "ACTIVE_ONLY")
        out = []
        for r in self.s.runs.values():
            if r["info"]["experiment_id"] not in ids:
                continue
            stage = r["info"]["lifecycle_stage"]
            if view == "ACTIVE_ONLY" and stage != "active" or view == "DELETED_ONLY" and stage != "deleted":
                continue
            if self.matches(r, clauses):
                out.append(r)
        desc = any("desc" in o.lower() for o in body.get("order_by", ["start_time DESC"])) or not body.get("order_by")
        out.sort(key=lambda r: r["info"]["start_time"], reverse=desc)
        n = int(body.get("max_results", 1000))
        return {"runs": [self.run_json(r) for r in out[:n]]}

    def log_batch(self, q, body, raw):
        if len(raw) > MAX_BODY:
            raise invalid("Batched logging API requests must be at most %d bytes, got a request of size %d."
                          % (MAX_BODY, len(raw)))
        self.strict(body, {"run_id": "str", "metrics": "list", "params": "list", "tags": "list"}, "runs/log-batch")
        if not body.get("run_id"):
            raise invalid("Missing value for required parameter 'run_id'.")
        metrics, params, tags = body.get("metrics", []), body.get("params", []), body.get("tags", [])
        for m in metrics:
            for f in ("key", "value", "timestamp"):
                if f not in m:
                    raise invalid("Missing value for required parameter '%s'." % f)
            extra = set(m) - {"key", "value", "timestamp", "step"}
            if extra:
                self.s.validation_errors.append("log-batch metric: unknown fields %r" % sorted(extra))
        parsed = []
        for m in metrics:
            check_key("Metric", m["key"])
            v = to_double(m["value"], "metric '%s'" % m["key"])
            ts = to_int64(m["timestamp"], "timestamp")
            if ts < 0:
                raise invalid("Got invalid timestamp %d for metric '%s'" % (ts, m["key"]))
            parsed.append((m["key"], v, ts, to_int64(m.get("step", 0), "step")))
        for p in params:
            check_key("Param", p.get("key"))
            if len(p.get("value", "")) > MAX_PARAM_VAL:
                raise invalid("Param value '%s' had length %d, which exceeded length limit of %d"
                              % (p["value"][:250], len(p["value"]), MAX_PARAM_VAL))
        for t in tags:
            check_key("Tag", t.get("key"))
            if len(t.get("value", "")) > MAX_TAG_VAL:
                raise invalid("Tag value '%s' had length %d, which exceeded length limit of %d"
                              % (t["value"][:250], len(t["value"]), MAX_TAG_VAL))
        for what, n, limit in (("metrics", len(metrics), MAX_METRICS), ("params", len(params), MAX_PARAMS_TAGS),
                               ("tags", len(tags), MAX_PARAMS_TAGS),
                               ("metrics, params, and tags", len(metrics) + len(params) + len(tags), MAX_ENTITIES)):
            if n > limit:
                raise invalid("A batch logging request can contain at most %d %s. Got %d %s. Please split up %s "
                              "across multiple requests and try again." % (limit, what, n, what, what))
        keys = [p["key"] for p in params]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise invalid("Duplicate parameter keys have been submitted: %s." % dupes)
        r = self.run_of(body["run_id"])
        if r["info"]["lifecycle_stage"] != "active":
            raise invalid("The run %s must be in the 'active' state. Current state is deleted." % body["run_id"])
        # Params first, as the SQL store: a changed value refuses the whole request, before any metric.
        for p in params:
            old = r["params"].get(p["key"])
            if old is not None and old != p.get("value", ""):
                raise invalid("Changing param values is not allowed. Param with key='%s' was already logged with "
                              "value='%s' for run ID='%s'. Attempted logging new value '%s'."
                              % (p["key"], old, body["run_id"], p.get("value", "")))
        for p in params:
            r["params"][p["key"]] = p.get("value", "")
        pk = self.s.points.setdefault(body["run_id"], set())
        for key, v, ts, step in parsed:
            is_nan = math.isnan(v)
            ident = (key, ts, step, 0.0 if is_nan else v, is_nan)
            if ident in pk:
                continue  # the primary key: the same point again is ignored
            pk.add(ident)
            r["metrics"].setdefault(key, []).append({"value": v, "timestamp": ts, "step": step})
        for t in tags:
            r["tags"][t["key"]] = t.get("value", "")
        self.s.batch_sizes.append(len(metrics))
        return {}

    def metric_history(self, q, body):
        r = self.run_of(q.get("run_id", [None])[0])
        key = q.get("metric_key", [None])[0]
        pts = sorted(r["metrics"].get(key, []), key=lambda p: (p["step"], p["timestamp"]))
        return {"metrics": [{"key": key, "value": json_value(p["value"]), "timestamp": p["timestamp"],
                             "step": p["step"]} for p in pts]}

    # ---- model registry
    def create_registered_model(self, q, body):
        self.strict(body, {"name": "str", "tags": "list", "description": "str"}, "registered-models/create")
        name = body.get("name")
        if not name:
            raise invalid("Registered model name cannot be empty.")
        if name in self.s.registered:
            raise MlflowError("RESOURCE_ALREADY_EXISTS", "Registered Model (name=%s) already exists." % name)
        self.s.registered[name] = {"name": name, "versions": []}
        return {"registered_model": {"name": name}}

    def create_model_version(self, q, body):
        self.strict(body, {"name": "str", "source": "str", "run_id": "str", "tags": "list", "run_link": "str",
                           "description": "str"}, "model-versions/create")
        m = self.s.registered.get(body.get("name"))
        if m is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", "Registered Model with name=%s not found" % body.get("name"))
        v = {"name": m["name"], "version": str(len(m["versions"]) + 1), "source": body.get("source", ""),
             "run_id": body.get("run_id", ""), "status": "READY"}
        m["versions"].append(v)
        return {"model_version": v}

    def search_model_versions(self, q, body):
        f = q.get("filter", [""])[0]
        conds = dict(re.findall(r"(\w+)\s*=\s*'([^']*)'", f))
        out = []
        for m in self.s.registered.values():
            for v in m["versions"]:
                if all(v.get(k) == val for k, val in conds.items()):
                    out.append(v)
        return {"model_versions": out}

    ROUTES = {
        ("GET", "experiments/get-by-name"): "get_by_name",
        ("GET", "experiments/get"): "get_experiment",
        ("POST", "experiments/create"): "create_experiment",
        ("POST", "runs/create"): "create_run",
        ("GET", "runs/get"): "get_run",
        ("POST", "runs/update"): "update_run",
        ("POST", "runs/search"): "search_runs",
        ("POST", "runs/log-batch"): "log_batch",
        ("GET", "metrics/get-history"): "metric_history",
        ("POST", "registered-models/create"): "create_registered_model",
        ("POST", "model-versions/create"): "create_model_version",
        ("GET", "model-versions/search"): "search_model_versions",
    }


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, seed):
        super().__init__(addr, Handler)
        self.lock = threading.RLock()
        self.state = State()
        self.api = Api(self)
        self.faults = []
        self.rng = random.Random(seed)
        self.auth = None
        self.auth_seen = []

    def handle_error(self, request, client_address):
        pass  # resets and clients that hang up are part of the tests

    def pick_fault(self, endpoint):
        with self.lock:
            for rule in self.faults:
                if rule.get("count", 1) <= 0:
                    continue
                if rule.get("methods") and not re.search(rule["methods"], endpoint):
                    continue
                if self.rng.random() >= rule.get("probability", 1.0):
                    continue
                if "count" in rule:
                    rule["count"] -= 1
                kind = rule.get("kind", "status")
                key = kind + ("" if kind != "status" else ":" + str(rule.get("status", 503)))
                self.state.faults_injected[key] = self.state.faults_injected.get(key, 0) + 1
                return rule
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-mlflow/1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, code, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_mlflow_error(self, e):
        self.send(e.http, {"error_code": e.code, "message": e.message})

    def reset(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def apply_fault(self, fault, before):
        kind = fault.get("kind", "status")
        if before:
            if kind == "slow":
                time.sleep(fault.get("delay", 2.0))
                return False
            if kind == "reset":
                self.reset()
                return True
            if kind == "status":
                code = fault.get("status", 503)
                names = {429: "REQUEST_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR", 503: "TEMPORARILY_UNAVAILABLE",
                         502: "TEMPORARILY_UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
                headers = {}
                if fault.get("retry_after") is not None:
                    headers["Retry-After"] = str(fault["retry_after"])
                self.send(code, {"error_code": names.get(code, "INTERNAL_ERROR"), "message": "injected fault"},
                          headers=headers)
                return True
            return False
        if kind == "reset_after":
            self.reset()
            return True
        return False

    def dispatch(self, verb):
        srv = self.server
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        raw = self.read_body()
        path = url.path
        if path.startswith("/_control/redirect"):  # a server that sends every request elsewhere
            return self.send(302, {}, headers={"Location": "http://192.0.2.1/elsewhere"})
        if path.startswith("/_control/"):
            return self.control(verb, path[len("/_control/"):], q, raw)
        if path == "/health":
            return self.send(200, "OK", ctype="text/plain")
        with srv.lock:
            srv.auth_seen.append(self.headers.get("Authorization"))
            if srv.auth is not None and self.headers.get("Authorization") != srv.auth:
                return self.send(401, "You are not authenticated. Please see "
                                      "https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow "
                                      "on how to authenticate.", ctype="text/plain")
        api_prefix = "/api/2.0/mlflow/"
        art_prefix = "/api/2.0/mlflow-artifacts/artifacts"
        if path.startswith(art_prefix):
            endpoint = "mlflow-artifacts"
        elif path.startswith(api_prefix):
            endpoint = path[len(api_prefix):]
        else:
            return self.send_mlflow_error(MlflowError("ENDPOINT_NOT_FOUND", "No API endpoint for %s" % path))
        fault = srv.pick_fault(endpoint)
        if fault and self.apply_fault(fault, before=True):
            return
        try:
            with srv.lock:
                srv.state.requests[endpoint] = srv.state.requests.get(endpoint, 0) + 1
                srv.state.log.append({"method": verb, "endpoint": endpoint, "bytes": len(raw)})
                if endpoint == "mlflow-artifacts":
                    result = self.artifacts(verb, path[len(art_prefix):], raw)
                else:
                    name = Api.ROUTES.get((verb, endpoint))
                    if name is None:
                        raise MlflowError("ENDPOINT_NOT_FOUND", "No API endpoint for %s %s" % (verb, path))
                    body = {}
                    if verb == "POST":
                        try:
                            body = json.loads(raw or b"{}")
                        except ValueError:
                            raise invalid("Malformed JSON body")
                    fn = getattr(srv.api, name)
                    if fault and fault.get("kind") == "concurrent_create" and name == "create_experiment":
                        fn(q, body)  # another job creates the same experiment just before this request
                    result = fn(q, body, raw) if name == "log_batch" else fn(q, body)
        except MlflowError as e:
            if fault and self.apply_fault(fault, before=False):
                return
            return self.send_mlflow_error(e)
        if fault and self.apply_fault(fault, before=False):
            return
        self.send(200, result)

    def artifacts(self, verb, rest, raw):
        s = self.server.state
        rel = urllib.parse.unquote(rest.lstrip("/"))
        if verb == "PUT":
            if not rel or path_not_unique(rel):
                raise invalid("Invalid path '%s'" % rel)
            s.artifacts[rel] = raw
            return {}
        if verb == "GET":  # list: ?path=...
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            base = q.get("path", [""])[0].strip("/")
            if rel:
                raise MlflowError("ENDPOINT_NOT_FOUND", "downloads are not faked")
            files = {}
            for k, v in s.artifacts.items():
                if base and not k.startswith(base + "/"):
                    continue
                sub = k[len(base) + 1:] if base else k
                head = sub.split("/", 1)[0]
                if "/" in sub:
                    files[head] = {"path": head, "is_dir": True}
                else:
                    files[head] = {"path": head, "is_dir": False, "file_size": len(v)}
            return {"files": sorted(files.values(), key=lambda f: f["path"])}
        raise MlflowError("ENDPOINT_NOT_FOUND", "method not allowed")

    def control(self, verb, what, q, raw):
        srv = self.server
        body = json.loads(raw or b"{}") if verb == "POST" else {}
        with srv.lock:
            if what == "state":
                return self.send(200, srv.state.snapshot())
            if what == "log":
                return self.send(200, srv.state.log)
            if what == "faults":
                srv.faults = body.get("rules", [])
                srv.rng = random.Random(body.get("seed", 1))
                return self.send(200, {})
            if what == "config":
                if "auth" in body:
                    srv.auth = body["auth"]
                return self.send(200, {})
            if what == "auth_seen":
                return self.send(200, srv.auth_seen)
            if what == "reset":
                srv.state.reset()
                srv.faults = []
                srv.auth = None
                srv.auth_seen = []
                return self.send(200, {})
            if what == "delete_run":  # as `mlflow runs delete`: the run goes to the trash
                srv.state.runs[body["run_id"]]["info"]["lifecycle_stage"] = "deleted"
                return self.send(200, {})
            if what == "delete_experiment":
                srv.api.exp_by_name(body["name"])["lifecycle_stage"] = "deleted"
                return self.send(200, {})
        self.send(404, {"error": "no such control endpoint"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), args.seed)
    print(srv.server_address[1], flush=True)
    parent = os.getppid()

    def watch_parent():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(0)
    threading.Thread(target=watch_parent, daemon=True).start()
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
