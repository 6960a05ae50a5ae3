"""An NPT officer marks a concern a duplicate of another in Chromium, by the form's label."""

import re

import pytest

from engagement.models import Concern, ConcernEvent, OutboundEmail
from tests import factories

from .test_officer_triage import CHANGE_URL, readonly, sign_in, success_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def poole(db):
    return factories.NPTAreaFactory(name="Poole", districts=["BH15"])


@pytest.fixture
def officer(poole):
    return factories.OfficerFactory(
        area=poole, email="pc.smith@example.org", full_name="PC Jane Smith"
    )


@pytest.fixture
def original(poole):
    owner = factories.UserFactory(email="owner@example.org", full_name="Olive Owner")
    business = factories.BusinessFactory(owner=owner, npt_area=poole, name="Quay Gifts")
    return factories.ConcernFactory(business=business, reporter=owner)


@pytest.fixture
def repeat(poole):
    neighbour = factories.UserFactory(email="neighbour@example.org", full_name="Nia Neighbour")
    business = factories.BusinessFactory(owner=neighbour, npt_area=poole, name="Quay Café")
    return factories.ConcernFactory(business=business, reporter=neighbour)


def duplicate_form(page):
    return page.get_by_role("form", name=re.compile("^Mark as a duplicate"))


def test_it_marks_a_concern_a_duplicate_and_links_it_to_the_original(
    new_page, officer, original, repeat
):
    page = sign_in(new_page, officer)
    page.goto(CHANGE_URL.format(repeat.pk))

    page.get_by_label("Reference of the original concern").fill(original.reference)
    page.get_by_role("button", name="Mark as duplicate").click()
    page.wait_for_load_state()

    assert "Marked as a duplicate and closed; the business has been told." in (
        success_message(page)
    )
    assert readonly(page, "Status") == "Closed"
    assert readonly(page, "Outcome") == "Duplicate"
    # The tier-one forms are gone: the concern has its outcome.
    assert duplicate_form(page).count() == 0
    page.get_by_role("link", name=original.reference, exact=True).click()
    page.wait_for_url(re.compile(CHANGE_URL.format(original.pk)))
    assert readonly(page, "Duplicates joined to it") == repeat.reference

    repeat.refresh_from_db()
    assert (repeat.status, repeat.duplicate_of) == (Concern.Status.CLOSED, original)
    assert original.events.filter(kind=ConcernEvent.Kind.DUPLICATE_JOINED).count() == 1
    assert OutboundEmail.objects.filter(to="neighbour@example.org").count() == 1


def test_it_says_why_a_reference_cannot_be_used_and_keeps_it(
    new_page, officer, repeat, assert_accessible
):
    page = sign_in(new_page, officer)
    page.goto(CHANGE_URL.format(repeat.pk))
    assert_accessible(page)

    page.get_by_label("Reference of the original concern").fill("DBC-2026-000001")
    page.get_by_role("button", name="Mark as duplicate").click()
    page.wait_for_load_state()

    assert "There is no concern DBC-2026-000001 among your NPT" in page.content()
    box = page.get_by_label("Reference of the original concern")
    assert box.input_value() == "DBC-2026-000001"
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page)
    repeat.refresh_from_db()
    assert repeat.is_open and repeat.duplicate_of is None
