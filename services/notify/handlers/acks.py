"""Acknowledgements and the ladder (owned by acks). Contract: `climb_forever(deployment)`
is the background task that tells the next level of unacknowledged escalations."""

import asyncio
from typing import Any

from shared.service import Deployment


async def climb_forever(deployment: Deployment[Any]) -> None:
    await asyncio.Event().wait()
