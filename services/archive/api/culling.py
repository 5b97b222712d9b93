"""Legal holds and culling (P10.2, L6, L7): holds set and lifted with a reason, a cull run
(or a dry run that lists what would go), and the culling log.

Archivists and the registrar act; the informationsansvarig may read too.
"""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from services.archive.domain.culling import CullLog, Hold, HoldScope, new_hold
from services.archive.handlers import culling
from services.archive.store import ArchiveStore
from shared.auth import require
from shared.http import DepsDep, RequestKey, problems
from shared.ids import new_id
from shared.principal import Principal, Role
from shared.service import Dependencies

router = APIRouter(tags=["culling"])

ACTORS = (Role.ARCHIVIST, Role.REGISTRAR)
READERS = (*ACTORS, Role.INFORMATION_OFFICER)

Deps = Annotated[Dependencies[ArchiveStore], DepsDep]
Actor = Annotated[Principal, require(*ACTORS)]
Reader = Annotated[Principal, require(*READERS)]

LOG_LIMIT = 500


class HoldBody(BaseModel):
    """What a hold protects: `account` an account (`account_id`), `case` the records a
    moderation case decided on (`case_id`), `range` records written from `from` to `to`
    (days in Swedish time, both included; `to` left out: no end), of one account if
    `account_id` is given."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    scope: HoldScope
    account_id: str | None = Field(default=None, max_length=200)
    case_id: str | None = Field(default=None, max_length=200)
    from_date: date | None = Field(default=None, alias="from")
    to_date: date | None = Field(default=None, alias="to")
    reason: str = Field(default="", max_length=4000, description="Why (required, L6).")


class LiftBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=4000, description="Why (required, L6).")


class HoldView(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    id: str
    scope: HoldScope
    account_id: str | None
    case_id: str | None
    from_date: date | None = Field(alias="from")
    to_date: date | None = Field(alias="to")
    reason: str
    set_by: str
    set_at: datetime
    in_force: bool
    lifted_at: datetime | None
    lifted_by: str | None
    lift_reason: str | None


def _view(hold: Hold) -> HoldView:
    return HoldView(
        id=hold.id,
        scope=hold.scope,
        account_id=hold.account_id,
        case_id=hold.case_id,
        from_date=hold.from_date,
        to_date=hold.to_date,
        reason=hold.reason,
        set_by=hold.set_by,
        set_at=hold.set_at,
        in_force=hold.in_force,
        lifted_at=hold.lifted_at,
        lifted_by=hold.lifted_by,
        lift_reason=hold.lift_reason,
    )


@router.post("/holds", status_code=status.HTTP_201_CREATED, tags=["holds"], responses=problems(422))
async def set_hold(body: HoldBody, deps: Deps, by: Actor, key: RequestKey) -> HoldView:
    """Set a legal hold (L6): nothing it covers is culled until it is lifted. A retried
    request with the same Idempotency-Key sets one hold."""
    hold = new_hold(
        new_id(),
        deps.kommun.id,
        body.scope,
        body.reason,
        by.subject,
        deps.clock(),
        account_id=body.account_id,
        case_id=body.case_id,
        from_date=body.from_date,
        to_date=body.to_date,
    )
    return _view(await culling.set_hold(deps, hold, key))


@router.get("/holds", tags=["holds"])
async def list_holds(
    deps: Deps,
    _: Reader,
    all: Annotated[bool, Query(description="Lifted holds too.")] = False,
) -> list[HoldView]:
    """Holds in force (with `all=true`, lifted ones too), oldest first."""
    store = deps.store.culling
    return [_view(h) for h in await (store.all_holds() if all else store.holds_in_force())]


@router.post("/holds/{hold_id}/lift", tags=["holds"], responses=problems(404, 409, 422))
async def lift_hold(hold_id: str, body: LiftBody, deps: Deps, by: Actor) -> HoldView:
    """Lift a hold, with why (L6): it stays on record, and what it protected may go at
    the next run if a retention rule allows."""
    return _view(await culling.lift_hold(deps, hold_id, by.subject, body.reason))


class RuleRunView(BaseModel):
    rule_id: str
    decision: str
    count: int
    record_ids: list[str]
    log_ids: list[str] = Field(description="The culling log entries written (none in a dry run).")


class RunView(BaseModel):
    dry_run: bool
    at: datetime
    rules: list[RuleRunView] = Field(description="Per retention rule, in configuration order.")


@router.post("/culling/runs")
async def run_culling(
    deps: Deps,
    _: Actor,
    dry_run: Annotated[
        bool, Query(description="List what would go, per rule, and change nothing.")
    ] = True,
) -> RunView:
    """Cull now what the kommun's retention rules allow and no hold protects (P10.2, L6,
    L7); a dry run (the default) lists it without culling."""
    now = deps.clock()
    results = await culling.cull(deps, now, dry_run=dry_run)
    return RunView(dry_run=dry_run, at=now, rules=[RuleRunView(**vars(r)) for r in results])


class SparedView(BaseModel):
    record_id: str
    reason: str
    holds: list[str]
    entries: list[str]
    at: datetime


class CullLogView(BaseModel):
    id: str
    rule_id: str
    decision: str
    culled_at: datetime
    finished_at: datetime | None
    account_id: str
    count: int
    record_ids: list[str]
    entries: dict[str, str] = Field(description="Chain entry id → its SHA-256 link hash.")
    spared: list[SparedView] = Field(
        default_factory=list,
        description="Records the log named that did not go: a hold, or awaiting "
        "registration, when the cull was finished (L6).",
    )
    restored: list[str] = Field(
        default_factory=list,
        description="Records one finisher spared that another culled after all: they went.",
    )


def _log_view(log: CullLog) -> CullLogView:
    return CullLogView(
        id=log.id,
        rule_id=log.rule_id,
        decision=log.decision,
        culled_at=log.culled_at,
        finished_at=log.finished_at,
        account_id=log.account_id,
        count=log.count,
        record_ids=list(log.record_ids),
        entries=log.hashes,
        spared=[
            SparedView(
                record_id=s.record_id,
                reason=s.reason.value,
                holds=list(s.holds),
                entries=list(s.entries),
                at=s.at,
            )
            for s in log.spared
        ],
        restored=list(log.restored),
    )


@router.get("/culling/log")
async def culling_log(
    deps: Deps,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=LOG_LIMIT, description="How many at most.")] = 50,
) -> list[CullLogView]:
    """What was culled, under which rule and decision, newest first (P10.2, L6)."""
    return [_log_view(log) for log in await deps.store.culling.newest(limit)]
