#!/usr/bin/env python3
"""Extracts the part of the aiplatform v1 discovery document that the fake Vertex server serves.

The fake server validates every request body against the API's own schemas. The full document is 3.8 MB;
this keeps, unchanged, the methods of the resources the Vertex sink uses (metadata stores, tensorboards,
operations, models), the global parameters, and every schema reachable from those methods. Nothing is
edited: each kept method and schema is byte-for-byte the same JSON value as in the source document.

    make_discovery_subset.py SOURCE.json OUT.json
"""
import hashlib
import json
import sys

KEEP = ["metadataStores", "tensorboards", "operations", "models"]


def refs(value, out):
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "$ref":
                out.add(v)
            else:
                refs(v, out)
    elif isinstance(value, list):
        for v in value:
            refs(v, out)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    raw = open(src, "rb").read()
    doc = json.loads(raw)
    loc = doc["resources"]["projects"]["resources"]["locations"]
    kept = {name: loc["resources"][name] for name in KEEP}
    needed = set()
    refs(kept, needed)
    schemas = doc["schemas"]
    todo = list(needed)
    while todo:
        name = todo.pop()
        found = set()
        refs(schemas[name], found)
        for f in found - needed:
            needed.add(f)
            todo.append(f)
    out = {k: doc[k] for k in ("id", "name", "version", "revision", "rootUrl", "servicePath", "baseUrl",
                                "parameters", "auth")}
    out["x-mltrack-subset-of"] = {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw),
                                  "resources": ["projects.locations." + k for k in KEEP]}
    out["resources"] = {"projects": {"resources": {"locations": {"resources": kept}}}}
    out["schemas"] = {k: schemas[k] for k in sorted(needed)}
    with open(dst, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
