#!/usr/bin/python3
"""tools/depgraph.py -- are the file-level call and include graphs of a C
tree free of cycles?

    tools/depgraph.py check DIR...     one TAP line per graph; exit 1 on a cycle
    tools/depgraph.py show DIR         the edges, for reading

The call graph is taken from the object files, not guessed from the
source: for every `src/X.o` of DIR, `nm` lists the functions and variables
it defines (global symbols) and the ones it uses (undefined symbols); X
depends on Y when X uses something Y defines.  The include graph is read
from the `#include "..."` lines of DIR/src/*.[ch] (a header counts as the
file of its own name, so a .c and its .h are one node).  A cycle in either
is reported with its members: two files that need each other are one
concern split in two, or a helper living in the wrong file.

DIR must have been built (its src/*.o exist) and must not contain stale
objects of deleted sources (those are skipped: an .o without its .c).
"""
import os
import re
import subprocess
import sys


def nm_symbols(obj):
    """(defined, used) global symbol names of one object file."""
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRC":
            defined.add(parts[2])
    return defined, used


def call_graph(src):
    objs = sorted(f for f in os.listdir(src)
                  if f.endswith(".o") and os.path.exists(os.path.join(src, f[:-2] + ".c")))
    owner, uses = {}, {}
    for o in objs:
        node = o[:-2]
        defined, used = nm_symbols(os.path.join(src, o))
        for sym in defined:
            owner[sym] = node
        uses[node] = used
    return {n: {owner[s] for s in used if s in owner and owner[s] != n} for n, used in uses.items()}


def include_graph(src):
    graph = {}
    for f in sorted(os.listdir(src)):
        if not f.endswith((".c", ".h")):
            continue
        node = f[:-2]
        with open(os.path.join(src, f), encoding="utf-8") as fh:
            for inc in re.findall(r'^#include "([^"/]+)\.h"', fh.read(), re.M):
                if inc != node and os.path.exists(os.path.join(src, inc + ".h")):
                    graph.setdefault(node, set()).add(inc)
        graph.setdefault(node, set())
    return graph


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
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("check", "show"):
        sys.exit(__doc__)
    failed = 0
    for d in sys.argv[2:]:
        src = os.path.join(d, "src")
        for kind, graph in (("call", call_graph(src)), ("include", include_graph(src))):
            if sys.argv[1] == "show":
                for n in sorted(graph):
                    print("%s %s -> %s" % (kind, n, " ".join(sorted(graph[n]))))
                continue
            found = cycles(graph)
            if found:
                failed += 1
                print("not ok - %s graph of %s has cycles: %s" % (
                    kind, d, "; ".join(" <-> ".join(c) for c in found)))
            else:
                print("ok - %s graph of %s (%d files) has no cycle" % (kind, d, len(graph)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
