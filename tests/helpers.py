"""Small helpers the test levels share."""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml

from shared.events import AccountCreated, AccountCreatedData
from shared.ids import new_id

ROOT = Path(__file__).resolve().parent.parent
# The complete example plan (B1) that `kanalvakt accounts submit` takes as it is.
EXAMPLE_PLAN: dict[str, Any] = yaml.safe_load((ROOT / "docs/examples/plan.yaml").read_text())


def plan_json(**changes: Any) -> dict[str, Any]:
    """The example plan as JSON would carry it, with changes."""
    plan = json.loads(json.dumps(EXAMPLE_PLAN, default=str)) | changes
    return plan


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 15.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not hold within {within}s")


def account_created(name: str = "norakommunnaringsliv") -> AccountCreated:
    account_id = new_id()
    return AccountCreated.new(
        subject=account_id,
        data=AccountCreatedData(
            account_id=account_id,
            name=name,
            platform="facebook",
            url=f"https://www.facebook.com/{name}",  # type: ignore[arg-type]
            department="Kommunstyrelseförvaltningen",
            unit="Näringsliv",
            purpose="Informera företagare om kommunens service",
            submitted_by="anna",
            removal_deadline_hours=48,
            answer_deadline_hours=24,
        ),
    )
