"""Every change a person or a rule makes to a membership, alert, seminar, booking or library
resource writes an event with the old and new values, not just words."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from engagement import services as engagement_services
from engagement.models import BusinessMembership
from privacy.models import REMOVED
from resources import services, tasks
from resources.models import CommunityEvent, Resource, Seminar
from tests import factories
from tests.resources.test_admin import resource_form

NOW = dt.datetime(2026, 6, 10, 9, 0, tzinfo=dt.UTC)  # summer: local time is UTC+1


def only_event(**links) -> CommunityEvent:
    return CommunityEvent.objects.get(**links)


# Memberships


def test_it_records_the_old_and_new_alert_preference(owner, membership):
    services.membership_set_preference(membership=membership, user=owner, preference="digest")

    event = only_event(membership=membership, kind=CommunityEvent.Kind.PREFERENCE)
    assert event.changes == {"alert_preference": {"from": "every", "to": "digest"}}
    assert event.actor == owner


def test_it_records_who_the_contact_was_handed_from_and_to(owner, business, membership):
    colleague = factories.UserFactory(email="colleague@example.org", full_name="Col League")
    BusinessMembership.objects.create(user=colleague, business=business, role="manager")

    services.membership_hand_over(membership=membership, contact=colleague, actor=owner)

    event = only_event(membership=membership, kind=CommunityEvent.Kind.CONTACT_CHANGED)
    assert event.changes == {
        "contact": {
            "from": {"id": owner.pk, "label": str(owner)},
            "to": {"id": colleague.pk, "label": "Col League"},
        }
    }


def test_it_removes_a_deleted_persons_name_from_the_hand_over_they_were_part_of(
    owner, business, membership
):
    colleague = factories.UserFactory(email="colleague@example.org", full_name="Col League")
    BusinessMembership.objects.create(user=colleague, business=business, role="manager")
    owner_name, owner_pk = str(owner), owner.pk

    engagement_services.user_delete(user=owner)

    event = only_event(membership=membership, kind=CommunityEvent.Kind.CONTACT_CHANGED)
    assert owner_name not in str(event.changes)
    assert event.changes["contact"]["from"] == {"id": owner_pk, "label": REMOVED}
    assert event.changes["contact"]["to"] == {"id": colleague.pk, "label": "Col League"}


@pytest.mark.parametrize(
    "decide, status",
    [
        (lambda m, a: services.membership_approve(membership=m, actor=a), "approved"),
        (
            lambda m, a: services.membership_decline(membership=m, actor=a, reason="Not a shop."),
            "declined",
        ),
    ],
)
def test_it_records_a_decision_as_a_change_of_status(scheme, business, coordinator, decide, status):
    membership = factories.SchemeMembershipFactory(
        scheme=scheme, business=business, status="pending", decided_at=None
    )

    decide(membership, coordinator)

    event = only_event(membership=membership)
    assert event.changes == {"status": {"from": "pending", "to": status}}


def test_it_records_leaving_as_a_change_of_status(owner, membership):
    services.membership_leave(membership=membership, user=owner)

    event = only_event(membership=membership, kind=CommunityEvent.Kind.LEFT)
    assert event.changes == {"status": {"from": "approved", "to": "left"}}


# Bookings and seminars


def test_it_records_each_change_of_a_bookings_status(owner, business):
    seminar = factories.SeminarFactory(capacity=1)
    other = factories.UserFactory()
    held = services.seminar_book(seminar=seminar, user=owner, business=business)
    waiting = services.seminar_book(
        seminar=seminar, user=other, business=factories.BusinessFactory(owner=other)
    )

    services.booking_cancel(booking=held, user=owner)

    assert [(e.kind, e.changes) for e in held.events.order_by("pk")] == [
        ("booked", {"status": {"from": None, "to": "confirmed"}}),
        ("unbooked", {"status": {"from": "confirmed", "to": "cancelled"}}),
    ]
    assert [(e.kind, e.changes) for e in waiting.events.order_by("pk")] == [
        ("waitlisted", {"status": {"from": None, "to": "waiting"}}),
        ("promoted", {"status": {"from": "waiting", "to": "confirmed"}}),
    ]


def test_it_records_a_cancelled_seminars_change_of_status(editor, seminar):
    services.seminar_cancel(seminar=seminar, actor=editor, reason="The speaker is ill.")

    event = only_event(seminar=seminar, kind=CommunityEvent.Kind.SEMINAR_CANCELLED)
    assert event.changes == {"status": {"from": "published", "to": "cancelled"}}
    assert event.detail == "The speaker is ill."


def seminar_form(seminar, **overrides):
    local = timezone.localtime
    data = {
        "title": seminar.title,
        "slug": seminar.slug,
        "theme": seminar.theme,
        "description": seminar.description,
        "starts_at_0": local(seminar.starts_at).strftime("%d/%m/%Y"),
        "starts_at_1": local(seminar.starts_at).strftime("%H:%M:%S"),
        "ends_at_0": local(seminar.ends_at).strftime("%d/%m/%Y"),
        "ends_at_1": local(seminar.ends_at).strftime("%H:%M:%S"),
        "venue": seminar.venue,
        "online_url": seminar.online_url,
        "capacity": str(seminar.capacity),
        "status": seminar.status,
        "bookings-TOTAL_FORMS": "0",
        "bookings-INITIAL_FORMS": "0",
    }
    return {**data, **overrides}


@time_machine.travel(NOW, tick=False)
def test_it_records_the_old_and_new_details_of_an_edited_seminar(client, editor):
    seminar = factories.SeminarFactory(
        title="Cyber basics",
        slug="cyber-basics",
        starts_at=NOW + dt.timedelta(days=10),
        capacity=30,
    )
    client.force_login(editor)

    response = client.post(
        reverse("admin:resources_seminar_change", args=[seminar.pk]),
        seminar_form(
            seminar,
            title="Cyber security basics",
            venue="Dorchester Corn Exchange",
            capacity="40",
            starts_at_1="10:30:00",
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    event = only_event(seminar=seminar, kind=CommunityEvent.Kind.SEMINAR_CHANGED)
    assert event.actor == editor
    # 10:30 in London in June is 09:30 UTC; times are recorded in UTC.
    assert event.changes == {
        "title": {"from": "Cyber basics", "to": "Cyber security basics"},
        "starts_at": {"from": "2026-06-20T09:00:00+00:00", "to": "2026-06-20T09:30:00+00:00"},
        "venue": {"from": "Poole Civic Centre, Poole", "to": "Dorchester Corn Exchange"},
        "capacity": {"from": 30, "to": 40},
    }


@time_machine.travel(NOW, tick=False)
def test_it_records_nothing_when_a_seminar_is_saved_unchanged(client, editor):
    seminar = factories.SeminarFactory(starts_at=NOW + dt.timedelta(days=10))
    client.force_login(editor)

    response = client.post(
        reverse("admin:resources_seminar_change", args=[seminar.pk]), seminar_form(seminar)
    )

    assert response.status_code == 302
    assert not CommunityEvent.objects.filter(seminar=seminar).exists()


# Alerts: expiry


def alert_form(alert, expires_at: dt.datetime | None):
    if expires_at is None:
        return {"expires_at_0": "", "expires_at_1": ""}
    local = timezone.localtime(expires_at)
    return {"expires_at_0": local.strftime("%d/%m/%Y"), "expires_at_1": local.strftime("%H:%M:%S")}


@time_machine.travel(NOW, tick=False)
def test_it_records_the_old_and_new_expiry_an_editor_gives_an_alert(client, editor, scheme):
    alert = factories.AlertFactory(scheme=scheme, expires_at=NOW + dt.timedelta(days=1))
    client.force_login(editor)

    response = client.post(
        reverse("admin:resources_alert_change", args=[alert.pk]),
        alert_form(alert, NOW + dt.timedelta(days=3)),
    )

    assert response.status_code == 302
    event = only_event(alert=alert, kind=CommunityEvent.Kind.EXPIRY_CHANGED)
    assert event.actor == editor
    assert event.changes == {
        "expires_at": {"from": "2026-06-11T09:00:00+00:00", "to": "2026-06-13T09:00:00+00:00"}
    }


@time_machine.travel(NOW, tick=False)
def test_it_records_no_expiry_change_when_the_alert_is_saved_as_it_was(client, editor, scheme):
    alert = factories.AlertFactory(scheme=scheme, expires_at=NOW + dt.timedelta(days=1))
    client.force_login(editor)

    client.post(
        reverse("admin:resources_alert_change", args=[alert.pk]),
        alert_form(alert, alert.expires_at),
    )

    assert not CommunityEvent.objects.filter(alert=alert).exists()


def test_it_records_an_alerts_expiry_once_when_it_passes(scheme):
    with time_machine.travel(NOW, tick=False):
        expiring = factories.AlertFactory(scheme=scheme, expires_at=NOW + dt.timedelta(hours=1))
        lasting = factories.AlertFactory(scheme=scheme, expires_at=NOW + dt.timedelta(days=7))
        endless = factories.AlertFactory(scheme=scheme, expires_at=None)
        assert tasks.record_expired_alerts() == 0

    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        assert tasks.record_expired_alerts() == 1
        assert tasks.record_expired_alerts() == 0  # a second run records nothing again

    event = only_event(kind=CommunityEvent.Kind.ALERT_EXPIRED)
    assert event.alert == expiring
    assert event.actor is None
    assert "expiry rule" in event.detail
    assert event.changes == {"expired": {"from": False, "to": True}}
    assert not CommunityEvent.objects.filter(alert__in=[lasting, endless]).exists()


def test_it_records_the_expiry_again_after_it_is_moved_into_the_future(scheme, editor):
    with time_machine.travel(NOW, tick=False):
        alert = factories.AlertFactory(scheme=scheme, expires_at=NOW - dt.timedelta(hours=1))
        services.alerts_record_expired()
        services.alert_set_expiry(alert=alert, expires_at=NOW + dt.timedelta(days=1), actor=editor)
        assert services.alerts_record_expired() == 0

    with time_machine.travel(NOW + dt.timedelta(days=2), tick=False):
        assert services.alerts_record_expired() == 1

    assert list(alert.events.order_by("pk").values_list("kind", flat=True)) == [
        "expired",
        "expiry",
        "expired",
    ]


def test_it_runs_the_expiry_rule_from_beat():
    entries = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert "resources.tasks.record_expired_alerts" in entries


def test_it_refuses_an_expiry_change_from_someone_who_cannot_post_alerts(scheme, owner):
    alert = factories.AlertFactory(scheme=scheme)

    with pytest.raises(services.PermissionDenied):
        services.alert_set_expiry(alert=alert, expires_at=timezone.now(), actor=owner)

    assert not alert.events.exists()


# Library resources


def test_it_records_an_editor_unpublishing_a_resource_in_its_form(client, editor):
    resource = factories.ResourceFactory(title="Small Business Guide", slug="small-business-guide")
    client.force_login(editor)

    response = client.post(
        reverse("admin:resources_resource_change", args=[resource.pk]),
        resource_form(status="draft"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    event = only_event(resource=resource)
    assert (event.kind, event.actor) == (CommunityEvent.Kind.RESOURCE_UNPUBLISHED, editor)
    assert event.changes == {"status": {"from": "published", "to": "draft"}}


def test_it_records_publishing_and_unpublishing_from_the_list(client, editor):
    resource = factories.ResourceFactory(status="draft")
    client.force_login(editor)
    url = reverse("admin:resources_resource_changelist")

    client.post(url, {"action": "publish", "_selected_action": [resource.pk]})
    client.post(url, {"action": "publish", "_selected_action": [resource.pk]})  # no change
    client.post(url, {"action": "unpublish", "_selected_action": [resource.pk]})

    assert [(e.kind, e.actor, e.changes) for e in resource.events.order_by("pk")] == [
        ("published", editor, {"status": {"from": "draft", "to": "published"}}),
        ("unpublished", editor, {"status": {"from": "published", "to": "draft"}}),
    ]


def test_it_records_a_resource_added_as_published(client, editor):
    client.force_login(editor)

    client.post(reverse("admin:resources_resource_add"), resource_form())

    event = only_event(resource=Resource.objects.get())
    assert event.kind == CommunityEvent.Kind.RESOURCE_PUBLISHED
    assert event.changes == {"status": {"from": None, "to": "published"}}


def test_it_records_a_new_title_and_topics_of_a_published_resource(client, editor):
    cyber = factories.TopicFactory(name="Cyber resilience", slug="cyber-resilience")
    fraud = factories.TopicFactory(name="Invoice fraud", slug="invoice-fraud")
    resource = factories.ResourceFactory(
        title="Small Business Guide", slug="small-business-guide", topics=[cyber]
    )
    client.force_login(editor)

    client.post(
        reverse("admin:resources_resource_change", args=[resource.pk]),
        resource_form(title="Small Business Guide 2027", topics=[cyber.pk, fraud.pk]),
    )

    event = only_event(resource=resource)
    assert event.kind == CommunityEvent.Kind.RESOURCE_EDITED
    assert event.changes["title"] == {
        "from": "Small Business Guide",
        "to": "Small Business Guide 2027",
    }
    topics = event.changes["topics"]
    assert topics["from"] == [{"id": cyber.pk, "label": "Cyber resilience"}]
    assert sorted(topics["to"], key=lambda row: row["id"]) == [
        {"id": cyber.pk, "label": "Cyber resilience"},
        {"id": fraud.pk, "label": "Invoice fraud"},
    ]


def test_it_records_nothing_for_edits_of_a_draft(client, editor):
    resource = factories.ResourceFactory(status="draft", slug="small-business-guide")
    client.force_login(editor)

    client.post(
        reverse("admin:resources_resource_change", args=[resource.pk]),
        resource_form(status="draft", title="A new title"),
    )

    assert Resource.objects.get().title == "A new title"
    assert not CommunityEvent.objects.exists()


def test_it_keeps_a_resource_with_events_and_says_why(client, editor):
    resource = factories.ResourceFactory(title="Small Business Guide")
    services.resource_unpublish(resource=resource, actor=editor)
    client.force_login(editor)
    url = reverse("admin:resources_resource_delete", args=[resource.pk])

    page = client.get(url)
    refused = client.post(url, {"post": "yes"})

    assert page.status_code == 200
    assert "Small Business Guide: it has been published, and its history of publishing is kept" in (
        page.content.decode()
    )
    assert "permission" not in page.content.decode()
    assert refused.status_code == 200
    assert Resource.objects.filter(pk=resource.pk).exists()
    assert resource.events.count() == 1


def test_it_keeps_a_resource_with_events_when_deleted_from_the_list(client, editor):
    resource = factories.ResourceFactory(title="Small Business Guide")
    services.resource_unpublish(resource=resource, actor=editor)
    client.force_login(editor)

    response = client.post(
        reverse("admin:resources_resource_changelist"),
        {"action": "delete_selected", "_selected_action": [resource.pk], "post": "yes"},
    )

    assert response.status_code == 200
    assert "cannot be deleted. Unpublish it to take it off the site." in response.content.decode()
    assert Resource.objects.filter(pk=resource.pk).exists()


def test_it_deletes_a_draft_that_never_had_events(client, editor):
    resource = factories.ResourceFactory(status="draft")
    client.force_login(editor)

    response = client.post(
        reverse("admin:resources_resource_delete", args=[resource.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Resource.objects.filter(pk=resource.pk).exists()


def test_it_writes_no_publish_event_when_the_save_fails(editor):
    resource = factories.ResourceFactory(status="draft", link_url="https://example.org/a")
    resource.status = Resource.Status.PUBLISHED
    resource.link_url = ""  # neither a link nor a document: refused

    with pytest.raises(services.ValidationError):
        services.resource_save(resource=resource, sectors=[], actor=editor)

    assert not CommunityEvent.objects.exists()
    assert Resource.objects.get().status == "draft"


# The admin's History pages


@pytest.fixture
def every_kind_of_history(owner, business, membership, editor, scheme):
    """A membership, alert, seminar, booking and resource, each with a change recorded."""
    services.membership_set_preference(membership=membership, user=owner, preference="digest")
    # Shown in the portal's time zone: 09:30 UTC in January is 09:30 in Dorset.
    expires_at = dt.datetime(2099, 1, 15, 9, 30, tzinfo=dt.UTC)
    alert = factories.AlertFactory(scheme=scheme, expires_at=expires_at)
    services.alert_set_expiry(alert=alert, expires_at=None, actor=editor)
    seminar = factories.SeminarFactory(capacity=30)
    seminar.capacity = 45
    services.seminar_save(seminar=seminar, actor=editor)
    booking = services.seminar_book(seminar=seminar, user=owner, business=business)
    services.booking_cancel(booking=booking, user=owner)
    resource = factories.ResourceFactory(title="Small Business Guide")
    services.resource_unpublish(resource=resource, actor=editor)
    return {
        "schememembership": (
            membership,
            "Olive Owner",
            "Email me every alert as it is posted → Email me a weekly digest",
        ),
        "alert": (alert, "Eddie Editor", "15 Jan 2099, 09:30 → —"),
        "seminar": (Seminar.objects.get(pk=seminar.pk), "Eddie Editor", "30 → 45"),
        "booking": (booking, "Olive Owner", "Booked → Cancelled"),
        "resource": (resource, "Eddie Editor", "Published → Draft"),
    }


MODELS = ["schememembership", "alert", "seminar", "booking", "resource"]


@pytest.mark.parametrize("model", MODELS)
def test_it_shows_an_editor_the_old_and_new_values_on_the_history_page(
    client, editor, every_kind_of_history, model
):
    obj, who, words = every_kind_of_history[model]
    client.force_login(editor)

    response = client.get(reverse(f"admin:resources_{model}_history", args=[obj.pk]))

    assert response.status_code == 200
    events = response.context["events"]
    assert who in [event["who"] for event in events]
    assert words in response.content.decode()


def test_it_names_the_expiry_rule_on_an_alerts_history(client, editor, scheme):
    alert = factories.AlertFactory(scheme=scheme, expires_at=timezone.now() - dt.timedelta(hours=1))
    services.alerts_record_expired()
    client.force_login(editor)

    response = client.get(reverse("admin:resources_alert_history", args=[alert.pk]))

    page = response.content.decode()
    assert "Alert expired" in page
    assert "Recorded by the expiry rule" in page
    assert "<strong>Expired</strong>: No → Yes" in page


@pytest.mark.parametrize("model", MODELS)
def test_it_keeps_an_npt_officer_off_the_history_pages(
    client, npt_officer, every_kind_of_history, model
):
    obj, _, _ = every_kind_of_history[model]
    client.force_login(npt_officer)

    response = client.get(reverse(f"admin:resources_{model}_history", args=[obj.pk]))

    assert response.status_code == 403


@pytest.mark.parametrize("model", MODELS)
def test_it_keeps_a_scheme_coordinator_off_the_history_pages(client, every_kind_of_history, model):
    obj, _, _ = every_kind_of_history[model]
    other_coordinator = factories.UserFactory(email="pub.coordinator@example.org")
    factories.WatchSchemeFactory(coordinators=[other_coordinator])
    client.force_login(other_coordinator)

    response = client.get(reverse(f"admin:resources_{model}_history", args=[obj.pk]))

    # Coordinators work on the scheme's page on the site; the admin sends them to sign in
    # as staff, which they are not.
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_it_keeps_a_staff_member_who_may_see_resources_off_a_memberships_history(
    client, every_kind_of_history
):
    membership, _, _ = every_kind_of_history["schememembership"]
    librarian = factories.UserFactory(is_staff=True)
    librarian.user_permissions.add(
        *Group.objects.get(name="OPCC editors").permissions.filter(codename="view_resource")
    )
    client.force_login(librarian)

    allowed = client.get(
        reverse("admin:resources_resource_history", args=[every_kind_of_history["resource"][0].pk])
    )
    refused = client.get(reverse("admin:resources_schememembership_history", args=[membership.pk]))

    assert allowed.status_code == 200
    assert refused.status_code == 403


@pytest.mark.parametrize("events", [2, 12])
def test_it_reads_a_resource_history_in_a_fixed_number_of_queries(
    client, editor, events, django_assert_num_queries
):
    resource = factories.ResourceFactory()
    for _ in range(events // 2):
        services.resource_unpublish(resource=resource, actor=editor)
        services.resource_publish(resource=resource, actor=editor)
    client.force_login(editor)
    url = reverse("admin:resources_resource_history", args=[resource.pk])
    client.get(url)  # content types and the like, cached for the process

    # 1 session, 2 user, 3 the resource, 4-5 the editor's permissions (own, group's),
    # 6 the count of events, 7 the events with their actors, 8 the person's NPT postings and
    # specialist teams (the admin's scope), 9 the edits saved through the admin's forms.
    with django_assert_num_queries(QUERIES_RESOURCE_HISTORY):
        response = client.get(url)

    assert response.status_code == 200
    assert response.content.decode().count("Published → Draft") == events // 2


QUERIES_RESOURCE_HISTORY = 9


def test_a_seminars_history_hides_its_bookings_from_staff_who_may_not_see_bookings(
    client, owner, business, editor
):
    """The seminar's page lists its bookings only to those who may see bookings (its inline's
    own permission): its History does not name the people who booked to anyone else."""
    seminar = factories.SeminarFactory(capacity=30)
    seminar.capacity = 40
    services.seminar_save(seminar=seminar, actor=editor)
    services.seminar_book(seminar=seminar, user=owner, business=business)
    organiser = factories.UserFactory(full_name="Sam Seminars", is_staff=True)
    organiser.user_permissions.add(
        *Group.objects.get(name="OPCC editors").permissions.filter(
            codename__in=["view_seminar", "change_seminar"]
        )
    )
    client.force_login(organiser)

    change_page = client.get(reverse("admin:resources_seminar_change", args=[seminar.pk]))
    history = client.get(reverse("admin:resources_seminar_history", args=[seminar.pk]))

    assert change_page.status_code == history.status_code == 200
    assert owner.full_name not in change_page.content.decode()
    page = history.content.decode()
    assert "30 → 40" in page  # the seminar's own change
    assert owner.full_name not in page
    assert "Place booked" not in page


def test_a_seminars_history_lists_its_bookings_to_an_editor(client, owner, business, editor):
    seminar = factories.SeminarFactory()
    services.seminar_book(seminar=seminar, user=owner, business=business)
    client.force_login(editor)

    history = client.get(reverse("admin:resources_seminar_history", args=[seminar.pk]))

    page = history.content.decode()
    assert owner.full_name in page
    assert "Place booked" in page
    # In the booking's own words, not the seminar's ("confirmed" is no seminar status).
    assert "Status</strong>: — → Booked" in page
