"""Two people taking the last place at once, on real PostgreSQL connections in two threads."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from resources import services
from resources.models import Booking, CommunityEvent
from tests import factories

pytestmark = [pytest.mark.postgres]


def run_together(*calls):
    """Start every call at the same moment, each on its own thread and database connection."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # reported below, so a failure in a thread fails the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


@pytest.mark.parametrize("round_", range(5))
def test_it_gives_the_last_place_to_exactly_one_of_two_people(transactional_db, round_):
    seminar = factories.SeminarFactory(capacity=2)
    already = factories.UserFactory()
    services.seminar_book(
        seminar=seminar, user=already, business=factories.BusinessFactory(owner=already)
    )
    people = [factories.UserFactory() for _ in range(2)]
    businesses = [factories.BusinessFactory(owner=person) for person in people]

    bookings = run_together(
        *[
            lambda p=p, b=b: services.seminar_book(seminar=seminar, user=p, business=b)
            for p, b in zip(people, businesses, strict=True)
        ]
    )

    assert sorted(b.status for b in bookings) == ["confirmed", "waiting"]
    assert Booking.objects.filter(seminar=seminar, status="confirmed").count() == 2


def test_it_keeps_one_booking_when_one_person_books_twice_at_once(transactional_db):
    seminar = factories.SeminarFactory(capacity=5)
    person = factories.UserFactory()
    business = factories.BusinessFactory(owner=person)

    first, second = run_together(
        lambda: services.seminar_book(seminar=seminar, user=person, business=business),
        lambda: services.seminar_book(seminar=seminar, user=person, business=business),
    )

    assert first.pk == second.pk
    assert Booking.objects.filter(seminar=seminar).count() == 1


def test_it_promotes_one_person_when_two_places_free_up_at_once(transactional_db):
    seminar = factories.SeminarFactory(capacity=2)
    holders = []
    for _ in range(2):
        person = factories.UserFactory()
        holders.append(
            services.seminar_book(
                seminar=seminar, user=person, business=factories.BusinessFactory(owner=person)
            )
        )
    waiting = []
    for _ in range(3):
        person = factories.UserFactory()
        waiting.append(
            services.seminar_book(
                seminar=seminar, user=person, business=factories.BusinessFactory(owner=person)
            )
        )

    run_together(*[lambda h=h: services.booking_cancel(booking=h, user=h.user) for h in holders])

    statuses = [Booking.objects.get(pk=b.pk).status for b in waiting]
    assert statuses == ["confirmed", "confirmed", "waiting"]


def test_it_sends_one_digest_when_two_workers_run_it_at_once(transactional_db):
    from engagement.models import OutboundEmail
    from resources import tasks

    editor = factories.UserFactory(is_superuser=True)
    scheme = factories.WatchSchemeFactory()
    for n in range(4):
        person = factories.UserFactory(email=f"digest{n}@example.org")
        factories.SchemeMembershipFactory(
            scheme=scheme,
            business=factories.BusinessFactory(owner=person),
            alert_preference="digest",
        )
    services.alert_post(scheme=scheme, actor=editor, title="Weekly news", body="News.")

    sent = run_together(tasks.send_alert_digests, tasks.send_alert_digests)

    assert sum(sent) == 4
    assert OutboundEmail.objects.count() == 4


def test_it_sends_one_reminder_when_two_workers_run_it_at_once(transactional_db, time_machine):
    import datetime as dt

    from django.utils import timezone

    from engagement.models import OutboundEmail
    from resources import tasks

    # Frozen (the threads share the frozen clock): "tomorrow" cannot turn over mid-test.
    time_machine.move_to(timezone.make_aware(dt.datetime(2027, 1, 12, 15, 0)), tick=False)
    tomorrow = timezone.make_aware(dt.datetime(2027, 1, 13, 10))
    seminar = factories.SeminarFactory(starts_at=tomorrow, ends_at=tomorrow + dt.timedelta(hours=1))
    for _ in range(6):
        person = factories.UserFactory()
        services.seminar_book(
            seminar=seminar, user=person, business=factories.BusinessFactory(owner=person)
        )
    OutboundEmail.objects.all().delete()

    sent = run_together(tasks.send_seminar_reminders, tasks.send_seminar_reminders)

    assert sum(sent) == 6
    assert OutboundEmail.objects.count() == 6


@pytest.mark.parametrize("round_", range(3))
def test_it_records_each_alerts_expiry_once_when_two_rules_run_at_once(transactional_db, round_):
    scheme = factories.WatchSchemeFactory()
    past = timezone.now() - dt.timedelta(minutes=5)
    alerts = [factories.AlertFactory(scheme=scheme, expires_at=past) for _ in range(7)]

    counts = run_together(
        lambda: services.alerts_record_expired(batch_size=2),
        lambda: services.alerts_record_expired(batch_size=2),
    )

    assert sum(counts) == 7
    expired = CommunityEvent.objects.filter(kind=CommunityEvent.Kind.ALERT_EXPIRED)
    assert sorted(expired.values_list("alert_id", flat=True)) == sorted(a.pk for a in alerts)
