"""Throttles stop abuse without locking people out: limits per client address (taken correctly
behind the proxy), per account and per email address; a paused account still signs in with an
emailed code; emails to one address are capped and the page says so, keeping what was typed."""

import datetime as dt
import logging
import re

import pytest
import time_machine
from django.test import RequestFactory

from dorset_bcp.account_adapter import AccountAdapter
from engagement.models import Concern, ConcernUpdate, OutboundEmail
from tests import factories

ATTACKER = "203.0.113.66"
OWNER_HOME = "198.51.100.7"


def rates(settings, **overrides):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, **overrides}


def emails_to(address: str) -> int:
    return OutboundEmail.objects.filter(to=address).count()


# The client address behind the proxy


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "client_ip"),
    [
        (0, "1.1.1.1", "10.0.0.1"),  # not configured: the header is anyone's to write
        (1, "1.1.1.1", "1.1.1.1"),  # the proxy appended the address it saw
        (1, "6.6.6.6, 1.1.1.1", "1.1.1.1"),  # what the client wrote itself is ignored
        (2, "6.6.6.6, 1.1.1.1, 10.0.0.2", "1.1.1.1"),
        (2, "1.1.1.1", "10.0.0.1"),  # did not come through both proxies
        (1, None, "10.0.0.1"),
    ],
)
def test_it_takes_the_client_address_from_x_forwarded_for_only_as_configured(
    settings, proxies, forwarded_for, client_ip
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = proxies
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", **headers)
    assert AccountAdapter().get_client_ip(request) == client_ip


def test_it_takes_the_client_address_from_the_load_balancers_header(settings):
    settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER = "X-Real-IP"
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="1.1.1.1")
    assert AccountAdapter().get_client_ip(request) == "1.1.1.1"
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1")
    assert AccountAdapter().get_client_ip(request) == "10.0.0.1"


def guest_link_misses(client, addresses) -> list[int]:
    return [
        client.get("/report/track/not-a-link/", HTTP_X_FORWARDED_FOR=address).status_code
        for address in addresses
    ]


def test_behind_the_proxy_each_person_has_their_own_budget(client, settings, db):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    rates(settings, guest_link_miss="2/h/ip")
    assert guest_link_misses(client, ["1.1.1.1", "1.1.1.1", "2.2.2.2", "3.3.3.3"]) == [404] * 4
    assert guest_link_misses(client, ["1.1.1.1"]) == [429]


def test_without_the_setting_a_forged_header_buys_no_budget(client, settings, db):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    rates(settings, guest_link_miss="2/h/ip")
    assert guest_link_misses(client, ["1.1.1.1", "2.2.2.2", "3.3.3.3"]) == [404, 404, 429]


# Sign-in: a stranger's wrong guesses cannot lock the owner out


def test_a_paused_account_still_signs_in_with_an_emailed_code(client, owner):
    from django.test import Client

    attacker = Client()
    for _ in range(30):
        attacker.post(
            "/accounts/login/",
            {"login": owner.email, "password": "guess-123456"},
            REMOTE_ADDR=ATTACKER,
        )

    # From home, with the right password: refused, and told what to do.
    page = client.post(
        "/accounts/login/",
        {"login": owner.email, "password": factories.PASSWORD},
        REMOTE_ADDR=OWNER_HOME,
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "Signing in with a password is paused for this email address" in text
    assert "Send me a sign-in code" in text
    assert "_auth_user_id" not in client.session

    # The emailed code signs them in.
    response = client.post("/accounts/login/code/", {"email": owner.email}, REMOTE_ADDR=OWNER_HOME)
    assert response.status_code == 302
    email = OutboundEmail.objects.get(to=owner.email)
    code = re.search(r"^\s*([A-Z0-9-]{6,})\s*$", email.body_text, re.M).group(1)
    response = client.post("/accounts/login/code/confirm/", {"code": code}, REMOTE_ADDR=OWNER_HOME)
    assert response.status_code == 302
    assert response["Location"] == "/my/"
    assert client.session["_auth_user_id"] == str(owner.pk)


def strangers_guesses(owner, count=30):
    from django.test import Client

    stranger = Client()
    for n in range(count):
        data = {"login": owner.email, "password": f"guess-{n}-123456"}
        stranger.post("/accounts/login/", data, REMOTE_ADDR=ATTACKER)


def sign_in(client, email, password=factories.PASSWORD):
    data = {"login": email, "password": password}
    return client.post("/accounts/login/", data, REMOTE_ADDR=OWNER_HOME)


def test_a_device_the_owner_signed_in_on_before_is_not_paused(client, owner):
    assert sign_in(client, owner.email).status_code == 302
    assert "known_device" in client.cookies
    client.post("/accounts/logout/")

    strangers_guesses(owner)

    assert sign_in(client, owner.email).status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_a_known_device_has_its_own_budget_for_wrong_passwords(client, owner):
    assert sign_in(client, owner.email).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(5):
        sign_in(client, owner.email, password="wrong-123456")
    page = sign_in(client, owner.email)
    assert "Signing in with a password is paused" in page.content.decode()


def test_a_device_cookie_for_another_address_or_forged_buys_nothing(client, owner, other_owner):
    assert sign_in(client, other_owner.email).status_code == 302
    client.post("/accounts/logout/")
    strangers_guesses(owner)
    assert "Signing in with a password is paused" in sign_in(client, owner.email).content.decode()
    client.cookies["known_device"] = "forged"
    assert "Signing in with a password is paused" in sign_in(client, owner.email).content.decode()


def test_it_signs_in_with_the_right_password_after_a_few_mistakes(client, owner):
    for _ in range(4):
        client.post("/accounts/login/", {"login": owner.email, "password": "wrong-123456"})
    response = client.post(
        "/accounts/login/", {"login": owner.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 302


# Emails to one address are capped; the page says so and keeps what was typed


def test_it_caps_guest_report_emails_to_one_address(client, settings, area):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    for n in range(3):
        data = factories.guest_form_data(contact_email="victim@example.org")
        response = factories.send_report(
            client, data, guest=True, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}"
        )
        assert response.status_code == 302

    data = factories.guest_form_data(
        contact_email="victim@example.org", description="A fourth report, typed with care."
    )
    page = factories.send_report(client, data, guest=True, HTTP_X_FORWARDED_FOR="192.0.2.99")
    text = page.content.decode()
    assert page.status_code == 429
    assert "We have already sent several emails to this address in the last hour" in text
    assert "A fourth report, typed with care." in text
    assert 'value="victim@example.org"' in text
    assert emails_to("victim@example.org") == 3
    assert Concern.objects.count() == 3


def test_a_typing_mistake_costs_no_email_budget(client, area):
    for _ in range(5):
        factories.send_report(client, factories.guest_form_data(postcode="SW1A 1AA"), guest=True)
    response = factories.send_report(client, factories.guest_form_data(), guest=True)
    assert response.status_code == 302


def test_it_caps_guest_reports_from_one_address(client, settings, area):
    rates(settings, guest_report="2/h/ip")
    for n in range(2):
        data = factories.guest_form_data(contact_email=f"guest{n}@example.org")
        assert factories.send_report(client, data, guest=True).status_code == 302
    page = factories.send_report(
        client, factories.guest_form_data(contact_email="g@example.org"), guest=True
    )
    assert page.status_code == 429
    assert "paused them for a while" in page.content.decode()


def test_it_caps_password_reset_emails_to_one_address(client, owner):
    for _ in range(3):
        client.post("/accounts/password/reset/", {"email": owner.email})
    page = client.post("/accounts/password/reset/", {"email": owner.email})
    text = page.content.decode()
    assert page.status_code == 200
    assert "We have already sent several emails to this address in the last hour" in text
    assert f'value="{owner.email}"' in text
    assert emails_to(owner.email) == 3


def test_it_caps_sign_up_emails_to_one_address(client, db):
    data = {
        "email": "taken@example.org",
        "password1": "pass-phrase-42x",
        "password2": "pass-phrase-42x",
    }
    # allauth sends one a few minutes at most; the portal caps them at 3 an hour.
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        for _ in range(3):
            assert client.post("/accounts/signup/", data).status_code == 302
            clock.shift(dt.timedelta(minutes=4))
        page = client.post("/accounts/signup/", data)
    assert "We have already sent several emails to this address" in page.content.decode()
    assert 'value="taken@example.org"' in page.content.decode()
    assert emails_to("taken@example.org") == 3


def test_it_caps_email_change_confirmations_to_one_address(client, owner):
    client.force_login(owner)
    add = {"action_add": "", "email": "moved@example.org"}
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        for _ in range(3):
            assert client.post("/accounts/email/", add).status_code == 302
            client.post("/accounts/email/", {"action_remove": "", "email": "moved@example.org"})
            clock.shift(dt.timedelta(minutes=4))
        page = client.post("/accounts/email/", add)
    assert "We have already sent several emails to this address" in page.content.decode()
    assert emails_to("moved@example.org") == 3


# Guest links, replies and uploads


def test_it_pauses_link_lookups_from_an_address_that_keeps_missing(client, settings, area, caplog):
    rates(settings, guest_link_miss="3/h/ip")
    factories.send_report(client, factories.guest_form_data(), guest=True)
    path = re.search(r"(/report/track/[^/\s]+/)", OutboundEmail.objects.get().body_text).group(1)
    assert guest_link_misses(client, ["x"] * 3) == [404] * 3
    with caplog.at_level(logging.WARNING, logger="django.request"):
        page = client.get(path)
    assert page.status_code == 429
    assert "Please wait a few minutes" in page.content.decode()
    assert "Too Many Requests: /report/track/[token]/" in caplog.text
    assert path not in caplog.text
    assert client.get(path, REMOTE_ADDR="10.9.9.9").status_code == 200


def test_it_pauses_replies_per_account_and_keeps_the_words(client, settings, owner, concern):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    rates(settings, reply="20/m/ip,2/h/key")
    client.force_login(owner)
    url = f"/my/concerns/{concern.reference}/reply/"
    for n in range(2):
        response = client.post(url, {"body": f"Reply {n}"}, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        assert response.status_code == 302
    page = client.post(url, {"body": "A third, kept."}, HTTP_X_FORWARDED_FOR="192.0.2.9")
    assert page.status_code == 429
    assert "A third, kept." in page.content.decode()
    assert concern.updates.filter(kind=ConcernUpdate.Kind.REPLY).count() == 2


def test_it_pauses_uploads_per_account(client, settings, owner, business):
    rates(settings, upload="20/h/ip,1/h/key")
    client.force_login(owner)
    for description in ("First report with a photo.", "Second report with a photo."):
        data = factories.concern_form_data(business=business.pk, description=description)
        data["attachments"] = [factories.png_upload("till.png")]
        response = factories.send_report(client, data)
    page = response.content.decode()
    assert response.status_code == 429
    assert "Second report with a photo." in page
    assert "Files are not kept: attach them again" in page
    assert Concern.objects.count() == 1


def test_lost_link_requests_that_send_nothing_do_not_use_up_a_victims_email_budget(
    client, settings, area
):
    # A stranger asks for a "lost link" with someone else's address and made-up references:
    # nothing is sent, so the address's email budget must still let its owner report.
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    for n in range(5):
        client.post(
            "/report/lost-link/",
            {"email": "victim@example.org", "reference": f"DBC-2026-99999{n}"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
    assert emails_to("victim@example.org") == 0

    data = factories.guest_form_data(contact_email="victim@example.org")
    response = factories.send_report(client, data, guest=True, HTTP_X_FORWARDED_FOR="192.0.2.1")

    assert response.status_code == 302
    assert Concern.objects.filter(contact_email="victim@example.org").exists()


def test_lost_link_requests_tell_nobody_whether_a_guess_matched(client, settings, area):
    # Whether the address and reference matched a report, the reports from that address are
    # capped the same afterwards: the cap is no way to learn that a guess was right.
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    concern = factories.ConcernFactory(
        reporter=None, contact_email="gita@example.org", tracking_token_hash="a" * 64
    )
    for n in range(3):
        client.post(
            "/report/lost-link/",
            {"email": "gita@example.org", "reference": concern.reference},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
    assert emails_to("gita@example.org") == 3  # the link was sent each time
    data = factories.guest_form_data(contact_email="gita@example.org")
    response = factories.send_report(client, data, guest=True, HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert response.status_code == 302
