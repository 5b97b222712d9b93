"""The archive's metrics: what POLICY.md's measures ask of public records, per kommun.

Counters count what this replica did: aggregate with sum(). Gauges are read from the
store by the archive's periodic tasks, so every replica reports the same: aggregate with
max(). Labels are bounded: kommun, record kind, state, reason, rule — never a record or
a person.
"""

from prometheus_client import Counter, Gauge

FACTS_KEPT = Counter(
    "kanalvakt_archive_facts_kept",
    "Facts kept in the accounts' hash chains, by the record kind they belong to (P3.7b, P5.2, L4).",
    ["kommun", "kind"],
)
RECORDS = Gauge(
    "kanalvakt_archive_records",
    "Records kept, by kind and state on the platform: removed and hidden ones stay (P5.2, L6).",
    ["kommun", "kind", "state"],
)
AWAITING_REGISTRATION = Gauge(
    "kanalvakt_archive_awaiting_registration",
    "Confidential records not yet registered in the diarium: must stay 0 (P10.3, L5).",
    ["kommun"],
)
REGISTRATIONS = Counter(
    "kanalvakt_archive_registrations",
    "Records registered in the diarium, by what made them registered (P10.3, L5).",
    ["kommun", "reason"],
)
CULLED = Counter(
    "kanalvakt_archive_culled_records",
    "Records culled, by retention rule (P10.2, L6, L7).",
    ["kommun", "rule"],
)
HOLDS = Gauge(
    "kanalvakt_archive_holds",
    "Legal holds in force, by scope: nothing on hold is culled (L6).",
    ["kommun", "scope"],
)
SNAPSHOTS = Counter(
    "kanalvakt_archive_snapshots",
    "PDF/A snapshots taken, by reason (P10.5, L8).",
    ["kommun", "reason"],
)
SNAPSHOTS_OVERDUE = Gauge(
    "kanalvakt_archive_snapshots_overdue",
    "Accounts whose yearly (or configured) snapshot is overdue (P10.5, L8).",
    ["kommun"],
)
VERIFY_FAILURES = Gauge(
    "kanalvakt_archive_verify_failures",
    "Accounts whose hash chain or records failed the last verification: must stay 0 (P3.7b, L6).",
    ["kommun"],
)
VERIFIED_AT = Gauge(
    "kanalvakt_archive_verified_timestamp_seconds",
    "When the archive last finished verifying a kommun's hash chains (Unix time) (P3.7b, L6).",
    ["kommun"],
)
REQUESTS = Counter(
    "kanalvakt_archive_requests",
    "Searches and exports for requests for public records, by kind and format (L4).",
    ["kommun", "kind", "format"],
)
