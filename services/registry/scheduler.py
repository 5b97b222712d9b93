"""What happens because time passes: absences start and end (admin.absent,
admin.returned), accounts become unattended or attended again, plans fall due for
review, the grace after approval runs out, and the registry's metrics are refreshed.

Safe with several replicas and across restarts: each transition is a write conditional
on the version read, so exactly one replica makes it, and what is due is found from the
stored state, so nothing is missed while no replica ran. Every kommun is ticked in turn,
each with its own configuration and data; one kommun's failure does not hold up another.
"""

from datetime import datetime
from typing import Any

from services.registry import metrics
from services.registry.domain.account import Account
from services.registry.handlers import Deps, advance_absence, review_all
from shared.service import Deployment, each_kommun, periodically


async def tick_kommun(deps: Deps, now: datetime) -> list[Account]:
    """One kommun's due absences and reviews; its accounts as they are now."""
    for found in await deps.store.absences_due(now):
        await advance_absence(deps, found, now, review_touched=False)
    return await review_all(deps, now)  # every account, once


async def _tick_and_observe(deps: Deps, now: datetime) -> None:
    metrics.observe(deps.kommun, await tick_kommun(deps, now), now)


async def tick(deployment: Deployment[Any], now: datetime) -> None:
    """Every kommun's tick; a failure is logged with its kommun and, once all have had
    their turn, raised (the first), so that the run says the tick failed."""
    await each_kommun(deployment, _tick_and_observe, "scheduler tick", now)


async def run_forever(deployment: Deployment[Any]) -> None:
    interval = deployment.settings.scheduler_interval_seconds
    await periodically(deployment, _tick_and_observe, "scheduler tick", interval)
