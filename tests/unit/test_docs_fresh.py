"""The committed generated documents (AsyncAPI, events, OpenAPI) are what the code makes."""

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
