"""The committed generated documents (AsyncAPI, events, metrics, OpenAPI) are what the
code makes."""

import pytest

from kanalvakt.docs import asyncapi_yaml, generated_docs
from tests.conftest import ROOT

GENERATED = generated_docs()


@pytest.mark.parametrize("path", sorted(GENERATED))
def test_committed_doc_is_current(path: str) -> None:
    committed = (ROOT / path).read_text(encoding="utf-8")
    assert committed == GENERATED[path], f"{path} is stale: run `kanalvakt docs`"


def test_asyncapi_lists_every_subject_and_dead_letter_subject() -> None:
    text = asyncapi_yaml()
    for subject in ("account.created", "admin.absent", "comment.flagged", "dlq.account.created"):
        assert f"address: {subject}" in text


def test_openapi_documents_bearer_auth_and_ops_routes() -> None:
    registry = GENERATED["docs/openapi/registry.json"]
    for fragment in ('"/accounts"', '"/healthz"', '"/readyz"', '"/metrics"', "HTTPBearer"):
        assert fragment in registry


def test_events_md_carries_the_consumer_guide_with_the_stream_names_filled_in() -> None:
    events = GENERATED["docs/events.md"]
    assert "## For other systems: subscribing to Kanalvakt's events" in events
    assert "{{" not in events, "every placeholder of docs/_consumers.md filled in"
    assert 'stream="KANALVAKT_EVENTS"' in events


def test_metrics_md_lists_the_bus_metrics_with_how_replicas_aggregate() -> None:
    metrics = GENERATED["docs/metrics.md"]
    for row in (
        "| `kanalvakt_dead_letters_total` | counter | `service`, `kommun`, `subject` |",
        "| `kanalvakt_outbox_pending` | gauge | `service`, `kommun` |",
        "| `kanalvakt_consumer_pending_messages` | gauge | `service`, `consumer` |",
        "| `kanalvakt_consumer_ack_pending_messages` | gauge | `service`, `consumer` |",
    ):
        assert row in metrics
    assert "## Three replicas" in metrics
