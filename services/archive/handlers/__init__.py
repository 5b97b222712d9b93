"""The archive's use cases: each event's fact kept (records), registration (diarium),
culling and holds (culling), snapshots (snapshots), requests for public records (search)
and verification (verify). This module subscribes them to the events they keep.

Every event about a post, a comment, its moderation or an account is a fact of a public
record (P3.7b, P5.2, L4): each handler keeps it in the account's chain and folds it into
the record, then lets what the record now needs follow — registration at once when it
may be confidential (P10.3), a snapshot when the account changed substantially or closed
(P10.5).
"""

from typing import Annotated

from services.archive.domain.records import fact_of
from services.archive.domain.snapshots import larger_change
from services.archive.handlers import diarium, snapshots
from services.archive.handlers.records import Culled, Deps, keep
from services.archive.store import ArchiveStore
from shared.bus import ALREADY_HANDLED, EventRouter
from shared.events import (
    ALL_EVENTS,
    AccountActivated,
    AccountApproved,
    AccountClosed,
    AccountCreated,
    AccountUpdated,
    CommentConfidential,
    CommentDeleted,
    CommentEdited,
    CommentFlagged,
    CommentReceived,
    CommentRemoved,
    Event,
    ModerationDecided,
    ModerationEscalated,
    PostPublished,
)
from shared.service import Dependencies, EventDeps
from shared.settings import ServiceName

events = EventRouter(ServiceName.ARCHIVE)
events.publishes(*(e for e in ALL_EVENTS if e.producer is ServiceName.ARCHIVE))

EventScope = Annotated[Dependencies[ArchiveStore], EventDeps]


async def _item(event: Event, deps: Deps) -> object:
    try:
        record, new = await keep(deps, fact_of(event, deps.kommun.archive.minor_importance))
    except Culled:
        return ALREADY_HANDLED  # an old event replayed after its record was culled (L7)
    # P10.3: at once, whichever fact made it so, as soon as its author (the diary's
    # sender) is known; the sweep registers one whose comment never comes.
    if record.awaits_registration and record.author is not None:
        await diarium.register(deps, record, diarium.cause(record))
    return None if new else ALREADY_HANDLED


async def _account(event: Event, deps: Deps) -> object:
    try:
        _, new = await keep(deps, fact_of(event, deps.kommun.archive.minor_importance))
    except Culled:
        return ALREADY_HANDLED
    return None if new else ALREADY_HANDLED


@events.on(PostPublished, idempotent=True)
async def keep_post(event: PostPublished, deps: EventScope) -> object:
    """P3.7b, L4: what the kommun publishes is upprättad, a public record."""
    return await _item(event, deps)


@events.on(CommentReceived, idempotent=True)
async def keep_comment(event: CommentReceived, deps: EventScope) -> object:
    """L4: a visitor's comment is inkommen once published; the kommun's own upprättad."""
    return await _item(event, deps)


@events.on(CommentEdited, idempotent=True)
async def keep_edit(event: CommentEdited, deps: EventScope) -> object:
    """L4: every version is kept, the first included."""
    return await _item(event, deps)


@events.on(CommentDeleted, idempotent=True)
async def keep_deletion(event: CommentDeleted, deps: EventScope) -> object:
    """L6: deleted or hidden on the platform, still a record."""
    return await _item(event, deps)


@events.on(CommentRemoved, idempotent=True)
async def keep_removal(event: CommentRemoved, deps: EventScope) -> object:
    """P5.2, L6: unpublished under the policy, still a record, with why."""
    return await _item(event, deps)


@events.on(CommentConfidential, idempotent=True)
async def keep_confidential(event: CommentConfidential, deps: EventScope) -> object:
    """P10.3: may be confidential: sealed and registered at once."""
    return await _item(event, deps)


@events.on(CommentFlagged, idempotent=True)
async def keep_flag(event: CommentFlagged, deps: EventScope) -> object:
    """Why the rules or a report flagged it, kept with the record."""
    return await _item(event, deps)


@events.on(ModerationDecided, idempotent=True)
async def keep_decision(event: ModerationDecided, deps: EventScope) -> object:
    """The policy decision behind the record's state (P5.2–P5.10, P6); a decision that
    it is confidential registers it (P10.3)."""
    return await _item(event, deps)


@events.on(ModerationEscalated, idempotent=True)
async def keep_escalation(event: ModerationEscalated, deps: EventScope) -> object:
    """P5.8: escalated to the säkerhetssamordnare, kept with the record."""
    return await _item(event, deps)


@events.on(AccountCreated, idempotent=True)
async def keep_account_plan(event: AccountCreated, deps: EventScope) -> object:
    """P3.6, P10.1, L4: the submitted plan is a record drawn up by the kommun."""
    return await _account(event, deps)


@events.on(AccountApproved, idempotent=True)
async def keep_approval(event: AccountApproved, deps: EventScope) -> object:
    return await _account(event, deps)


@events.on(AccountActivated, idempotent=True)
async def keep_activation(event: AccountActivated, deps: EventScope) -> object:
    return await _account(event, deps)


@events.on(AccountUpdated, idempotent=True)
async def keep_account_change(event: AccountUpdated, deps: EventScope) -> object:
    """P10.5, L8: a larger change (profile or purpose) makes a snapshot."""
    outcome = await _account(event, deps)
    if larger_change(event.data.changes, deps.kommun.archive.snapshots):
        # Also when redelivered: a failed snapshot is taken on the retry, once (its key).
        await snapshots.take(deps, event.data.account_id, "changed", key=event.id)
    return outcome


@events.on(AccountClosed, idempotent=True)
async def keep_closing(event: AccountClosed, deps: EventScope) -> object:
    """P10.5, L8: a snapshot when the account closes."""
    outcome = await _account(event, deps)
    await snapshots.take(deps, event.data.account_id, "closing", key=event.id)
    return outcome
