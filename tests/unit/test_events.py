"""Event contracts as a consumer sees them on the wire: the documented types and sources
(docs/events.md), every CloudEvents attribute required, other types refused, unknown
fields ignored. The expected values are written out here, never derived from
`shared/events/base.py`, so a change to how the code builds them fails a test."""

import json
import typing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.events import ALL_EVENTS, BY_SUBJECT, AccountCreated, AccountCreatedData, Event
from tests.helpers import ROOT

# docs/events.md, "Events": subject, CloudEvents type and source of every event.
DOCUMENTED: dict[str, tuple[str, str]] = {
    "account.created": ("se.kanalvakt.account.created.v1", "/kanalvakt/registry"),
    "account.approved": ("se.kanalvakt.account.approved.v1", "/kanalvakt/registry"),
    "account.activated": ("se.kanalvakt.account.activated.v1", "/kanalvakt/registry"),
    "account.updated": ("se.kanalvakt.account.updated.v1", "/kanalvakt/registry"),
    "account.closed": ("se.kanalvakt.account.closed.v1", "/kanalvakt/registry"),
    "account.unattended": ("se.kanalvakt.account.unattended.v1", "/kanalvakt/registry"),
    "account.attended": ("se.kanalvakt.account.attended.v1", "/kanalvakt/registry"),
    "account.noncompliant": ("se.kanalvakt.account.noncompliant.v1", "/kanalvakt/registry"),
    "admin.absent": ("se.kanalvakt.admin.absent.v1", "/kanalvakt/registry"),
    "admin.returned": ("se.kanalvakt.admin.returned.v1", "/kanalvakt/registry"),
    "comment.received": ("se.kanalvakt.comment.received.v1", "/kanalvakt/moderation"),
    "post.published": ("se.kanalvakt.post.published.v1", "/kanalvakt/moderation"),
    "comment.edited": ("se.kanalvakt.comment.edited.v1", "/kanalvakt/moderation"),
    "comment.deleted": ("se.kanalvakt.comment.deleted.v1", "/kanalvakt/moderation"),
    "comment.flagged": ("se.kanalvakt.comment.flagged.v1", "/kanalvakt/moderation"),
    "moderation.decided": ("se.kanalvakt.moderation.decided.v1", "/kanalvakt/moderation"),
    "comment.removed": ("se.kanalvakt.comment.removed.v1", "/kanalvakt/moderation"),
    "moderation.escalated": ("se.kanalvakt.moderation.escalated.v1", "/kanalvakt/moderation"),
    "comment.confidential": ("se.kanalvakt.comment.confidential.v1", "/kanalvakt/moderation"),
    "sla.warning": ("se.kanalvakt.sla.warning.v1", "/kanalvakt/moderation"),
    "sla.breached": ("se.kanalvakt.sla.breached.v1", "/kanalvakt/moderation"),
    "account.unsupervised": ("se.kanalvakt.account.unsupervised.v1", "/kanalvakt/moderation"),
    "record.registered": ("se.kanalvakt.record.registered.v1", "/kanalvakt/archive"),
    "record.culled": ("se.kanalvakt.record.culled.v1", "/kanalvakt/archive"),
    "snapshot.created": ("se.kanalvakt.snapshot.created.v1", "/kanalvakt/archive"),
    "notification.failed": ("se.kanalvakt.notification.failed.v1", "/kanalvakt/notify"),
}
ATTRIBUTES = ("specversion", "id", "source", "type", "subject", "kommun", "time", "data")


def _new(event: type[Event], time: datetime | None = None) -> Event:
    """`event.new()` with a `data` of the right class (its fields do not matter here)."""
    data_class = event.model_fields["data"].annotation
    assert isinstance(data_class, type)
    return event.new("nora", subject="acc1", data=data_class.model_construct(), time=time)


def _errors(event: type[Event], body: dict[str, Any]) -> set[tuple[str | int, ...]]:
    try:
        event.model_validate_json(json.dumps(body))
    except ValidationError as err:
        return {tuple(e["loc"]) for e in err.errors()}
    return set()


def test_every_documented_event_exists_and_no_other() -> None:
    assert [e.nats_subject for e in ALL_EVENTS] == list(DOCUMENTED)
    assert set(BY_SUBJECT) == set(DOCUMENTED)


def test_the_table_above_is_the_one_in_docs_events_md() -> None:
    docs = (ROOT / "docs/events.md").read_text(encoding="utf-8")
    for subject, (event_type, source) in DOCUMENTED.items():
        producer = source.removeprefix("/kanalvakt/")
        assert f"| `{subject}` | `{event_type}` | {producer} |" in docs, subject


def test_subjects_and_types_are_unique() -> None:
    subjects = [e.nats_subject for e in ALL_EVENTS]
    types = [typing.get_args(e.model_fields["type"].annotation) for e in ALL_EVENTS]
    assert len(set(subjects)) == len(subjects)
    assert len(set(types)) == len(types)
    assert len({e.__name__ for e in ALL_EVENTS}) == len(ALL_EVENTS)


@pytest.mark.parametrize("subject", DOCUMENTED)
def test_new_event_carries_the_documented_type_and_source(subject: str) -> None:
    event_class = BY_SUBJECT[subject]
    documented_type, documented_source = DOCUMENTED[subject]
    assert typing.get_args(event_class.model_fields["type"].annotation) == (documented_type,)
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    body = json.loads(_new(event_class, at).model_dump_json())
    assert body["type"] == documented_type
    assert body["source"] == documented_source
    assert body["specversion"] == "1.0"
    assert body["subject"] == "acc1"
    assert body["kommun"] == "nora"
    assert body["datacontenttype"] == "application/json"
    assert body["time"] == "2026-11-20T09:30:00Z"


@pytest.mark.parametrize("subject", DOCUMENTED)
def test_only_its_own_type_is_accepted(subject: str) -> None:
    """Each contract refuses every other type, another version of its own included."""
    event_class = BY_SUBJECT[subject]
    own, _source = DOCUMENTED[subject]
    others = [t for s, (t, _) in DOCUMENTED.items() if s != subject]
    others += [own.replace(".v1", ".v2"), own.upper(), own.removeprefix("se."), ""]
    body = json.loads(_new(event_class).model_dump_json())
    assert ("type",) not in _errors(event_class, body)
    for other in others:
        assert ("type",) in _errors(event_class, body | {"type": other}), other


def test_each_new_event_has_an_id_of_its_own_and_the_time_now() -> None:
    before = datetime.now(UTC)
    first, second = _new(AccountCreated), _new(AccountCreated)
    assert first.id
    assert first.id != second.id
    assert before - timedelta(seconds=1) <= first.time <= datetime.now(UTC)


def _account_created() -> AccountCreated:
    return AccountCreated.new(
        "nora",
        subject="acc1",
        data=AccountCreatedData(
            account_id="acc1",
            name="norakommunnaringsliv",
            platform="facebook",
            url="https://www.facebook.com/norakommunnaringsliv",  # type: ignore[arg-type]
            department="Kommunstyrelseförvaltningen",
            unit="Näringsliv",
            purpose="Informera företagare",
            submitted_by="anna",
        ),
    )


def test_round_trip_and_unknown_fields_are_ignored() -> None:
    event = _account_created()
    body = json.loads(event.model_dump_json())
    body["data"]["added_in_a_later_release"] = 1
    body["extension"] = "x"
    parsed = AccountCreated.model_validate_json(json.dumps(body))
    assert parsed == event


def test_invalid_event_names_the_field() -> None:
    body = json.loads(_account_created().model_dump_json())
    body["data"]["platform"] = "myspace"
    del body["subject"]
    assert _errors(AccountCreated, body) == {("data", "platform"), ("subject",)}


@pytest.mark.parametrize("attribute", ATTRIBUTES)
def test_every_cloudevents_attribute_is_required_on_the_wire(attribute: str) -> None:
    body = json.loads(_account_created().model_dump_json())
    assert _errors(AccountCreated, body) == set()
    partial = {k: v for k, v in body.items() if k != attribute}
    assert _errors(AccountCreated, partial) == {(attribute,)}


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("specversion", "0.3"),
        ("id", ""),
        ("source", ""),
        ("subject", ""),
        ("kommun", ""),
        ("kommun", "Nora"),  # an id is lower case: never spelled two ways
        ("kommun", "nora.x"),  # one subject token: no dots or wildcards
        ("kommun", "*"),
        ("time", "2026-11-20T09:30:00"),  # no offset: not a point in time
        ("datacontenttype", "text/plain"),
    ],
)
def test_malformed_attribute_is_refused(attribute: str, value: str) -> None:
    body = json.loads(_account_created().model_dump_json())
    assert _errors(AccountCreated, body | {attribute: value}) == {(attribute,)}


def test_an_event_is_published_on_its_kommuns_subject() -> None:
    """Issue 8: `<entity>.<event>.<kommun>`, so a subscriber may take one kommun's only."""
    event = _account_created()
    assert event.address == "account.created.nora"
    assert AccountCreated.address_template() == "account.created.{kommun}"


def test_every_event_name_is_two_tokens_so_one_kommuns_are_star_star_kommun() -> None:
    """`*.*.<kommun>` takes one kommun's events only while every name is `<entity>.<event>`."""
    assert all(len(e.nats_subject.split(".")) == 2 for e in ALL_EVENTS)
