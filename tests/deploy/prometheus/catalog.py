"""The metric catalog (docs/metrics.md) and the names PromQL expressions use.

Shared by the rules lint (tests/deploy/prometheus/rules_lint.py) and the
dashboard lint (tests/deploy/grafana/dashboards_lint.py): both check that
every metric an expression reads is in the catalog, is a recording rule from
deploy/prometheus/rules, or is one of the few external series listed in
EXTERNAL_METRICS. Parsing is deliberately small: the catalog's tables and its
"Both" paragraph, and a PromQL tokenizer that knows selectors, label lists,
ranges and function calls, which is all these expressions use.
"""

import glob
import os
import re

import yaml

# Series that Spindle does not export but its rules and dashboards read, with
# where they come from. Keep this short: each is a dependency on another
# exporter's naming.
EXTERNAL_METRICS = {
    "up": "Prometheus, one per scrape target",
    "DCGM_FI_DEV_GPU_UTIL": "NVIDIA DCGM exporter, percent",
    "DCGM_FI_DEV_FB_USED": "NVIDIA DCGM exporter, MiB",
    "DCGM_FI_DEV_XID_ERRORS": "NVIDIA DCGM exporter, last XID code",
}

# Labels every scraped series has or may have from target relabelling
# (deploy/prometheus/prometheus*.yml), besides the ones the catalog lists.
TARGET_LABELS = {"instance", "job", "namespace", "pod", "node", "slurm_job"}

HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


class Metric:
    def __init__(self, name, kind, labels):
        self.name = name
        self.kind = kind  # "counter", "gauge", "histogram"
        self.labels = labels  # set of label names, or None when not documented

    def __repr__(self):
        return f"Metric({self.name!r}, {self.kind!r}, {self.labels!r})"


def source_dir():
    """The repository root: $SPINDLE_SOURCE_DIR, else three levels up."""
    env = os.environ.get("SPINDLE_SOURCE_DIR")
    if env:
        return env
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _backticked(text):
    return re.findall(r"`([^`]+)`", text)


def _labels_cell(cell):
    """Label names of a table cell: backticked words outside parentheses
    (the parentheses hold a label's values)."""
    depth = 0
    outside = []
    for ch in cell:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            outside.append(ch)
    return set(_backticked("".join(outside)))


def parse_catalog(path=None):
    """Returns {family name: Metric} from docs/metrics.md.

    Table rows give name(s), type and labels ("—" for none). The "Both"
    paragraph names the gRPC and process families in prose: names followed
    by a parenthesised label list, "(histogram; ...)" marking a histogram;
    process_* have no labels.
    """
    path = path or os.path.join(source_dir(), "docs", "metrics.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    metrics = {}
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3:
            continue
        names, kind, labels = cells[0], cells[1], cells[2]
        label_set = set() if labels in ("—", "-", "") else _labels_cell(labels)
        for name in _backticked(names):
            metrics[name] = Metric(name, kind, label_set)

    both = text.split("## Both", 1)
    if len(both) == 2:
        prose = both[1].split("\n## ", 1)[0]
        # Walk the backticked tokens in order; a run of metric names ends at a
        # parenthesised group, whose backticked words are their labels.
        pending = []
        token_re = re.compile(r"`([a-z_][a-z0-9_]*)`|\(([^)]*)\)")
        for m in token_re.finditer(prose):
            if m.group(1) is not None:
                name = m.group(1)
                if name.startswith(("grpc_", "process_")):
                    pending.append(name)
            else:
                group = m.group(2)
                labels = set(_backticked(group))
                if pending and labels:
                    kind = "histogram" if "histogram" in group else None
                    for name in pending:
                        metrics[name] = Metric(
                            name, kind or ("counter" if name.endswith("_total") else "gauge"), labels)
                    pending = []
        for name in pending:  # process_*: no labels
            metrics[name] = Metric(name, "counter" if name.endswith("_total") else "gauge", set())
    return metrics


def series_names(catalog):
    """Every series name the catalog implies: histograms expand to their
    _bucket, _sum and _count series. Maps series name -> (Metric, suffix)."""
    names = {}
    for metric in catalog.values():
        if metric.kind == "histogram":
            for suffix in HISTOGRAM_SUFFIXES:
                names[metric.name + suffix] = (metric, suffix)
        else:
            names[metric.name] = (metric, "")
    return names


def rule_files(root=None):
    root = root or source_dir()
    return sorted(glob.glob(os.path.join(root, "deploy", "prometheus", "rules", "*.yml")))


def load_rules(root=None):
    """[(file, group name, rule dict)] for every rule in deploy/prometheus/rules."""
    rules = []
    for path in rule_files(root):
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                rules.append((path, group.get("name"), rule))
    return rules


def recorded_names(root=None):
    return {r["record"] for _, _, r in load_rules(root) if "record" in r}


# --- PromQL ---------------------------------------------------------------

_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
    "group_right", "bool", "offset", "inf", "nan", "atan2",
}
_AGGREGATORS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile",
}
_LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


class PromQLError(ValueError):
    pass


def _skip_string(expr, i):
    quote = expr[i]
    i += 1
    while i < len(expr):
        if expr[i] == "\\" and quote != "`":
            i += 2
            continue
        if expr[i] == quote:
            return i + 1
        i += 1
    raise PromQLError(f"unterminated string in {expr!r}")


def _skip_ws(expr, i):
    while i < len(expr) and expr[i].isspace():
        i += 1
    return i


def _matchers(expr, i):
    """Parses `{...}` starting at expr[i] == '{'; returns (label names, end)."""
    assert expr[i] == "{"
    i += 1
    labels = set()
    while True:
        i = _skip_ws(expr, i)
        if i >= len(expr):
            raise PromQLError(f"unterminated selector in {expr!r}")
        ch = expr[i]
        if ch == "}":
            return labels, i + 1
        if ch in "\"'`":
            i = _skip_string(expr, i)
            continue
        m = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*").match(expr, i)
        if m:
            after = _skip_ws(expr, m.end())
            if expr.startswith(("=", "!=", "=~", "!~"), after):
                labels.add(m.group(0))
            i = m.end()
            continue
        i += 1


def selectors(expr):
    """[(metric name, set of matcher label names)] for every metric selector
    in a PromQL expression (function and aggregation names, keywords, label
    lists, strings and durations are not metrics)."""
    out = []
    i = 0
    ident = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
    while i < len(expr):
        ch = expr[i]
        if ch in "\"'`":
            i = _skip_string(expr, i)
        elif ch == "{":
            _, i = _matchers(expr, i)
        elif ch == "[":
            end = expr.find("]", i)
            if end < 0:
                raise PromQLError(f"unterminated range in {expr!r}")
            i = end + 1
        elif ch.isdigit() or (ch == "." and i + 1 < len(expr) and expr[i + 1].isdigit()):
            # Numbers and durations: 1.5e15, 0x1f, 10m, 1h30m.
            m = re.compile(r"[0-9.][0-9a-zA-Z_.]*").match(expr, i)
            i = m.end()
        elif ident.match(expr, i):
            m = ident.match(expr, i)
            word = m.group(0)
            after = _skip_ws(expr, m.end())
            nxt = expr[after] if after < len(expr) else ""
            if word.lower() in _LABEL_LIST_KEYWORDS:
                i = m.end()
                if nxt == "(":
                    end = expr.find(")", after)
                    if end < 0:
                        raise PromQLError(f"unterminated label list in {expr!r}")
                    i = end + 1
            elif word.lower() in _KEYWORDS or word in _AGGREGATORS or nxt == "(":
                i = m.end()
            else:
                labels = set()
                i = m.end()
                if nxt == "{":
                    labels, i = _matchers(expr, after)
                out.append((word, labels))
        else:
            i += 1
    return out


def check_expr_names(expr, catalog_series, recorded, where):
    """Problems (strings) with the metrics an expression reads: unknown
    names, and matchers on labels the catalog does not give that metric."""
    problems = []
    for name, labels in selectors(expr):
        if name in recorded or name in EXTERNAL_METRICS:
            continue
        if name not in catalog_series:
            problems.append(f"{where}: metric {name} is not in docs/metrics.md, not a recording rule "
                            f"in deploy/prometheus/rules and not an external metric")
            continue
        metric, suffix = catalog_series[name]
        if metric.labels is None:
            continue
        allowed = metric.labels | TARGET_LABELS | ({"le"} if suffix == "_bucket" else set())
        unknown = labels - allowed
        if unknown:
            problems.append(f"{where}: {name} has no label(s) {', '.join(sorted(unknown))} "
                            f"in docs/metrics.md (it has: {', '.join(sorted(metric.labels)) or 'none'})")
    return problems
