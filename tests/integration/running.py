"""What every service harness offers: events published as their producers would, the
service's outboxes sent, and what it published or dead-lettered, read back."""

import json
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from nats.js import JetStreamContext

from shared.bus.streams import DLQ_STREAM, EVENTS_STREAM
from shared.events import Event
from tests.helpers import read_to_end


@dataclass
class Running:
    """A service running in the test's process, on real NATS and the store; the test's
    own kommun is nora."""

    client: httpx.AsyncClient
    app: FastAPI
    js: JetStreamContext

    async def publish(self, event: Event) -> Event:
        """Publish an event as its producer would (acknowledged, with its Nats-Msg-Id)."""
        await self.js.publish(
            event.address,
            event.model_dump_json().encode(),
            stream=EVENTS_STREAM,
            headers={"Nats-Msg-Id": event.id},
        )
        return event

    async def drain(self) -> None:
        for deps in self.app.state.deployment:
            for outbox in deps.store.outboxes():
                await outbox.sweep(deps.uow.publisher)

    async def events(self, subject: str, about: str) -> list[dict[str, Any]]:
        """Every event on `subject` of nora whose data names `about` (none means none
        was caused: the outboxes are sent first, then the stream read to its end)."""
        await self.drain()
        messages = await read_to_end(self.js, f"{subject}.nora", EVENTS_STREAM)
        return [json.loads(m.data) for m in messages if about.encode() in m.data]

    async def dead_letters(self, subject: str, about: bytes) -> list[tuple[dict[str, str], bytes]]:
        messages = await read_to_end(self.js, f"dlq.{subject}.nora", DLQ_STREAM)
        return [(dict(m.headers or {}), m.data) for m in messages if about in m.data]
