#!/usr/bin/env python3
"""A fake Vertex AI (plus OAuth token endpoint, GCE metadata server and Cloud Storage upload API) for the
mltrack tests. Python standard library only; listens on 127.0.0.1.

    fake_vertex.py [--port 0] [--discovery FILE] [--project-id ID] [--project-number N] [--seed S]

Prints the port on its first stdout line, then serves until killed (or until its parent process exits).

What it does, like the real service:
  * Routes every /v1/... request to the API method whose flatPath and HTTP verb match, using the discovery
    document; validates query parameters and the request body against the method's request schema
    (unknown fields, wrong types, wrong enum values, malformed int64/double/timestamps are rejected with
    400 INVALID_ARGUMENT and recorded in state["validation_errors"], which the tests require to be empty).
  * Enforces the service's id rule ([a-z0-9][a-z0-9-]*, 4-128 characters for metadata ids, 1-128 for
    TensorBoard experiments and runs) and answers 409 ALREADY_EXISTS to creates of what exists; records in
    state["sdk_errors"] what the Python SDK would refuse or never do (a model artifact outside Cloud Storage,
    a repointed TensorBoard link, a run made the child of a second experiment, a default TensorBoard not
    named as the SDK names it, a _state outside Execution.State, non-scalar params or metrics).
  * Keeps state: metadata stores, contexts (etags, parent/child links), artifacts, executions, events,
    tensorboards, tensorboard experiments/runs/time series with their points (same step overwrites), long
    running operations (done after a configurable number of polls), GCS objects, uploaded models.
  * Returns resource names with the project number, whatever the request used; checks that names sent in
    bodies are real server names.
  * Checks auth: Bearer tokens it issued (token endpoint, metadata server), configured static tokens, or
    self-signed RS256 JWTs verified with a public key the test registers (RSA verified in pure Python).
  * Injects faults from POST /_control/faults: HTTP statuses (429 with or without Retry-After, 500, 503),
    connection resets before or after applying a request, slow responses, and etag conflicts (a concurrent
    writer changes the context, so the client gets 409 ABORTED).

Control endpoints (no auth): GET /_control/state, POST /_control/faults, POST /_control/config,
POST /_control/reset, POST /_control/seed, GET /_control/log, GET /_control/stats, ANY /_control/echo,
GET /_control/status/<code>, GET /_control/slow?delay=S, GET /_control/reset_conn, and the Python SDK's
read path over the state (class SdkReader): GET /_control/sdk/experiment_df?experiment=E (the rows of
get_experiment_df and the side effects the SDK's read would have) and
GET /_control/sdk/experiment_run?experiment=E&run=R (ExperimentRun(R, E)).
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
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

HERE = os.path.dirname(os.path.abspath(__file__))


# ----------------------------------------------------------------------------------------------- errors

class ApiError(Exception):
    def __init__(self, code, status, message):
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


def bad(msg):
    return ApiError(400, "INVALID_ARGUMENT", msg)


def not_found(name):
    return ApiError(404, "NOT_FOUND", "%s not found." % name)


def exists(kind, name):
    return ApiError(409, "ALREADY_EXISTS", "%s with name %s already exists" % (kind, name))


# ----------------------------------------------------------------------------------------- discovery

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
INT_RE = re.compile(r"^-?\d+$")
BASE64_RE = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")
DURATION_RE = re.compile(r"^-?\d+(\.\d{1,9})?s$")


class Discovery:
    """Routes requests to methods and validates bodies against the schemas of a discovery document."""

    def __init__(self, path):
        with open(path) as f:
            doc = json.load(f)
        self.revision = doc.get("revision")
        self.schemas = doc["schemas"]
        self.global_params = doc.get("parameters", {})
        self.routes = []
        self._walk(doc)

    def _walk(self, node):
        for m in node.get("methods", {}).values():
            pattern = "^"
            for part in re.split(r"(\{[^}]+\})", m["flatPath"]):
                if part.startswith("{"):
                    pattern += "([^/:]+)"
                else:
                    pattern += re.escape(part)
            pattern += "$"
            self.routes.append((m["httpMethod"], re.compile(pattern), m))
        for r in node.get("resources", {}).values():
            self._walk(r)

    def route(self, verb, path):
        """(method, matched) for /v1/... paths; path without the leading slash."""
        for v, rx, m in self.routes:
            if v == verb and rx.match(path):
                return m
        return None

    def check_query(self, method, query):
        errors = []
        params = method.get("parameters", {})
        for k, values in query.items():
            p = params.get(k) or self.global_params.get(k)
            if p is None:
                errors.append("unknown query parameter %r" % k)
                continue
            if p.get("location") == "path":
                errors.append("path parameter %r given in the query" % k)
                continue
            if len(values) > 1 and not p.get("repeated"):
                errors.append("query parameter %r repeated" % k)
            for v in values:
                if p.get("type") == "integer" and not INT_RE.match(v):
                    errors.append("query parameter %r is not an integer: %r" % (k, v))
                if p.get("type") == "boolean" and v not in ("true", "false"):
                    errors.append("query parameter %r is not a boolean: %r" % (k, v))
                if "enum" in p and v not in p["enum"]:
                    errors.append("query parameter %r has an unknown value %r" % (k, v))
        for k, p in params.items():
            if p.get("required") and p.get("location") == "query" and k not in query:
                errors.append("missing required query parameter %r" % k)
        return errors

    def validate(self, ref, value):
        errors = []
        self._check({"$ref": ref}, value, "$", errors)
        return errors

    def _check(self, schema, value, where, errors):
        if "$ref" in schema:
            target = self.schemas.get(schema["$ref"])
            if target is None:
                errors.append("%s: unknown schema %s" % (where, schema["$ref"]))
                return
            schema = target
        t = schema.get("type")
        if t == "any":
            return
        if value is None:
            errors.append("%s: null is not allowed here" % where)
            return
        fmt = schema.get("format")
        if t == "string":
            if fmt in ("int64", "uint64"):
                ok = (isinstance(value, int) and not isinstance(value, bool)) or (
                    isinstance(value, str) and INT_RE.match(value))
                if not ok:
                    errors.append("%s: expected an int64 (string or integer), got %r" % (where, value))
                elif fmt == "uint64" and int(value) < 0:
                    errors.append("%s: negative uint64" % where)
                return
            if not isinstance(value, str):
                errors.append("%s: expected a string, got %s" % (where, type(value).__name__))
                return
            if fmt == "google-datetime" and not RFC3339.match(value):
                errors.append("%s: not an RFC 3339 timestamp: %r" % (where, value))
            if fmt == "byte" and not BASE64_RE.match(value):
                errors.append("%s: not base64: %r" % (where, value[:40]))
            if fmt == "google-duration" and not DURATION_RE.match(value):
                errors.append("%s: not a duration: %r" % (where, value))
            if "enum" in schema and value not in schema["enum"]:
                errors.append("%s: %r is not one of %s" % (where, value, schema["enum"]))
            return
        if t == "integer":
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, str) and INT_RE.match(value))
            if not ok:
                errors.append("%s: expected an integer, got %r" % (where, value))
            return
        if t == "number":
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or value in (
                "NaN", "Infinity", "-Infinity")
            if not ok:
                errors.append("%s: expected a number, got %r" % (where, value))
            return
        if t == "boolean":
            if not isinstance(value, bool):
                errors.append("%s: expected a boolean, got %r" % (where, value))
            return
        if t == "array":
            if not isinstance(value, list):
                errors.append("%s: expected an array, got %s" % (where, type(value).__name__))
                return
            for i, v in enumerate(value):
                self._check(schema.get("items", {"type": "any"}), v, "%s[%d]" % (where, i), errors)
            return
        if t == "object":
            if not isinstance(value, dict):
                errors.append("%s: expected an object, got %s" % (where, type(value).__name__))
                return
            props = schema.get("properties")
            addl = schema.get("additionalProperties")
            for k, v in value.items():
                if props is not None and k in props:
                    self._check(props[k], v, "%s.%s" % (where, k), errors)
                elif addl is not None:
                    self._check(addl, v, "%s[%r]" % (where, k), errors)
                elif props is not None:
                    errors.append("%s: unknown field %r" % (where, k))
            return
        errors.append("%s: schema without a type" % where)


# -------------------------------------------------------------------------------------------- filters

class Filter:
    """The AIP-160 subset the SDK uses: schema_title="x", display_name="x", parent_contexts:"x",
    child_contexts:"x", in_context("x"), is_default=true, metadata.k.string_value="x", AND, OR, NOT,
    parentheses."""

    TOKEN = re.compile(r'\s*(\(|\)|"(?:[^"\\]|\\.)*"|!=|=|:|[A-Za-z_][A-Za-z0-9_.]*|-?\d+(?:\.\d+)?)')

    def __init__(self, text):
        self.tokens = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = self.TOKEN.match(text, pos)
            if not m:
                raise bad("cannot parse filter %r at %d" % (text, pos))
            self.tokens.append(m.group(1))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0
        self.tree = self._or() if self.tokens else ("true",)
        if self.i != len(self.tokens):
            raise bad("cannot parse filter %r" % text)

    def _peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self, expect=None):
        t = self._peek()
        if t is None or (expect is not None and t != expect):
            raise bad("bad filter: expected %r" % expect)
        self.i += 1
        return t

    def _or(self):
        node = self._and()
        while self._peek() == "OR":
            self._take()
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._unary()
        while self._peek() == "AND":
            self._take()
            node = ("and", node, self._unary())
        return node

    def _unary(self):
        t = self._peek()
        if t == "NOT":
            self._take()
            return ("not", self._unary())
        if t == "(":
            self._take()
            node = self._or()
            self._take(")")
            return node
        name = self._take()
        if name == "in_context":
            self._take("(")
            v = self._value(self._take())
            self._take(")")
            return ("in_context", v)
        op = self._take()
        if op not in ("=", "!=", ":"):
            raise bad("bad filter operator %r" % op)
        return ("cmp", name, op, self._value(self._take()))

    @staticmethod
    def _value(tok):
        if tok.startswith('"'):
            return json.loads(tok)
        return tok

    def match(self, obj, ctx):
        return self._eval(self.tree, obj, ctx)

    def _eval(self, n, obj, ctx):
        kind = n[0]
        if kind == "true":
            return True
        if kind == "and":
            return self._eval(n[1], obj, ctx) and self._eval(n[2], obj, ctx)
        if kind == "or":
            return self._eval(n[1], obj, ctx) or self._eval(n[2], obj, ctx)
        if kind == "not":
            return not self._eval(n[1], obj, ctx)
        if kind == "in_context":
            return ctx.in_context(obj, n[1])
        _, field, op, value = n
        if field == "parent_contexts":
            got = obj.get("parentContexts", [])
            return value in got if op == ":" else False
        if field == "child_contexts":
            return ctx.has_child(obj, value)
        camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), field)
        if field.startswith("metadata."):
            parts = field.split(".")
            v = obj.get("metadata", {}).get(parts[1])
            if isinstance(v, bool):
                v = "true" if v else "false"
            got = None if v is None else str(v)
        elif field == "is_default":
            got = "true" if obj.get("isDefault") else "false"
        else:
            got = obj.get(camel)
            got = None if got is None else str(got)
        if op == "=":
            return got == value
        if op == "!=":
            return got != value
        return got is not None and value in got


# --------------------------------------------------------------------------------------------- crypto

def read_varint(buf, i):
    shift = value = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def proto_fields(buf):
    """(field number, wire type, value) of a protobuf message: ints for varints, bytes otherwise."""
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(buf, i)
        elif wire == 2:
            n, i = read_varint(buf, i)
            v = buf[i:i + n]
            if len(v) != n:
                raise ValueError("truncated field")
            i += n
        elif wire == 1:
            v = buf[i:i + 8]
            i += 8
        elif wire == 5:
            v = buf[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % wire)
        yield field, wire, v


def decode_histogram_tensor(data):
    """A histogram TensorProto as TensorBoard's histograms plugin reads it: DT_DOUBLE (2) or DT_FLOAT (1),
    shape [k, 3], values in tensor_content or double_val. Returns [[left, right, count], ...]."""
    dtype, dims, content, doubles = None, [], None, []
    for f, w, v in proto_fields(data):
        if f == 1 and w == 0:
            dtype = v
        elif f == 2 and w == 2:
            for df, dw, dv in proto_fields(v):
                if df == 2 and dw == 2:
                    size = 0
                    for sf, sw, sv in proto_fields(dv):
                        if sf == 1 and sw == 0:
                            size = sv
                    dims.append(size)
        elif f == 4 and w == 2:
            content = v
        elif f == 6 and w == 1:
            doubles.append(struct.unpack("<d", v)[0])
    if dtype not in (1, 2):
        raise ValueError("histogram tensor dtype %r is not DT_DOUBLE or DT_FLOAT" % dtype)
    if len(dims) != 2 or dims[1] != 3:
        raise ValueError("histogram tensor shape %r is not [k, 3]" % dims)
    if content is not None:
        width = 8 if dtype == 2 else 4
        fmt = "<%d%s" % (len(content) // width, "d" if dtype == 2 else "f")
        if len(content) % width:
            raise ValueError("tensor_content is not a whole number of values")
        doubles = list(struct.unpack(fmt, content))
    if len(doubles) != dims[0] * 3:
        raise ValueError("%d values for shape %r" % (len(doubles), dims))
    return [doubles[i:i + 3] for i in range(0, len(doubles), 3)]


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def rs256_verify(n, e, signing_input, signature):
    """RSASSA-PKCS1-v1_5 with SHA-256, verified with the public key (n, e) in pure Python."""
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    m = pow(int.from_bytes(signature, "big"), e, n)
    em = m.to_bytes(k, "big")
    digest = hashlib.sha256(signing_input).digest()
    t = SHA256_PREFIX + digest
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return em == expected


# ---------------------------------------------------------------------------------------------- state

def now_rfc3339():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


# The service's id rule: [a-z0-9][a-z0-9-]*, metadata ids (contexts, artifacts, executions) 4 to 128
# characters, TensorBoard experiment and run ids 1 to 128.
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{3,127}$")
TB_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
DEFAULT_TB_NAME_RE = re.compile(r"^Default Tensorboard \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?$")
TS_ID_RE = re.compile(r"^[a-z0-9]{0,127}$")
STATES = {"STATE_UNSPECIFIED", "NEW", "RUNNING", "COMPLETE", "FAILED", "CACHED", "CANCELLED"}


class State:
    def __init__(self, cfg):
        self.cfg = cfg
        self.reset()

    def reset(self):
        self.stores = {}
        self.contexts = {}
        self.artifacts = {}
        self.executions = {}
        self.context_artifacts = {}
        self.context_executions = {}
        self.events = []
        self.tensorboards = {}
        self.tb_experiments = {}
        self.tb_runs = {}
        self.time_series = {}
        self.points = {}        # ts name -> {step: {"step", "wallTime", "value"}}
        self.point_writes = 0   # points received in write requests
        self.overwrites = 0     # points received for a step that already had one
        self.write_requests = 0
        self.operations = {}
        self.pending_creates = set()
        self.objects = {}       # "bucket/name" -> bytes
        self.models = {}
        self.validation_errors = []
        self.sdk_errors = []
        self.unknown = []
        self.requests_by_method = {}
        self.faults_injected = {}
        self.etag_counter = 1000
        self.id_counter = 0

    # ---- helpers
    def next_etag(self):
        self.etag_counter += 1
        return str(self.etag_counter)

    def numeric_id(self):
        self.id_counter += 1
        return str(7000000000000000000 + self.id_counter * 7919)

    def in_context(self, obj, ctx_name):
        name = obj.get("name")
        return name in self.context_artifacts.get(ctx_name, set()) or name in self.context_executions.get(
            ctx_name, set())

    def has_child(self, obj, child):
        c = self.contexts.get(child)
        return c is not None and obj["name"] in c.get("parentContexts", [])

    def dump(self):
        def points_of(ts):
            return [self.points[ts][s] for s in sorted(self.points.get(ts, {}))]
        return {
            "stores": self.stores,
            "contexts": self.contexts,
            "artifacts": self.artifacts,
            "executions": self.executions,
            "context_artifacts": {k: sorted(v) for k, v in self.context_artifacts.items()},
            "context_executions": {k: sorted(v) for k, v in self.context_executions.items()},
            "events": self.events,
            "tensorboards": self.tensorboards,
            "tb_experiments": self.tb_experiments,
            "tb_runs": self.tb_runs,
            "time_series": {k: dict(v, points=points_of(k)) for k, v in self.time_series.items()},
            "point_writes": self.point_writes,
            "overwrites": self.overwrites,
            "write_requests": self.write_requests,
            "operations": {k: v["op"] for k, v in self.operations.items()},
            "metadata_stores_pending": sorted(self.pending_creates),
            "objects": {k: {"size": len(v), "sha256": hashlib.sha256(v).hexdigest()}
                        for k, v in self.objects.items()},
            "models": self.models,
            "validation_errors": self.validation_errors,
            "sdk_errors": self.sdk_errors,
            "unknown": self.unknown,
            "requests_by_method": self.requests_by_method,
            "faults_injected": self.faults_injected,
        }


# ------------------------------------------------------------------------------------------- the API

class Api:
    """Handlers for the API methods the Vertex sink and the SDK use. `p` is the normalized path (project
    number), `q` the query (dict of lists), `b` the validated body."""

    def __init__(self, server):
        self.srv = server
        self.s = server.state

    @property
    def number(self):
        return self.srv.cfg["project_number"]

    # -------- helpers
    def page(self, items, q, default, maximum):
        size = int(q.get("pageSize", [default])[0] or default)
        if size <= 0:
            size = default
        size = min(size, maximum, self.srv.cfg.get("page_cap") or maximum)
        start = int(q.get("pageToken", ["0"])[0] or 0)
        chunk = items[start:start + size]
        token = str(start + size) if start + size < len(items) else ""
        return chunk, token

    def lro(self, response=None, error=None, on_done=None):
        """A long-running operation; `on_done` applies its effect when it completes (resources created by an
        LRO appear, and deleted ones disappear, only then)."""
        name = "projects/%s/locations/%s/operations/%s" % (self.number, self.srv.location_of_last, self.s.numeric_id())
        op = {"name": name, "done": False,
              "metadata": {"@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata"}}
        self.s.operations[name] = {"op": op, "polls": self.srv.cfg.get("lro_polls", 1), "response": response,
                                   "error": error, "on_done": on_done,
                                   "deadline": time.time() + self.srv.cfg.get("lro_seconds", 0.3)}
        if self.srv.cfg.get("lro_polls", 1) <= 0:
            self.finish_lro(name)
        return dict(self.s.operations[name]["op"])

    def tick_operations(self):
        """Operations complete after a few polls, or on their own after lro_seconds, like the real service
        (where an operation whose answer was lost still completes)."""
        now = time.time()
        for name, entry in list(self.s.operations.items()):
            if not entry["op"]["done"] and now >= entry["deadline"]:
                self.finish_lro(name)

    def finish_lro(self, name):
        entry = self.s.operations[name]
        op = entry["op"]
        op["done"] = True
        if entry.get("on_done"):
            entry.pop("on_done")()
        if entry["error"] is not None:
            op["error"] = entry["error"]
        else:
            op["response"] = entry["response"] if entry["response"] is not None else {
                "@type": "type.googleapis.com/google.protobuf.Empty"}

    def check_display_name(self, b):
        dn = b.get("displayName")
        if dn is not None and len(dn) > 128:
            raise bad("displayName is longer than 128 characters")

    def check_labels(self, b):
        labels = b.get("labels") or {}
        if len(labels) > 64:
            raise bad("more than 64 labels")
        for k, v in labels.items():
            if not re.match(r"^[a-z0-9_-]{1,64}$", k) or not re.match(r"^[a-z0-9_-]{0,64}$", v):
                raise bad("label %r=%r does not follow the label rules" % (k, v))

    def check_metadata(self, b):
        md = b.get("metadata")
        if md is not None and len(json.dumps(md)) > 200 * 1024:
            raise bad("metadata is larger than 200KB")

    def sdk(self, msg):
        self.s.sdk_errors.append(msg)

    def check_run_context(self, ctx):
        """What the Python SDK needs of a system.ExperimentRun context to read it back."""
        md = ctx.get("metadata", {})
        if ctx.get("schemaTitle") != "system.ExperimentRun":
            return
        if md.get("_state") not in STATES:
            self.sdk("context %s: _state %r is not an Execution.State name" % (ctx["name"], md.get("_state")))
        for key in ("_params", "_metrics"):
            v = md.get(key, {})
            if not isinstance(v, dict):
                self.sdk("context %s: %s is not an object" % (ctx["name"], key))
                continue
            for k, x in v.items():
                if isinstance(x, (dict, list)) or x is None:
                    self.sdk("context %s: %s[%r] is not a scalar" % (ctx["name"], key, k))

    def exists_ref(self, table, name, what):
        if name not in table:
            if re.match(r"^projects/[a-z]", name or ""):
                raise bad("%s %s uses a project id; use the resource name the server returned" % (what, name))
            raise not_found(name)

    # -------- metadata stores
    def metadataStores_get(self, p, q, b):
        if p not in self.s.stores:
            raise not_found(p)
        return self.s.stores[p]

    def metadataStores_create(self, p, q, b):
        sid = q.get("metadataStoreId", ["default"])[0]
        name = p + "/" + sid
        if name in self.s.stores:
            raise exists("MetadataStore", name)
        store = {"name": name, "createTime": now_rfc3339(), "updateTime": now_rfc3339(),
                 "state": {"diskUtilizationBytes": "0"}}
        if "encryptionSpec" in b:
            store["encryptionSpec"] = b["encryptionSpec"]
        if name in self.s.pending_creates:
            raise exists("MetadataStore", name)
        self.s.pending_creates.add(name)

        def done():
            self.s.pending_creates.discard(name)
            self.s.stores[name] = store
        return self.lro(response=dict(store, **{"@type": "type.googleapis.com/google.cloud.aiplatform.v1.MetadataStore"}),
                        on_done=done)

    def store_of(self, p):
        m = re.match(r"^(projects/[^/]+/locations/[^/]+/metadataStores/[^/]+)", p)
        if not m or m.group(1) not in self.s.stores:
            raise not_found(m.group(1) if m else p)
        return m.group(1)

    # -------- contexts / artifacts / executions (shared logic)
    def md_create(self, table, kind, idparam, p, q, b):
        self.store_of(p)
        rid = q.get(idparam, [None])[0]
        if rid is None:
            rid = str(uuid.uuid4())
        elif not ID_RE.match(rid):
            raise bad("%s %r: valid characters are /[a-z][0-9]-/, starting with a letter or digit, and the length "
                      "is 4 to 128" % (idparam, rid))
        name = p + "/" + rid
        if name in table:
            raise exists(kind, name)
        for f in ("name", "createTime", "updateTime", "parentContexts"):
            if f in b:
                raise bad("%s is output only and cannot be set on create" % f)
        if not b.get("schemaTitle"):
            raise bad("schema_title is required")
        self.check_display_name(b)
        self.check_labels(b)
        self.check_metadata(b)
        if kind == "Artifact" and b.get("schemaTitle") == "google.ExperimentModel" and \
                not str(b.get("uri", "")).startswith("gs://"):
            self.sdk("artifact %s: an ExperimentModel at %r (the SDK's log_model stores models in Cloud Storage "
                     "only)" % (name, b.get("uri")))
        obj = dict(b)
        obj["name"] = name
        obj["createTime"] = obj["updateTime"] = now_rfc3339()
        obj["etag"] = self.s.next_etag()
        obj.setdefault("metadata", {})
        obj.setdefault("schemaVersion", "")
        if kind == "Context":
            obj["parentContexts"] = []
        table[name] = obj
        if kind == "Context":
            self.check_run_context(obj)
        return obj

    def md_get(self, table, p):
        if p not in table:
            raise not_found(p)
        return table[p]

    def md_patch(self, table, kind, p, q, b):
        if q.get("updateMask"):
            raise bad("updateMask is not supported by this fake (the SDK sends none)")
        allow_missing = q.get("allowMissing", ["false"])[0] == "true"
        if p not in table:
            if allow_missing:
                self.sdk("PATCH %s with allowMissing=true (the SDK never upserts)" % p)
            raise not_found(p)
        obj = table[p]
        if kind == "Context" and p in self.srv.pending_conflicts:
            # A concurrent writer (another process, the console) changed the context meanwhile.
            self.srv.pending_conflicts.discard(p)
            obj.setdefault("metadata", {}).setdefault("_params", {})["concurrent_writer"] = "yes"
            obj["etag"] = self.s.next_etag()
        if b.get("name") not in (None, p):
            raise bad("name in the body (%s) does not match the URL (%s)" % (b.get("name"), p))
        if b.get("etag") not in (None, "") and b["etag"] != obj["etag"]:
            raise ApiError(409, "ABORTED", "Specified %s `etag`: `%s` does not match server `etag`: `%s`"
                           % (kind, b["etag"], obj["etag"]))
        if kind == "Artifact" and obj.get("schemaTitle") == "google.VertexTensorboardRun" and \
                (b.get("metadata") or {}).get("resourceName") != obj.get("metadata", {}).get("resourceName"):
            self.sdk("artifact %s: the TensorBoard link of a run was repointed (the SDK never changes it)" % p)
        self.check_display_name(b)
        self.check_labels(b)
        self.check_metadata(b)
        # A full update: every mutable field takes the body's value (absent = cleared).
        for f in ("displayName", "description", "labels", "metadata", "schemaTitle", "schemaVersion", "uri",
                  "state"):
            if f in ("uri", "state") and kind == "Context":
                continue
            if f in b:
                obj[f] = b[f]
            elif f in obj:
                if f in ("schemaTitle", "schemaVersion", "displayName"):
                    self.sdk("PATCH %s cleared %s (a PATCH without updateMask is a full update)" % (p, f))
                del obj[f]
        obj["updateTime"] = now_rfc3339()
        obj["etag"] = self.s.next_etag()
        if kind == "Context":
            self.check_run_context(obj)
        return obj

    def md_list(self, table, p, q, kind):
        filt = Filter(q.get("filter", [""])[0])
        items = [o for n, o in table.items() if n.startswith(p + "/") and filt.match(o, self.s)]
        chunk, token = self.page(items, q, 100, 100)
        out = {kind: chunk}
        if token:
            out["nextPageToken"] = token
        return out

    def md_delete(self, table, p, q):
        if p not in table:
            raise not_found(p)
        etag = q.get("etag", [None])[0]
        if etag is not None and etag != table[p]["etag"]:
            raise ApiError(400, "FAILED_PRECONDITION", "etag mismatch")

        def done():
            table.pop(p, None)
            for c in self.s.contexts.values():
                if p in c.get("parentContexts", []):
                    c["parentContexts"].remove(p)
            self.s.context_artifacts.pop(p, None)
            self.s.context_executions.pop(p, None)
            for s in list(self.s.context_artifacts.values()) + list(self.s.context_executions.values()):
                s.discard(p)
        return self.lro(on_done=done)

    def contexts_create(self, p, q, b):
        return self.md_create(self.s.contexts, "Context", "contextId", p, q, b)

    def contexts_get(self, p, q, b):
        return self.md_get(self.s.contexts, p)

    def contexts_patch(self, p, q, b):
        return self.md_patch(self.s.contexts, "Context", p, q, b)

    def contexts_list(self, p, q, b):
        return self.md_list(self.s.contexts, p, q, "contexts")

    def contexts_delete(self, p, q, b):
        return self.md_delete(self.s.contexts, p, q)

    def contexts_addContextChildren(self, p, q, b):
        ctx = self.md_get(self.s.contexts, p)
        for child in b.get("childContexts", []):
            self.exists_ref(self.s.contexts, child, "childContexts")
            c = self.s.contexts[child]
            if child == p:
                raise bad("a context cannot be its own child")
            if p not in c["parentContexts"]:
                if len(c["parentContexts"]) >= 10:
                    raise bad("context %s would have more than 10 parents" % child)
                others = [x for x in c["parentContexts"]
                          if self.s.contexts.get(x, {}).get("schemaTitle") == "system.Experiment"]
                if others and ctx.get("schemaTitle") == "system.Experiment":
                    self.sdk("context %s made a child of %s while it is a run of %s" % (child, p, others[0]))
                c["parentContexts"].append(p)
        del ctx
        return {}

    def contexts_addContextArtifactsAndExecutions(self, p, q, b):
        self.md_get(self.s.contexts, p)
        for a in b.get("artifacts", []):
            self.exists_ref(self.s.artifacts, a, "artifacts")
        for e in b.get("executions", []):
            self.exists_ref(self.s.executions, e, "executions")
        self.s.context_artifacts.setdefault(p, set()).update(b.get("artifacts", []))
        self.s.context_executions.setdefault(p, set()).update(b.get("executions", []))
        return {}

    def artifacts_create(self, p, q, b):
        return self.md_create(self.s.artifacts, "Artifact", "artifactId", p, q, b)

    def artifacts_get(self, p, q, b):
        return self.md_get(self.s.artifacts, p)

    def artifacts_patch(self, p, q, b):
        return self.md_patch(self.s.artifacts, "Artifact", p, q, b)

    def artifacts_list(self, p, q, b):
        return self.md_list(self.s.artifacts, p, q, "artifacts")

    def artifacts_delete(self, p, q, b):
        return self.md_delete(self.s.artifacts, p, q)

    def executions_create(self, p, q, b):
        return self.md_create(self.s.executions, "Execution", "executionId", p, q, b)

    def executions_get(self, p, q, b):
        return self.md_get(self.s.executions, p)

    def executions_patch(self, p, q, b):
        return self.md_patch(self.s.executions, "Execution", p, q, b)

    def executions_list(self, p, q, b):
        return self.md_list(self.s.executions, p, q, "executions")

    def executions_delete(self, p, q, b):
        return self.md_delete(self.s.executions, p, q)

    def executions_addExecutionEvents(self, p, q, b):
        self.md_get(self.s.executions, p)
        for ev in b.get("events", []):
            if "execution" in ev or "eventTime" in ev:
                raise bad("event.execution and event.eventTime are output only")
            self.exists_ref(self.s.artifacts, ev.get("artifact"), "event.artifact")
            if ev.get("type") not in ("INPUT", "OUTPUT"):
                raise bad("event type must be INPUT or OUTPUT")
        for ev in b.get("events", []):
            self.s.events.append({"artifact": ev["artifact"], "execution": p, "type": ev["type"],
                                  "eventTime": now_rfc3339()})
        return {}

    def executions_queryExecutionInputsAndOutputs(self, p, q, b):
        ex = self.md_get(self.s.executions, p)
        evs = [e for e in self.s.events if e["execution"] == p]
        arts = []
        for e in evs:
            a = self.s.artifacts.get(e["artifact"])
            if a is not None and a not in arts:
                arts.append(a)
        return {"artifacts": arts, "executions": [ex], "events": evs}

    # -------- tensorboards
    def tensorboards_list(self, p, q, b):
        filt = Filter(q.get("filter", [""])[0])
        items = [t for n, t in self.s.tensorboards.items() if n.startswith(p + "/") and filt.match(t, self.s)]
        chunk, token = self.page(items, q, 100, 100)
        out = {"tensorboards": chunk}
        if token:
            out["nextPageToken"] = token
        return out

    def tensorboards_get(self, p, q, b):
        return self.md_get(self.s.tensorboards, p)

    def tensorboards_create(self, p, q, b):
        if not b.get("displayName"):
            raise bad("display_name is required")
        if b.get("isDefault") and not DEFAULT_TB_NAME_RE.match(b["displayName"]):
            self.sdk("default TensorBoard named %r, not as the SDK names it" % b["displayName"])
        self.check_labels(b)
        name = p + "/" + self.s.numeric_id()
        tb = dict(b, name=name, createTime=now_rfc3339(), updateTime=now_rfc3339(), etag=self.s.next_etag(),
                  runCount=0, blobStoragePathPrefix="fake-bucket/tb-" + name.rsplit("/", 1)[1])
        def done():
            if tb.get("isDefault"):
                for other in self.s.tensorboards.values():
                    other["isDefault"] = False
            self.s.tensorboards[name] = tb
        return self.lro(response=dict(tb, **{"@type": "type.googleapis.com/google.cloud.aiplatform.v1.Tensorboard"}),
                        on_done=done)

    def tensorboards_delete(self, p, q, b):
        return self.md_delete(self.s.tensorboards, p, q)

    def tensorboards_batchRead(self, p, q, b):
        self.md_get(self.s.tensorboards, p)
        names = q.get("timeSeries", [])
        if len(names) > 20:
            raise bad("at most 20 time series per batchRead")
        out = []
        for n in names:
            ts = self.md_get(self.s.time_series, n)
            pts = [self.s.points[n][s] for s in sorted(self.s.points.get(n, {}))]
            if len(pts) > 1000:
                pts = sorted(random.Random(0).sample(pts, 1000), key=lambda x: int(x["step"]))
            out.append(self.ts_data(ts, pts))
        return {"timeSeriesData": out}

    @staticmethod
    def point_json(x):
        out = {"step": x["step"], "wallTime": x["wallTime"]}
        if "tensor" in x:
            out["tensor"] = {"value": x["tensor"]}
        else:
            out["scalar"] = {"value": x["value"]}
        return out

    def ts_data(self, ts, pts):
        return {"tensorboardTimeSeriesId": ts["name"].rsplit("/", 1)[1], "valueType": ts["valueType"],
                "values": [self.point_json(x) for x in pts]}

    def tb_experiments_create(self, p, q, b):
        self.md_get(self.s.tensorboards, p.rsplit("/experiments", 1)[0])
        eid = q.get("tensorboardExperimentId", [""])[0]
        if not TB_ID_RE.match(eid):
            raise bad("Field: tensorboard_experiment_id; Message: Valid characters are /[a-z][0-9]-/.")
        name = p + "/" + eid
        if name in self.s.tb_experiments:
            raise exists("TensorboardExperiment", name)
        self.check_display_name(b)
        self.check_labels(b)
        obj = dict(b, name=name, createTime=now_rfc3339(), updateTime=now_rfc3339(), etag=self.s.next_etag())
        self.s.tb_experiments[name] = obj
        return obj

    def tb_experiments_get(self, p, q, b):
        return self.md_get(self.s.tb_experiments, p)

    def tb_experiments_list(self, p, q, b):
        items = [o for n, o in self.s.tb_experiments.items() if n.startswith(p + "/")]
        chunk, token = self.page(items, q, 50, 1000)
        out = {"tensorboardExperiments": chunk}
        if token:
            out["nextPageToken"] = token
        return out

    def tb_experiments_delete(self, p, q, b):
        self.md_get(self.s.tb_experiments, p)
        def done():
            for table in (self.s.tb_runs, self.s.time_series):
                for n in [n for n in table if n.startswith(p + "/")]:
                    del table[n]
            self.s.tb_experiments.pop(p, None)
        return self.lro(on_done=done)

    def tb_experiments_batchCreate(self, p, q, b):
        self.md_get(self.s.tb_experiments, p)
        reqs = b.get("requests", [])
        if len(reqs) > 1000:
            raise bad("at most 1000 time series per batchCreate")
        seen = set()
        for r in reqs:
            parent = r.get("parent", "")
            if not parent.startswith(p + "/runs/"):
                raise bad("parent %r is not a run of %s" % (parent, p))
            self.exists_ref(self.s.tb_runs, parent, "parent")
            ts = r.get("tensorboardTimeSeries") or {}
            self.check_new_ts(parent, ts, r.get("tensorboardTimeSeriesId"))
            key = (parent, ts.get("displayName"))
            if key in seen:
                raise bad("duplicate display name %r in one batch" % ts.get("displayName"))
            seen.add(key)
        return {"tensorboardTimeSeries": [self.add_ts(r["parent"], r["tensorboardTimeSeries"],
                                                      r.get("tensorboardTimeSeriesId")) for r in reqs]}

    def tb_experiments_write(self, p, q, b):
        self.md_get(self.s.tb_experiments, p)
        reqs = b.get("writeRunDataRequests", [])
        total = sum(len(t.get("values", [])) for r in reqs for t in r.get("timeSeriesData", []))
        if total > 5000:
            raise bad("a write request holds at most 5000 data points (got %d)" % total)
        for r in reqs:
            self.write_points(r.get("tensorboardRun", ""), r.get("timeSeriesData", []), check_only=True)
        for r in reqs:
            self.write_points(r["tensorboardRun"], r.get("timeSeriesData", []))
        return {}

    def tb_runs_create(self, p, q, b):
        self.md_get(self.s.tb_experiments, p.rsplit("/runs", 1)[0])
        rid = q.get("tensorboardRunId", [""])[0]
        if not TB_ID_RE.match(rid):
            raise bad("Field: tensorboard_run_id; Message: Valid characters are /[a-z][0-9]-/.")
        name = p + "/" + rid
        if name in self.s.tb_runs:
            raise exists("TensorboardRun", name)
        if not b.get("displayName"):
            raise bad("display_name is required")
        for n, r in self.s.tb_runs.items():
            if n.startswith(p + "/") and r.get("displayName") == b["displayName"]:
                raise exists("TensorboardRun with display name", b["displayName"])
        self.check_display_name(b)
        obj = dict(b, name=name, createTime=now_rfc3339(), updateTime=now_rfc3339(), etag=self.s.next_etag())
        self.s.tb_runs[name] = obj
        return obj

    def tb_runs_get(self, p, q, b):
        return self.md_get(self.s.tb_runs, p)

    def tb_runs_list(self, p, q, b):
        items = [o for n, o in self.s.tb_runs.items() if n.startswith(p + "/")]
        chunk, token = self.page(items, q, 50, 1000)
        out = {"tensorboardRuns": chunk}
        if token:
            out["nextPageToken"] = token
        return out

    def tb_runs_delete(self, p, q, b):
        self.md_get(self.s.tb_runs, p)
        def done():
            for n in [n for n in self.s.time_series if n.startswith(p + "/")]:
                del self.s.time_series[n]
            self.s.tb_runs.pop(p, None)
        return self.lro(on_done=done)

    def tb_runs_write(self, p, q, b):
        self.md_get(self.s.tb_runs, p)
        data = b.get("timeSeriesData", [])
        total = sum(len(t.get("values", [])) for t in data)
        if total > 5000:
            raise bad("a write request holds at most 5000 data points (got %d)" % total)
        if "tensorboardRun" in b and b["tensorboardRun"] != p:
            raise bad("tensorboardRun in the body does not match the URL")
        self.write_points(p, data, check_only=True)
        self.write_points(p, data)
        return {}

    def write_points(self, run, data, check_only=False):
        if not check_only:
            self.s.write_requests += 1
        self.exists_ref(self.s.tb_runs, run, "tensorboardRun")
        for t in data:
            tsid = t.get("tensorboardTimeSeriesId", "")
            name = run + "/timeSeries/" + tsid
            ts = self.s.time_series.get(name)
            if ts is None:
                raise not_found(name)
            if t.get("valueType", ts["valueType"]) != ts["valueType"]:
                raise bad("valueType %s does not match the time series (%s)" % (t.get("valueType"), ts["valueType"]))
            for v in t.get("values", []):
                buckets = None
                if ts["valueType"] == "TENSOR":
                    if "step" not in v or "value" not in v.get("tensor", {}):
                        raise bad("a TENSOR data point needs step and tensor.value")
                    if ts.get("pluginName") == "histograms":
                        try:
                            buckets = decode_histogram_tensor(base64.b64decode(v["tensor"]["value"]))
                        except Exception as e:
                            raise bad("tensor.value is not a histogram TensorProto: %s" % e)
                elif "step" not in v or "scalar" not in v or "value" not in v["scalar"]:
                    raise bad("a SCALAR data point needs step and scalar.value")
                if check_only:
                    continue
                step = int(v["step"])
                pts = self.s.points.setdefault(name, {})
                self.s.point_writes += 1
                if step in pts:
                    self.s.overwrites += 1
                point = {"step": str(step), "wallTime": v.get("wallTime", now_rfc3339())}
                if buckets is not None:
                    point["tensor"] = v["tensor"]["value"]
                    point["buckets"] = buckets
                else:
                    point["value"] = v["scalar"]["value"]
                pts[step] = point
                md = ts.setdefault("metadata", {})
                if "maxStep" not in md or step >= int(md["maxStep"]):
                    md["maxStep"] = str(step)
                    md["maxWallTime"] = pts[step]["wallTime"]

    def check_new_ts(self, parent, b, tsid):
        if not b.get("displayName"):
            raise bad("display_name is required")
        if b.get("valueType") not in ("SCALAR", "TENSOR", "BLOB_SEQUENCE"):
            raise bad("value_type is required")
        if tsid is not None and not TS_ID_RE.match(tsid):
            raise bad("tensorboard_time_series_id must match [a-z0-9]{0,127}")
        for n, t in self.s.time_series.items():
            if n.startswith(parent + "/timeSeries/") and t["displayName"] == b["displayName"]:
                raise exists("TensorboardTimeSeries with display name", b["displayName"])

    def add_ts(self, parent, b, tsid):
        tsid = tsid or self.s.numeric_id()
        name = parent + "/timeSeries/" + tsid
        if name in self.s.time_series:
            raise exists("TensorboardTimeSeries", name)
        obj = dict(b, name=name, createTime=now_rfc3339(), updateTime=now_rfc3339(), etag=self.s.next_etag())
        self.s.time_series[name] = obj
        return obj

    def ts_create(self, p, q, b):
        self.md_get(self.s.tb_runs, p.rsplit("/timeSeries", 1)[0])
        tsid = q.get("tensorboardTimeSeriesId", [None])[0]
        self.check_new_ts(p.rsplit("/timeSeries", 1)[0], b, tsid)
        return self.add_ts(p.rsplit("/timeSeries", 1)[0], b, tsid)

    def ts_get(self, p, q, b):
        return self.md_get(self.s.time_series, p)

    def ts_list(self, p, q, b):
        self.md_get(self.s.tb_runs, p.rsplit("/timeSeries", 1)[0])
        filt = Filter(q.get("filter", [""])[0])
        items = [o for n, o in self.s.time_series.items() if n.startswith(p + "/") and filt.match(o, self.s)]
        chunk, token = self.page(items, q, 50, 1000)
        out = {"tensorboardTimeSeries": chunk}
        if token:
            out["nextPageToken"] = token
        return out

    def ts_read(self, p, q, b):
        ts = self.md_get(self.s.time_series, p)
        maxp = int(q.get("maxDataPoints", ["1000"])[0])
        pts = [self.s.points[p][s] for s in sorted(self.s.points.get(p, {}))]
        if maxp > 10000:
            raise bad("maxDataPoints can't be greater than 10k")
        if maxp != -1 and len(pts) > maxp:
            pts = sorted(random.Random(0).sample(pts, maxp), key=lambda x: int(x["step"]))
        return {"timeSeriesData": self.ts_data(ts, pts)}

    def ts_export(self, p, q, b):
        ts = self.md_get(self.s.time_series, p)
        if b.get("orderBy") or b.get("filter"):
            raise bad("orderBy and filter are not implemented by this fake")
        # "By default, TensorboardTimeSeries' data is returned in a pseudo random order" (stable across pages).
        pts = [self.s.points[p][s] for s in sorted(self.s.points.get(p, {}),
                                                   key=lambda s: hashlib.sha256(str(s).encode()).digest())]
        size = int(b.get("pageSize", 1000) or 1000)
        if size > 10000:
            raise bad("page_size must be at most 10000")
        start = int(b.get("pageToken") or 0)
        chunk = pts[start:start + size]
        out = {"timeSeriesDataPoints": [self.point_json(x) for x in chunk]}
        if start + size < len(pts):
            out["nextPageToken"] = str(start + size)
        del ts
        return out

    # -------- operations, models
    def operations_get(self, p, q, b):
        entry = self.s.operations.get(p)
        if entry is None:
            raise not_found(p)
        if not entry["op"]["done"]:
            entry["polls"] -= 1
            if entry["polls"] <= 0:
                self.finish_lro(p)
        return entry["op"]

    def models_upload(self, p, q, b):
        model = b.get("model") or {}
        if not model.get("displayName"):
            raise bad("model.display_name is required")
        mid = b.get("modelId") or self.s.numeric_id()
        name = p + "/" + mid
        obj = dict(model, name=name, versionId="1", createTime=now_rfc3339())
        self.s.models[name] = obj
        return self.lro(response={"@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse",
                                  "model": name, "modelVersionId": "1"})


# ------------------------------------------------------------------------ the Python SDK's read path

class SdkReader:
    """What the Python SDK (google-cloud-aiplatform, metadata/experiment_resources.py and
    experiment_run_resource.py) reads from this state, written from its source: get_experiment_df rows,
    ExperimentRun(run, experiment), and the side effects its read path would have. An independent check of
    what the sink made: the tests compare its rows with what they logged."""

    def __init__(self, state, store):
        self.s = state
        self.store = store

    def in_context(self, table, ctx_name):
        names = self.s.context_artifacts.get(ctx_name, set()) | self.s.context_executions.get(ctx_name, set())
        return [o for n, o in table.items() if n in names]

    def experiment(self, exp):
        ctx = self.s.contexts.get(self.store + "/contexts/" + exp)
        if ctx is None:
            return None, {"error": "NotFound: Context %s" % exp}
        if ctx.get("schemaTitle") != "system.Experiment":
            return None, {"error": "ValueError: %s is a %s, not a system.Experiment" % (exp, ctx.get("schemaTitle"))}
        if "tensorboard_link" in ctx.get("metadata", {}):
            return None, {"error": "ValueError: %s is a TensorboardExperiment context" % exp}
        return ctx, None

    def tb_link(self, run_ctx):
        """_lookup_tensorboard_run_artifact: the artifact '<context id>-tb-run' when it qualifies."""
        art = self.s.artifacts.get(run_ctx["name"].replace("/contexts/", "/artifacts/") + "-tb-run")
        if art is None or art.get("schemaTitle") != "google.VertexTensorboardRun" or \
                not art.get("metadata", {}).get("vertex_experiment_tracking"):
            return None
        return art["metadata"].get("resourceName")

    def latest_time_series(self, tbr):
        out = {}
        for name, ts in self.s.time_series.items():
            if not name.startswith(tbr + "/timeSeries/") or ts.get("valueType") != "SCALAR":
                continue
            pts = self.s.points.get(name, {})
            if pts:
                out[ts["displayName"]] = pts[max(pts)]["value"]
        return out

    def experiment_run_row(self, exp_ctx, c, side_effects):
        md = c.get("metadata", {})
        row = {"run_name": c.get("displayName"), "run_type": c["schemaTitle"],
               "state": md.get("_state", "STATE_UNSPECIFIED")}
        for prefix, d in (("param", md.get("_params", {})), ("metric", md.get("_metrics", {}))):
            for k, v in d.items():
                row["%s.%s" % (prefix, k)] = v
        tbr = self.tb_link(c)
        if tbr is None:
            if exp_ctx.get("metadata", {}).get("backing_tensorboard_resource"):
                # _initialize_experiment_run -> _assign_to_experiment_backing_tensorboard: while reading.
                side_effects.append("creates a TensorBoard run and the artifact %s-tb-run for run %s while reading"
                                    % (c["name"].rsplit("/", 1)[1], c.get("displayName")))
        elif tbr not in self.s.tb_runs:
            side_effects.append("fails: the TensorBoard run %s of run %s does not exist" % (tbr, c.get("displayName")))
        else:
            for k, v in self.latest_time_series(tbr).items():
                row["time_series_metric." + k] = v
        return row

    def pipeline_run_row(self, c):
        row = {"run_name": c.get("displayName"), "run_type": c["schemaTitle"]}
        runs = [e for e in self.in_context(self.s.executions, c["name"]) if e.get("schemaTitle") == "system.Run"]
        if runs:
            for k, v in runs[0].get("metadata", {}).items():
                if k.startswith("input:"):
                    row["param." + k[len("input:"):]] = v
            row["state"] = runs[0].get("state")
        for a in self.in_context(self.s.artifacts, c["name"]):
            if a.get("schemaTitle") in ("system.Metrics", "google.ClassificationMetrics", "google.RegressionMetrics",
                                        "google.ForecastingMetrics"):
                for k, v in a.get("metadata", {}).items():
                    row["metric." + k] = v
        return row

    def legacy_run_row(self, e):
        row = {"run_name": e.get("displayName"), "run_type": "system.Run", "state": e.get("state")}
        for k, v in e.get("metadata", {}).items():
            row["param." + k] = v
        metrics = self.s.artifacts.get(e["name"].replace("/executions/", "/artifacts/") + "-metrics")
        if metrics is None or metrics.get("schemaTitle") != "system.Metrics":
            return None
        for k, v in metrics.get("metadata", {}).items():
            row["metric." + k] = v
        return row

    def experiment_df(self, exp):
        ctx, err = self.experiment(exp)
        if err:
            return err
        rows, side_effects = [], []
        for c in self.s.contexts.values():
            if ctx["name"] not in c.get("parentContexts", []):
                continue
            if c.get("schemaTitle") == "system.ExperimentRun":
                rows.append(self.experiment_run_row(ctx, c, side_effects))
            elif c.get("schemaTitle") == "system.PipelineRun":
                rows.append(self.pipeline_run_row(c))
        for e in self.in_context(self.s.executions, ctx["name"]):
            if e.get("schemaTitle") == "system.Run":
                row = self.legacy_run_row(e)
                if row is None:
                    return {"error": "NotFound: the metrics artifact of legacy run %s" % e["name"]}
                rows.append(row)
        for r in rows:
            r["experiment_name"] = exp
        return {"rows": sorted(rows, key=lambda r: str(r.get("run_name"))), "side_effects": side_effects}

    def experiment_run(self, exp, run):
        """ExperimentRun(run, experiment): the context '<experiment>-<run>' (its name as the SDK forms it)."""
        ctx, err = self.experiment(exp)
        if err:
            return err
        c = self.s.contexts.get(self.store + "/contexts/" + exp + "-" + run)
        if c is None:
            return {"error": "NotFound: Context %s-%s" % (exp, run)}
        if c.get("schemaTitle") != "system.ExperimentRun":
            return {"error": "ValueError: Run %s must be of type system.ExperimentRun" % run}
        md = c.get("metadata", {})
        return {"name": run, "display_name": c.get("displayName"), "state": md.get("_state"),
                "params": md.get("_params", {}), "metrics": md.get("_metrics", {}),
                "tensorboard_run": self.tb_link(c), "parents": c.get("parentContexts", [])}


HANDLERS = {
    "metadataStores.get": "metadataStores_get",
    "metadataStores.create": "metadataStores_create",
    "metadataStores.contexts.create": "contexts_create",
    "metadataStores.contexts.get": "contexts_get",
    "metadataStores.contexts.patch": "contexts_patch",
    "metadataStores.contexts.list": "contexts_list",
    "metadataStores.contexts.delete": "contexts_delete",
    "metadataStores.contexts.addContextChildren": "contexts_addContextChildren",
    "metadataStores.contexts.addContextArtifactsAndExecutions": "contexts_addContextArtifactsAndExecutions",
    "metadataStores.artifacts.create": "artifacts_create",
    "metadataStores.artifacts.get": "artifacts_get",
    "metadataStores.artifacts.patch": "artifacts_patch",
    "metadataStores.artifacts.list": "artifacts_list",
    "metadataStores.artifacts.delete": "artifacts_delete",
    "metadataStores.executions.create": "executions_create",
    "metadataStores.executions.get": "executions_get",
    "metadataStores.executions.patch": "executions_patch",
    "metadataStores.executions.list": "executions_list",
    "metadataStores.executions.delete": "executions_delete",
    "metadataStores.executions.addExecutionEvents": "executions_addExecutionEvents",
    "metadataStores.executions.queryExecutionInputsAndOutputs": "executions_queryExecutionInputsAndOutputs",
    "tensorboards.list": "tensorboards_list",
    "tensorboards.get": "tensorboards_get",
    "tensorboards.create": "tensorboards_create",
    "tensorboards.delete": "tensorboards_delete",
    "tensorboards.batchRead": "tensorboards_batchRead",
    "tensorboards.experiments.create": "tb_experiments_create",
    "tensorboards.experiments.get": "tb_experiments_get",
    "tensorboards.experiments.list": "tb_experiments_list",
    "tensorboards.experiments.delete": "tb_experiments_delete",
    "tensorboards.experiments.batchCreate": "tb_experiments_batchCreate",
    "tensorboards.experiments.write": "tb_experiments_write",
    "tensorboards.experiments.runs.create": "tb_runs_create",
    "tensorboards.experiments.runs.get": "tb_runs_get",
    "tensorboards.experiments.runs.list": "tb_runs_list",
    "tensorboards.experiments.runs.delete": "tb_runs_delete",
    "tensorboards.experiments.runs.write": "tb_runs_write",
    "tensorboards.experiments.runs.timeSeries.create": "ts_create",
    "tensorboards.experiments.runs.timeSeries.get": "ts_get",
    "tensorboards.experiments.runs.timeSeries.list": "ts_list",
    "tensorboards.experiments.runs.timeSeries.read": "ts_read",
    "tensorboards.experiments.runs.timeSeries.exportTensorboardTimeSeries": "ts_export",
    "operations.get": "operations_get",
    "metadataStores.operations.get": "operations_get",
    "tensorboards.operations.get": "operations_get",
    "models.upload": "models_upload",
}


# -------------------------------------------------------------------------------------------- server

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, discovery, cfg):
        super().__init__(addr, Handler)
        self.discovery = discovery
        self.cfg = cfg
        self.lock = threading.RLock()
        self.state = State(cfg)
        self.api = Api(self)
        self.faults = []
        self.rng = random.Random(cfg.get("seed", 1))
        self.tokens = {}            # access token -> expiry (epoch seconds)
        self.tokens_issued = 0
        self.token_requests = []    # {"grant_type", ...} without secrets
        self.auth_seen = []         # kinds of credentials seen on API calls
        self.user_projects = set()  # x-goog-user-project values seen
        self.connections = 0
        self.requests = 0
        self.log = []
        self.pending_conflicts = set()
        self.location_of_last = "us-central1"

    def process_request(self, request, client_address):
        with self.lock:
            self.connections += 1
        super().process_request(request, client_address)

    def handle_error(self, request, client_address):
        pass  # resets and clients that hang up are part of the tests

    def pick_fault(self, method_id, path):
        with self.lock:
            for rule in self.faults:
                if rule.get("count", 1) <= 0:
                    continue
                rx = rule.get("methods")
                if rx and not re.search(rx, method_id or ""):
                    continue
                if rule.get("paths") and not re.search(rule["paths"], path):
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
    server_version = "fake-vertex/1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stalls

    def log_message(self, fmt, *args):
        pass

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    # ---- plumbing
    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        return self.rfile.read(n) if n else b""

    def send(self, code, body=b"", ctype="application/json; charset=UTF-8", headers=None):
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

    def send_error_json(self, code, status, message, headers=None):
        self.send(code, {"error": {"code": code, "message": message, "status": status}}, headers=headers)

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

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    # ---- routing
    def dispatch(self, verb):
        srv = self.server
        with srv.lock:
            srv.requests += 1
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        body = self.read_body()
        try:
            if path.startswith("/_control/"):
                return self.control(verb, path, query, body)
            if path == "/token":
                return self.token_endpoint(verb, body)
            if path.startswith("/computeMetadata/"):
                return self.metadata_server(verb, path)
            if path.startswith("/upload/storage/v1/") or path.startswith("/storage/v1/"):
                return self.gcs(verb, path, query, body)
            if path.startswith("/v1/"):
                return self.api_call(verb, path[1:], query, body)
            self.send_error_json(404, "NOT_FOUND", "no such path %s" % path)
        except ApiError as e:
            self.send_error_json(e.code, e.status, e.message)

    # ---- auth
    def check_auth(self):
        srv = self.server
        if not srv.cfg.get("require_auth", True):
            return
        h = self.headers.get("Authorization", "")
        if not h.startswith("Bearer "):
            raise ApiError(401, "UNAUTHENTICATED", "Request is missing required authentication credential.")
        tok = h[7:].strip()
        user_project = self.headers.get("x-goog-user-project")
        with srv.lock:
            if user_project:
                srv.user_projects.add(user_project)
            if tok in srv.cfg.get("static_tokens", []):
                srv.auth_seen.append("static")
                return
            exp = srv.tokens.get(tok)
            if exp is not None:
                if exp < time.time():
                    raise ApiError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials: expired.")
                srv.auth_seen.append("access_token")
                return
        if tok.count(".") == 2:
            err = self.verify_jwt(tok, self_signed=True)
            if err is None:
                with srv.lock:
                    srv.auth_seen.append("self_signed_jwt")
                return
            raise ApiError(401, "UNAUTHENTICATED", "invalid self-signed JWT: " + err)
        raise ApiError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")

    def verify_jwt(self, tok, self_signed):
        sa = self.server.cfg.get("service_account")
        if not sa:
            return "no service account registered"
        try:
            h64, c64, s64 = tok.split(".")
            header = json.loads(b64url_decode(h64))
            claims = json.loads(b64url_decode(c64))
            sig = b64url_decode(s64)
        except Exception:
            return "malformed"
        if header.get("alg") != "RS256" or header.get("typ") != "JWT":
            return "header must be RS256/JWT"
        if header.get("kid") != sa.get("private_key_id"):
            return "kid does not match"
        if not rs256_verify(int(sa["n"], 16), int(sa["e"], 16), (h64 + "." + c64).encode(), sig):
            return "bad signature"
        now = time.time()
        if claims.get("iss") != sa["client_email"]:
            return "iss"
        if not isinstance(claims.get("iat"), int) or not isinstance(claims.get("exp"), int):
            return "iat/exp must be integers"
        if claims["exp"] - claims["iat"] > 3600:
            return "exp - iat > 3600"
        if claims["iat"] > now + 60 or claims["exp"] < now:
            return "not valid now"
        if self_signed:
            if claims.get("sub") != sa["client_email"]:
                return "sub"
            if ("scope" in claims) == ("aud" in claims):
                return "exactly one of scope and aud"
            if "scope" in claims and "https://www.googleapis.com/auth/cloud-platform" not in claims["scope"].split():
                return "scope"
        else:
            if "scope" not in claims or not claims.get("aud", "").endswith("/token"):
                return "the token exchange needs scope and aud=<token uri>"
        return None

    def issue_token(self):
        srv = self.server
        tok = "ya29.fake-" + uuid.uuid4().hex
        life = srv.cfg.get("expires_in", 3600)
        with srv.lock:
            srv.tokens[tok] = time.time() + life
            srv.tokens_issued += 1
        return {"access_token": tok, "expires_in": life, "token_type": "Bearer"}

    def token_endpoint(self, verb, body):
        srv = self.server
        if verb != "POST":
            return self.send(405, {"error": "invalid_request"})
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            return self.send(400, {"error": "invalid_request", "error_description": "form body expected"})
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        grant = form.get("grant_type")
        with srv.lock:
            srv.token_requests.append({"grant_type": grant})
        fault = srv.pick_fault("token", "/token")
        if fault and self.apply_fault(fault, before=True):
            return
        if grant == "refresh_token":
            au = srv.cfg.get("authorized_user") or {}
            if (form.get("client_id"), form.get("client_secret"), form.get("refresh_token")) != (
                    au.get("client_id"), au.get("client_secret"), au.get("refresh_token")):
                return self.send(400, {"error": "invalid_grant", "error_description": "Bad Request"})
            return self.send(200, self.issue_token())
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            err = self.verify_jwt(form.get("assertion", ""), self_signed=False)
            if err:
                return self.send(400, {"error": "invalid_grant", "error_description": "Invalid JWT: " + err})
            return self.send(200, self.issue_token())
        return self.send(400, {"error": "unsupported_grant_type"})

    def metadata_server(self, verb, path):
        srv = self.server
        if self.headers.get("Metadata-Flavor") != "Google":
            return self.send(403, "Missing Metadata-Flavor:Google header.", ctype="text/html")
        hdr = {"Metadata-Flavor": "Google"}
        fault = srv.pick_fault("metadata", path)
        if fault and self.apply_fault(fault, before=True):
            return
        if path == "/computeMetadata/v1/instance/service-accounts/default/token":
            with srv.lock:
                srv.token_requests.append({"grant_type": "metadata"})
            return self.send(200, self.issue_token(), headers=hdr)
        if path == "/computeMetadata/v1/project/project-id":
            return self.send(200, srv.cfg.get("metadata_project", "tenant-project-tp"), ctype="text/plain",
                             headers=hdr)
        if path == "/computeMetadata/v1/project/numeric-project-id":
            return self.send(200, srv.cfg["project_number"], ctype="text/plain", headers=hdr)
        if path == "/computeMetadata/v1/instance/service-accounts/default/email":
            return self.send(200, "fake@tenant.iam.gserviceaccount.com", ctype="text/plain", headers=hdr)
        return self.send(404, "not found", ctype="text/plain", headers=hdr)

    # ---- faults
    def apply_fault(self, fault, before):
        """Applies a fault; True when the response was already sent (or the connection reset)."""
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
                names = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE",
                         504: "DEADLINE_EXCEEDED", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                         400: "INVALID_ARGUMENT"}
                headers = {}
                if fault.get("retry_after") is not None:
                    headers["Retry-After"] = str(fault["retry_after"])
                self.send_error_json(code, names.get(code, "UNKNOWN"), "injected fault", headers=headers)
                return True
            return False
        if kind == "reset_after":
            self.reset()
            return True
        if kind == "slow_after":
            time.sleep(fault.get("delay", 2.0))
        return False

    # ---- the API
    def api_call(self, verb, path, query, body):
        srv = self.server
        method = srv.discovery.route(verb, path)
        if method is None:
            with srv.lock:
                srv.state.unknown.append("%s /%s" % (verb, path))
            raise ApiError(404, "NOT_FOUND", "no API method for %s /%s" % (verb, path))
        mid = method["id"].split(".", 3)[3]  # aiplatform.projects.locations.<mid>
        with srv.lock:
            srv.state.requests_by_method[mid] = srv.state.requests_by_method.get(mid, 0) + 1
            srv.log.append({"verb": verb, "path": "/" + path, "method": mid, "t": time.time()})
        self.check_auth()
        fault = srv.pick_fault(mid, self.path)
        if fault and fault.get("kind") == "etag_conflict":
            with srv.lock:
                srv.pending_conflicts.add(self.normalize(path[3:]))
            fault = None
        if fault and self.apply_fault(fault, before=True):
            return
        # Validate the query and the body against the discovery document.
        errors = srv.discovery.check_query(method, query)
        b = {}
        if body:
            try:
                b = json.loads(body, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
            except ValueError as e:
                errors.append("the body is not JSON: %s" % e)
        if "request" in method:
            if not body:
                errors.append("a request body is required")
            elif not errors:
                errors += srv.discovery.validate(method["request"]["$ref"], b)
        elif body:
            errors.append("this method takes no request body")
        if errors:
            with srv.lock:
                srv.state.validation_errors.append({"method": mid, "path": "/" + path, "errors": errors})
            raise bad("; ".join(errors))
        handler = HANDLERS.get(mid)
        if handler is None:
            with srv.lock:
                srv.state.unknown.append("%s (not implemented by the fake)" % mid)
            raise ApiError(501, "UNIMPLEMENTED", "%s is not implemented by the fake server" % mid)
        p = self.normalize(path[3:])
        # The resource path without the ":verb" suffix.
        if ":" in p.rsplit("/", 1)[-1]:
            p = p.rsplit(":", 1)[0]
        m = re.match(r"^projects/[^/]+/locations/([^/]+)", p)
        with srv.lock:
            if m:
                srv.location_of_last = m.group(1)
            srv.api.tick_operations()
            result = getattr(srv.api, handler)(p, query, b)
            result = json.loads(json.dumps(result))
        if fault and self.apply_fault(fault, before=False):
            return
        self.send(200, result)

    def normalize(self, p):
        cfg = self.server.cfg
        parts = p.split("/")
        if len(parts) > 1 and parts[0] == "projects" and parts[1] == cfg["project_id"]:
            parts[1] = cfg["project_number"]
        return "/".join(parts)

    # ---- cloud storage
    def gcs(self, verb, path, query, body):
        srv = self.server
        self.check_auth()
        fault = srv.pick_fault("storage", path)
        if fault and self.apply_fault(fault, before=True):
            return
        m = re.match(r"^/upload/storage/v1/b/([^/]+)/o$", path)
        if m and verb == "POST":
            if query.get("uploadType", [""])[0] != "media":
                raise bad("only uploadType=media is implemented")
            name = query.get("name", [""])[0]
            if not name:
                raise bad("name is required")
            with srv.lock:
                srv.state.objects[m.group(1) + "/" + name] = body
            result = {"kind": "storage#object", "bucket": m.group(1), "name": name, "size": str(len(body)),
                      "md5Hash": base64.b64encode(hashlib.md5(body).digest()).decode()}
            if fault and self.apply_fault(fault, before=False):
                return
            return self.send(200, result)
        m = re.match(r"^/storage/v1/b/([^/]+)/o/(.+)$", path)
        if m and verb == "GET":
            key = m.group(1) + "/" + urllib.parse.unquote(m.group(2))
            with srv.lock:
                data = srv.state.objects.get(key)
            if data is None:
                raise not_found(key)
            if query.get("alt", [""])[0] == "media":
                return self.send(200, data, ctype="application/octet-stream")
            return self.send(200, {"kind": "storage#object", "bucket": m.group(1), "name": key.split("/", 1)[1],
                                   "size": str(len(data))})
        m = re.match(r"^/storage/v1/b/([^/]+)/o$", path)
        if m and verb == "GET":
            prefix = query.get("prefix", [""])[0]
            with srv.lock:
                names = sorted(k.split("/", 1)[1] for k in srv.state.objects if k.startswith(m.group(1) + "/"))
            items = [{"kind": "storage#object", "bucket": m.group(1), "name": n,
                      "size": str(len(srv.state.objects[m.group(1) + "/" + n]))} for n in names if n.startswith(prefix)]
            return self.send(200, {"kind": "storage#objects", "items": items})
        raise ApiError(404, "NOT_FOUND", "no storage method for %s %s" % (verb, path))

    # ---- control
    def control(self, verb, path, query, body):
        srv = self.server
        what = path[len("/_control/"):]
        if what == "state":
            with srv.lock:
                out = srv.state.dump()
                out["tokens_issued"] = srv.tokens_issued
                out["token_requests"] = list(srv.token_requests)
                out["auth_seen"] = sorted(set(srv.auth_seen))
                out["user_projects"] = sorted(srv.user_projects)
                out["connections"] = srv.connections
                out["requests"] = srv.requests
                out["discovery_revision"] = srv.discovery.revision
                return self.send(200, json.dumps(out, default=sorted))
        if what == "stats":
            with srv.lock:
                return self.send(200, {"connections": srv.connections, "requests": srv.requests})
        if what == "log":
            with srv.lock:
                return self.send(200, srv.log)
        if what == "faults":
            spec = json.loads(body or b"{}")
            with srv.lock:
                srv.faults = spec.get("rules", [])
                if "seed" in spec:
                    srv.rng = random.Random(spec["seed"])
            return self.send(200, {})
        if what == "config":
            spec = json.loads(body or b"{}")
            with srv.lock:
                srv.cfg.update(spec)
            return self.send(200, {})
        if what == "reset":
            with srv.lock:
                srv.state.reset()
                srv.faults = []
                srv.log = []
                srv.pending_conflicts = set()
            return self.send(200, {})
        if what == "seed":  # a state to start from (a default tensorboard, a pre-existing run...)
            spec = json.loads(body or b"{}")
            with srv.lock:
                for table, items in spec.items():
                    if table in ("context_artifacts", "context_executions"):
                        items = {k: set(v) for k, v in items.items()}
                    getattr(srv.state, table).update(items)
            return self.send(200, {})
        if what.startswith("sdk/"):  # the Python SDK's read path over this state (SdkReader)
            store = "projects/%s/locations/%s/metadataStores/default" % (
                srv.cfg["project_number"], query.get("location", ["us-central1"])[0])
            with srv.lock:
                reader = SdkReader(srv.state, store)
                if what == "sdk/experiment_df":
                    return self.send(200, reader.experiment_df(query.get("experiment", [""])[0]))
                if what == "sdk/experiment_run":
                    return self.send(200, reader.experiment_run(query.get("experiment", [""])[0],
                                                                query.get("run", [""])[0]))
        if what == "echo":
            return self.send(200, {"method": verb, "path": self.path, "headers": dict(self.headers.items()),
                                   "body": body.decode("latin-1")})
        if what.startswith("status/"):
            code = int(what.split("/", 1)[1])
            headers = {}
            for k in ("retry_after", "etag"):
                if k in query:
                    headers[{"retry_after": "Retry-After", "etag": "ETag"}[k]] = query[k][0]
            return self.send(code, {"status": code}, headers=headers)
        if what == "slow":
            time.sleep(float(query.get("delay", ["2"])[0]))
            return self.send(200, {"slow": True})
        if what == "reset_conn":
            return self.reset()
        if what == "big":
            n = int(query.get("bytes", ["1000"])[0])
            return self.send(200, b"x" * n, ctype="application/octet-stream")
        self.send(404, {"error": "no such control endpoint"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--discovery", default=os.environ.get("MLTRACK_VERTEX_DISCOVERY") or
                    os.path.join(HERE, "aiplatform-v1-subset.json"))
    ap.add_argument("--project-id", default="test-project")
    ap.add_argument("--project-number", default="123456789012")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    cfg = {
        "project_id": args.project_id,
        "project_number": args.project_number,
        "seed": args.seed,
        "static_tokens": ["test-token"],
        "require_auth": True,
        "expires_in": 3600,
        "lro_polls": 1,
        "page_cap": 0,
    }
    srv = Server(("127.0.0.1", args.port), Discovery(args.discovery), cfg)
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
