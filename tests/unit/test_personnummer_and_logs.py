"""No personnummer and no token reaches a log (L7); invoice numbers are not personnummer."""

import json
import logging

import pytest

from shared.logs import JsonFormatter, redact
from shared.personnummer import (
    find_personnummer,
    is_personnummer,
    is_samordningsnummer,
    mask_personnummer,
)


@pytest.mark.parametrize(
    "text",
    [
        "mitt personnummer är 811218-9876",
        "19811218-9876",
        "198112189876",
        "8112189876",
        "samordningsnummer 701063-2391",
        "19121212-1212",  # twelve digits with century and hyphen
        "19121212+1212",  # twelve digits, plus: the library ignores it, the century says it
        "121212+1212",  # ten digits, plus: a hundred years or older
        "20000229-1235",  # 2000 was a leap year
        "000229-1235",  # ten digits: born in 2000, so the leap day exists
        "20000289-1232",  # samordningsnummer on the leap day (day + 60)
        "121212 1212",  # a space for the hyphen
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
        "19000229-1235",  # 1900 was not a leap year
        "000229+1235",  # ten digits with plus: 1900 again
        "121232-1212",  # day 32 (and 92 would be no samordningsnummer either)
        "121212-0002",  # serial 000 is never issued
        "341212121212",  # a century no one alive was born in: an order number
    ],
)
def test_other_numbers_are_not(text: str) -> None:
    assert find_personnummer(text) == []


def test_mask_keeps_the_rest() -> None:
    assert mask_personnummer("pnr 811218-9876, tack") == "pnr [personnummer], tack"


def test_L7_the_library_decides_validity_and_kind() -> None:
    """shared.personnummer finds candidates; the personnummer library judges them."""
    assert is_personnummer("19121212-1212")
    assert is_personnummer("7010632391")
    assert not is_personnummer("1234567890")
    assert not is_personnummer("811218-9875")
    assert is_samordningsnummer("701063-2391")
    assert not is_samordningsnummer("19121212-1212")
    assert not is_samordningsnummer("not a number")


@pytest.mark.parametrize(
    "text",
    [
        "GET /search?q=19121212%2D1212&page=2",
        "GET /search?q=19121212%2d1212",
        "GET /search?q=121212%2B1212",
        "GET /search?q=pnr%20191212121212",
        "GET /search?q=pnr%3A121212%2D1212",
    ],
)
def test_L7_url_encoded_personnummer_are_redacted(text: str) -> None:
    redacted = redact(text)
    assert "[personnummer]" in redacted, redacted
    assert "1212%2" not in redacted.lower()
    assert "191212121212" not in redacted


def test_L7_url_encoded_masking_keeps_the_rest() -> None:
    assert redact("/a?q=19121212%2D1212&page=2") == "/a?q=[personnummer]&page=2"
    assert redact("/a?q=x%2019121212%2D1212") == "/a?q=x%20[personnummer]"


def test_tokens_and_secrets_are_redacted() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm5hIn0.c2lnbmF0dXJlLXZhbHVl"
    text = redact(f"Authorization: Bearer {jwt} url?token=abc&x=1 password=hunter2")
    assert "eyJ" not in text
    assert "abc" not in text
    assert "hunter2" not in text
    assert "x=1" in text


def test_P5_6_no_access_log_keeps_an_acknowledge_link_s_token() -> None:
    # uvicorn's access line, as the web part and notify log it (the formatter redacts).
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("10.0.0.1:5000", "POST", "/acknowledge/s3cr3t.t0ken?x=1", "1.1", 200),
        None,
    )
    line = json.loads(JsonFormatter("web").format(record))["message"]
    assert "s3cr3t" not in line
    assert '"POST /acknowledge/[token]?x=1 HTTP/1.1" 200' in line


def test_json_log_line_is_redacted() -> None:
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "comment from %s", ("811218-9876",), None
    )
    line = json.loads(JsonFormatter("archive").format(record))
    assert line["message"] == "comment from [personnummer]"
    assert line["service"] == "archive"
    assert line["level"] == "INFO"
