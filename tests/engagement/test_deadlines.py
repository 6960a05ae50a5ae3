import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from engagement.deadlines import (
    DEFAULT_POLICY,
    add_working_days,
    deadlines_for,
    is_working_day,
    working_days_between,
)

LONDON = ZoneInfo("Europe/London")


def at(year, month, day, hour=10, minute=0):
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON)


@pytest.mark.parametrize(
    "start, days, expected",
    [
        # Monday + 3 = Thursday, same time of day.
        (at(2026, 6, 1), 3, at(2026, 6, 4)),
        # Friday + 1 skips the weekend.
        (at(2026, 6, 5, 16, 30), 1, at(2026, 6, 8, 16, 30)),
        # Thursday + 5 crosses one weekend.
        (at(2026, 6, 4), 5, at(2026, 6, 11)),
        # Christmas 2026: Friday 25th, Boxing Day on Saturday so Monday 28th is its substitute.
        (at(2026, 12, 24), 1, at(2026, 12, 29)),
        (at(2026, 12, 24), 2, at(2026, 12, 30)),
        # Easter 2027: Good Friday 26 March and Easter Monday 29 March.
        (at(2027, 3, 25), 1, at(2027, 3, 30)),
        # Late Summer bank holiday 2026 (Monday 31 August).
        (at(2026, 8, 28), 1, at(2026, 9, 1)),
        # New Year's Day 2027 is a Friday.
        (at(2026, 12, 31), 1, at(2027, 1, 4)),
        # Zero days is the start itself.
        (at(2026, 6, 3), 0, at(2026, 6, 3)),
    ],
)
def test_it_adds_working_days_over_weekends_and_england_bank_holidays(start, days, expected):
    assert add_working_days(start, days) == expected


def test_it_counts_a_saturday_start_from_nine_on_the_next_working_day():
    saturday = at(2026, 6, 6, 14, 45)
    assert add_working_days(saturday, 0) == at(2026, 6, 8, 9, 0)
    assert add_working_days(saturday, 1) == at(2026, 6, 9, 9, 0)


def test_it_counts_a_bank_holiday_start_from_nine_on_the_next_working_day():
    easter_monday = at(2027, 3, 29, 11, 0)
    assert add_working_days(easter_monday, 1) == at(2027, 3, 31, 9, 0)


def test_it_keeps_the_local_time_across_the_clocks_going_forward():
    # British Summer Time starts on Sunday 29 March 2026.
    friday = at(2026, 3, 27, 10, 0)
    monday = add_working_days(friday, 1)
    assert monday == at(2026, 3, 30, 10, 0)
    assert monday.utcoffset() == dt.timedelta(hours=1)


def test_it_accepts_a_utc_start_and_answers_in_london_time():
    start = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)  # 10:00 in London
    assert add_working_days(start, 1) == at(2026, 6, 2, 10, 0)


@pytest.mark.parametrize(
    "start, end, expected",
    [
        (at(2026, 6, 5), at(2026, 6, 5, 17), 0),  # the same day
        (at(2026, 6, 5), at(2026, 6, 8), 1),  # Friday to Monday: only Monday
        (at(2026, 6, 5), at(2026, 6, 7), 0),  # Friday to Sunday: none
        (at(2026, 6, 5), at(2026, 6, 9), 2),  # Friday to Tuesday
        (at(2026, 6, 1), at(2026, 6, 15), 10),  # two whole weeks
        (at(2026, 12, 24), at(2026, 12, 29), 1),  # over Christmas: only the 29th
        (at(2027, 3, 25), at(2027, 3, 30), 1),  # over Easter: only the 30th
        (at(2026, 6, 9), at(2026, 6, 5), 0),  # backwards is nothing
    ],
)
def test_it_counts_working_days_between_two_moments(start, end, expected):
    assert working_days_between(start, end) == expected


def test_it_knows_weekends_and_bank_holidays_are_not_working_days():
    assert is_working_day(dt.date(2026, 6, 5))
    assert not is_working_day(dt.date(2026, 6, 6))
    assert not is_working_day(dt.date(2026, 12, 25))
    assert not is_working_day(dt.date(2026, 12, 28))
    assert not is_working_day(dt.date(2027, 3, 29))


@pytest.mark.parametrize(
    "priority, first_response, resolution",
    [("urgent", 1, 5), ("high", 2, 10), ("normal", 3, 20), ("low", 5, 30)],
)
def test_it_sets_tier1_deadlines_by_priority(priority, first_response, resolution):
    start = at(2026, 6, 1)
    due = deadlines_for(tier=1, priority=priority, start=start, table=DEFAULT_POLICY)
    assert (due["first_response_due_at"], due["resolution_due_at"]) == (
        add_working_days(start, first_response),
        add_working_days(start, resolution),
    )


@given(
    start=st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2029, 12, 31)),
    span=st.integers(min_value=-10, max_value=2500),
)
def test_it_counts_working_days_between_as_a_walk_through_the_calendar_would(start, span):
    start = start.replace(tzinfo=LONDON)
    end = start + dt.timedelta(days=span)
    first, last = timezone.localtime(start).date(), timezone.localtime(end).date()
    walked = sum(
        1
        for offset in range(1, (last - first).days + 1)
        if is_working_day(first + dt.timedelta(days=offset))
    )
    assert working_days_between(start, end) == walked
