"""Metrics every service exposes; each service's own live in its `metrics.py`.

Names start with `kanalvakt_`; help texts cite the policy rule a metric watches, or say
`(operational)` when it watches the system rather than a rule. docs/metrics.md is
generated from them (`kanalvakt docs`).

Counters count what this replica did: aggregate with sum(). The gauges here are read
periodically by every replica from shared state (the store, JetStream's consumer_info),
so every replica reports the same value: aggregate with max(). Labels are bounded:
service, kommun, consumer (a durable name), subject without kommun, outcome.
"""

from prometheus_client import Counter, Gauge

EVENTS = Counter(
    "kanalvakt_events",
    "Consumed events by consumer, subject with its kommun (`unknown` where the subject or "
    "kommun is none of ours) and outcome (handled, duplicate, dead_lettered, retried) "
    "(operational).",
    ["consumer", "subject", "outcome"],
)
DEAD_LETTERS = Counter(
    "kanalvakt_dead_letters",
    "Messages published to the dead-letter stream KANALVAKT_DLQ, by the event subject "
    "without kommun (`unknown` when not an event subject); someone must read, fix and "
    "replay them (operational).",
    ["service", "kommun", "subject"],
)
STORE_COMMANDS = Counter(
    "kanalvakt_store_commands",
    "Commands this replica sent to MongoDB, by command (find, insert, update …; `other` "
    "for the rest): what a flow costs the store, per comment in bench/storm.py "
    "(operational).",
    ["service", "command"],
)
OUTBOX_PENDING = Gauge(
    "kanalvakt_outbox_pending",
    "Events written with their entity but not yet published to NATS; the outbox sweep "
    "sends them (operational).",
    ["service", "kommun"],
)
CONSUMER_PENDING = Gauge(
    "kanalvakt_consumer_pending_messages",
    "Messages on KANALVAKT_EVENTS a durable consumer has not yet been delivered: its lag "
    "(operational).",
    ["service", "consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "kanalvakt_consumer_ack_pending_messages",
    "Messages delivered to a durable consumer and not yet settled (acknowledged, "
    "terminated) (operational).",
    ["service", "consumer"],
)

# Label value for what cannot be named by a bounded value (a subject not of our
# contracts, a kommun not served): one series, never the raw input.
UNKNOWN = "unknown"
