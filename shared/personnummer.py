"""Swedish personal identity numbers (personnummer, samordningsnummer) in free text.

The maintained `personnummer` library decides whether a number is one: a real date
(day + 60 for a samordningsnummer, leap days by the century), a serial other than 000
and a valid check digit. This module only finds the candidates in text, so a ten-digit
invoice number is not taken for one. Used to keep them out of logs (L7), out of the
public register (L7, P7) and, later, to spot confidential comments (P7, P10.3).

What counts as a candidate: `[CC]YYMMDD[sep]NNNN` standing alone, the century 18, 19 or
20 (any other is an order number, not a person alive or dead in a register), the
separator `-`, `+`, a space or none, also URL-encoded (`%2D`, `%2B`, `%20`, any case) as
a request line or a query string writes it.
"""

import hashlib
import re

from personnummer import personnummer as _lib  # type: ignore[import-untyped]

_SEPARATORS = {"": "", "-": "-", "+": "+", " ": "-", "%2d": "-", "%2b": "+", "%20": "-"}

# Not glued to other digits or a hyphen, except that a URL escape such as `%20` may
# come right before the number (its own last character is a digit) but not part of one.
_PATTERN = re.compile(
    r"(?:(?<=%[0-9A-Fa-f]{2})|(?<![\d-]))(?<!%)(?<!%[0-9A-Fa-f])"
    r"((?:18|19|20)?\d{6})(%2[dDbB0]|[-+ ]?)(\d{4})(?![\d-])"
)


def _normalised(text: str) -> str | None:
    """The number as the library reads it, or None when the text is not shaped like one."""
    m = _PATTERN.fullmatch(text.strip())
    if m is None:
        return None
    date_part, sep, serial = m.groups()
    return date_part + _SEPARATORS[sep.lower()] + serial


def _valid(candidate: str) -> bool:
    return bool(_lib.valid(candidate))


def is_personnummer(text: str) -> bool:
    """Whether the text is exactly one valid personnummer or samordningsnummer."""
    candidate = _normalised(text)
    return candidate is not None and _valid(candidate)


def is_samordningsnummer(text: str) -> bool:
    """Whether the text is exactly one valid samordningsnummer (day of birth + 60)."""
    candidate = _normalised(text)
    if candidate is None or not _valid(candidate):
        return False
    return bool(_lib.parse(candidate).is_coordination_number())


def find_personnummer(text: str) -> list[tuple[int, int]]:
    """Spans (start, end) of every valid personnummer or samordningsnummer in the text."""
    spans = []
    for m in _PATTERN.finditer(text):
        date_part, sep, serial = m.groups()
        if _valid(date_part + _SEPARATORS[sep.lower()] + serial):
            spans.append(m.span())
    return spans


def mask_personnummer(text: str, mask: str = "[personnummer]") -> str:
    for start, end in reversed(find_personnummer(text)):
        text = text[:start] + mask + text[end:]
    return text


_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def letter_digest(key: str, length: int = 32) -> str:
    """SHA-256 of the key as `length` letters a–p (hex, each digit a letter): a stable
    id for a message header or a digest that holds no digits, so no run of them can
    ever be read as a personnummer by us or a kommun's mail filter (L7). Hex ids did:
    about one hex id in 3,300 held a valid samordningsnummer by chance."""
    return hashlib.sha256(key.encode()).hexdigest()[:length].translate(_LETTERS)
