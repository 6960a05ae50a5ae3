"""Deleting an account gives up its seminar places and hands on its Watch scheme memberships."""

import pytest
from django.core.exceptions import PermissionDenied

from engagement import services as engagement_services
from engagement.models import BusinessMembership
from resources import services
from resources.models import Booking, CommunityEvent, SchemeMembership
from tests import factories
from tests.resources.conftest import emails_to


def test_it_gives_a_deleted_persons_place_to_the_next_person_waiting(owner, business):
    seminar = factories.SeminarFactory(capacity=1)
    services.seminar_book(seminar=seminar, user=owner, business=business)
    waiting = factories.UserFactory(email="waiting@example.org")
    waiting_business = factories.BusinessFactory(owner=waiting)
    queued = services.seminar_book(seminar=seminar, user=waiting, business=waiting_business)
    assert queued.status == Booking.Status.WAITING

    engagement_services.user_delete(user=owner)

    queued.refresh_from_db()
    assert queued.status == Booking.Status.CONFIRMED
    assert [e.subject for e in emails_to("waiting@example.org")][-1].startswith("A place")
    assert CommunityEvent.objects.filter(kind="promoted", booking=queued).exists()
    assert not Booking.objects.filter(user_id=owner.pk).exists()


def test_it_drops_a_deleted_persons_place_on_the_waiting_list(owner, business):
    seminar = factories.SeminarFactory(capacity=1)
    holder = factories.UserFactory(email="holder@example.org")
    held = services.seminar_book(
        seminar=seminar, user=holder, business=factories.BusinessFactory(owner=holder)
    )
    services.seminar_book(seminar=seminar, user=owner, business=business)

    engagement_services.user_delete(user=owner)

    held.refresh_from_db()
    assert held.status == Booking.Status.CONFIRMED
    assert list(seminar.bookings.values_list("status", flat=True)) == ["confirmed"]


def test_it_hands_a_membership_to_another_person_of_the_business(owner, business, scheme):
    colleague = factories.UserFactory(email="colleague@example.org")
    BusinessMembership.objects.create(user=colleague, business=business, role="manager")
    membership = factories.SchemeMembershipFactory(scheme=scheme, business=business, contact=owner)
    pending = factories.SchemeMembershipFactory(
        business=business, contact=owner, status="pending", decided_at=None
    )

    engagement_services.user_delete(user=owner)

    membership.refresh_from_db()
    pending.refresh_from_db()
    assert (membership.status, membership.contact) == ("approved", colleague)
    assert (pending.status, pending.contact) == ("pending", colleague)
    assert CommunityEvent.objects.filter(kind="contact", membership=membership).exists()


def test_it_removes_the_business_and_its_membership_when_nobody_else_is_in_it(
    owner, business, scheme
):
    membership = factories.SchemeMembershipFactory(scheme=scheme, business=business, contact=owner)

    engagement_services.user_delete(user=owner)

    # A business with nobody left and no concerns goes, its membership and events with it.
    assert not SchemeMembership.objects.filter(pk=membership.pk).exists()
    assert not CommunityEvent.objects.filter(membership_id=membership.pk).exists()
    assert not type(business).objects.filter(pk=business.pk).exists()


def test_it_ends_a_membership_whose_contact_had_left_the_business(owner, business, scheme):
    membership = factories.SchemeMembershipFactory(scheme=scheme, business=business, contact=owner)
    BusinessMembership.objects.filter(user=owner, business=business).delete()

    engagement_services.user_delete(user=owner)

    membership.refresh_from_db()
    assert membership.status == SchemeMembership.Status.LEFT


def test_it_leaves_other_contacts_memberships_alone(owner, business, other_owner, scheme):
    others = factories.SchemeMembershipFactory(
        scheme=scheme, business=factories.BusinessFactory(owner=other_owner)
    )

    engagement_services.user_delete(user=owner)

    others.refresh_from_db()
    assert (others.status, others.contact) == ("approved", other_owner)


def test_it_lets_only_people_of_the_business_take_over_as_contact(
    owner, business, other_owner, membership
):
    with pytest.raises(PermissionDenied):
        services.membership_hand_over(membership=membership, contact=other_owner, actor=owner)
    with pytest.raises(PermissionDenied):
        services.membership_hand_over(membership=membership, contact=owner, actor=other_owner)
