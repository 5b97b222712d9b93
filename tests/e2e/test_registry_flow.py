"""Issue 3's proof, from a terminal: the example plan is submitted with the CLI, signed
by four different people, gets its credentials and profile and becomes active; then both
administrators go away without a substitute and the account is announced unattended.
Every step is checked on the bus."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import nats

from shared.bus.streams import EVENTS_STREAM
from shared.clock import utcnow
from shared.principal import Role
from tests.e2e.conftest import System
from tests.helpers import ROOT, eventually

DEPARTMENT = "Kommunstyrelseförvaltningen"


def run_cli(
    system: System, token: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"KANALVAKT_REGISTRY_URL": system.urls["registry"], "KANALVAKT_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "kanalvakt", *args],
        input=stdin,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def kanalvakt(system: System, token: str, *args: str) -> str:
    done = run_cli(system, token, *args)
    assert done.returncode == 0, f"kanalvakt {' '.join(args)}: {done.stderr}"
    return done.stdout


async def _events(nats_url: str, account_id: str) -> list[tuple[str, dict[str, Any]]]:
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().pull_subscribe(">", stream=EVENTS_STREAM)
        found = []
        try:
            while True:
                found += await sub.fetch(500, timeout=0.5)
        except TimeoutError:
            pass
        # By the event's name: the subject without its kommun (`account.created.nora`).
        events = [(m.subject.rpartition(".")[0], json.loads(m.data)) for m in found]
        return [(s, e) for s, e in events if account_id in json.dumps(e["data"])]
    finally:
        await nc.close()


def test_refused_plan_is_explained_in_swedish(system: System) -> None:
    token = system.token(Role.COMMUNICATOR, sub="cecilia")
    text = (ROOT / "docs/examples/plan.yaml").read_text(encoding="utf-8")
    text = text.replace("handle: norakommunnaringsliv", "handle: norakm")
    done = run_cli(system, token, "accounts", "submit", "/dev/stdin", stdin=text)
    assert done.returncode == 1
    assert "handle: Kontonamnet 'norakm' förkortar kommunens namn" in done.stderr
    assert "(P4.2)" in done.stderr


async def test_from_plan_to_active_account_and_unattended(system: System) -> None:
    communicator = system.token(Role.COMMUNICATOR, sub="cecilia")
    submitted = kanalvakt(system, communicator, "accounts", "submit", "docs/examples/plan.yaml")
    account_id, state = submitted.split()
    assert state == "submitted"

    signers = {
        "administrator_1": system.token(
            Role.ADMINISTRATOR, sub="anna", email="anna.andersson@nora.example"
        ),
        "administrator_2": system.token(
            Role.ADMINISTRATOR, sub="bengt", email="bengt.berg@nora.example"
        ),
        "department_head": system.token(Role.DEPARTMENT_HEAD, sub="dora", department=DEPARTMENT),
        "information_officer": system.token(Role.INFORMATION_OFFICER, sub="kommunchef"),
    }
    for role, token in signers.items():
        out = kanalvakt(system, token, "accounts", "sign", account_id, "--as", role)
    assert f"{account_id} approved" in out

    kanalvakt(
        system,
        signers["information_officer"],
        "accounts",
        "deposit",
        account_id,
        "--location",
        "Kassaskåpet, kommunledningskontoret",
        "--at",
        utcnow().isoformat(),
    )
    out = kanalvakt(system, signers["administrator_1"], "accounts", "profile", account_id)
    assert out.split() == [account_id, "active"]

    listed = kanalvakt(system, communicator, "accounts", "list", "--state", "active")
    assert account_id in listed
    assert "norakommunnaringsliv" in listed

    now = utcnow()
    manager = system.token(Role.UNIT_HEAD, sub="naringslivschef")
    for name, email in (
        ("Anna Andersson", "anna.andersson@nora.example"),
        ("Bengt Berg", "bengt.berg@nora.example"),
    ):
        kanalvakt(
            system,
            manager,
            "absences",
            "add",
            "--name",
            name,
            "--email",
            email,
            "--from",
            (now - timedelta(minutes=1)).isoformat(),
            "--to",
            (now + timedelta(days=7)).isoformat(),
        )

    async def unattended() -> bool:
        subjects = [s for s, _ in await _events(system.nats_url, account_id)]
        return "account.unattended" in subjects

    await eventually(unattended, what="account.unattended on the bus")
    events = await _events(system.nats_url, account_id)
    subjects = [s for s, _ in events]
    for expected in (
        "account.created",
        "account.approved",
        "account.activated",
        "admin.absent",
        "account.unattended",
    ):
        assert expected in subjects, f"{expected} missing from {subjects}"
    assert subjects.count("admin.absent") == 2
    assert (
        subjects.index("account.created")
        < subjects.index("account.approved")
        < subjects.index("account.activated")
        < subjects.index("account.unattended")
    )
    [(_, event)] = [(s, e) for s, e in events if s == "account.unattended"]
    assert event["data"]["escalate_to"][0]["role"] == "enhetschef"
    approved = next(e for s, e in events if s == "account.approved")
    assert len({s["name"] for s in approved["data"]["signatures"]}) == 4, "four different signers"
