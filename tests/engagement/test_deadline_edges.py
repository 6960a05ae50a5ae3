"""Deadlines at the moments the calendar is awkward: after hours, weekends, bank holidays, the
clock changes, the new year and a leap day. Each expectation is worked out by hand from the
England and Wales bank holidays, not from the code under test."""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from engagement import deadlines, services
from engagement.models import Concern
from tests import factories

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC


def london(year, month, day, hour, minute=0, fold=0):
    return dt.datetime(year, month, day, hour, minute, fold=fold, tzinfo=LONDON)


# (why, reported at, 1 working day later, 3 later, 20 later) in London time.
EDGES = [
    pytest.param(
        london(2027, 1, 13, 10),
        london(2027, 1, 14, 10),
        london(2027, 1, 18, 10),
        london(2027, 2, 10, 10),
        id="weekday-morning",
    ),
    pytest.param(
        # After hours on a working day: the same time of day, that many working days on.
        london(2027, 6, 16, 20),
        london(2027, 6, 17, 20),
        london(2027, 6, 21, 20),
        london(2027, 7, 14, 20),
        id="weekday-evening-in-summer-time",
    ),
    pytest.param(
        # A weekend report counts from 09:00 on Monday.
        london(2027, 1, 16, 12),
        london(2027, 1, 19, 9),
        london(2027, 1, 21, 9),
        london(2027, 2, 15, 9),
        id="saturday",
    ),
    pytest.param(
        # Good Friday, Easter weekend, Easter Monday: counts from 09:00 on Tuesday 30 March,
        # after the clocks went forward on Easter Sunday.
        london(2027, 3, 26, 10),
        london(2027, 3, 31, 9),
        london(2027, 4, 2, 9),
        london(2027, 4, 27, 9),
        id="good-friday-2027",
    ),
    pytest.param(
        # The late August bank holiday is Monday 30 August 2027.
        london(2027, 8, 27, 16),
        london(2027, 8, 31, 16),
        london(2027, 9, 2, 16),
        london(2027, 9, 27, 16),
        id="friday-before-the-august-bank-holiday",
    ),
    pytest.param(
        # Christmas Day is a Friday, Boxing Day a Saturday with its substitute on Monday 28th.
        london(2026, 12, 24, 23, 30),
        london(2026, 12, 29, 23, 30),
        london(2026, 12, 31, 23, 30),
        london(2027, 1, 26, 23, 30),
        id="christmas-eve-late",
    ),
    pytest.param(
        # New Year's Day 2027 is a holiday of the next year: the count must know it.
        london(2026, 12, 31, 23, 59),
        london(2027, 1, 4, 23, 59),
        london(2027, 1, 6, 23, 59),
        london(2027, 1, 29, 23, 59),
        id="new-years-eve-at-midnight",
    ),
    pytest.param(
        # 00:59 UTC on the last Sunday of March: a minute before the clocks go forward.
        dt.datetime(2027, 3, 28, 0, 59, tzinfo=UTC),
        london(2027, 3, 31, 9),
        london(2027, 4, 2, 9),
        london(2027, 4, 27, 9),
        id="clocks-go-forward-minute-before",
    ),
    pytest.param(
        # 01:30 UTC is 02:30 BST; 01:30 local does not exist that night.
        dt.datetime(2027, 3, 28, 1, 30, tzinfo=UTC),
        london(2027, 3, 31, 9),
        london(2027, 4, 2, 9),
        london(2027, 4, 27, 9),
        id="clocks-go-forward-after",
    ),
    pytest.param(
        # 01:30 on the last Sunday of October happens twice; both count from Monday 09:00.
        london(2027, 10, 31, 1, 30),
        london(2027, 11, 2, 9),
        london(2027, 11, 4, 9),
        london(2027, 11, 29, 9),
        id="clocks-go-back-first-0130",
    ),
    pytest.param(
        london(2027, 10, 31, 1, 30, fold=1),
        london(2027, 11, 2, 9),
        london(2027, 11, 4, 9),
        london(2027, 11, 29, 9),
        id="clocks-go-back-second-0130",
    ),
    pytest.param(
        # A working day's 01:30 kept across the change: 25 March is GMT, 30 March is BST.
        london(2027, 3, 25, 1, 30),
        london(2027, 3, 30, 1, 30),
        london(2027, 4, 1, 1, 30),
        london(2027, 4, 26, 1, 30),
        id="working-day-0130-across-the-spring-change",
    ),
    pytest.param(
        london(2027, 10, 29, 1, 30),
        london(2027, 11, 1, 1, 30),
        london(2027, 11, 3, 1, 30),
        london(2027, 11, 26, 1, 30),
        id="working-day-0130-across-the-autumn-change",
    ),
    pytest.param(
        london(2028, 2, 29, 12),
        london(2028, 3, 1, 12),
        london(2028, 3, 3, 12),
        london(2028, 3, 28, 12),
        id="leap-day-2028",
    ),
]


def assert_a_real_london_time(moment: dt.datetime) -> None:
    """The wall-clock time exists and is not ambiguous: both folds name the same instant."""
    wall = moment.astimezone(LONDON).replace(tzinfo=None)
    earlier = wall.replace(fold=0, tzinfo=LONDON).astimezone(UTC)
    later = wall.replace(fold=1, tzinfo=LONDON).astimezone(UTC)
    assert earlier == later == moment.astimezone(UTC), f"{wall} is not a single London time"


@pytest.mark.parametrize(("reported", "one", "three", "twenty"), EDGES)
def test_it_counts_working_days_at_the_awkward_moments(reported, one, three, twenty):
    for days, expected in ((1, one), (3, three), (20, twenty)):
        due = deadlines.add_working_days(reported, days)
        assert due == expected, f"{days} working days after {reported}"
        assert_a_real_london_time(due)


@pytest.mark.parametrize(("reported", "one", "three", "twenty"), EDGES)
def test_it_stores_the_deadlines_of_a_concern_reported_at_that_moment(
    reported, one, three, twenty, business, owner, time_machine
):
    time_machine.move_to(reported, tick=False)

    concern, _ = services.concern_submit(
        business=business,
        reporter=owner,
        submission_key=uuid.uuid4(),
        details=services.ConcernDetails(
            category=factories.category("theft"),
            description="Two people took bottles of gin from the shelf by the door.",
            occurred_on=reported.astimezone(LONDON).date(),
            location="1 High Street, Poole",
            impact=Concern.Impact.SOME,
            contact_name="Olive Owner",
            contact_email="owner@example.org",
        ),
    )

    concern.refresh_from_db()
    # The seeded tier-1 policy at normal priority: first response in 3, resolution in 20.
    assert concern.first_response_due_at == three
    assert concern.resolution_due_at == twenty
    for column in deadlines.DEADLINE_FIELDS:
        if getattr(concern, column) is not None:
            assert_a_real_london_time(getattr(concern, column))


def test_it_counts_a_pause_in_working_days_across_the_new_year():
    # Paused from New Year's Eve to Tuesday 5 January 2027: the 1st is a holiday, the 2nd and
    # 3rd a weekend, so Monday 4th and Tuesday 5th are the two working days the clock stood still.
    assert deadlines.working_days_between(london(2026, 12, 31, 15), london(2027, 1, 5, 11)) == 2


def test_it_counts_no_working_days_over_the_easter_weekend():
    assert deadlines.working_days_between(london(2027, 3, 25, 17), london(2027, 3, 29, 17)) == 0
