"""allauth's emails are the portal's: queued in the outbox after commit, in HTML and text, with the
portal's name and links on SITE_URL."""

import re

import pytest
from django.core import mail

from engagement.emails import email_deliver_pending
from engagement.models import OutboundEmail

SITE_URL = "https://portal.example.org"
NEW_PASSWORD = "a-long-pass-phrase-9"


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE_URL


def queued_after_commit(django_capture_on_commit_callbacks, send) -> OutboundEmail:
    """Run `send`; the one email it causes is in the outbox, and nothing left in the request."""
    with django_capture_on_commit_callbacks() as callbacks:
        send()
        assert mail.outbox == []  # not sent inside the request
    (email,) = OutboundEmail.objects.all()
    assert callbacks, "the email is handed to the worker once the change commits"
    return email


def assert_the_portals_email(email: OutboundEmail, *, link: str):
    assert email.subject.startswith("[Dorset Business Crime] ")
    for body in (email.subject, email.body_text, email.body_html):
        assert "example.com" not in body
    for body in (email.body_text, email.body_html):
        assert "Dorset Business Crime Partnership" in body
        assert f"{SITE_URL}{link}" in body
        assert "://testserver" not in body
    assert email.body_html.startswith("<!doctype html>")
    assert re.search(rf'<a href="{re.escape(SITE_URL + link)}[^"]*"', email.body_html)


def test_it_queues_the_sign_up_confirmation(client, db, django_capture_on_commit_callbacks):
    email = queued_after_commit(
        django_capture_on_commit_callbacks,
        lambda: client.post(
            "/accounts/signup/",
            {
                "email": "new.owner@example.org",
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
            },
        ),
    )
    assert email.to == "new.owner@example.org"
    assert email.contains_secret
    assert_the_portals_email(email, link="/accounts/confirm-email/")


def test_it_queues_the_password_reset(client, owner, django_capture_on_commit_callbacks):
    email = queued_after_commit(
        django_capture_on_commit_callbacks,
        lambda: client.post("/accounts/password/reset/", {"email": owner.email}),
    )
    assert email.to == owner.email
    assert_the_portals_email(email, link="/accounts/password/reset/key/")


def test_it_queues_the_email_change_confirmation(client, owner, django_capture_on_commit_callbacks):
    client.force_login(owner)
    email = queued_after_commit(
        django_capture_on_commit_callbacks,
        lambda: client.post("/accounts/email/", {"action_add": "", "email": "moved@example.org"}),
    )
    assert email.to == "moved@example.org"
    assert_the_portals_email(email, link="/accounts/confirm-email/")


def test_it_delivers_a_queued_account_email_with_both_parts(client, owner):
    client.post("/accounts/password/reset/", {"email": owner.email})
    email_deliver_pending()  # what the worker does after commit
    (message,) = mail.outbox
    assert message.to == [owner.email]
    assert f"{SITE_URL}/accounts/password/reset/key/" in message.body
    [(html, mime)] = message.alternatives
    assert mime == "text/html" and "Dorset Business Crime Partnership" in html
    # The reset link was a secret: the outbox keeps no copy once it is sent.
    assert "/accounts/password/reset/key/" not in OutboundEmail.objects.get().body_text


def test_the_sites_row_names_the_portal(db):
    from django.contrib.sites.models import Site

    site = Site.objects.get_current()
    assert site.name == "Dorset Business Crime Partnership"
    assert "example.com" not in site.domain
