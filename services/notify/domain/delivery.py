"""When a notification goes out: quiet hours, retries with backoff and jitter, digests."""

from datetime import datetime, time, timedelta

from shared.clock import SWEDEN
from shared.kommun import QuietHours


def _clock(hh_mm: str) -> time:
    hours, minutes = hh_mm.split(":")
    return time(int(hours), int(minutes))


def quiet_until(quiet: QuietHours | None, now: datetime) -> datetime | None:
    """The end of the recipient's quiet hours if `now` lies inside them, else None.
    Quiet hours are wall-clock time in Sweden and may pass midnight (22:00–07:00)."""
    if quiet is None:
        return None
    start, end = _clock(quiet.start), _clock(quiet.end)
    if start == end:
        return None
    local = now.astimezone(SWEDEN)
    today = local.time()
    inside = start <= today < end if start < end else today >= start or today < end
    if not inside:
        return None
    day = local.date() if today < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=SWEDEN).astimezone(now.tzinfo)
