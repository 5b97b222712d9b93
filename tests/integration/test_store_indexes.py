"""The queries the services run per comment, or in every sweep, are answered from an
index by the store the suite runs on, so they do not grow with the collection (issue 13).

nx-27017 uses single-field indexes only: a query whose fields have only compound indexes
scans every document (README, "Store"). The comment storm showed it: the archive's read of
a new record's entries scanned the whole chain, once per comment, and the pipeline slowed
as the store filled (24.6 comments/s at 10,000 comments, 66 at 2,000).

Each test calls the store's own methods, records the `find` commands they send and asks
the store to explain each one; with MONGODB_URL set the same runs against MongoDB."""

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from services.archive.store import ArchiveStore
from services.moderation.store import ModerationStore
from services.notify.store import NotifyStore
from shared.clock import utcnow
from shared.ids import new_id
from shared.store import Document

# What an explained plan says when it reads an index (MongoDB: IXSCAN and the _id fast
# paths; nx-27017: SQLite's query plan) rather than every document.
INDEXED = ("IXSCAN", "IDHACK", "EXPRESS_", "USING INDEX", "USING PRIMARY KEY")


class Finds(monitoring.CommandListener):
    """The find commands sent while recording."""

    def __init__(self) -> None:
        self.recording = False
        self.sent: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.recording and event.command_name == "find":
            self.sent.append(
                {k: event.command[k] for k in ("find", "filter", "sort") if k in event.command}
            )

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def recorded(mongodb_url: str) -> AsyncIterator[tuple[AsyncDatabase[Document], Finds]]:
    finds = Finds()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        mongodb_url, tz_aware=True, event_listeners=[finds]
    )
    name = f"kvidx_{new_id().lower()}"
    try:
        yield client[name], finds
    finally:
        await client.drop_database(name)
        await client.close()


async def assert_indexed(
    db: AsyncDatabase[Document], finds: Finds, calls: list[Callable[[], Awaitable[object]]]
) -> None:
    """Fails naming each find command of the calls that the store answers by scanning."""
    scans = []
    for call in calls:
        finds.sent.clear()
        finds.recording = True
        await call()
        finds.recording = False
        assert finds.sent, f"{call} sent no find command"
        for find in finds.sent:
            plan = await db.command("explain", find, verbosity="queryPlanner")
            if not any(word in str(plan["queryPlanner"]) for word in INDEXED):
                scans.append(f"{find}\n  plan: {plan['queryPlanner'].get('winningPlan')}")
    assert not scans, "scans every document:\n" + "\n".join(scans)


async def test_issue_13_archive_reads_per_comment_and_sweep_use_an_index(
    recorded: tuple[AsyncDatabase[Document], Finds],
) -> None:
    db, finds = recorded
    store = ArchiveStore(db, "nora")
    await store.create_indexes()
    await assert_indexed(
        db,
        finds,
        [
            lambda: store.chain.of_record("01RECORD"),  # a new record's facts, per comment
            lambda: store.chain.by_event("01EVENT"),  # a fact delivered again
            lambda: store.records.repo.get("01RECORD"),
            lambda: store.diarium.of_record("01RECORD"),
            lambda: store.records.awaiting_registration(),  # sweeps, every five minutes
            lambda: store.snapshots.accounts(),
        ],
    )


async def test_issue_13_moderation_reads_per_comment_and_sweep_use_an_index(
    recorded: tuple[AsyncDatabase[Document], Finds],
) -> None:
    db, finds = recorded
    store = ModerationStore(db, "nora")
    await store.create_indexes()
    await assert_indexed(
        db,
        finds,
        [
            lambda: store.get("01ACCOUNT"),
            lambda: store.account_named("facebook", "norakommun"),
            lambda: store.comment("facebook-1"),
            lambda: store.hide_pending(),
            lambda: store.due_to_watch(utcnow()),
            lambda: store.queue(),
        ],
    )


async def test_issue_13_notify_sweeps_use_an_index(
    recorded: tuple[AsyncDatabase[Document], Finds],
) -> None:
    db, finds = recorded
    store = NotifyStore(db, "nora")
    await store.create_indexes()
    now = utcnow()
    await assert_indexed(
        db,
        finds,
        [
            lambda: store.notifications.due(now),
            lambda: store.waiting.open(),
            lambda: store.escalations.due(now + timedelta(minutes=1)),
        ],
    )
