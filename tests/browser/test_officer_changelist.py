"""An NPT officer's concern list at 1280 px in Chromium: every column in view, the overdue filter.

The officer signs in at /accounts/login/ as they would, lands on the admin index with its counts,
opens Concerns and finds each column without scrolling sideways, then clicks "Overdue".
"""

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone

from tests import factories
from tests.browser.test_officer_triage import sign_in
from tests.engagement.test_admin_workbench import workbench_concerns

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLUMNS = [
    "Reference",
    "Business",
    "Category",
    "Priority",
    "Status",
    "Tier",
    "Assigned officer",
    "Next due",
]


@pytest.fixture(autouse=True)
def _frozen():
    # A Wednesday; the clock stands still so the working days counted cannot turn over.
    with time_machine.travel(timezone.make_aware(dt.datetime(2026, 12, 2, 10, 0)), tick=False):
        yield


@pytest.fixture
def poole(db):
    return factories.NPTAreaFactory(name="Poole", districts=["BH15"])


@pytest.fixture
def officer(poole):
    return factories.OfficerFactory(
        area=poole, email="pc.smith@example.org", full_name="PC Jane Smith"
    )


@pytest.fixture
def concerns(poole, officer):
    business = factories.BusinessFactory(
        npt_area=poole, name="Harbourside Chandlery and Marine Supplies"
    )
    made = workbench_concerns(business)
    made["replied"].assigned_officer = officer
    made["replied"].save(update_fields=["assigned_officer"])
    return made


def fits_the_viewport(page) -> dict:
    return page.evaluate(
        """() => {
            const table = document.querySelector('#result_list');
            const results = table.closest('.results');
            return {
                page: document.documentElement.scrollWidth <= document.documentElement.clientWidth,
                table: table.getBoundingClientRect().right <= window.innerWidth,
                unscrolled: results.scrollWidth <= results.clientWidth,
            };
        }"""
    )


def test_it_shows_every_column_at_1280_px_without_scrolling_sideways(new_page, officer, concerns):
    page = sign_in(new_page, officer)
    page.get_by_role("link", name=re.compile("^Concerns")).click()
    page.wait_for_url(re.compile("/admin/engagement/concern/$"))

    assert fits_the_viewport(page) == {"page": True, "table": True, "unscrolled": True}
    # Each column's header is in view: left of the filters, and of the viewport's edge.
    filters_left = page.locator("#changelist-filter").bounding_box()["x"]
    for column in COLUMNS:
        box = page.get_by_role("columnheader", name=column, exact=True).bounding_box()
        assert box["x"] + box["width"] <= min(filters_left, 1280), column
    # The reference sits on one line.
    reference = page.get_by_role("link", name=concerns["overdue"].reference)
    assert reference.bounding_box()["height"] < 24
    overdue = page.get_by_role("row").filter(has=reference)
    assert "Overdue by 7 working days" in overdue.inner_text()


def test_it_shows_only_the_overdue_after_a_click_on_overdue(
    new_page, officer, concerns, assert_accessible
):
    page = sign_in(new_page, officer)
    page.goto("/admin/engagement/concern/")
    assert_accessible(page)
    page.get_by_role("link", name="Overdue", exact=True).click()
    page.wait_for_url(re.compile(r"due=overdue"))

    references = page.locator("#result_list tbody th a").all_inner_texts()
    assert references == [concerns["overdue"].reference]
    assert_accessible(page)


def test_it_counts_what_needs_doing_on_the_index(new_page, officer, concerns):
    page = sign_in(new_page, officer)

    link = page.get_by_role("link", name=re.compile("^Concerns"))
    assert link.inner_text() == "Concerns (1 overdue, 1 waiting for the business, 2 new)"


def test_it_finds_a_concern_by_a_word_typed_in_the_search_box(
    new_page, officer, concerns, assert_accessible
):
    business = factories.BusinessFactory(npt_area=officer.npt_areas.get(), name="Quayside Bakery")
    bakery = factories.ConcernFactory(
        business=business, description="A forged banknote at the till."
    )
    page = sign_in(new_page, officer)
    page.goto("/admin/engagement/concern/")
    search = page.get_by_role("textbox", name="Search")
    for words in ["quayside", "banknote", bakery.reference]:
        search.fill(words)
        page.get_by_role("button", name="Search").click()
        page.wait_for_load_state()
        assert page.locator("#result_list tbody th a").all_inner_texts() == [bakery.reference]
    assert_accessible(page)


def test_it_lists_the_concerns_reported_in_a_chosen_month(new_page, officer, concerns):
    area = officer.npt_areas.get()
    march = factories.ConcernFactory(
        business=factories.BusinessFactory(npt_area=area),
        created_at=timezone.make_aware(dt.datetime(2026, 3, 10, 12)),
    )
    page = sign_in(new_page, officer)
    page.goto("/admin/engagement/concern/")
    filters = page.locator("#changelist-filter")
    filters.get_by_role("link", name="2026", exact=True).click()
    page.wait_for_url(re.compile(r"reported=2026"))
    filters.get_by_role("link", name="March 2026").click()
    page.wait_for_url(re.compile(r"reported=2026-3"))
    assert page.locator("#result_list tbody th a").all_inner_texts() == [march.reference]
