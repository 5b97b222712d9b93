"""Every query shape the services rely on, against the test store (nx-27017) or, with
MONGODB_URL set, real MongoDB, unchanged. A difference between the two fails here.

README, "Store", lists the shapes nx-27017 answers wrongly; the services avoid them and
the tests below pin the alternatives they use instead.
"""

from datetime import UTC, datetime, timedelta

import pytest
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.notify.store.notifications import epoch_ms
from shared.clock import utcnow
from shared.store import Document, HandledMarks, count
from tests.helpers import account_created


async def test_string_id_insert_find_and_duplicate(db: AsyncDatabase[Document]) -> None:
    coll = db["c"]
    await coll.insert_one({"_id": "01A", "n": 1})
    assert await coll.find_one({"_id": "01A"}) == {"_id": "01A", "n": 1}
    with pytest.raises(DuplicateKeyError):
        await coll.insert_one({"_id": "01A", "n": 2})
    assert (await coll.find_one({"_id": "01A"}))["n"] == 1  # type: ignore[index]


async def test_string_id_cursor_pages_by_greater_than(db: AsyncDatabase[Document]) -> None:
    # The register's pages: {_id: {$gt: last}} sorted by _id (services.registry.store).
    coll = db["pages"]
    for i in range(7):
        await coll.insert_one({"_id": f"01H{i:03d}", "state": "active" if i % 2 else "closed"})
    query = {"state": {"$in": ["active"]}, "_id": {"$gt": "01H001"}}
    page = [d["_id"] async for d in coll.find(query).sort("_id", ASCENDING).limit(2)]
    assert page == ["01H003", "01H005"]


async def test_unique_request_key_always_written(db: AsyncDatabase[Document]) -> None:
    # Idempotency-Key (shared.store.MongoRepository): a unique field that every document
    # carries (its own id when no key was given), so no document lacks it.
    coll = db["keyed"]
    await coll.create_index("request_key", unique=True)
    await coll.insert_one({"_id": "a", "request_key": "a"})
    await coll.insert_one({"_id": "b", "request_key": "POST /accounts k1"})
    with pytest.raises(DuplicateKeyError):
        await coll.insert_one({"_id": "c", "request_key": "POST /accounts k1"})
    first = await coll.find_one({"request_key": "POST /accounts k1"})
    assert first is not None
    assert first["_id"] == "b"


async def test_unique_compound_index(db: AsyncDatabase[Document]) -> None:
    coll = db["accounts"]
    await coll.create_index([("platform", ASCENDING), ("name_key", ASCENDING)], unique=True)
    await coll.insert_one({"_id": "1", "platform": "facebook", "name_key": "nora"})
    await coll.insert_one({"_id": "2", "platform": "instagram", "name_key": "nora"})
    with pytest.raises(DuplicateKeyError):
        await coll.insert_one({"_id": "3", "platform": "facebook", "name_key": "nora"})


async def test_tz_aware_datetimes_round_trip_to_the_millisecond(
    db: AsyncDatabase[Document],
) -> None:
    coll = db["t"]
    now = utcnow()
    await coll.insert_one({"_id": "x", "at": now})
    back = (await coll.find_one({"_id": "x"}))["at"]  # type: ignore[index]
    assert back == now
    assert back.utcoffset() is not None


async def test_equality_filter_sort_and_limit(db: AsyncDatabase[Document]) -> None:
    coll = db["records"]
    await coll.create_index([("account_id", ASCENDING), ("recorded_at", ASCENDING)])
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(5):
        await coll.insert_one(
            {
                "_id": f"r{i}",
                "account_id": "a" if i % 2 == 0 else "b",
                "recorded_at": base.replace(day=i + 1),
            }
        )
    found = [d["_id"] async for d in coll.find({"account_id": "a"}).sort("recorded_at", DESCENDING)]
    assert found == ["r4", "r2", "r0"]
    first_two = [d["_id"] async for d in coll.find({}).sort("_id", ASCENDING).limit(2)]
    assert first_two == ["r0", "r1"]
    assert await coll.count_documents({"account_id": "b"}) == 2


async def test_top_level_projection(db: AsyncDatabase[Document]) -> None:
    coll = db["p"]
    await coll.insert_one({"_id": "1", "outbox": [{"subject": "s"}], "other": 1})
    assert await coll.find_one({"_id": "1"}, {"outbox": 1}) == {
        "_id": "1",
        "outbox": [{"subject": "s"}],
    }


async def test_upsert_set_on_insert_keeps_the_first(db: AsyncDatabase[Document]) -> None:
    coll = db["u"]
    first = await coll.update_one({"_id": "k"}, {"$setOnInsert": {"v": 1}}, upsert=True)
    second = await coll.update_one({"_id": "k"}, {"$setOnInsert": {"v": 2}}, upsert=True)
    assert first.upserted_id == "k"
    assert second.upserted_id is None
    assert (await coll.find_one({"_id": "k"}))["v"] == 1  # type: ignore[index]


async def test_outbox_shapes_pull_by_nested_field_and_empty_array_by_size(
    db: AsyncDatabase[Document],
) -> None:
    coll = db["o"]
    await coll.create_index("outbox_pending")
    await coll.insert_one(
        {
            "_id": "a",
            "outbox": [{"event": {"id": "1"}}, {"event": {"id": "2"}}],
            "outbox_pending": True,
        }
    )
    await coll.update_one({"_id": "a"}, {"$pull": {"outbox": {"event.id": "1"}}})
    assert (await coll.find_one({"_id": "a"}))["outbox"] == [{"event": {"id": "2"}}]  # type: ignore[index]
    not_empty = await coll.update_one(
        {"_id": "a", "outbox": {"$size": 0}}, {"$unset": {"outbox_pending": ""}}
    )
    assert not_empty.matched_count == 0
    assert [d["_id"] async for d in coll.find({"outbox_pending": True})] == ["a"]
    await coll.update_one({"_id": "a"}, {"$pull": {"outbox": {"event.id": "2"}}})
    emptied = await coll.update_one(
        {"_id": "a", "outbox": {"$size": 0}}, {"$unset": {"outbox_pending": ""}}
    )
    assert emptied.matched_count == 1
    assert [d async for d in coll.find({"outbox_pending": True})] == []
    assert "outbox_pending" not in (await coll.find_one({"_id": "a"}) or {})


async def test_outbox_cleared_in_one_versioned_update_and_pulled_by_a_list_of_ids(
    db: AsyncDatabase[Document],
) -> None:
    # shared.outbox: clear everything sent if the version is unchanged; else pull by ids.
    coll = db["o2"]
    entries = [{"event": {"id": "1"}}, {"event": {"id": "2"}}, {"event": {"id": "3"}}]
    await coll.insert_one({"_id": "a", "version": 1, "outbox": entries, "outbox_pending": True})
    stale = await coll.update_one(
        {"_id": "a", "version": 0},
        {"$set": {"outbox": []}, "$unset": {"outbox_pending": ""}, "$inc": {"version": 1}},
    )
    assert stale.matched_count == 0
    await coll.update_one(
        {"_id": "a"},
        {"$pull": {"outbox": {"event.id": {"$in": ["1", "3"]}}}, "$inc": {"version": 1}},
    )
    doc = await coll.find_one({"_id": "a"})
    assert doc is not None
    assert (doc["outbox"], doc["version"]) == ([{"event": {"id": "2"}}], 2)
    cleared = await coll.update_one(
        {"_id": "a", "version": 2},
        {"$set": {"outbox": []}, "$unset": {"outbox_pending": ""}, "$inc": {"version": 1}},
    )
    assert cleared.matched_count == 1
    doc = await coll.find_one({"_id": "a"})
    assert doc == {"_id": "a", "version": 3, "outbox": []}
    assert [d["_id"] async for d in coll.find({"outbox": {"$size": 0}})] == ["a"]
    assert [d async for d in coll.find({"outbox_pending": True})] == []
    await coll.replace_one({"_id": "a", "version": 3}, {"version": 4, "outbox": entries})
    assert (await coll.find_one({"_id": "a"}))["outbox"] == entries  # type: ignore[index]


async def test_boolean_set_by_update_matches_a_boolean_query(db: AsyncDatabase[Document]) -> None:
    # What the services rely on: the query. (nx-27017 reads the value back as 1, so no
    # service compares a read-back flag with `is True`; README, "Store".)
    coll = db["b"]
    await coll.insert_one({"_id": "a", "flag": False})
    await coll.update_one({"_id": "a"}, {"$set": {"flag": True}})
    assert [d["_id"] async for d in coll.find({"flag": True})] == ["a"]
    assert [d async for d in coll.find({"flag": False})] == []


async def test_handled_marks_without_ttl_purged_by_a_range_delete(
    db: AsyncDatabase[Document],
) -> None:
    marks = HandledMarks(db)
    await marks.create_indexes()
    now = utcnow()
    e1, e2 = account_created(), account_created()
    assert not await marks.seen("c1", e1)
    await marks.mark("c1", e1, now - timedelta(days=8))
    await marks.mark("c1", e1, now)  # a concurrent copy: no error
    await marks.mark("c1", e2, now)
    assert await marks.seen("c1", e1)
    assert not await marks.seen("c2", e1)
    # No TTL index: nx-27017 would purge on every find (shared.store.HandledMarks).
    indexes = [ix async for ix in await db["handled_events"].list_indexes()]
    assert not [ix for ix in indexes if "expireAfterSeconds" in ix]
    assert await marks.purge(now) == 1
    assert not await marks.seen("c1", e1)
    assert await marks.seen("c1", e2)


async def test_aggregate_group_count(db: AsyncDatabase[Document]) -> None:
    coll = db["g"]
    for i, state in enumerate(["active", "active", "submitted"]):
        await coll.insert_one({"_id": str(i), "state": state})
    cursor = await coll.aggregate([{"$group": {"_id": "$state", "n": {"$sum": 1}}}])
    counts = {d["_id"]: d["n"] async for d in cursor}
    assert counts == {"active": 2, "submitted": 1}


async def test_registry_query_shapes(db: AsyncDatabase[Document]) -> None:
    """Array membership, $in, $or of ranges, $ne, two-key sort, versioned $set + $inc."""
    coll = db["shapes"]
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    day = timedelta(days=1)
    await coll.insert_one(
        {
            "_id": "a",
            "admins": ["p@x.se", "q@x.se"],
            "state": "scheduled",
            "version": 1,
            "starts_at": now,
            "ends_at": now + day,
        }
    )
    await coll.insert_one(
        {
            "_id": "b",
            "admins": ["q@x.se"],
            "state": "started",
            "version": 1,
            "starts_at": now - 2 * day,
            "ends_at": now - day,
        }
    )
    await coll.create_index([("admins", ASCENDING)])  # multikey, as the registry has it
    assert [d["_id"] async for d in coll.find({"admins": {"$in": ["p@x.se"]}})] == ["a"]
    found = {d["_id"] async for d in coll.find({"admins": {"$in": ["q@x.se", "z@x.se"]}})}
    assert found == {"a", "b"}
    due = coll.find(
        {
            "$or": [
                {"state": "scheduled", "starts_at": {"$lte": now}},
                {"state": "started", "ends_at": {"$lte": now}},
            ]
        }
    )
    assert {d["_id"] async for d in due} == {"a", "b"}
    assert [d["_id"] async for d in coll.find({"ends_at": {"$gt": now}})] == ["a"]
    assert [d["_id"] async for d in coll.find({"state": {"$ne": "started"}})] == ["a"]
    ordered = coll.find({}).sort([("state", ASCENDING), ("_id", ASCENDING)])
    assert [d["_id"] async for d in ordered] == ["a", "b"]
    entries = [{"subject": "s", "event": {"id": "1"}}, {"subject": "s", "event": {"id": "2"}}]
    later = now + 3 * day
    replaced = await coll.replace_one(
        {"_id": "b", "version": 1},
        {
            "admins": ["q@x.se"],
            "state": "ended",
            "version": 2,
            "ends_at": later,
            "flag": True,
            "outbox": entries,
        },
    )
    assert replaced.matched_count == 1
    stale = await coll.replace_one({"_id": "b", "version": 1}, {"state": "x", "version": 2})
    assert stale.matched_count == 0
    doc = await coll.find_one({"_id": "b"})
    assert doc is not None
    assert doc["version"] == 2
    assert doc["ends_at"] == later, "a replaced datetime stays a datetime"
    assert doc["flag"] is True
    assert doc["outbox"] == entries, "an array of subdocuments stays subdocuments"
    assert [d["_id"] async for d in coll.find({"ends_at": {"$gt": now + 2 * day}})] == ["b"]
    await coll.update_one(
        {"_id": "b"}, {"$pull": {"outbox": {"event.id": "1"}}, "$inc": {"version": 1}}
    )
    doc = await coll.find_one({"_id": "b"})
    assert doc is not None
    assert doc["version"] == 3
    assert doc["outbox"] == entries[1:]


async def test_kommun_scoped_shapes(db: AsyncDatabase[Document]) -> None:
    """Issue 8: every query carries the kommun beside its own filter (shared.store), and
    unique indexes lead with it, so two kommuner may hold the same key or name."""
    coll = db["scoped"]
    await coll.create_index([("kommun", ASCENDING), ("request_key", ASCENDING)], unique=True)
    await coll.create_index(
        [("kommun", ASCENDING), ("platform", ASCENDING), ("name_key", ASCENDING)], unique=True
    )
    await coll.create_index([("kommun", ASCENDING), ("admin_keys", ASCENDING)])
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    for _id, kommun in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        await coll.insert_one(
            {
                "_id": _id,
                "kommun": kommun,
                "request_key": "anna POST /accounts k1" if _id != "a2" else _id,
                "platform": "facebook",
                "name_key": "kultur" if _id != "a2" else "bibliotek",
                "admin_keys": ["p@x.se"],
                "state": "scheduled",
                "starts_at": now,
                "outbox_pending": True,
                "version": 1,
            }
        )
    with pytest.raises(DuplicateKeyError):  # the same key in the same kommun
        await coll.insert_one(
            {"_id": "a3", "kommun": "a", "request_key": "anna POST /accounts k1", "name_key": "x"}
        )
    assert await coll.find_one({"_id": "b1", "kommun": "a"}) is None
    keyed = await coll.find_one({"request_key": "anna POST /accounts k1", "kommun": "b"})
    assert keyed is not None
    assert keyed["_id"] == "b1"
    page = coll.find({"_id": {"$gt": "a1"}, "kommun": "a"}).sort("_id", ASCENDING).limit(5)
    assert [d["_id"] async for d in page] == ["a2"]
    members = coll.find({"admin_keys": {"$in": ["p@x.se"]}, "kommun": "b"}, {"_id": 1})
    assert [d["_id"] async for d in members] == ["b1"]
    due = coll.find(
        {"$or": [{"state": "scheduled", "starts_at": {"$lte": now}}], "kommun": "a"}
    ).sort("_id", DESCENDING)
    assert [d["_id"] async for d in due] == ["a2", "a1"]
    pending = coll.find({"outbox_pending": True, "kommun": "b"}, {"outbox": 1, "version": 1})
    assert [d["_id"] async for d in pending] == ["b1"]
    cleared = await coll.update_one(
        {"_id": "a1", "kommun": "b", "version": 1}, {"$inc": {"version": 1}}
    )
    assert cleared.matched_count == 0, "another kommun's document is not written"
    replaced = await coll.replace_one(
        {"_id": "a1", "kommun": "a", "version": 1},
        {
            "kommun": "a",
            "request_key": "anna POST /accounts k1",
            "name_key": "kultur",
            "version": 2,
        },
    )
    assert replaced.matched_count == 1


async def test_handled_marks_carry_the_kommun(db: AsyncDatabase[Document]) -> None:
    marks = HandledMarks(db)
    event = account_created(kommun="vasterby")
    await marks.mark("c1", event, utcnow())
    mark = await db["handled_events"].find_one({"_id": f"c1:{event.id}"})
    assert mark is not None
    assert mark["kommun"] == "vasterby"


async def test_moderation_query_shapes(db: AsyncDatabase[Document]) -> None:
    # services.moderation.store: the queue ($in on a state, equality filters, sorted by
    # a datetime), the feed (newest first by datetime), the audit ($gte on a datetime),
    # a boolean flag, an account by platform and name; each with the kommun.
    cases = db["cases"]
    await cases.create_index([("kommun", 1), ("state", 1), ("due", 1)])
    await cases.create_index([("kommun", 1), ("last_action_at", 1)])
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rows = [
        ("c1", "open", "remove", "threat", 5, False),
        ("c2", "claimed", "answer", "question", 2, False),
        ("c3", "closed", "remove", "advertising", 1, False),
        ("c4", "open", "remove", "confidential", 9, True),
    ]
    for case_id, state, label, category, hours, pending in rows:
        await cases.insert_one(
            {
                "_id": case_id,
                "kommun": "nora",
                "account_id": "a1",
                "state": state,
                "label": label,
                "category": category,
                "due": t0 + timedelta(hours=hours),
                "received_at": t0 + timedelta(minutes=10 * hours),
                "last_action_at": t0 + timedelta(hours=hours),
                "hide_pending": pending,
                "owners": [{"name": "Anna", "email": "anna@nora.example"}],
            }
        )
    await cases.insert_one(
        {"_id": "v1", "kommun": "vasterby", "state": "open", "label": "remove", "due": t0}
    )
    waiting = {"state": {"$in": ["open", "claimed"]}, "kommun": "nora"}
    queue = [d["_id"] async for d in cases.find(waiting).sort("due", ASCENDING)]
    assert queue == ["c2", "c1", "c4"]
    removals = waiting | {"label": "remove", "account_id": "a1"}
    assert [d["_id"] async for d in cases.find(removals).sort("due", ASCENDING)] == ["c1", "c4"]
    threat = waiting | {"category": "threat"}
    assert [d["_id"] async for d in cases.find(threat)] == ["c1"]
    pending = {"hide_pending": True, "kommun": "nora"}
    assert [d["_id"] async for d in cases.find(pending)] == ["c4"]
    since = {"last_action_at": {"$gte": t0 + timedelta(hours=2)}, "kommun": "nora"}
    changed = cases.find(since).sort("last_action_at", ASCENDING).limit(2)
    assert [d["_id"] async for d in changed] == ["c2", "c1"]
    # The deadline sweep and the gauges read by derived fields, written with the case:
    # `watch_at` ($lte on a datetime; a far date when nothing is left to watch) and
    # `waiting` (a flag), with only some top-level fields of each. Saved whole, as
    # MongoRepository saves: nx-27017 keeps a datetime `$set` by update_one as text.
    never = datetime(9999, 12, 31, tzinfo=UTC)
    derived = {"c1": (t0, True), "c2": (t0 + timedelta(hours=1), True), "c3": (never, False)}
    derived["c4"] = (never, True)
    for case_id, (watch_at, is_waiting) in derived.items():
        doc = await cases.find_one({"_id": case_id})
        assert doc is not None
        await cases.replace_one(
            {"_id": case_id}, doc | {"watch_at": watch_at, "waiting": is_waiting}
        )
    due = {"watch_at": {"$lte": t0 + timedelta(hours=1)}, "kommun": "nora"}
    assert [d["_id"] async for d in cases.find(due).sort("due", ASCENDING)] == ["c2", "c1"]
    # The gauges count with the store's `count` command (shared.store.count): equality
    # on a flag and a string, each with a datetime range.
    waiting_removals = {"waiting": True, "label": "remove", "kommun": "nora"}
    assert await count(cases, waiting_removals) == 2
    received = {"received_at": {"$lte": t0 + timedelta(hours=1)}}
    assert await count(cases, waiting_removals | received) == 1
    assert await count(cases, waiting_removals | {"due": {"$lte": t0 + timedelta(hours=5)}}) == 1
    assert await count(cases, {"waiting": True, "hide_pending": True, "kommun": "nora"}) == 1
    assert await count(cases, {"waiting": False, "kommun": "nora"}) == 1
    found = await cases.find_one({"_id": "c1", "kommun": "nora"})
    assert found is not None
    assert found["due"] == t0 + timedelta(hours=5)
    assert found["owners"][0]["email"] == "anna@nora.example"  # a list of subdocuments

    comments = db["comments"]
    await comments.create_index([("kommun", 1), ("account_id", 1)])
    for i in range(4):
        await comments.insert_one(
            {
                "_id": f"m{i}",
                "kommun": "nora",
                "account_id": "a1",
                "received_at": t0 + timedelta(minutes=i),
            }
        )
    feed = comments.find({"account_id": "a1", "kommun": "nora"}).sort("received_at", DESCENDING)
    assert [d["_id"] async for d in feed.limit(2)] == ["m3", "m2"]

    accounts = db["watched_accounts"]
    await accounts.create_index("name")
    await accounts.insert_one({"_id": "a1", "kommun": "nora", "platform": "facebook", "name": "x"})
    await accounts.insert_one({"_id": "a2", "kommun": "nora", "platform": "instagram", "name": "x"})
    named = {"platform": "instagram", "name": "x", "kommun": "nora"}
    assert [d["_id"] async for d in accounts.find(named).sort("_id", ASCENDING).limit(1)] == ["a2"]


async def test_archive_chain_and_record_shapes(db: AsyncDatabase[Document]) -> None:
    # services.archive.store.records: the chain's entries and the records folded from them.
    entries = db["entries"]
    await entries.create_index([("kommun", 1), ("event_id", 1)], unique=True)
    await entries.create_index([("kommun", 1), ("account_id", 1), ("seq", 1)])
    await entries.create_index([("kommun", 1), ("account_id", 1), ("record_id", 1), ("seq", 1)])
    await entries.create_index("record_id")
    await entries.create_index("event_id")
    for seq, record_id in enumerate(["r2", "r1", "r2", "r1"], start=1):
        await entries.insert_one(
            {
                "_id": f"nora:a1:{seq:012d}",
                "kommun": "nora",
                "account_id": "a1",
                "seq": seq,
                "event_id": f"e{seq}",
                "record_id": record_id,
                "fact": {"data": {"text": f"t{seq}"}},
            }
        )
    await entries.insert_one(
        {"_id": "vasterby:b1:000000000001", "kommun": "vasterby", "account_id": "b1", "seq": 1}
        | {"event_id": "e1", "record_id": "r9"}  # the same event id, another kommun's
    )
    # Appending twice at one place, or keeping one event twice, is refused.
    with pytest.raises(DuplicateKeyError):
        await entries.insert_one({"_id": "nora:a1:000000000004", "kommun": "nora"})
    with pytest.raises(DuplicateKeyError):
        await entries.insert_one(
            {"_id": "nora:a1:000000000005", "kommun": "nora", "event_id": "e2"}
        )
    found = await entries.find_one({"kommun": "nora", "event_id": "e3"})
    assert found is not None
    assert found["fact"]["data"]["text"] == "t3"
    mine = {"kommun": "nora", "account_id": "a1"}
    head = entries.find(mine).sort("seq", DESCENDING).limit(1)
    assert [d["seq"] async for d in head] == [4]
    in_order = entries.find(mine).sort("seq", ASCENDING)
    assert [d["seq"] async for d in in_order] == [1, 2, 3, 4]
    by_record = entries.find(mine).sort([("record_id", ASCENDING), ("seq", ASCENDING)])
    assert [(d["record_id"], d["seq"]) async for d in by_record] == [
        ("r1", 2),
        ("r1", 4),
        ("r2", 1),
        ("r2", 3),
    ]
    assert sorted(await entries.distinct("account_id", {"kommun": "nora"})) == ["a1"]
    assert await entries.count_documents(mine) == 4

    records = db["records"]
    await records.create_index([("kommun", 1), ("account_id", 1), ("origin_at", 1)])
    await records.create_index([("kommun", 1), ("awaits_registration", 1)])
    await records.create_index([("kommun", 1), ("kind", 1), ("state", 1)])
    for i, (state, waits) in enumerate(
        [("removed", False), ("published", True), ("unknown", False)]
    ):
        await records.insert_one(
            {
                "_id": f"facebook-{i}",
                "kommun": "nora",
                "account_id": "a1",
                "kind": "comment",
                "state": state,
                "awaits_registration": waits,
                "first_at": datetime(2026, 11, 23, 9, i, tzinfo=UTC),
            }
        )
    waiting = records.find({"kommun": "nora", "awaits_registration": True}).sort("first_at")
    assert [d["_id"] async for d in waiting] == ["facebook-1"]
    assert (
        await records.count_documents({"kommun": "nora", "kind": "comment", "state": "removed"})
        == 1
    )
    assert (
        await records.count_documents({"kommun": "nora", "kind": "post", "state": "removed"}) == 0
    )
    ordered = records.find({"kommun": "nora", "account_id": "a1"}).sort("_id", ASCENDING)
    assert [d["_id"] async for d in ordered] == ["facebook-0", "facebook-1", "facebook-2"]


async def test_diarium_query_shapes(db: AsyncDatabase[Document]) -> None:
    """services.archive.store.diarium: a number taken by inserting its (kommun, year, seq)
    id, one entry per record, the year's highest seq, newest first, lookup by number."""
    diary = db["diary"]
    await diary.create_index([("kommun", 1), ("record_id", 1)], unique=True)
    await diary.create_index("record_id")
    await diary.create_index([("kommun", 1), ("year", 1), ("seq", 1)])
    await diary.create_index([("kommun", 1), ("number", 1)])
    await diary.create_index([("kommun", 1), ("account_id", 1), ("year", 1), ("seq", 1)])
    rows = [
        (2026, 1, "r1", "a1"),
        (2026, 2, "r2", "a2"),
        (2026, 3, "r3", "a1"),
        (2027, 1, "r4", "a1"),
    ]
    for year, seq, record_id, account_id in rows:
        await diary.insert_one(
            {
                "_id": f"nora-{year}-{seq:06d}",
                "kommun": "nora",
                "year": year,
                "seq": seq,
                "number": f"KS {year}/{seq:06d}",
                "record_id": record_id,
                "account_id": account_id,
            }
        )
    await diary.insert_one(
        {
            "_id": "vasterby-2026-000009",
            "kommun": "vasterby",
            "year": 2026,
            "seq": 9,
            "number": "KS 2026/000009",
            "record_id": "r1",
            "account_id": "a1",
        }
    )
    taken = {"_id": "nora-2026-000003", "kommun": "nora", "year": 2026, "seq": 3, "record_id": "r5"}
    with pytest.raises(DuplicateKeyError):  # another replica took this number
        await diary.insert_one(taken)
    with pytest.raises(DuplicateKeyError):  # the record has its entry already
        await diary.insert_one(taken | {"_id": "nora-2026-000004", "seq": 4, "record_id": "r2"})
    assert await diary.count_documents({"kommun": "nora"}) == 4

    highest = diary.find({"year": 2026, "kommun": "nora"}, {"seq": 1}).sort("seq", DESCENDING)
    assert [d async for d in highest.limit(1)] == [{"_id": "nora-2026-000003", "seq": 3}]
    assert [d async for d in diary.find({"year": 2028, "kommun": "nora"}).limit(1)] == []
    newest = diary.find({"account_id": "a1", "kommun": "nora"}).sort(
        [("year", DESCENDING), ("seq", DESCENDING)]
    )
    assert [d["_id"] async for d in newest.limit(2)] == ["nora-2027-000001", "nora-2026-000003"]
    everything = diary.find({"kommun": "nora"}).sort([("year", DESCENDING), ("seq", DESCENDING)])
    assert [d["seq"] async for d in everything] == [1, 3, 2, 1]
    by_number = diary.find({"number": "KS 2026/000002", "kommun": "nora"})
    assert [d["_id"] async for d in by_number] == ["nora-2026-000002"]
    found = await diary.find_one({"record_id": "r1", "kommun": "nora"})
    assert found is not None
    assert found["_id"] == "nora-2026-000001"


async def test_archive_snapshot_shapes(db: AsyncDatabase[Document]) -> None:
    # services.archive.store.snapshots: a PDF's bytes in a top-level binary field, read
    # back byte for byte (up to the handler's limit of 15 MiB), lists and metadata without
    # them (a top-level exclusion), the last one of an account, and an account's recent
    # posts and comments from `records`, newest first.
    snapshots = db["snapshots"]
    await snapshots.create_index([("kommun", 1), ("account_id", 1), ("taken_at", 1)])
    await snapshots.create_index([("kommun", 1), ("taken_at", 1)])
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    big = bytes(range(256)) * (15 * 1024 * 4)  # 15 MiB, every byte value
    for i, pdf in enumerate([b"%PDF-1.7\n\x00\xff\x80%%EOF", big, b"%PDF small"]):
        await snapshots.insert_one(
            {
                "_id": f"nora-A-{i}",
                "kommun": "nora",
                "account_id": "A",
                "taken_at": t0 + timedelta(days=i),
                "sha256": f"{i:064x}",
                "pdf": pdf,
            }
        )
    first = await snapshots.find_one({"_id": "nora-A-0", "kommun": "nora"})
    assert first is not None
    assert bytes(first["pdf"]) == b"%PDF-1.7\n\x00\xff\x80%%EOF"
    whole = await snapshots.find_one({"_id": "nora-A-1", "kommun": "nora"})
    assert whole is not None
    assert bytes(whole["pdf"]) == big
    meta = await snapshots.find_one({"_id": "nora-A-1", "kommun": "nora"}, {"pdf": 0})
    assert meta is not None
    assert "pdf" not in meta
    assert (meta["account_id"], meta["taken_at"]) == ("A", t0 + timedelta(days=1))
    listed = snapshots.find({"kommun": "nora"}, {"pdf": 0}).sort("taken_at", DESCENDING).limit(2)
    found = [d async for d in listed]
    assert [d["_id"] for d in found] == ["nora-A-2", "nora-A-1"]
    assert all("pdf" not in d for d in found)
    last = snapshots.find({"account_id": "A", "kommun": "nora"}, {"taken_at": 1})
    [newest] = [d async for d in last.sort("taken_at", DESCENDING).limit(1)]
    assert newest == {"_id": "nora-A-2", "taken_at": t0 + timedelta(days=2)}
    assert await snapshots.find_one({"_id": "nora-A-9", "kommun": "nora"}, {"_id": 1}) is None

    records = db["records"]
    await records.create_index([("kommun", 1), ("kind", 1), ("state", 1)])
    await records.create_index([("kommun", 1), ("account_id", 1), ("first_at", 1)])
    for i, kind in enumerate(["account", "post", "comment", "comment", "comment"]):
        await records.insert_one(
            {
                "_id": f"r{i}",
                "kommun": "nora",
                "account_id": "A",
                "kind": kind,
                "state": "unknown" if kind == "account" else "published",
                "first_at": t0 + timedelta(days=i),
            }
        )
    await records.insert_one(
        {"_id": "x", "kommun": "nora", "account_id": "B", "kind": "comment", "first_at": t0}
    )
    recent = {
        "account_id": "A",
        "kind": {"$in": ["post", "comment"]},
        "first_at": {"$gte": t0 + timedelta(days=1)},
        "kommun": "nora",
    }
    cursor = records.find(recent).sort("first_at", DESCENDING).limit(3)
    assert [d["_id"] async for d in cursor] == ["r4", "r3", "r2"]
    accounts = records.find({"kind": "account", "kommun": "nora"})
    assert [d["_id"] async for d in accounts] == ["r0"]


async def test_archive_culling_query_shapes(db: AsyncDatabase[Document]) -> None:
    # services.archive.store.culling: holds in force by a boolean flag; the culling log by
    # a scalar account (its entries read back as subdocuments), unfinished ones by a flag,
    # newest first by a datetime then the id; candidates by a datetime range with $in on
    # scalar fields, paged by _id; an entry replaced whole on its _id and hash (a
    # tombstone keeps its datetimes); a record deleted on its _id and version.
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    holds = db["holds"]
    await holds.create_index([("kommun", 1), ("in_force", 1)])
    await holds.create_index([("kommun", 1), ("set_at", 1)])
    for hold_id, in_force, hours in (("h1", True, 2), ("h2", False, 1), ("h3", True, 0)):
        await holds.insert_one(
            {
                "_id": hold_id,
                "kommun": "nora",
                "in_force": in_force,
                "set_at": t0 + timedelta(hours=hours),
            }
        )
    await holds.insert_one({"_id": "hv", "kommun": "vasterby", "in_force": True, "set_at": t0})
    in_force = holds.find({"in_force": True, "kommun": "nora"}).sort("set_at", ASCENDING)
    assert [d["_id"] async for d in in_force] == ["h3", "h1"]
    every = holds.find({"kommun": "nora"}).sort("set_at", ASCENDING)
    assert [d["_id"] async for d in every] == ["h3", "h2", "h1"]

    logs = db["culling_log"]
    await logs.create_index([("kommun", 1), ("account_id", 1)])
    await logs.create_index([("kommun", 1), ("finished", 1)])
    await logs.create_index([("kommun", 1), ("culled_at", 1)])
    listed = [{"id": "nora:a1:000000000001", "hash": "ab" * 32, "record_id": "r1"}]
    for log_id, account, done, at in (
        ("l1", "a1", True, t0),
        ("l2", "a1", False, t0 + timedelta(days=1)),
        ("l3", "a2", True, t0 + timedelta(days=1)),
    ):
        await logs.insert_one(
            {
                "_id": log_id,
                "kommun": "nora",
                "account_id": account,
                "finished": done,
                "culled_at": at,
                "record_ids": ["r1"],
                "entries": listed,
            }
        )
    of_account = logs.find({"account_id": "a1", "kommun": "nora"}, {"entries": 1})
    found = [d async for d in of_account]
    assert sorted(d["_id"] for d in found) == ["l1", "l2"]
    assert found[0]["entries"] == listed
    assert "account_id" not in found[0]
    unfinished = logs.find({"finished": False, "kommun": "nora"}).sort("culled_at", ASCENDING)
    assert [d["_id"] async for d in unfinished] == ["l2"]
    newest = logs.find({"kommun": "nora"}).sort([("culled_at", DESCENDING), ("_id", DESCENDING)])
    assert [d["_id"] async for d in newest.limit(2)] == ["l3", "l2"]

    records = db["records"]
    await records.create_index([("kommun", 1), ("first_at", 1)])
    rows = [
        ("r1", "comment", "a1", "inkommen", "removed", 400),
        ("r2", "comment", "a1", "inkommen", "published", 400),
        ("r3", "post", "a1", "upprättad", "published", 400),
        ("r4", "comment", "a2", "inkommen", "removed", 10),
        ("r5", "comment", "a1", "inkommen", "removed", 500),
    ]
    for record_id, kind, account, origin, state, days in rows:
        await records.insert_one(
            {
                "_id": record_id,
                "kommun": "nora",
                "version": 1,
                "kind": kind,
                "account_id": account,
                "origin": origin,
                "state": state,
                "first_at": t0 - timedelta(days=days),
            }
        )
    cutoff = t0 - timedelta(days=365)
    candidates = {
        "first_at": {"$lt": cutoff},
        "kind": {"$in": ["comment"]},
        "account_id": {"$in": ["a1", "a2"]},
        "origin": {"$in": ["inkommen"]},
        "state": {"$in": ["removed", "hidden"]},
        "kommun": "nora",
    }
    page = records.find(candidates | {"_id": {"$gt": ""}}).sort("_id", ASCENDING).limit(1)
    assert [d["_id"] async for d in page] == ["r1"]
    page = records.find(candidates | {"_id": {"$gt": "r1"}}).sort("_id", ASCENDING).limit(1)
    assert [d["_id"] async for d in page] == ["r5"]
    old = records.find({"first_at": {"$lt": cutoff}, "kommun": "nora"}).sort("_id", ASCENDING)
    assert [d["_id"] async for d in old] == ["r1", "r2", "r3", "r5"]
    deleted = await records.delete_one({"_id": "r1", "version": 2, "kommun": "nora"})
    assert deleted.deleted_count == 0, "a record changed since it was read stays"
    deleted = await records.delete_one({"_id": "r1", "version": 1, "kommun": "nora"})
    assert deleted.deleted_count == 1

    entries = db["entries"]
    await entries.create_index("record_id")
    for seq in (2, 1):
        await entries.insert_one(
            {
                "_id": f"nora:a1:{seq:012d}",
                "kommun": "nora",
                "record_id": "r5",
                "seq": seq,
                "hash": f"{seq}" * 64,
                "recorded_at": t0,
                "fact": {"event_id": f"e{seq}", "at": t0},
                "culled_by": None,
            }
        )
    of_record = entries.find({"record_id": "r5", "kommun": "nora"}).sort("seq", ASCENDING)
    docs = [d async for d in of_record]
    assert [d["seq"] for d in docs] == [1, 2]
    mine = {"_id": docs[0]["_id"], "hash": "1" * 64, "kommun": "nora"}
    assert await entries.find_one(mine | {"hash": "9" * 64}) is None
    tombstone = docs[0] | {"fact": None, "culled_by": "l1"}
    assert (await entries.replace_one(mine, tombstone)).matched_count == 1
    stored = await entries.find_one(mine)
    assert stored is not None
    assert (stored["fact"], stored["culled_by"], stored["recorded_at"]) == (None, "l1", t0)


async def test_archive_search_query_shapes(db: AsyncDatabase[Document]) -> None:
    # services.archive.store.search: derived word arrays matched by $all (with an index
    # on the array: nx-27017 answers element equality on it wrongly, $all right), a
    # range on `dated`, pages after (dated, _id) by $or sorted by both, records and
    # chain entries by _id $in with a top-level projection, the access log newest first.
    coll = db["records"]
    await coll.create_index([("kommun", 1), ("account_id", 1), ("dated", 1)])
    await coll.create_index([("kommun", 1), ("words", 1)])
    base = datetime(2026, 1, 1, tzinfo=UTC)
    texts = ["snö väg plogning", "snö skola", "sno", "väg", "snöplogning", "ärende snö"]
    for i, words in enumerate(texts):
        await coll.insert_one(
            {
                "_id": f"r{i}",
                "kommun": "nora",
                "account_id": "a",
                "kind": "comment",
                "dated": base + timedelta(hours=i // 2),  # two records per hour: ties
                "words": sorted(set(words.split())),
            }
        )
    order = [("dated", ASCENDING), ("_id", ASCENDING)]

    async def ids(query: Document, limit: int = 0) -> list[str]:
        scoped = {"kommun": "nora", "account_id": "a", **query}
        return [d["_id"] async for d in coll.find(scoped).sort(order).limit(limit)]

    assert await ids({"words": {"$all": ["snö"]}}) == ["r0", "r1", "r5"]
    assert await ids({"words": {"$all": ["snö", "väg"]}}) == ["r0"]
    assert await ids({"words": {"$all": ["ärende"]}, "kind": "comment"}) == ["r5"]
    window = {"$gte": base + timedelta(hours=1), "$lt": base + timedelta(hours=2)}
    assert await ids({"dated": window}) == ["r2", "r3"]
    after = {
        "$or": [
            {"dated": {"$gt": base + timedelta(hours=1)}},
            {"dated": base + timedelta(hours=1), "_id": {"$gt": "r2"}},
        ]
    }
    assert await ids(after, 2) == ["r3", "r4"]
    assert await ids({**after, "words": {"$all": ["snö"]}}) == ["r5"]
    projected = coll.find({"kommun": "nora", "account_id": "a"}, {"_id": 1, "dated": 1})
    assert [sorted(d) async for d in projected.sort(order).limit(1)] == [["_id", "dated"]]
    by_id = coll.find({"kommun": "nora", "_id": {"$in": ["r4", "r1", "nope"]}}, {"_id": 1})
    assert sorted([d["_id"] async for d in by_id]) == ["r1", "r4"]

    log = db["access_log"]
    await log.create_index([("kommun", 1), ("at", 1)])
    for i in range(3):
        await log.insert_one({"_id": f"l{i}", "kommun": "nora", "at": base + timedelta(minutes=i)})
    newest = log.find({"kommun": "nora", "at": {"$lt": base + timedelta(minutes=2)}})
    newest = newest.sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(5)
    assert [d["_id"] async for d in newest] == ["l1", "l0"]


async def test_archive_chain_head_anchor_shapes(db: AsyncDatabase[Document]) -> None:
    # services.archive.store.records: each account's head anchor moved only forward by an
    # upsert filtered on a lower seq (a lost race is a duplicate key on _id), read by _id
    # and kommun, its accounts listed by distinct.
    heads = db["chain_heads"]
    await heads.create_index([("kommun", 1), ("account_id", 1)])

    async def anchor(seq: int, entry_hash: str) -> bool:
        try:
            await heads.update_one(
                {"_id": "nora:a1", "kommun": "nora", "seq": {"$lt": seq}},
                {"$set": {"account_id": "a1", "seq": seq, "hash": entry_hash}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    assert await anchor(1, "h1")
    assert await anchor(3, "h3")
    assert not await anchor(2, "h2")  # behind: never back
    assert not await anchor(3, "other")  # there already
    await heads.insert_one({"_id": "vasterby:a9", "kommun": "vasterby", "account_id": "a9"})
    doc = await heads.find_one({"_id": "nora:a1", "kommun": "nora"})
    assert doc is not None
    assert (doc["kommun"], doc["account_id"], doc["seq"], doc["hash"]) == ("nora", "a1", 3, "h3")
    assert isinstance(doc["seq"], int)
    assert await heads.distinct("account_id", {"kommun": "nora"}) == ["a1"]


async def test_notify_escalation_and_delivery_log_shapes(db: AsyncDatabase[Document]) -> None:
    # services.notify.store.escalations: derived flags `climbs`/`waiting` (never a null
    # comparison) with a range on `next_level_at`, top-level projections; and the delivery
    # log (services.notify.api.log): equality on a nested subdocument's field (`$or` of
    # recipient.email / recipient.name), top-level filters, a created_at range, newest
    # first by (created_at, _id) with pages before a cursor by $or.
    esc = db["escalations"]
    await esc.create_index("climbs")
    await esc.create_index("waiting")
    base = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rows = [  # id, climbs, waiting, next_level_at
        ("e1", True, True, base),
        ("e2", True, True, base + timedelta(hours=2)),
        ("e3", False, True, None),  # the last level told: nothing left to climb
        ("e4", False, False, None),  # acknowledged
    ]
    for eid, climbs, waiting, at in rows:
        doc = {"_id": eid, "kommun": "nora", "climbs": climbs, "waiting": waiting}
        await esc.insert_one(doc | {"next_level_at": at, "event_type": "account.unattended"})
        await esc.insert_one(doc | {"_id": f"v-{eid}", "kommun": "vasterby", "next_level_at": at})
    due = {"kommun": "nora", "climbs": True, "next_level_at": {"$lte": base + timedelta(hours=1)}}
    found = esc.find(due, {"_id": 1}).sort("next_level_at", ASCENDING).limit(10)
    assert [d["_id"] async for d in found] == ["e1"]
    waiting = esc.find({"kommun": "nora", "waiting": True}, {"event_type": 1, "opened_at": 1})
    assert sorted([d["_id"] async for d in waiting]) == ["e1", "e2", "e3"]
    # A save replaces the whole document (shared.store): the flags stay booleans.
    await esc.replace_one(
        {"_id": "e1", "kommun": "nora"},
        {"kommun": "nora", "climbs": False, "waiting": False, "next_level_at": None},
    )
    assert [d["_id"] async for d in esc.find(due)] == []
    listed = esc.find({"kommun": "nora", "waiting": True, "_id": {"$lt": "e3"}})
    assert [d["_id"] async for d in listed.sort("_id", DESCENDING)] == ["e2"]

    log = db["notifications"]
    await log.create_index([("kommun", 1), ("event_id", 1)])
    await log.create_index([("kommun", 1), ("created_at", 1)])
    people = [("Enhetschef", "enhet@nora.example"), ("Förvaltningschef", "fc@nora.example")]
    for i in range(6):
        name, email = people[i % 2]
        await log.insert_one(
            {
                "_id": f"ev{i // 2}:{1 + i % 2}:email:{email}",
                "kommun": "nora",
                "event_id": f"ev{i // 2}",
                "event_type": "account.unattended" if i < 4 else "comment.flagged",
                "level": 1 + i % 2,
                "channel": "email",
                "status": "sent" if i % 3 else "failed",
                "recipient": {"name": name, "email": email, "language": "sv", "why": "x"},
                "created_at": base + timedelta(minutes=i // 2),  # two at each minute: ties
            }
        )
    order = [("created_at", DESCENDING), ("_id", DESCENDING)]

    async def ids(query: Document, limit: int = 0) -> list[str]:
        cursor = log.find({"kommun": "nora", **query}).sort(order).limit(limit)
        return [d["_id"].split(":email:")[0] async for d in cursor]

    who = {"$or": [{"recipient.email": "fc@nora.example"}, {"recipient.name": "fc@nora.example"}]}
    assert await ids(who) == ["ev2:2", "ev1:2", "ev0:2"]
    by_name = {"$or": [{"recipient.email": "Enhetschef"}, {"recipient.name": "Enhetschef"}]}
    assert await ids(by_name) == ["ev2:1", "ev1:1", "ev0:1"]
    assert await ids({"event_type": "account.unattended", "status": "failed"}) == ["ev1:2", "ev0:1"]
    assert await ids({"level": 2, "channel": "email", "status": "sent"}) == ["ev2:2", "ev0:2"]
    window = {"$gte": base + timedelta(minutes=1), "$lt": base + timedelta(minutes=2)}
    assert await ids({"created_at": window}) == ["ev1:2", "ev1:1"]
    before = {
        "$or": [
            {"created_at": {"$lt": base + timedelta(minutes=1)}},
            {
                "created_at": base + timedelta(minutes=1),
                "_id": {"$lt": "ev1:2:email:fc@nora.example"},
            },
        ]
    }
    assert await ids(before, 2) == ["ev1:1", "ev0:2"]
    assert await ids({"$and": [before, who]}) == ["ev0:2"]
    assert await ids({"$and": [before, {"created_at": window}]}) == ["ev1:1"]


async def test_notify_due_and_claim_shapes(db: AsyncDatabase[Document]) -> None:
    # services.notify.store.notifications: what is due is one range on the derived number
    # `send_from` (epoch ms: due, and any claim run out; far off when it will not be
    # sent), sorted by it and limited: no date range, null, `$in` or `$or`, which
    # nx-27017 answers by reading every candidate, by a scan or wrongly. The claim is a
    # whole-document replace conditional on the version.
    coll = db["notifications"]
    await coll.create_index("send_from")
    never = epoch_ms(datetime(9999, 12, 31, tzinfo=UTC))
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def send_from(status: str, due: datetime, until: datetime | None) -> int:
        if status not in ("pending", "held"):
            return never
        return epoch_ms(max(due, until or due))

    rows = [  # id, status, due in minutes, claimed until (minutes) or None
        ("a", "pending", -2, None),
        ("b", "held", -4, None),
        ("c", "pending", -3, 10),  # claimed by another replica
        ("d", "pending", -1, -1),  # its claim ran out
        ("e", "sent", -9, None),
        ("f", "pending", 20, None),  # not yet due
        ("g", "failed", -8, None),
    ]
    for i, status, due, claim in rows:
        until = None if claim is None else now + timedelta(minutes=claim)
        due_at = now + timedelta(minutes=due)
        await coll.insert_one(
            {
                "_id": i,
                "kommun": "nora",
                "status": status,
                "due_at": due_at,
                "claimed_until": until,
                "send_from": send_from(status, due_at, until),
                "version": 1,
            }
        )
    await coll.insert_one(
        {
            "_id": "x",
            "kommun": "vasterby",
            "status": "pending",
            "due_at": now,
            "send_from": epoch_ms(now),
            "version": 1,
        }
    )

    def due_by(at: datetime) -> Document:
        return {"kommun": "nora", "send_from": {"$lte": epoch_ms(at)}}

    async def due(at: datetime, limit: int = 0) -> list[str]:
        found = coll.find(due_by(at)).sort("send_from", ASCENDING).limit(limit)
        return [d["_id"] async for d in found]

    assert await due(now) == ["b", "a", "d"]
    assert await due(now, 2) == ["b", "a"]

    async def claim(version: int) -> bool:
        doc = await coll.find_one({"_id": "a", "kommun": "nora", "version": version})
        if doc is None:
            return False
        until = now + timedelta(minutes=1)
        claimed = {"claimed_until": until, "send_from": epoch_ms(until)}
        doc |= claimed | {"version": version + 1}
        result = await coll.replace_one({"_id": "a", "kommun": "nora", "version": version}, doc)
        return result.matched_count == 1

    assert await claim(1)
    assert not await claim(1)  # the other replica read version 1 too: it lost
    claimed = await coll.find_one({"_id": "a", "kommun": "nora"})
    assert claimed is not None
    assert claimed["claimed_until"] == now + timedelta(minutes=1)
    assert await due(now) == ["b", "d"]
    # a's claim ran out by then, c's has not
    assert await due(now + timedelta(minutes=2)) == ["b", "d", "a"]


async def test_notify_waiting_routing_and_attended_shapes(db: AsyncDatabase[Document]) -> None:
    """Notify's events waiting for its directory (open ones oldest first, limited; the
    claim and the routed mark as version-conditional replaces flipping the derived
    `open`), and account.attended's look-up of open account.unattended escalations by
    two scalar equalities beside the derived `waiting` (issue 11, P3.3, P5.6)."""
    waits = db["routing_waits"]
    await waits.create_index("open")
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    for i, seconds, is_open in (("w1", -3, True), ("w2", -9, True), ("w3", -20, False)):
        await waits.insert_one(
            {
                "_id": i,
                "kommun": "nora",
                "open": is_open,
                "since": now + timedelta(seconds=seconds),
                "account_ids": ["acc-1"],
                "claimed_until": None,
                "routed_at": None if is_open else now,
                "version": 1,
            }
        )
    await waits.insert_one(
        {"_id": "w4", "kommun": "vasterby", "open": True, "since": now, "version": 1}
    )
    query = {"open": True, "kommun": "nora"}
    assert [d["_id"] async for d in waits.find(query).sort("since", ASCENDING)] == ["w2", "w1"]
    assert [d["_id"] async for d in waits.find(query).sort("since", ASCENDING).limit(1)] == ["w2"]

    async def replace(i: str, version: int, changes: Document) -> bool:
        doc = await waits.find_one({"_id": i, "kommun": "nora", "version": version})
        if doc is None:
            return False
        doc |= changes | {"version": version + 1}
        result = await waits.replace_one({"_id": i, "kommun": "nora", "version": version}, doc)
        return result.matched_count == 1

    claim = {"claimed_until": now + timedelta(seconds=60)}
    assert await replace("w2", 1, claim)
    assert not await replace("w2", 1, claim)  # another router read version 1: it lost
    claimed = await waits.find_one({"_id": "w2", "kommun": "nora"})
    assert claimed is not None
    assert claimed["claimed_until"] == now + timedelta(seconds=60)
    assert claimed["since"] == now - timedelta(seconds=9)
    routed = {"open": False, "routed_at": now, "claimed_until": None, "event": ""}
    assert await replace("w2", 2, routed)
    assert [d["_id"] async for d in waits.find(query).sort("since", ASCENDING)] == ["w1"]

    escalations = db["escalations"]
    await escalations.create_index([("kommun", 1), ("waiting", 1), ("opened_at", 1)])
    rows = [  # id, kommun, event type, waiting
        ("e1", "nora", "account.unattended", True),
        ("e2", "nora", "account.unattended", False),  # acknowledged
        ("e3", "nora", "moderation.escalated", True),
        ("e4", "vasterby", "account.unattended", True),
        ("e5", "nora", "account.unattended", True),
    ]
    for i, kommun, event_type, waiting in rows:
        await escalations.insert_one(
            {
                "_id": i,
                "kommun": kommun,
                "event_type": event_type,
                "waiting": waiting,
                "opened_at": now,
                "context": {"account_id": "acc-1"},
                "version": 1,
            }
        )
    unattended = {"waiting": True, "event_type": "account.unattended", "kommun": "nora"}
    assert [d["_id"] async for d in escalations.find(unattended).sort("_id", ASCENDING)] == [
        "e1",
        "e5",
    ]


async def test_ordered_insert_many_stops_at_the_first_duplicate_and_says_where(
    db: AsyncDatabase[Document],
) -> None:
    # The archive's chain appends (services.archive.store.records): a batch of one
    # account's entries in one ordered insert_many; a place or event already taken stops
    # it there, and nInserted says how many went in before it.
    from pymongo.errors import BulkWriteError

    entries = db["chain_entries"]
    await entries.create_index([("kommun", 1), ("event_id", 1)], unique=True)
    await entries.insert_one({"_id": "nora:a:002", "kommun": "nora", "event_id": "e2"})

    def entry(seq: int, event_id: str) -> Document:
        return {"_id": f"nora:a:{seq:03d}", "kommun": "nora", "event_id": event_id, "seq": seq}

    with pytest.raises(BulkWriteError) as place_taken:
        await entries.insert_many([entry(1, "e1"), entry(2, "x"), entry(3, "e3")], ordered=True)
    assert place_taken.value.details["nInserted"] == 1
    assert [e["code"] for e in place_taken.value.details["writeErrors"]] == [11000]
    assert place_taken.value.details["writeErrors"][0]["index"] == 1

    with pytest.raises(BulkWriteError) as event_kept:
        await entries.insert_many([entry(3, "e3"), entry(4, "e1"), entry(5, "e5")], ordered=True)
    assert event_kept.value.details["nInserted"] == 1
    assert [e["code"] for e in event_kept.value.details["writeErrors"]] == [11000]
    ids = [d["_id"] async for d in entries.find({"kommun": "nora"}).sort("_id", ASCENDING)]
    assert ids == ["nora:a:001", "nora:a:002", "nora:a:003"]

    # The head past its anchor is found by place: one _id read with a projection.
    after = await entries.find_one({"_id": "nora:a:003", "kommun": "nora"}, {"seq": 1})
    assert after == {"_id": "nora:a:003", "seq": 3}


async def test_unordered_insert_many_takes_the_new_and_names_the_taken(
    db: AsyncDatabase[Document],
) -> None:
    # A connector's batch (shared.store.MongoRepository.add_all): one unordered
    # insert_many; each id already taken, also twice in the batch, is named by its index.
    from pymongo.errors import BulkWriteError

    deliveries = db["deliveries"]
    await deliveries.insert_one({"_id": "d2", "kommun": "nora", "version": 1})
    docs = [
        {"_id": i, "kommun": "nora", "version": 1, "outbox": [{"n": 1}], "outbox_pending": True}
        for i in ("d1", "d2", "d3", "d1", "d4")
    ]
    with pytest.raises(BulkWriteError) as taken:
        await deliveries.insert_many(docs, ordered=False)
    errors = taken.value.details["writeErrors"]
    assert sorted(e["index"] for e in errors) == [1, 3]
    assert {e["code"] for e in errors} == {11000}
    assert taken.value.details["nInserted"] == 3

    # Their outboxes cleared together, each only if still at the version written.
    await deliveries.update_one({"_id": "d3"}, {"$inc": {"version": 1}})  # written meanwhile
    cleared = await deliveries.update_many(
        {"_id": {"$in": ["d1", "d3", "d4"]}, "kommun": "nora", "version": 1},
        {"$set": {"outbox": []}, "$unset": {"outbox_pending": ""}, "$inc": {"version": 1}},
    )
    assert cleared.matched_count == 2
    still = {"_id": {"$in": ["d1", "d3", "d4"]}, "kommun": "nora", "outbox_pending": True}
    assert [d["_id"] async for d in deliveries.find(still, {"outbox": 1, "version": 1})] == ["d3"]
    d1 = await deliveries.find_one({"_id": "d1"})
    assert d1 is not None
    assert (d1["outbox"], d1["version"], "outbox_pending" in d1) == ([], 2, False)
