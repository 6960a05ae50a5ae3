"""Working-day arithmetic: deadlines skip weekends and England and Wales bank holidays."""

import datetime as dt
from functools import lru_cache

import holidays
from django.utils import timezone

WORKDAY_START = dt.time(9, 0)

# What a fresh installation seeds into escalation.DeadlinePolicy (editable in the admin), and
# what is used for a tier and priority whose row an administrator deleted: working days to
# first response, to resolution, and the warning point (working days before each deadline).
DEFAULT_POLICY = {
    (1, "urgent"): (1, 5, 1),
    (1, "high"): (2, 10, 1),
    (1, "normal"): (3, 20, 2),
    (1, "low"): (5, 30, 2),
    (2, "urgent"): (2, 10, 2),
    (2, "high"): (3, 15, 2),
    (2, "normal"): (5, 20, 3),
    (2, "low"): (5, 30, 3),
    (3, "urgent"): (3, 15, 2),
    (3, "high"): (5, 20, 3),
    (3, "normal"): (10, 30, 5),
    (3, "low"): (10, 40, 5),
}

# The columns an item's deadlines live in (engagement.Concern and escalation.Theme alike).
DEADLINE_FIELDS = (
    "first_response_due_at",
    "first_response_warn_at",
    "resolution_due_at",
    "resolution_warn_at",
)


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


@lru_cache(maxsize=32)
def _weekday_bank_holidays(year: int) -> tuple[dt.date, ...]:
    return tuple(sorted(day for day in _bank_holidays(year) if day.weekday() < 5))


def working_days_between(start: dt.datetime, end: dt.datetime) -> int:
    """Working days that began after `start` and no later than `end` (a pause's length).

    Counted, not walked: the officers' list shows "overdue by N working days" for every row,
    and an item overdue for years would otherwise cost a thousand calendar look-ups a row.
    """
    first = timezone.localtime(start).date()
    last = timezone.localtime(end).date()
    if last <= first:
        return 0
    full_weeks, odd_days = divmod((last - first).days, 7)
    count = full_weeks * 5
    for offset in range(1, odd_days + 1):
        if (first + dt.timedelta(days=offset)).weekday() < 5:
            count += 1
    for year in range(first.year, last.year + 1):
        count -= sum(1 for day in _weekday_bank_holidays(year) if first < day <= last)
    return count


def policy_table() -> dict[tuple[int, str], tuple[int, int, int]]:
    """Every (tier, priority) → (first response, resolution, warning) days, in one query."""
    from escalation.models import DeadlinePolicy  # escalation depends on engagement's models

    table = dict(DEFAULT_POLICY)
    rows = DeadlinePolicy.objects.values_list(
        "tier", "priority", "first_response_days", "resolution_days", "warning_days"
    )
    for tier, priority, first_response, resolution, warning in rows:
        table[(tier, priority)] = (first_response, resolution, warning)
    return table


def _warning_point(start: dt.datetime, days: int, warning_days: int) -> dt.datetime | None:
    # A deadline no further away than the warning point has no separate warning: the item's
    # arrival already tells its owners.
    if days <= warning_days:
        return None
    return add_working_days(start, days - warning_days)


def deadlines_for(
    *, tier: int, priority: str, start: dt.datetime, table: dict | None = None
) -> dict[str, dt.datetime | None]:
    """The deadline columns for an item arriving at `tier` at `start`, from the policy.

    Pass `table` (from policy_table()) when computing many; otherwise it costs one query.
    """
    first_response, resolution, warning = (table or policy_table())[(tier, priority)]
    return {
        "first_response_due_at": add_working_days(start, first_response),
        "first_response_warn_at": _warning_point(start, first_response, warning),
        "resolution_due_at": add_working_days(start, resolution),
        "resolution_warn_at": _warning_point(start, resolution, warning),
    }
