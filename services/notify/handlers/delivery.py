"""Sending what is due (owned by delivery). Contract: `deliver_forever(deployment)` is
the background task that sends due notifications, retries, digests."""

import asyncio
from typing import Any

from shared.service import Deployment


async def deliver_forever(deployment: Deployment[Any]) -> None:
    await asyncio.Event().wait()
