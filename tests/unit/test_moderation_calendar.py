"""Moderation's deadlines in monitored hours (B1 item 7, P5.3, L2): the clock runs only
inside the plan's window on monitored days, never on Swedish holidays unless the plan
monitors them; no monitoring means calendar hours."""

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.moderation.domain.calendar import (
    due,
    is_holiday,
    is_monitored,
    monitored_between,
    window_length,
)
from shared.events import MonitoringRef

SE = ZoneInfo("Europe/Stockholm")
WEEKDAYS = MonitoringRef(days=["mon", "tue", "wed", "thu", "fri"], start="08:00", end="16:00")
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def se(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A Swedish wall-clock time, as the UTC instant the functions take and give."""
    return datetime(year, month, day, hour, minute, tzinfo=SE).astimezone(UTC)


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 1, 1), "nyårsdagen"),
        (date(2026, 1, 6), "trettondedag jul"),
        (date(2026, 4, 3), "långfredagen"),
        (date(2026, 4, 6), "annandag påsk"),
        (date(2026, 5, 1), "första maj"),
        (date(2026, 5, 14), "Kristi himmelsfärdsdag"),
        (date(2026, 6, 6), "nationaldagen"),
        (date(2026, 6, 19), "midsommarafton (de facto)"),
        (date(2026, 6, 20), "midsommardagen"),
        (date(2026, 10, 31), "alla helgons dag"),
        (date(2026, 12, 24), "julafton (de facto)"),
        (date(2026, 12, 25), "juldagen"),
        (date(2026, 12, 26), "annandag jul"),
        (date(2026, 12, 31), "nyårsafton (de facto)"),
        (date(2027, 3, 26), "långfredagen"),
        (date(2027, 3, 29), "annandag påsk"),
        (date(2027, 5, 6), "Kristi himmelsfärdsdag"),
        (date(2027, 6, 25), "midsommarafton (de facto)"),
        (date(2027, 6, 26), "midsommardagen"),
        (date(2027, 11, 6), "alla helgons dag"),
        (date(2027, 12, 24), "julafton (de facto)"),
        (date(2027, 12, 25), "juldagen"),
    ],
)
def test_swedish_holidays_and_eves(day: date, name: str) -> None:
    assert is_holiday(day), name


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 4),  # an ordinary Sunday: the plan's days decide, not the calendar
        date(2026, 1, 5),  # trettondagsafton: a half day at most, monitored as usual
        date(2026, 4, 2),  # skärtorsdagen
        date(2026, 4, 30),  # valborgsmässoafton
        date(2026, 5, 15),  # the squeeze day after Ascension
        date(2026, 12, 23),
        date(2027, 6, 24),
    ],
)
def test_ordinary_days_are_not_holidays(day: date) -> None:
    assert not is_holiday(day)


def test_B1_7_removal_deadline_counts_only_monitored_hours() -> None:
    # Monday 10:00, 48 h at 8 h a weekday: 6 Mon + 8 x 4 (Tue-Fri) + 8 next Mon = 46,
    # so the last 2 h fall on Tuesday of the next week.
    start = se(2026, 3, 2, 10, 0)
    assert due(start, 48, WEEKDAYS) == se(2026, 3, 10, 10, 0)
    assert monitored_between(start, se(2026, 3, 10, 10, 0), WEEKDAYS) == timedelta(hours=48)
    # Evenings and the weekend add nothing.
    assert monitored_between(se(2026, 3, 6, 16, 0), se(2026, 3, 9, 8, 0), WEEKDAYS) == timedelta()


def test_P5_3_answer_deadline_skips_weekend_and_holiday() -> None:
    # Friday 2 January 2026, 15:00: 1 h on Friday, Monday 8 h, Tuesday is trettondedag
    # jul (6 January), Wednesday 8 h, and the last 7 h end Thursday at 15:00.
    assert due(se(2026, 1, 2, 15, 0), 24, WEEKDAYS) == se(2026, 1, 8, 15, 0)
    # Friday 3 April 2026 is långfredagen and Monday annandag påsk: a question on
    # skärtorsdagen 15:00 waits for Tuesday, then 8 + 8 + 7 h.
    assert due(se(2026, 4, 2, 15, 0), 24, WEEKDAYS) == se(2026, 4, 9, 15, 0)


def test_P5_3_christmas_and_its_eves_are_not_monitored_weekdays() -> None:
    # Wednesday 23 December 15:00: julafton (Thu), juldagen (Fri), the weekend, then
    # Monday 28 and Tuesday 29 (8 + 8), and 7 h on Wednesday 30 December.
    assert due(se(2026, 12, 23, 15, 0), 24, WEEKDAYS) == se(2026, 12, 30, 15, 0)
    # Nyårsafton and nyårsdagen likewise: 1 h Wed 30, then Monday 4 January 2027.
    assert due(se(2026, 12, 30, 15, 0), 9, WEEKDAYS) == se(2027, 1, 4, 16, 0)


def test_B1_7_public_holidays_monitored_when_plan_says_so() -> None:
    days = dict(days=EVERY_DAY, start="09:00", end="17:00")
    closed = MonitoringRef(**days)
    open_ = MonitoringRef(**days, public_holidays=True)
    # Kristi himmelsfärdsdag, Thursday 14 May 2026.
    start = se(2026, 5, 13, 17, 0)
    assert due(start, 8, open_) == se(2026, 5, 14, 17, 0)
    assert due(start, 8, closed) == se(2026, 5, 15, 17, 0)
    assert is_monitored(se(2026, 5, 14, 12, 0), open_)
    assert not is_monitored(se(2026, 5, 14, 12, 0), closed)
    # Midsommarafton (Fri 19 June) and midsommardagen (Sat 20 June 2026): a plan
    # that watches every day but not holidays resumes on Sunday.
    assert due(se(2026, 6, 18, 17, 0), 8, closed) == se(2026, 6, 21, 17, 0)
    assert due(se(2026, 6, 18, 17, 0), 16, open_) == se(2026, 6, 20, 17, 0)
    # Juldagen 2027 is a Saturday: a weekend-watching plan skips it unless it says so.
    saturdays = MonitoringRef(days=["sat"], start="10:00", end="12:00")
    assert not is_monitored(se(2027, 12, 25, 11, 0), saturdays)
    assert is_monitored(se(2027, 12, 18, 11, 0), saturdays)


def test_L2_clock_starts_at_the_next_window_when_arriving_outside_it() -> None:
    # Tuesday 20:00: nothing counts until Wednesday 08:00.
    assert due(se(2026, 3, 3, 20, 0), 2, WEEKDAYS) == se(2026, 3, 4, 10, 0)
    # Tuesday 06:00: the window opens at 08:00 the same day.
    assert due(se(2026, 3, 3, 6, 0), 2, WEEKDAYS) == se(2026, 3, 3, 10, 0)
    # Saturday: Monday morning.
    assert due(se(2026, 3, 7, 12, 0), 0.5, WEEKDAYS) == se(2026, 3, 9, 8, 30)
    # Exactly at closing time the window is over; a deadline may end there.
    assert due(se(2026, 3, 3, 16, 0), 1, WEEKDAYS) == se(2026, 3, 4, 9, 0)
    assert due(se(2026, 3, 3, 15, 0), 1, WEEKDAYS) == se(2026, 3, 3, 16, 0)


def test_is_monitored_window_is_half_open() -> None:
    assert is_monitored(se(2026, 3, 3, 8, 0), WEEKDAYS)
    assert is_monitored(se(2026, 3, 3, 15, 59), WEEKDAYS)
    assert not is_monitored(se(2026, 3, 3, 16, 0), WEEKDAYS)
    assert not is_monitored(se(2026, 3, 3, 7, 59), WEEKDAYS)
    assert not is_monitored(se(2026, 3, 7, 12, 0), WEEKDAYS)  # Saturday
    assert is_monitored(se(2026, 3, 7, 3, 0), None)


def test_no_monitoring_means_calendar_hours() -> None:
    start = se(2026, 12, 24, 15, 0)  # julafton: no exceptions without a schedule
    assert due(start, 48, None) == start + timedelta(hours=48)
    assert monitored_between(start, start + timedelta(hours=5), None) == timedelta(hours=5)
    assert window_length(None) == timedelta(hours=24)
    # Elapsed time across the spring DST change: 24 h later is 13:00 local, not 12:00.
    assert due(se(2026, 3, 28, 12, 0), 24, None) == se(2026, 3, 29, 13, 0)


def test_DST_spring_forward_window_is_still_its_wall_clock_length() -> None:
    every_day = MonitoringRef(days=EVERY_DAY, start="08:00", end="16:00")
    # Sunday 29 March 2026 has 23 hours; its 08:00-16:00 window still has 8.
    assert monitored_between(se(2026, 3, 29, 0, 0), se(2026, 3, 30, 0, 0), every_day) == (
        timedelta(hours=8)
    )
    assert due(se(2026, 3, 28, 8, 0), 16, every_day) == se(2026, 3, 29, 16, 0)
    assert due(se(2026, 3, 28, 8, 0), 16, every_day) == datetime(2026, 3, 29, 14, tzinfo=UTC)
    assert window_length(every_day) == timedelta(hours=8)


def test_DST_fall_back_window_is_still_its_wall_clock_length() -> None:
    every_day = MonitoringRef(days=EVERY_DAY, start="08:00", end="16:00")
    # Sunday 25 October 2026 has 25 hours.
    assert monitored_between(se(2026, 10, 25, 0, 0), se(2026, 10, 26, 0, 0), every_day) == (
        timedelta(hours=8)
    )
    assert due(se(2026, 10, 24, 12, 0), 8, every_day) == se(2026, 10, 25, 12, 0)
    assert due(se(2026, 10, 24, 12, 0), 8, every_day) == datetime(2026, 10, 25, 11, tzinfo=UTC)


def test_DST_window_across_the_change_lasts_the_hours_that_pass() -> None:
    night = MonitoringRef(days=EVERY_DAY, start="01:00", end="04:00")
    spring = monitored_between(se(2026, 3, 29, 0, 0), se(2026, 3, 29, 12, 0), night)
    autumn = monitored_between(se(2026, 10, 25, 0, 0), se(2026, 10, 25, 12, 0), night)
    assert (spring, autumn) == (timedelta(hours=2), timedelta(hours=4))


def test_monitored_between_is_consistent_with_due() -> None:
    rng = random.Random(9)  # noqa: S311 - a reproducible sample, not a secret
    schedules = [
        WEEKDAYS,
        MonitoringRef(days=EVERY_DAY, start="01:00", end="04:00"),
        MonitoringRef(days=["sat", "sun"], start="10:30", end="14:15", public_holidays=True),
        MonitoringRef(days=["mon", "wed", "fri"], start="07:00:30", end="22:59"),
        None,
    ]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(400):
        start = base + timedelta(seconds=rng.randrange(2 * 365 * 24 * 3600))
        hours = rng.choice([0.25, 1, 8, 24, 48, 72, 168, rng.uniform(0, 200)])
        monitoring = rng.choice(schedules)
        end = due(start, hours, monitoring)
        assert end.tzinfo is UTC
        assert end >= start
        assert monitored_between(start, end, monitoring) == timedelta(hours=hours)
        # Nothing is due earlier: a minute before, less time has been monitored.
        if hours:
            before = end - timedelta(minutes=1)
            assert monitored_between(start, before, monitoring) < timedelta(hours=hours)


def test_inputs_in_any_zone_outputs_in_utc() -> None:
    start = datetime(2026, 3, 2, 10, 0, tzinfo=SE)
    assert due(start, 1, WEEKDAYS) == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert due(start, 1, WEEKDAYS).tzinfo is UTC
    with pytest.raises(ValueError, match="aware"):
        due(datetime(2026, 3, 2, 10, 0), 1, WEEKDAYS)
    with pytest.raises(ValueError, match="hours"):
        due(start, -1, WEEKDAYS)


def test_a_schedule_without_a_monitored_day_in_a_year_is_refused() -> None:
    # Built without validation: an event could never carry an empty list of days.
    nobody = MonitoringRef.model_construct(days=[], start="08:00", end="16:00")
    with pytest.raises(ValueError, match="no monitored day in a whole year"):
        due(se(2026, 3, 2, 10, 0), 1, nobody)
    assert monitored_between(se(2026, 1, 1, 0, 0), se(2027, 1, 1, 0, 0), nobody) == timedelta()
    assert not is_monitored(se(2026, 3, 2, 10, 0), nobody)


def test_a_window_that_ends_before_it_starts_is_refused() -> None:
    backwards = MonitoringRef(days=["mon"], start="16:00", end="08:00")
    with pytest.raises(ValueError, match="must end after it starts"):
        window_length(backwards)


def test_fast_enough_for_every_comment() -> None:
    start = se(2026, 3, 2, 10, 0)
    began = datetime.now(UTC)
    for i in range(2000):
        due(start + timedelta(minutes=i), 48, WEEKDAYS)
    assert datetime.now(UTC) - began < timedelta(seconds=2)
