"""An OPCC editor keeps the officers' response templates in the admin, in Chromium."""

import re

import pytest
from django.contrib.auth.models import Group

from engagement.models import ResponseTemplate
from tests import factories
from tests.browser.test_officer_triage import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def editor(db):
    user = factories.UserFactory(
        email="editor@example.org", full_name="Eddie Editor", is_staff=True
    )
    user.groups.add(Group.objects.get(name="OPCC editors"))
    return user


def test_it_lets_an_editor_add_a_template_for_one_category(new_page, editor, assert_accessible):
    page = sign_in(new_page, editor)
    page.get_by_role("link", name="Response templates").first.click()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("Add response template")).click()
    assert_accessible(page)

    page.get_by_label("Title").fill("Ask for the invoice")
    page.get_by_label("Offered in").select_option(label="Question to the business")
    page.get_by_label("Category").select_option(label="Fraud or scams")
    page.get_by_label("Text").fill("Please attach the invoice {buisness} received.")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()

    # A placeholder the officers' page cannot fill is refused, saying which ones it can.
    assert page.get_by_text("{buisness} cannot be filled in.").is_visible()
    assert page.get_by_label("Title").input_value() == "Ask for the invoice"
    assert_accessible(page)
    assert not ResponseTemplate.objects.exists()
    page.get_by_label("Text").fill("Please attach the invoice {business} received.")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()

    assert page.get_by_text("was added successfully").is_visible()
    assert page.locator("#result_list").get_by_role("link", name="Ask for the invoice").is_visible()
    template = ResponseTemplate.objects.get()
    assert (template.used_for, template.category.slug, template.status, template.is_active) == (
        "question",
        "fraud",
        "",
        True,
    )
