"""The registry's use cases (services.registry.handlers) on the in-memory unit of work:
no NATS, no store, the time set by the test. The same use cases run on the real parts in
tests/integration/registry/."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from services.registry import handlers, scheduler
from services.registry.domain import account as accounts
from services.registry.domain import compliance
from services.registry.domain.account import SignRole, State
from services.registry.store import ACCOUNTS, InMemoryRegistryStore
from shared.events import (
    AccountApproved,
    AccountCreated,
    AccountNoncompliant,
    AccountUnattended,
    AdminAbsent,
    PersonRef,
)
from shared.kommun import KommunConfig, load_kommun_config
from shared.principal import Principal, Role
from shared.rules import RuleViolations
from shared.service import Dependencies
from shared.settings import Settings
from shared.unit_of_work import RecordingPublisher, StaleWrite, UnitOfWork
from tests.helpers import ROOT, plan_json

KOMMUN: KommunConfig = load_kommun_config(ROOT / "shared/reference/kommun.yaml")
DEPARTMENT = "Kommunstyrelseförvaltningen"
COMMUNICATOR = Principal("cecilia", "Cecilia", frozenset({Role.COMMUNICATOR}))
SIGNERS = {
    SignRole.ADMINISTRATOR_1: Principal(
        "anna", "Anna", frozenset({Role.ADMINISTRATOR}), email="anna.andersson@nora.example"
    ),
    SignRole.ADMINISTRATOR_2: Principal(
        "bengt", "Bengt", frozenset({Role.ADMINISTRATOR}), email="bengt.berg@nora.example"
    ),
    SignRole.DEPARTMENT_HEAD: Principal(
        "dora", "Dora", frozenset({Role.DEPARTMENT_HEAD}), department=DEPARTMENT
    ),
    SignRole.INFORMATION_OFFICER: Principal(
        "kc", "Kommunchef", frozenset({Role.INFORMATION_OFFICER})
    ),
}
ANNA = PersonRef(name="Anna Andersson", email="anna.andersson@nora.example")
BENGT = PersonRef(name="Bengt Berg", email="bengt.berg@nora.example")
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    deps: Dependencies[InMemoryRegistryStore]
    clock: Clock
    bus: RecordingPublisher

    def published(self, kind: type[Any], about: str) -> list[Any]:
        return [e for e in self.bus.of_type(kind) if e.subject == about]


@pytest.fixture
def world() -> World:
    clock, bus = Clock(), RecordingPublisher()
    deps = Dependencies(
        Settings(), KOMMUN, clock, InMemoryRegistryStore(KOMMUN.id), UnitOfWork(bus)
    )
    return World(deps, clock, bus)


def _plan(handle: str = "norakommunnaringsliv") -> dict[str, Any]:
    return plan_json(handle=handle, url=f"https://www.facebook.com/{handle}")


async def _approved(world: World, handle: str = "norakommunnaringsliv") -> str:
    account = await handlers.submit_plan(world.deps, _plan(handle), COMMUNICATOR)
    for role, who in SIGNERS.items():
        await handlers.change_account(
            world.deps, account.id, partial(accounts.sign, role=role, by=who)
        )
    return account.id


async def test_P3_6_a_retried_submission_with_the_same_key_makes_one_account(
    world: World,
) -> None:
    first = await handlers.submit_plan(world.deps, _plan(), COMMUNICATOR, key="k-1")
    again = await handlers.submit_plan(world.deps, _plan(), COMMUNICATOR, key="k-1")
    assert again.id == first.id
    assert len(world.bus.of_type(AccountCreated)) == 1
    with pytest.raises(RuleViolations) as refused:  # without the key: the name is taken
        await handlers.submit_plan(world.deps, _plan(), COMMUNICATOR, key="k-2")
    assert refused.value.status == 409


async def test_P2_1_the_fourth_sign_off_approves_in_one_write_with_its_review(
    world: World,
) -> None:
    account_id = await _approved(world)
    found = await world.deps.store.accounts.get(account_id)
    assert found is not None
    assert found.item.state is State.APPROVED
    assert found.version == 1 + len(SIGNERS), "one write per sign-off, review included"
    assert len(world.published(AccountApproved, account_id)) == 1


async def test_a_retried_sign_off_with_the_same_key_changes_nothing(world: World) -> None:
    account = await handlers.submit_plan(world.deps, _plan(), COMMUNICATOR)
    sign = partial(
        accounts.sign, role=SignRole.ADMINISTRATOR_1, by=SIGNERS[SignRole.ADMINISTRATOR_1]
    )
    await handlers.change_account(world.deps, account.id, sign, key="POST sign k")
    # The same request again: not a 409 "already signed", the first result.
    again = await handlers.change_account(world.deps, account.id, sign, key="POST sign k")
    assert [s.role for s in again.signatures] == [SignRole.ADMINISTRATOR_1]


async def test_P3_5_P4_1_an_approved_account_has_a_grace_period_to_be_set_up(
    world: World,
) -> None:
    account_id = await _approved(world)
    grace = timedelta(days=KOMMUN.registry.activation_grace_days)
    await scheduler.tick_kommun(world.deps, START + grace - timedelta(hours=1))
    assert world.published(AccountNoncompliant, account_id) == []
    await scheduler.tick_kommun(world.deps, START + grace + timedelta(hours=1))
    [event] = world.published(AccountNoncompliant, account_id)
    assert {f.rule for f in event.data.findings} == {"P3.5", "P4.1"}


async def test_P3_5_a_password_in_the_deposit_location_is_refused(world: World) -> None:
    account_id = await _approved(world)
    officer = SIGNERS[SignRole.INFORMATION_OFFICER]

    def deposit(account: Any, *, at: datetime) -> Any:
        return accounts.deposit_credentials(
            account, "Kassaskåpet, lösenord: Hemligt123", START, officer, at
        )

    with pytest.raises(RuleViolations) as refused:
        await handlers.change_account(world.deps, account_id, deposit)
    [violation] = refused.value.violations
    assert (violation.field, violation.rule) == ("location", "P3.5")


async def test_P5_6_an_absence_that_has_begun_reviews_only_the_accounts_it_touches(
    world: World,
) -> None:
    admin = _plan()["administrators"][1]
    touched = await _approved(world)
    shared_with_bengt = await handlers.submit_plan(
        world.deps,
        _plan("norakommunkultur")
        | {
            "administrators": [
                admin | {"name": "Cilla Ceder", "email": "cilla.ceder@nora.example"},
                admin,
            ]
        },
        COMMUNICATOR,
    )
    untouched = await handlers.submit_plan(
        world.deps,
        _plan("norakommunidrott")
        | {
            "administrators": [
                admin | {"name": "Cilla Ceder", "email": "cilla.ceder@nora.example"},
                admin | {"name": "David Dahl", "email": "david.dahl@nora.example"},
            ]
        },
        COMMUNICATOR,
    )
    repo = world.deps.store.accounts
    read, real_get = [], repo.get

    async def get(account_id: str) -> Any:
        read.append(account_id)
        return await real_get(account_id)

    repo.get = get  # type: ignore[method-assign]
    world.clock.now = START + timedelta(minutes=5)
    for person in (ANNA, BENGT):
        absence = await handlers.register_absence(
            world.deps,
            person,
            START,
            START + timedelta(days=2),
            None,
            SIGNERS[SignRole.INFORMATION_OFFICER],
        )
        assert absence.state.value == "started", "it has begun: say so, not 'scheduled'"
    assert len(world.bus.of_type(AdminAbsent)) == 2
    [unattended] = world.published(AccountUnattended, touched)
    assert [p.email for p in unattended.data.absent] == [ANNA.email, BENGT.email]
    assert set(read) == {touched, shared_with_bengt.id}, "Anna's and Bengt's accounts only"
    assert untouched.id not in read


async def test_a_stale_write_is_decided_again_on_the_fresh_state(world: World) -> None:
    account = await handlers.submit_plan(world.deps, _plan(), COMMUNICATOR)
    repo = world.deps.store.accounts
    real_save, calls = repo.save, []

    async def save_once_stale(*args: Any, **kwargs: Any) -> int:
        calls.append(args)
        if len(calls) == 1:
            raise StaleWrite(account.id)
        return await real_save(*args, **kwargs)

    repo.save = save_once_stale  # type: ignore[method-assign]
    sign = partial(
        accounts.sign, role=SignRole.ADMINISTRATOR_1, by=SIGNERS[SignRole.ADMINISTRATOR_1]
    )
    signed = await handlers.change_account(world.deps, account.id, sign)
    assert len(calls) == 2
    assert [s.role for s in signed.signatures] == [SignRole.ADMINISTRATOR_1]


async def test_P5_7_a_profile_confirmed_before_the_notice_was_asked_is_confirmed_again(
    world: World,
) -> None:
    account_id = await _approved(world)
    officer, admin = SIGNERS[SignRole.INFORMATION_OFFICER], SIGNERS[SignRole.ADMINISTRATOR_1]
    deposit = partial(
        accounts.deposit_credentials, location="Kassaskåpet", deposited_at=START, by=officer
    )
    await handlers.change_account(world.deps, account_id, deposit)
    without_notice = dict.fromkeys(accounts.PROFILE_ITEMS, True)
    without_notice["posts_public_and_personal_data"] = False
    with pytest.raises(RuleViolations) as refused:
        await handlers.change_account(
            world.deps,
            account_id,
            partial(accounts.confirm_profile, checked=without_notice, by=admin),
        )
    assert [(v.field, v.rule) for v in refused.value.violations] == [("checklist", "P5.7")]
    everything = dict.fromkeys(accounts.PROFILE_ITEMS, True)
    active = await handlers.change_account(
        world.deps, account_id, partial(accounts.confirm_profile, checked=everything, by=admin)
    )
    assert active.state is State.ACTIVE
    assert active.profile is not None
    assert active.profile.items == accounts.PROFILE_ITEMS

    # A document stored before P5.7 joined the checklist has no items: it covered P4.1's.
    document = ACCOUNTS.to_document(active)
    del document["profile"]["items"]
    legacy = ACCOUNTS.from_document(document)
    assert legacy.profile is not None
    assert "posts_public_and_personal_data" not in legacy.profile.items
    assert [f.rule for f in compliance.findings(legacy, START, KOMMUN)] == ["P5.7"]
    assert compliance.findings(active, START, KOMMUN) == []
