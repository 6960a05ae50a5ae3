"""Two-step sign-in: who must set it up, where they are stopped, and how they get through."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.core.management import call_command

from dorset_bcp.two_factor import (
    DEMO_TOTP_SECRET,
    NEXT_SESSION_KEY,
    authenticator_secret,
    totp_code,
)
from engagement.models import User
from tests import factories

pytestmark = pytest.mark.usefixtures("two_factor_on", "frozen_clock")

LOGIN = "/accounts/login/"
SET_UP = "/accounts/2fa/totp/activate/"
STEP_UP = "/accounts/2fa/reauthenticate/"
SIGN_IN_CODE = "/accounts/2fa/authenticate/"
ADMIN_CONCERNS = "/admin/engagement/concern/"


@pytest.fixture
def frozen_clock():
    # A code is good for its 30 seconds: the clock stands still, so a code worked out in a test
    # is the one the portal expects when it arrives.
    with time_machine.travel("2026-12-04 10:00:05+00:00", tick=False):
        yield


@pytest.fixture
def group_member(area):
    group = factories.CoordinatingGroupFactory(name="BCP Business Co-ordinating Group")
    area.group = group
    area.save(update_fields=["group"])
    return factories.GroupMemberFactory(group=group, email="bid.manager@example.org")


@pytest.fixture
def partnership_member(db):
    return factories.PartnershipMemberFactory(email="champion@example.org")


@pytest.fixture
def coordinator(db):
    return factories.UserFactory(email="pubwatch.chair@example.org", full_name="Pat Chair")


@pytest.fixture
def scheme(coordinator):
    return factories.WatchSchemeFactory(
        name="Pub Watch", slug="pub-watch", coordinators=[coordinator]
    )


def messages_on(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


# Who is stopped, and where


SCREENS = [
    ("npt_officer", "/admin/"),
    ("npt_officer", ADMIN_CONCERNS),
    ("superuser", "/admin/auth/group/"),
    ("superuser", "/watch-schemes/pub-watch/manage/"),
    ("group_member", "/partnership/"),
    ("group_member", "/partnership/insight/"),
    ("partnership_member", "/partnership/"),
    ("coordinator", "/watch-schemes/pub-watch/manage/"),
]


@pytest.mark.parametrize(("person", "screen"), SCREENS)
def test_it_sends_each_role_without_an_authenticator_to_set_one_up(
    client, request, scheme, person, screen
):
    client.force_login(request.getfixturevalue(person))

    response = client.get(screen)

    assert response.status_code == 302
    assert response["Location"] == SET_UP
    assert any("Set up two-step sign-in to continue" in m for m in messages_on(response))
    assert client.session[NEXT_SESSION_KEY] == screen


@pytest.mark.parametrize(("person", "screen"), SCREENS)
def test_it_lets_each_role_through_once_the_session_has_entered_a_code(
    client, request, scheme, person, screen
):
    user = request.getfixturevalue(person)
    factories.give_authenticator(user)
    factories.force_login_with_second_factor(client, user)

    assert client.get(screen).status_code == 200


@pytest.mark.parametrize(("person", "screen"), SCREENS)
def test_it_asks_a_session_signed_in_without_the_code_for_it(
    client, request, scheme, person, screen
):
    user = request.getfixturevalue(person)
    factories.give_authenticator(user)
    client.force_login(user)  # e.g. a session from before two-step sign-in

    response = client.get(screen)

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == STEP_UP
    assert parse_qs(location.query)["next"] == [screen]


def test_it_steps_a_session_up_with_the_code_and_returns_to_the_screen(client, npt_officer):
    factories.give_authenticator(npt_officer)
    client.force_login(npt_officer)
    step_up = client.get(ADMIN_CONCERNS)["Location"]

    page = client.get(step_up)
    assert "Enter your sign-in code" in page.content.decode()
    response = client.post(
        step_up, {"code": totp_code(factories.TOTP_SECRET), "next": ADMIN_CONCERNS}
    )

    assert response.status_code == 302
    assert response["Location"] == ADMIN_CONCERNS
    assert client.get(ADMIN_CONCERNS).status_code == 200


def test_it_keeps_a_wrong_step_up_code_on_the_page_with_an_error_summary(client, npt_officer):
    factories.give_authenticator(npt_officer)
    client.force_login(npt_officer)

    response = client.post(f"{STEP_UP}?next=/admin/", {"code": "000000", "next": "/admin/"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert 'value="000000"' in page
    assert client.get("/admin/")["Location"].startswith(STEP_UP)


def test_it_asks_nothing_of_an_owner(client, owner, business, concern):
    client.force_login(owner)

    assert client.get("/my/").status_code == 200
    assert client.get(concern.get_absolute_url()).status_code == 200
    # Screens that are not theirs refuse them as before, without a detour to set-up.
    assert client.get("/partnership/").status_code in (403, 404)
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_it_asks_nothing_on_a_staff_members_other_pages(client, npt_officer):
    client.force_login(npt_officer)

    assert client.get("/my/").status_code == 200
    assert client.get("/my/account/").status_code == 200


def test_it_lets_staff_sign_out_of_the_admin_without_the_code(client, npt_officer):
    client.force_login(npt_officer)

    response = client.post("/admin/logout/")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_it_asks_nothing_when_turned_off_for_development(client, settings, npt_officer):
    settings.TWO_FACTOR_REQUIRED = False
    client.force_login(npt_officer)

    assert client.get("/admin/").status_code == 200


# The admin's sign-in is allauth's


def test_it_sends_the_admin_sign_in_to_the_portals_sign_in(client, db):
    response = client.get("/admin/login/?next=/admin/engagement/concern/")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == LOGIN
    assert parse_qs(location.query)["next"] == [ADMIN_CONCERNS]


def test_it_sends_an_anonymous_visitor_of_the_admin_to_the_portals_sign_in(client, db):
    response = client.get(ADMIN_CONCERNS, follow=True)

    assert response.redirect_chain[-1][0] == f"{LOGIN}?next=%2Fadmin%2Fengagement%2Fconcern%2F"


def test_it_refuses_the_admin_sign_in_to_a_signed_in_owner(client, owner):
    client.force_login(owner)

    assert client.get("/admin/login/").status_code == 403


def test_it_asks_staff_for_the_code_after_the_password_and_lands_them_in_the_admin(
    client, npt_officer
):
    factories.give_authenticator(npt_officer)

    response = client.post(
        f"{LOGIN}?next={ADMIN_CONCERNS}",
        {"login": npt_officer.email, "password": factories.PASSWORD},
    )
    assert response["Location"] == SIGN_IN_CODE
    assert "_auth_user_id" not in client.session  # not signed in on the password alone
    page = client.get(SIGN_IN_CODE).content.decode()
    assert 'autocomplete="one-time-code"' in page
    assert 'inputmode="numeric"' in page

    response = client.post(SIGN_IN_CODE, {"code": totp_code(factories.TOTP_SECRET)})

    assert response["Location"] == ADMIN_CONCERNS
    assert client.get(ADMIN_CONCERNS).status_code == 200  # not asked again


def test_it_signs_staff_in_with_a_recovery_code_once(client, npt_officer):
    factories.give_authenticator(npt_officer)
    recovery = Authenticator.objects.get(user=npt_officer, type="recovery_codes").wrap()
    code = recovery.get_unused_codes()[0]
    client.post(LOGIN, {"login": npt_officer.email, "password": factories.PASSWORD})

    response = client.post(SIGN_IN_CODE, {"code": code})

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    client.post("/accounts/logout/")
    client.post(LOGIN, {"login": npt_officer.email, "password": factories.PASSWORD})
    assert client.post(SIGN_IN_CODE, {"code": code}).status_code == 200  # used up


def test_it_costs_no_query_once_the_session_has_entered_a_code(
    client, settings, group_member, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    factories.give_authenticator(group_member)
    factories.force_login_with_second_factor(client, group_member)
    settings.TWO_FACTOR_REQUIRED = False
    client.get("/partnership/")  # warm: the session's clocks, the membership in the session
    with CaptureQueriesContext(connection) as without_two_factor:
        assert client.get("/partnership/").status_code == 200
    settings.TWO_FACTOR_REQUIRED = True

    with django_assert_num_queries(len(without_two_factor.captured_queries)):
        assert client.get("/partnership/").status_code == 200


def test_it_refuses_a_wrong_sign_in_code_with_an_error_summary(client, npt_officer):
    factories.give_authenticator(npt_officer)
    client.post(LOGIN, {"login": npt_officer.email, "password": factories.PASSWORD})

    response = client.post(SIGN_IN_CODE, {"code": "12345"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert 'href="#id_code"' in page
    assert "_auth_user_id" not in client.session


def test_it_limits_wrong_sign_in_codes_like_wrong_passwords(client, npt_officer):
    factories.give_authenticator(npt_officer)
    client.post(LOGIN, {"login": npt_officer.email, "password": factories.PASSWORD})
    for _ in range(5):
        client.post(SIGN_IN_CODE, {"code": "000000"})

    response = client.post(SIGN_IN_CODE, {"code": totp_code(factories.TOTP_SECRET)})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


# Setting it up


# A real commit: allauth marks the set-up done, and this session as having entered a code, when
# its transaction commits, before the response saves the session.
@pytest.mark.django_db(transaction=True)
def test_it_walks_a_new_officer_through_set_up_to_the_admin(client, npt_officer):
    response = client.post(
        f"{LOGIN}?next={ADMIN_CONCERNS}",
        {"login": npt_officer.email, "password": factories.PASSWORD},
    )
    assert client.get(response["Location"])["Location"] == SET_UP
    # Changing how one signs in asks for the password again (allauth's reauthentication).
    confirm = client.get(SET_UP)["Location"]
    assert confirm.startswith("/accounts/reauthenticate/")
    client.post(confirm, {"password": factories.PASSWORD})

    page = client.get(SET_UP).content.decode()
    secret = client.session["mfa.totp.secret"]
    assert f'<code class="two-factor-secret" id="authenticator-secret">{secret}</code>' in page
    assert 'src="data:image/svg+xml;base64,' in page
    assert "You can see other people" in page
    response = client.post(SET_UP, {"code": totp_code(secret)})

    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    codes_page = client.get(response["Location"]).content.decode()
    assert codes_page.count("<li><code>") == 10
    assert f'href="{ADMIN_CONCERNS}">I have saved my codes: continue' in codes_page
    assert client.get(ADMIN_CONCERNS).status_code == 200  # the set-up took a code
    stored = Authenticator.objects.get(user=npt_officer, type="totp")
    assert authenticator_secret(stored) == secret


def test_it_keeps_a_wrong_set_up_code_with_an_error_summary(client, owner):
    factories.force_login_with_second_factor(client, owner)
    client.post("/accounts/reauthenticate/", {"password": factories.PASSWORD})
    client.get(SET_UP)
    response = client.post(SET_UP, {"code": "99999x"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert 'value="99999x"' in page
    assert not Authenticator.objects.filter(user=owner).exists()


def test_it_offers_owners_two_step_sign_in_from_their_account_page(client, owner):
    client.force_login(owner)

    page = client.get("/my/account/").content.decode()
    assert f'<a href="{SET_UP}">Set up two-step sign-in</a>' in page

    factories.give_authenticator(owner)
    page = client.get("/my/account/").content.decode()
    assert "Set up two-step sign-in" not in page
    assert 'href="/accounts/2fa/">Two-step sign-in and recovery codes</a> (on)' in page


def test_it_lets_an_owner_turn_it_off(client, owner):
    factories.give_authenticator(owner)
    factories.force_login_with_second_factor(client, owner)
    client.post("/accounts/2fa/reauthenticate/", {"code": totp_code(factories.TOTP_SECRET)})

    response = client.post("/accounts/2fa/totp/deactivate/")

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=owner).exists()


def test_it_does_not_let_an_officer_turn_it_off(client, npt_officer):
    factories.give_authenticator(npt_officer)
    factories.force_login_with_second_factor(client, npt_officer)
    client.post("/accounts/2fa/reauthenticate/", {"code": totp_code(factories.TOTP_SECRET)})

    response = client.post("/accounts/2fa/totp/deactivate/")

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert Authenticator.objects.filter(user=npt_officer, type="totp").exists()


def test_it_shows_administrators_who_has_it_without_the_secret(client, superuser, npt_officer):
    authenticator = factories.give_authenticator(npt_officer)
    factories.give_authenticator(superuser)
    factories.force_login_with_second_factor(client, superuser)

    page = client.get(f"/admin/mfa/authenticator/{authenticator.pk}/change/").content.decode()

    assert npt_officer.full_name in page
    assert factories.TOTP_SECRET not in page
    assert 'name="data"' not in page
    assert client.get("/admin/mfa/authenticator/add/").status_code == 403


# The demo accounts


DEMO_MUST_USE_IT = {
    "npt@demo.test",
    "group@demo.test",
    "partnership@demo.test",
    "editor@demo.test",
    "specialist@demo.test",
    "cyber@demo.test",
    "admin@demo.test",
}


def test_it_gives_the_demo_accounts_the_documented_secret_and_prints_it(db, settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", password="a-test-demo-password", stdout=out)
    code_now = totp_code(DEMO_TOTP_SECRET)

    secrets = {
        authenticator.user.email: authenticator_secret(authenticator)
        for authenticator in Authenticator.objects.filter(type="totp").select_related("user")
    }
    assert secrets == dict.fromkeys(DEMO_MUST_USE_IT, DEMO_TOTP_SECRET)
    assert f"Add the key {DEMO_TOTP_SECRET} to any authenticator app" in out.getvalue()
    assert f"Now it is {code_now}." in out.getvalue()

    call_command("seed_demo", password="a-test-demo-password", stdout=io.StringIO())
    assert Authenticator.objects.filter(type="totp").count() == len(DEMO_MUST_USE_IT)
    assert Authenticator.objects.filter(type="recovery_codes").count() == len(DEMO_MUST_USE_IT)


def test_it_gives_the_demo_accounts_no_secret_with_debug_off(db, settings):
    settings.DEBUG = False
    settings.PRODUCTION = False  # e.g. a benchmark's copy of the demo accounts
    out = io.StringIO()

    call_command("seed_demo", password="a-test-demo-password", stdout=out)

    assert User.objects.filter(email="npt@demo.test").exists()
    assert not Authenticator.objects.exists()
    assert DEMO_TOTP_SECRET not in out.getvalue()
    assert "DEBUG is off, so no demo authenticator was added" in out.getvalue()


def test_it_signs_a_demo_officer_in_with_the_demo_secret(client, db, settings):
    settings.DEBUG = True
    call_command("seed_demo", password="a-test-demo-password", stdout=io.StringIO())

    client.post(LOGIN, {"login": "npt@demo.test", "password": "a-test-demo-password"})
    response = client.post(SIGN_IN_CODE, {"code": totp_code(DEMO_TOTP_SECRET)})

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


# Production cannot run without it


def settings_in_a_fresh_process(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    clean.update(
        DJANGO_SECRET_KEY="s" * 64,
        DJANGO_VAR_DIR=str(Path(__file__).resolve().parent.parent / "var"),
        **env,
    )
    return subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [
            sys.executable,
            "-c",
            "import dorset_bcp.settings as s; print('required', s.TWO_FACTOR_REQUIRED)",
        ],
        env=clean,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )


def test_it_requires_two_step_sign_in_by_default_in_production():
    result = settings_in_a_fresh_process(DJANGO_DEBUG="0")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "required True"


def test_it_refuses_to_start_production_with_two_step_sign_in_off():
    result = settings_in_a_fresh_process(DJANGO_DEBUG="0", DJANGO_TWO_FACTOR_REQUIRED="0")

    assert result.returncode != 0
    assert re.search(
        r"DJANGO_TWO_FACTOR_REQUIRED can be turned off only with DEBUG on", result.stderr
    )
