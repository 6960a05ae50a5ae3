"""A Rural Crime Team member works in Chromium: signs in, finds the team's concern in the list,
opens it by its reference and sends the business advice, each control found by its label."""

import re

import pytest

from engagement import services
from engagement.models import ConcernUpdate, OutboundEmail
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def livery_concern(db):
    """A concern from a rural livery yard in North Dorset, referred to the Rural Crime Team."""
    area = factories.NPTAreaFactory(name="North Dorset", districts=["DT10"])
    owner = factories.UserFactory(email="owner@example.org", full_name="Olive Owner")
    business = factories.BusinessFactory(
        owner=owner,
        npt_area=area,
        name="Mill Lane Livery",
        sector="equestrian",
        postcode="DT10 1AA",
        is_rural=True,
    )
    concern = factories.ConcernFactory(
        business=business, reporter=owner, category=factories.category("rural")
    )
    services.concern_refer_to_specialists(concern=concern)
    return concern


@pytest.fixture
def shop_theft(db):
    """A shop's theft in Poole: not the team's, so not in its list."""
    business = factories.BusinessFactory(
        npt_area=factories.NPTAreaFactory(name="Poole", districts=["BH15"]), name="Quay Gifts"
    )
    return factories.ConcernFactory(business=business)


def sign_in(new_page, person):
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in", re.I)).click()
    page.wait_for_url(re.compile("/admin/$"))  # specialists are staff: they land in the admin
    return page


def test_a_specialist_sends_advice_from_the_teams_list(
    new_page, assert_accessible, rural_specialist, livery_concern, shop_theft
):
    page = sign_in(new_page, rural_specialist)
    assert_accessible(page)

    page.get_by_role("link", name="Concerns for my specialist team").first.click()
    page.wait_for_url(re.compile("/admin/engagement/specialistconcern/$"))
    assert page.get_by_role("link", name=shop_theft.reference).count() == 0
    assert_accessible(page)

    page.get_by_role("link", name=livery_concern.reference).click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Assign", exact=True).count() == 0
    assert page.get_by_role("button", name="Resolve", exact=True).count() == 0
    assert_accessible(page)

    page.get_by_label("Advice for the business", exact=True).fill(
        "Mark your saddles with your postcode and photograph them."
    )
    page.get_by_role("button", name="Send advice").click()
    page.wait_for_load_state()

    assert (
        "Advice sent; the business has been emailed." in page.locator("ul.messagelist").inner_text()
    )
    assert page.get_by_text(
        "Mark your saddles with your postcode and photograph them."
    ).is_visible()
    assert_accessible(page)
    advice = ConcernUpdate.objects.get(concern=livery_concern)
    assert (advice.kind, advice.author, advice.specialist_team.name) == (
        ConcernUpdate.Kind.PUBLIC,
        rural_specialist,
        "Rural Crime Team",
    )
    assert OutboundEmail.objects.filter(
        to="owner@example.org", subject__startswith="Advice on your concern"
    ).exists()


def test_a_specialist_adds_an_internal_note(new_page, rural_specialist, livery_concern):
    page = sign_in(new_page, rural_specialist)
    page.goto(f"/admin/engagement/specialistconcern/{livery_concern.pk}/change/")
    page.get_by_label("Internal note", exact=True).fill("Same van seen at Sturminster yards.")
    page.get_by_role("button", name="Add note").click()
    page.wait_for_load_state()

    assert "Note added." in page.locator("ul.messagelist").inner_text()
    assert page.get_by_text("Same van seen at Sturminster yards.").is_visible()
    note = ConcernUpdate.objects.get(concern=livery_concern)
    assert (note.kind, note.author) == (ConcernUpdate.Kind.INTERNAL, rural_specialist)


def test_an_administrator_routes_fraud_to_the_cyber_team(new_page, assert_accessible):
    from engagement.models import SpecialistTeam

    admin = factories.UserFactory(
        email="admin@example.org", is_staff=True, is_superuser=True, full_name="Ada Admin"
    )
    page = sign_in(new_page, admin)
    page.get_by_role("link", name="Specialist teams").first.click()
    page.get_by_role("link", name="Cyber-Crime Protect and Prevention Officer").click()
    page.wait_for_load_state()
    assert_accessible(page)

    page.get_by_label("Fraud or scams").check()
    page.get_by_label("Office or professional services").check()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile("/admin/engagement/specialistteam/$"))

    row = page.get_by_role("row").filter(has_text="Cyber-Crime Protect")
    assert "Fraud or scams" in row.inner_text()
    assert "Office or professional services" in row.inner_text()
    assert_accessible(page)
    team = SpecialistTeam.objects.get(slug="cyber-protect")
    assert set(team.categories.values_list("slug", flat=True)) == {"cyber", "fraud"}
    assert team.sectors == ["office"]
