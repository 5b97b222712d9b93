"""Metrics every service exposes; each service's own live in its `metrics.py`.

Names start with `kanalvakt_`; help texts cite the policy rule a metric watches.
"""

from prometheus_client import Counter

EVENTS = Counter(
    "kanalvakt_events",
    "Consumed events by consumer, subject and outcome "
    "(handled, duplicate, dead_lettered, retried).",
    ["consumer", "subject", "outcome"],
)
