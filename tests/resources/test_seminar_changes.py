"""A new time or place for a seminar is emailed to everyone booked or waiting, once per change;
and the periodic tasks retry transient database trouble."""

import datetime as dt

import pytest
from django.db import InterfaceError, OperationalError
from django.urls import reverse
from django.utils import timezone

from dorset_bcp.celery import RETRY
from resources import services, tasks
from resources.models import Seminar
from tests import factories
from tests.resources.conftest import emails_to


def book(seminar, email):
    person = factories.UserFactory(email=email)
    business = factories.BusinessFactory(owner=person)
    return services.seminar_book(seminar=seminar, user=person, business=business)


@pytest.fixture
def full_seminar(db):
    seminar = factories.SeminarFactory(capacity=1, online_url="https://meet.example.org/room-9")
    book(seminar, "booked@example.org")
    book(seminar, "waiting@example.org")
    return seminar


def changed_emails(address):
    return emails_to(address).filter(subject__startswith="Changed:")


def test_it_tells_everyone_booked_or_waiting_when_the_time_changes(
    full_seminar, django_capture_on_commit_callbacks
):
    seminar = Seminar.objects.get(pk=full_seminar.pk)
    seminar.starts_at += dt.timedelta(days=1)
    seminar.ends_at += dt.timedelta(days=1)
    cancelled = book(full_seminar, "gone@example.org")
    services.booking_cancel(booking=cancelled, user=cancelled.user)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.seminar_save(seminar=seminar)

    assert callbacks  # the emails are published only after the save commits
    booked = changed_emails("booked@example.org").get()
    waiting = changed_emails("waiting@example.org").get()
    assert not changed_emails("gone@example.org").exists()
    new_time = timezone.localtime(seminar.starts_at).strftime("%H:%M")
    assert new_time in booked.body_text and new_time in booked.body_html
    assert "updated calendar file" in booked.body_text
    assert "updated event" in booked.body_html
    assert seminar.online_url in booked.body_text
    assert seminar.online_url not in waiting.body_text + waiting.body_html
    assert Seminar.objects.get(pk=seminar.pk).sequence == 1


def test_it_tells_people_of_a_new_venue(full_seminar):
    seminar = Seminar.objects.get(pk=full_seminar.pk)
    seminar.venue = "Dorchester Corn Exchange"

    services.seminar_save(seminar=seminar)

    email = changed_emails("booked@example.org").get()
    assert "Dorchester Corn Exchange" in email.body_text
    assert "Dorchester Corn Exchange" in email.body_html


def test_it_emails_once_per_change_and_not_for_other_edits(full_seminar):
    seminar = Seminar.objects.get(pk=full_seminar.pk)
    seminar.title = "A new title"
    services.seminar_save(seminar=seminar)
    assert not changed_emails("booked@example.org").exists()

    seminar.venue = "Bridport Town Hall"
    services.seminar_save(seminar=seminar)
    services.seminar_save(seminar=Seminar.objects.get(pk=seminar.pk))  # saved again, unchanged

    assert changed_emails("booked@example.org").count() == 1
    assert Seminar.objects.get(pk=seminar.pk).sequence == 1


def test_it_emails_people_when_an_editor_moves_the_seminar_in_the_admin(client, editor):
    seminar = factories.SeminarFactory(slug="moved")
    book(seminar, "booked@example.org")
    client.force_login(editor)
    starts = timezone.localtime(seminar.starts_at) + dt.timedelta(days=7)

    response = client.post(
        reverse("admin:resources_seminar_change", args=[seminar.pk]),
        {
            "title": seminar.title,
            "slug": seminar.slug,
            "theme": seminar.theme,
            "description": "",
            "starts_at_0": starts.strftime("%d/%m/%Y"),
            "starts_at_1": "10:00:00",
            "ends_at_0": starts.strftime("%d/%m/%Y"),
            "ends_at_1": "12:00:00",
            "venue": seminar.venue,
            "online_url": "",
            "capacity": "30",
            "status": "published",
            "bookings-TOTAL_FORMS": "1",
            "bookings-INITIAL_FORMS": "1",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    email = changed_emails("booked@example.org").get()
    assert starts.strftime("%A %-d %B %Y") in email.body_text


@pytest.mark.parametrize("task", [tasks.send_alert_digests, tasks.send_seminar_reminders])
def test_it_retries_the_periodic_tasks_on_database_trouble(task):
    # A dropped connection surfaces as either; both are worth another try.
    assert {OperationalError, InterfaceError} <= set(RETRY["autoretry_for"])
    assert task.autoretry_for == RETRY["autoretry_for"]
    assert task.retry_backoff is True
    assert task.retry_backoff_max == 300
    assert task.max_retries == 5
