"""The report form in Chromium: a photo kept across an error, "check your answers" with its
change links, the detour to add a business, and adding a report to a similar concern."""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from engagement.models import Concern, ConcernUpdate
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, user, live_server):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def photo(name):
    return {"name": name, "mimeType": "image/png", "buffer": factories.png_bytes()}


def held_files(page) -> list[str]:
    """The names listed as attached to the report (each with its own "Remove" button)."""
    return (
        page.get_by_role("list")
        .filter(has=page.get_by_role("button", name=re.compile("^Remove")))
        .locator("li > span")
        .all_inner_texts()
    )


def fill_what_happened(page, *, description):
    page.get_by_label("Theft or shoplifting").check()
    if description:
        page.get_by_label("What happened?").fill(description)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    date = page.get_by_role("group", name="Date it happened")
    date.get_by_label("Day").fill(str(yesterday.day))
    date.get_by_label("Month").fill(str(yesterday.month))
    date.get_by_label("Year").fill(str(yesterday.year))
    page.get_by_label("Where did it happen?").fill("By the front door")
    page.get_by_label("Some loss or disruption").check()


def test_it_keeps_a_photo_through_an_error_checks_the_answers_and_sends_it(
    new_page, assert_accessible, live_server, owner, business
):
    page = new_page()
    sign_in(page, owner, live_server)
    page.goto("/report/new/")
    fill_what_happened(page, description="")  # "What happened?" left empty
    page.get_by_label("Attachments").set_input_files([photo("till.png"), photo("door.png")])
    page.get_by_role("button", name="Continue").click()

    page.wait_for_load_state()
    assert page.title().startswith("Error: ")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert "Describe what happened." in page.get_by_role("alert").inner_text()
    assert held_files(page) == ["till.png", "door.png"]
    assert_accessible(page)

    page.get_by_role("button", name="Remove door.png").click()
    page.wait_for_load_state()
    assert page.get_by_text("The file is removed.").is_visible()
    assert held_files(page) == ["till.png"]
    assert page.get_by_label("Where did it happen?").input_value() == "By the front door"

    page.get_by_label("What happened?").fill("Two bottles of gin taken.")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile("/report/new/[0-9a-f-]+/check/"))
    heading = page.get_by_role("heading", name="Check your answers before sending your report")
    assert heading.is_visible()
    assert page.get_by_text("Two bottles of gin taken.").is_visible()
    assert page.get_by_text("till.png").is_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Change what happened").click()
    page.wait_for_url(re.compile(r"/report/new/\?resume="))
    assert page.evaluate("document.activeElement.name") == "description"
    assert page.get_by_label("What happened?").input_value() == "Two bottles of gin taken."
    assert page.get_by_role("alert").count() == 0
    page.get_by_label("What happened?").fill("Three bottles of gin taken.")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile("/check/"))
    assert page.get_by_text("Three bottles of gin taken.").is_visible()

    page.get_by_role("button", name="Send report").click()
    page.wait_for_url(re.compile(r"/report/DBC-\d{4}-\d{6}/submitted/"))
    concern = Concern.objects.get()
    assert concern.description == "Three bottles of gin taken."
    assert [a.original_name for a in concern.attachments.all()] == ["till.png"]
    page.goto(concern.get_absolute_url())
    assert page.get_by_text("till.png").first.is_visible()


def test_it_keeps_what_was_typed_while_another_business_is_added(
    new_page, live_server, owner, business
):
    page = new_page()
    sign_in(page, owner, live_server)
    page.goto("/report/new/")
    fill_what_happened(page, description="Fuel taken from the yard.")
    page.get_by_role("button", name="Add another business").click()

    page.wait_for_url(re.compile("/my/businesses/add/"))
    page.get_by_label("Business name").fill("Hill Farm")
    page.get_by_label("Sector").select_option("farm")
    page.get_by_label("Size").select_option("micro")
    page.get_by_label("Address line 1").fill("Hill Farm Lane")
    page.get_by_label("Town").fill("Poole")
    page.get_by_label("Postcode").fill("BH15 2AA")
    page.get_by_role("button", name="Add business").click()

    page.wait_for_url(re.compile(r"/report/new/\?resume="))
    assert page.get_by_text("Hill Farm is added.").is_visible()
    assert page.get_by_label("What happened?").input_value() == "Fuel taken from the yard."
    assert page.get_by_label("Where did it happen?").input_value() == "By the front door"
    assert page.get_by_label("Hill Farm").is_checked()
    assert page.get_by_label("Theft or shoplifting").is_checked()


def test_it_offers_a_similar_concern_and_adds_the_report_to_it(
    new_page, assert_accessible, live_server, owner, business
):
    earlier = factories.ConcernFactory(
        business=business, reporter=owner, description="Bottles of gin taken from the shelf."
    )
    page = new_page()
    sign_in(page, owner, live_server)
    page.goto("/report/new/")
    fill_what_happened(page, description="More gin taken from the same shelf today.")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile("/check/"))

    assert page.get_by_role("heading", name="These look similar").is_visible()
    assert_accessible(page)
    page.set_viewport_size({"width": 320, "height": 800})  # reflow: no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert_accessible(page)
    page.get_by_role("button", name=f"Add to {earlier.reference} instead").click()

    page.wait_for_url(re.compile(f"/my/concerns/{earlier.reference}/"))
    assert page.get_by_text(f"Your report is added to {earlier.reference}").is_visible()
    assert page.get_by_text("More gin taken from the same shelf today.").first.is_visible()
    assert Concern.objects.count() == 1
    assert ConcernUpdate.objects.get(concern=earlier).kind == ConcernUpdate.Kind.REPLY


def test_it_keeps_a_guests_photo_and_offers_them_only_the_areas_theme(
    new_page, assert_accessible, area
):
    theirs = factories.ConcernFactory(
        business=factories.BusinessFactory(npt_area=area), description="Gin taken by the door."
    )
    theme = factories.ThemeFactory(npt_area=area)
    page = new_page()
    page.goto("/report/guest/")
    page.get_by_label("Business name").fill("Quay Gifts")
    page.get_by_label("Type of business").select_option("retail")
    page.get_by_label("Town or village").fill("Poole")
    fill_what_happened(page, description="Gin taken by the door.")
    page.get_by_label("Your name").fill("Gita Guest")
    page.get_by_label("Email address").fill("gita@example.org")
    page.get_by_label("Attachments").set_input_files([photo("door.png")])
    page.get_by_role("button", name="Continue").click()  # no postcode yet

    page.wait_for_load_state()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert held_files(page) == ["door.png"]
    page.get_by_label("Business postcode").fill("BH15 1HJ")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(re.compile("/report/guest/[0-9a-f-]+/check/"))
    assert page.get_by_text("door.png").is_visible()
    assert page.get_by_role("heading", name="These look similar").is_visible()
    assert page.get_by_text(theirs.reference).count() == 0  # never someone else's concern
    assert_accessible(page)
    page.get_by_role("button", name=f"Send it as part of {theme.reference}").click()

    page.wait_for_url(re.compile("/report/guest/sent/"))
    concern = Concern.objects.get(contact_email="gita@example.org")
    assert [a.original_name for a in concern.attachments.all()] == ["door.png"]
    assert list(concern.themes.all()) == [theme]
