"""Editors cannot delete bookings, seminars or memberships in the admin (that would skip the
services: no promotion from the waiting list, nobody told), and they manage signposting."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from engagement.models import Signpost
from resources.admin import BookingInline, SchemeMembershipInline
from resources.models import Booking, SchemeMembership, Seminar, WatchScheme
from tests import factories

MODELS = {"booking": Booking, "seminar": Seminar, "schememembership": SchemeMembership}


@pytest.fixture(params=["editor", "superuser"])
def admin_user(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_it_refuses_to_delete_in_the_admin(client, admin_user, name, membership, seminar):
    booking = factories.BookingFactory(seminar=seminar, business=membership.business)
    obj = {"booking": booking, "seminar": seminar, "schememembership": membership}[name]
    client.force_login(admin_user)

    page = client.get(reverse(f"admin:resources_{name}_delete", args=[obj.pk]))
    post = client.post(reverse(f"admin:resources_{name}_delete", args=[obj.pk]), {"post": "yes"})
    changelist = client.get(reverse(f"admin:resources_{name}_changelist"))

    assert page.status_code == 403
    assert post.status_code == 403
    action_form = changelist.context["action_form"]  # None when no action is left
    actions = [value for value, _ in action_form.fields["action"].choices] if action_form else []
    assert "delete_selected" not in actions
    assert MODELS[name].objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_it_refuses_bulk_delete_in_the_admin(client, admin_user, name, membership, seminar):
    booking = factories.BookingFactory(seminar=seminar, business=membership.business)
    obj = {"booking": booking, "seminar": seminar, "schememembership": membership}[name]
    client.force_login(admin_user)

    client.post(
        reverse(f"admin:resources_{name}_changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )

    assert MODELS[name].objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("inline", [BookingInline, SchemeMembershipInline])
def test_it_refuses_to_delete_through_the_inlines(superuser, inline):
    request = RequestFactory().get("/")
    request.user = superuser
    parent = Seminar if inline is BookingInline else WatchScheme

    assert inline(parent, admin.site).has_delete_permission(request) is False


def test_it_lets_an_editor_change_the_signposting_text(client, editor):
    signpost = Signpost.objects.create(
        title="Call 999", when="It is happening now", body="Call 999 now."
    )
    client.force_login(editor)

    page = client.get(reverse("admin:engagement_signpost_change", args=[signpost.pk]))
    listing = client.get(reverse("admin:engagement_signpost_changelist"))

    assert page.status_code == 200
    assert listing.status_code == 200
    assert editor.has_perm("engagement.change_signpost")
    assert not editor.has_perm("engagement.delete_signpost")


@pytest.mark.parametrize("inline", [BookingInline, SchemeMembershipInline])
def test_the_inlines_show_their_rows_only_to_those_who_may_view_them(db, inline):
    # Bookings and memberships are records of their own: seeing a seminar or a scheme does not
    # show who booked or joined without the permission to view those.
    request = RequestFactory().get("/")
    request.user = factories.UserFactory(is_staff=True)
    parent = Seminar if inline is BookingInline else WatchScheme

    assert inline(parent, admin.site).has_view_permission(request) is False


def test_an_items_history_is_shown_with_the_item(db):
    from engagement.admin import ConcernEventInline
    from engagement.models import Concern

    request = RequestFactory().get("/")
    request.user = factories.UserFactory(is_staff=True)

    assert ConcernEventInline(Concern, admin.site).has_view_permission(request) is True
