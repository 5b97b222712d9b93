"""MongoDB plumbing shared by the services' stores (PyMongo's native async API).

Kept to query shapes that real MongoDB and the local nx-27017 answer alike:
string ids, single-document atomic writes, no transactions (README, "Store").

Every document belongs to one kommun (its `kommun` field) and a repository serves one
kommun: each query it makes filters by it, and it refuses to write another's document.
So an id of another kommun's is simply not found (a 404, never a 403 that reveals it).
"""

from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Generic

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from shared.events import Event
from shared.metrics import STORE_COMMANDS
from shared.outbox import PENDING, Outbox, entries
from shared.unit_of_work import (
    AlreadyExists,
    Document,
    Kept,
    Mapper,
    Publisher,
    StaleWrite,
    T,
    Versioned,
    remember,
)

__all__ = ["Document", "HandledMarks", "MongoRepository", "connect", "ping"]

# A request to the store that takes longer than this fails, so an HTTP request answers
# 503 in bounded time instead of hanging while the store is frozen (shared.http).
OPERATION_TIMEOUT_SECONDS = 5.0
# The server's code for a write refused by a unique index.
DUPLICATE_KEY = 11000


# Commands counted by name; any other (handshakes, sessions) is `other`, so the
# label stays bounded.
COUNTED_COMMANDS = frozenset(
    {"find", "getMore", "aggregate", "count", "distinct", "insert", "update", "delete"}
    | {"findAndModify", "createIndexes", "ping"}
)


class CommandCounter(monitoring.CommandListener):
    """kanalvakt_store_commands_total for one service (PyMongo command monitoring)."""

    def __init__(self, service: str) -> None:
        self._service = service

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name if event.command_name in COUNTED_COMMANDS else "other"
        STORE_COMMANDS.labels(self._service, name).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def count(collection: AsyncCollection[Document], query: Document) -> int:
    """Documents matching `query`, counted by the store's `count` command. Not PyMongo's
    count_documents: an aggregation, which nx-27017 answers by reading every document of
    the collection in one go (2 s for 15,000 cases, every service's writes waiting)."""
    answer = await collection.database.command("count", collection.name, query=query)
    return int(answer["n"])


def connect(url: str, timeout_ms: int = 10_000, service: str = "") -> AsyncMongoClient[Document]:
    """A client; with `service`, its commands are counted under that name."""
    return AsyncMongoClient(
        url,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        timeoutMS=int(OPERATION_TIMEOUT_SECONDS * 1000),
        appname="kanalvakt",
        event_listeners=[CommandCounter(service)] if service else [],
    )


async def ping(db: AsyncDatabase[Document]) -> bool:
    try:
        await db.command("ping")
    except PyMongoError:
        return False
    return True


def _kept(doc: Document) -> Kept | None:
    """What a document keeps beside its item, when it was read whole (a projection that
    left these out says nothing of them: a save then reads them)."""
    if "outbox" not in doc or "handled" not in doc:
        return None
    return Kept(tuple(doc["outbox"] or ()), tuple(doc["handled"] or ()), doc.get("request_key"))


class MongoRepository(Generic[T]):
    """A collection of versioned documents, each carrying its pending events (outbox).

    Writes replace the whole document, conditional on the version read: nx-27017 stores
    a top-level datetime written by $set as text and pushed subdocuments as strings
    (README, "Store"), and the version makes concurrent writers safe without transactions.
    """

    def __init__(
        self,
        collection: AsyncCollection[Document],
        mapper: Mapper[T],
        kommun: str,
        *,
        request_keys: bool = False,
    ) -> None:
        self.collection = collection
        self.mapper = mapper
        self.kommun = kommun
        self.outbox = Outbox(collection, kommun)
        # Adds made by HTTP requests may carry an Idempotency-Key: a unique index on it.
        # Collections written only by handlers are keyed by the event id and need none.
        self.request_keys = request_keys

    async def create_indexes(self) -> None:
        await self.outbox.create_indexes()
        if self.request_keys:
            # Always written (the id when no key was given): nx-27017 answers wrongly for
            # missing fields under a unique index (README, "Store"). Per kommun: two
            # kommuner's callers may choose the same key.
            await self.collection.create_index([("kommun", 1), ("request_key", 1)], unique=True)

    def scoped(self, query: Document) -> Document:
        """The query, narrowed to this repository's kommun."""
        return {**query, "kommun": self.kommun}

    def versioned(self, doc: Document) -> Versioned[T]:
        handled = tuple(doc.get("handled") or ())
        return Versioned(self.mapper.from_document(doc), int(doc["version"]), handled, _kept(doc))

    async def get(self, item_id: str) -> Versioned[T] | None:
        doc = await self.collection.find_one(self.scoped({"_id": item_id}))
        return self.versioned(doc) if doc else None

    async def find(
        self, query: Document, sort: str = "_id", limit: int = 0, *, newest_first: bool = False
    ) -> list[Versioned[T]]:
        order = DESCENDING if newest_first else ASCENDING
        cursor = self.collection.find(self.scoped(query)).sort(sort, order).limit(limit)
        return [self.versioned(doc) async for doc in cursor]

    async def find_ids(self, query: Document) -> list[str]:
        cursor = self.collection.find(self.scoped(query), {"_id": 1})
        return [doc["_id"] async for doc in cursor]

    async def count(self, query: Document) -> int:
        return await count(self.collection, self.scoped(query))

    def _document(self, item: T) -> Document:
        doc = self.mapper.to_document(item)
        if doc.get("kommun") != self.kommun:  # a bug, never input: refuse loudly
            raise ValueError(
                f"{self.collection.name}: {doc['_id']} is kommun {doc.get('kommun')!r}'s, "
                f"not {self.kommun!r}'s: every item carries the kommun it is stored for"
            )
        return doc

    async def add(
        self, item: T, events: Sequence[Event] = (), *, key: str | None = None
    ) -> Versioned[T]:
        if key is not None and not self.request_keys:
            raise ValueError(f"{self.collection.name} takes no request keys")
        doc = self._document(item)
        pending = entries(events)
        doc |= {"version": 1, "outbox": pending, "handled": []}
        if self.request_keys:
            doc["request_key"] = key or doc["_id"]
        if pending:
            doc[PENDING] = True
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            scope = self.scoped({"request_key": key})
            if key is not None and (first := await self.collection.find_one(scope)):
                return self.versioned(first)  # the same request again: its first result
            raise AlreadyExists(doc["_id"]) from None
        self.outbox.written(doc["_id"], 1, pending)
        return Versioned(item, 1, kept=_kept(doc))

    async def add_all(self, adds: Sequence[tuple[T, Sequence[Event]]]) -> list[bool]:
        """Insert many in one unordered write, each keyed by its id: for each, whether
        it was new (False: its id is taken, a repeated delivery say)."""
        docs = []
        for item, events in adds:
            doc = self._document(item)
            pending = entries(events)
            doc |= {"version": 1, "outbox": pending, "handled": []}
            if self.request_keys:
                doc["request_key"] = doc["_id"]
            if pending:
                doc[PENDING] = True
            docs.append(doc)
        taken: set[int] = set()
        try:
            await self.collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors") or []
            if not errors or any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            taken = {int(e["index"]) for e in errors}
        for i, doc in enumerate(docs):
            if i not in taken:
                self.outbox.written(doc["_id"], 1, doc["outbox"])
        return [i not in taken for i in range(len(docs))]

    async def save(
        self,
        item: T,
        version: int,
        events: Sequence[Event] = (),
        *,
        key: str | None = None,
        kept: Kept | None = None,
    ) -> int:
        doc = self._document(item)
        if kept is None:  # not read with the version: read it now
            current = await self.collection.find_one(
                self.scoped({"_id": doc["_id"], "version": version}),
                {"outbox": 1, "handled": 1, "request_key": 1},
            )
            if current is None:
                raise StaleWrite(doc["_id"])
            kept = Kept(
                tuple(current.get("outbox") or ()),
                tuple(current.get("handled") or ()),
                current.get("request_key"),
            )
        pending = list(kept.outbox) + entries(events)
        doc |= {"version": version + 1, "outbox": pending, "handled": remember(kept.handled, key)}
        if self.request_keys:
            doc["request_key"] = kept.request_key or doc["_id"]
        if pending:
            doc[PENDING] = True
        try:
            result = await self.collection.replace_one(
                self.scoped({"_id": doc["_id"], "version": version}), doc
            )
        except DuplicateKeyError:
            raise AlreadyExists(doc["_id"]) from None
        if result.matched_count == 0:
            raise StaleWrite(doc["_id"])
        self.outbox.written(doc["_id"], version + 1, pending)
        return version + 1

    async def announce(self, item_id: str, publisher: Publisher) -> None:
        await self.outbox.flush(item_id, publisher)

    async def announce_all(self, item_ids: Sequence[str], publisher: Publisher) -> None:
        await self.outbox.flush_all(item_ids, publisher)


class HandledMarks:
    """Event ids each consumer has handled, for handlers whose effect is not one
    document (the others record the id in their own write; shared.unit_of_work).

    A plain index and a purge the service runs on its own schedule, not a TTL index:
    nx-27017 purges expired documents on every find of a TTL-indexed collection, which
    made the consume path slow down with every event handled (bench/consume.py).
    """

    # Longer than anything that redelivers an event: JetStream's ack wait and the
    # outbox's re-send after an outage are minutes to hours, not days.
    KEPT = timedelta(days=7)

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._coll = db["handled_events"]

    async def create_indexes(self) -> None:
        await self._coll.create_index("handled_at")

    async def seen(self, consumer: str, event: Event) -> bool:
        mark = {"_id": f"{consumer}:{event.id}", "kommun": event.kommun}
        return await self._coll.find_one(mark, {"_id": 1}) is not None

    async def mark(self, consumer: str, event: Event, at: datetime) -> None:
        mark = {"_id": f"{consumer}:{event.id}", "kommun": event.kommun, "handled_at": at}
        with suppress(DuplicateKeyError):  # marked by a concurrent copy: the same fact
            await self._coll.insert_one(mark)

    async def purge(self, now: datetime) -> int:
        result = await self._coll.delete_many({"handled_at": {"$lt": now - self.KEPT}})
        return int(result.deleted_count)
