"""Seminars: booking, the waiting list, cancelling, calendar files and reminders."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from engagement.models import OutboundEmail
from resources import services, tasks
from resources.models import Booking, CommunityEvent, Seminar
from tests import factories
from tests.resources.conftest import emails_to


def book_url(seminar):
    return reverse("resources:seminar_book", args=[seminar.slug])


def person_with_business(email=None):
    person = factories.UserFactory(**({"email": email} if email else {}))
    return person, factories.BusinessFactory(owner=person)


def book(seminar, email=None):
    person, business = person_with_business(email)
    return services.seminar_book(seminar=seminar, user=person, business=business)


# Listing and reading


def test_it_lists_upcoming_published_seminars(client, seminar):
    factories.SeminarFactory(title="Draft seminar", status="draft")
    factories.SeminarFactory(
        title="Last year",
        starts_at=timezone.now() - dt.timedelta(days=365),
        ends_at=timezone.now() - dt.timedelta(days=365) + dt.timedelta(hours=2),
    )

    response = client.get(reverse("resources:seminar_list"))

    assert [s.title for s in response.context["seminars"]] == [seminar.title]


def test_it_hides_a_draft_seminar_from_the_public(client, db):
    draft = factories.SeminarFactory(status="draft")

    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(reverse("resources:seminar_ics", args=[draft.slug])).status_code == 404


def test_it_shows_the_online_link_only_to_people_with_a_place(client, owner, business):
    online = factories.SeminarFactory(venue="", online_url="https://meet.example.org/secret-room")
    assert b"secret-room" not in client.get(online.get_absolute_url()).content

    services.seminar_book(seminar=online, user=owner, business=business)
    client.force_login(owner)

    assert b"secret-room" in client.get(online.get_absolute_url()).content


# Booking


def test_it_books_a_place_and_emails_the_details(client, owner, business, seminar):
    client.force_login(owner)

    response = client.post(book_url(seminar), {"business": business.pk})

    assert response.status_code == 302
    booking = Booking.objects.get()
    assert (booking.user, booking.business, booking.status) == (owner, business, "confirmed")
    assert booking.events.get().kind == CommunityEvent.Kind.BOOKED
    [email] = emails_to(owner.email)
    assert email.subject == f"Your place is booked: {seminar.title}"
    assert reverse("resources:seminar_ics", args=[seminar.slug]) in email.body_text
    assert b"You have a place" in client.get(seminar.get_absolute_url()).content


def test_it_offers_the_waiting_list_when_full(client, owner, business):
    seminar = factories.SeminarFactory(capacity=1)
    book(seminar)
    client.force_login(owner)
    assert b"Join the waiting list" in client.get(seminar.get_absolute_url()).content

    client.post(book_url(seminar), {"business": business.pk})

    booking = Booking.objects.get(user=owner)
    assert booking.status == "waiting"
    [email] = emails_to(owner.email)
    assert "waiting list" in email.subject
    assert b"number 1 on the waiting list" in client.get(seminar.get_absolute_url()).content


def test_it_keeps_one_booking_when_the_form_is_sent_twice(client, owner, business, seminar):
    client.force_login(owner)

    client.post(book_url(seminar), {"business": business.pk})
    client.post(book_url(seminar), {"business": business.pk})

    assert Booking.objects.count() == 1
    assert emails_to(owner.email).count() == 1


def test_it_keeps_one_booking_per_person_even_for_two_businesses(owner, business, seminar):
    second = factories.BusinessFactory(owner=owner)

    first = services.seminar_book(seminar=seminar, user=owner, business=business)
    again = services.seminar_book(seminar=seminar, user=owner, business=second)

    assert again == first
    assert Booking.objects.count() == 1


def test_it_has_the_database_refuse_a_second_live_booking(owner, business, seminar):
    factories.BookingFactory(seminar=seminar, user=owner, business=business)

    with pytest.raises(IntegrityError), transaction.atomic():
        factories.BookingFactory(seminar=seminar, user=owner, business=business, status="waiting")


def test_it_lets_someone_book_again_after_cancelling(owner, business, seminar):
    booking = services.seminar_book(seminar=seminar, user=owner, business=business)
    services.booking_cancel(booking=booking, user=owner)

    again = services.seminar_book(seminar=seminar, user=owner, business=business)

    assert again.pk != booking.pk and again.status == "confirmed"


def test_it_refuses_to_book_for_someone_elses_business(client, owner, other_business, seminar):
    client.force_login(owner)

    response = client.post(book_url(seminar), {"business": other_business.pk})

    assert response.status_code == 400
    assert not Booking.objects.exists()
    with pytest.raises(PermissionDenied):
        services.seminar_book(seminar=seminar, user=owner, business=other_business)


def test_it_asks_which_business_when_none_is_chosen(client, owner, business, seminar):
    client.force_login(owner)

    response = client.post(book_url(seminar), {})

    assert response.status_code == 400
    assert b"There is a problem" in response.content
    assert not Booking.objects.exists()


def test_it_sends_someone_without_a_business_to_add_one(client, other_owner, seminar):
    loner = factories.UserFactory()
    client.force_login(loner)

    assert b"add your business" in client.get(seminar.get_absolute_url()).content


def test_it_refuses_bookings_for_past_and_cancelled_seminars(client, owner, business, editor):
    past = factories.SeminarFactory(
        starts_at=timezone.now() - dt.timedelta(hours=3),
        ends_at=timezone.now() - dt.timedelta(hours=1),
    )
    cancelled = factories.SeminarFactory()
    services.seminar_cancel(seminar=cancelled, actor=editor, reason="Speaker ill.")
    client.force_login(owner)

    for seminar in (past, cancelled):
        response = client.post(book_url(seminar), {"business": business.pk})
        assert response.status_code == 400
        assert b"not taking bookings" in response.content
    assert not Booking.objects.exists()


def test_it_sends_the_anonymous_to_sign_in_before_booking(client, business, seminar):
    response = client.post(book_url(seminar), {"business": business.pk})

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]
    assert not Booking.objects.exists()


# Cancelling and the waiting list


def test_it_gives_a_freed_place_to_the_next_person_waiting_and_tells_them(client, owner, business):
    seminar = factories.SeminarFactory(capacity=1)
    mine = services.seminar_book(seminar=seminar, user=owner, business=business)
    first_waiting = book(seminar, "first@example.org")
    second_waiting = book(seminar, "second@example.org")
    client.force_login(owner)

    response = client.post(reverse("resources:booking_cancel", args=[mine.pk]))

    assert response.status_code == 302
    mine.refresh_from_db()
    first_waiting.refresh_from_db()
    second_waiting.refresh_from_db()
    assert mine.status == "cancelled"
    assert first_waiting.status == "confirmed" and first_waiting.confirmed_at is not None
    assert second_waiting.status == "waiting"
    promoted = emails_to("first@example.org").last()
    assert promoted.subject == f"A place is yours: {seminar.title}"
    assert not emails_to("second@example.org").filter(subject__startswith="A place").exists()


def test_it_promotes_nobody_when_someone_leaves_the_waiting_list(owner, business):
    seminar = factories.SeminarFactory(capacity=1)
    book(seminar)
    waiting = services.seminar_book(seminar=seminar, user=owner, business=business)
    behind = book(seminar)

    services.booking_cancel(booking=waiting, user=owner)

    behind.refresh_from_db()
    assert behind.status == "waiting"


def test_it_cancels_once_when_cancel_is_sent_twice(client, owner, business):
    seminar = factories.SeminarFactory(capacity=1)
    mine = services.seminar_book(seminar=seminar, user=owner, business=business)
    book(seminar, "first@example.org")
    book(seminar, "second@example.org")
    client.force_login(owner)

    client.post(reverse("resources:booking_cancel", args=[mine.pk]))
    client.post(reverse("resources:booking_cancel", args=[mine.pk]))

    assert Booking.objects.filter(seminar=seminar, status="confirmed").count() == 1
    assert not emails_to("second@example.org").filter(subject__startswith="A place").exists()


def test_it_will_not_cancel_someone_elses_booking(client, other_owner, owner, business, seminar):
    booking = services.seminar_book(seminar=seminar, user=owner, business=business)
    client.force_login(other_owner)

    assert client.post(reverse("resources:booking_cancel", args=[booking.pk])).status_code == 404
    assert client.post(reverse("resources:booking_cancel", args=[999999])).status_code == 404
    booking.refresh_from_db()
    assert booking.status == "confirmed"
    with pytest.raises(PermissionDenied):
        services.booking_cancel(booking=booking, user=other_owner)


def test_it_refuses_a_get_on_the_cancel_address(client, owner, business, seminar):
    booking = services.seminar_book(seminar=seminar, user=owner, business=business)
    client.force_login(owner)

    assert client.get(reverse("resources:booking_cancel", args=[booking.pk])).status_code == 405


def test_it_fills_extra_places_from_the_waiting_list_when_capacity_grows(db):
    seminar = factories.SeminarFactory(capacity=1)
    book(seminar)
    waiting = [book(seminar, f"wait{n}@example.org") for n in range(3)]

    seminar.capacity = 3
    services.seminar_save(seminar=seminar)

    statuses = [Booking.objects.get(pk=b.pk).status for b in waiting]
    assert statuses == ["confirmed", "confirmed", "waiting"]
    assert emails_to("wait0@example.org").filter(subject__startswith="A place").count() == 1


# Cancelling the event


def test_it_tells_everyone_booked_or_waiting_when_the_seminar_is_cancelled(editor):
    seminar = factories.SeminarFactory(capacity=2)
    booked = [book(seminar, f"booked{n}@example.org") for n in range(2)]
    book(seminar, "waiting@example.org")
    cancelled_earlier = book(factories.SeminarFactory(), "elsewhere@example.org")
    services.booking_cancel(booking=booked[1], user=booked[1].user)

    services.seminar_cancel(seminar=seminar, actor=editor, reason="The venue has flooded.")
    services.seminar_cancel(seminar=seminar, actor=editor, reason="Again.")

    seminar.refresh_from_db()
    assert seminar.status == "cancelled" and seminar.sequence == 1
    for address in ("booked0@example.org", "waiting@example.org"):
        [email] = emails_to(address).filter(subject__startswith="Cancelled")
        assert "The venue has flooded." in email.body_text
    # booked1 cancelled their own place first (the waiting person took it) and is not told.
    assert not emails_to("booked1@example.org").filter(subject__startswith="Cancelled").exists()
    assert not emails_to(cancelled_earlier.user.email).filter(subject__startswith="Cancelled")


def test_it_needs_a_reason_to_cancel_a_seminar(editor, seminar):
    with pytest.raises(ValidationError):
        services.seminar_cancel(seminar=seminar, actor=editor, reason="  ")


# Calendar file


def test_it_serves_an_icalendar_file(client, seminar):
    response = client.get(reverse("resources:seminar_ics", args=[seminar.slug]))

    text = response.content.decode()
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert f'filename="{seminar.slug}.ics"' in response["Content-Disposition"]
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert f"UID:seminar-{seminar.pk}@" in text
    assert f"DTSTART:{seminar.starts_at.astimezone(dt.UTC):%Y%m%dT%H%M%S}Z" in text
    assert "STATUS:CONFIRMED" in text


def test_it_marks_a_cancelled_seminar_cancelled_in_the_calendar(client, seminar, editor):
    services.seminar_cancel(seminar=seminar, actor=editor, reason="Speaker ill.")

    text = client.get(reverse("resources:seminar_ics", args=[seminar.slug])).content.decode()

    assert "STATUS:CANCELLED" in text
    assert "SEQUENCE:1" in text


# Reminders


@pytest.fixture
def tomorrow_morning(db, time_machine):
    # Frozen late on a Tuesday: "tomorrow" must not change between the fixture and the task.
    time_machine.move_to(timezone.make_aware(dt.datetime(2027, 1, 12, 23, 50)), tick=False)
    return timezone.make_aware(dt.datetime(2027, 1, 13, 10))


def test_it_reminds_everyone_with_a_place_the_day_before_once(tomorrow_morning):
    seminar = factories.SeminarFactory(
        starts_at=tomorrow_morning, ends_at=tomorrow_morning + dt.timedelta(hours=2), capacity=1
    )
    booked = book(seminar, "booked@example.org")
    book(seminar, "waiting@example.org")

    assert tasks.send_seminar_reminders() == 1
    assert tasks.send_seminar_reminders() == 0

    [email] = emails_to("booked@example.org").filter(subject__startswith="Tomorrow")
    assert seminar.title in email.subject
    assert not emails_to("waiting@example.org").filter(subject__startswith="Tomorrow").exists()
    booked.refresh_from_db()
    assert booked.reminder_sent_at is not None


def test_it_reminds_nobody_for_seminars_on_other_days_or_cancelled(tomorrow_morning, editor):
    later = factories.SeminarFactory(
        starts_at=tomorrow_morning + dt.timedelta(days=1),
        ends_at=tomorrow_morning + dt.timedelta(days=1, hours=2),
    )
    cancelled = factories.SeminarFactory(
        starts_at=tomorrow_morning, ends_at=tomorrow_morning + dt.timedelta(hours=2)
    )
    book(later)
    book(cancelled)
    services.seminar_cancel(seminar=cancelled, actor=editor, reason="Speaker ill.")
    OutboundEmail.objects.all().delete()

    assert tasks.send_seminar_reminders() == 0
    assert not OutboundEmail.objects.exists()


def test_it_reminds_someone_given_a_place_on_the_day_before(tomorrow_morning):
    seminar = factories.SeminarFactory(
        starts_at=tomorrow_morning, ends_at=tomorrow_morning + dt.timedelta(hours=2), capacity=1
    )
    first = book(seminar, "first@example.org")
    book(seminar, "second@example.org")
    tasks.send_seminar_reminders()

    services.booking_cancel(booking=first, user=first.user)
    assert tasks.send_seminar_reminders() == 1

    assert emails_to("second@example.org").filter(subject__startswith="Tomorrow").count() == 1


def test_it_counts_the_day_before_in_local_time_across_the_clocks_changing(db):
    # Clocks go back in the UK on Sunday 26 October 2025; a Monday 00:30 seminar is "tomorrow"
    # on the Sunday evening.
    starts = timezone.make_aware(dt.datetime(2025, 10, 27, 0, 30))
    seminar = factories.SeminarFactory(starts_at=starts, ends_at=starts + dt.timedelta(hours=1))
    with time_machine.travel(timezone.make_aware(dt.datetime(2025, 10, 1, 12))):
        book(seminar, "late@example.org")

    with time_machine.travel(timezone.make_aware(dt.datetime(2025, 10, 26, 20))):
        assert tasks.send_seminar_reminders() == 1


def test_it_keeps_the_seminar_row_consistent_with_its_rules(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        now = timezone.now()
        Seminar.objects.create(
            title="Backwards", slug="backwards", theme="x", starts_at=now, ends_at=now, capacity=5
        )
