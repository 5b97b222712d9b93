"""No personnummer and no token reaches a log (L7); invoice numbers are not personnummer."""

import json
import logging

import pytest

from shared.logs import JsonFormatter, redact
from shared.personnummer import find_personnummer, mask_personnummer


@pytest.mark.parametrize(
    "text",
    [
        "mitt personnummer är 811218-9876",
        "19811218-9876",
        "198112189876",
        "8112189876",
        "samordningsnummer 701063-2391",
    ],
)
def test_valid_personnummer_are_found(text: str) -> None:
    assert len(find_personnummer(text)) == 1


@pytest.mark.parametrize(
    "text",
    [
        "fakturanummer 1234567890",  # fails the check digit
        "811218-9875",  # wrong check digit
        "811318-9876",  # month 13
        "ordernummer 12345678901234",  # too long
        "telefon 070-123 45 67",
    ],
)
def test_other_numbers_are_not(text: str) -> None:
    assert find_personnummer(text) == []


def test_mask_keeps_the_rest() -> None:
    assert mask_personnummer("pnr 811218-9876, tack") == "pnr [personnummer], tack"


def test_tokens_and_secrets_are_redacted() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm5hIn0.c2lnbmF0dXJlLXZhbHVl"
    text = redact(f"Authorization: Bearer {jwt} url?token=abc&x=1 password=hunter2")
    assert "eyJ" not in text
    assert "abc" not in text
    assert "hunter2" not in text
    assert "x=1" in text


def test_json_log_line_is_redacted() -> None:
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "comment from %s", ("811218-9876",), None
    )
    line = json.loads(JsonFormatter("archive").format(record))
    assert line["message"] == "comment from [personnummer]"
    assert line["service"] == "archive"
    assert line["level"] == "INFO"
