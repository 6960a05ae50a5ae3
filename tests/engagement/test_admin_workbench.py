"""The officers' workbench: the concern changelist says what is due first, and the index counts."""

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone

from engagement.models import Concern
from tests import factories

CHANGELIST = "/admin/engagement/concern/"
# A Wednesday: the working days counted below skip only the weekends.
NOW = dt.datetime(2026, 12, 2, 10, 0)


def at(*args) -> dt.datetime:
    return timezone.make_aware(dt.datetime(*args))


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(at(2026, 12, 2, 10, 0), tick=False):
        yield


def workbench_concerns(business) -> dict[str, Concern]:
    """One concern in each state the list sorts by, in the business's NPT."""

    def make(name, created, **kwargs):
        return factories.ConcernFactory(
            business=business, created_at=created, reference=f"DBC-2026-{name}", **kwargs
        )

    return {
        # First response was due Mon 23 Nov 10:00, and nobody has replied.
        "overdue": make("000001", at(2026, 11, 18, 10, 0)),
        # First response due Mon 7 Dec 10:00.
        "soon": make("000002", at(2026, 12, 2, 9, 0)),
        # Replied to: the resolution is next.
        "replied": make(
            "000003",
            at(2026, 12, 1, 10, 0),
            status=Concern.Status.IN_PROGRESS,
            first_responded_at=at(2026, 12, 1, 11, 0),
        ),
        "waiting": make(
            "000004",
            at(2026, 11, 25, 10, 0),
            status=Concern.Status.WAITING,
            first_responded_at=at(2026, 11, 26, 10, 0),
            paused_at=at(2026, 11, 30, 10, 0),
        ),
        "resolved": make(
            "000005",
            at(2026, 11, 10, 10, 0),
            status=Concern.Status.RESOLVED,
            first_responded_at=at(2026, 11, 11, 10, 0),
            resolved_at=at(2026, 11, 20, 10, 0),
        ),
    }


@pytest.fixture
def concerns(business):
    return workbench_concerns(business)


@pytest.fixture
def other_overdue(other_business):
    return factories.ConcernFactory(
        business=other_business, created_at=at(2026, 11, 18, 10, 0), reference="DBC-2026-000099"
    )


def page_for(client, person, url=CHANGELIST) -> str:
    client.force_login(person)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def listed(page: str) -> list[str]:
    return re.findall(r">(DBC-2026-\d{6})</a>", page)


def row(page: str, concern) -> str:
    start = page.index(f">{concern.reference}</a>")
    return page[start : page.index("</tr>", start)]


def test_it_lists_what_is_due_first_then_waiting_then_done(client, npt_officer, concerns):
    page = page_for(client, npt_officer)

    order = ["overdue", "soon", "replied", "waiting", "resolved"]
    assert listed(page) == [concerns[name].reference for name in order]


def test_it_says_when_each_is_due_in_working_days(client, npt_officer, concerns):
    page = page_for(client, npt_officer)

    # Tue 24 to Fri 27 Nov, Mon 30 Nov, Tue 1 and Wed 2 Dec.
    assert "Reply by 23 Nov 10:00" in row(page, concerns["overdue"])
    assert "Overdue by 7 working days" in row(page, concerns["overdue"])
    # Thu 3, Fri 4, Mon 7 Dec.
    assert "Reply by 7 Dec 09:00" in row(page, concerns["soon"])
    assert "Due in 3 working days" in row(page, concerns["soon"])
    # 20 working days from Tue 1 Dec skip Christmas Day and the Boxing Day holiday (Mon 28).
    assert "Outcome by 31 Dec 10:00" in row(page, concerns["replied"])
    assert "Due in 19 working days" in row(page, concerns["replied"])
    assert "Clock paused while waiting for the business" in row(page, concerns["waiting"])
    assert "Due in" not in row(page, concerns["resolved"])


def test_it_shows_labels_not_codes(client, npt_officer, concerns):
    replied = row(page_for(client, npt_officer), concerns["replied"])

    assert "In progress" in replied
    assert "Neighbourhood Policing Team" in replied
    assert "Normal" in replied
    assert "in_progress" not in replied


def test_it_filters_the_overdue(client, npt_officer, concerns):
    page = page_for(client, npt_officer, f"{CHANGELIST}?due=overdue")

    assert listed(page) == [concerns["overdue"].reference]


def test_it_filters_those_waiting_for_the_business(client, npt_officer, concerns):
    page = page_for(client, npt_officer, f"{CHANGELIST}?due=waiting")

    assert listed(page) == [concerns["waiting"].reference]


def test_it_counts_the_overdue_waiting_and_new_on_the_index(client, npt_officer, concerns):
    page = page_for(client, npt_officer, "/admin/")

    assert "Concerns (1 overdue, 1 waiting for the business, 2 new)" in page


def test_it_shows_another_npt_officer_none_of_the_rows_or_counts(
    client, other_npt_officer, concerns, other_overdue
):
    rows = page_for(client, other_npt_officer)
    index = page_for(client, other_npt_officer, "/admin/")
    overdue = page_for(client, other_npt_officer, f"{CHANGELIST}?due=overdue")

    assert listed(rows) == [other_overdue.reference]
    assert listed(overdue) == [other_overdue.reference]
    assert "Concerns (1 overdue, 1 new)" in index


def test_it_shows_a_superuser_every_area(client, superuser, concerns, other_overdue):
    rows = page_for(client, superuser)
    index = page_for(client, superuser, "/admin/")

    assert set(listed(rows)) == {c.reference for c in concerns.values()} | {other_overdue.reference}
    assert "Concerns (2 overdue, 1 waiting for the business, 3 new)" in index
