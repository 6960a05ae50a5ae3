"""Staff sign in with two steps in Chromium: the password, then a code from their app.

An officer opens /admin/, signs in on the portal's sign-in page by typing into the labelled
boxes, is asked for the code and types the one their authenticator app would show (worked out
here from the app's secret, RFC 6238), and lands on the admin. A new member of staff is walked
through setting it up first: the QR code and the key written out, a code, the recovery codes,
then the admin. Each two-step page is checked with axe-core and for CSP violations.
"""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import expect

from dorset_bcp.two_factor import authenticator_secret, totp_code
from tests import factories
from tests.browser.test_csp import REPORT_VIOLATIONS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("two_factor_on"),
]


def code_now(secret: str) -> str:
    """The app's code, taken with at least 5 of its 30 seconds left, so it is still the current
    one when the portal checks it (Chromium keeps the real clock)."""
    if 30 - time.time() % 30 < 5:
        time.sleep(30 - time.time() % 30 + 0.5)
    return totp_code(secret)


@pytest.fixture
def officer(db):
    area = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    return factories.OfficerFactory(
        area=area, email="pc.smith@example.org", full_name="PC Jane Smith"
    )


@pytest.fixture
def page(new_page):
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.violations = []
    page.context.expose_function("reportCspViolation", lambda text: page.violations.append(text))
    page.context.add_init_script(REPORT_VIOLATIONS)
    return page


def sign_in_with_password(page, person):
    page.goto("/admin/")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=%2Fadmin%2F$"))
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in", re.I)).click()


def test_it_signs_an_officer_in_to_the_admin_with_the_code_from_their_app(
    page, officer, assert_accessible
):
    factories.give_authenticator(officer)

    sign_in_with_password(page, officer)

    page.wait_for_url(re.compile("/accounts/2fa/authenticate/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your sign-in code")
    code_box = page.get_by_label("Code from your authenticator app")
    expect(code_box).to_have_attribute("autocomplete", "one-time-code")
    expect(code_box).to_have_attribute("inputmode", "numeric")
    assert_accessible(page)

    code_box.fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.locator("#error-summary")).to_be_focused()
    assert_accessible(page)

    page.get_by_label("Code from your authenticator app").fill(code_now(factories.TOTP_SECRET))
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(re.compile("/admin/$"))
    expect(page.get_by_role("heading", name="Triage and administration")).to_be_visible()
    expect(page.get_by_role("link", name="Concerns", exact=True)).to_be_visible()
    assert page.violations == []


def test_it_walks_a_new_member_of_staff_through_setting_it_up(page, officer, assert_accessible):
    sign_in_with_password(page, officer)

    # Changing how one signs in asks for the password again first.
    page.wait_for_url(re.compile("/accounts/reauthenticate/"))
    expect(page.get_by_text("Set up two-step sign-in to continue.")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(re.compile("/accounts/2fa/totp/activate/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step sign-in")
    expect(page.get_by_text("You can see other people's names")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    # Someone who cannot scan types the key written on the page into their app.
    secret = page.locator("#authenticator-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert_accessible(page)

    page.get_by_label("Code from your authenticator app").fill("12")
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert page.locator("#authenticator-secret").inner_text().strip() == secret
    assert_accessible(page)

    page.get_by_label("Code from your authenticator app").fill(code_now(secret))
    page.get_by_role("button", name="Turn on two-step sign-in").click()

    page.wait_for_url(re.compile("/accounts/2fa/recovery-codes/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    expect(
        page.get_by_role("list", name="Unused recovery codes").get_by_role("listitem")
    ).to_have_count(10)
    assert_accessible(page)
    page.get_by_role("link", name="I have saved my codes: continue").click()

    page.wait_for_url(re.compile("/admin/$"))
    expect(page.get_by_role("heading", name="Triage and administration")).to_be_visible()
    assert page.violations == []
    stored = Authenticator.objects.get(user=officer, type="totp")
    assert authenticator_secret(stored) == secret


def test_it_offers_an_owner_two_step_sign_in_from_their_account(page, assert_accessible):
    owner = factories.UserFactory(email="owner@example.org", full_name="Olive Owner")
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in", re.I)).click()
    page.wait_for_url(re.compile("/my/$"))

    page.goto("/my/account/")
    page.get_by_role("link", name="Set up two-step sign-in").click()
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile("/accounts/2fa/totp/activate/$"))
    expect(page.get_by_text("someone who learns your password still cannot get in")).to_be_visible()
    secret = page.locator("#authenticator-secret").inner_text().strip()
    page.get_by_label("Code from your authenticator app").fill(code_now(secret))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    page.wait_for_url(re.compile("/accounts/2fa/recovery-codes/$"))
    page.get_by_role("link", name="I have saved my codes: continue").click()

    page.wait_for_url(re.compile("/my/$"))
    page.goto("/my/account/")
    page.get_by_role("link", name="Two-step sign-in and recovery codes").click()
    expect(page.get_by_text("Two-step sign-in is on")).to_be_visible()
    assert_accessible(page)
    assert page.violations == []
