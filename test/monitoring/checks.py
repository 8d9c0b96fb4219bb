"""test/monitoring/checks.py -- shared plumbing of the monitoring checks.

Every check prints one line, `ok - <what>` or `not ok - <what>: <why>`, so
the suite scripts can count them and a failure says what broke without
reading Python.  Paths and the parsed config files are loaded once here.
"""

import os
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MON = os.path.join(ROOT, "monitoring")

_failed = 0


def report(ok, what, why=""):
    global _failed
    if ok:
        print(f"ok - {what}")
    else:
        _failed += 1
        print(f"not ok - {what}: {why}")
    sys.stdout.flush()
    return ok


def check(what, fn):
    """Run fn(); it returns None/"" when fine or a reason string; exceptions fail."""
    try:
        why = fn()
    except Exception as e:  # a broken file must fail the check, not the run
        why = f"{type(e).__name__}: {e}"
    return report(not why, what, why or "")


def failed():
    return _failed


def load_yaml(rel):
    with open(os.path.join(MON, rel)) as f:
        return yaml.safe_load(f)


def alert_rules():
    """(group name, rule dict) for every alerting rule of alerts.yml."""
    return [(g["name"], r) for g in load_yaml("alerts.yml")["groups"]
            for r in g["rules"] if "alert" in r]


def recording_rules():
    return [r for g in load_yaml("alerts.yml")["groups"] for r in g["rules"] if "record" in r]


def dashboard_exprs(dashboard):
    """(panel title, refId, expr) of every query of a Grafana dashboard."""
    out = []
    for panel in dashboard.get("panels", []):
        for t in panel.get("targets", []):
            out.append((panel.get("title", "?"), t.get("refId", "?"), t.get("expr", "")))
    return out


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)
