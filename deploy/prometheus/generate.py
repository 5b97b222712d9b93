"""Write prometheusrule.yaml (for the Prometheus operator) from the plain rule file.

The plain file `rules/kanalvakt.rules.yaml` is the source; tests/deploy/test_alert_rules.py
fails when the PrometheusRule's `spec.groups` differ from it. Run after editing the rules:

    .venv/bin/python deploy/prometheus/generate.py
"""

import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "rules" / "kanalvakt.rules.yaml"
TARGET = HERE / "prometheusrule.yaml"

HEADER = """\
# Generated from rules/kanalvakt.rules.yaml by generate.py: edit that file, then run
# `.venv/bin/python deploy/prometheus/generate.py`. Runbook: docs/runbook.md.
"""


def prometheus_rule(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The rule groups as the operator's custom resource. The labels let a Prometheus
    whose ruleSelector matches `app.kubernetes.io/name: kanalvakt` pick it up."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "kanalvakt",
            "namespace": "kanalvakt",
            "labels": {
                "app.kubernetes.io/name": "kanalvakt",
                "app.kubernetes.io/component": "alerts",
            },
        },
        "spec": {"groups": groups},
    }


def render() -> str:
    groups = yaml.safe_load(SOURCE.read_text(encoding="utf-8"))["groups"]
    body = yaml.safe_dump(prometheus_rule(groups), sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def main() -> int:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(HERE.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
