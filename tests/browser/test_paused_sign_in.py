"""A stranger has guessed at an owner's password until password sign-in paused: the owner, with
the right password, is told what to do, asks for a code by email and is in."""

import re

import pytest
from django.test import Client

from engagement.models import OutboundEmail
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_owner_signs_in_with_an_emailed_code_after_a_strangers_guesses(
    new_page, assert_accessible
):
    owner = factories.UserFactory(email="owner@example.org", full_name="Olive Owner")
    stranger = Client()
    for n in range(30):
        data = {"login": owner.email, "password": f"guess-{n}-123456"}
        stranger.post("/accounts/login/", data, REMOTE_ADDR="203.0.113.66")

    page = new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in", re.I)).click()
    page.wait_for_load_state()
    assert "Signing in with a password is paused" in page.content()
    assert "/accounts/login/" in page.url
    assert_accessible(page)

    page.get_by_role("link", name="Send me a sign-in code").click()
    page.wait_for_url(re.compile("/accounts/login/code/$"))
    page.get_by_label("Email").fill(owner.email)
    page.get_by_role("button", name="Request Code").click()
    page.wait_for_url(re.compile("/accounts/login/code/confirm/$"))
    assert_accessible(page)

    body = OutboundEmail.objects.get(to=owner.email).body_text
    code = re.search(r"^\s*([A-Z0-9-]{6,})\s*$", body, re.M).group(1)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name=re.compile("Sign in|Confirm", re.I)).click()
    page.wait_for_url(re.compile("/my/$"))
    assert page.get_by_role("heading", level=1).count() == 1
