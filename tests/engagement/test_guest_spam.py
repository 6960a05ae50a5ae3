"""The guest form cannot be used to send someone words of the sender's choosing, or by bots."""

import re

import pytest

from engagement.models import Concern, OutboundEmail
from tests import factories

SENDER_WORDS = {
    "contact_name": "Your account is locked",
    "business_name": "sign in at https://evil.example/login",
    "description": "Urgent: call 0900 000 000 to keep your bank account open",
    "town": "Visit evil.example",
    "location": "evil.example/claim",
    "impact_details": "Your parcel is waiting at evil.example",
}


@pytest.fixture
def guest_email(client, area):
    response = factories.send_report(client, factories.guest_form_data(**SENDER_WORDS), guest=True)
    assert response.status_code == 302
    return OutboundEmail.objects.get(subject__startswith="Confirm your report")


def test_it_emails_an_unconfirmed_address_only_what_the_portal_writes(guest_email):
    concern = Concern.objects.get()
    for body in (guest_email.subject, guest_email.body_text, guest_email.body_html):
        for typed in SENDER_WORDS.values():
            assert typed not in body
        assert "evil.example" not in body
    assert concern.reference in guest_email.body_text
    assert "/report/track/" in guest_email.body_text


def test_it_shows_what_the_guest_typed_once_they_follow_the_link(client, guest_email):
    path = guest_email.body_text.split("http://127.0.0.1:8000", 1)[1].split()[0]
    page = client.get(path).content.decode()
    assert SENDER_WORDS["description"] in page


def test_it_hides_the_honeypot_from_people_and_assistive_technology(client, db):
    page = client.get("/report/guest/").content.decode()
    assert '<div class="visually-hidden" aria-hidden="true">' in page
    assert '<label for="id_website">Leave this blank</label>' in page
    [honeypot] = re.findall(r'<input[^>]*name="website"[^>]*>', page)
    assert 'tabindex="-1"' in honeypot and 'autocomplete="off"' in honeypot


def test_it_silently_refuses_a_bot_that_fills_the_honeypot(client, area):
    data = factories.guest_form_data(website="https://spam.example")
    response = factories.send_report(client, data, guest=True)
    assert response.status_code == 302
    assert response["Location"] == "/report/guest/sent/"
    assert not Concern.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_it_takes_a_report_with_the_honeypot_left_blank(client, area):
    assert (
        factories.send_report(client, factories.guest_form_data(website=""), guest=True).status_code
        == 302
    )
    assert Concern.objects.count() == 1
