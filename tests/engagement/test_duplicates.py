"""Officers close a concern as a duplicate of another: linked both ways, the business told."""

import datetime as dt
import threading
import uuid

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from engagement import services
from engagement.models import Concern, ConcernEvent, OutboundEmail
from escalation import services as chain
from tests import factories

NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=dt.UTC)  # a Tuesday


@pytest.fixture
def original(business, owner):
    return factories.ConcernFactory(business=business, reporter=owner)


@pytest.fixture
def neighbour(area):
    neighbour = factories.UserFactory(email="neighbour@example.org", full_name="Nia Neighbour")
    shop = factories.BusinessFactory(owner=neighbour, npt_area=area, name="Quay Café")
    return factories.ConcernFactory(business=shop, reporter=neighbour)


@pytest.fixture
def officer_client(client, npt_officer):
    client.force_login(npt_officer)
    return client


def mark(concern, original, actor):
    return services.concern_mark_duplicate(concern=concern, original=original, actor=actor)


def triage_url(item):
    return reverse("admin:engagement_concern_triage", args=[item.pk, "duplicate"])


def change_url(item):
    return reverse("admin:engagement_concern_change", args=[item.pk])


def post_duplicate(client, concern, reference):
    page = client.get(change_url(concern)).content.decode()
    seen = page.split('name="duplicate-seen" value="')[1].split('"')[0].replace("&amp;", "&")
    return client.post(
        triage_url(concern), {"duplicate-original": reference, "duplicate-seen": seen}
    )


# The service


def test_it_closes_the_duplicate_with_the_duplicate_outcome_linked_to_the_original(
    neighbour, original, npt_officer
):
    with time_machine.travel(NOW, tick=False):
        mark(neighbour, original, npt_officer)

    neighbour.refresh_from_db()
    assert neighbour.status == Concern.Status.CLOSED
    assert neighbour.outcome.slug == "duplicate"
    assert neighbour.duplicate_of == original
    assert neighbour.resolved_at == neighbour.closed_at == NOW
    assert original.reference in neighbour.outcome_note
    assert list(original.duplicates.all()) == [neighbour]


def test_it_writes_an_event_on_both_concerns(neighbour, original, npt_officer):
    mark(neighbour, original, npt_officer)

    closed = neighbour.events.get(kind=ConcernEvent.Kind.DUPLICATE)
    assert (closed.actor, closed.detail) == (npt_officer, f"Duplicate of {original}")
    assert (closed.from_status, closed.to_status) == ("new", "closed")
    joined = original.events.get(kind=ConcernEvent.Kind.DUPLICATE_JOINED)
    assert joined.actor == npt_officer
    assert neighbour.reference in joined.detail


def test_it_tells_the_business_after_commit_with_the_originals_reference(
    neighbour, original, npt_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        mark(neighbour, original, npt_officer)
        email = OutboundEmail.objects.get(to="neighbour@example.org")

    assert len(callbacks) == 1  # the send waits for the commit

    assert original.reference in email.subject
    assert f"under reference {original.reference}" in email.body_text
    assert "joined to it and closed as a duplicate" in email.body_text
    assert "You do not need to do anything." in email.body_text
    # Only the duplicate's business hears; the original's is told nothing new.
    assert not OutboundEmail.objects.filter(to="owner@example.org").exists()


def test_it_changes_nothing_when_marked_again_as_the_same(neighbour, original, npt_officer):
    mark(neighbour, original, npt_officer)
    mark(neighbour, original, npt_officer)

    assert ConcernEvent.objects.filter(kind=ConcernEvent.Kind.DUPLICATE).count() == 1
    assert ConcernEvent.objects.filter(kind=ConcernEvent.Kind.DUPLICATE_JOINED).count() == 1
    assert OutboundEmail.objects.filter(to="neighbour@example.org").count() == 1


def test_it_refuses_a_concern_as_its_own_duplicate(original, npt_officer):
    with pytest.raises(ValidationError, match="cannot be a duplicate of itself"):
        mark(original, original, npt_officer)


def test_it_refuses_an_original_that_is_itself_a_duplicate(
    neighbour, original, business, owner, npt_officer
):
    mark(neighbour, original, npt_officer)
    third = factories.ConcernFactory(business=business, reporter=owner)

    with pytest.raises(ValidationError, match=f"mark {third} a duplicate of {original} instead"):
        mark(third, neighbour, npt_officer)
    third.refresh_from_db()
    assert third.is_open and third.duplicate_of is None


def test_it_refuses_a_concern_that_has_an_outcome(neighbour, original, npt_officer):
    services.concern_resolve(
        concern=neighbour, actor=npt_officer, outcome=factories.outcome(), note=""
    )

    with pytest.raises(ValidationError, match="has an outcome already"):
        mark(neighbour, original, npt_officer)


def test_it_refuses_an_original_that_has_duplicates_of_its_own(
    neighbour, original, business, owner, npt_officer
):
    mark(neighbour, original, npt_officer)
    other = factories.ConcernFactory(business=business, reporter=owner)

    with pytest.raises(ValidationError, match="cannot become a duplicate itself"):
        mark(original, other, npt_officer)


def test_it_refuses_a_concern_the_group_holds_now(neighbour, original, npt_officer, area):
    area.group = factories.CoordinatingGroupFactory()
    area.save(update_fields=["group"])
    chain.item_escalate(item=neighbour, actor=npt_officer, reason="Needs the council")

    with pytest.raises(ValidationError, match="they decide what happens next"):
        services.concern_mark_duplicate(
            concern=neighbour, original=original, actor=npt_officer, from_tier=1
        )


def test_the_sweep_never_moves_a_closed_duplicate(neighbour, original, npt_officer, area):
    area.group = factories.CoordinatingGroupFactory()
    area.save(update_fields=["group"])
    mark(neighbour, original, npt_officer)
    past = timezone.now() - dt.timedelta(days=3)
    Concern.objects.filter(pk=neighbour.pk).update(
        resolution_due_at=past,
        first_response_due_at=past,
        resolution_warn_at=past,
        first_response_warn_at=past,
        first_responded_at=None,
    )

    report = chain.sweep_run()

    neighbour.refresh_from_db()
    assert neighbour.tier == Concern.Tier.NPT
    assert neighbour.status == Concern.Status.CLOSED
    moved_or_warned = [ConcernEvent.Kind.ESCALATED, ConcernEvent.Kind.WARNED]
    assert not neighbour.events.filter(kind__in=moved_or_warned).exists()
    assert report.escalated_total == 0


# The officers' page


def test_it_marks_a_duplicate_from_the_concerns_admin_page(
    officer_client, neighbour, original, npt_officer
):
    response = post_duplicate(officer_client, neighbour, f" {original.reference.lower()} ")

    assert response.status_code == 302
    neighbour.refresh_from_db()
    assert neighbour.duplicate_of == original
    page = officer_client.get(change_url(neighbour)).content.decode()
    assert "Marked as a duplicate and closed; the business has been told." in page
    assert f'<a href="{change_url(original)}">{original.reference}</a>' in page
    page = officer_client.get(change_url(original)).content.decode()
    assert f'<a href="{change_url(neighbour)}">{neighbour.reference}</a>' in page


def test_a_second_click_says_it_is_done_and_changes_nothing(officer_client, neighbour, original):
    page = officer_client.get(change_url(neighbour)).content.decode()
    seen = page.split('name="duplicate-seen" value="')[1].split('"')[0].replace("&amp;", "&")
    data = {"duplicate-original": original.reference, "duplicate-seen": seen}
    officer_client.post(triage_url(neighbour), data)

    response = officer_client.post(triage_url(neighbour), data, follow=True)

    assert response.status_code == 200
    assert f"{neighbour} is already a duplicate of {original}; nothing changed." in (
        response.content.decode()
    )
    assert ConcernEvent.objects.filter(kind=ConcernEvent.Kind.DUPLICATE).count() == 1


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter the reference of the concern this one repeats."),
        ("DBC-2026-000000", "There is no concern DBC-2026-000000 among your NPT"),
        ("self", "That is this concern&#x27;s own reference"),
    ],
    ids=["empty", "unknown", "itself"],
)
def test_it_explains_a_reference_it_cannot_use_and_keeps_what_was_typed(
    officer_client, neighbour, original, typed, message
):
    typed = neighbour.reference if typed == "self" else typed
    response = post_duplicate(officer_client, neighbour, typed)

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert f'value="{typed}"' in page or not typed
    neighbour.refresh_from_db()
    assert neighbour.is_open and neighbour.duplicate_of is None


def test_it_points_the_officer_at_the_original_of_a_duplicate(
    officer_client, neighbour, original, business, owner, npt_officer
):
    mark(neighbour, original, npt_officer)
    third = factories.ConcernFactory(business=business, reporter=owner)

    response = post_duplicate(officer_client, third, neighbour.reference)

    assert response.status_code == 400
    assert f"enter {original.reference} instead" in response.content.decode()


# Scoping


def test_an_officer_cannot_point_at_a_concern_of_another_npt(
    officer_client, neighbour, other_concern
):
    response = post_duplicate(officer_client, neighbour, other_concern.reference)

    assert response.status_code == 400
    assert f"There is no concern {other_concern.reference} among your NPT" in (
        response.content.decode()
    )
    neighbour.refresh_from_db()
    assert neighbour.duplicate_of is None


def test_an_officer_cannot_point_at_a_guest_report_not_yet_confirmed(
    officer_client, neighbour, business
):
    unconfirmed = factories.ConcernFactory(business=business, status=Concern.Status.UNCONFIRMED)

    response = post_duplicate(officer_client, neighbour, unconfirmed.reference)

    assert response.status_code == 400
    neighbour.refresh_from_db()
    assert neighbour.duplicate_of is None


def test_an_officer_of_another_npt_cannot_mark_a_concern_outside_their_scope(
    client, other_npt_officer, neighbour, original
):
    client.force_login(other_npt_officer)

    response = client.post(
        triage_url(neighbour), {"duplicate-original": original.reference, "duplicate-seen": ""}
    )

    assert response.status_code == 404
    neighbour.refresh_from_db()
    assert neighbour.duplicate_of is None
    assert client.get(change_url(neighbour)).status_code in (302, 403, 404)


# The business's page


def test_the_owners_page_says_the_duplicate_was_joined_to_the_original(
    client, owner, original, business, npt_officer
):
    second = factories.ConcernFactory(business=business, reporter=owner)
    mark(second, original, npt_officer)
    client.force_login(owner)

    page = client.get(second.get_absolute_url()).content.decode()

    assert "Outcome: Duplicate" in page
    assert (
        f'Your report was joined to <a href="{original.get_absolute_url()}">'
        f"{original.reference}</a>" in page
    )


def test_the_neighbours_page_names_the_original_without_a_link_to_it(
    client, neighbour, original, npt_officer
):
    mark(neighbour, original, npt_officer)
    client.force_login(neighbour.reporter)

    page = client.get(neighbour.get_absolute_url()).content.decode()

    assert f"Your report was joined to {original.reference}, which deals" in page
    assert original.get_absolute_url() not in page
    assert client.get(original.get_absolute_url()).status_code == 404


# Two officers at once


@pytest.mark.postgres
@pytest.mark.usefixtures("transactional_db")
def test_two_officers_joining_two_concerns_to_each_other_at_once_join_only_one(
    neighbour, original, npt_officer
):
    start = threading.Barrier(2, timeout=30)
    outcomes = []

    def join(concern, to):
        try:
            start.wait()
            mark(concern, to, npt_officer)
            outcomes.append("joined")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=join, args=(neighbour, original)),
        threading.Thread(target=join, args=(original, neighbour)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["joined", "refused"]
    assert Concern.objects.filter(duplicate_of__isnull=False).count() == 1
    assert ConcernEvent.objects.filter(kind=ConcernEvent.Kind.DUPLICATE).count() == 1


def test_the_originals_page_costs_the_same_with_one_duplicate_or_five(
    client, original, business, owner, npt_officer
):
    from tests.engagement.test_queries import change_page_queries

    other = factories.ConcernFactory(business=business, reporter=owner)
    mark(factories.ConcernFactory(business=business, reporter=owner), other, npt_officer)
    for _ in range(5):
        mark(factories.ConcernFactory(business=business, reporter=owner), original, npt_officer)
    client.force_login(npt_officer)

    assert change_page_queries(client, original) == change_page_queries(client, other)


def test_a_guests_private_page_names_the_original_and_the_email_sends_them_there(
    client, area, original, npt_officer
):
    guest_concern, token = services.guest_concern_submit(
        business_name="Quay Kiosk",
        sector="retail",
        postcode="BH15 1HJ",
        town="Poole",
        details=services.ConcernDetails(
            category=factories.category(),
            description="The same people again.",
            occurred_on=timezone.localdate(),
            location="Quay",
            impact="some",
            contact_name="Gita Guest",
            contact_email="gita@example.org",
        ),
        submission_key=uuid.uuid4(),
    )
    services.concern_confirm_guest(concern=guest_concern)
    mark(guest_concern, original, npt_officer)

    page = client.get(f"/report/track/{token}/").content.decode()

    assert f"Your report was joined to {original.reference}, which deals" in page
    assert original.get_absolute_url() not in page
    email = OutboundEmail.objects.filter(to="gita@example.org").latest("pk")
    assert "Use the private link in your confirmation email" in email.body_text
