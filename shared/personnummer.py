"""Swedish personal identity numbers (personnummer, samordningsnummer) in free text.

Only numbers with a real date and a valid check digit count, so a ten-digit invoice
number is not taken for one. Used to keep them out of logs (L7) and, later, to spot
confidential comments (P7, P10.3).
"""

import re
from datetime import date

# [CC]YYMMDD[-+]NNNN; day + 60 marks a samordningsnummer.
_PATTERN = re.compile(r"(?<![\d-])(\d{2})?(\d{2})(\d{2})(\d{2})([-+ ]?)(\d{3})(\d)(?![\d-])")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _date_ok(century: str | None, yy: str, mm: str, dd: str) -> bool:
    day = int(dd)
    if day > 60:  # samordningsnummer
        day -= 60
    year = int(century + yy) if century else 2000 + int(yy)
    try:
        date(year, int(mm), day)
    except ValueError:
        return False
    return True


def find_personnummer(text: str) -> list[tuple[int, int]]:
    """Spans (start, end) of every valid personnummer in the text."""
    spans = []
    for m in _PATTERN.finditer(text):
        century, yy, mm, dd, _sep, serial, check = m.groups()
        if century is not None and century not in ("18", "19", "20"):
            continue
        if _date_ok(century, yy, mm, dd) and _luhn_ok(yy + mm + dd + serial + check):
            spans.append(m.span())
    return spans


def mask_personnummer(text: str, mask: str = "[personnummer]") -> str:
    for start, end in reversed(find_personnummer(text)):
        text = text[:start] + mask + text[end:]
    return text
