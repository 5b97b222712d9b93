"""The registry's metrics: what POLICY.md's measures ask of accounts, per kommun. Gauges
are read from the store by the scheduler, so every replica reports the same values:
aggregate with max(), not sum()."""

from collections import Counter
from datetime import datetime

from prometheus_client import Gauge

from services.registry.domain.account import LIVE_STATES, Account, State
from services.registry.domain.compliance import findings
from shared.kommun import KommunConfig

ACCOUNTS = Gauge(
    "kanalvakt_registry_accounts",
    "Accounts by state and platform (P10.1).",
    ["kommun", "state", "platform"],
)
BELOW_TWO_ADMINISTRATORS = Gauge(
    "kanalvakt_registry_accounts_below_two_administrators",
    "Approved or active accounts with fewer than two active administrators (P3.1).",
    ["kommun"],
)
UNATTENDED = Gauge(
    "kanalvakt_registry_accounts_unattended",
    "Accounts where every administrator is away without a present substitute (P3.3, P5.6).",
    ["kommun"],
)
CREDENTIALS_NOT_DEPOSITED = Gauge(
    "kanalvakt_registry_credentials_not_deposited",
    "Approved or active accounts whose credentials are not deposited (P3.5).",
    ["kommun"],
)
CREDENTIALS_OVERDUE = Gauge(
    "kanalvakt_registry_credentials_overdue",
    "Approved or active accounts whose credentials are still not deposited after the "
    "kommun's registry.activation_grace_days (P3.5).",
    ["kommun"],
)
AWAITING_APPROVAL = Gauge(
    "kanalvakt_registry_plans_awaiting_approval",
    "Submitted plans not yet approved by all four signers (P2.1, P3.6).",
    ["kommun"],
)
OLDEST_AWAITING_APPROVAL = Gauge(
    "kanalvakt_registry_oldest_plan_awaiting_approval_seconds",
    "Age of the oldest submitted plan not yet approved (P2.1, P3.6); 0 when none.",
    ["kommun"],
)


# The (state, platform) series shown per kommun, so that one gone to zero is removed.
_shown: dict[str, set[tuple[str, str]]] = {}


def observe(config: KommunConfig, accounts: list[Account], now: datetime) -> None:
    """One kommun's accounts as they are now."""
    kommun = config.id
    by_state = Counter((a.state.value, a.plan.platform) for a in accounts)
    for gone in _shown.get(kommun, set()) - set(by_state):
        ACCOUNTS.remove(kommun, *gone)
    _shown[kommun] = set(by_state)
    for (state, platform), n in by_state.items():
        ACCOUNTS.labels(kommun, state, platform).set(n)
    live = [a for a in accounts if a.state in LIVE_STATES]
    BELOW_TWO_ADMINISTRATORS.labels(kommun).set(sum(len(a.active_administrators) < 2 for a in live))
    UNATTENDED.labels(kommun).set(sum(a.unattended_since is not None for a in live))
    CREDENTIALS_NOT_DEPOSITED.labels(kommun).set(sum(a.credentials is None for a in live))
    # The same rule as account.noncompliant's (P3.5): past the grace after approval.
    overdue = sum(any(f.rule == "P3.5" for f in findings(a, now, config)) for a in live)
    CREDENTIALS_OVERDUE.labels(kommun).set(overdue)
    waiting = [a for a in accounts if a.state is State.SUBMITTED]
    AWAITING_APPROVAL.labels(kommun).set(len(waiting))
    oldest = min((a.created_at for a in waiting), default=None)
    OLDEST_AWAITING_APPROVAL.labels(kommun).set((now - oldest).total_seconds() if oldest else 0)
