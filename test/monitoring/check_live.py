#!/usr/bin/python3
"""test/monitoring/check_live.py -- no dead query: ask a live Prometheus for
every Grafana panel expression and every rule, and require series.

    check_live.py <prometheus base URL> [rate interval for $__rate_interval]

For the dashboard: each panel query, with Grafana's $__rate_interval
replaced, must return at least one series.  For recording rules: the
recorded series must exist.  For alerts, whose full expression is rightly
empty while nothing is wrong: the expression must evaluate without error,
each operand of its top-level comparisons (the signal and its guards, e.g.
the hit ratio and the request rate of LowCacheHitRate) must return series,
and every vector selector must match series -- with its equality matchers,
and with every label it matches by regex present -- so a misspelt metric,
label or label value fails here.  One ok / not ok line per check.
"""

import json
import os
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import promql  # noqa: E402
from checks import alert_rules, check, dashboard_exprs, failed, recording_rules, MON  # noqa: E402

PROM = sys.argv[1].rstrip("/")
RATE_INTERVAL = sys.argv[2] if len(sys.argv) > 2 else "1m"


def query(expr):
    url = f"{PROM}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            reply = json.load(r)
    except urllib.error.HTTPError as e:  # 400 = the expression does not parse
        reply = json.load(e)
    if reply.get("status") != "success":
        raise RuntimeError(f"{reply.get('errorType')}: {reply.get('error')} in {expr}")
    return reply["data"]


def has_series(expr):
    data = query(expr)
    if data["resultType"] == "scalar":
        return None
    return None if data["result"] else f"no series for {expr}"


def check_selector(sel, seen):
    """The metric, its equality matchers, and the labels it filters on exist."""
    if not sel.name or sel.text() in seen:
        return
    seen.add(sel.text())
    check(f"selector {sel.text(ops=('=',))} matches series", lambda: has_series(sel.text(ops=("=",))))
    for label, op, _ in sel.matchers:
        if op != "=":
            check(f"label {label} exists on {sel.name}", lambda label=label: has_series(f'{sel.name}{{{label}!=""}}'))


def main():
    with open(os.path.join(MON, "grafana/dashboards/openrisk-performance.json")) as f:
        dashboard = json.load(f)
    seen = set()
    for title, ref, expr in dashboard_exprs(dashboard):
        e = expr.replace("$__rate_interval", RATE_INTERVAL)
        check(f"panel {title!r} query {ref} returns series", lambda e=e: has_series(e))
        for sel in promql.selectors(e):
            check_selector(sel, seen)
    for rule in recording_rules():
        check(f"recording rule {rule['record']} has series", lambda r=rule: has_series(r["record"]))
        for sel in promql.selectors(rule["expr"]):
            check_selector(sel, seen)
    for _, rule in alert_rules():
        what = f"alert {rule['alert']} ({rule['labels']['severity']})"
        check(f"{what} expression evaluates", lambda r=rule: query(r["expr"]) and None)
        for operand in promql.comparison_operands(rule["expr"]):
            if not promql.is_literal(operand):
                check(f"{what} operand {operand!r} returns series", lambda o=operand: has_series(o))
        for sel in promql.selectors(rule["expr"]):
            check_selector(sel, seen)
    return 1 if failed() else 0


if __name__ == "__main__":
    sys.exit(main())
