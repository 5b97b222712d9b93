"""Moderation's use cases, for its events, its API and its sweep: each loads what it
needs, lets the domain decide, and saves the decision with its events through the unit
of work; platform actions go through the connectors (services.moderation.platform).

Comments come in through the API (the generic ingest and the Meta webhook) as
`comment.received` and its kin; moderation itself consumes them, so a comment another
system publishes is read the same way. The handlers are safe to run again: each write
is keyed by the comment (one comment, one case) or conditional on the version read.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from services.moderation import metrics
from services.moderation.domain import accounts as watching
from services.moderation.domain import cases
from services.moderation.domain.accounts import WatchedAccount
from services.moderation.domain.cases import Case, Comment, Reading, Ruling
from services.moderation.domain.classification import classifier_for
from services.moderation.domain.inbound import Inbound, MissingAuthor, to_event
from services.moderation.platform import ActionRequest, ActionResult, PlatformAction, connectors
from services.moderation.store import Delivery, ModerationStore
from shared.bus import ALREADY_HANDLED, EventRouter
from shared.bus.errors import InvalidEvent
from shared.events import (
    ALL_EVENTS,
    AccountActivated,
    AccountClosed,
    AccountCreated,
    AccountUpdated,
    Actor,
    AdminAbsent,
    AdminReturned,
    Category,
    CommentDeleted,
    CommentEdited,
    CommentFlagged,
    CommentReceived,
    Event,
    PostPublished,
)
from shared.rules import Conflict, RuleViolations, violation
from shared.service import Dependencies, EventDeps
from shared.settings import ServiceName
from shared.unit_of_work import Decision, NotFound, StaleWrite, Versioned

log = logging.getLogger("kanalvakt.moderation")

events = EventRouter(ServiceName.MODERATION)
events.publishes(*(e for e in ALL_EVENTS if e.producer is ServiceName.MODERATION))

Deps = Dependencies[ModerationStore]
EventScope = Annotated[Deps, EventDeps]


# Comments in


@dataclass(frozen=True)
class Received:
    comment_id: str
    status: Literal["received", "duplicate", "refused"]
    error: str = ""


async def ingest(deps: Deps, items: Sequence[Inbound]) -> list[Received]:
    """Delivered items, each its event once however often it is delivered (a webhook
    retried). An item of an account not in the register is refused, naming it.

    A new comment that reads as a crime is read at once, before the others (P5.8): its
    case is opened and escalated within the request, so it never waits behind a storm's
    other comments in the queue (the consumer then finds it read). The others are stored
    in one write and announced together."""
    now = deps.clock()
    accounts: dict[tuple[str, str], WatchedAccount | None] = {}
    answers: dict[int, Received] = {}
    taken: list[tuple[int, Delivery, Event]] = []
    for i, item in enumerate(items):
        named = (item.platform, item.account)
        if named not in accounts:
            accounts[named] = await deps.store.account_named(*named)
        account = accounts[named]
        if account is None:
            answers[i] = Received(
                item.comment_id,
                "refused",
                f"account: no registered {item.platform} account named {item.account!r} (P10.1)",
            )
            continue
        try:
            event = to_event(item, deps.kommun.id, account.id, now)
        except MissingAuthor as exc:
            answers[i] = Received(item.comment_id, "refused", str(exc))
            continue
        taken.append(
            (i, Delivery(item.key, deps.kommun.id, item.comment_id, item.kind, now), event)
        )
    urgent = [t for t in taken if _is_crime(deps, t[2])]
    for i, delivery, event in urgent:
        new = await deps.uow.add_once(deps.store.deliveries, delivery, [event])
        answers[i] = Received(delivery.comment_id, "received" if new else "duplicate")
        if new and isinstance(event, CommentReceived):
            try:
                # Its delivery is new, so nothing has read it yet: no need to look.
                await _read(deps, cases.received(event.data, event.kommun))
            except Exception:  # its event is in the stream: the consumer reads it
                log.exception("comment %s not read at once; the queue has it", event.subject)
    read_first = {i for i, _, _ in urgent}
    rest = [t for t in taken if t[0] not in read_first]
    if rest:
        added = await deps.uow.add_all(deps.store.deliveries, [(d, [e]) for _, d, e in rest])
        for (i, delivery, _), new in zip(rest, added, strict=True):
            answers[i] = Received(delivery.comment_id, "received" if new else "duplicate")
    return [answers[i] for i in range(len(items))]


def _is_crime(deps: Deps, event: Event) -> bool:
    """A visitor's new comment that escalates at once when read (P5.8)."""
    if not isinstance(event, CommentReceived) or event.data.author.is_kommun:
        return False
    return _reading_of(deps, event.data.text).category in cases.ESCALATE


def _reading_of(deps: Deps, text: str) -> Reading:
    found = classifier_for(deps.kommun.moderation.word_lists).classify(text)
    return Reading(found.label, found.category, found.rules, found.evidence)


async def _post_of(deps: Deps, comment: Comment) -> Comment | None:
    if not comment.post_id:
        return None
    return await deps.store.comment(f"{comment.platform}-{comment.post_id}")


async def _about(deps: Deps, comment: Comment) -> tuple[WatchedAccount | None, Comment | None]:
    """The comment's account and post, read together: what its case is opened with."""
    return await asyncio.gather(deps.store.get(comment.account_id), _post_of(deps, comment))


@events.on(CommentReceived, idempotent=True)
async def read_comment(event: CommentReceived, deps: EventScope) -> object:
    """Read a comment against the policy; open a case if it asks removal or an answer."""
    # P5.2, P5.3, P5.8, P5.9, P7, B2; and someone must look at it in time (L2). The
    # kommun's own comments (its replies, P10.6) are kept, not moderated.
    # The comment is stored last: stored, it says every step before it was done, so a
    # redelivered event changes nothing and needs no handled-mark (issue 13).
    comment = cases.received(event.data, event.kommun)
    if await deps.store.comment(comment.id) is not None:
        return ALREADY_HANDLED
    return await _read(deps, comment)


async def _read(deps: Deps, comment: Comment) -> object:
    if comment.author.is_kommun:
        await deps.uow.add_once(deps.store.comments, comment)
        return None
    reading = _reading_of(deps, comment.text)
    comment = cases.read(comment, reading)
    # The account read once, for the case and the wait both (issue 13: a read per comment).
    account_read = deps.store.accounts.get(comment.account_id)
    if reading.label != "keep":  # the case first: a crime's escalation waits for nothing
        account, post = await asyncio.gather(account_read, _post_of(deps, comment))
        await _open(deps, comment, reading, (account.item if account else None, post))
    else:
        account = await account_read
    await _waiting(deps, comment, account)
    if not await deps.uow.add_once(deps.store.comments, comment):
        return ALREADY_HANDLED  # read at the same time by the request that took it
    metrics.CLASSIFIED.labels(comment.kommun, reading.label, reading.category).inc()
    return None


async def _waiting(deps: Deps, comment: Comment, account: Versioned[WatchedAccount] | None) -> None:
    def decide(a: WatchedAccount) -> Decision[WatchedAccount]:
        return watching.comment_waiting(a, comment.received_at), []

    try:
        if account is not None:
            with suppress(StaleWrite):  # changed since it was read: read again
                await deps.uow.apply(deps.store.accounts, account, decide)
                return
        await deps.uow.change(deps.store.accounts, comment.account_id, decide)
    except NotFound:
        log.warning(
            "comment %s is of account %s, which is not watched", comment.id, comment.account_id
        )


async def _open(
    deps: Deps,
    comment: Comment,
    reading: Reading,
    about: tuple[WatchedAccount | None, Comment | None],
    *,
    source: Literal["classifier", "report", "system"] = "classifier",
    by: Actor = cases.SYSTEM,
    reason: str = "",
    key: str | None = None,
) -> None:
    """A case for the comment, `about` its account and post; if it has one, the new
    reading goes to that case (an edit that became a threat escalates, a report is on its
    record)."""
    account, post = about
    now = deps.clock()
    case, news = cases.open_case(
        comment, reading, account, post, deps.kommun, now, source=source, by=by, reason=reason
    )
    if await deps.uow.add_once(deps.store.cases, case, news):
        if case.escalated:
            metrics.ESCALATIONS.labels(deps.kommun.id, case.category).inc()
        if not case.hide_pending:
            return  # a new case with nothing to hide: no need to read it back
    elif source != "classifier" or key is not None:  # not a redelivery: a new reading
        before = await deps.store.cases.get(case.id)
        changed = await deps.uow.change(
            deps.store.cases,
            case.id,
            lambda c: cases.reread(c, reading, comment.text, account, deps.kommun, now, by, reason),
            key=key,
        )
        if changed.escalated and before is not None and not before.item.escalated:
            metrics.ESCALATIONS.labels(deps.kommun.id, changed.category).inc()
    await hide_if_confidential(deps, case.id)


@events.on(PostPublished, idempotent=True)
async def keep_post(event: PostPublished, deps: EventScope) -> object:
    """Keep the kommun's own post: its author follows the discussion (P3.4)."""
    post = cases.received(event.data, event.kommun, "post", event.data.published_by)
    if not await deps.uow.add_once(deps.store.comments, post):
        return ALREADY_HANDLED
    return None


@events.on(CommentEdited)
async def reread_edited(event: CommentEdited, deps: EventScope) -> None:
    """An edited comment is read again: an edit can turn it into a threat (P5.8)."""
    data = event.data
    reading = _reading_of(deps, data.text)
    try:
        comment = await deps.uow.change(
            deps.store.comments,
            data.comment_id,
            lambda c: (cases.edited(c, data.text, data.edited_at, reading), []),
        )
    except NotFound:
        return  # an edit of a comment we never received: nothing to read it against
    if reading.label != "keep":
        await _open(deps, comment, reading, await _about(deps, comment), key=event.id)


@events.on(CommentDeleted)
async def note_deleted(event: CommentDeleted, deps: EventScope) -> None:
    """The platform says a comment is gone or hidden: noted on it and on its case; the
    record stays (P5.2, L6)."""
    data = event.data
    try:
        await deps.uow.change(
            deps.store.comments, data.comment_id, lambda c: (cases.gone(c, data.how), [])
        )
    except NotFound:
        return
    with suppress(NotFound):  # a comment without a case: nothing more to note
        await deps.uow.change(
            deps.store.cases,
            data.comment_id,
            lambda c: cases.noted(c, f"{data.how} on the platform", data.at),
            key=event.id,
        )


# A flag may come just before the comment it names (another system publishing both):
# retried this long, then dead-lettered as naming no comment.
FLAG_WAITS_FOR_COMMENT = timedelta(minutes=10)


@events.on(CommentFlagged, idempotent=True)
async def open_flagged(event: CommentFlagged, deps: EventScope) -> None:
    """A person's report or another system's flag opens a case too (P5.2)."""
    # Idempotent without a handled-mark: the case is added once per comment, and a
    # reading joins an open case keyed by this event's id.
    data = event.data
    if data.source == "classifier":
        return  # our own classifier's: the case it announces is open already
    comment = await deps.store.comment(data.comment_id)
    if comment is None:
        if deps.clock() - event.time < FLAG_WAITS_FOR_COMMENT:
            raise LookupError(f"comment {data.comment_id} not received yet")  # retried
        raise InvalidEvent(f"data.comment_id: {data.comment_id!r} was never received (P5.2)")
    category = cases.most_serious(data.categories)
    label: Literal["remove", "answer"] = "remove" if category in cases.REMOVABLE else "answer"
    reading = Reading(label, category, tuple(data.rules), tuple(data.evidence))
    by = Actor(subject=f"{data.source}:{event.source}", name=data.source)
    about = await _about(deps, comment)
    await _open(
        deps, comment, reading, about, source=data.source, by=by, reason=data.reason, key=event.id
    )


# Accounts


@events.on(AccountCreated, idempotent=True)
async def watch_new_account(event: AccountCreated, deps: EventScope) -> object:
    """Start watching a registered account with its plan's terms (B1.7, P5.3, L2)."""
    # Keyed by the account id: a redelivered account.created finds it watched.
    account = watching.watch(event.data, event.kommun, deps.kommun)
    if not await deps.uow.add_once(deps.store.accounts, account):
        return ALREADY_HANDLED
    return None


async def _on_account(
    deps: Deps,
    account_id: str,
    key: str,
    step: Callable[[WatchedAccount], Decision[WatchedAccount]],
) -> None:
    try:
        await deps.uow.change(deps.store.accounts, account_id, step, key=key)
    except NotFound:  # registered before moderation ran, or another kommun's mistake
        log.warning("account %s is not watched; its event %s changes nothing", account_id, key)


async def _terms(deps: Deps, event: AccountActivated | AccountUpdated) -> None:
    """The plan's current terms; an account registered before moderation ran is watched
    from now on."""
    data = event.data
    await deps.uow.add_once(deps.store.accounts, watching.watch(data, event.kommun, deps.kommun))
    await _on_account(
        deps, data.account_id, event.id, lambda a: (watching.update_terms(a, data, deps.kommun), [])
    )


@events.on(AccountActivated)
async def watch_activated(event: AccountActivated, deps: EventScope) -> None:
    """The account runs with its plan's current terms."""
    await _terms(deps, event)


@events.on(AccountUpdated)
async def watch_updated(event: AccountUpdated, deps: EventScope) -> None:
    """The plan changed: new deadlines, administrators or monitoring hours."""
    await _terms(deps, event)


@events.on(AccountClosed)
async def watch_closed(event: AccountClosed, deps: EventScope) -> None:
    """P5.5: no new supervision gaps for a closed account."""
    await _on_account(deps, event.data.account_id, event.id, lambda a: (watching.close(a), []))


@events.on(AdminAbsent)
async def administrator_away(event: AdminAbsent, deps: EventScope) -> None:
    """Cases go to the substitute while an administrator is away (P5.1)."""
    for account_id in event.data.account_ids:
        await _on_account(deps, account_id, event.id, lambda a: (watching.away(a, event.data), []))


@events.on(AdminReturned)
async def administrator_back(event: AdminReturned, deps: EventScope) -> None:
    """The administrator owns the account's cases again."""
    for account_id in event.data.account_ids:
        await _on_account(deps, account_id, event.id, lambda a: (watching.back(a, event.data), []))


# Platform actions


async def hide_if_confidential(deps: Deps, case_id: str) -> None:
    """P7, P10.3: confidential content is hidden at once; without a connector, hiding is
    on the case to do by hand. Also run by the sweep, for a case opened before a crash."""
    found = await deps.store.cases.get(case_id)
    if found is None or not found.item.hide_pending:
        return
    case = found.item
    result = await _perform(deps, case, PlatformAction.HIDE)
    with suppress(StaleWrite):  # changed meanwhile: the sweep tries again on a fresh read
        await deps.uow.apply(
            deps.store.cases,
            found,
            lambda c: cases.hidden_at_once(c, result.status, result.detail, deps.clock()),
        )


async def _perform(deps: Deps, case: Case, action: PlatformAction, text: str = "") -> ActionResult:
    request = ActionRequest(
        kommun=case.kommun,
        account_name=case.account_name,
        platform=case.platform,
        platform_id=case.platform_id,
        action=action,
        text=text,
    )
    return await connectors(deps.settings).perform(request)


PLATFORM_ACTION: dict[str, PlatformAction] = {
    "remove": PlatformAction.DELETE,
    "hide": PlatformAction.HIDE,
    "answer": PlatformAction.REPLY,
    "correct": PlatformAction.REPLY,
}


class PlatformFailed(RuleViolations):
    """The platform refused or could not be reached; the case says so (502)."""

    status = 502


async def decide(deps: Deps, case_id: str, ruling: Ruling, by: Actor, key: str | None) -> Case:
    """A moderator's decision, carried out on the platform through its connector: what
    no connector can do is on the case to do by hand; a refusal leaves it undecided.

    The case is first marked as being decided by the moderator (a write conditional on
    the version read), so that a second moderator, or a retry while the first request
    still runs, never carries out a reply or deletion twice."""
    found = await deps.store.cases.get(case_id)
    if found is None:
        raise NotFound("case_id", case_id)
    if key is not None and key in found.handled:
        return found.item
    action = PLATFORM_ACTION.get(ruling.resolution)
    status: Literal["done", "by_hand", "none"] = "none"
    detail = ""
    if action is not None:
        try:
            marked = await deps.uow.apply(
                deps.store.cases, found, lambda c: cases.deciding(c, ruling, by)
            )
        except StaleWrite:
            raise violation(
                "state",
                "P5.1",
                "Ärendet ändrades samtidigt; läs om det och försök igen.",
                "the case changed meanwhile; read it again and retry",
                Conflict,
            ) from None
        result = await _perform(deps, marked, action, ruling.reply)
        if result.status == "failed":
            await deps.uow.change(
                deps.store.cases,
                case_id,
                lambda c: cases.platform_failed(c, ruling, by, deps.clock(), result.detail),
            )
            raise violation(
                "platform",
                "P5.2",
                f"Plattformen utförde inte åtgärden: {result.detail}. Ärendet är inte avgjort; "
                "försök igen eller gör det för hand.",
                f"the platform did not do it: {result.detail}; the case is not decided, try "
                "again or do it by hand",
                PlatformFailed,
            )
        status, detail = result.status, result.detail
    now = deps.clock()
    case = await deps.uow.change(
        deps.store.cases,
        case_id,
        lambda c: cases.decide(c, ruling, by, now, status, detail),
        key=key,
        field="case_id",
    )
    metrics.decided(case, now)
    return case


async def claim(deps: Deps, case_id: str, by: Actor) -> Case:
    return await deps.uow.change(
        deps.store.cases, case_id, lambda c: cases.claim(c, by, deps.clock()), field="case_id"
    )


async def done_by_hand(deps: Deps, case_id: str, by: Actor, note: str) -> Case:
    return await deps.uow.change(
        deps.store.cases,
        case_id,
        lambda c: cases.done_by_hand(c, by, deps.clock(), note),
        field="case_id",
    )


async def looked_at(deps: Deps, accounts: list[WatchedAccount], at: datetime) -> None:
    """A moderator read these accounts' queue or comments: supervised (L2)."""
    for account in accounts:
        if account.waiting_since is None and account.unsupervised_since is None:
            continue
        try:
            await deps.uow.change(
                deps.store.accounts, account.id, lambda a: (watching.looked_at(a, at), [])
            )
        except NotFound:
            continue


async def report(deps: Deps, comment_id: str, reason: str, category: Category, by: Actor) -> Case:
    """A person reports a comment: a case is opened, or the report joins its case."""
    comment = await deps.store.comment(comment_id)
    if comment is None:
        raise NotFound("comment_id", comment_id)
    label: Literal["remove", "answer"] = "remove" if category in cases.REMOVABLE else "answer"
    rules = ("P5.2",) if label == "remove" else ("P5.3",)
    reading = Reading(label, category, rules)
    about = await _about(deps, comment)
    await _open(deps, comment, reading, about, source="report", by=by, reason=reason)
    found = await deps.store.cases.get(comment.id)
    assert found is not None
    return found.item
