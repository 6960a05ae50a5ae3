"""A guest reports without an account, confirms from the email and follows the private link."""

import re

import pytest
from django.core import mail

from engagement.emails import email_deliver_pending
from engagement.models import Concern
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_lets_a_guest_report_confirm_and_follow(new_page, assert_accessible, live_server):
    factories.NPTAreaFactory(name="Dorchester", districts=["DT1"])

    page = new_page()
    page.goto("/report/")
    page.get_by_role("link", name="Report without an account").click()
    page.wait_for_url(re.compile("/report/guest/"))
    assert_accessible(page)

    page.get_by_label("Business name").fill("Top o' Town Stores")
    page.get_by_label("Type of business").select_option("retail")
    page.get_by_label("Town or village").fill("Dorchester")
    page.get_by_label("Business postcode").fill("SW1A 1AA")  # valid, but not in Dorset
    page.get_by_label("Fraud or scams").check()
    page.get_by_label("What happened?").fill("A caller claiming to be our bank asked for codes.")
    date = page.get_by_role("group", name="Date it happened")
    date.get_by_label("Day").fill("1")
    date.get_by_label("Month").fill("2")
    date.get_by_label("Year").fill("2026")
    page.get_by_label("Where did it happen?").fill("By phone")
    page.get_by_label("Little or no impact").check()
    page.get_by_label("Your name").fill("Gwen Guest")
    page.get_by_label("Email address").fill("gwen@example.org")
    page.get_by_role("button", name="Continue").click()
    summary = page.get_by_role("alert")
    assert "not in an area Dorset Police covers" in summary.inner_text()
    assert page.get_by_label("What happened?").input_value().startswith("A caller claiming")
    assert_accessible(page)

    page.get_by_label("Business postcode").fill("DT1 1XJ")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile("/report/guest/[0-9a-f-]+/check/"))
    assert page.get_by_role(
        "heading", name="Check your answers before sending your report"
    ).is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Send report").click()
    page.wait_for_url(re.compile("/report/guest/sent/"))
    assert_accessible(page)
    concern = Concern.objects.get(contact_email="gwen@example.org")
    assert concern.status == Concern.Status.UNCONFIRMED

    email_deliver_pending()  # what the worker does after commit
    body = next(m.body for m in mail.outbox if "gwen@example.org" in m.to)
    path = re.search(r"/report/track/[\w-]+/", body).group(0)
    page.goto(path)
    assert_accessible(page)
    page.get_by_role("button", name="Confirm my report").click()
    page.wait_for_load_state()
    assert page.get_by_text(f"Your report {concern.reference} is confirmed").is_visible()
    assert_accessible(page)
    concern.refresh_from_db()
    assert concern.status == Concern.Status.NEW
