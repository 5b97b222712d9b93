"""The committed docs/asyncapi.yaml and docs/events.md are what the code generates."""

import pytest

from kanalvakt.docs import asyncapi_yaml, events_md
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("path", "generate"), [("docs/asyncapi.yaml", asyncapi_yaml), ("docs/events.md", events_md)]
)
def test_committed_doc_is_current(path: str, generate: object) -> None:
    committed = (ROOT / path).read_text(encoding="utf-8")
    assert committed == generate(), f"{path} is stale: run `kanalvakt docs`"  # type: ignore[operator]


def test_asyncapi_lists_every_subject_and_dead_letter_subject() -> None:
    text = asyncapi_yaml()
    for subject in ("account.created", "admin.absent", "comment.flagged", "dlq.account.created"):
        assert f"address: {subject}" in text
