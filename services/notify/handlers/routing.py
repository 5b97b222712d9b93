"""Events in, notifications out: the registry's events keep notify's directory of
accounts (domain.directory), and each event type the kommun routes (`notify.routes`)
becomes notifications (domain.routing), and an escalation where it needs acknowledging.

One durable consumer per event type: a registry event's directory change and its routing
run in one handler. Every write is keyed by what caused it, so an event delivered twice
or handled by two replicas at once changes the directory once and makes one
notification per recipient and channel: the directory's changes record the event id,
notifications and escalations are added once by ids made from the event id.

A handler never waits for the directory: the consumers of different event types run
side by side, so an account's comment.flagged may come before its account.created, and
a consumer handles one message at a time. An event whose route needs what the directory
does not know yet is kept as waiting (one document per event, domain.routing.Waiting)
and acknowledged at once. The account's own events route it as soon as they reach the
directory, and a periodic pass (`route_waiting_forever`, every WAITING_INTERVAL_SECONDS)
routes what the directory now knows and, after DIRECTORY_GRACE, the rest with the
fallback to the informationsansvarig (P3.3). An account waited for in vain is remembered
(`missing_since`): later events about it go to the fallback at once, one directory
lookup each.
"""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import ValidationError

from services.notify.domain import acks as ladder
from services.notify.domain import directory, routing
from services.notify.domain.acks import ack_secret
from services.notify.domain.directory import Account
from services.notify.domain.routing import Waiting
from services.notify.store import NotifyStore
from shared.bus import EventRouter
from shared.events import (
    BY_SUBJECT,
    AccountActivated,
    AccountApproved,
    AccountAttended,
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
from shared.kommun import Route
from shared.service import Dependencies, Deployment, EventDeps, periodically
from shared.unit_of_work import Decision, NotFound, StaleWrite, Versioned

log = logging.getLogger("kanalvakt.notify")

Deps = Dependencies[NotifyStore]
EventScope = Annotated[Deps, EventDeps]

# How long an event waits for its account's events (on their way on another consumer)
# before whom the directory cannot name are told through the informationsansvarig (P3.3).
# Counted on the service's clock from when notify took the event.
DIRECTORY_GRACE = timedelta(seconds=5)
# How often the waiting events are looked at; an account event routes its own at once.
WAITING_INTERVAL_SECONDS = 1.0
# A router's hold on a waiting event: if it dies while routing, another takes over then.
WAITING_CLAIM = timedelta(seconds=60)


# The directory ------------------------------------------------------------------------


async def _change(
    deps: Deps, account_id: str, step: Callable[[Account], Account], key: str | None
) -> None:
    """Apply a change to one account, once when keyed (the change records the event
    id); an account not yet in the directory starts as a stub (its events race)."""

    def decide(account: Account) -> Decision[Account]:
        return step(account), []

    repo = deps.store.directory.accounts
    for _ in range(2):
        try:
            await deps.uow.change(repo, account_id, decide, key=key)
            return
        except NotFound:
            # Another handler may add it meanwhile: then add_once fails and we change it.
            await deps.uow.add_once(repo, directory.stub(account_id, deps.store.kommun))


async def _account_event(
    deps: Deps,
    event: Event,
    data: AccountRef,
    then: Callable[[Account], Account] = lambda a: a,
) -> None:
    """A registry account event: the directory takes it, then routes it, then routes the
    events that waited for this account (it may be known now)."""
    await _change(
        deps,
        data.account_id,
        lambda a: then(directory.apply_account(a, data, event.time)),
        event.id,
    )
    await _route(deps, event)
    await route_waiting(deps, deps.clock(), data.account_id)


async def _directory(deps: Deps, ids: Iterable[str]) -> dict[str, Account]:
    """The directory's accounts of these ids, those it has."""
    found: dict[str, Account] = {}
    for account_id in ids:
        versioned = await deps.store.directory.accounts.get(account_id)
        if versioned is not None:
            found[account_id] = versioned.item
    return found


# Routing ------------------------------------------------------------------------------


async def _route(deps: Deps, event: Event) -> None:
    """Tell whom the kommun's route for this event type names (nobody if it has none),
    or keep the event waiting for the directory (never wait here)."""
    rule = deps.kommun.notify.routes.get(event.nats_subject)
    if rule is None:
        return
    accounts = await _directory(deps, routing.account_ids(event))
    now = deps.clock()
    if not routing.waits_for(event, rule, accounts):
        await _tell(deps, event, rule, accounts, now)
        return
    repo = deps.store.waiting.repo
    if not await deps.uow.add_once(repo, routing.waiting(event, now)):
        return  # a copy of this event waits already: routed from there
    log.info(
        "%s %s: waiting for account(s) %s to reach notify's directory",
        event.nats_subject,
        event.id,
        ", ".join(routing.waits_for(event, rule, accounts)),
    )
    # Its account may have arrived while the event was being kept: look once more.
    found = await repo.get(event.id)
    if found is not None:
        await _route_waiting_one(deps, found, now)


async def _tell(
    deps: Deps, event: Event, rule: Route, accounts: dict[str, Account], now: datetime
) -> None:
    routed = routing.route(event, rule, list(accounts.values()), deps.kommun, now)
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
    if isinstance(event, AccountUnattended) and routed.acknowledge:
        # account.attended may have come first (its consumer was faster): read the
        # directory again after the escalation was added, so one of the two sees the other.
        await _close_attended(deps, event.data.account_id, now)


# Events waiting for the directory -----------------------------------------------------


def _event_of(item: Waiting) -> Event | None:
    kind = BY_SUBJECT.get(item.event_type)
    if kind is None or not item.event:
        return None
    try:
        return kind.model_validate_json(item.event)
    except ValidationError:
        return None


async def _route_waiting_one(deps: Deps, found: Versioned[Waiting], now: datetime) -> bool:
    """Route one waiting event if the directory now knows what its route needs, or the
    grace is over (the fallback for what it does not, P3.3); True when routed here.
    Claimed first by a conditional save, so of two routers one routes it."""
    item = found.item
    if not routing.claimable(item, now):
        return False
    event = _event_of(item)
    rule = deps.kommun.notify.routes.get(item.event_type)
    accounts = await _directory(deps, item.account_ids)
    missing = routing.waits_for(event, rule, accounts) if event is not None else []
    if missing and not routing.gave_up(item, now, DIRECTORY_GRACE):
        return False
    repo = deps.store.waiting.repo
    claimed = routing.claim(item, now, WAITING_CLAIM)
    try:
        version = await repo.save(claimed, found.version, kept=found.kept)
    except StaleWrite:
        return False  # another router claimed it (or routed it) since it was read
    how = "directory"
    if event is None or rule is None:
        how = "unrouted"  # no route any more (the kommun changed it), or unreadable
        log.warning("waiting event %s (%s) routed nowhere", item.id, item.event_type)
    else:
        if missing:
            how = "fallback"
            log.warning(
                "%s %s: account(s) %s not in notify's directory after %ss; routed "
                "without them, to the informationsansvarig (P3.3)",
                item.event_type,
                item.id,
                ", ".join(missing),
                DIRECTORY_GRACE.total_seconds(),
            )
        await _tell(deps, event, rule, accounts, now)
        for account_id in missing:  # the next event about it goes at once
            await _change(deps, account_id, lambda a: directory.missing(a, now), None)
    done = routing.routed_waiting(claimed, now, how)
    claimed_read = Versioned(claimed, version, found.handled, found.kept)  # saved as it was
    await deps.uow.apply(repo, claimed_read, lambda _: (done, []))
    return True


async def route_waiting(deps: Deps, now: datetime, account_id: str | None = None) -> list[str]:
    """Route the waiting events the directory can now answer, and those past the grace
    with the fallback; with `account_id`, only those about that account (its event just
    reached the directory). The ids routed."""
    routed: list[str] = []
    for found in await deps.store.waiting.open():
        if account_id is not None and account_id not in found.item.account_ids:
            continue
        if await _route_waiting_one(deps, found, now):
            routed.append(found.item.id)
    return routed


async def route_waiting_forever(deployment: Deployment[Any]) -> None:
    """Every WAITING_INTERVAL_SECONDS, each kommun's events waiting for the directory."""

    async def step(deps: Deps, now: datetime) -> None:
        await route_waiting(deps, now)

    await periodically(
        deployment, step, "routing events waiting for the directory", WAITING_INTERVAL_SECONDS
    )


# account.attended closes the unattended account's escalation (P3.3, P5.6) ------------


async def _close_attended(deps: Deps, account_id: str, now: datetime) -> None:
    """Acknowledge, as account.attended, the account's open account.unattended
    escalations that began no later than it was attended again: the ladder stops."""
    found = await deps.store.directory.accounts.get(account_id)
    attended_at = found.item.attended_at if found is not None else None
    if attended_at is None:
        return
    repo = deps.store.escalations.repo
    query = {"waiting": True, "event_type": AccountUnattended.nats_subject}
    for open_one in await repo.find(query):
        if not routing.closed_by_attendance(open_one.item, account_id, attended_at):
            continue

        def decide(e: ladder.Escalation) -> Decision[ladder.Escalation]:
            if not routing.closed_by_attendance(e, account_id, attended_at):
                return e, []
            return ladder.acknowledge(e, routing.ATTENDED, now), []

        await deps.uow.change(repo, open_one.item.id, decide)
        log.info(
            "escalation %s closed: account %s is attended again (P3.3)",
            open_one.item.id,
            account_id,
        )


# Handlers: registry events (the directory, then routing) -------------------------------


async def account_created(event: AccountCreated, deps: EventScope) -> None:
    """An activity plan was submitted: the department head and the informationsansvarig
    sign it off (P2.1, P3.6); the account and its administrators enter the directory."""
    await _account_event(deps, event, event.data)


async def account_approved(event: AccountApproved, deps: EventScope) -> None:
    """The plan is approved: its administrators deposit credentials and confirm (P3.5)."""
    await _account_event(deps, event, event.data)


async def account_activated(event: AccountActivated, deps: EventScope) -> None:
    """The account runs: its administrators are told (P5.1)."""
    await _account_event(deps, event, event.data)


async def account_updated(event: AccountUpdated, deps: EventScope) -> None:
    """The plan changed: the directory takes its administrators, department and unit."""
    await _account_event(deps, event, event.data)


async def account_closed(event: AccountClosed, deps: EventScope) -> None:
    """The account is closed (P5.5): its administrators are told."""
    await _account_event(deps, event, event.data, directory.close)


async def admin_absent(event: AdminAbsent, deps: EventScope) -> None:
    """An administrator is away: the substitute takes their comments (P5.1), and the
    substitute and the other administrators are told."""
    for account_id in routing.account_ids(event):
        await _change(deps, account_id, lambda a: directory.away(a, event.data), event.id)
    await _route(deps, event)


async def admin_returned(event: AdminReturned, deps: EventScope) -> None:
    """An administrator is back: they take their comments again."""
    for account_id in routing.account_ids(event):
        await _change(deps, account_id, lambda a: directory.back(a, event.data), event.id)
    await _route(deps, event)


async def account_attended(event: AccountAttended, deps: EventScope) -> None:
    """Someone attends the account again (P3.3): its open account.unattended escalation
    is closed, so it no longer climbs to the förvaltningschef (P5.6). Not routed: the
    people told of the gap hear nothing more."""
    data = event.data
    await _change(
        deps,
        data.account_id,
        lambda a: directory.attended(directory.apply_account(a, data, event.time), event.time),
        event.id,
    )
    await _close_attended(deps, data.account_id, deps.clock())


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
    (AccountAttended, account_attended),
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
