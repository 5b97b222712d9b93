"""Notify's metrics (issue 11): what was sent and failed, how late, and which
escalations wait for acknowledgement.

Counters count what this replica did: aggregate with sum(). Gauges are read from the
store by the periodic ladder, so every replica reports the same: aggregate with max().
Labels are bounded: kommun, event type, channel — never a person or an address.
"""

from prometheus_client import Counter, Gauge, Histogram

SENT = Counter(
    "kanalvakt_notify_sent",
    "Notifications delivered, by event type and channel (P3.3, P5.1, P5.6, P5.8).",
    ["kommun", "event", "channel"],
)
FAILED = Counter(
    "kanalvakt_notify_failed",
    "Notifications given up after every attempt failed (notification.failed published): "
    "someone was not told (P3.3, P5.6, P5.8).",
    ["kommun", "event", "channel"],
)
ATTEMPTS_FAILED = Counter(
    "kanalvakt_notify_attempts_failed",
    "Delivery attempts that failed and will be retried with backoff (operational).",
    ["kommun", "event", "channel"],
)
LATENCY = Histogram(
    "kanalvakt_notify_delivery_latency_seconds",
    "From the event's time to the message delivered (P5.8: at once).",
    ["kommun", "event", "channel"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400),
)
UNACKNOWLEDGED = Gauge(
    "kanalvakt_notify_escalations_unacknowledged",
    "Escalations nobody has acknowledged yet (P5.6, P5.8).",
    ["kommun", "event"],
)
UNACKNOWLEDGED_AGE = Gauge(
    "kanalvakt_notify_escalation_unacknowledged_oldest_age_seconds",
    "Age of the oldest escalation nobody has acknowledged (0: none) (P5.6, P5.8).",
    ["kommun", "event"],
)
