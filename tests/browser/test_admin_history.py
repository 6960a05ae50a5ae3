"""An officer reads a concern's history in Chromium: from its admin page, by the "History" link,
to each change with the values it changed from and to."""

import re

import pytest

from escalation.models import CoordinatingGroup
from tests import factories
from tests.browser.test_officer_triage import CHANGE_URL, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def officer(db):
    group = CoordinatingGroup.objects.create(name="BCP Business Co-ordinating Group", slug="bcp")
    poole = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    poole.group = group
    poole.save(update_fields=["group"])
    return factories.OfficerFactory(
        area=poole, email="pc.smith@example.org", full_name="PC Jane Smith"
    )


@pytest.fixture
def shop_concern(officer):
    owner = factories.UserFactory(email="owner@example.org", full_name="Olive Owner")
    business = factories.BusinessFactory(
        owner=owner, npt_area=officer.npt_areas.get(), name="Quay Gifts"
    )
    return factories.ConcernFactory(business=business, reporter=owner)


def test_the_history_link_shows_who_assigned_the_concern_and_to_whom(
    new_page, officer, shop_concern, assert_accessible
):
    page = sign_in(new_page, officer)
    page.goto(CHANGE_URL.format(shop_concern.pk))
    page.get_by_label("Assign to", exact=True).select_option(label="PC Jane Smith")
    page.get_by_role("button", name="Assign", exact=True).click()
    page.wait_for_load_state()

    page.get_by_role("link", name="History", exact=True).click()
    page.wait_for_url(re.compile(rf"/admin/engagement/concern/{shop_concern.pk}/history/$"))

    row = page.get_by_role("row").filter(has_text="Assigned")
    assert row.get_by_role("cell").nth(0).inner_text() == "PC Jane Smith"  # who
    changes = row.locator(".event-changes li").all_inner_texts()
    assert "Assigned officer: — → PC Jane Smith" in changes
    assert "Status: New → In progress" in changes
    assert_accessible(page)
