"""Small helpers the test levels share."""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import SecretStr

from shared.events import AccountCreated, AccountCreatedData
from shared.ids import new_id
from shared.kommun import KommunConfig, Kommuner, load_kommun_config
from shared.settings import ServiceName, Settings

ROOT = Path(__file__).resolve().parent.parent
# The local signing secret of every service a test builds in-process.
SECRET = "kanalvakt-test-secret-of-at-least-32-bytes"
# The reference configuration's kommun, which a one-kommun test service serves.
REFERENCE = ROOT / "shared/reference/kommun.yaml"
KOMMUN = "nora"
# The repository's config/: two kommuner, as `kanalvakt up` runs them by default.
CONFIG_DIR = ROOT / "config"


def kommun_config(kommun: str = KOMMUN) -> KommunConfig:
    """The reference configuration under the id `kommun` (and a name of its own)."""
    reference = load_kommun_config(REFERENCE)
    identity = reference.kommun.model_copy(update={"id": kommun, "name": f"{kommun} kommun"})
    return reference.model_copy(update={"kommun": identity})


def kommuner(*ids: str, default: str = "") -> Kommuner:
    """A deployment's kommuner in memory, each configured as the reference."""
    return Kommuner([kommun_config(k) for k in ids or (KOMMUN,)], default)


def service_settings(
    service: ServiceName, nats_url: str, mongodb_url: str, **changes: Any
) -> Settings:
    """A service on the test session's NATS and store, with a database of its own and
    the reference kommun; the scheduler left to the tests (they tick it with their clock)."""
    defaults: dict[str, Any] = {
        "mongodb_database": f"kvtest_{new_id().lower()}",
        "auth_secret": SecretStr(SECRET),
        "kommun_config": REFERENCE,
        "scheduler_interval_seconds": 3600,
    }
    return Settings(
        service=service, nats_url=nats_url, mongodb_url=mongodb_url, **(defaults | changes)
    )


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


def account_created(name: str = "norakommunnaringsliv", kommun: str = KOMMUN) -> AccountCreated:
    account_id = new_id()
    return AccountCreated.new(
        kommun,
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


async def settled_through(js: JetStreamContext, stream: str, durable: str, seq: int) -> bool:
    """Whether the durable consumer has settled (acknowledged or terminated) every message
    of `stream` up to sequence `seq`: whatever handling those caused, a dead letter
    included, has happened. Publish a marker after an action and wait for this with its
    sequence, and a check that something did not happen no longer depends on timing."""
    info = await js.consumer_info(stream, durable)
    return info.ack_floor is not None and info.ack_floor.stream_seq >= seq


async def read_to_end(
    js: JetStreamContext, subject: str, stream: str, wait: float = 10.0
) -> list[Msg]:
    """Every message on `subject` (wildcards allowed) that `stream` holds now, in order.

    The number is taken from the stream first and read to the last one, so a slow fetch
    is an error, never a shorter answer; a short fetch timeout cannot hide a message."""
    sub = await js.pull_subscribe(subject, stream=stream)
    try:
        info = await sub.consumer_info()
        want = info.num_pending or 0
        found: list[Msg] = []
        while len(found) < want:
            found += await sub.fetch(min(want - len(found), 500), timeout=wait)
        return found
    finally:
        await sub.unsubscribe()
