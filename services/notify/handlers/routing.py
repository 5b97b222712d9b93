"""Events in, notifications out: the registry's events keep notify's directory of
accounts (domain.directory), and each event type the kommun routes (`notify.routes`)
becomes notifications (domain.routing), and an escalation where it needs acknowledging.

One durable consumer per event type: a registry event's directory change and its routing
run in one handler. Every write is keyed by what caused it, so an event delivered twice
or handled by two replicas at once changes the directory once and makes one
notification per recipient and channel: the directory's changes record the event id,
notifications and escalations are added once by ids made from the event id.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Annotated

from services.notify.domain import directory, routing
from services.notify.domain.acks import ack_secret
from services.notify.domain.directory import Account
from services.notify.store import NotifyStore
from shared.bus import EventRouter
from shared.events import (
    AccountActivated,
    AccountApproved,
    AccountClosed,
    AccountCreated,
    AccountNoncompliant,
    AccountRef,
    AccountUnattended,
    AccountUnsupervised,
    AccountUpdated,
    AdminAbsent,
    AdminReturned,
    CommentFlagged,
    Event,
    ModerationDecided,
    ModerationEscalated,
    SlaBreached,
    SlaWarning,
)
from shared.service import Dependencies, EventDeps
from shared.unit_of_work import Decision, NotFound

log = logging.getLogger("kanalvakt.notify")

Deps = Dependencies[NotifyStore]
EventScope = Annotated[Deps, EventDeps]

# Each event type's consumer runs on its own, so an account's comment.flagged may be
# handled a moment before its account.created: routing waits this long for the account
# to reach the directory before it falls back to the informationsansvarig.
DIRECTORY_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.1


# The directory ------------------------------------------------------------------------


async def _change(
    deps: Deps, account_id: str, event: Event, step: Callable[[Account], Account]
) -> None:
    """Apply a registry event to one account, once (the change records the event id);
    an account not yet in the directory starts as a stub (its events race)."""

    def decide(account: Account) -> Decision[Account]:
        return step(account), []

    repo = deps.store.directory.accounts
    for _ in range(2):
        try:
            await deps.uow.change(repo, account_id, decide, key=event.id)
            return
        except NotFound:
            # Another handler may add it meanwhile: then add_once fails and we change it.
            await deps.uow.add_once(repo, directory.stub(account_id, event.kommun))


async def _account_event(deps: Deps, event: Event, data: AccountRef) -> None:
    await _change(
        deps, data.account_id, event, lambda a: directory.apply_account(a, data, event.time)
    )


async def _accounts(deps: Deps, event: Event, wait: bool) -> list[Account]:
    """The directory's accounts the event is about; with `wait`, a moment's patience for
    one whose account event is still on its way."""
    ids = routing.account_ids(event)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (DIRECTORY_WAIT_SECONDS if wait else 0)
    while True:
        found = [await deps.store.directory.accounts.get(i) for i in ids]
        accounts = [f.item for f in found if f is not None]
        if not wait or (all(a.known for a in accounts) and len(accounts) == len(ids)):
            return accounts
        if loop.time() >= deadline:
            log.warning(
                "%s %s: account(s) %s not in notify's directory; routing without them",
                event.nats_subject,
                event.id,
                ", ".join(i for i in ids if not any(a.id == i and a.known for a in accounts)),
            )
            return accounts
        await asyncio.sleep(_POLL_SECONDS)


# Routing ------------------------------------------------------------------------------


async def _route(deps: Deps, event: Event) -> None:
    """Tell whom the kommun's route for this event type names (nobody if it has none)."""
    rule = deps.kommun.notify.routes.get(event.nats_subject)
    if rule is None:
        return
    accounts = await _accounts(deps, event, wait=routing.needs_directory(rule))
    now = deps.clock()
    routed = routing.route(event, rule, accounts, deps.kommun, now)
    if routed is None:
        return
    if routed.acknowledge:  # P5.6, P5.8: one escalation per event, climbing if unanswered
        repo = deps.store.escalations.repo
        escalation = routing.escalation_of(routed, now, deps.kommun)
        if not await deps.uow.add_once(repo, escalation):
            found = await repo.get(escalation.id)  # told before: tell the same people
            escalation = found.item if found is not None else escalation
        notes = routing.notifications_for_level(
            escalation, 1, now, deps.kommun, ack_secret(deps.settings)
        )
    else:
        notes = routing.notifications(routed, now, deps.kommun)
    for note in notes:  # exactly once per event, level, channel and address (issue 11)
        await deps.uow.add_once(deps.store.notifications.repo, note)


# Handlers: registry events (the directory, then routing) -------------------------------


async def account_created(event: AccountCreated, deps: EventScope) -> None:
    """An activity plan was submitted: the department head and the informationsansvarig
    sign it off (P2.1, P3.6); the account and its administrators enter the directory."""
    await _account_event(deps, event, event.data)
    await _route(deps, event)


async def account_approved(event: AccountApproved, deps: EventScope) -> None:
    """The plan is approved: its administrators deposit credentials and confirm (P3.5)."""
    await _account_event(deps, event, event.data)
    await _route(deps, event)


async def account_activated(event: AccountActivated, deps: EventScope) -> None:
    """The account runs: its administrators are told (P5.1)."""
    await _account_event(deps, event, event.data)
    await _route(deps, event)


async def account_updated(event: AccountUpdated, deps: EventScope) -> None:
    """The plan changed: the directory takes its administrators, department and unit."""
    await _account_event(deps, event, event.data)
    await _route(deps, event)


async def account_closed(event: AccountClosed, deps: EventScope) -> None:
    """The account is closed (P5.5): its administrators are told."""
    data = event.data
    await _change(
        deps,
        data.account_id,
        event,
        lambda a: directory.close(directory.apply_account(a, data, event.time)),
    )
    await _route(deps, event)


async def admin_absent(event: AdminAbsent, deps: EventScope) -> None:
    """An administrator is away: the substitute takes their comments (P5.1), and the
    substitute and the other administrators are told."""
    for account_id in routing.account_ids(event):
        await _change(deps, account_id, event, lambda a: directory.away(a, event.data))
    await _route(deps, event)


async def admin_returned(event: AdminReturned, deps: EventScope) -> None:
    """An administrator is back: they take their comments again."""
    for account_id in routing.account_ids(event):
        await _change(deps, account_id, event, lambda a: directory.back(a, event.data))
    await _route(deps, event)


# Handlers: events only routed ---------------------------------------------------------


async def account_noncompliant(event: AccountNoncompliant, deps: EventScope) -> None:
    """The account breaks a rule that keeps it running (P3.5 …): the informationsansvarig
    and the administrators are told."""
    await _route(deps, event)


async def account_unattended(event: AccountUnattended, deps: EventScope) -> None:
    """Nobody attends the account: the enhetschef, then the förvaltningschef if nobody
    acknowledges (P3.3, P5.6)."""
    await _route(deps, event)


async def comment_flagged(event: CommentFlagged, deps: EventScope) -> None:
    """A comment needs action: the administrators on duty, substitutes for the absent (P5.1)."""
    await _route(deps, event)


async def moderation_escalated(event: ModerationEscalated, deps: EventScope) -> None:
    """A possible crime: the säkerhetssamordnare and the superior manager, at once (P5.8)."""
    await _route(deps, event)


async def sla_warning(event: SlaWarning, deps: EventScope) -> None:
    """A case's deadline is near: its owners are told (B1.7, P5.3)."""
    await _route(deps, event)


async def sla_breached(event: SlaBreached, deps: EventScope) -> None:
    """A case's deadline passed: its owners and the enhetschef are told (B1.7, P5.3)."""
    await _route(deps, event)


async def account_unsupervised(event: AccountUnsupervised, deps: EventScope) -> None:
    """Nobody looked at an account's comments in time: its administrators (P3.3, L2)."""
    await _route(deps, event)


async def moderation_decided(event: ModerationDecided, deps: EventScope) -> None:
    """A question forwarded to a case officer: they are told (P5.4); other decisions
    tell nobody."""
    await _route(deps, event)


HANDLERS: tuple[tuple[type[Event], Callable[..., object]], ...] = (
    (AccountCreated, account_created),
    (AccountApproved, account_approved),
    (AccountActivated, account_activated),
    (AccountUpdated, account_updated),
    (AccountClosed, account_closed),
    (AdminAbsent, admin_absent),
    (AdminReturned, admin_returned),
    (AccountNoncompliant, account_noncompliant),
    (AccountUnattended, account_unattended),
    (CommentFlagged, comment_flagged),
    (ModerationEscalated, moderation_escalated),
    (SlaWarning, sla_warning),
    (SlaBreached, sla_breached),
    (AccountUnsupervised, account_unsupervised),
    (ModerationDecided, moderation_decided),
)


def subscribe(events: EventRouter) -> None:
    """Subscribe every handler of this module to `events`: durable consumers named
    `notify-<subject>` (`notify-account-created`), one per event type."""
    for kind, handler in HANDLERS:
        events.on(kind)(handler)
