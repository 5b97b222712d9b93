"""Time, behind a seam so that time-dependent rules can be tested with a controlled clock."""

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """Now, to the millisecond: what MongoDB stores, so a value reads back unchanged."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# Deadlines, quiet hours and diary years are wall-clock time in Sweden.
SWEDEN = ZoneInfo("Europe/Stockholm")
