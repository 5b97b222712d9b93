"""What happens because time passes: absences start and end (admin.absent,
admin.returned), accounts become unattended or attended again, plans fall due for
review, and the registry's metrics are refreshed.

Safe with several replicas and across restarts: each transition is a write conditional
on the version read, so exactly one replica makes it, and what is due is found from the
stored state, so nothing is missed while no replica ran.
"""

import asyncio
import logging
from datetime import datetime

from services.registry import metrics
from services.registry.changes import announce
from services.registry.domain.absence import advance
from services.registry.domain.account import State
from services.registry.domain.compliance import review
from services.registry.store import RegistryStore
from shared.bus import EventPublisher
from shared.clock import Clock
from shared.kommun import KommunConfig
from shared.outbox import StaleWrite

log = logging.getLogger("kanalvakt.registry.scheduler")

REVIEWED = (State.APPROVED, State.ACTIVE, State.CLOSING, State.CLOSED)


async def tick(
    store: RegistryStore, publisher: EventPublisher, kommun: KommunConfig, now: datetime
) -> None:
    for absence, version in await store.absences_due(now):
        accounts = await store.administered_by(absence.person_key)
        advanced, moments = advance(absence, now, accounts)
        try:
            await store.save_absence(advanced, version, moments)
        except StaleWrite:
            continue  # another replica made this transition
        await announce(store.absences_outbox, absence.id, publisher)

    absences = await store.current_absences(now)
    for account, version in await store.all_versioned(REVIEWED):
        reviewed, events = review(account, absences, now, kommun)
        if reviewed == account:
            continue
        try:
            await store.save(reviewed, version, events)
        except StaleWrite:
            continue  # changed meanwhile: the next tick reviews it afresh
        await announce(store.accounts_outbox, account.id, publisher)

    metrics.observe(await store.find(), now)


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
