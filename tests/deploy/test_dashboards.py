"""The Grafana dashboards (deploy/grafana/*.json): well-formed, every query names metrics
and labels the services really export, PromQL Prometheus's own parser accepts, and every
alert in deploy/prometheus/rules/kanalvakt.rules.yaml has a panel to look at.

The metrics are read from prometheus_client's REGISTRY after importing shared.metrics,
every services/<svc>/metrics.py and every shared module that uses prometheus_client, and
after building FastStream's Prometheus middleware the way shared/bus/broker.py does.
"""

import importlib
import json
import re
import runpy
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.utils import floatToGoString

from tests.helpers import ROOT

GRAFANA = ROOT / "deploy" / "grafana"
RULES = ROOT / "deploy" / "prometheus" / "rules" / "kanalvakt.rules.yaml"
EXPECTED = {
    "kanalvakt-overview.json",
    "kanalvakt-registry.json",
    "kanalvakt-moderation.json",
    "kanalvakt-archive.json",
    "kanalvakt-notify.json",
}
DASHBOARDS = sorted(GRAFANA.glob("*.json"))
RULE_ID = re.compile(r"\b(?:P\d+(?:\.\d+)?b?|B\d+(?:\.\d+)?|L\d+)\b")
# Labels Prometheus adds to every scraped series (target labels; the operator's
# ServiceMonitor adds namespace, pod, service, container and endpoint).
TARGET_LABELS = {"job", "instance", "namespace", "pod", "service", "container", "endpoint"}
# Values Grafana substitutes for its built-in variables, for checking only.
BUILTINS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__range_s": "3600"}


# ------------------------------------------------------------------ what is exported


@dataclass
class Exported:
    labels: dict[str, set[str]] = field(default_factory=dict)  # series name -> label names
    buckets: dict[str, set[str]] = field(default_factory=dict)  # _bucket name -> le values
    help: dict[str, str] = field(default_factory=dict)  # series name -> help text


def _metric_modules() -> Iterator[str]:
    yield "shared.metrics"
    for path in sorted((ROOT / "services").glob("*/metrics.py")):
        yield f"services.{path.parent.name}.metrics"
    # Wherever the bus and ops metrics live (outbox, consumer lag, dead letters).
    for path in sorted((ROOT / "shared").rglob("*.py")):
        if "prometheus_client" in path.read_text(encoding="utf-8"):
            yield ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _exported() -> Exported:
    for module in _metric_modules():
        importlib.import_module(module)
    # FastStream registers its metrics when the middleware is built: as the broker does.
    broker = (ROOT / "shared" / "bus" / "broker.py").read_text(encoding="utf-8")
    assert "NatsPrometheusMiddleware(registry=REGISTRY" in broker, (
        "shared/bus/broker.py no longer installs FastStream's Prometheus middleware: "
        "the per-service dashboards' faststream_* panels would be empty"
    )
    from faststream.nats.prometheus import NatsPrometheusMiddleware

    NatsPrometheusMiddleware(registry=REGISTRY, app_name="dashboards-test")

    out = Exported()
    collectors = REGISTRY._collector_to_names
    for collector in list(collectors):
        labelnames = set(getattr(collector, "_labelnames", ()))
        bounds = getattr(collector, "_upper_bounds", None)
        describe = getattr(collector, "describe", None)
        for family in (describe() if describe else []) or collector.collect():
            help_text = family.documentation
            names: dict[str, set[str]]
            if family.type == "counter":
                names = {f"{family.name}_total": labelnames}
            elif family.type == "histogram":
                names = {
                    f"{family.name}_bucket": labelnames | {"le"},
                    f"{family.name}_sum": labelnames,
                    f"{family.name}_count": labelnames,
                }
                if bounds:
                    out.buckets[f"{family.name}_bucket"] = {
                        floatToGoString(b)  # type: ignore[no-untyped-call]
                        for b in bounds
                    }
            elif family.type == "summary":
                names = {
                    family.name: labelnames | {"quantile"},
                    f"{family.name}_sum": labelnames,
                    f"{family.name}_count": labelnames,
                }
            elif family.type == "info":
                names = {f"{family.name}_info": labelnames}
            else:
                names = {family.name: labelnames}
            if not labelnames:  # collectors without _labelnames: read the samples
                sample_labels = {k for s in family.samples for k in s.labels}
                names = {n: ls | sample_labels for n, ls in names.items()}
            for name, labels in names.items():
                out.labels[name] = labels
                out.help[name] = help_text
    out.labels["up"] = set()
    out.help["up"] = "Prometheus: 1 when the last scrape of the target succeeded."
    return out


EXPORTED = _exported()


# ------------------------------------------------------------------ reading PromQL

FUNCTIONS_AND_KEYWORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "sum", "min", "max", "avg", "count", "stddev", "stdvar",
    "topk", "bottomk", "quantile", "count_values", "group", "inf", "nan", "start", "end",
}  # fmt: skip
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
NUMBER = re.compile(r"\.?[0-9][0-9A-Za-z_.]*(?:[eE][+-][0-9]+)?")
MATCHER = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*")


@dataclass
class Selector:
    metric: str
    matchers: list[tuple[str, str, str]]  # (label, op, value)


def _string(text: str, i: int) -> tuple[str, int]:
    """The string literal starting at text[i] and the index after it."""
    quote, j, value = text[i], i + 1, []
    while text[j] != quote:
        if text[j] == "\\" and quote != "`":
            value.append(text[j : j + 2])
            j += 2
            continue
        value.append(text[j])
        j += 1
    return "".join(value), j + 1


def _matchers(text: str, i: int) -> tuple[list[tuple[str, str, str]], int]:
    """The label matchers of the `{...}` starting at text[i] and the index after it."""
    out: list[tuple[str, str, str]] = []
    j = i + 1
    while True:
        while text[j] in " ,\n\t":
            j += 1
        if text[j] == "}":
            return out, j + 1
        m = MATCHER.match(text, j)
        assert m, f"cannot read a label matcher at {text[j:]!r}"
        value, j = _string(text, m.end())
        out.append((m.group(1), m.group(2), value))


def selectors(expr: str) -> list[Selector]:
    """Every vector selector in a PromQL expression, with its metric name and matchers.

    Skips string literals, durations, numbers, functions and aggregations (identifiers
    followed by `(`), keywords, and the label lists of by/without/on/ignoring/group_*.
    """
    found: list[Selector] = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            _, i = _string(expr, i)
        elif c == "[":
            i = expr.index("]", i) + 1
        elif c == "{":  # a selector without a metric name: {__name__="..."}
            matchers, i = _matchers(expr, i)
            names = [v for label, op, v in matchers if label == "__name__" and op == "="]
            found.append(Selector(names[0] if names else "", matchers))
        elif number := NUMBER.match(expr, i):  # numbers and durations: 0.95, 2e3, 1h30m
            i = number.end()
        elif m := IDENT.match(expr, i):
            word, i = m.group(), m.end()
            rest = expr[i:].lstrip()
            if word.lower() in GROUPING and rest.startswith("("):
                i = expr.index(")", i) + 1
            elif rest.startswith("(") or word.lower() in FUNCTIONS_AND_KEYWORDS:
                continue
            else:
                j = i + (len(expr[i:]) - len(rest))
                if rest.startswith("{"):
                    matchers, i = _matchers(expr, j)
                else:
                    matchers = []
                found.append(Selector(word, matchers))
        else:
            i += 1
    return found


def test_the_promql_reader_finds_metrics_not_functions_labels_or_strings() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, kommun) (rate(a_bucket{x=~"b{1}", le="1.0"}'
        "[5m]))) / on (kommun) group_left (y) max without (z) (b offset 1h) > bool 2e3 "
        'or label_replace(c, "dst", "$1", "src", "(.*)") or vector(0) + d[1h:5m] '
        'and {__name__="e"} unless count(f) by (g)'
    )
    got = [(s.metric, [m[0] for m in s.matchers]) for s in selectors(expr)]
    assert got == [
        ("a_bucket", ["x", "le"]),
        ("b", []),
        ("c", []),
        ("d", []),
        ("e", ["__name__"]),
        ("f", []),
    ]


# ------------------------------------------------------------------ the dashboards


def _load(path: Path) -> dict[str, Any]:
    model: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return model


def _panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows hold their panels


def _variables(model: dict[str, Any]) -> dict[str, str]:
    """Each template variable's value for checking: its default, All as `.*`."""
    values = dict(BUILTINS)
    for var in model["templating"]["list"]:
        if var["type"] == "datasource":
            continue
        if var.get("includeAll"):
            values[var["name"]] = var.get("allValue") or ".*"
        else:
            current = var["current"]["value"]
            values[var["name"]] = current[0] if isinstance(current, list) else current
    return values


def _substitute(expr: str, values: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        assert name in values, f"unknown variable ${name} in {expr!r}"
        return values[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", one, expr)


@dataclass
class Query:
    dashboard: str
    panel_id: int
    title: str
    description: str
    ref: str
    expr: str  # with the template variables substituted


def _queries() -> list[Query]:
    out = []
    for path in DASHBOARDS:
        model = _load(path)
        values = _variables(model)
        for panel in _panels(model):
            for target in panel.get("targets", []):
                out.append(
                    Query(
                        path.name,
                        panel["id"],
                        panel["title"],
                        panel.get("description", ""),
                        target["refId"],
                        _substitute(target["expr"], values),
                    )
                )
        for var in model["templating"]["list"]:
            if var["type"] == "query":
                q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
                m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", q)
                assert m, f"{path.name}: variable {var['name']} is not label_values(...): {q}"
                out.append(Query(path.name, 0, f"${var['name']}", "", "var", m.group(1)))
    return out


QUERIES = _queries()


def _where(q: Query) -> str:
    return f"{q.dashboard} panel {q.panel_id} {q.title!r} {q.ref}: {q.expr}"


def test_the_five_dashboards_replace_the_sketch() -> None:
    assert {p.name for p in DASHBOARDS} == EXPECTED


def test_dashboards_are_fresh_from_build_py() -> None:
    build = runpy.run_path(str(GRAFANA / "build.py"))
    for name, text in build["dashboards"]().items():
        committed = (GRAFANA / name).read_text(encoding="utf-8")
        assert committed == text, f"deploy/grafana/{name} is stale: run deploy/grafana/build.py"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_valid_with_unique_ids_and_a_datasource_variable(path: Path) -> None:
    model = _load(path)
    assert model["schemaVersion"] >= 39
    assert model["uid"]
    assert model["title"]
    ids = [p["id"] for p in _panels(model)]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {path.name}"
    variables = {v["name"]: v for v in model["templating"]["list"]}
    ds = variables.get("datasource")
    assert ds
    assert ds["type"] == "datasource"
    assert ds["query"] == "prometheus"
    kommun = variables.get("kommun")
    assert kommun
    assert kommun["type"] == "query"
    assert "label_values(" in json.dumps(kommun["query"])
    # No hard-coded datasource uid anywhere: every reference is the variable.
    text = json.dumps(model)
    for uid in re.findall(r'"uid": "([^"]*)"', text):
        assert uid in (model["uid"], "${datasource}", "$datasource"), f"hard-coded uid {uid}"
    for panel in _panels(model):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel.get("description"), f"{path.name}: {panel['title']!r} has no description"
        assert panel["targets"], f"{path.name}: {panel['title']!r} has no query"
        for t in panel["targets"]:
            assert t["datasource"]["uid"] == "${datasource}", panel["title"]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: f"{q.dashboard}:{q.panel_id}{q.ref}")
def test_query_names_only_exported_metrics_and_labels(query: Query) -> None:
    found = selectors(query.expr)
    assert found, f"no metric in {_where(query)}"
    for sel in found:
        assert sel.metric in EXPORTED.labels, (
            f"{sel.metric!r} is not exported by any service: {_where(query)}"
        )
        allowed = EXPORTED.labels[sel.metric] | TARGET_LABELS | {"__name__"}
        for label, op, value in sel.matchers:
            assert label in allowed, (
                f"{sel.metric} has no label {label!r} (has {sorted(allowed)}): {_where(query)}"
            )
            if label == "le" and op == "=":
                assert value in EXPORTED.buckets[sel.metric], (
                    f"{sel.metric} has no bucket le={value!r}: {_where(query)}"
                )


def test_panels_on_policy_measures_name_their_rule_ids() -> None:
    """A panel on a metric whose help cites a policy rule names a rule ID itself."""
    missing = []
    for q in QUERIES:
        if q.ref == "var":
            continue
        cited = [s.metric for s in selectors(q.expr) if RULE_ID.search(EXPORTED.help[s.metric])]
        if cited and not RULE_ID.search(q.title + " " + q.description):
            missing.append(f"{q.dashboard} {q.title!r} ({cited[0]})")
    assert not missing, "policy panels without a rule ID:\n" + "\n".join(missing)


def test_every_query_parses_with_promtool(tmp_path: Path) -> None:
    """Prometheus's own parser: the queries as recording rules through promtool."""
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    assert Path(promtool).exists(), "promtool not found: apt-get install prometheus"
    rules = [
        {"record": f"dashboard:{re.sub(r'[^a-z]', '_', q.dashboard[:-5])}_{q.panel_id}_{q.ref}",
         "expr": q.expr}
        for q in QUERIES
    ]  # fmt: skip
    target = tmp_path / "dashboards.rules.yaml"
    target.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    done = subprocess.run(
        [promtool, "check", "rules", str(target)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------ alerts have panels


def _alerts() -> tuple[list[dict[str, Any]], dict[str, str]]:
    if not RULES.exists():
        pytest.fail(f"{RULES.relative_to(ROOT)} is missing: the alerting rules are not written")
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    groups = doc["spec"]["groups"] if "spec" in doc else doc["groups"]
    rules = [r for g in groups for r in g["rules"]]
    records = {r["record"]: r["expr"] for r in rules if "record" in r}
    return [r for r in rules if "alert" in r], records


def _metrics_of(expr: str, records: dict[str, str]) -> list[str]:
    """An expression's metrics in order, recording rules replaced by what they read."""
    out: list[str] = []
    for sel in selectors(expr):
        out += _metrics_of(records[sel.metric], records) if sel.metric in records else [sel.metric]
    return out


def test_every_alert_has_a_panel() -> None:
    alerts, records = _alerts()
    assert alerts, f"no alerts in {RULES.relative_to(ROOT)}"
    shown = {s.metric for q in QUERIES for s in selectors(q.expr)}
    described = " ".join(q.description for q in QUERIES)
    missing = []
    for alert in alerts:
        main = _metrics_of(alert["expr"], records)[0]
        if main not in shown and alert["alert"] not in described:
            missing.append(f"{alert['alert']} (main metric {main})")
    assert not missing, "alerts without a panel:\n" + "\n".join(missing)


def test_alerts_named_in_descriptions_exist() -> None:
    alerts, _ = _alerts()
    names = {a["alert"] for a in alerts}
    for q in QUERIES:
        for name in re.findall(r"\bKanalvakt[A-Z]\w+", q.description):
            assert name in names, f"{q.dashboard} {q.title!r} names unknown alert {name}"
