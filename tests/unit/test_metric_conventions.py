"""Issue 12: every metric Kanalvakt defines follows Prometheus's conventions and names
what it measures: the `kanalvakt_` prefix, base units, `_total` on counters, bounded
labels, and a policy rule ID (POLICY.md) or `(operational)` in its help text."""

import re

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from kanalvakt.docs import OPERATIONAL, MetricDoc, kanalvakt_metrics

METRICS = kanalvakt_metrics()
IDS = [m.name for m in METRICS]

# Labels whose values come from a small set the configuration or the code fixes. A new
# label goes here only if it is bounded the same way.
BOUNDED_LABELS = {
    "kommun",  # the kommuner a deployment serves (KOMMUN_CONFIG)
    "service",
    "consumer",  # a durable name declared in code
    "subject",  # an event subject without kommun, or `unknown`
    "outcome",
    "event",
    "channel",
    "kind",
    "state",
    "platform",
    "rule",
    "reason",
    "category",
    "label",
    "scope",
    "format",
    "age",  # an age band, not an age
    "command",  # a store command's name, from shared.store.COUNTED_COMMANDS or `other`
    # An account's name: a kommun's official accounts, registered one by one in the
    # registry (tens, not thousands), never a visitor's account.
    "account",
}
# Names a label must never have: an unbounded id, or a person.
FORBIDDEN_LABEL = re.compile(
    r"(^|_)(id|ids|uuid|person|user|name|email|phone|comment|post|record|case|"
    r"account_id|author|staff|handler|address|ip)($|_)"
)
NOT_BASE_UNITS = re.compile(
    r"_(ms|milliseconds|us|microseconds|ns|minutes?|hours?|days?|weeks?|"
    r"kilobytes|megabytes|kb|mb|gb|percent)(_|$)"
)


def test_metrics_are_found() -> None:
    assert len(METRICS) > 20
    assert "kanalvakt_dead_letters" in IDS


@pytest.mark.parametrize("metric", METRICS, ids=IDS)
def test_name_has_the_prefix_and_base_units(metric: MetricDoc) -> None:
    assert metric.name.startswith("kanalvakt_"), metric.name
    assert re.fullmatch(r"[a-z][a-z0-9_]*", metric.name), metric.name
    assert not NOT_BASE_UNITS.search(metric.name), f"{metric.name}: use seconds or bytes"
    if metric.kind == "counter":
        # prometheus_client appends _total; a defined `_total` would be stripped silently.
        assert not metric.name.endswith("_total"), metric.name
    else:
        assert not metric.name.endswith("_total"), f"{metric.name}: only counters end _total"
    if metric.kind == "histogram":
        assert re.search(r"_(seconds|bytes)$", metric.name), f"{metric.name}: unit suffix"


@pytest.mark.parametrize("metric", METRICS, ids=IDS)
def test_labels_are_bounded(metric: MetricDoc) -> None:
    for label in metric.labels:
        assert not FORBIDDEN_LABEL.search(label), f"{metric.name}{{{label}}}: unbounded"
        assert label in BOUNDED_LABELS, f"{metric.name}{{{label}}}: is it bounded? add it"


@pytest.mark.parametrize("metric", METRICS, ids=IDS)
def test_help_text_names_the_rule_it_measures_or_says_operational(metric: MetricDoc) -> None:
    assert metric.rules or OPERATIONAL in metric.help, (
        f"{metric.name}: cite a POLICY.md rule ID (P5.8, B1, L6) or say {OPERATIONAL}"
    )


@pytest.mark.parametrize("metric", METRICS, ids=IDS)
def test_counters_are_exported_with_total(metric: MetricDoc) -> None:
    """What Prometheus scrapes, not only what is defined: the exposition of a copy."""
    from prometheus_client import Counter, Gauge, Histogram

    kinds = {"counter": Counter, "gauge": Gauge, "histogram": Histogram}
    registry = CollectorRegistry()
    copy = kinds[metric.kind](metric.name, metric.help, metric.labels, registry=registry)
    if metric.labels:
        copy.labels(*("x" for _ in metric.labels))
    exposed = generate_latest(registry).decode()
    if metric.kind == "counter":
        assert f"{metric.name}_total{{" in exposed or f"{metric.name}_total " in exposed
        assert f"# TYPE {metric.name}_total counter" in exposed
    else:
        assert f"# TYPE {metric.name} {metric.kind}" in exposed
