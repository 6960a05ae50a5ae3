"""A person on a second device clicks "Sign out everywhere else": the first device is signed out."""

import re

import pytest

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(new_page, person):
    page = new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in", re.I)).click()
    page.wait_for_url(re.compile("/my/$"))
    return page


def test_it_signs_out_the_other_device_and_keeps_this_one(new_page, assert_accessible):
    owner = factories.UserFactory(email="owner@example.org", full_name="Olive Owner")
    shop_computer = sign_in(new_page, owner)
    phone = sign_in(new_page, owner)

    phone.get_by_role("link", name="Account and sign-in").click()
    phone.wait_for_url(re.compile("/my/account/$"))
    assert_accessible(phone)
    phone.get_by_role("button", name="Sign out everywhere else").click()
    phone.wait_for_url(re.compile("/my/account/$"))
    assert phone.get_by_role("status").filter(has_text="signed out on every other device").count()
    phone.goto("/my/")
    assert phone.get_by_role("heading", level=1).count() == 1
    assert "/my/" in phone.url  # still signed in here

    shop_computer.reload()
    shop_computer.wait_for_url(re.compile("/accounts/login/"))
    assert shop_computer.get_by_text("Sign out everywhere else").first.is_visible()
    assert shop_computer.get_by_role("link", name="Sign in").first.is_visible()
