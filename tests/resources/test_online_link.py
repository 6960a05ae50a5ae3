"""The online joining link reaches only people with a confirmed place: the calendar file needs
no login, and the waiting-list email goes to people without a place."""

import pytest
from django.urls import reverse

from resources import services
from tests import factories
from tests.resources.conftest import emails_to

LINK = "https://meet.example.org/secret-room-42"


@pytest.fixture
def online_seminar(db):
    return factories.SeminarFactory(slug="online", venue="", online_url=LINK, capacity=1)


def calendar(client, seminar) -> str:
    response = client.get(reverse("resources:seminar_ics", args=[seminar.slug]))
    assert response.status_code == 200
    return response.content.decode().replace("\r\n ", "")  # unfold (RFC 5545 3.1)


def book(seminar, email):
    person = factories.UserFactory(email=email)
    business = factories.BusinessFactory(owner=person)
    return person, services.seminar_book(seminar=seminar, user=person, business=business)


def test_it_keeps_the_link_out_of_the_calendar_for_the_anonymous(client, online_seminar):
    text = calendar(client, online_seminar)

    assert LINK not in text
    assert "LOCATION:Online — the joining link is sent to people with a place\r\n" in text


def test_it_keeps_the_link_out_of_the_calendar_for_someone_waiting(client, online_seminar):
    book(online_seminar, "first@example.org")
    waiting, booking = book(online_seminar, "second@example.org")
    assert booking.status == "waiting"
    client.force_login(waiting)

    text = calendar(client, online_seminar)

    assert LINK not in text
    assert "joining link is sent to people with a place" in text


def test_it_keeps_the_link_out_of_the_calendar_for_someone_booked_elsewhere(client, online_seminar):
    other_seminar = factories.SeminarFactory(online_url=LINK)
    person, _ = book(other_seminar, "elsewhere@example.org")
    client.force_login(person)

    assert LINK not in calendar(client, online_seminar)


def test_it_puts_the_link_in_the_calendar_for_someone_with_a_place(client, online_seminar):
    person, booking = book(online_seminar, "booked@example.org")
    assert booking.status == "confirmed"
    client.force_login(person)

    text = calendar(client, online_seminar)

    assert f"LOCATION:{LINK}\r\n" in text
    assert LINK in text.split("DESCRIPTION:", 1)[1].split("\r\n", 1)[0]


def test_it_keeps_the_link_out_of_the_waiting_list_email(online_seminar):
    book(online_seminar, "first@example.org")
    book(online_seminar, "second@example.org")

    email = emails_to("second@example.org").get()
    assert "waiting list" in email.body_text
    assert LINK not in email.body_text
    assert LINK not in email.body_html


def test_it_sends_the_link_when_a_place_comes_free(online_seminar):
    first, first_booking = book(online_seminar, "first@example.org")
    book(online_seminar, "second@example.org")

    services.booking_cancel(booking=first_booking, user=first)

    promoted = emails_to("second@example.org").last()
    assert "place came free" in promoted.body_text
    assert LINK in promoted.body_text
    assert LINK in promoted.body_html
