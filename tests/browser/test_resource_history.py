"""An editor unpublishes a library resource in the admin and reads it in its History."""

import re

import pytest
from django.contrib.auth.models import Group

from resources.models import CommunityEvent
from tests import factories
from tests.browser.test_officer_triage import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_shows_the_unpublishing_in_the_resources_history(new_page, assert_accessible):
    editor = factories.UserFactory(
        email="pat.lewis@example.org", full_name="Pat Lewis", is_staff=True
    )
    editor.groups.add(Group.objects.get(name="OPCC editors"))
    resource = factories.ResourceFactory(title="Small Business Guide")

    page = sign_in(new_page, editor)
    page.goto(f"/admin/resources/resource/{resource.pk}/change/")
    page.get_by_label("Status").select_option(label="Draft")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/resources/resource/$"))

    page.locator("#result_list").get_by_role("link", name="Small Business Guide").click()
    page.get_by_role("link", name="History").click()
    page.wait_for_url(re.compile(rf"/admin/resources/resource/{resource.pk}/history/$"))

    row = page.get_by_role("row").filter(has_text="Unpublished")
    assert "Pat Lewis" in row.inner_text()
    assert "Status: Published → Draft" in row.inner_text()
    assert CommunityEvent.objects.get(resource=resource).actor == editor
    assert_accessible(page)
