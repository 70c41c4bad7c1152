#!/usr/bin/env python3
"""Generates single_include/mltrack/*.hpp from include/mltrack/: every local quoted include inlined once,
in dependency order, system includes kept. Deterministic (no timestamps). `--check` compares instead of
writing and exits 1 naming the stale file."""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = os.path.join(ROOT, "include")
OUT = os.path.join(ROOT, "single_include", "mltrack")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$')
PRAGMA_RE = re.compile(r"^\s*#\s*pragma\s+once\s*$")


def version():
    parts = {}
    with open(os.path.join(INCLUDE, "mltrack", "version.hpp"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"#define MLTRACK_VERSION_(MAJOR|MINOR|PATCH) (\d+)", line)
            if m:
                parts[m.group(1)] = m.group(2)
    return "{MAJOR}.{MINOR}.{PATCH}".format(**parts)


COND_OPEN_RE = re.compile(r"^\s*#\s*if(n?def)?\b")
COND_END_RE = re.compile(r"^\s*#\s*endif\b")


class Seen:
    """What has been inlined: `always` where the text is compiled in every mode, `cond` inside a conditional
    block (the `#if MLTRACK_DEFINE_BODIES` that holds the compiled mode's bodies)."""

    def __init__(self, always=(), cond=()):
        self.always = set(always)
        self.cond = set(cond)

    def copy(self):
        return Seen(self.always, self.cond)


def resolve(including, name):
    """An include's file, looked up like the compiler does: next to the including file, then in include/."""
    target = os.path.normpath(os.path.join(os.path.dirname(including), name))
    if not os.path.isfile(target):
        target = os.path.normpath(os.path.join(INCLUDE, name))
    if not os.path.isfile(target):
        rel = os.path.relpath(including, INCLUDE).replace(os.sep, "/")
        raise SystemExit("amalgamate: %s includes missing file %s" % (rel, name))
    return target


def includes(path):
    """(target, inside a conditional block) for each local include of `path`, in order."""
    depth = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if COND_OPEN_RE.match(line):
                depth += 1
            elif COND_END_RE.match(line):
                depth -= 1
            m = INCLUDE_RE.match(line)
            if m:
                yield resolve(path, m.group(1)), depth > 0


def always_needed(root):
    """The files `root` reaches through includes outside conditional blocks: compiled in every mode."""
    found, todo = set(), [os.path.normpath(root)]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found.add(path)
        todo.extend(t for t, conditional in includes(path) if not conditional)
    return found


class Output:
    """One generated header being written: its lines, what is inlined, the files every mode compiles, and
    where the conditional block being written began (-1: none open)."""

    def __init__(self, root, seen, lines=None):
        self.lines = lines if lines is not None else []
        self.seen = seen
        self.always = always_needed(root)
        self.block_start = -1


def guard_macro(rel):
    return "MLTRACK_AMALGAMATED_" + re.sub(r"[^A-Za-z0-9]", "_", rel).upper()


def expand(path, o, conditional=False):
    """Appends the text of `path` to o.lines, inlining local includes not yet inlined where they are needed.

    A file that every mode compiles but that is first met inside a conditional block (a header that only
    the compiled mode's bodies include at that point, and other code includes later) is inlined just before
    that block, so it is compiled once in every mode. A file met only inside blocks stays inside. Each file
    carries a guard macro too: a file inlined inside a block of mltrack.hpp and needed outside one by the
    Vertex AI or MLflow header is inlined again there, and the copy the preprocessor meets first wins."""
    path = os.path.normpath(path)
    if conditional and path in o.always and path not in o.seen.always:
        hoisted = []
        saved, o.lines, o.block_start = (o.lines, o.block_start), hoisted, -1
        expand(path, o, False)
        (o.lines, start) = saved
        o.lines[start:start] = hoisted
        o.block_start = start + len(hoisted)
        return
    if path in o.seen.always or (conditional and path in o.seen.cond):
        return
    (o.seen.cond if conditional else o.seen.always).add(path)
    rel = os.path.relpath(path, INCLUDE).replace(os.sep, "/")
    guard = guard_macro(rel)
    o.lines.append("// ---- begin " + rel + " ----\n#ifndef " + guard + "\n#define " + guard + "\n")
    depth = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if PRAGMA_RE.match(line):
                continue
            if COND_OPEN_RE.match(line):
                if not conditional and depth == 0:
                    o.block_start = len(o.lines)
                depth += 1
            elif COND_END_RE.match(line):
                depth -= 1
            m = INCLUDE_RE.match(line)
            if m:
                expand(resolve(path, m.group(1)), o, conditional or depth > 0)
                continue
            o.lines.append(line)
    if o.lines and not o.lines[-1].endswith("\n"):
        o.lines.append("\n")
    o.lines.append("#endif  // " + guard + "\n// ---- end " + rel + " ----\n")


def header(name, what):
    return (
        "// mltrack %s: %s\n"
        "// GENERATED by tools/amalgamate.py from include/mltrack/; do not edit by hand.\n"
        "#pragma once\n" % (version(), what)
    )


def build():
    outputs = {}
    root = os.path.join(INCLUDE, "mltrack", "mltrack.hpp")
    main = Output(root, Seen())
    expand(root, main)
    seen = main.seen
    outputs["mltrack.hpp"] = header("mltrack.hpp", "the whole library but the Vertex AI and MLflow sinks, in one header") + "".join(main.lines)
    vertex = os.path.join(INCLUDE, "mltrack", "sinks", "vertex_ai.hpp")
    if os.path.isfile(vertex):
        o = Output(vertex, seen.copy(), ['#include "mltrack.hpp"\n'])
        expand(vertex, o)  # what mltrack.hpp already holds is not repeated
        outputs["mltrack_vertex_ai.hpp"] = (
            header("mltrack_vertex_ai.hpp", "the Vertex AI sink (needs libcurl); includes mltrack.hpp") + "".join(o.lines)
        )
        mlflow = os.path.join(INCLUDE, "mltrack", "sinks", "mlflow.hpp")
        if os.path.isfile(mlflow):
            # The MLflow sink shares the HTTP client and the request engine with the Vertex AI sink: it builds
            # on that header, so including both never defines anything twice.
            o.lines = ['#include "mltrack_vertex_ai.hpp"\n']
            o.always = always_needed(mlflow)
            o.block_start = -1
            expand(mlflow, o)
            outputs["mltrack_mlflow.hpp"] = (
                header("mltrack_mlflow.hpp", "the MLflow sink (needs libcurl); includes mltrack_vertex_ai.hpp")
                + "".join(o.lines)
            )
    return outputs


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="fail when single_include/ is out of date")
    args = ap.parse_args()
    outputs = build()
    stale = []
    for name, text in sorted(outputs.items()):
        path = os.path.join(OUT, name)
        current = None
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                current = f.read()
        if current == text:
            continue
        if args.check:
            stale.append(name)
        else:
            os.makedirs(OUT, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
            print("amalgamate: wrote single_include/mltrack/" + name)
    if os.path.isdir(OUT):
        for name in sorted(os.listdir(OUT)):
            if name not in outputs:
                if args.check:
                    stale.append(name + " (no longer generated)")
                else:
                    os.remove(os.path.join(OUT, name))
    if stale:
        print("amalgamate: single_include/mltrack/%s is out of date; run python3 tools/amalgamate.py"
              % ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
