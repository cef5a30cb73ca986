#!/usr/bin/env python3
"""Queries every panel of the Spindle dashboards against a live Prometheus.

  check_dashboards_live.py PROM_URL JOB_ID [--dashboards DIR] [--strict]
                           [--rules-health] [--retry-for SECONDS] [--verbose]

For every target of every panel in deploy/grafana/dashboards/*.json, the
Grafana variables are substituted (job_id = JOB_ID, multi-value variables
such as rank and worker = .*, $__rate_interval = 1m, $__interval = 15s,
$__range = 1h) and the expression is sent to PROM_URL/api/v1/query. Every
target whose query fails or returns no series is reported; so is a query
variable (label_values) that finds no value, and a job_id variable whose
values do not include JOB_ID. Exits 1 if anything is reported.

Meant for an end-to-end test: a healthy job has been running for a few
minutes and Prometheus (with deploy/prometheus/rules loaded) has scraped it.
The few targets that legitimately have no data in a healthy CPU job are in
NO_DATA_ALLOWED below, each with the reason; --strict ignores that list (the
synthetic scrape in dashboards_lint.sh has data for everything).
--rules-health also fails on any loaded rule whose last evaluation failed.
--retry-for re-runs the whole check until it passes or the time is up, for
callers that start Prometheus just before.

Standard library only.
"""

import argparse
import glob
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# (dashboard uid, panel title, refId or None for every target of the panel):
# why a healthy CPU job has no data there. Keep it short; everything else
# must have data.
NO_DATA_ALLOWED = [
    ("spindle-job", "GPU utilisation per rank", None,
     "DCGM exporter series, joined on GPU UUID: none for CPU ranks"),
    ("spindle-job", "GPU memory used per rank", None,
     "DCGM exporter series, joined on GPU UUID: none for CPU ranks"),
    ("spindle-job", "Restarts by reason", "A",
     "a reason's counter appears with the first restart for it; target B shows the total as 0"),
]

INTERVALS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
HTTP_TIMEOUT_S = 10


def substitute(text, variables):
    """Replaces $name, ${name}, ${name:format} and [[name]] with values."""
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in variables:
            return variables[name]
        return m.group(0)
    return re.sub(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)\]\]", repl, text)


def variable_values(dashboard, job_id):
    values = dict(INTERVALS)
    for v in dashboard.get("templating", {}).get("list", []):
        name = v.get("name")
        if name == "job_id":
            values[name] = job_id
        elif v.get("multi") or v.get("includeAll"):
            values[name] = v.get("allValue") or ".*"
        elif name == "datasource":
            values[name] = "prometheus"
    return values


def query(prom_url, expr):
    """(series list, error string or None)."""
    url = prom_url.rstrip("/") + "/api/v1/query"
    data = urllib.parse.urlencode({"query": expr}).encode()
    try:
        with urllib.request.urlopen(url, data=data, timeout=HTTP_TIMEOUT_S) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except ValueError:
            return [], f"HTTP {e.code}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        return [], f"cannot query {url}: {e}"
    if body.get("status") != "success":
        return [], f"{body.get('errorType', 'error')}: {body.get('error', body)}"
    result = body["data"]["result"]
    if body["data"].get("resultType") == "scalar":
        return [result], None
    return result, None


def panels_of(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        for inner in panel.get("panels", []) or []:  # collapsed rows
            yield inner


def allowed(uid, title, ref_id, strict):
    if strict:
        return None
    for a_uid, a_title, a_ref, reason in NO_DATA_ALLOWED:
        if a_uid == uid and a_title == title and a_ref in (None, ref_id):
            return reason
    return None


def check(prom_url, job_id, paths, strict, verbose):
    problems, checked, allowed_empty = [], 0, []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
        uid = dashboard.get("uid", os.path.basename(path))
        values = variable_values(dashboard, job_id)

        for v in dashboard.get("templating", {}).get("list", []):
            if v.get("type") != "query":
                continue
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else (q or "")
            m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q, re.S)
            if not m:
                problems.append(f"{uid}: variable {v.get('name')}: cannot check query {q!r}")
                continue
            selector, label = substitute(m.group(1), values), m.group(2)
            series, err = query(prom_url, f"group by ({label}) ({selector})")
            checked += 1
            found = sorted({s["metric"].get(label, "") for s in series} - {""})
            if err:
                problems.append(f"{uid}: variable {v.get('name')}: {err}")
            elif not found:
                problems.append(f"{uid}: variable {v.get('name')}: {q} finds no values")
            elif v.get("name") == "job_id" and job_id not in found:
                problems.append(f"{uid}: variable job_id: {job_id} is not among {found}")

        for panel in panels_of(dashboard):
            for target in panel.get("targets", []) or []:
                expr = target.get("expr")
                if not expr:
                    continue
                where = f"{uid}: panel {panel.get('id')} \"{panel.get('title')}\" target {target.get('refId')}"
                series, err = query(prom_url, substitute(expr, values))
                checked += 1
                if err:
                    problems.append(f"{where}: query failed: {err}")
                elif not series:
                    reason = allowed(uid, panel.get("title"), target.get("refId"), strict)
                    if reason:
                        allowed_empty.append(f"{where}: no data (allowed: {reason})")
                    else:
                        problems.append(f"{where}: no data")
                elif verbose:
                    print(f"ok: {where}: {len(series)} series")
    return problems, checked, allowed_empty


def rule_problems(prom_url):
    """Rules whose last evaluation failed (e.g. a many-to-many join), or that
    Prometheus has not evaluated yet."""
    url = prom_url.rstrip("/") + "/api/v1/rules"
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as resp:
            body = json.load(resp)
    except (urllib.error.URLError, OSError, ValueError) as e:
        return [f"cannot read {url}: {e}"]
    problems, count = [], 0
    for group in body.get("data", {}).get("groups", []):
        for rule in group.get("rules", []):
            count += 1
            if rule.get("health") != "ok":
                problems.append(f"rule {rule.get('name')} ({group.get('name')}): health {rule.get('health')}"
                                + (f": {rule['lastError']}" if rule.get("lastError") else ""))
    if count == 0:
        problems.append(f"{url}: no rules loaded")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prom_url")
    parser.add_argument("job_id")
    default_dir = os.path.join(os.environ.get("SPINDLE_SOURCE_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."), "deploy", "grafana", "dashboards")
    parser.add_argument("--dashboards", default=default_dir)
    parser.add_argument("--strict", action="store_true", help="no allow-list: every target must have data")
    parser.add_argument("--retry-for", type=float, default=0, metavar="SECONDS")
    parser.add_argument("--rules-health", action="store_true",
                        help="also require every loaded rule to evaluate without error")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    paths = sorted(glob.glob(os.path.join(args.dashboards, "*.json")))
    if not paths:
        print(f"no dashboards in {args.dashboards}")
        return 1
    deadline = time.monotonic() + args.retry_for
    while True:
        problems, checked, allowed_empty = check(args.prom_url, args.job_id, paths, args.strict, args.verbose)
        if args.rules_health:
            problems += rule_problems(args.prom_url)
        if not problems or time.monotonic() >= deadline:
            break
        time.sleep(1)
    for line in allowed_empty:
        print(line)
    for line in problems:
        print(f"FAIL: {line}")
    summary = f"{checked} queries over {len(paths)} dashboard(s) against {args.prom_url} for job {args.job_id}"
    if problems:
        print(f"FAILED: {len(problems)} of {summary} have no data or fail")
        return 1
    print(f"ok: {summary}: all have data" + (f" ({len(allowed_empty)} allowed empty)" if allowed_empty else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
