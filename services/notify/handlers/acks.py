"""Acknowledgements and the ladder (P3.3, P5.6, P5.8): acknowledging by the signed link,
telling the next level of escalations nobody acknowledged in time, and the gauges of
what still waits.

Two replicas may climb at once: each tells the next level by notifications whose ids
are the event id, the level and the recipient (`add_once`: made once whoever comes
first), then advances the escalation by a save conditional on the version it read; the
one that loses reads it again, finds the level told, and does nothing. The notifications
come before the save, so a crash between the two tells the level on the next pass
instead of never; a save lost to an acknowledgement cancels them again, and delivery
checks the escalation before it sends any of them (P5.6).
"""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from services.notify.domain import acks as ladder
from services.notify.domain import routing
from services.notify.domain.acks import Escalation, ack_secret, read, warn_if_unsigned
from services.notify.domain.delivery import cancelled
from services.notify.domain.notifications import Notification
from services.notify.metrics import UNACKNOWLEDGED, UNACKNOWLEDGED_AGE
from services.notify.store import NotifyStore
from shared.rules import Conflict
from shared.service import Dependencies, Deployment, periodically
from shared.unit_of_work import Decision, NotFound, StaleWrite

log = logging.getLogger("kanalvakt.notify.acks")

Deps = Dependencies[NotifyStore]

# Label sets the gauges were given, per kommun: one whose escalations are all
# acknowledged is set back to 0 rather than left at its last value.
_GAUGED: dict[str, set[str]] = {}


async def kommun_of(deployment: Deployment[NotifyStore], token: str) -> Deps:
    """The kommun whose escalation a link is for (the link names none: escalation ids
    are event ids, unique across kommuner). A bad link is its 4xx (domain.acks.read)."""
    escalation_id, _ = read(ack_secret(deployment.settings), token, deployment.clock())
    for deps in deployment:
        if await deps.store.escalations.repo.get(escalation_id) is not None:
            return deps
    raise NotFound("token", escalation_id)


async def escalation(deps: Deps, token: str) -> tuple[Escalation, str]:
    """The escalation a link is for, and whom the link was made for (no change)."""
    escalation_id, email = read(ack_secret(deps.settings), token, deps.clock())
    found = await deps.store.escalations.repo.get(escalation_id)
    if found is None:
        raise NotFound("token", escalation_id)
    return found.item, email


async def acknowledge(deps: Deps, token: str) -> Escalation:
    """Acknowledge an escalation by its link: the first wins and stops the ladder; a
    second click (or another recipient's) changes nothing and says who was first."""
    escalation_id, email = read(ack_secret(deps.settings), token, deps.clock())
    now = deps.clock()
    return await deps.uow.change(
        deps.store.escalations.repo,
        escalation_id,
        lambda e: (ladder.acknowledge(e, email, now), []),
        field="token",
    )


async def climb_due(deps: Deps, now: datetime) -> list[tuple[str, int]]:
    """Tell the next level of every escalation due (P5.6), then set the gauges. The
    (escalation id, level) told by this call."""
    told: list[tuple[str, int]] = []
    within = timedelta(minutes=deps.kommun.notify.acknowledge_within_minutes)
    repo = deps.store.escalations.repo
    for escalation_id in await deps.store.escalations.due(now):
        found = await repo.get(escalation_id)
        if found is None:
            continue
        level = ladder.due_level(found.item, now)
        notes = _level(deps, found.item, level, now) if level is not None else []
        # The level after counts from when this one is first told: the end of their
        # quiet hours when all of them are held (P5.1), else now.
        told_at = ladder.first_told((n.due_at for n in notes), now)
        level, advanced = ladder.climb(found.item, now, within, told_at)
        if advanced == found.item:
            continue  # acknowledged, or climbed by another replica since it was listed
        for notification in notes:
            await deps.uow.add_once(deps.store.notifications.repo, notification)
        try:
            await deps.uow.apply(repo, found, _becomes(advanced))
        except StaleWrite:
            # Acknowledged or climbed meanwhile: the notifications made above are the
            # same ids another climber makes, so the level is told once either way;
            # but if it was acknowledged, nobody need hear of it (P5.6).
            await _cancel_if_acknowledged(deps, escalation_id, notes, now)
            continue
        if level is not None:
            told.append((escalation_id, level))
            log.info("escalation %s: level %d told (P5.6)", escalation_id, level)
    await observe(deps, now)
    return told


def _becomes(advanced: Escalation) -> Callable[[Escalation], Decision[Escalation]]:
    return lambda _: (advanced, [])


def _level(deps: Deps, escalation: Escalation, level: int, now: datetime) -> list[Notification]:
    return routing.notifications_for_level(
        escalation, level, now, deps.kommun, ack_secret(deps.settings)
    )


async def _cancel_if_acknowledged(
    deps: Deps, escalation_id: str, notes: list[Notification], now: datetime
) -> None:
    """After a lost save: when the escalation turns out acknowledged, close the level's
    notifications just made as cancelled, unless one is already being sent (claimed)."""
    found = await deps.store.escalations.repo.get(escalation_id)
    if found is None or not found.item.acknowledged or not notes:
        return
    repo = deps.store.notifications.repo

    def decide(n: Notification) -> Decision[Notification]:
        if n.claimed_until is not None and n.claimed_until > now:
            return n, []  # a replica is sending it: too late to stop
        return cancelled(n), []

    for note in notes:
        try:
            await deps.uow.change(repo, note.id, decide)
        except (NotFound, Conflict):  # gone, or changing under us: delivery checks again
            continue
    log.info("escalation %s acknowledged while climbing: level not told (P5.6)", escalation_id)


async def observe(deps: Deps, now: datetime) -> None:
    """UNACKNOWLEDGED and UNACKNOWLEDGED_AGE per event type, from the store: every
    replica reports the same (aggregate with max()); 0 where none waits."""
    kommun = deps.kommun.id
    count: dict[str, int] = {}
    oldest: dict[str, datetime] = {}
    for event_type, opened_at in await deps.store.escalations.waiting():
        count[event_type] = count.get(event_type, 0) + 1
        if event_type not in oldest or opened_at < oldest[event_type]:
            oldest[event_type] = opened_at
    labels = _GAUGED.setdefault(kommun, set())
    labels |= set(count) | set(_acknowledged_routes(deps.kommun.notify.routes.items()))
    for event_type in labels:
        UNACKNOWLEDGED.labels(kommun, event_type).set(count.get(event_type, 0))
        age = (now - oldest[event_type]).total_seconds() if event_type in oldest else 0.0
        UNACKNOWLEDGED_AGE.labels(kommun, event_type).set(max(0.0, age))


def _acknowledged_routes(routes: Iterable[tuple[str, Any]]) -> list[str]:
    return [event_type for event_type, route in routes if route.acknowledge]


async def climb_forever(deployment: Deployment[Any]) -> None:
    """Every NOTIFY_LADDER_INTERVAL_SECONDS, each kommun's due escalations climb."""
    interval = deployment.settings.notify_ladder_interval_seconds

    warn_if_unsigned(deployment.settings)  # at start, not at the first link

    async def step(deps: Deps, _: datetime) -> None:
        await climb_due(deps, deps.clock())  # each kommun's own reading of the clock

    await periodically(deployment, step, "climbing the acknowledgement ladder", interval)
