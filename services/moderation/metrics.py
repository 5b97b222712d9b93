"""Moderation's metrics: what POLICY.md's measures ask of comments and cases, per kommun.

Counters and histograms count what this replica did: aggregate with sum(). Gauges are
read from the store by the sweep, so every replica reports the same: aggregate with
max(). Labels are bounded: kommun, account name, label, category, age band — never a
comment, a case or a person.
"""

from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Counter as Count
from prometheus_client import Gauge, Histogram

from services.moderation.domain.accounts import WatchedAccount
from services.moderation.domain.cases import Case

# Seconds: 15 min, 1 h, 4 h, 8 h, 24 h, 48 h (B1.7's example), 72 h, a week.
_DEADLINE_BUCKETS = (900, 3600, 4 * 3600, 8 * 3600, 86400, 2 * 86400, 3 * 86400, 7 * 86400)

TIME_TO_REMOVAL = Histogram(
    "kanalvakt_moderation_time_to_removal_seconds",
    "From a comment's arrival to its removal or hiding (B1 item 7, P5.2, P5.9).",
    ["kommun", "account", "category"],
    buckets=_DEADLINE_BUCKETS,
)
TIME_TO_ANSWER = Histogram(
    "kanalvakt_moderation_time_to_answer_seconds",
    "From a question's arrival to its answer (P5.3).",
    ["kommun", "account", "category"],
    buckets=_DEADLINE_BUCKETS,
)
CLASSIFIED = Count(
    "kanalvakt_moderation_classified",
    "Comments read by the rules, by label and category (P5.2, P5.8, P5.9, P6, B2).",
    ["kommun", "label", "category"],
)
ESCALATIONS = Count(
    "kanalvakt_moderation_escalations",
    "Comments escalated to the säkerhetssamordnare and superior manager (P5.8, L3).",
    ["kommun", "category"],
)
BREACHED = Count(
    "kanalvakt_moderation_deadlines_breached",
    "Cases whose removal (B1 item 7) or answer (P5.3) deadline passed undecided.",
    ["kommun", "label"],
)
OPEN_CASES = Gauge(
    "kanalvakt_moderation_open_cases",
    "Open or claimed cases by age band (B1 item 7, P5.3).",
    ["kommun", "label", "age"],
)
OVERDUE_CASES = Gauge(
    "kanalvakt_moderation_overdue_cases",
    "Open or claimed cases past their deadline now (B1 item 7, P5.3).",
    ["kommun", "label"],
)
UNSUPERVISED = Gauge(
    "kanalvakt_moderation_accounts_unsupervised",
    "Accounts whose comments nobody has looked at within their monitoring window (L2).",
    ["kommun"],
)
SUPERVISION_GAPS = Count(
    "kanalvakt_moderation_supervision_gaps",
    "Times an account went unsupervised (L2).",
    ["kommun"],
)
CONFIDENTIAL_NOT_HIDDEN = Gauge(
    "kanalvakt_moderation_confidential_not_hidden",
    "Confidential comments not yet hidden on the platform (P7, P10.3): must be 0.",
    ["kommun"],
)

AGE_BANDS = ((3600, "lt_1h"), (4 * 3600, "1h_4h"), (86400, "4h_24h"), (2 * 86400, "24h_48h"))
OLDEST_BAND = "gt_48h"
LABELS = ("remove", "answer")


# (band, its youngest age in seconds): each of AGE_BANDS starts where the one before ends.
BAND_STARTS = tuple(
    zip(
        (*(band for _, band in AGE_BANDS), OLDEST_BAND),
        (0, *(limit for limit, _ in AGE_BANDS)),
        strict=True,
    )
)


@dataclass(frozen=True)
class OpenCases:
    """One kommun's open or claimed cases as the store counted them (issue 13: a few
    counts, not a read of the thousands a storm leaves open)."""

    # Per label: how many are at least each BAND_STARTS age old.
    at_least: dict[str, list[int]]
    overdue: dict[str, int]  # per label: past their deadline
    confidential_not_hidden: int


def decided(case: Case, at: datetime) -> None:
    """A decision's time since the comment came, by what was decided."""
    seconds = max(0.0, (at - case.received_at).total_seconds())
    labels = (case.kommun, case.account_name, case.category)
    if case.resolution in ("remove", "hide"):
        TIME_TO_REMOVAL.labels(*labels).observe(seconds)
    elif case.resolution in ("answer", "correct"):
        TIME_TO_ANSWER.labels(*labels).observe(seconds)


def observe(kommun: str, cases: OpenCases, accounts: list[WatchedAccount]) -> None:
    """One kommun's open cases and accounts as they are now."""
    for label in LABELS:
        older = [*cases.at_least[label], 0]
        for i, (band, _) in enumerate(BAND_STARTS):
            # Counted one after another: a case opened in between must not show as -1.
            OPEN_CASES.labels(kommun, label, band).set(max(0, older[i] - older[i + 1]))
        OVERDUE_CASES.labels(kommun, label).set(cases.overdue[label])
    UNSUPERVISED.labels(kommun).set(sum(a.unsupervised_since is not None for a in accounts))
    CONFIDENTIAL_NOT_HIDDEN.labels(kommun).set(cases.confidential_not_hidden)
