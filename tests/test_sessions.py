"""Sessions end when idle, at an absolute limit, and everywhere at once when the person asks.

Every test freezes the clock at START and moves it by hand: the limits are compared with the
moments the test chose, never with a now() taken while it runs.
"""

import datetime as dt
import subprocess
import sys

import pytest
import time_machine
from django.conf import settings
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.test import Client

from dorset_bcp.celery import app as celery_app
from engagement.tasks import clear_expired_sessions
from tests import factories

START = dt.datetime(2027, 1, 12, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def sign_in(user) -> Client:
    """A browser of its own, signed in through the sign-in form as a person would."""
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": user.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 302, response.content
    return client


def open_page(client, path):
    """Use the portal at the clock's moment: the page, or the sign-in page and why."""
    response = client.get(path)
    said = " ".join(str(message) for message in get_messages(response.wsgi_request))
    return response, said


def signed_out(response, said) -> bool:
    return response.status_code == 302 and "/login/" in response["Location"]


@pytest.fixture
def group_member(db):
    group = factories.CoordinatingGroupFactory()
    return factories.GroupMemberFactory(email="member@example.org", group=group)


# Idle expiry


def test_it_keeps_an_owner_signed_in_for_two_hours_without_using_the_portal(clock, owner):
    client = sign_in(owner)
    clock.move_to(START + 2 * HOUR)
    response, _ = open_page(client, "/my/")
    assert response.status_code == 200


def test_it_signs_an_owner_out_after_two_hours_idle_and_says_why(clock, owner):
    client = sign_in(owner)
    clock.move_to(START + 2 * HOUR + dt.timedelta(seconds=1))
    response, said = open_page(client, "/my/")
    assert signed_out(response, said)
    assert "signed out because the portal was not used for 2 hours" in said
    # The session is over, not just this page: the next one is signed out too.
    assert client.get("/my/").status_code == 302


def test_it_counts_idle_time_from_the_last_page_used(clock, owner):
    client = sign_in(owner)
    clock.move_to(START + 110 * MINUTE)
    assert open_page(client, "/my/")[0].status_code == 200
    clock.move_to(START + 220 * MINUTE)  # 3 h 40 after signing in, 1 h 50 after the last page
    assert open_page(client, "/my/")[0].status_code == 200


def test_it_keeps_an_officer_signed_in_for_thirty_minutes_without_use(clock, npt_officer):
    client = sign_in(npt_officer)
    clock.move_to(START + 30 * MINUTE)
    assert open_page(client, "/admin/")[0].status_code == 200


def test_it_signs_an_officer_out_after_thirty_minutes_idle(clock, npt_officer):
    client = sign_in(npt_officer)
    clock.move_to(START + 30 * MINUTE + dt.timedelta(seconds=1))
    response, said = open_page(client, "/admin/")
    assert signed_out(response, said)
    assert "not used for 30 minutes" in said


def test_it_signs_a_group_member_out_after_thirty_minutes_idle(clock, group_member):
    client = sign_in(group_member)
    clock.move_to(START + 31 * MINUTE)
    response, said = open_page(client, "/partnership/")
    assert signed_out(response, said)
    assert "not used for 30 minutes" in said


def test_it_signs_a_partnership_member_out_after_thirty_minutes_idle(clock, db):
    member = factories.PartnershipMemberFactory(email="champion@example.org")
    client = sign_in(member)
    clock.move_to(START + 31 * MINUTE)
    assert signed_out(*open_page(client, "/partnership/"))


def test_it_reads_the_idle_limits_from_settings(clock, settings, owner):
    settings.SESSION_IDLE_OWNER_SECONDS = 10 * 60
    client = sign_in(owner)
    clock.move_to(START + 11 * MINUTE)
    response, said = open_page(client, "/my/")
    assert signed_out(response, said)
    assert "not used for 10 minutes" in said


# Absolute expiry


def test_it_signs_a_busy_officer_out_twelve_hours_after_signing_in(clock, npt_officer):
    client = sign_in(npt_officer)
    for minutes in range(20, 12 * 60 + 1, 20):  # a page every 20 minutes, all day
        clock.move_to(START + minutes * MINUTE)
        assert open_page(client, "/my/")[0].status_code == 200, minutes
    clock.move_to(START + 12 * HOUR + 10 * MINUTE)
    response, said = open_page(client, "/my/")
    assert signed_out(response, said)
    assert "signed in more than 12 hours ago" in said


def test_it_signs_a_busy_owner_out_at_their_absolute_limit(clock, settings, owner):
    settings.SESSION_MAX_OWNER_SECONDS = 6 * 60 * 60
    client = sign_in(owner)
    for hours in range(1, 7):
        clock.move_to(START + hours * HOUR)
        assert open_page(client, "/my/")[0].status_code == 200, hours
    clock.move_to(START + 6 * HOUR + MINUTE)
    response, said = open_page(client, "/my/")
    assert signed_out(response, said)
    assert "signed in more than 6 hours ago" in said


# What is stored


def test_it_stores_the_session_until_a_while_after_its_idle_limit(clock, owner, npt_officer):
    owner_client = sign_in(owner)
    officer_client = sign_in(npt_officer)
    owner_row = Session.objects.get(session_key=owner_client.session.session_key)
    officer_row = Session.objects.get(session_key=officer_client.session.session_key)
    # 12 hours after the idle limit, in which a returning person is told why they were signed
    # out: 2 h + 12 h for an owner, 30 min + 12 h for an officer.
    assert owner_row.expire_date == START + 14 * HOUR
    assert officer_row.expire_date == START + 12 * HOUR + 30 * MINUTE


def test_it_moves_the_stored_expiry_on_as_the_portal_is_used(clock, owner):
    client = sign_in(owner)
    clock.move_to(START + HOUR)
    client.get("/my/")
    row = Session.objects.get(session_key=client.session.session_key)
    assert row.expire_date == START + HOUR + 14 * HOUR


def test_it_writes_the_session_at_most_once_a_minute_for_activity(clock, owner):
    client = sign_in(owner)
    clock.move_to(START + 30 * dt.timedelta(seconds=1))
    client.get("/my/")
    row = Session.objects.get(session_key=client.session.session_key)
    assert row.expire_date == START + 14 * HOUR  # unchanged: activity 30 s ago is recent


# Sign out everywhere


def test_it_signs_out_every_other_session_of_the_person(clock, owner):
    here = sign_in(owner)
    laptop = sign_in(owner)
    phone = sign_in(owner)
    key_before = here.session.session_key

    response = here.post("/my/account/sign-out-everywhere/")

    assert response.status_code == 302
    assert response["Location"] == "/my/account/"
    page, said = open_page(here, "/my/account/")
    assert page.status_code == 200
    assert "signed out on every other device" in said
    # This session carries on under a new key: a copy of the old cookie is worth nothing.
    assert here.session.session_key != key_before
    for other in (laptop, phone):
        response, said = open_page(other, "/my/")
        assert signed_out(response, said)
        assert "Sign out everywhere else" in said


def test_it_leaves_other_people_signed_in(clock, owner, other_owner):
    mine = sign_in(owner)
    theirs = sign_in(other_owner)
    mine.post("/my/account/sign-out-everywhere/")
    assert open_page(theirs, "/my/")[0].status_code == 200


def test_it_lets_a_person_sign_in_again_after_signing_out_everywhere(clock, owner):
    here = sign_in(owner)
    laptop = sign_in(owner)
    here.post("/my/account/sign-out-everywhere/")
    open_page(laptop, "/my/")
    laptop = sign_in(owner)
    assert open_page(laptop, "/my/")[0].status_code == 200


def test_it_needs_a_signed_in_post_to_sign_out_everywhere(clock, client, owner):
    response = client.post("/my/account/sign-out-everywhere/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    signed_in = sign_in(owner)
    assert signed_in.get("/my/account/sign-out-everywhere/").status_code == 405
    owner.refresh_from_db()
    assert owner.session_version == 0


def test_it_shows_the_limits_on_the_account_page(clock, owner):
    page, _ = open_page(sign_in(owner), "/my/account/")
    text = page.content.decode()
    assert "12 January 2027 at 09:00" in text
    assert "signed out after 2 hours without using the portal" in text
    assert "14 days after signing in at the latest" in text


def test_it_needs_sign_in_for_the_account_page(client, db):
    response = client.get("/my/account/")
    assert response.status_code == 302 and "/login/" in response["Location"]


# Clearing expired sessions


def test_it_clears_expired_sessions_and_keeps_live_ones(clock, owner, npt_officer):
    officer_key = sign_in(npt_officer).session.session_key
    clock.move_to(START + 13 * HOUR)  # past the officer's 12 h 30, within the owner's 14 h
    owner_key = sign_in(owner).session.session_key

    clear_expired_sessions()

    assert not Session.objects.filter(session_key=officer_key).exists()
    assert Session.objects.filter(session_key=owner_key).exists()


def test_it_clears_expired_sessions_from_a_beat_job():
    entries = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "engagement.tasks.clear_expired_sessions" in entries
    assert "engagement.tasks.clear_expired_sessions" in celery_app.tasks


# Settings


def test_it_defaults_to_the_limits_in_the_issue():
    # Without the DJANGO_SESSION_* variables (CI sets none of them).
    assert settings.SESSION_IDLE_STAFF_SECONDS == 30 * 60
    assert settings.SESSION_MAX_STAFF_SECONDS == 12 * 60 * 60
    assert settings.SESSION_IDLE_OWNER_SECONDS == 2 * 60 * 60
    assert settings.SESSION_MAX_OWNER_SECONDS == 14 * 24 * 60 * 60


def test_it_refuses_an_idle_limit_longer_than_the_absolute_limit():
    result = subprocess.run(
        [sys.executable, "-c", "import dorset_bcp.settings"],
        env={
            "DJANGO_DEBUG": "1",
            "DJANGO_SESSION_IDLE_STAFF_SECONDS": "7200",
            "DJANGO_SESSION_MAX_STAFF_SECONDS": "3600",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode != 0
    assert "DJANGO_SESSION_IDLE_*_SECONDS must be at least 60" in result.stderr
