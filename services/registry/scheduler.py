"""What happens because time passes: absences start and end (admin.absent,
admin.returned), accounts become unattended or attended again, plans fall due for
review, the grace after approval runs out, and the registry's metrics are refreshed.

Safe with several replicas and across restarts: each transition is a write conditional
on the version read, so exactly one replica makes it, and what is due is found from the
stored state, so nothing is missed while no replica ran.
"""

import asyncio
import logging
from datetime import datetime

from services.registry import metrics
from services.registry.handlers import Deps, advance_absence, review_all
from shared.logs import OutageLog

log = logging.getLogger("kanalvakt.registry.scheduler")


async def tick(deps: Deps, now: datetime) -> None:
    for found in await deps.store.absences_due(now):
        await advance_absence(deps, found, now, review_touched=False)
    metrics.observe(await review_all(deps, now), now)  # every account, once


async def run_forever(deps: Deps) -> None:
    interval = deps.settings.scheduler_interval_seconds
    outage = OutageLog(log, "scheduler tick")
    while True:
        try:
            await tick(deps, deps.clock())
        except Exception as exc:
            outage.failed(exc, f"retrying every {interval:.0f}s")
        else:
            outage.works()
        await asyncio.sleep(interval)
