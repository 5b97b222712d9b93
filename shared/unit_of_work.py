"""One unit of work for every service: load → decide → save with its events → announce.

A domain step is a pure function from the stored state to a `Decision`: the new state
and the events it causes. The unit of work reads the state with its version, lets the
step decide, saves the new state and its events in one single-document write
(shared.outbox), then announces the events. A concurrent change makes the save stale:
the step is then run again on the fresh state, so the rules always judge what is stored.

Each write may carry a key (an event id, or an HTTP request's Idempotency-Key) that is
recorded in the same document: a redelivered event or a retried request finds its key
there and changes nothing, and a crash cannot leave one recorded without the other.

`InMemoryRepository` and `RecordingPublisher` are the same contract without NATS or a
store, for unit tests of use cases (cosmicpython's FakeUnitOfWork). They round-trip
every item through the same `Mapper` the store uses, so a mapping fault shows there too.
"""

import enum
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from time import monotonic
from typing import Any, Generic, Protocol, TypeVar

from pydantic import AnyUrl, TypeAdapter

from shared.events import Event
from shared.logs import OutageLog
from shared.rules import Conflict, violation

log = logging.getLogger("kanalvakt.unit_of_work")

T = TypeVar("T")
Document = dict[str, Any]

# What a domain step returns: the new state and the events it causes.
Decision = tuple[T, list[Event]]

ATTEMPTS = 5
# How many recent keys (event ids, request keys) a document remembers. A redelivery
# comes within JetStream's ack wait, a client's retry within minutes: far fewer changes
# than this happen to one document in between.
HANDLED_KEYS_KEPT = 64


class StaleWrite(Exception):
    """The document changed since it was read: read it again and redo the change."""


class NotFound(LookupError):
    """No document with this id; `field` names what the caller gave (for a 404)."""

    def __init__(self, field: str, item_id: str) -> None:
        super().__init__(f"{field}: {item_id!r} does not exist")
        self.field = field
        self.item_id = item_id


class AlreadyExists(Exception):
    """The add breaks a unique key: the id, or a unique field of the collection."""


@dataclass(frozen=True)
class Kept:
    """What a store keeps beside an item at one version, as read with it: its events not
    yet announced, the keys it was changed under, the request key it was added under.
    Every write changes the version, so a save onto that version need not read them
    again (issue 13: a read before every write)."""

    outbox: tuple[Any, ...]
    handled: tuple[str, ...]
    request_key: str | None


@dataclass(frozen=True)
class Versioned(Generic[T]):
    item: T
    version: int
    handled: tuple[str, ...] = ()
    kept: Kept | None = field(default=None, compare=False)  # None: a save reads it


def _plain(value: Any) -> Any:
    """Python values as BSON stores them: no tuples, sets, URLs, bare dates or times."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, AnyUrl):
        return str(value)
    if isinstance(value, datetime):
        return value
    if isinstance(value, date | time):
        return value.isoformat()
    return value


class Mapper(Generic[T]):
    """The one mapping between a domain object and its document: pydantic builds the
    object back from the document (ignoring the store's own fields), so dataclasses,
    enums and models need no hand-written code. The object's `id` is the `_id`."""

    def __init__(self, cls: type[T], derived: Callable[[T], Document] | None = None) -> None:
        self._adapter: TypeAdapter[T] = TypeAdapter(cls)
        # Query fields computed from the object, kept in step by every write.
        self._derived = derived

    def to_document(self, item: T) -> Document:
        doc: Document = _plain(self._adapter.dump_python(item, mode="python"))
        doc["_id"] = doc.pop("id")
        if self._derived is not None:
            doc |= _plain(self._derived(item))
        return doc

    def from_document(self, doc: Document) -> T:
        return self._adapter.validate_python(doc | {"id": doc["_id"]})


class Publisher(Protocol):
    async def publish(self, event: Event) -> Any: ...


class Repository(Protocol[T]):
    """Versioned documents that carry their own pending events."""

    async def get(self, item_id: str) -> Versioned[T] | None: ...

    async def add(
        self, item: T, events: Sequence[Event] = (), *, key: str | None = None
    ) -> Versioned[T]:
        """Insert; with `key`, an add already made under that key is returned instead.
        Raises AlreadyExists on any other unique key."""
        ...

    async def add_all(self, adds: Sequence[tuple[T, Sequence[Event]]]) -> list[bool]:
        """Insert many at once, each keyed by its id: for each, whether it was new."""
        ...

    async def save(
        self,
        item: T,
        version: int,
        events: Sequence[Event] = (),
        *,
        key: str | None = None,
        kept: Kept | None = None,
    ) -> int:
        """Replace if still at `version`, else StaleWrite; the new version. `kept`: what
        was read with that version (Versioned.kept), so the store need not read it."""
        ...

    async def announce(self, item_id: str, publisher: Publisher) -> None:
        """Publish the item's pending events and clear them."""
        ...

    async def announce_all(self, item_ids: Sequence[str], publisher: Publisher) -> None:
        """Publish these items' pending events and clear them, the items side by side."""
        ...


def remember(handled: Iterable[str], key: str | None) -> list[str]:
    kept = list(handled)
    if key is not None and key not in kept:
        kept.append(key)
    return kept[-HANDLED_KEYS_KEPT:]


class UnitOfWork:
    """Saves decisions and announces their events through one publisher.

    While the publisher is away (a NATS outage), requests do not wait for it: the events
    stay in the outbox for the sweep, inline announcing is tried again after a pause, and
    the log says so once when the outage starts and once when it ends.
    """

    # How long inline announcing pauses after a failure; the outbox sweep runs meanwhile.
    PAUSE_SECONDS = 10.0

    def __init__(
        self,
        publisher: Publisher,
        clock: Callable[[], float] = monotonic,
        outages: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError),
    ) -> None:
        self.publisher = publisher
        # Failures of the way to NATS or the store (shared.outbox.OUTAGES in a service):
        # they pause inline announcing; any other failure is the document's own.
        self._outages = outages
        self._monotonic = clock
        self._paused_until = 0.0  # inline announcing waits for the sweep until then
        self._outage = OutageLog(log, "publishing")

    def paused_lately(self, within: float) -> bool:
        """Inline announcing is paused, or was less than `within` seconds ago: events
        written meanwhile wait in the outbox (shared.outbox.sweep_forever hurries)."""
        return self._monotonic() < self._paused_until + within

    async def add(
        self,
        repo: Repository[T],
        item: T,
        events: Sequence[Event] = (),
        *,
        key: str | None = None,
    ) -> T:
        added = await repo.add(item, events, key=key)
        if events:  # what an earlier write left pending is the sweep's
            await self._announce(repo, [_id_of(added.item)])
        return added.item

    async def add_all(
        self, repo: Repository[T], adds: Sequence[tuple[T, Sequence[Event]]]
    ) -> list[bool]:
        """Many adds, each keyed by what caused it, in one write (a connector's batch):
        for each, whether it was new. Their events are announced together."""
        new = await repo.add_all(adds)
        announce = [
            _id_of(item)
            for (item, events), added in zip(adds, new, strict=True)
            if added and events
        ]
        if announce:
            await self._announce(repo, announce)
        return new

    async def add_once(self, repo: Repository[T], item: T, events: Sequence[Event] = ()) -> bool:
        """Add an item keyed by what caused it (an event id): False if it exists already."""
        try:
            await self.add(repo, item, events)
        except AlreadyExists:
            return False
        return True

    async def apply(
        self,
        repo: Repository[T],
        found: Versioned[T],
        decide: Callable[[T], Decision[T]],
        *,
        key: str | None = None,
    ) -> T:
        """One attempt on what was read; StaleWrite if it changed meanwhile."""
        if key is not None and key in found.handled:
            return found.item  # this event or request was applied already
        item, events = decide(found.item)
        if item == found.item and not events and key is None:
            return item
        await repo.save(item, found.version, events, key=key, kept=found.kept)
        if events:
            await self._announce(repo, [_id_of(item)])
        return item

    async def change(
        self,
        repo: Repository[T],
        item_id: str,
        decide: Callable[[T], Decision[T]],
        *,
        key: str | None = None,
        field: str = "id",
    ) -> T:
        """Load, decide, save and announce, again on a fresh read if the save was stale."""
        for _ in range(ATTEMPTS):
            found = await repo.get(item_id)
            if found is None:
                raise NotFound(field, item_id)
            try:
                return await self.apply(repo, found, decide, key=key)
            except StaleWrite:
                continue
        raise violation(
            field,
            "input",
            "Uppgiften ändrades samtidigt av någon annan; försök igen.",
            "it was changed by someone else at the same time; try again",
            Conflict,
        )

    async def _announce(self, repo: Repository[Any], item_ids: list[str]) -> None:
        # The events are saved with the state: if NATS is away, the outbox sweep sends
        # them later, so the caller's change stands.
        if self._monotonic() < self._paused_until:
            return
        try:
            if len(item_ids) == 1:
                await repo.announce(item_ids[0], self.publisher)
            else:
                await repo.announce_all(item_ids, self.publisher)
        except Exception as exc:
            if not isinstance(exc, self._outages):
                log.exception("events of %s cannot be announced; they stay queued", item_ids)
                return
            self._outage.failed(
                exc,
                f"events stay in the outbox for the sweep; inline again every "
                f"{self.PAUSE_SECONDS:.0f}s",
            )
            self._paused_until = self._monotonic() + self.PAUSE_SECONDS
            return
        self._outage.works()


def _id_of(item: Any) -> str:
    return str(item.id)


# In memory: the same contract for unit tests.


@dataclass
class RecordingPublisher:
    """Publishes into a list, in order."""

    published: list[Event] = field(default_factory=list)

    async def publish(self, event: Event) -> None:
        self.published.append(event)

    def of_type(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.published if isinstance(e, kind)]


class InMemoryRepository(Generic[T]):
    """One kommun's items, as shared.store.MongoRepository keeps them."""

    def __init__(
        self, mapper: Mapper[T], kommun: str, unique: Callable[[T], Any] | None = None
    ) -> None:
        self._mapper = mapper
        self.kommun = kommun
        self._unique = unique  # a second unique key, like a unique index
        self._docs: dict[str, Document] = {}

    def _document(self, item: T) -> Document:
        doc = self._mapper.to_document(item)
        if doc.get("kommun") != self.kommun:
            raise ValueError(f"{doc['_id']} is not kommun {self.kommun!r}'s")
        return doc

    async def get(self, item_id: str) -> Versioned[T] | None:
        doc = self._docs.get(item_id)
        if doc is None:
            return None
        return Versioned(
            self._mapper.from_document(doc), doc["version"], tuple(doc.get("handled", ()))
        )

    async def add(
        self, item: T, events: Sequence[Event] = (), *, key: str | None = None
    ) -> Versioned[T]:
        doc = self._document(item)
        if key is not None:
            for existing in self._docs.values():
                if existing.get("request_key") == key:
                    return Versioned(self._mapper.from_document(existing), existing["version"])
        if doc["_id"] in self._docs or self._taken(item, doc["_id"]):
            raise AlreadyExists(doc["_id"])
        self._docs[doc["_id"]] = doc | {
            "version": 1,
            "outbox": list(events),
            "handled": [],
            "request_key": key or doc["_id"],
        }
        return Versioned(item, 1)

    async def add_all(self, adds: Sequence[tuple[T, Sequence[Event]]]) -> list[bool]:
        new = []
        for item, events in adds:
            try:
                await self.add(item, events)
            except AlreadyExists:
                new.append(False)
            else:
                new.append(True)
        return new

    async def save(
        self,
        item: T,
        version: int,
        events: Sequence[Event] = (),
        *,
        key: str | None = None,
        kept: Kept | None = None,  # a dict needs no saving of reads
    ) -> int:
        doc = self._document(item)
        current = self._docs.get(doc["_id"])
        if current is None or current["version"] != version:
            raise StaleWrite(doc["_id"])
        if self._taken(item, doc["_id"]):
            raise AlreadyExists(doc["_id"])
        self._docs[doc["_id"]] = doc | {
            "version": version + 1,
            "outbox": [*current["outbox"], *events],
            "handled": remember(current["handled"], key),
            "request_key": current["request_key"],
        }
        return version + 1

    async def announce(self, item_id: str, publisher: Publisher) -> None:
        doc = self._docs.get(item_id)
        while doc and doc["outbox"]:
            await publisher.publish(doc["outbox"][0])
            doc["outbox"].pop(0)

    async def announce_all(self, item_ids: Sequence[str], publisher: Publisher) -> None:
        for item_id in item_ids:
            await self.announce(item_id, publisher)

    def items(self) -> list[T]:
        return [self._mapper.from_document(d) for d in self._docs.values()]

    def _taken(self, item: T, item_id: str) -> bool:
        if self._unique is None:
            return False
        value = self._unique(item)
        return any(
            self._unique(self._mapper.from_document(d)) == value
            for i, d in self._docs.items()
            if i != item_id
        )
