"""A coordinator posts a Watch scheme alert from the manage page and sees it being sent."""

import re

import pytest

from resources import tasks
from resources.models import Alert, AlertDelivery
from tests import factories
from tests.browser.test_community_a11y import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_lets_the_coordinator_post_an_alert_and_see_it_being_sent(
    new_page, assert_accessible, live_server
):
    coordinator = factories.UserFactory(email="cora@example.org", full_name="Cora Coordinator")
    scheme = factories.WatchSchemeFactory(
        name="Shop Watch", slug="shop-watch", coordinators=[coordinator]
    )
    for _ in range(3):
        business = factories.BusinessFactory(owner=factories.UserFactory())
        factories.SchemeMembershipFactory(scheme=scheme, business=business)

    page = new_page()
    sign_in(page, coordinator, live_server)
    page.goto(f"/watch-schemes/{scheme.slug}/manage/")
    page.get_by_label("Title").fill("Shoplifters in the High Street")
    page.get_by_role("textbox", name=re.compile(r"^Alert")).fill(
        "Two men taking razor blades, around 4pm."
    )
    page.get_by_label("Urgent").check()
    page.get_by_role("button", name="Post the alert").click()
    page.wait_for_load_state()

    confirmation = page.get_by_role("status").filter(has_text="The alert is posted")
    assert "being emailed now" in confirmation.inner_text()
    assert page.get_by_role("heading", level=1).inner_text() == "Shoplifters in the High Street"
    alert = Alert.objects.get()
    assert (alert.urgency, alert.posted_by) == ("urgent", coordinator)
    assert "Being sent" in page.get_by_role("status").filter(has_text="Being sent").inner_text()
    assert_accessible(page)

    tasks.send_alert(alert.pk)  # what the worker does with the task the post published
    page.reload()
    assert AlertDelivery.objects.filter(alert=alert).count() == 3
    assert "0 of 3 emails" in page.get_by_role("status").filter(has_text="Being sent").inner_text()
