"""Editors manage the library, schemes, alerts and seminars in the admin."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from resources import services, tasks
from resources.models import Alert, Resource, SchemeMembership, Seminar, WatchScheme
from tests import factories
from tests.resources.conftest import emails_to


def resource_form(**overrides):
    data = {
        "title": "Small Business Guide",
        "slug": "small-business-guide",
        "summary": "Five low-cost steps.",
        "body": "",
        "publisher": "National Cyber Security Centre",
        "link_url": "https://www.ncsc.gov.uk/collection/small-business-guide",
        "status": "published",
        "position": "10",
    }
    return {**data, **overrides}


def test_it_gives_opcc_editors_every_permission_on_this_app(db):
    codenames = set(
        Group.objects.get(name="OPCC editors").permissions.values_list("codename", flat=True)
    )

    for model in ["resource", "topic", "watchscheme", "schememembership", "alert", "seminar"]:
        for action in ["add", "change", "view", "delete"]:
            assert f"{action}_{model}" in codenames


def test_it_keeps_officers_out_of_the_editors_admin(client, npt_officer):
    client.force_login(npt_officer)

    assert client.get(reverse("admin:resources_resource_changelist")).status_code == 403


@pytest.mark.parametrize(
    "name",
    [
        "resource",
        "topic",
        "specialistcontact",
        "watchscheme",
        "schememembership",
        "alert",
        "alertdelivery",
        "seminar",
        "booking",
        "communityevent",
    ],
)
def test_it_opens_every_list_for_an_editor(client, editor, name, membership, seminar):
    factories.ResourceFactory()
    factories.BookingFactory(seminar=seminar, business=membership.business)
    client.force_login(editor)

    response = client.get(reverse(f"admin:resources_{name}_changelist"), {"q": "a"})

    assert response.status_code == 200


def test_it_adds_a_published_link_with_sectors_topics_and_categories(client, editor):
    topic = factories.TopicFactory(slug="cyber", name="Cyber security")
    client.force_login(editor)

    response = client.post(
        reverse("admin:resources_resource_add"),
        resource_form(
            topics=[topic.pk],
            sectors=["retail", "office"],
            categories=[factories.category("cyber").pk],
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    resource = Resource.objects.get()
    assert resource.published_at is not None
    assert sorted(resource.sector_tags.values_list("sector", flat=True)) == ["office", "retail"]
    assert list(resource.topics.all()) == [topic]
    assert list(resource.categories.values_list("slug", flat=True)) == ["cyber"]


def test_it_stores_an_uploaded_pdf_under_a_random_name(client, editor):
    client.force_login(editor)

    client.post(
        reverse("admin:resources_resource_add"),
        resource_form(
            link_url="",
            document=SimpleUploadedFile("Our leaflet.pdf", factories.PDF_BYTES, "application/pdf"),
        ),
    )

    resource = Resource.objects.get()
    assert resource.document_name == "Our leaflet.pdf"
    assert resource.document_size == len(factories.PDF_BYTES)
    assert "leaflet" not in resource.document.name
    assert resource.document.name.endswith(".pdf")


@pytest.mark.parametrize(
    "upload, message",
    [
        (SimpleUploadedFile("virus.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"), "not a PDF"),
        (SimpleUploadedFile("empty.pdf", b"", "application/pdf"), "empty"),
        (SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n", "image/png"), "not a PDF"),
    ],
)
def test_it_refuses_a_document_that_is_not_really_a_pdf(client, editor, upload, message):
    client.force_login(editor)

    response = client.post(
        reverse("admin:resources_resource_add"), resource_form(link_url="", document=upload)
    )

    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors)
    assert not Resource.objects.exists()


@pytest.mark.parametrize("link_url, document", [("", None), ("https://example.org/", "pdf")])
def test_it_needs_exactly_one_of_a_link_and_a_document(client, editor, link_url, document):
    client.force_login(editor)
    data = resource_form(link_url=link_url)
    if document:
        data["document"] = SimpleUploadedFile("a.pdf", factories.PDF_BYTES, "application/pdf")

    response = client.post(reverse("admin:resources_resource_add"), data)

    assert response.status_code == 200
    assert "either a link" in str(response.context["adminform"].form.errors)
    assert not Resource.objects.exists()


def test_it_refuses_a_javascript_link(client, editor):
    client.force_login(editor)

    client.post(
        reverse("admin:resources_resource_add"), resource_form(link_url="javascript:alert(1)")
    )

    assert not Resource.objects.exists()


def test_it_publishes_and_unpublishes_from_the_list(client, editor):
    draft = factories.ResourceFactory(status="draft", published_at=None)
    client.force_login(editor)
    url = reverse("admin:resources_resource_changelist")

    client.post(url, {"action": "publish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == "published" and draft.published_at is not None

    client.post(url, {"action": "unpublish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_it_sets_coordinators_by_email_address(client, editor, coordinator):
    client.force_login(editor)
    data = {
        "name": "Farm Watch",
        "slug": "farm-watch",
        "summary": "Farms working together.",
        "description": "",
        "who_for": "",
        "email": "",
        "phone": "",
        "is_accepting": "on",
        "position": "0",
        "coordinator_emails": "COORDINATOR@example.org\n",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }

    response = client.post(reverse("admin:resources_watchscheme_add"), data)

    assert response.status_code == 302
    assert list(WatchScheme.objects.get().coordinators.all()) == [coordinator]


def test_it_refuses_a_coordinator_without_an_account(client, editor):
    client.force_login(editor)

    response = client.post(
        reverse("admin:resources_watchscheme_add"),
        {
            "name": "Farm Watch",
            "slug": "farm-watch",
            "summary": "Farms.",
            "position": "0",
            "coordinator_emails": "nobody@example.org",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "nobody@example.org" in str(response.context["adminform"].form.errors)
    assert not WatchScheme.objects.exists()


def test_it_approves_applications_with_an_action_and_emails_each(
    client, editor, scheme, owner, business
):
    pending = services.membership_apply(scheme=scheme, business=business, user=owner)
    client.force_login(editor)

    client.post(
        reverse("admin:resources_schememembership_changelist"),
        {"action": "approve", "_selected_action": [pending.pk]},
    )

    pending.refresh_from_db()
    assert pending.status == SchemeMembership.Status.APPROVED
    assert emails_to(owner.email).filter(subject__startswith="Welcome").count() == 1


def test_it_posts_an_alert_from_the_admin_and_emails_members(
    client, editor, membership, django_capture_on_commit_callbacks
):
    client.force_login(editor)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:resources_alert_add"),
            {
                "scheme": membership.scheme.pk,
                "title": "Distraction thefts",
                "body": "Two people asking for directions while a third takes the till.",
                "urgency": "urgent",
                "expires_at_0": "",
                "expires_at_1": "",
            },
        )

    assert response.status_code == 302
    alert = Alert.objects.get()
    assert alert.posted_by == editor
    assert factories.published_tasks() == [("resources.tasks.send_alert", [alert.pk])]
    tasks.send_alert(alert.pk)
    assert emails_to(membership.contact.email).get().subject.startswith("URGENT")


def test_it_lets_only_the_expiry_change_after_posting(client, editor, membership):
    alert = services.alert_post(scheme=membership.scheme, actor=editor, title="Old", body="Body")
    tasks.send_alert(alert.pk)
    client.force_login(editor)
    expires = timezone.localtime() + dt.timedelta(days=3)

    client.post(
        reverse("admin:resources_alert_change", args=[alert.pk]),
        {
            "title": "Changed",
            "expires_at_0": expires.strftime("%d/%m/%Y"),
            "expires_at_1": expires.strftime("%H:%M:%S"),
        },
    )

    alert.refresh_from_db()
    assert alert.title == "Old"
    assert alert.expires_at is not None
    assert emails_to(membership.contact.email).count() == 1


def test_it_adds_a_seminar(client, editor):
    client.force_login(editor)
    starts = timezone.localtime() + dt.timedelta(days=30)

    response = client.post(
        reverse("admin:resources_seminar_add"),
        {
            "title": "Rural crime",
            "slug": "rural-crime",
            "theme": "Machinery theft",
            "description": "",
            "starts_at_0": starts.strftime("%d/%m/%Y"),
            "starts_at_1": "10:00:00",
            "ends_at_0": starts.strftime("%d/%m/%Y"),
            "ends_at_1": "12:00:00",
            "venue": "Village hall",
            "online_url": "",
            "capacity": "25",
            "status": "published",
            "bookings-TOTAL_FORMS": "0",
            "bookings-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Seminar.objects.get().capacity == 25


def test_it_offers_no_cancelled_status_in_the_seminar_form(client, editor, seminar):
    client.force_login(editor)

    response = client.get(reverse("admin:resources_seminar_change", args=[seminar.pk]))

    choices = [c[0] for c in response.context["adminform"].form.fields["status"].choices]
    assert "cancelled" not in choices
    assert reverse("admin:resources_seminar_cancel", args=[seminar.pk]) in response.content.decode()


def test_it_cancels_a_seminar_from_the_admin_and_tells_everyone(
    client, editor, seminar, owner, business
):
    services.seminar_book(seminar=seminar, user=owner, business=business)
    client.force_login(editor)
    url = reverse("admin:resources_seminar_cancel", args=[seminar.pk])
    assert b"1 person is booked" in client.get(url).content

    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 400
    response = client.post(url, {"reason": "The speaker is ill."})

    assert response.status_code == 302
    seminar.refresh_from_db()
    assert seminar.status == "cancelled"
    assert "The speaker is ill." in emails_to(owner.email).last().body_text


def test_it_keeps_non_editors_away_from_the_cancel_page(client, npt_officer, seminar):
    client.force_login(npt_officer)

    response = client.post(
        reverse("admin:resources_seminar_cancel", args=[seminar.pk]), {"reason": "No."}
    )

    assert response.status_code == 403
    seminar.refresh_from_db()
    assert seminar.status == "published"


def test_it_shows_a_cancelled_seminar_read_only(client, editor, seminar):
    services.seminar_cancel(seminar=seminar, actor=editor, reason="Speaker ill.")
    client.force_login(editor)
    url = reverse("admin:resources_seminar_change", args=[seminar.pk])

    page = client.get(url)
    client.post(url, {"title": "Renamed", "capacity": "1"})

    assert page.status_code == 200
    assert b"Speaker ill." in page.content
    seminar.refresh_from_db()
    assert seminar.title != "Renamed"
