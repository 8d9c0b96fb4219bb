#!/usr/bin/python3
"""test/contract/coverage.py -- which (operation, status) pairs of
docs/openapi.yaml the validating proxies saw, and which they never did.

"0 violations" says nothing about a status no test provoked; this makes the
blind spots visible.  Reads Prism's logs (the request line, then the
upstream's status), pairs each request with its operation by matching the
path against the document's path templates, and prints one line per
operation: the statuses validated (with counts) and the documented ones no
reply exercised.  Informational: suite 41 prints it, it never fails.

usage: coverage.py SPEC LOG...
"""
import collections
import os
import re
import sys

import yaml

ANSI = re.compile(r"\x1b\[[0-9;]*m")
REQUEST = re.compile(r"\[HTTP SERVER\] (\w+) (\S+) ")
UPSTREAM = re.compile(r"The upstream call to \S+ has returned (\d+)")


def operations(spec):
    """[(method, template, regex, operationId, documented statuses)]"""
    out = []
    for template, item in spec["paths"].items():
        rx = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        for method, op in item.items():
            if isinstance(op, dict) and "responses" in op:
                out.append((method.upper(), template, rx, op.get("operationId", "?"), sorted(op["responses"])))
    # literal segments beat {id} (/risks/search before /risks/{id}), as in the gateway's router
    out.sort(key=lambda o: o[1].count("{"))
    return out


def main():
    spec = yaml.safe_load(open(sys.argv[1]))
    ops = operations(spec)
    seen = collections.defaultdict(collections.Counter)
    current = None
    for path in (p for p in sys.argv[2:] if os.path.exists(p)):  # no private gateway: no private log
        for line in open(path, errors="replace"):
            line = ANSI.sub("", line)
            m = REQUEST.search(line)
            if m:
                current = (m.group(1).upper(), m.group(2).split("?")[0])
                continue
            m = UPSTREAM.search(line)
            if m and current:
                op = next((o for o in ops if o[0] == current[0] and o[2].match(current[1])), None)
                seen[op[3] if op else "(no operation: x-unrouted-responses)"][m.group(1)] += 1
                current = None
    pairs = sum(len(c) for c in seen.values())
    print("contract coverage: %d (operation, status) pairs validated" % pairs)
    for method, template, _, op_id, documented in sorted(ops, key=lambda o: (o[1], o[0])):
        got = seen.get(op_id, {})
        missing = [s for s in documented if s not in got]
        print("  %-7s %-38s %s  never: %s" % (method, template, " ".join("%s×%d" % kv for kv in sorted(got.items())) or "-",
                                            " ".join(missing) or "-"))
    unrouted = seen.get("(no operation: x-unrouted-responses)")
    if unrouted:
        print("  unrouted: " + " ".join("%s×%d" % kv for kv in sorted(unrouted.items())))


if __name__ == "__main__":
    main()
