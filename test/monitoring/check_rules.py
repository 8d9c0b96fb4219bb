#!/usr/bin/python3
"""test/monitoring/check_rules.py -- the alert rules are well-labelled, routed
where alertmanager.yml says, covered by unit tests that can fail, and
documented.

`promtool test rules` passing proves little if an alert has no test, so:
every alertname must have a test where it fires and one where it stays
silent, and replacing any single alerting rule by one that never fires must
make the unit tests fail (a tiny mutation test).  Routing is checked with
`amtool config routes test` on each rule's labels, so a typo in a severity
or category label cannot silently send a page to the wrong channel.
"""

import copy
import glob
import os
import shutil
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(__file__))
import promql  # noqa: E402
from checks import MON, ROOT, alert_rules, check, failed, load_yaml, run  # noqa: E402

SEVERITIES = {"critical", "warning"}
CATEGORIES = {"availability", "performance", "capacity"}


def expected_receiver(labels):
    if labels["severity"] == "critical":
        return "critical"
    if labels["severity"] == "warning" and labels["category"] == "performance":
        return "performance"
    return "default"


def unit_test_cases():
    """(alertname, fires?) for every alert_rule_test of monitoring/tests."""
    cases = []
    for path in sorted(glob.glob(os.path.join(MON, "tests", "*.yml"))):
        with open(path) as f:
            for test in yaml.safe_load(f)["tests"]:
                for case in test.get("alert_rule_test", []):
                    cases.append((case["alertname"], bool(case.get("exp_alerts"))))
    return cases


def check_labels_and_routes():
    docs = os.path.join(ROOT, "docs", "MONITORING.md")
    doc_text = open(docs).read().lower() if os.path.exists(docs) else ""
    for group, rule in alert_rules():
        name, labels, ann = rule["alert"], rule.get("labels", {}), rule.get("annotations", {})
        what = f"{name} ({labels.get('severity')})"
        check(f"{what} has a known severity and category",
              lambda: None if labels.get("severity") in SEVERITIES and labels.get("category") in CATEGORIES
              else f"labels {labels}")
        check(f"{what} has a summary and a runbook link",
              lambda: None if ann.get("summary") and ann.get("runbook") == f"docs/MONITORING.md#{name.lower()}"
              else f"annotations {ann}")
        check(f"{what} has a runbook section in docs/MONITORING.md",
              lambda: None if f"### {name.lower()}" in doc_text else "no '### " + name + "' heading")

        def routed():
            args = [f"{k}={v}" for k, v in sorted(labels.items())] + [f"alertname={name}"]
            want = expected_receiver(labels)
            out = run(["amtool", "config", "routes", "test", "--config.file", os.path.join(MON, "alertmanager.yml"),
                       "--verify.receivers", want] + args)
            return None if out.returncode == 0 else f"routed to {out.stdout.strip()!r}, want {want}"
        check(f"{what} is routed to the {expected_receiver(labels)} receiver", routed)


def check_inhibition_and_secrets():
    am = load_yaml("alertmanager.yml")

    def inhibition():
        for rule in am.get("inhibit_rules", []):
            if rule.get("source_matchers") == ['severity="critical"'] and \
                    rule.get("target_matchers") == ['severity="warning"'] and \
                    sorted(rule.get("equal", [])) == ["alertname", "instance"]:
                return None
        return "no critical-inhibits-warning rule on (alertname, instance)"
    check("warnings are inhibited by a critical alert of the same alertname and instance", inhibition)

    def two_level_alerts_share_instance_labels():
        by_name = {}
        for _, r in alert_rules():
            by_name.setdefault(r["alert"], set()).add(r["labels"]["severity"])
        pairs = [n for n, s in by_name.items() if s == SEVERITIES]
        return None if pairs else "no alert has both levels: the inhibition rule would be dead"
    check("some alerts have a warning and a critical level for the inhibition to act on",
          two_level_alerts_share_instance_labels)

    def webhook_from_file():
        receivers = am["receivers"]
        inline = [r["name"] for r in receivers for s in r.get("slack_configs", []) if "api_url" in s]
        if inline or "slack_api_url" in am.get("global", {}):
            return f"inline Slack URL in {inline or 'global'}"
        return None if am["global"].get("slack_api_url_file") else "no slack_api_url_file"
    check("the Slack webhook URL comes from a file, never from the config", webhook_from_file)


def check_test_coverage():
    cases = unit_test_cases()
    for name in sorted({r["alert"] for _, r in alert_rules()}):
        check(f"{name} has a unit test where it fires", lambda n=name: None if (n, True) in cases else "none")
        check(f"{name} has a unit test where it stays silent", lambda n=name: None if (n, False) in cases else "none")


def check_mutations():
    """Each alerting rule, made unable to fire, or made to fire on its bare
    signal with every threshold and guard dropped, must break the unit tests."""
    rules = load_yaml("alerts.yml")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(os.path.join(MON, "tests"), os.path.join(tmp, "tests"))
        tests = sorted(glob.glob(os.path.join(tmp, "tests", "*.yml")))
        for gi, group in enumerate(rules["groups"]):
            for ri, rule in enumerate(group["rules"]):
                if "alert" not in rule:
                    continue
                signal = promql.comparison_operands(rule["expr"])[0]
                for mutation, expr in (("never firing", "vector(1) > 2"), ("firing without its thresholds", signal)):
                    mutant = copy.deepcopy(rules)
                    mutant["groups"][gi]["rules"][ri]["expr"] = expr
                    with open(os.path.join(tmp, "alerts.yml"), "w") as f:
                        yaml.safe_dump(mutant, f)
                    out = run(["promtool", "test", "rules"] + tests)
                    check(f"unit tests catch {rule['alert']} ({rule['labels']['severity']}) {mutation}",
                          lambda out=out: None if out.returncode != 0 else "promtool test rules still passed")


def main():
    check_labels_and_routes()
    check_inhibition_and_secrets()
    check_test_coverage()
    check_mutations()
    return 1 if failed() else 0


if __name__ == "__main__":
    sys.exit(main())
