"""A person asks for their data from "My account", and anyone reads the privacy notice and the
accessibility statement from the footer, in Chromium, with axe-core on each page."""

import re

import pytest
from django.conf import settings
from django.test import Client

from engagement.models import OutboundEmail
from privacy import services
from privacy.models import DataExport
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, user, live_server):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_a_person_asks_for_their_data_and_downloads_it(new_page, assert_accessible, live_server):
    owner = factories.UserFactory(email="owner@example.org", full_name="Olive Owner")
    area = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    factories.ConcernFactory(business=factories.BusinessFactory(owner=owner, npt_area=area))
    page = new_page()
    sign_in(page, owner, live_server)
    page.goto("/my/account/")
    assert_accessible(page)

    page.get_by_role("button", name="Download your data").click()
    page.wait_for_url(re.compile("/my/account/$"))
    status = page.get_by_role("status").filter(has_text="We are preparing a copy of your data")
    assert status.count() == 1
    assert "owner@example.org" in status.inner_text()
    assert_accessible(page)

    page.get_by_role("button", name="Download your data").click()
    page.wait_for_url(re.compile("/my/account/$"))
    assert page.get_by_role("status").filter(has_text="already being prepared").count() == 1
    (export,) = DataExport.objects.filter(user=owner)

    services.export_build(export_id=export.pk)  # as the worker would
    email = OutboundEmail.objects.get(to=owner.email, subject__icontains="copy of your data")
    (link,) = re.findall(r"https?://\S+?(/my/account/data/[^/\s]+/)", email.body_text)
    response = page.request.get(link)  # the page's own cookies: signed in as the owner
    assert response.status == 200
    assert response.headers["content-type"] == "application/zip"
    assert "no-store" in response.headers["cache-control"]


def test_the_footer_leads_to_the_privacy_notice_and_the_accessibility_statement(
    new_page, assert_accessible
):
    page = new_page()
    page.goto("/")
    page.get_by_role("contentinfo").get_by_role("link", name="Privacy notice").click()
    page.wait_for_url(re.compile("/privacy/$"))
    assert page.get_by_role("heading", level=1, name="Privacy notice").is_visible()
    assert page.get_by_role("table").get_by_text("Sent emails in the outbox").count() == 1
    assert_accessible(page)

    page.get_by_role("contentinfo").get_by_role("link", name="Accessibility statement").click()
    page.wait_for_url(re.compile("/accessibility/$"))
    assert page.get_by_role("heading", level=1, name="Accessibility statement").is_visible()
    assert_accessible(page)
