"""Deadlines counted in monitored hours (B1 item 7, P5.3, L2).

A plan promises when someone looks at the account (`MonitoringRef`: weekdays and a
window of local Swedish wall-clock time). A deadline of N hours is N hours *of that
monitored time*, as business-hours SLAs are in help-desk software: the clock runs only
inside the window on monitored days, and something arriving outside it starts the clock
at the next window. No monitoring (`None`) means around the clock: plain elapsed hours.

Choices:
- Days off are Sweden's public holidays (allmänna helgdagar) *and* midsommarafton,
  julafton and nyårsafton, which the `holidays` package files under its DE_FACTO
  category: the annual leave act (semesterlagen, SFS 1977:480) treats them as Sundays,
  and offices, the kommun's included, close on them, so a plan's "weekdays" do not cover
  them. A plan that monitors on holidays (`public_holidays`) monitors on these eves
  too. Ordinary Sundays are not holidays here; whether Sunday is monitored is the
  plan's `days`.
- A window is wall-clock time in Europe/Stockholm, so 08:00-16:00 is 8 hours on the
  23- and 25-hour days of a DST change too. A window that straddles the change itself
  (e.g. 01:00-04:00) lasts the hours that really pass; a start at a time that does not
  exist that night (02:30 in spring) counts from the hour after it.
- Windows are half-open, [start, end): at 16:00 sharp a 08:00-16:00 window is closed.

Everything takes and returns aware datetimes (UTC out); the work is one step per day,
with a day's window and the holidays of a year computed once and cached.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from math import isfinite
from zoneinfo import ZoneInfo

from holidays.constants import DE_FACTO, PUBLIC
from holidays.countries.sweden import Sweden

from shared.events import MonitoringRef

SWEDEN = ZoneInfo("Europe/Stockholm")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# More days in a row than any year has without a monitored day means there is none.
_MAX_IDLE_DAYS = 367
_ZERO = timedelta(0)


@lru_cache(maxsize=64)
def swedish_holidays(year: int) -> frozenset[date]:
    """Public holidays and the three de facto ones (midsommar-, jul-, nyårsafton).
    `include_sundays=False`: the package otherwise counts every Sunday as a holiday."""
    found = Sweden(years=year, include_sundays=False, categories=(PUBLIC, DE_FACTO))
    return frozenset(found.keys())


def is_holiday(day: date) -> bool:
    return day in swedish_holidays(day.year)


@dataclass(frozen=True)
class _Schedule:
    weekdays: frozenset[int]
    start: time
    end: time
    on_holidays: bool

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's monitored window in UTC, or None if nobody looks that day."""
        if day.weekday() not in self.weekdays:
            return None
        if not self.on_holidays and is_holiday(day):
            return None
        return _utc_window(day, self.start, self.end)


@lru_cache(maxsize=4096)
def _utc_window(day: date, start: time, end: time) -> tuple[datetime, datetime]:
    return (
        datetime.combine(day, start, SWEDEN).astimezone(UTC),
        datetime.combine(day, end, SWEDEN).astimezone(UTC),
    )


@lru_cache(maxsize=256)
def _compile(days: tuple[str, ...], start: str, end: str, on_holidays: bool) -> _Schedule:
    opens, closes = time.fromisoformat(start), time.fromisoformat(end)
    if closes <= opens:
        # The registry refuses such plans (B1); an event carrying one is a bug upstream.
        raise ValueError(f"monitoring must end after it starts: {start}-{end}")
    unknown = set(days) - set(_WEEKDAYS)
    if unknown:
        raise ValueError(f"unknown weekdays in monitoring: {sorted(unknown)}")
    return _Schedule(frozenset(_WEEKDAYS.index(d) for d in days), opens, closes, on_holidays)


def _schedule(monitoring: MonitoringRef) -> _Schedule:
    return _compile(
        tuple(monitoring.days), monitoring.start, monitoring.end, monitoring.public_holidays
    )


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {moment!r}")
    return moment.astimezone(UTC)


def _windows(schedule: _Schedule, since: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The monitored windows that end after `since`, in order, the first one clipped
    to begin at `since`. Raises ValueError after a year without any."""
    day = since.astimezone(SWEDEN).date()
    idle = 0
    while True:
        window = schedule.window(day)
        day += timedelta(days=1)
        if window is None:
            idle += 1
            if idle > _MAX_IDLE_DAYS:
                raise ValueError(
                    "the monitoring schedule has no monitored day in a whole year "
                    f"(days={sorted(schedule.weekdays)}, public holidays "
                    f"{'monitored' if schedule.on_holidays else 'not monitored'})"
                )
            continue
        idle = 0
        opens, closes = window
        if closes > since:
            yield max(opens, since), closes


def due(start: datetime, hours: float, monitoring: MonitoringRef | None) -> datetime:
    """The moment when `hours` of monitored time have passed since `start` (B1 item 7,
    P5.3). Arriving outside the window, the clock starts when the next window opens; a
    deadline falling exactly at a window's end is that end, not the next opening."""
    start = _aware(start, "start")
    if not isfinite(hours) or hours < 0:
        raise ValueError(f"hours must be a finite number >= 0, got {hours}")
    remaining = timedelta(hours=hours)
    if monitoring is None:
        return start + remaining
    for opens, closes in _windows(_schedule(monitoring), start):
        if remaining <= closes - opens:
            return opens + remaining
        remaining -= closes - opens
    raise AssertionError("unreachable: _windows never ends")  # pragma: no cover


def monitored_between(
    start: datetime, end: datetime, monitoring: MonitoringRef | None
) -> timedelta:
    """How much monitored time lies in [start, end); zero if end is not after start."""
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        return _ZERO
    if monitoring is None:
        return end - start
    schedule = _schedule(monitoring)
    total = _ZERO
    day = start.astimezone(SWEDEN).date()
    last = end.astimezone(SWEDEN).date()
    # Bounded by the dates, so a schedule with no monitored day just counts zero.
    while day <= last:
        window = schedule.window(day)
        day += timedelta(days=1)
        if window is not None:
            opens, closes = max(window[0], start), min(window[1], end)
            if closes > opens:
                total += closes - opens
    return total


def window_length(monitoring: MonitoringRef | None) -> timedelta:
    """One monitored day's window by the wall clock (24 hours without monitoring)."""
    if monitoring is None:
        return timedelta(hours=24)
    schedule = _schedule(monitoring)
    return datetime.combine(date.min, schedule.end) - datetime.combine(date.min, schedule.start)


def is_monitored(at: datetime, monitoring: MonitoringRef | None) -> bool:
    """Whether `at` falls inside a monitored window (L2: someone is meant to look)."""
    at = _aware(at, "at")
    if monitoring is None:
        return True
    window = _schedule(monitoring).window(at.astimezone(SWEDEN).date())
    return window is not None and window[0] <= at < window[1]
