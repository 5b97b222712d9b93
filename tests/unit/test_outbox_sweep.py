"""The outbox sweep hurries while events are likely waiting (issue 13): during and just
after a NATS outage, the events of every request made meanwhile are sent within a pass
or two, not after the next ordinary pass."""

import asyncio
import contextlib

from shared.outbox import sweep_forever
from shared.unit_of_work import RecordingPublisher


class Passes:
    """An outbox that counts the sweep's passes; the first `failing` fail (NATS away)."""

    def __init__(self, failing: int = 0) -> None:
        self.failing = failing
        self.passes = 0
        self.enough = asyncio.Event()

    async def sweep(self, publisher: object) -> int:
        self.passes += 1
        if self.passes >= 3:
            self.enough.set()
        if self.passes <= self.failing:
            raise ConnectionError("nats: no servers available")
        return 0


async def _passes(outbox: Passes, hurry: bool) -> int:
    task = asyncio.create_task(
        sweep_forever([outbox], RecordingPublisher(), 3600.0, lambda: hurry)  # type: ignore[list-item]
    )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(outbox.enough.wait(), timeout=4.0)
    task.cancel()
    return outbox.passes


async def test_a_failed_pass_or_a_paused_publisher_brings_the_next_pass_soon() -> None:
    assert await _passes(Passes(failing=2), hurry=False) >= 3  # failed, failed, sent
    assert await _passes(Passes(), hurry=True) >= 3  # inline publishing paused lately
    assert await _passes(Passes(), hurry=False) == 1  # nothing waits: the next in an hour
