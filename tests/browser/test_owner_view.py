"""The owner's own view in Chromium: withdraw a concern with a reason, add a photo later, a
wrong month in the day/month/year date, and a guest asking for their private link again."""

import re

import pytest

from engagement.models import Concern, OutboundEmail
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(new_page, person):
    page = new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile("/my/$"))
    return page


@pytest.fixture
def owner_with_concern():
    area = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    officer = factories.OfficerFactory(area=area, email="pc.poole@example.org")
    owner = factories.UserFactory(email="olive@example.org", full_name="Olive Owner")
    business = factories.BusinessFactory(owner=owner, npt_area=area, name="Quayside Books")
    concern = factories.ConcernFactory(
        business=business, reporter=owner, location="The car park behind the shop"
    )
    return owner, concern, officer


def test_it_lets_the_owner_withdraw_a_concern_with_a_reason(
    new_page, assert_accessible, owner_with_concern
):
    owner, concern, officer = owner_with_concern
    page = sign_in(new_page, owner)
    page.get_by_role("link", name=concern.reference).click()
    assert page.get_by_text("The car park behind the shop").is_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Withdraw my report").click()  # no reason: an error
    assert "Say why you are withdrawing this report." in page.get_by_role("alert").inner_text()
    assert page.title().startswith("Error:")
    page.get_by_label("Why are you withdrawing this report?").fill("The books were returned.")
    page.get_by_role("button", name="Withdraw my report").click()

    assert page.get_by_role("status").filter(has_text="is withdrawn").is_visible()
    assert page.get_by_role("heading", name="Outcome: Withdrawn by the reporter").is_visible()
    assert page.get_by_text("The books were returned.").is_visible()
    status = page.locator("dt", has_text="Status").locator("xpath=following-sibling::dd[1]")
    assert status.inner_text() == "Closed"
    assert page.get_by_role("button", name="Withdraw my report").count() == 0
    assert_accessible(page)
    concern.refresh_from_db()
    assert concern.status == Concern.Status.CLOSED
    assert OutboundEmail.objects.filter(to=officer.email, subject__contains="withdrawn").exists()


def test_it_lets_the_owner_add_a_photo_later_and_lists_it(
    new_page, assert_accessible, owner_with_concern, tmp_path
):
    owner, concern, _ = owner_with_concern
    photo = tmp_path / "broken-window.png"
    photo.write_bytes(factories.png_bytes((40, 30)))
    page = sign_in(new_page, owner)
    page.goto(concern.get_absolute_url())
    assert page.get_by_text("No files attached.").is_visible()

    page.get_by_label("Photos or documents to add").set_input_files(str(photo))
    page.get_by_role("button", name="Attach files").click()

    assert page.get_by_role("status").filter(has_text="Attached: broken-window.png.").is_visible()
    attachments = page.get_by_role("region", name="Attachments")
    assert attachments.get_by_role("link", name="broken-window.png").is_visible()
    assert_accessible(page)


def test_a_wrong_month_shows_the_error_summary_with_focus_and_an_error_title(
    new_page, assert_accessible, owner_with_concern
):
    owner, _, _ = owner_with_concern
    page = sign_in(new_page, owner)
    page.goto("/report/new/")
    page.get_by_label("Theft or shoplifting").check()
    page.get_by_label("What happened?").fill("Books taken from the outside table.")
    date = page.get_by_role("group", name="Date it happened")
    date.get_by_label("Day").fill("5")
    date.get_by_label("Month").fill("13")
    date.get_by_label("Year").fill("2026")
    page.get_by_label("Where did it happen?").fill("Outside the shop")
    page.get_by_label("Some loss or disruption").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()

    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    assert summary.is_visible()
    assert page.title().startswith("Error:")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    link = summary.get_by_role("link", name="Enter the month as a number from 1 to 12")
    assert link.count() == 1
    # What was typed is kept, and only the month is marked wrong.
    date = page.get_by_role("group", name="Date it happened")
    assert date.get_by_label("Day").input_value() == "5"
    assert date.get_by_label("Month").get_attribute("aria-invalid") == "true"
    assert date.get_by_label("Day").get_attribute("aria-invalid") is None
    link.click()
    assert page.evaluate("document.activeElement.name") == "occurred_on_month"
    assert_accessible(page)


def test_a_guest_asking_for_their_link_again_sees_the_same_neutral_answer(
    new_page, assert_accessible, live_server
):
    area = factories.NPTAreaFactory(name="Dorchester", districts=["DT1"])
    concern = factories.ConcernFactory(
        business=factories.BusinessFactory(npt_area=area),
        contact_email="gwen@example.org",
        tracking_token_hash="0" * 64,
    )
    page = new_page()
    page.goto("/report/")
    page.get_by_role("link", name="Ask for your link again").click()
    assert_accessible(page)

    answers = []
    for email in ("gwen@example.org", "someone.else@example.org"):
        page.goto("/report/lost-link/")
        page.get_by_label("Email address you gave with the report").fill(email)
        page.get_by_label("Report reference").fill(concern.reference)
        page.get_by_role("button", name="Email me the link").click()
        page.wait_for_url(re.compile("/report/lost-link/sent/"))
        answers.append(page.locator("main").inner_text())
    assert_accessible(page)

    assert answers[0] == answers[1]
    assert "If the email address and reference match a report" in answers[0]
    assert list(OutboundEmail.objects.values_list("to", flat=True)) == ["gwen@example.org"]
