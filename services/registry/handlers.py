"""The registry's use cases, for the API and the scheduler alike: each loads what it
needs, lets the domain decide, and saves the decision with its events through the unit
of work. The compliance review runs inside every decision about an account (P3.1, P3.3,
P3.5, P3.6, P4.1, P5.6), so one write carries a change and what it means.

The registry publishes every account and administrator event, and consumes none.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from services.registry.domain import absence as absences
from services.registry.domain import account as accounts
from services.registry.domain.absence import Absence
from services.registry.domain.account import Account
from services.registry.domain.compliance import review, reviewed
from services.registry.domain.plan import parse_plan
from services.registry.store import RegistryStore
from shared.bus import EventRouter
from shared.events import ALL_EVENTS, PersonRef
from shared.principal import Principal
from shared.rules import Conflict, violation
from shared.service import Dependencies
from shared.settings import ServiceName
from shared.unit_of_work import AlreadyExists, Decision, StaleWrite, Versioned

events = EventRouter(ServiceName.REGISTRY)
events.publishes(*(e for e in ALL_EVENTS if e.producer is ServiceName.REGISTRY))

Deps = Dependencies[RegistryStore]


class Step(Protocol):
    """A domain step on an account at a moment: `partial(accounts.sign, role=…, by=…)`."""

    def __call__(self, account: Account, *, at: datetime) -> Decision[Account]: ...


def _name_taken(account: Account) -> Exception:
    plan = account.plan
    return violation(
        "handle",
        "P10.1",
        f"Kontonamnet {plan.handle!r} på {plan.platform} finns redan i registret.",
        f"{plan.handle!r} on {plan.platform} is already registered",
        Conflict,
    )


async def submit_plan(
    deps: Deps, raw_plan: Any, by: Principal, *, draft: bool = False, key: str | None = None
) -> Account:
    """Submit an activity plan (P3.6, B1) or save it as a draft; a retried request with
    the same key gets the account the first one made."""
    now = deps.clock()
    plan = parse_plan(raw_plan, deps.kommun, now.date())
    account, news = accounts.create(deps.kommun.id, plan, by, now, draft=draft)
    try:
        return await deps.uow.add(deps.store.accounts, account, news, key=key)
    except AlreadyExists:
        raise _name_taken(account) from None


async def change_account(
    deps: Deps, account_id: str, step: Step, *, key: str | None = None
) -> Account:
    """One step on an account, reviewed in the same decision."""
    now = deps.clock()
    away = await deps.store.current_absences(now)
    decided: list[Account] = []

    def decide(account: Account) -> Decision[Account]:
        decision = reviewed(step(account, at=now), away, now, deps.kommun)
        decided.append(decision[0])
        return decision

    try:
        return await deps.uow.change(
            deps.store.accounts, account_id, decide, key=key, field="account_id"
        )
    except AlreadyExists:  # an amended handle that another account has
        raise _name_taken(decided[-1]) from None


async def amend_plan(
    deps: Deps, account_id: str, raw_plan: Any, by: Principal, *, key: str | None = None
) -> Account:
    """A changed plan; administrators, department or purpose need all sign-offs again."""
    plan = parse_plan(raw_plan, deps.kommun, deps.clock().date())
    return await change_account(
        deps, account_id, lambda a, at: accounts.amend(a, plan, by, at), key=key
    )


async def register_absence(
    deps: Deps,
    person: PersonRef,
    starts_at: datetime,
    ends_at: datetime,
    substitute: PersonRef | None,
    by: Principal,
    *,
    key: str | None = None,
) -> Absence:
    """Register an absence (P3.3, P5.1). One that has begun starts at once, and the
    accounts it touches are reviewed now rather than at the next tick (P5.6)."""
    now = deps.clock()
    absence = absences.register(deps.kommun.id, person, starts_at, ends_at, substitute, by, now)
    absence = await deps.uow.add(deps.store.absences, absence, key=key)
    if absence.starts_at <= now:
        found = await deps.store.absences.get(absence.id)
        if found is not None:
            absence = await advance_absence(deps, found, now)
    return absence


async def advance_absence(
    deps: Deps, found: Versioned[Absence], now: datetime, *, review_touched: bool = True
) -> Absence:
    """An absence whose start or end has come: admin.absent, admin.returned (P3.3), and
    a review of the accounts it touches (the scheduler reviews them all right after)."""
    administered = await deps.store.administered_by(found.item.person_key)
    try:
        absence = await deps.uow.apply(
            deps.store.absences, found, lambda a: absences.advance(a, now, administered)
        )
    except StaleWrite:
        return found.item  # another replica made this transition
    if review_touched:
        await review_accounts(deps, now, await _touched_by(deps, absence, now))
    return absence


async def _touched_by(deps: Deps, absence: Absence, now: datetime) -> list[str]:
    """Accounts the person administers, and those of people they stand in for (P5.1)."""
    people = {absence.person_key} | {
        other.person_key
        for other in await deps.store.current_absences(now)
        if other.substitute and str(other.substitute.email).casefold() == absence.person_key
    }
    return sorted({i for p in people for i in await deps.store.administered_by(p)})


async def review_accounts(deps: Deps, now: datetime, account_ids: Iterable[str]) -> None:
    away = await deps.store.current_absences(now)
    for account_id in account_ids:
        await deps.uow.change(
            deps.store.accounts,
            account_id,
            lambda a: review(a, away, now, deps.kommun),
            field="account_id",
        )


async def review_all(deps: Deps, now: datetime) -> list[Account]:
    """Attendance and compliance of every account, read once; the accounts as they are
    now. An account that is not live is reviewed too, so that what was said of it while
    it was (unattended, findings) is cleared."""
    away = await deps.store.current_absences(now)
    current = []
    for found in await deps.store.all_versioned():
        try:
            account = await deps.uow.apply(
                deps.store.accounts, found, lambda a: review(a, away, now, deps.kommun)
            )
        except StaleWrite:
            account = found.item  # changed meanwhile: the next tick reviews it afresh
        current.append(account)
    return current
