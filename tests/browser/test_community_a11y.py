"""Prevention and community pages in Chromium: no axe-core violations, and no JavaScript needed."""

import re

import pytest
from django.conf import settings
from django.test import Client

from resources.models import Topic
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, user, live_server):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_it_has_no_violations_on_the_public_community_pages(
    new_page, assert_accessible, live_server
):
    area = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    cyber = Topic.objects.order_by("position").first()  # loaded by a data migration
    resource = factories.ResourceFactory(
        title="Small Business Guide", topics=[cyber], sectors=["retail"]
    )
    factories.SpecialistContactFactory(team="rural")
    factories.SpecialistContactFactory(team="cyber")
    scheme = factories.WatchSchemeFactory(name="Shop Watch", slug="shop-watch-demo")
    seminar = factories.SeminarFactory(title="Spotting invoice fraud", slug="invoice-fraud")

    page = new_page()
    page.goto("/resources/")
    assert_accessible(page)
    page.get_by_role("textbox", name="Search").fill("guide")
    page.get_by_role("button", name=re.compile("Search|Filter|Show", re.I)).first.click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name=resource.title).is_visible()
    assert_accessible(page)
    page.get_by_role("link", name=resource.title).click()
    page.wait_for_load_state()
    assert_accessible(page)

    for path in (
        "/watch-schemes/",
        f"/watch-schemes/{scheme.slug}/",
        "/seminars/",
        f"/seminars/{seminar.slug}/",
        "/contacts/",
    ):
        page.goto(path)
        assert page.get_by_role("heading", level=1).count() == 1, path
        assert_accessible(page)
    assert page.get_by_text(area.name).first.is_visible()


def test_it_has_no_violations_for_a_member_applying_booking_and_reading_alerts(
    new_page, assert_accessible, live_server
):
    area = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    owner = factories.UserFactory(email="shop.owner@example.org")
    business = factories.BusinessFactory(owner=owner, npt_area=area, name="Quayside Books")
    member_of = factories.WatchSchemeFactory(name="Shop Watch", slug="shop-watch-demo")
    other = factories.WatchSchemeFactory(name="Pub Watch", slug="pub-watch-demo")
    factories.SchemeMembershipFactory(scheme=member_of, business=business, contact=owner)
    alert = factories.AlertFactory(scheme=member_of, title="Counterfeit notes in Poole")
    seminar = factories.SeminarFactory(title="Spotting invoice fraud", slug="invoice-fraud")

    page = new_page()
    sign_in(page, owner, live_server)

    page.goto(f"/watch-schemes/{other.slug}/")
    page.get_by_role("button", name=re.compile("Apply", re.I)).first.click()
    page.wait_for_load_state()
    assert_accessible(page)

    page.goto(f"/watch-schemes/{member_of.slug}/alerts/")
    assert page.get_by_role("link", name=alert.title).is_visible()
    assert_accessible(page)
    page.get_by_role("link", name=alert.title).click()
    page.wait_for_load_state()
    assert_accessible(page)

    page.goto(f"/seminars/{seminar.slug}/")
    page.get_by_role("button", name=re.compile("Book", re.I)).first.click()
    page.wait_for_load_state()
    assert_accessible(page)
