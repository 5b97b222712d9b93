"""Sending what is due (issue 11): every NOTIFY_DELIVERY_INTERVAL_SECONDS each kommun's
due notifications are claimed, sent concurrently (each send bounded by a timeout, so one
recipient's channel being down holds up nobody else), and each attempt recorded: sent,
retried later with backoff and jitter, or finally failed with `notification.failed`
published through the outbox. Held notifications whose quiet hours are over go out per
recipient in one digest (P3.3, P5.1, P5.6; urgent ones, P5.8, are never held).

A notification of an escalation (any level) that was acknowledged before it went out is
not sent but closed as `cancelled`: the first acknowledgement stops the ladder, and the
one who acknowledged is handling it, so nobody else need hear (P5.6, P5.8). It is checked
after the claim, right before the send: an acknowledgement landing during the send
itself cannot stop that message.
"""

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.notify import metrics
from services.notify.channels import Channels, Result, bounded
from services.notify.domain.delivery import (
    Attempted,
    Outcome,
    attempted,
    cancelled,
    digest_groups,
    digest_id,
    digest_message,
    digest_retry_at,
)
from services.notify.domain.notifications import Notification
from services.notify.store import NotifyStore
from shared.events import Event
from shared.service import Dependencies, Deployment, periodically
from shared.unit_of_work import Decision, StaleWrite, Versioned

log = logging.getLogger("kanalvakt.notify.delivery")


@dataclass
class _Pass:
    """One kommun's delivery pass: what it needs, at the moment it started."""

    deps: Dependencies[NotifyStore]
    channels: Channels
    now: datetime
    rng: random.Random

    @property
    def lease(self) -> timedelta:
        # Longer than any send may take (it is bounded by channels.timeout): a claim
        # outlives its send, and runs out only when the replica holding it died.
        return timedelta(seconds=self.channels.timeout * 2)


def _jitter() -> random.Random:
    # Spreads retries in time; nothing secret is drawn from it.
    return random.Random()  # noqa: S311


async def deliver_due(
    deps: Dependencies[NotifyStore],
    now: datetime,
    *,
    channels: Channels | None = None,
    rng: random.Random | None = None,
) -> None:
    """Send every notification of the kommun due by `now`, all at once."""
    due = await deps.store.notifications.due(now)
    if not due:
        return
    own = channels is None
    run = _Pass(deps, channels or Channels(deps.settings), now, rng or _jitter())
    try:
        groups = digest_groups([found.item for found in due])
        digested = {n.id for group in groups.values() for n in group}
        by_id = {found.item.id: found for found in due}
        sends = [_send_one(run, found) for found in due if found.item.id not in digested]
        sends += [_send_digest(run, [by_id[n.id] for n in group]) for group in groups.values()]
        for failure in await asyncio.gather(*sends, return_exceptions=True):
            if isinstance(failure, BaseException):  # a store outage mid-pass: next pass
                log.warning("a delivery of kommun %s failed: %r", deps.kommun.id, failure)
    finally:
        if own:
            await run.channels.aclose()


async def _send_one(run: _Pass, found: Versioned[Notification]) -> None:
    mine = await run.deps.store.notifications.claim(found, run.now, run.lease)
    if mine is None:
        return  # another replica is sending it
    if await _acknowledged(run, mine):
        return
    n = mine.item
    result = await bounded(run.channels.send(run.deps.kommun, n, run.now), run.channels.timeout)
    await _record(run, mine, result)


async def _acknowledged(run: _Pass, mine: Versioned[Notification]) -> bool:
    """True, and the notification closed as cancelled, when its escalation has been
    acknowledged (P5.6): read after the claim, so as late as it can be before sending."""
    n = mine.item
    if not n.escalation_id:
        return False
    found = await run.deps.store.escalations.repo.get(n.escalation_id)
    if found is None or not found.item.acknowledged:
        return False
    try:
        await run.deps.uow.apply(
            run.deps.store.notifications.repo, mine, lambda item: (cancelled(item), [])
        )
    except StaleWrite:  # our claim ran out meanwhile: whoever took it decides
        return True
    log.info(
        "notification %s not sent: escalation %s acknowledged by %s (P5.6)",
        n.id,
        n.escalation_id,
        found.item.acknowledged_by,
    )
    return True


async def _send_digest(run: _Pass, group: list[Versioned[Notification]]) -> None:
    """One e-mail to the recipient listing every held notification due (quiet hours
    over); each ends digested, or all are retried together at one time, so they fall
    due together and go out again as the same digest (same id, same Message-ID)."""
    mine = []
    for found in group:
        claimed = await run.deps.store.notifications.claim(found, run.now, run.lease)
        if claimed is not None and not await _acknowledged(run, claimed):
            mine.append(claimed)
    if not mine:
        return
    items = [m.item for m in mine]
    first = items[0]
    digest = digest_id(first.kommun, first.address, [n.id for n in items])
    message = digest_message(items, first.recipient.language)
    send = run.channels.email(run.deps.kommun, first.recipient, message, digest, run.now)
    result = await bounded(send, run.channels.timeout)
    later = None
    if not result.ok:
        later = digest_retry_at(items, run.now, run.deps.kommun.notify.retry, run.rng)
    await asyncio.gather(*[_record(run, m, result, digest, later) for m in mine])


async def _record(
    run: _Pass,
    mine: Versioned[Notification],
    result: Result,
    digest: str = "",
    retry_due: datetime | None = None,
) -> None:
    """The attempt in the notification's log and its new state, with notification.failed
    in the same write when it was the last (the outbox announces it)."""
    kommun = run.deps.kommun
    outcome: list[Attempted] = []

    def decide(n: Notification) -> Decision[Notification]:
        step = attempted(
            n,
            result.ok,
            result.detail,
            run.now,
            kommun.notify.retry,
            run.rng,
            digest_id=digest,
            retry_due=retry_due,
        )
        outcome[:] = [step]
        events: list[Event] = [step.failed] if step.failed is not None else []
        return step.notification, events

    try:
        await run.deps.uow.apply(run.deps.store.notifications.repo, mine, decide)
    except StaleWrite:
        # Our claim ran out while sending and another replica took it: its attempt is
        # the one recorded. The message may have gone twice, with one Message-ID.
        log.warning("notification %s: claim lost while sending; not recorded", mine.item.id)
        return
    _count(outcome[0], run.now)


def _count(step: Attempted, now: datetime) -> None:
    n = step.notification
    labels = {"kommun": n.kommun, "event": n.event_type, "channel": n.channel.value}
    if step.outcome is Outcome.SENT:
        metrics.SENT.labels(**labels).inc()
        metrics.LATENCY.labels(**labels).observe(max(0.0, (now - n.event_time).total_seconds()))
    elif step.outcome is Outcome.RETRY:
        metrics.ATTEMPTS_FAILED.labels(**labels).inc()
    else:
        metrics.FAILED.labels(**labels).inc()


async def deliver_forever(deployment: Deployment[Any]) -> None:
    """The background task: `deliver_due` for every kommun, every
    NOTIFY_DELIVERY_INTERVAL_SECONDS, with one HTTP client for the process.

    A pass is waited for one interval at most: sends still hanging then (a channel that
    does not answer, until its timeout) go on in the background while the next pass
    sends what came meanwhile. Their claims keep the next pass off them."""
    channels = Channels(deployment.settings)
    rng = _jitter()
    interval = deployment.settings.notify_delivery_interval_seconds
    running: set[asyncio.Task[None]] = set()

    def finished(task: asyncio.Task[None]) -> None:
        running.discard(task)
        if not task.cancelled() and (failure := task.exception()) is not None:
            log.warning("a delivery pass failed: %r", failure)

    async def step(deps: Dependencies[NotifyStore], _: datetime) -> None:
        # Each kommun's own reading of the clock: one taken before the first kommun's
        # pass would be late for the last one's (a slow store, many kommuner).
        now = deps.clock()
        task = asyncio.create_task(deliver_due(deps, now, channels=channels, rng=rng))
        await asyncio.wait({task}, timeout=interval)
        if task.done():
            task.result()  # a failed pass is periodically's to log
        else:
            running.add(task)
            task.add_done_callback(finished)

    try:
        await periodically(deployment, step, "notify delivery", interval)
    finally:
        for task in list(running):
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await channels.aclose()
