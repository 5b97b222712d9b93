"""What moderation holds each account to, and who answers for it now: pure rules.

An account is watched from its `account.created`, with its plan's deadlines (B1 item 7,
P5.3), administrators and operators (B1 items 5, 6) and monitoring hours (B1 item 7,
L2); later account events bring changes, `admin.absent` / `admin.returned` who is away
and who stands in (P5.1). Supervision (L2): the oldest comment nobody has looked at.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from services.moderation.domain.calendar import monitored_between, window_length
from shared.events import (
    AccountDeadlines,
    AccountUnsupervised,
    AccountUnsupervisedData,
    AdminAbsentData,
    MonitoringRef,
    PersonRef,
)
from shared.events.account import Platform
from shared.kommun import KommunConfig
from shared.unit_of_work import Decision


@dataclass(frozen=True)
class Absent:
    person: PersonRef
    substitute: PersonRef | None


@dataclass(frozen=True)
class WatchedAccount:
    id: str
    kommun: str
    name: str
    platform: Platform
    removal_hours: int  # B1.7
    answer_hours: int  # P5.3
    url: str = ""
    department: str = ""
    unit: str = ""
    administrators: tuple[PersonRef, ...] = ()
    operators: tuple[PersonRef, ...] = ()
    monitoring: MonitoringRef | None = None  # None: around the clock
    closed: bool = False
    absent: tuple[Absent, ...] = ()  # P5.1
    looked_at: datetime | None = None
    waiting_since: datetime | None = None  # the oldest comment nobody has looked at (L2)
    unsupervised_since: datetime | None = None

    @property
    def on_duty(self) -> list[PersonRef]:
        """Who owns the account's cases now: its administrators, a substitute for one who
        is away (P5.1); if all are away without one, the operators (P5.6 takes it further
        in the registry)."""
        away = {a.person.email.casefold(): a for a in self.absent}
        owners: list[PersonRef] = []
        for admin in self.administrators:
            absence = away.get(admin.email.casefold())
            if absence is None:
                owners.append(admin)
            elif absence.substitute is not None:
                owners.append(absence.substitute)
        return _unique(owners or list(self.operators))


def _unique(people: list[PersonRef]) -> list[PersonRef]:
    seen: set[str] = set()
    kept = []
    for p in people:
        if p.email.casefold() not in seen:
            seen.add(p.email.casefold())
            kept.append(p)
    return kept


def watch(data: AccountDeadlines, kommun: str, config: KommunConfig) -> WatchedAccount:
    """A registered account is watched with its plan's terms, or the kommun's default
    deadlines where the event has none (B1 item 7, P5.3)."""
    return WatchedAccount(
        id=data.account_id,
        kommun=kommun,
        name=data.name,
        platform=data.platform,
        removal_hours=data.removal_deadline_hours or config.deadlines.removal_hours,
        answer_hours=data.answer_deadline_hours or config.deadlines.answer_hours,
        url=str(data.url),
        department=data.department,
        unit=data.unit,
        administrators=tuple(data.administrators),
        operators=tuple(data.operators),
        monitoring=data.monitoring,
    )


def update_terms(
    account: WatchedAccount, data: AccountDeadlines, config: KommunConfig
) -> WatchedAccount:
    """The plan changed: new terms; what moderation learnt itself stays."""
    fresh = watch(data, account.kommun, config)
    if not data.administrators:  # an older event without them: keep what we know
        fresh = replace(fresh, administrators=account.administrators, operators=account.operators)
    if data.monitoring is None:
        fresh = replace(fresh, monitoring=account.monitoring)
    return replace(
        fresh,
        closed=account.closed,
        absent=account.absent,
        looked_at=account.looked_at,
        waiting_since=account.waiting_since,
        unsupervised_since=account.unsupervised_since,
    )


def close(account: WatchedAccount) -> WatchedAccount:
    """P5.5: a closed account is no longer supervised (L2); its open cases stay to be
    decided."""
    return replace(account, closed=True)


def away(account: WatchedAccount, absence: AdminAbsentData) -> WatchedAccount:
    """An administrator is away, with or without a substitute (P5.1)."""
    key = absence.administrator.email.casefold()
    kept = tuple(a for a in account.absent if a.person.email.casefold() != key)
    return replace(account, absent=(*kept, Absent(absence.administrator, absence.substitute)))


def back(account: WatchedAccount, absence: AdminAbsentData) -> WatchedAccount:
    key = absence.administrator.email.casefold()
    return replace(
        account, absent=tuple(a for a in account.absent if a.person.email.casefold() != key)
    )


def comment_waiting(account: WatchedAccount, received_at: datetime) -> WatchedAccount:
    """A comment came: someone must look at it within the monitoring window (L2)."""
    if account.waiting_since is not None and account.waiting_since <= received_at:
        return account
    return replace(account, waiting_since=received_at)


def looked_at(account: WatchedAccount, at: datetime) -> WatchedAccount:
    """A moderator looked at the account's comments: nothing is waiting unseen (L2)."""
    return replace(account, looked_at=at, waiting_since=None, unsupervised_since=None)


def supervise(account: WatchedAccount, now: datetime) -> Decision[WatchedAccount]:
    """L2: a comment has waited a whole monitoring window's worth of monitored time
    unseen: the account is unsupervised, said once until someone looks."""
    since = account.waiting_since
    if since is None or account.unsupervised_since is not None or account.closed:
        return account, []
    if monitored_between(since, now, account.monitoring) < window_length(account.monitoring):
        return account, []
    account = replace(account, unsupervised_since=now)
    data = AccountUnsupervisedData(
        account_id=account.id,
        account_name=account.name,
        platform=account.platform,
        waiting_since=since,
        administrators=list(account.administrators),
    )
    return account, [AccountUnsupervised.new(account.kommun, account.id, data, now)]
