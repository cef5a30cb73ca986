#!/usr/bin/env python3
"""Proves dashboards_lint.py catches what it claims to: breaks a copy of the
job dashboard one way at a time and expects the lint to fail naming it.

  dashboards_lint_selftest.py --prom-url URL

Each broken copy keeps only the first panels (so the promtool parse check
stays quick); the lint then also reports catalog metrics left unused, which
is why each case looks for its own message rather than just a failure.
"""

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "prometheus"))
import catalog  # noqa: E402

KEEP_PANELS = 6  # row, job table, the first stats


def first_expr_panel(d):
    return next(p for p in d["panels"] if p.get("targets"))


def set_expr(expr):
    def mutate(d):
        first_expr_panel(d)["targets"][0]["expr"] = expr
    return mutate


def mutate_panel(fn):
    def mutate(d):
        fn(first_expr_panel(d), d)
    return mutate


CASES = [
    ("overlapping panels", "overlaps",
     mutate_panel(lambda p, d: p.__setitem__("gridPos", dict(d["panels"][2]["gridPos"])))),
    ("a panel past column 24", "outside the 24-column grid",
     mutate_panel(lambda p, d: p["gridPos"].update(x=20, w=8))),
    ("a repeated panel id", "is also panel", mutate_panel(lambda p, d: p.__setitem__("id", d["panels"][2]["id"]))),
    ("an undefined variable", "$jobid is used but not defined", set_expr('spindle_train_step{job_id="$jobid"}')),
    ("a metric not in the catalog", "spindle_train_stepz is not in docs/metrics.md",
     set_expr('spindle_train_stepz{job_id="$job_id"}')),
    ("a label the metric does not have", "spindle_train_step has no label(s) rank",
     set_expr('spindle_train_step{job_id="$job_id", rank="0"}')),
    ("a multi-value variable outside a regex matcher", "multi-value $rank outside",
     set_expr('spindle_train_tokens_total{job_id="$job_id", rank="$rank"}')),
    ("a PromQL syntax error", "promtool query instant",
     set_expr('sum(rate(spindle_train_tokens_total{job_id="$job_id"}[$__rate_interval])')),
    ("a hard-coded data source", "datasource must be",
     mutate_panel(lambda p, d: p.__setitem__("datasource", {"type": "prometheus", "uid": "abc"}))),
    ("a panel without a unit", "no fieldConfig.defaults.unit",
     mutate_panel(lambda p, d: p["fieldConfig"]["defaults"].pop("unit"))),
    ("a dashboard id", "id must be null", lambda d: d.__setitem__("id", 7)),
    ("an unpinned schemaVersion", "is not the pinned", lambda d: d.__setitem__("schemaVersion", 36)),
    ("a missing rank variable", "no variable rank",
     lambda d: d["templating"].__setitem__("list", [v for v in d["templating"]["list"] if v["name"] != "rank"])),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prom-url", required=True)
    args = parser.parse_args()
    src = os.path.join(catalog.source_dir(), "deploy", "grafana", "dashboards", "spindle-job.json")
    with open(src, encoding="utf-8") as f:
        base = json.load(f)
    base["panels"] = base["panels"][:KEEP_PANELS]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="spindle-lint-selftest-") as tmp:
        for what, message, mutate in CASES:
            d = copy.deepcopy(base)
            mutate(d)
            case_dir = os.path.join(tmp, str(CASES.index((what, message, mutate))))
            os.makedirs(case_dir)
            with open(os.path.join(case_dir, "spindle-job.json"), "w", encoding="utf-8") as f:
                json.dump(d, f)
            result = subprocess.run([sys.executable, os.path.join(HERE, "dashboards_lint.py"),
                                     "--dashboards", case_dir, "--prom-url", args.prom_url],
                                    capture_output=True, text=True, timeout=60)
            if result.returncode != 0 and message in result.stdout:
                line = next(line for line in result.stdout.splitlines() if message in line)
                print(f"ok: the lint rejects {what}: {line[:150]}")
            else:
                failures += 1
                print(f"FAIL: the lint did not report {what} (expected {message!r}, "
                      f"rc {result.returncode}):\n{result.stdout}{result.stderr}")
        # And a broken JSON file.
        bad = os.path.join(tmp, "json")
        os.makedirs(bad)
        with open(os.path.join(bad, "x.json"), "w", encoding="utf-8") as f:
            f.write('{"uid": "x", "uid": "y"}')
        result = subprocess.run([sys.executable, os.path.join(HERE, "dashboards_lint.py"), "--dashboards", bad],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0 and "not valid JSON" in result.stdout:
            print("ok: the lint rejects JSON with a duplicate key")
        else:
            failures += 1
            print(f"FAIL: the lint accepted JSON with a duplicate key:\n{result.stdout}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
