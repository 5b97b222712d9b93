"""The delivery log: who was told what, when, how, with what result (issue 11).

`GET /notifications` searches it, newest first, a page at a time (`Link: <…>;
rel="next"` while there may be more); `GET /notifications/{id}` is one notification with
its whole attempt log. Each item is flat: the recipient's name, e-mail, language and why
they were told; the subject; created, due and sent; the channel and address; the status
and attempts. Message bodies are left out: an acknowledge link's token is the authority
to acknowledge, and the log's readers are not its recipients.
"""

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime, BaseModel

from services.notify.domain.notifications import Attempt, Channel, Notification, Status
from services.notify.store import NotifyStore
from services.notify.store.notifications import LogFilters
from shared.auth import require
from shared.http import PAGED, DepsDep, link_next, problems
from shared.kommun import Language
from shared.principal import Principal, Role
from shared.rules import violation
from shared.service import Dependencies
from shared.unit_of_work import NotFound

router = APIRouter(prefix="/notifications", tags=["notifications"])

Deps = Annotated[Dependencies[NotifyStore], DepsDep]
READERS = (Role.INFORMATION_OFFICER, Role.OPERATIONS)
Reader = Annotated[Principal, require(*READERS)]
PAGE_LIMIT = 500


class AttemptView(BaseModel):
    at: datetime
    ok: bool
    detail: str = ""

    @classmethod
    def of(cls, attempt: Attempt) -> "AttemptView":
        return cls(at=attempt.at, ok=attempt.ok, detail=attempt.detail)


class NotificationView(BaseModel):
    """One line of the delivery log. `recipient_role` is why they were told without its
    selector's prefix (`contact:informationsansvarig` → `informationsansvarig`)."""

    id: str
    kommun: str
    event_id: str
    event_type: str
    level: int
    escalation_id: str
    recipient_name: str
    recipient_email: str
    recipient_role: str
    language: Language
    why: str
    subject: str
    link: str
    channel: Channel
    address: str
    urgent: bool
    status: Status
    event_time: datetime
    created_at: datetime
    due_at: datetime
    sent_at: datetime | None
    digest_id: str
    attempt_count: int
    last_attempt: AttemptView | None

    @classmethod
    def fields_of(cls, n: Notification) -> dict[str, Any]:
        return {
            "id": n.id,
            "kommun": n.kommun,
            "event_id": n.event_id,
            "event_type": n.event_type,
            "level": n.level,
            "escalation_id": n.escalation_id,
            "recipient_name": n.recipient.name,
            "recipient_email": n.recipient.email,
            "recipient_role": n.recipient.why.removeprefix("contact:"),
            "language": n.recipient.language,
            "why": n.recipient.why,
            "subject": n.message.subject,
            "link": n.message.link,
            "channel": n.channel,
            "address": n.address,
            "urgent": n.urgent,
            "status": n.status,
            "event_time": n.event_time,
            "created_at": n.created_at,
            "due_at": n.due_at,
            "sent_at": n.sent_at,
            "digest_id": n.digest_id,
            "attempt_count": len(n.attempts),
            "last_attempt": AttemptView.of(n.attempts[-1]) if n.attempts else None,
        }

    @classmethod
    def of(cls, n: Notification) -> "NotificationView":
        return cls(**cls.fields_of(n))


class NotificationDetail(NotificationView):
    """One notification with every delivery attempt, oldest first."""

    attempts: list[AttemptView]

    @classmethod
    def of(cls, n: Notification) -> "NotificationDetail":
        return cls(**cls.fields_of(n), attempts=[AttemptView.of(a) for a in n.attempts])


# The page cursor: the last item's (created_at, id), opaque to clients.


def _cursor(n: Notification) -> str:
    raw = json.dumps([n.created_at.isoformat(), n.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at_text, last_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None or not isinstance(last_id, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error):
        raise violation(
            "before",
            "input",
            "Okänd sidmarkör: använd adressen i föregående svars Link-huvud.",
            "not a page cursor: use the address in the previous answer's Link header",
        ) from None
    return at, last_id


@router.get("", responses=PAGED)
async def list_notifications(
    request: Request,
    response: Response,
    deps: Deps,
    _: Reader,
    event_id: Annotated[str | None, Query(min_length=1, description="One event's.")] = None,
    event_type: Annotated[
        str | None, Query(min_length=1, description="e.g. `account.unattended`.")
    ] = None,
    recipient: Annotated[
        str | None, Query(min_length=1, description="The recipient's e-mail or name, exactly.")
    ] = None,
    channel: Annotated[Channel | None, Query(description="How they were told.")] = None,
    status: Annotated[
        Status | None,
        Query(
            description="Where delivery stands; `cancelled`: not sent, as its escalation "
            "was acknowledged first (P5.6)."
        ),
    ] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="Created at or after (with a time zone).")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Created before (with a time zone).")
    ] = None,
    level: Annotated[
        int | None, Query(ge=1, description="Ladder level: 1, then 2, … (P5.6).")
    ] = None,
    before: Annotated[
        str | None, Query(description="Cursor: the `before` of the previous page's next link.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT, description="Items on a page.")] = 100,
) -> list[NotificationView]:
    """The delivery log, newest first: who was told what, when, how, with what result."""
    if since is not None and until is not None and until <= since:
        raise violation(
            "until",
            "input",
            "Slutet (until) måste komma efter början (since).",
            "until must be later than since",
        )
    filters = LogFilters(
        event_id=event_id,
        event_type=event_type,
        recipient=recipient,
        channel=channel.value if channel is not None else None,
        status=status.value if status is not None else None,
        since=since,
        until=until,
        level=level,
    )
    after = _after_cursor(before) if before is not None else None
    page = await deps.store.notifications.log(filters, after, limit)
    if page:
        link_next(request, response, len(page) == limit, before=_cursor(page[-1]), limit=limit)
    return [NotificationView.of(n) for n in page]


@router.get("/{notification_id}", responses=problems(404))
async def get_notification(notification_id: str, deps: Deps, _: Reader) -> NotificationDetail:
    """One notification with its whole attempt log."""
    found = await deps.store.notifications.repo.get(notification_id)
    if found is None:
        raise NotFound("notification_id", notification_id)
    return NotificationDetail.of(found.item)
