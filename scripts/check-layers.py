#!/usr/bin/env python3
"""The layer check: modules import only downwards, and no two files import
each other (directly or round a loop) unless listed below with a reason.

Each crate lists its top-level modules from the bottom layer up; a file may
import (`use crate::..`, `super::..`, or a `crate::` path in code) only
modules of its own layer or below. Folders may list sub-layers the same way
(`dstream`: the stream itself, then the state and window algorithms, then
the operations). Cycles between files are found on the import graph of every
crate (a `mod.rs` re-exporting its children with `pub use` is a facade, not
a dependency); every cycle must be allowed in ALLOWED_CYCLES with the reason
a recursive structure needs it.

Run by scripts/check-layers.sh (and by CI through scripts/test-all.sh).
Exit status 1, with one line per violation, when the layering is broken.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# crate source dir -> layers of top-level modules, bottom first. Modules on
# one line share a layer. "" is the crate root file (lib.rs), always on top.
CRATES = {
    "streaming-core/src": [
        ["time", "clock", "error", "listener", "conf", "rate"],  # base
        ["batch"],  # data and kernels
        ["graph"],  # nodes, shapes, registry: no DStream, no context
        ["checkpoint"],  # depends on graph, not on context
        ["output"],  # formats and writers
        ["input"],  # sources: implement graph's InputSource only
        ["dstream"],  # the DStream API
        ["ui"],  # the Streaming page, REST API, /metrics: no DStream, no context
        ["context"],  # every StreamingContext impl
    ],
    "streaming-kafka/src": [
        ["record", "deser", "stats", "strategy", "config"],
        ["client"],
        ["stream"],
        ["commit", "worker", "group", "sink"],
        ["source"],
        ["state"],
    ],
    "streaming-testkit/src": [["kafka"]],
    "streaming-dsl/src": [
        ["diag"],
        ["ops"],
        ["parse"],
        ["graph"],
        ["check"],
        ["plan"],
        ["codegen"],
    ],
    "streaming-macros/src": [],
}

# folder (crate dir / module path) -> sub-layers, bottom first; "" is the
# folder's mod.rs.
SUBLAYERS = {
    ("streaming-core/src", "dstream"): [[""], ["state"], ["window"], ["ops"]],
}

# Cycles allowed, as sorted tuples of files, with the reason.
ALLOWED_CYCLES = {}

USE_RE = re.compile(r"\b(pub(?:\([a-z]+\))?\s+)?use\s+([^;]+);", re.S)
PATH_RE = re.compile(r"\b((?:crate|super)(?:\s*::\s*(?:super|[A-Za-z_][A-Za-z0-9_]*))+)")


def strip_comments(text):
    out = []
    for line in text.split("\n"):
        s = line.lstrip()
        if s.startswith("//"):
            out.append("")
            continue
        # Drop string literals and trailing comments (good enough for paths).
        line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
        i = line.find("//")
        if i >= 0:
            line = line[:i]
        out.append(line)
    return "\n".join(out)


def module_path(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("lib", "main", "mod"):
        rel = rel[:-1]
    return tuple(rel)


def files_of(src):
    mods = {}
    for dirpath, _, names in os.walk(os.path.join(ROOT, src)):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(dirpath, n)
                if "tests" in os.path.relpath(p, os.path.join(ROOT, src)).split(os.sep)[:-1]:
                    continue
                mods[module_path(os.path.join(ROOT, src), p)] = p
    return mods


def expand_use(tree):
    """Flattens `a::{b, c::{d}}` into paths (lists of segments)."""
    tree = re.sub(r"\s+as\s+[A-Za-z_][A-Za-z0-9_]*", "", tree)
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix, t):
        if t.startswith("{") and t.endswith("}"):
            depth, cur, parts = 0, "", []
            for ch in t[1:-1]:
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                if ch == "," and depth == 0:
                    parts.append(cur)
                    cur = ""
                else:
                    cur += ch
            if cur:
                parts.append(cur)
            for p in parts:
                walk(prefix, p)
            return
        i = t.find("::{")
        if i >= 0:
            walk(prefix + t[:i].split("::"), t[i + 2 :])
            return
        out.append(prefix + [s for s in t.split("::") if s])

    walk([], tree)
    return out


def resolve(segs, here, mods):
    """The module (a key of mods) a path names, or None outside the crate."""
    if not segs:
        return None
    if segs[0] == "crate":
        base, rest = (), segs[1:]
    elif segs[0] in ("super", "self"):
        base, rest = here, list(segs)
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    else:
        return None
    best = base if base in mods else None
    cur = base
    for s in rest:
        cur = cur + (s,)
        if cur in mods:
            best = cur
        else:
            break
    return best


def layer_of(layers, top):
    for i, names in enumerate(layers):
        if top in names:
            return i
    return None


def main():
    errors = []
    for src, layers in CRATES.items():
        mods = files_of(src)
        graph = {m: set() for m in mods}
        for m, path in mods.items():
            text = strip_comments(open(path, encoding="utf-8").read())
            text = re.sub(r"#\[cfg\(test\)\]\s*mod tests\s*\{.*", "", text, flags=re.S)
            refs = []
            for um in USE_RE.finditer(text):
                is_pub = bool(um.group(1))
                tree = um.group(2)
                if tree.split("::")[0].strip() in ("std", "core", "alloc"):
                    continue
                for segs in expand_use(tree):
                    if segs and segs[0] not in ("crate", "super", "self"):
                        if (m + (segs[0],)) in mods:  # `use child::..` from mod.rs
                            segs = ["self"] + segs
                        else:
                            continue
                    refs.append((segs, is_pub))
            code = USE_RE.sub("", text)
            for pm in PATH_RE.finditer(code):
                refs.append(([s.strip() for s in pm.group(1).split("::")], False))
            # Paths through a child module (`scheduler::run(..)` in mod.rs).
            children = {c[-1] for c in mods if len(c) == len(m) + 1 and c[: len(m)] == m}
            for cm in re.finditer(r"(?<![:\w])([a-z_][a-z0-9_]*)\s*::\s*([A-Za-z_][A-Za-z0-9_]*)", code):
                if cm.group(1) in children:
                    refs.append((["self", cm.group(1), cm.group(2)], False))
            for segs, is_pub in refs:
                target = resolve(segs, m, mods)
                if target is None or target == m:
                    continue
                child_reexport = is_pub and target[: len(m)] == m
                if not child_reexport:
                    graph[m].add(target)
                # Layers: compare the top-level modules, then sub-layers.
                if not m or not target:
                    continue
                lm, lt = layer_of(layers, m[0]), layer_of(layers, target[0])
                rel = os.path.relpath(path, ROOT)
                if lm is None:
                    errors.append(f"{rel}: module `{m[0]}` is in no layer of {src} (add it to scripts/check-layers.py)")
                    continue
                if lt is None:
                    errors.append(f"{rel}: imports `{'::'.join(target)}`, whose module `{target[0]}` is in no layer")
                    continue
                if lt > lm:
                    errors.append(
                        f"{rel}: imports `{'::'.join(target)}` upwards ({target[0]} is above {m[0]})"
                    )
                sub = SUBLAYERS.get((src, m[0]))
                if sub and target[0] == m[0] and not child_reexport:
                    sm = layer_of(sub, m[1] if len(m) > 1 else "")
                    st = layer_of(sub, target[1] if len(target) > 1 else "")
                    if sm is not None and st is not None and st > sm:
                        errors.append(
                            f"{rel}: imports `{'::'.join(target)}` upwards within {m[0]}/"
                        )
        for cycle in cycles(graph):
            files = tuple(sorted(os.path.relpath(mods[c], ROOT) for c in cycle))
            if files not in ALLOWED_CYCLES:
                errors.append("import cycle: " + " -> ".join(files))
    for e in errors:
        print(e)
    if errors:
        print(f"check-layers: {len(errors)} violation(s)", file=sys.stderr)
        return 1
    print("check-layers: every module imports downwards; no import cycles")
    return 0


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
