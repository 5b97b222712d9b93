"""What happens in moderation because time passes: deadline warnings and breaches
(B1 item 7, P5.3), supervision gaps (L2), confidential comments still to hide (P10.3),
and the gauges of open cases.

Safe with several replicas and across restarts, as the registry's scheduler: each change
is a write conditional on the version read, so one replica makes it and announces its
event; what is due is found from the stored state. Every kommun is swept in turn.
"""

from datetime import datetime, timedelta
from typing import Any

from services.moderation import metrics
from services.moderation.domain import accounts as watching
from services.moderation.domain import cases
from services.moderation.domain.accounts import WatchedAccount
from services.moderation.domain.cases import Case
from services.moderation.handlers import Deps, hide_if_confidential
from shared.events import PersonRef
from shared.service import Deployment, each_kommun, periodically
from shared.unit_of_work import StaleWrite, Versioned


async def sweep_kommun(deps: Deps, now: datetime) -> None:
    for pending in await deps.store.hide_pending():
        await hide_if_confidential(deps, pending.item.id)
    accounts = await deps.store.all_accounts()
    on_duty = {found.item.id: found.item.on_duty for found in accounts}
    for found in await deps.store.due_to_watch(now):
        await _watch_deadline(deps, found, on_duty.get(found.item.account_id, []), now)
    current = [await _supervise(deps, found, now) for found in accounts]
    metrics.observe(deps.kommun.id, await _count_open(deps, now), current)


async def _count_open(deps: Deps, now: datetime) -> metrics.OpenCases:
    """A few counts by the store, not a read of every open case (issue 13)."""
    count = deps.store.count_waiting
    at_least = {
        label: [
            await count(label, received_by=now - timedelta(seconds=age))
            for _, age in metrics.BAND_STARTS
        ]
        for label in metrics.LABELS
    }
    overdue = {label: await count(label, due_by=now) for label in metrics.LABELS}
    not_hidden = await deps.store.count_confidential_not_hidden()
    return metrics.OpenCases(at_least, overdue, not_hidden)


async def _watch_deadline(
    deps: Deps, found: Versioned[Case], owners: list[PersonRef], now: datetime
) -> None:
    try:
        case = await deps.uow.apply(
            deps.store.cases, found, lambda c: cases.watch_deadline(c, owners, now)
        )
    except StaleWrite:  # another replica, or a moderator, changed it: the next sweep sees it
        return
    if case.breached and not found.item.breached:
        metrics.BREACHED.labels(deps.kommun.id, case.label).inc()


async def _supervise(deps: Deps, found: Versioned[WatchedAccount], now: datetime) -> WatchedAccount:
    try:
        account = await deps.uow.apply(
            deps.store.accounts, found, lambda a: watching.supervise(a, now)
        )
    except StaleWrite:
        return found.item
    if account.unsupervised_since is not None and found.item.unsupervised_since is None:
        metrics.SUPERVISION_GAPS.labels(deps.kommun.id).inc()
    return account


async def sweep(deployment: Deployment[Any], now: datetime) -> None:
    """Every kommun's sweep; one's failure is logged with its kommun, then raised."""
    await each_kommun(deployment, sweep_kommun, "moderation sweep", now)


async def run_forever(deployment: Deployment[Any]) -> None:
    interval = deployment.settings.moderation_sweep_interval_seconds
    await periodically(deployment, sweep_kommun, "moderation sweep", interval)
