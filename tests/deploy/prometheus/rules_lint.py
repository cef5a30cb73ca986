#!/usr/bin/env python3
"""Checks deploy/prometheus/rules beyond what promtool checks.

  * every recording rule is named level:metric:operations;
  * every alert has a `for`, a severity label (critical, warning or info) and
    summary and description annotations that name what fired through
    $labels;
  * every metric a rule reads is in docs/metrics.md (with the labels it
    matches on), is recorded by another rule, or is a listed external metric;
  * the promtool unit tests (tests/deploy/prometheus/*_test.yml) check every
    recorded series with expected samples, and every alert both firing and
    not firing.

Prints one line per problem and exits 1 if there is any.
"""

import glob
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import catalog  # noqa: E402

SEVERITIES = {"critical", "warning", "info"}


def main():
    root = catalog.source_dir()
    problems = []
    rules = catalog.load_rules(root)
    if not rules:
        print(f"no rules found under {root}/deploy/prometheus/rules")
        return 1
    series = catalog.series_names(catalog.parse_catalog())
    recorded = catalog.recorded_names(root)

    records, alerts = [], []
    for path, group, rule in rules:
        where = f"{os.path.relpath(path, root)} ({group})"
        if "record" in rule:
            name = rule["record"]
            records.append(name)
            parts = name.split(":")
            if len(parts) != 3 or not all(parts):
                problems.append(f"{where}: recording rule {name} is not named level:metric:operations")
            where = f"{where} {name}"
        else:
            name = rule.get("alert", "?")
            alerts.append(name)
            where = f"{where} alert {name}"
            if "for" not in rule:
                problems.append(f"{where}: no `for:`")
            severity = (rule.get("labels") or {}).get("severity")
            if severity not in SEVERITIES:
                problems.append(f"{where}: severity label {severity!r} is not one of {sorted(SEVERITIES)}")
            annotations = rule.get("annotations") or {}
            for key in ("summary", "description"):
                text = annotations.get(key, "")
                if not text:
                    problems.append(f"{where}: no {key} annotation")
                elif "$labels." not in text:
                    problems.append(f"{where}: the {key} annotation names nothing through $labels")
        problems += catalog.check_expr_names(str(rule.get("expr", "")), series, recorded, where)

    # Coverage by the promtool unit tests.
    tested_records = set()
    firing, quiet = set(), set()
    test_dir = os.path.dirname(os.path.abspath(__file__))
    test_files = sorted(glob.glob(os.path.join(test_dir, "*_test.yml")))
    if not test_files:
        problems.append(f"no *_test.yml in {test_dir}")
    for path in test_files:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for test in doc.get("tests", []):
            for case in test.get("promql_expr_test", []) or []:
                names = {n for n, _ in catalog.selectors(case.get("expr", ""))}
                if case.get("exp_samples"):
                    tested_records |= names & recorded
            for case in test.get("alert_rule_test", []) or []:
                (firing if case.get("exp_alerts") else quiet).add(case.get("alertname"))
    for name in records:
        if name not in tested_records:
            problems.append(f"recording rule {name} has no promql_expr_test with expected samples")
    for name in alerts:
        if name not in firing:
            problems.append(f"alert {name} has no alert_rule_test where it fires")
        if name not in quiet:
            problems.append(f"alert {name} has no alert_rule_test where it does not fire")

    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"rules lint: {len(records)} recording rules and {len(alerts)} alerts, "
          f"all named, annotated, on catalog metrics, and covered by the unit tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
