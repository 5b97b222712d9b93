"""What happens because time passes: absences start and end (admin.absent,
admin.returned), accounts become unattended or attended again, plans fall due for
review, and the registry's metrics are refreshed.

Safe with several replicas and across restarts: each transition is a write conditional
on the version read, so exactly one replica makes it, and what is due is found from the
stored state, so nothing is missed while no replica ran.
"""

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

from services.registry import metrics
from services.registry.changes import announce
from services.registry.domain.absence import advance
from services.registry.domain.account import Account
from services.registry.domain.compliance import review
from services.registry.store import RegistryStore
from shared.bus import EventPublisher
from shared.clock import Clock
from shared.kommun import KommunConfig
from shared.outbox import StaleWrite

log = logging.getLogger("kanalvakt.registry.scheduler")


async def advance_absences(store: RegistryStore, publisher: EventPublisher, now: datetime) -> None:
    """Absences whose start or end has come: admin.absent, admin.returned (P3.3)."""
    for absence, version in await store.absences_due(now):
        accounts = await store.administered_by(absence.person_key)
        advanced, moments = advance(absence, now, accounts)
        try:
            await store.save_absence(advanced, version, moments)
        except StaleWrite:
            continue  # another replica made this transition
        await announce(store.absences_outbox, absence.id, publisher)


async def review_accounts(
    store: RegistryStore,
    publisher: EventPublisher,
    kommun: KommunConfig,
    now: datetime,
    account_ids: Sequence[str] | None = None,
) -> list[Account]:
    """Attendance and compliance of these accounts, or of all (P3.1, P3.3, P3.5, P3.6,
    P4.1, P5.6); the accounts as they are now. An account that is not live is reviewed
    too, so that what was said of it while it was (unattended, findings) is cleared."""
    absences = await store.current_absences(now)
    if account_ids is None:
        found = await store.all_versioned()
    else:
        found = [v for i in account_ids if (v := await store.get(i)) is not None]
    current = []
    for account, version in found:
        reviewed, events = review(account, absences, now, kommun)
        if reviewed != account:
            try:
                await store.save(reviewed, version, events)
            except StaleWrite:
                current.append(account)  # changed meanwhile: the next tick reviews it afresh
                continue
            await announce(store.accounts_outbox, account.id, publisher)
        current.append(reviewed)
    return current


async def tick(
    store: RegistryStore, publisher: EventPublisher, kommun: KommunConfig, now: datetime
) -> None:
    await advance_absences(store, publisher, now)
    metrics.observe(await review_accounts(store, publisher, kommun, now), now)


async def run_forever(
    store: RegistryStore,
    publisher: EventPublisher,
    kommun: KommunConfig,
    clock: Clock,
    interval_seconds: float,
) -> None:
    while True:
        try:
            await tick(store, publisher, kommun, clock())
        except Exception:
            log.exception("scheduler tick failed; trying again in %.0fs", interval_seconds)
        await asyncio.sleep(interval_seconds)
