#!/usr/bin/env bash
# Lists the `crate::` edges between the top-level modules of each workspace crate and prints any
# import cycle among them, so a session can check "no import cycle inside any crate" in one step.
#
# Usage: scripts/cycles.sh [--edges] [crate-dir...]   (default: every crates/*/src)
# Exit status: 0 when no crate has a cycle, 1 otherwise.
#
# A module is a crate's top-level module (`foo.rs` or `foo/`); a nested file counts as its
# top-level module, because a cycle between two parts of one directory module is that module's
# own business. Edges come from any `crate::name` path in the code (in `use` or inline), with
# comments and `#[cfg(test)]`-only files still counted: a test that imports upward is still an arrow.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
show_edges=0
if [[ "${1:-}" == "--edges" ]]; then show_edges=1; shift; fi
if [[ $# -eq 0 ]]; then set -- "$root"/crates/*/src; fi

exec python3 - "$show_edges" "$@" <<'PY'
import os, re, sys

show_edges = sys.argv[1] == "1"
found_cycle = False

def top_module(src, path):
    rel = os.path.relpath(path, src)
    first = rel.split(os.sep)[0]
    if first.endswith(".rs"):
        first = first[:-3]
    return first

def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)

def edges_of(src):
    modules = set()
    files = []
    for dirpath, _, names in os.walk(src):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(dirpath, name)
                files.append(path)
                modules.add(top_module(src, path))
    roots = {"lib", "main"}
    edges = {}
    for path in files:
        here = top_module(src, path)
        if here in roots:
            continue
        text = strip_comments(open(path, encoding="utf-8").read())
        targets = set(re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", text))
        # `use crate::{a, b::c}` names several modules in one group.
        for group in re.findall(r"\bcrate::\{([^}]*)\}", text, flags=re.S):
            targets.update(re.findall(r"(?:^|[,{\s])([a-z_][a-z0-9_]*)", group))
        for target in targets:
            if target in modules and target != here and target not in roots:
                edges.setdefault(here, set()).add(target)
    return edges

def cycles(edges):
    # Tarjan's strongly connected components: every component with more than one module is a cycle.
    index, low, on_stack, stack, result, counter = {}, {}, set(), [], [], [0]
    def visit(node):
        index[node] = low[node] = counter[0]; counter[0] += 1
        stack.append(node); on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt); low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop(); on_stack.discard(top); component.append(top)
                if top == node: break
            if len(component) > 1:
                result.append(sorted(component))
    sys.setrecursionlimit(10000)
    for node in sorted(set(edges) | {t for ts in edges.values() for t in ts}):
        if node not in index:
            visit(node)
    return result

for src in sys.argv[2:]:
    crate = os.path.basename(os.path.dirname(os.path.abspath(src)))
    edges = edges_of(src)
    if show_edges:
        for here in sorted(edges):
            print(f"{crate}: {here} -> {', '.join(sorted(edges[here]))}")
    for component in cycles(edges):
        found_cycle = True
        inside = set(component)
        arrows = [f"{a} -> {b}" for a in component for b in sorted(edges.get(a, ())) if b in inside]
        print(f"{crate}: cycle among {', '.join(component)}: " + "; ".join(arrows))
if not found_cycle:
    print("no import cycles")
sys.exit(1 if found_cycle else 0)
PY
