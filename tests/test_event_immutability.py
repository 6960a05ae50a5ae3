"""Event rows cannot be changed or deleted in the database, except through the audited erasure."""

import datetime as dt
import logging
import uuid

import pytest
from django.db import InternalError, connection, transaction

from dorset_bcp.event_log import erase_with_events, event_erasure
from engagement import services as engagement_services
from engagement.models import Business, BusinessEvent, Concern, ConcernEvent
from escalation.models import ThemeEvent
from resources import services as community
from resources.models import Booking, CommunityEvent
from tests import factories

# django_db: the parametrised tests reach the database only through getfixturevalue, and
# unmarked they would be ordered after the transactional tests that empty the tables.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

MONDAY_1_JUNE_2026 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def concern_event(concern, npt_officer):
    return ConcernEvent.objects.create(
        concern=concern, kind=ConcernEvent.Kind.NOTE_ADDED, actor=npt_officer, detail="Seen"
    )


@pytest.fixture
def theme_event(npt_officer):
    theme = factories.ThemeFactory()
    return ThemeEvent.objects.create(theme=theme, kind=ThemeEvent.Kind.CREATED, actor=npt_officer)


@pytest.fixture
def community_event(owner, business):
    seminar = factories.SeminarFactory(capacity=5)
    booking = community.seminar_book(seminar=seminar, user=owner, business=business)
    return CommunityEvent.objects.get(booking=booking, kind=CommunityEvent.Kind.BOOKED)


@pytest.fixture
def business_event(business, npt_officer):
    return BusinessEvent.objects.create(
        business=business, kind=BusinessEvent.Kind.UPDATED, actor=npt_officer
    )


@pytest.fixture(params=["concern_event", "theme_event", "community_event", "business_event"])
def event(request):
    return request.getfixturevalue(request.param)


def refused(operation):
    """Run the operation in its own savepoint and return the database's refusal."""
    with pytest.raises(InternalError, match="immutable") as refusal, transaction.atomic():
        operation()
    return str(refusal.value)


def test_it_refuses_a_queryset_update(event):
    rows = type(event).objects.filter(pk=event.pk)
    message = refused(lambda: rows.update(detail="rewritten"))
    assert f"Rows of {type(event)._meta.db_table} are immutable: UPDATE refused" in message
    event.refresh_from_db()
    assert event.detail != "rewritten"


def test_it_refuses_a_queryset_delete(event):
    message = refused(type(event).objects.filter(pk=event.pk).delete)
    assert "DELETE refused" in message
    assert type(event).objects.filter(pk=event.pk).exists()


def test_it_refuses_raw_sql(event):
    table = type(event)._meta.db_table

    def rewrite():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET created_at = now() WHERE id = %s", [event.pk])  # noqa: S608

    refused(rewrite)


def test_it_refuses_a_new_actor_even_alongside_clearing_one(event, other_owner):
    rows = type(event).objects.filter(pk=event.pk)
    refused(lambda: rows.update(actor=other_owner))
    refused(lambda: rows.update(actor=None, detail="rewritten"))


def test_it_lets_a_deleted_persons_events_stand_without_an_actor(event):
    """Django's on_delete=SET_NULL: an UPDATE that only clears actor_id."""
    type(event).objects.filter(pk=event.pk).update(actor=None)
    event.refresh_from_db()
    assert event.actor_id is None
    assert event.detail is not None


def test_it_guards_the_rest_of_the_transaction_after_an_erasure(concern_event):
    with transaction.atomic():
        with event_erasure(reason="a test of the guard"):
            ConcernEvent.objects.filter(pk=concern_event.pk).update(detail="[removed]")
        refused(lambda: ConcernEvent.objects.filter(pk=concern_event.pk).update(detail="again"))
    concern_event.refresh_from_db()
    assert concern_event.detail == "[removed]"


def test_it_logs_every_erasure_with_its_reason_and_what_went(concern_event, caplog):
    caplog.set_level(logging.WARNING, logger="dorset_bcp.audit")
    erase_with_events(
        target=ConcernEvent.objects.filter(pk=concern_event.pk), reason="a test of the log"
    )
    assert not ConcernEvent.objects.filter(pk=concern_event.pk).exists()
    assert "Event erasure allowed: a test of the log" in caplog.text
    assert "Deleted (a test of the log): engagement.ConcernEvent 1" in caplog.text


def test_it_refuses_an_erasure_without_a_reason():
    with pytest.raises(ValueError, match="reason"), event_erasure(reason=""):
        pass


# The paths that must delete or anonymise events still work.


def test_it_deletes_an_account_keeping_its_events_without_the_actor(
    owner, concern, community_event, caplog
):
    caplog.set_level(logging.WARNING, logger="dorset_bcp.audit")
    submitted = ConcernEvent.objects.create(
        concern=concern, kind=ConcernEvent.Kind.SUBMITTED, actor=owner
    )
    owner_pk = owner.pk
    engagement_services.user_delete(user=owner)
    submitted.refresh_from_db()
    assert submitted.actor_id is None
    # The bookings go with the account, and their history with them, audited.
    assert not Booking.objects.filter(pk=community_event.booking_id).exists()
    assert not CommunityEvent.objects.filter(booking_id=community_event.booking_id).exists()
    assert f"account {owner_pk} deleted by its holder" in caplog.text


def test_it_purges_an_unconfirmed_guest_report_with_its_events(time_machine, area):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    stale, _ = engagement_services.guest_concern_submit(
        business_name="Quay Gifts",
        sector="retail",
        postcode="bh15 1hj",
        town="Poole",
        details=engagement_services.ConcernDetails(
            category=factories.category("theft"),
            description="Two people took bottles of gin from the shelf by the door.",
            occurred_on=dt.date(2026, 5, 31),
            location="1 High Street, Poole",
            impact=Concern.Impact.SOME,
            contact_name="Gill Guest",
            contact_email="guest@example.org",
        ),
        submission_key=uuid.uuid4(),
    )
    assert ConcernEvent.objects.filter(concern=stale).exists()
    time_machine.move_to(MONDAY_1_JUNE_2026 + dt.timedelta(days=8), tick=False)
    assert engagement_services.concern_purge_unconfirmed() == 1
    assert not Concern.objects.filter(pk=stale.pk).exists()
    assert not ConcernEvent.objects.filter(concern_id=stale.pk).exists()
    assert not Business.objects.filter(pk=stale.business_id).exists()


def test_it_lets_a_superuser_delete_an_officer_whose_events_then_stand_alone(
    client, superuser, npt_officer, concern_event
):
    client.force_login(superuser)
    response = client.post(f"/admin/engagement/user/{npt_officer.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    concern_event.refresh_from_db()
    assert concern_event.actor_id is None


def test_it_keeps_the_admin_from_deleting_an_alert_with_a_history(client, superuser):
    """The admin asks for delete permission on every row a deletion cascades to; events have
    none, so it refuses before the database is asked."""
    alert = factories.AlertFactory()
    CommunityEvent.objects.create(kind=CommunityEvent.Kind.ALERT_POSTED, alert=alert)
    client.force_login(superuser)
    response = client.post(f"/admin/resources/alert/{alert.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert CommunityEvent.objects.filter(alert=alert).exists()
