"""Metrics every service exposes besides its own; each service's live in its app module.

Names start with `kanalvakt_`; help texts cite the policy rule a metric watches.
"""

from prometheus_client import Counter

EVENTS = Counter(
    "kanalvakt_events",
    "Consumed events by consumer, subject and outcome "
    "(handled, duplicate, dead_lettered, retried).",
    ["consumer", "subject", "outcome"],
)
