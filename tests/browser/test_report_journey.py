"""The first journey end to end in Chromium: sign up, add a business, report, officer update."""

import re

import pytest
from django.core import mail

from engagement.emails import email_deliver_pending
from engagement.models import Concern
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-and-unusual-passphrase"


def _verification_link(email):
    email_deliver_pending()  # what the worker does after commit
    for message in reversed(mail.outbox):
        if email in message.to:
            match = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body)
            if match:
                return match.group(0)
    raise AssertionError(f"no verification email to {email}")


def test_it_walks_sign_up_to_an_officer_update(new_page, assert_accessible, live_server):
    area = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    factories.OfficerFactory(area=area, email="pc.poole@example.org", password=PASSWORD)
    owner_email = "new.owner@example.org"

    page = new_page()
    page.goto("/")
    assert_accessible(page)

    # Sign up and verify the email address.
    page.goto("/accounts/signup/")
    assert_accessible(page)
    page.get_by_label("Email").fill(owner_email)
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign Up", re.I)).click()
    page.wait_for_url(re.compile("/accounts/confirm-email/"))
    assert_accessible(page)
    link = _verification_link(owner_email)
    page.goto(link.replace("http://127.0.0.1:8000", live_server.url))
    assert_accessible(page)
    page.get_by_role("button", name=re.compile("Confirm", re.I)).click()
    page.wait_for_url(re.compile("/my/"))
    assert_accessible(page)

    # Report: with no business yet, the portal asks for one first.
    page.goto("/report/")
    assert_accessible(page)
    page.get_by_role("link", name="Start your report").click()
    page.wait_for_url(re.compile("/my/businesses/add/"))
    page.get_by_role("button", name="Add business").click()  # empty: the error summary
    assert page.get_by_role("alert").is_visible()
    assert_accessible(page)
    page.get_by_label("Business name").fill("Quayside Books")
    page.get_by_label("Sector").select_option("retail")
    page.get_by_label("Size").select_option("micro")
    page.get_by_label("Address line 1").fill("4 The Quay")
    page.get_by_label("Town").fill("Poole")
    page.get_by_label("Postcode").fill("bh15 1hj")
    page.get_by_role("button", name="Add business").click()
    page.wait_for_url(re.compile("/report/new/"))
    assert_accessible(page)

    page.get_by_role("button", name="Continue").click()  # empty: the error summary
    assert page.get_by_role("alert").is_visible()
    assert_accessible(page)
    page.get_by_label("Theft or shoplifting").check()
    page.get_by_label("What happened?").fill("Books taken from the outside table <b>twice</b>.")
    date = page.get_by_role("group", name="Date it happened")
    date.get_by_label("Day").fill("5")
    date.get_by_label("Month").fill("1")
    date.get_by_label("Year").fill("2026")
    page.get_by_label("Where did it happen?").fill("Outside the shop")
    page.get_by_label("Some loss or disruption").check()
    page.get_by_label("Your name").fill("Nia Owner")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    if page.get_by_role("alert").count():
        raise AssertionError(page.get_by_role("alert").inner_text())
    page.wait_for_url(re.compile("/report/new/[0-9a-f-]+/check/"))
    assert_accessible(page)
    page.get_by_role("button", name="Send report").click()
    page.wait_for_url(re.compile("/report/DBC-\\d{4}-\\d{6}/submitted/"))
    assert_accessible(page)
    concern = Concern.objects.get(business__name="Quayside Books")
    assert page.get_by_text(concern.reference).first.is_visible()

    # The officer posts an update in the admin.
    officer_page = new_page()
    officer_page.goto("/admin/login/")  # the portal's own sign-in, then back to the admin
    officer_page.get_by_label("Email").fill("pc.poole@example.org")
    officer_page.get_by_label("Password").fill(PASSWORD)
    officer_page.get_by_role("button", name=re.compile("Sign in", re.I)).click()
    officer_page.wait_for_url(re.compile("/admin/$"))
    officer_page.goto(f"/admin/engagement/concern/{concern.pk}/change/")
    officer_page.locator("#id_update-body").fill("We have spoken to the neighbouring shops.")
    officer_page.get_by_role("button", name="Post update").click()
    officer_page.wait_for_url(re.compile(f"/admin/engagement/concern/{concern.pk}/change/"))
    assert officer_page.get_by_text("Update posted; the business has been emailed.").is_visible()

    # The owner sees it, with the markup they typed shown as text.
    page.goto(f"/my/concerns/{concern.reference}/")
    assert page.get_by_text("We have spoken to the neighbouring shops.").is_visible()
    assert page.get_by_text("<b>twice</b>", exact=False).is_visible()
    assert_accessible(page)
    page.goto("/my/")
    assert page.get_by_text("We have spoken to the neighbouring shops.").is_visible()
    assert_accessible(page)
