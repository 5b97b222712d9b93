"""The alerting rules (issue 12): deploy/prometheus/rules/kanalvakt.rules.yaml is the
source, deploy/prometheus/prometheusrule.yaml the same groups for the Prometheus
operator. Debian's promtool checks them and runs the unit tests in
deploy/prometheus/tests/ (every alert fires on its breach and stays silent when
healthy); every alert carries its severity, policy rule, both summaries and a runbook
section; every metric an expression names is one the services export."""

import importlib
import pkgutil
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import shared
from tests.helpers import ROOT

PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules" / "kanalvakt.rules.yaml"
OPERATOR_RULE = PROMETHEUS / "prometheusrule.yaml"
UNIT_TESTS = sorted((PROMETHEUS / "tests").glob("*.yaml"))
RUNBOOK = ROOT / "docs" / "runbook.md"
SERVICES = ("registry", "moderation", "archive", "notify")
RULE_ID = re.compile(r"^(?:P\d+(?:\.\d+)?b?|B\d+(?:\.\d+)?|L\d+)$")

# The issue's list of deadlines and risks, each with the alert that watches it.
REQUIRED = {
    "removal deadline breached": "KanalvaktRemovalDeadlineBreached",
    "answers late": "KanalvaktAnswersLate",
    "account unattended": "KanalvaktAccountUnattended",
    "fewer than two administrators": "KanalvaktFewerThanTwoAdministrators",
    "credentials not deposited": "KanalvaktCredentialsNotDeposited",
    "confidential items unregistered": "KanalvaktConfidentialUnregistered",
    "snapshot overdue": "KanalvaktSnapshotOverdue",
    "escalation unacknowledged": "KanalvaktEscalationUnacknowledged",
    "dead-letter messages arriving": "KanalvaktDeadLettersArriving",
    "consumer lag growing": "KanalvaktConsumerLagGrowing",
    "outbox backlog": "KanalvaktOutboxBacklog",
    "archive verify failure": "KanalvaktArchiveVerifyFailed",
    "service down": "KanalvaktServiceDown",
}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool not found: install Debian's `prometheus` package (.ci/run does)")
    return found


def groups() -> list[dict[str, Any]]:
    loaded: dict[str, Any] = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return list(loaded["groups"])


def alerts() -> list[dict[str, Any]]:
    return [rule for group in groups() for rule in group["rules"] if "alert" in rule]


def test_issue_12_every_deadline_and_risk_has_its_alert() -> None:
    names = {a["alert"] for a in alerts()}
    missing = {risk: name for risk, name in REQUIRED.items() if name not in names}
    assert not missing, f"no alert for {missing}"
    assert len(names) == len(alerts()), "an alert name is used twice"


def test_issue_12_promtool_check_rules_passes() -> None:
    done = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in done.stdout


def test_issue_12_promtool_unit_tests_pass() -> None:
    assert UNIT_TESTS, "no promtool unit tests in deploy/prometheus/tests/"
    done = subprocess.run(
        [promtool(), "test", "rules", *map(str, UNIT_TESTS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROMETHEUS / "tests",
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_issue_12_every_alert_is_unit_tested_firing_and_silent() -> None:
    """Each alert has a promtool case where it fires (with its labels) and one where it
    does not: pending, or healthy."""
    fires: set[str] = set()
    silent: set[str] = set()
    for path in UNIT_TESTS:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {a["alert"] for a in alerts()}
    assert names - fires == set(), "never seen firing"
    assert names - silent == set(), "never seen silent"


def test_issue_12_prometheusrule_holds_the_same_groups_as_the_rule_file() -> None:
    """The PrometheusRule is generated from the plain file (deploy/prometheus/generate.py)."""
    resource = yaml.safe_load(OPERATOR_RULE.read_text(encoding="utf-8"))
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    assert resource["kind"] == "PrometheusRule"
    assert resource["spec"]["groups"] == groups(), (
        "stale: run `.venv/bin/python deploy/prometheus/generate.py`"
    )


def _runbook_sections() -> dict[str, str]:
    """Runbook text by anchor: from `<a id="x"></a>` to the next anchor."""
    text = RUNBOOK.read_text(encoding="utf-8")
    parts = re.split(r'<a id="([^"]+)"></a>', text)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("alert", alerts(), ids=lambda a: a["alert"])
def test_issue_12_alert_has_labels_summaries_and_a_runbook_section(alert: dict[str, Any]) -> None:
    name = alert["alert"]
    labels, notes = alert["labels"], alert["annotations"]
    assert labels["severity"] in ("critical", "warning")
    assert RULE_ID.match(labels["rule"]), f"{name}: rule {labels['rule']!r} is not a policy ID"
    for key in ("summary_sv", "summary_en", "description"):
        assert notes.get(key, "").strip(), f"{name}: no {key}"
    assert notes["summary_sv"] != notes["summary_en"], f"{name}: summary_sv is not Swedish"
    path, _, anchor = notes["runbook_url"].partition("#")
    assert path == "docs/runbook.md"
    assert anchor == name.lower()
    section = _runbook_sections().get(anchor)
    assert section is not None, f"docs/runbook.md has no section {anchor}"
    assert section.lstrip().startswith(f"## {name} — "), "heading: the name, then Swedish"
    assert labels["rule"] in section
    assert labels["severity"] in section
    for part in ("I korthet", "What it means", "Check first", "Fix", "Escalate"):
        assert part in section, f"{name}: runbook section lacks {part!r}"


# What an expression names besides metrics: PromQL's functions and keywords.
_NOT_METRICS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
}


def metric_names(expr: str) -> set[str]:
    """The metric names in a PromQL expression: strings, label matchers, ranges and
    grouping lists removed, then every identifier not called as a function."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", expr):
        word, called = match.group(1), match.group(2)
        if not called and word not in _NOT_METRICS:
            names.add(word)
    return names


def test_metric_names_reads_promql() -> None:
    expr = (
        'max by (kommun) (x_total{a="b", c=~"d|e"}) > 0 and on (k) '
        'sum(rate(y_bucket[5m])) or absent(up{job="j"}) unless z'
    )
    assert metric_names(expr) == {"x_total", "y_bucket", "up", "z"}


def exported_names() -> set[str]:
    """Every series name the services export, as Prometheus stores it."""
    importlib.import_module("shared.metrics")
    for service in SERVICES:
        importlib.import_module(f"services.{service}.metrics")
    for module in pkgutil.walk_packages(shared.__path__, "shared."):
        importlib.import_module(module.name)
    names = set()
    for family in REGISTRY.collect():
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_sum", "_count"),
            "summary": ("_sum", "_count"),
        }.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names


def test_issue_12_every_metric_in_an_alert_is_exported() -> None:
    exported = exported_names() | {"up"}  # `up`: Prometheus's own, per scraped target
    used = {a["alert"]: metric_names(a["expr"]) for a in alerts()}
    unknown = {alert: sorted(names - exported) for alert, names in used.items() if names - exported}
    assert not unknown, f"metrics no service exports: {unknown}"
    assert all(used.values()), "an alert names no metric"


def _label_names(name: str) -> tuple[str, ...]:
    """A metric's label names, from its prometheus_client collector."""
    collector = REGISTRY._names_to_collectors[name]  # no public way to read them
    return tuple(getattr(collector, "_labelnames", ()))


def test_issue_12_gauges_aggregate_with_max_and_counters_with_sum_rate() -> None:
    """Three replicas report the same store-read gauge: sum() would triple it; a counter
    counts one replica's work: max() would miss the others'. A kommun's metric keeps its
    kommun, so one kommun's breach never hides behind another's."""
    exported_names()
    counters = {f.name + "_total" for f in REGISTRY.collect() if f.type == "counter"}
    for alert in alerts():
        expr, name_ = alert["expr"], alert["alert"]
        for name in metric_names(expr) - {"up"}:
            if name in counters:
                assert re.search(rf"sum by \([^)]*\) \(rate\({name}\[", expr), name_
            else:
                assert not re.search(r"\bsum\b", expr), f"{name_}: a gauge summed over replicas"
                assert "max by (" in expr, name_
            if "kommun" in _label_names(name):
                assert re.search(r"by \([^)]*kommun", expr), f"{name_}: not by kommun"


def test_unit_tests_name_their_rule_file() -> None:
    for path in UNIT_TESTS:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        files = [Path(path.parent, f).resolve() for f in loaded["rule_files"]]
        assert files == [RULES.resolve()], path.name
