#!/usr/bin/env python3
"""Structural lint of the Spindle Grafana dashboards and provisioning.

  dashboards_lint.py [--dashboards DIR] [--prom-url URL]

Checks, for deploy/grafana/dashboards/*.json (or DIR):
  * valid JSON without duplicate keys; id null, a unique uid, a title, the
    pinned schemaVersion, time, refresh, templating.list and panels;
  * panels: unique ids, a type, gridPos inside the 24-column grid and not
    overlapping; every non-row panel has the `${datasource}` Prometheus data
    source, a unit, and targets with expr, legendFormat and unique refIds;
  * variables: every $var / ${var} / [[var]] used is defined (Grafana's
    built-in $__* aside); multi-value variables appear only inside =~ / !~
    matchers; query variables use the datasource variable, whose default is
    the uid provisioned in provisioning/datasources; the job dashboard has
    the variables, queries and rows docs/metrics.md's consumers rely on;
  * every metric an expression reads is in docs/metrics.md with the labels
    it matches on, is a recording rule in deploy/prometheus/rules, or is a
    listed external metric; and every catalog metric is used by some panel
    or rule;
  * with --prom-url, every expression, with the variables substituted, is
    run with `promtool query instant` against that (loopback) Prometheus; a
    parse error fails, an empty result does not;
  * the provisioning files, and that the example expositions in testdata/
    cover every catalog metric with its documented labels (the live
    self-test relies on them).
Prints one line per problem; exits 1 if there is any.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "prometheus"))
import catalog  # noqa: E402

SCHEMA_VERSION = 39
GRID_COLUMNS = 24
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Substitutions for the promtool parse check; the live checker uses the same.
INTERVALS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
LINT_JOB_ID = "lint-job"

# What the job dashboard promises its users (and docs/metrics.md points to).
JOB_DASHBOARD = "spindle-job"
JOB_VARIABLES = {
    "job_id": ("label_values(spindle_job_info, job_id)", False),
    "rank": ('label_values(spindle_rank_info{job_id="$job_id"}, rank)', True),
    "worker": ('label_values(spindle_rank_info{job_id="$job_id"}, worker)', True),
}
JOB_ROWS = ["Overview", "Performance", "Communication", "Memory", "Reliability"]

VAR_RE = re.compile(r"\$\{(\w+)(?:[.:][^}]*)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")


class DuplicateKey(ValueError):
    pass


def no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise DuplicateKey(f"duplicate key {k!r}")
        seen[k] = v
    return seen


def strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def variables_used(text):
    for m in VAR_RE.finditer(text):
        name = m.group(1) or m.group(2) or m.group(3)
        if not name.startswith("__") and not name.isdigit():
            yield name


def substitute(text, values):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return values.get(name, m.group(0))
    return VAR_RE.sub(repl, text)


def all_panels(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        for inner in panel.get("panels", []) or []:
            yield inner


def overlaps(a, b):
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and
            a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def check_grid(name, panels, problems):
    placed = []
    for panel in panels:
        g = panel.get("gridPos")
        where = f"{name}: panel {panel.get('id')} \"{panel.get('title')}\""
        if not isinstance(g, dict) or not all(isinstance(g.get(k), int) for k in "hwxy"):
            problems.append(f"{where}: gridPos needs integer h, w, x, y (got {g})")
            continue
        if g["w"] < 1 or g["h"] < 1 or g["x"] < 0 or g["y"] < 0 or g["x"] + g["w"] > GRID_COLUMNS:
            problems.append(f"{where}: gridPos {g} is outside the {GRID_COLUMNS}-column grid")
        for other, og in placed:
            if overlaps(g, og):
                problems.append(f"{where}: gridPos {g} overlaps panel {other} {og}")
        placed.append((panel.get("id"), g))
        if panel.get("type") == "row" and panel.get("collapsed"):
            check_grid(f"{name} (collapsed row {panel.get('title')})", panel.get("panels", []), problems)


def load_provisioning(root, kind, problems):
    """deploy/grafana/provisioning/<kind>/spindle.yml as (path, doc); doc is None when unreadable."""
    path = os.path.join(root, "deploy", "grafana", "provisioning", kind, "spindle.yml")
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        problems.append(f"{path}: {e}")
        return path, None
    if doc.get("apiVersion") != 1:
        problems.append(f"{path}: apiVersion must be 1")
    return path, doc


def provisioned_uid(root, problems):
    path, doc = load_provisioning(root, "datasources", problems)
    if doc is None:
        return None
    sources = [d for d in doc.get("datasources", []) if d.get("type") == "prometheus"]
    if len(sources) != 1 or not sources[0].get("uid") or not sources[0].get("url"):
        problems.append(f"{path}: needs exactly one prometheus data source with a uid and a url")
        return None
    return sources[0]["uid"]


def check_dashboard_provider(root, problems):
    path, doc = load_provisioning(root, "dashboards", problems)
    if doc is None:
        return
    providers = doc.get("providers") or []
    if not providers:
        problems.append(f"{path}: no providers")
    for p in providers:
        if p.get("type") != "file" or p.get("disableDeletion") is not True or p.get("allowUiUpdates") is not False \
                or not (p.get("options") or {}).get("path"):
            problems.append(f"{path}: provider {p.get('name')} must be type file with disableDeletion: true, "
                            f"allowUiUpdates: false and options.path")


def check_fixtures(cat, problems):
    """The example expositions cover every catalog family with its labels."""
    seen = {}
    for path in sorted(glob.glob(os.path.join(HERE, "testdata", "*.prom"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip() or line.startswith("#"):
                    continue
                m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s", line)
                name, labels = m.group(1), set(re.findall(r'(\w+)="', m.group(2) or ""))
                seen.setdefault(name, []).append(labels)
    series = catalog.series_names(cat)
    prose = {"grpc_server_started_total", "grpc_server_handled_total", "grpc_server_handling_seconds"}
    for name, (metric, suffix) in sorted(series.items()):
        if name not in seen:
            problems.append(f"testdata/*.prom has no {name} (docs/metrics.md lists {metric.name})")
            continue
        for labels in seen[name]:
            labels = labels - ({"le"} if suffix == "_bucket" else set())
            documented = metric.labels or set()
            if metric.name in prose:
                if not labels <= documented:
                    problems.append(f"testdata: {name} has labels {sorted(labels - documented)} "
                                    f"not in docs/metrics.md")
            elif labels != documented:
                problems.append(f"testdata: {name} has labels {sorted(labels)}, docs/metrics.md "
                                f"{sorted(documented)}")


def promtool_parse(prom_url, expr):
    result = subprocess.run(["promtool", "query", "instant", prom_url, expr],
                            capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        return (result.stderr or result.stdout).strip()
    return None


def main():
    root = catalog.source_dir()
    parser = argparse.ArgumentParser()
    parser.add_argument("--dashboards", default=os.path.join(root, "deploy", "grafana", "dashboards"))
    parser.add_argument("--prom-url", help="a loopback Prometheus for `promtool query instant`")
    args = parser.parse_args()

    problems = []
    cat = catalog.parse_catalog()
    series = catalog.series_names(cat)
    recorded = catalog.recorded_names(root)
    ds_uid = provisioned_uid(root, problems)
    check_dashboard_provider(root, problems)
    check_fixtures(cat, problems)

    paths = sorted(glob.glob(os.path.join(args.dashboards, "*.json")))
    if not paths:
        problems.append(f"no dashboards in {args.dashboards}")
    uids = {}
    used_metrics = set()
    exprs_checked = panel_count = 0
    for path in paths:
        name = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as f:
                d = json.load(f, object_pairs_hook=no_duplicates)
        except (ValueError, OSError) as e:
            problems.append(f"{name}: not valid JSON: {e}")
            continue
        # Top level.
        if "id" not in d or d["id"] is not None:
            problems.append(f"{name}: id must be null (Grafana assigns it)")
        uid = d.get("uid")
        if not isinstance(uid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid):
            problems.append(f"{name}: uid {uid!r} must be 1-40 letters, digits, - or _")
        elif uid in uids:
            problems.append(f"{name}: uid {uid} is also used by {uids[uid]}")
        else:
            uids[uid] = name
        if d.get("schemaVersion") != SCHEMA_VERSION:
            problems.append(f"{name}: schemaVersion {d.get('schemaVersion')} is not the pinned {SCHEMA_VERSION}")
        for key in ("title", "refresh"):
            if not d.get(key):
                problems.append(f"{name}: no {key}")
        if not (d.get("time") or {}).get("from") or not (d.get("time") or {}).get("to"):
            problems.append(f"{name}: time needs from and to")
        variables = (d.get("templating") or {}).get("list")
        if not isinstance(variables, list):
            problems.append(f"{name}: no templating.list")
            variables = []
        if not isinstance(d.get("panels"), list) or not d["panels"]:
            problems.append(f"{name}: no panels")
            continue

        # Variables.
        defined = {}
        for v in variables:
            vname = v.get("name")
            if vname in defined:
                problems.append(f"{name}: variable {vname} defined twice")
            defined[vname] = v
        ds_var = defined.get("datasource")
        if not ds_var or ds_var.get("type") != "datasource" or ds_var.get("query") != "prometheus":
            problems.append(f"{name}: needs a variable `datasource` of type datasource, query prometheus")
        elif ds_uid and (ds_var.get("current") or {}).get("value") not in (None, ds_uid):
            problems.append(f"{name}: the datasource variable defaults to "
                            f"{ds_var['current'].get('value')!r}, not the provisioned uid {ds_uid!r}")
        multi = {n for n, v in defined.items() if v.get("multi") or v.get("includeAll")}
        for vname, v in defined.items():
            if v.get("type") == "query":
                if v.get("datasource") != DATASOURCE:
                    problems.append(f"{name}: variable {vname}: datasource must be {DATASOURCE}")
                q = v.get("query")
                q = q.get("query") if isinstance(q, dict) else q
                m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", q or "", re.S)
                if not m:
                    problems.append(f"{name}: variable {vname}: query {q!r} is not label_values(selector, label)")
                else:
                    problems += catalog.check_expr_names(m.group(1), series, recorded, f"{name}: variable {vname}")
                    used_metrics |= {n for n, _ in catalog.selectors(m.group(1))}
        for text in strings(d):
            for vname in variables_used(text):
                if vname not in defined:
                    problems.append(f"{name}: ${vname} is used but not defined in templating "
                                    f"(in {text[:60]!r})")
        if d.get("uid") == JOB_DASHBOARD:
            for vname, (q, is_multi) in JOB_VARIABLES.items():
                v = defined.get(vname)
                if not v:
                    problems.append(f"{name}: no variable {vname}")
                    continue
                got = v.get("query")
                got = got.get("query") if isinstance(got, dict) else got
                if got != q or bool(v.get("multi")) != is_multi or bool(v.get("includeAll")) != is_multi:
                    problems.append(f"{name}: variable {vname} must be {q!r}" + (", multi, includeAll"
                                                                                 if is_multi else ""))
            rows = [p.get("title") for p in d["panels"] if p.get("type") == "row"]
            for row in JOB_ROWS:
                if row not in rows:
                    problems.append(f"{name}: no row {row!r} (rows: {rows})")

        # Panels.
        ids = {}
        for panel in all_panels(d):
            panel_count += 1
            pid = panel.get("id")
            where = f"{name}: panel {pid} \"{panel.get('title')}\""
            if not isinstance(pid, int):
                problems.append(f"{where}: id must be an integer")
            elif pid in ids:
                problems.append(f"{where}: id {pid} is also panel \"{ids[pid]}\"")
            else:
                ids[pid] = panel.get("title")
            if not panel.get("type"):
                problems.append(f"{where}: no type")
            if panel.get("type") == "row":
                continue
            if not panel.get("title"):
                problems.append(f"{where}: no title")
            if panel.get("datasource") != DATASOURCE:
                problems.append(f"{where}: datasource must be {DATASOURCE}, not {panel.get('datasource')}")
            unit = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
            if not isinstance(unit, str) or not unit:
                problems.append(f"{where}: no fieldConfig.defaults.unit")
            targets = panel.get("targets") or []
            if not targets:
                problems.append(f"{where}: no targets")
            refs = set()
            for t in targets:
                ref = t.get("refId")
                if not ref or ref in refs:
                    problems.append(f"{where}: target refId {ref!r} missing or repeated")
                refs.add(ref)
                if "datasource" in t and t["datasource"] != DATASOURCE:
                    problems.append(f"{where} target {ref}: datasource must be {DATASOURCE}")
                if not isinstance(t.get("legendFormat"), str):
                    problems.append(f"{where} target {ref}: no legendFormat")
                expr = t.get("expr")
                if not isinstance(expr, str) or not expr.strip():
                    problems.append(f"{where} target {ref}: no expr")
                    continue
                # Multi-value variables expand to regexes: only inside =~ / !~.
                spans = [m.span(2) for m in re.finditer(r'(=~|!~)\s*"((?:[^"\\]|\\.)*)"', expr)]
                for m in VAR_RE.finditer(expr):
                    vname = m.group(1) or m.group(2) or m.group(3)
                    if vname in multi and not any(a <= m.start() and m.end() <= b for a, b in spans):
                        problems.append(f"{where} target {ref}: multi-value ${vname} outside a =~ or !~ matcher")
                problems += catalog.check_expr_names(expr, series, recorded, f"{where} target {ref}")
                used_metrics |= {n for n, _ in catalog.selectors(expr)}
                if args.prom_url:
                    values = dict(INTERVALS)
                    values.update({n: ".*" for n in multi})
                    values["job_id"] = LINT_JOB_ID
                    err = promtool_parse(args.prom_url, substitute(expr, values))
                    exprs_checked += 1
                    if err:
                        problems.append(f"{where} target {ref}: promtool query instant: {err}")
        check_grid(name, d["panels"], problems)

    # Every catalog family is charted somewhere (a panel or a recording rule).
    for _, _, rule in catalog.load_rules(root):
        used_metrics |= {n for n, _ in catalog.selectors(str(rule.get("expr", "")))}
    if paths:
        for metric in cat.values():
            names = {metric.name + s for s in catalog.HISTOGRAM_SUFFIXES} if metric.kind == "histogram" \
                else {metric.name}
            if not names & used_metrics:
                problems.append(f"{metric.name} (docs/metrics.md) is used by no dashboard panel or recording rule")

    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"dashboards lint: {len(paths)} dashboards, {panel_count} panels; structure, variables, "
          f"catalog names and coverage ok"
          + (f"; {exprs_checked} expressions parsed by promtool" if args.prom_url else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
