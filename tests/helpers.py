"""Small helpers the test levels share."""

import asyncio
import time
from collections.abc import Awaitable, Callable

from shared.events import AccountCreated, AccountCreatedData
from shared.ids import new_id

# A registration as a communicator submits it (B1 items 1–4).
REGISTRATION = {
    "name": "norakommunnaringsliv",
    "platform": "facebook",
    "url": "https://www.facebook.com/norakommunnaringsliv",
    "department": "Kommunstyrelseförvaltningen",
    "unit": "Näringsliv",
    "purpose": "Informera företagare om kommunens service",
}


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
        ),
    )
