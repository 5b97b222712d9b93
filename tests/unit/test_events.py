"""Event contracts: CloudEvents attributes, versioned types, tolerant but strict enough."""

import json
from typing import Literal

import pytest
from pydantic import ValidationError

from shared.events import ALL_EVENTS, BY_SUBJECT, AccountCreated, AccountCreatedData, Event


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: e.nats_subject)
def test_type_and_source_follow_subject_and_producer(event: type[Event]) -> None:
    assert event.model_fields["type"].annotation == Literal[event.cloudevents_type()]
    assert event.model_fields["type"].is_required()
    assert event.model_fields["source"].is_required()
    entity, name = event.nats_subject.split(".")
    assert entity
    assert name
    assert event.cloudevents_type().endswith(f".v{event.version}")


def test_required_subjects_exist() -> None:
    assert {"account.created", "comment.flagged", "admin.absent"} <= set(BY_SUBJECT)


def _account_created() -> AccountCreated:
    return AccountCreated.new(
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


def test_envelope_has_cloudevents_attributes() -> None:
    body = json.loads(_account_created().model_dump_json())
    for attribute in ("id", "source", "type", "specversion", "time", "subject"):
        assert body[attribute]
    assert body["specversion"] == "1.0"
    assert body["time"].endswith("Z")


def test_round_trip_and_unknown_fields_are_ignored() -> None:
    body = json.loads(_account_created().model_dump_json())
    body["data"]["added_in_a_later_release"] = 1
    body["extension"] = "x"
    parsed = AccountCreated.model_validate_json(json.dumps(body))
    assert parsed.data.name == "norakommunnaringsliv"


def test_invalid_event_names_the_field() -> None:
    body = json.loads(_account_created().model_dump_json())
    body["data"]["platform"] = "myspace"
    del body["subject"]
    with pytest.raises(ValidationError) as err:
        AccountCreated.model_validate_json(json.dumps(body))
    fields = {".".join(str(p) for p in e["loc"]) for e in err.value.errors()}
    assert fields == {"data.platform", "subject"}


def test_cloudevents_attributes_are_required_on_the_wire() -> None:
    body = json.loads(_account_created().model_dump_json())
    for attribute in ("id", "source", "type", "subject", "specversion"):
        partial = {k: v for k, v in body.items() if k != attribute}
        with pytest.raises(ValidationError, match=attribute):
            AccountCreated.model_validate_json(json.dumps(partial))


def test_other_version_is_refused() -> None:
    body = json.loads(_account_created().model_dump_json())
    body["type"] = "se.kanalvakt.account.created.v2"
    with pytest.raises(ValidationError, match="type"):
        AccountCreated.model_validate_json(json.dumps(body))
