"""The anti-automation table: each public form sent 100 times in one minute, from one client and
from a different client address each time behind the proxy, and the emails that queues.

Rerun and print the table: `.venv/bin/pytest -s -q tests/benchmarks/test_anti_automation.py`.
Requests go through Django's test client (every middleware, sessions, CSRF off as in tests);
the clock is frozen and moved 0.6 s per request, so the 100 requests span exactly a minute.
"""

import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from engagement.models import OutboundEmail
from tests import factories

REQUESTS = 100
VICTIM = "victim@example.org"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@dataclass
class Row:
    form: str
    sender: str
    answers: str
    to_victim: int
    emails: int


def _address(n: int, rotating: bool) -> str:
    return f"198.18.{n // 250}.{n % 250 + 1}" if rotating else "198.18.0.1"


def _send(name, make_request, *, rotating: bool, client: Client) -> Row:
    cache.clear()
    OutboundEmail.objects.all().delete()
    answers = Counter()
    with time_machine.travel(START, tick=False) as clock:
        for n in range(REQUESTS):
            response = make_request(client, n, HTTP_X_FORWARDED_FOR=_address(n, rotating))
            answers[response.status_code] += 1
            clock.shift(dt.timedelta(seconds=60 / REQUESTS))
    assert 500 not in answers
    return Row(
        form=name,
        sender="rotating addresses" if rotating else "one address",
        answers=", ".join(f"{code}×{count}" for code, count in sorted(answers.items())),
        to_victim=OutboundEmail.objects.filter(to=VICTIM).count(),
        emails=OutboundEmail.objects.count(),
    )


def guest_report(client, n, **headers):
    data = factories.guest_form_data(contact_email=VICTIM)
    return factories.send_report(client, data, guest=True, **headers)


def guest_report_new_address(client, n, **headers):
    data = factories.guest_form_data(contact_email=f"guest{n}@example.org")
    return factories.send_report(client, data, guest=True, **headers)


def sign_up(client, n, **headers):
    data = {"email": VICTIM, "password1": "pass-phrase-42x", "password2": "pass-phrase-42x"}
    return client.post("/accounts/signup/", data, **headers)


def password_reset(client, n, **headers):
    return client.post("/accounts/password/reset/", {"email": VICTIM}, **headers)


def sign_in_code(client, n, **headers):
    client.cookies.clear()  # each request a new visitor asking for a code
    return client.post("/accounts/login/code/", {"email": VICTIM}, **headers)


def sign_in_wrong_password(client, n, **headers):
    data = {"login": VICTIM, "password": f"guess-{n}-123456"}
    return client.post("/accounts/login/", data, **headers)


def guest_link_lookup(client, n, **headers):
    return client.get(f"/report/track/{uuid.uuid4().hex}/", **headers)


def owner_reply(concern):
    def send(client, n, **headers):
        url = f"/my/concerns/{concern.reference}/reply/"
        return client.post(url, {"body": f"Reply {n}"}, **headers)

    return send


def email_change(client, n, **headers):
    return client.post("/accounts/email/", {"action_add": "", "email": VICTIM}, **headers)


@pytest.mark.django_db
def test_it_prints_the_anti_automation_table(settings, area, concern, owner):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    factories.UserFactory(email=VICTIM)  # an account whose owner a stranger wants to annoy
    public = [
        ("guest report, one address", guest_report),
        ("guest report, new address each", guest_report_new_address),
        ("sign-up", sign_up),
        ("password reset", password_reset),
        ("sign-in code", sign_in_code),
        ("sign-in, wrong password", sign_in_wrong_password),
        ("guest link lookup, wrong link", guest_link_lookup),
    ]
    rows = []
    for name, send in public:
        for rotating in (False, True):
            rows.append(_send(name, send, rotating=rotating, client=Client()))
    signed_in = Client()
    signed_in.force_login(owner)
    for rotating in (False, True):
        rows.append(
            _send("reply (owner)", owner_reply(concern), rotating=rotating, client=signed_in)
        )
    for rotating in (False, True):
        signed_in.force_login(factories.UserFactory())  # each run a new account
        rows.append(
            _send("add an email address", email_change, rotating=rotating, client=signed_in)
        )

    print()
    print(f"{'form':32} {'sender':19} {'answers':28} {'to victim':>9} {'emails':>6}")
    for row in rows:
        print(f"{row.form:32} {row.sender:19} {row.answers:28} {row.to_victim:>9} {row.emails:>6}")

    for row in rows:
        assert row.to_victim <= 3, row
