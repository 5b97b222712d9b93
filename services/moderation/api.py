"""Moderation's HTTP API: comments in (a connector's JSON, Meta's webhook), the queue of
cases, decisions, reports and the audit log. Errors are 4xx naming the field and rule.

Staff and connectors act for the kommun their token names (shared.http.DepsDep); Meta's
webhook carries no token, so its address names the kommun and its signature proves the
sender: the body is not read before `X-Hub-Signature-256` is verified (constant time).
"""

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response, status
from fastapi.responses import PlainTextResponse
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from services.moderation import handlers, meta
from services.moderation.domain.accounts import WatchedAccount
from services.moderation.domain.cases import Case, Comment, Ruling
from services.moderation.domain.inbound import Inbound
from services.moderation.store import PAGE_LIMIT, ModerationStore
from shared.auth import require
from shared.events import Actor, Category, Label, PersonRef, Resolution
from shared.http import DepsDep, Problem, PublicDepsDep, RequestKey, problem_response, problems
from shared.principal import Principal, Role
from shared.service import Dependencies
from shared.unit_of_work import NotFound

log = logging.getLogger("kanalvakt.moderation.api")

Deps = Annotated[Dependencies[ModerationStore], DepsDep]
PublicDeps = Annotated[Dependencies[ModerationStore], PublicDepsDep]

MODERATORS = (Role.COMMUNICATOR, Role.ADMINISTRATOR, Role.INFORMATION_OFFICER)
READERS = (
    *MODERATORS,
    Role.UNIT_HEAD,
    Role.DEPARTMENT_HEAD,
    Role.SECURITY_COORDINATOR,
    Role.REGISTRAR,
    Role.ARCHIVIST,
)
AUDITORS = (
    Role.ADMINISTRATOR,
    Role.INFORMATION_OFFICER,
    Role.SECURITY_COORDINATOR,
    Role.REGISTRAR,
    Role.ARCHIVIST,
)
Moderator = Annotated[Principal, require(*MODERATORS)]
Reader = Annotated[Principal, require(*READERS)]
Auditor = Annotated[Principal, require(*AUDITORS)]
Connector = Annotated[Principal, require(Role.CONNECTOR)]
Limit = Annotated[int, Query(ge=1, le=PAGE_LIMIT, description="How many at most.")]

router = APIRouter()
ingest_routes = APIRouter(tags=["comments in"])
queue = APIRouter(prefix="/cases", tags=["cases"])
watched = APIRouter(prefix="/accounts", tags=["accounts"])


def _actor(by: Principal) -> Actor:
    return Actor(subject=by.subject, name=by.name)


# Comments in


class IngestResult(BaseModel):
    index: int
    comment_id: str
    status: Literal["received", "duplicate", "refused"]
    error: str = Field(default="", description="Why it was refused: the field and the rule.")


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


# One item, or a batch of them.
Items = Annotated[
    list[Inbound], BeforeValidator(_one_or_many), Field(min_length=1, max_length=1000)
]


@ingest_routes.post(
    "/ingest",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        207: {
            "description": "Some items were refused (each says why); the others were taken.",
            "model": list[IngestResult],
        },
        **problems(422),
    },
)
async def ingest(
    items: Annotated[Items, Body()], response: Response, deps: Deps, _: Connector
) -> list[IngestResult]:
    """Posts, comments, edits and deletions from a connector: one item or a batch (at
    most 1,000). Each becomes its event once, however often it is sent. If any is
    refused (an account not in the register), the answer is 207 and says which; the
    others are taken. A malformed item refuses the whole request (422)."""
    results = [
        IngestResult(index=i, **vars(received))
        for i, received in enumerate(await handlers.ingest(deps, items))
    ]
    if any(r.status == "refused" for r in results):
        response.status_code = status.HTTP_207_MULTI_STATUS
    return results


@ingest_routes.get(
    "/webhooks/meta/{kommun}",
    response_class=PlainTextResponse,
    responses={
        403: {"description": "The verify token is not ours.", "content": {"text/plain": {}}},
        **problems(404),
    },
)
async def meta_verification(request: Request, deps: PublicDeps) -> PlainTextResponse:
    """Meta's subscription check: the challenge back if the verify token is ours."""
    token = deps.settings.meta_verify_token
    params = dict(request.query_params)
    answer = meta.verification_answer(params, token.get_secret_value()) if token else None
    if answer is None:
        log.warning("meta webhook verification refused for kommun %s", deps.kommun.id)
        return PlainTextResponse("verification refused", status_code=status.HTTP_403_FORBIDDEN)
    return PlainTextResponse(answer)


@ingest_routes.post(
    "/webhooks/meta/{kommun}",
    responses={
        401: {
            "description": "X-Hub-Signature-256 missing or not matching (or no app secret).",
            "model": Problem,
        },
        503: {"description": "The dead-letter subject could not be reached: Meta retries."},
        **problems(404),
    },
)
async def meta_webhook(request: Request, response: Response, deps: PublicDeps) -> dict[str, Any]:
    """Page feed and Instagram comment changes, signed by Meta (`X-Hub-Signature-256`).
    An unsigned or badly signed call is refused and logged without its body; what cannot
    be mapped goes to `dlq.comment.received.<kommun>` with the reason. Answers 200 once
    everything is taken, so Meta does not send it again."""
    body = await request.body()
    header = request.headers.get("x-hub-signature-256")
    secret = deps.settings.meta_app_secret
    if secret is None or not meta.verify_signature(
        secret.get_secret_value().encode(), body, header
    ):
        why = meta.describe_refusal(header, len(body), secret_configured=secret is not None)
        log.warning("meta webhook for kommun %s refused: %s", deps.kommun.id, why)
        response.status_code = status.HTTP_401_UNAUTHORIZED
        return Problem(detail=f"X-Hub-Signature-256: {why}").model_dump()
    try:
        payload: Any = json.loads(body)
    except ValueError:
        payload = None
    mapped = meta.map_feed(payload, deps.kommun.moderation.meta_pages)
    taken = refused = 0
    for result in await handlers.ingest(deps, mapped.items):
        if result.status == "refused":
            await _dead_letter(request, deps, body, result.error)
            refused += 1
        else:
            taken += 1
    for problem in mapped.unmappable:
        await _dead_letter(request, deps, json.dumps(problem.change).encode(), problem.reason)
        refused += 1
    return {"taken": taken, "dead_lettered": refused}


async def _dead_letter(request: Request, deps: PublicDeps, body: bytes, reason: str) -> None:
    """Never lost: to the dead-letter subject with why (a failure here is a 503, and Meta
    sends the call again)."""
    address = f"comment.received.{deps.kommun.id}"
    digest = hashlib.sha256(body + reason.encode()).hexdigest()
    headers = {
        # Meta's retry of the same call is one dead letter, not one more.
        "Nats-Msg-Id": f"dlq:meta:{digest}",
        "Kanalvakt-Dlq-Reason": reason.replace("\n", " ")[:2000],
        "Kanalvakt-Dlq-Subject": address,
        "Kanalvakt-Dlq-Consumer": "moderation-meta-webhook",
        "Kanalvakt-Dlq-At": deps.clock().isoformat(),
    }
    log.warning("meta webhook item dead-lettered for kommun %s: %s", deps.kommun.id, reason)
    try:
        await request.app.state.send_dead_letter(address, body, headers)
    except Exception as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "dead-letter subject unreachable; retry"
        ) from exc


# The queue


class CaseView(BaseModel):
    """A case as moderators see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    account_name: str
    platform: str
    label: str
    category: str
    rules: list[str]
    evidence: list[dict[str, Any]]
    source: str
    text: str
    author: dict[str, Any]
    url: str
    written_at: datetime
    received_at: datetime
    due: datetime
    owners: list[PersonRef]
    state: str
    claimed_by: str
    resolution: str | None
    decided_at: datetime | None
    escalated: bool
    hidden: bool
    to_do_by_hand: list[str]
    history: list[dict[str, Any]]


def _view(case: Case) -> CaseView:
    data = {k: getattr(case, k) for k in CaseView.model_fields}
    data["evidence"] = [e.model_dump() for e in case.evidence]
    data["author"] = case.author.model_dump()
    data["history"] = [vars(h) for h in case.history]
    data["state"] = case.state.value
    return CaseView.model_validate(data)


@queue.get("")
async def list_cases(
    deps: Deps,
    by: Reader,
    account_id: str | None = None,
    label: Label | None = None,
    category: Category | None = None,
    owner: Annotated[str | None, Query(description="An owner's e-mail address.")] = None,
    mine: Annotated[bool, Query(description="Only the caller's (their token's e-mail).")] = False,
    limit: Limit = 100,
) -> list[CaseView]:
    """Open and claimed cases, the nearest deadline first (B1 item 7, P5.3). A moderator
    reading a whole queue (all of it, or an account's) has looked at it (L2)."""
    if mine:
        owner = by.email
    found = await deps.store.queue(account_id, label, category, owner, limit)
    whole = owner is None and label is None and category is None and len(found) < limit
    if whole and any(r in by.roles for r in MODERATORS):
        accounts = await _accounts(deps, account_id)
        await handlers.looked_at(deps, accounts, deps.clock())
    return [_view(c) for c in found]


async def _accounts(deps: Deps, account_id: str | None) -> list[WatchedAccount]:
    if account_id is not None:
        account = await deps.store.get(account_id)
        return [account] if account else []
    return [v.item for v in await deps.store.all_accounts()]


async def _case(deps: Deps, case_id: str) -> Case:
    found = await deps.store.cases.get(case_id)
    if found is None:
        raise NotFound("case_id", case_id)
    return found.item


@queue.get("/{case_id}", responses=problems(404))
async def get_case(case_id: str, deps: Deps, _: Reader) -> CaseView:
    """One case with its audit trail: who did what, when and why."""
    return _view(await _case(deps, case_id))


@queue.post("/{case_id}/claim", responses=problems(404, 409))
async def claim_case(case_id: str, deps: Deps, by: Moderator) -> CaseView:
    """Take the case; one claimed by another moderator is theirs until decided."""
    return _view(await handlers.claim(deps, case_id, _actor(by)))


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: Resolution = Field(
        description="remove, hide, keep, answer, forward (to a case officer, P5.4) or "
        "correct (a mistake of ours, P5.10)."
    )
    reason: str = Field(default="", max_length=4000, description="Why; required but for answer.")
    category: Category | None = Field(
        default=None, description="Required for remove and hide: the policy category (P6)."
    )
    reply: str = Field(default="", max_length=8000, description="The answer or the correction.")
    forward_to: PersonRef | None = Field(default=None, description="P5.4: the case officer.")


@queue.post(
    "/{case_id}/decision",
    responses={
        **problems(404, 409, 422),
        502: problem_response(502, "The platform did not do it; the case is not decided."),
    },
)
async def decide_case(
    case_id: str, body: DecisionBody, deps: Deps, by: Moderator, key: RequestKey
) -> CaseView:
    """Decide the case; it is carried out on the platform through its connector, or put
    on the case to do by hand. Publishes `moderation.decided`, and `comment.removed` for a
    removal so the archive keeps the record (P5.2)."""
    ruling = Ruling(body.resolution, body.reason, body.category, body.reply, body.forward_to)
    return _view(await handlers.decide(deps, case_id, ruling, _actor(by), key))


class ByHandBody(BaseModel):
    note: str = Field(default="", max_length=2000, description="What was done, where.")


@queue.post("/{case_id}/done-by-hand", responses=problems(404, 409))
async def done_by_hand(case_id: str, body: ByHandBody, deps: Deps, by: Moderator) -> CaseView:
    """Say that what no connector could do was done on the platform by hand."""
    return _view(await handlers.done_by_hand(deps, case_id, _actor(by), body.note))


class ReportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment_id: str = Field(min_length=1)
    category: Category
    reason: str = Field(min_length=3, max_length=4000)


@router.post(
    "/reports", tags=["cases"], status_code=status.HTTP_201_CREATED, responses=problems(404)
)
async def report(body: ReportBody, deps: Deps, by: Reader) -> CaseView:
    """A person reports a comment: a case opens, or the report joins its case."""
    case = await handlers.report(deps, body.comment_id, body.reason, body.category, _actor(by))
    return _view(case)


class AuditEntryView(BaseModel):
    case_id: str
    account_id: str
    at: datetime
    by: str
    name: str
    action: str
    reason: str
    detail: str


@router.get("/audit", tags=["audit"])
async def audit_log(
    deps: Deps,
    _: Auditor,
    since: Annotated[
        AwareDatetime | None, Query(description="From this moment; default the last 7 days.")
    ] = None,
    limit: Limit = 100,
) -> list[AuditEntryView]:
    """Every moderation action since a moment, oldest first: who, when, what, why."""
    start = since or deps.clock() - timedelta(days=7)
    entries = [
        AuditEntryView(case_id=c.id, account_id=c.account_id, **vars(h))
        for c in await deps.store.changed_cases(start, PAGE_LIMIT)
        for h in c.history
        if h.at >= start
    ]
    return sorted(entries, key=lambda e: e.at)[:limit]


# Accounts


@watched.get("/{account_id}", responses=problems(404))
async def get_watched_account(account_id: str, deps: Deps, _: Reader) -> WatchedAccount:
    """What moderation holds an account to (B1.7, P5.3) and who owns its cases now."""
    account = await deps.store.get(account_id)
    if account is None:
        raise NotFound("account_id", account_id)
    return account


@watched.get("/{account_id}/comments", responses=problems(404))
async def account_comments(
    account_id: str, deps: Deps, by: Reader, limit: Limit = 100
) -> list[Comment]:
    """The account's newest comments with the rules' reading: reading them is looking
    at the account (L2)."""
    account = await deps.store.get(account_id)
    if account is None:
        raise NotFound("account_id", account_id)
    if any(r in by.roles for r in MODERATORS):
        await handlers.looked_at(deps, [account], deps.clock())
    return await deps.store.comments_of(account_id, limit)


router.include_router(ingest_routes)
router.include_router(queue)
router.include_router(watched)
