"""Working-day arithmetic: deadlines skip weekends and England and Wales bank holidays."""

import datetime as dt
from functools import lru_cache

import holidays
from django.utils import timezone

WORKDAY_START = dt.time(9, 0)

# Working days to first response and to resolution at tier 1, by priority.
DEFAULT_TIER1_POLICY = {
    "urgent": (1, 5),
    "high": (2, 10),
    "normal": (3, 20),
    "low": (5, 30),
}


@lru_cache(maxsize=32)
def _bank_holidays(year: int):
    return holidays.country_holidays("GB", subdiv="ENG", years=year)


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """The same local time `days` working days after `start`.

    A start outside working days counts from 09:00 on the next working day.
    """
    local = timezone.localtime(start)
    day = local.date()
    at = local.time()
    if not is_working_day(day):
        while not is_working_day(day):
            day += dt.timedelta(days=1)
        at = WORKDAY_START
    remaining = days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    naive = dt.datetime.combine(day, at)
    return timezone.make_aware(naive, timezone.get_current_timezone())


def working_days_between(start: dt.datetime, end: dt.datetime) -> int:
    """Working days that began after `start` and no later than `end` (a pause's length)."""
    first = timezone.localtime(start).date()
    last = timezone.localtime(end).date()
    count = 0
    day = first + dt.timedelta(days=1)
    while day <= last:
        if is_working_day(day):
            count += 1
        day += dt.timedelta(days=1)
    return count


def tier1_deadlines(start: dt.datetime, priority: str) -> tuple[dt.datetime, dt.datetime]:
    first_response, resolution = DEFAULT_TIER1_POLICY[priority]
    return add_working_days(start, first_response), add_working_days(start, resolution)
