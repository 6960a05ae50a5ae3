"""Alerts: who posts them, who is emailed and when, and who may read the archive."""

import datetime as dt
import uuid

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from engagement.models import BusinessMembership, OutboundEmail
from resources import services, tasks
from resources.models import Alert, AlertDelivery
from tests import factories
from tests.resources.conftest import emails_to


def member(scheme, preference="every", email=None, status="approved"):
    """A business with one person, in the scheme with the given alert choice."""
    person = factories.UserFactory(**({"email": email} if email else {}))
    business = factories.BusinessFactory(owner=person)
    return factories.SchemeMembershipFactory(
        scheme=scheme, business=business, alert_preference=preference, status=status
    )


def post(scheme, actor, *, urgency="routine", title="Fake £20 notes", **kwargs):
    """Post an alert and run the task its commit publishes, as a worker would."""
    alert = services.alert_post(
        scheme=scheme,
        actor=actor,
        title=title,
        body="Check the hologram.",
        urgency=urgency,
        **kwargs,
    )
    tasks.send_alert(alert.pk)
    return alert


def alert_form(**overrides):
    data = {
        "title": "Shoplifters in the High Street",
        "body": "Two men taking razor blades, around 4pm.",
        "urgency": "urgent",
        "expires_at": "",
        "submission_key": str(uuid.uuid4()),
    }
    return {**data, **overrides}


# Posting and emailing


def test_it_lets_the_coordinator_post_an_alert_from_the_site(client, coordinator, membership):
    client.force_login(coordinator)

    response = client.post(reverse("resources:alert_new", args=["shop-watch"]), alert_form())

    alert = Alert.objects.get()
    assert response.status_code == 302
    assert response["Location"] == alert.get_absolute_url()
    assert (alert.posted_by, alert.urgency) == (coordinator, "urgent")
    assert alert.events.get().kind == "alert"


def test_it_emails_each_member_by_their_choice(scheme, coordinator):
    every = member(scheme, "every", "every@example.org")
    urgent_only = member(scheme, "urgent", "urgent@example.org")
    digest = member(scheme, "digest", "digest@example.org")

    post(scheme, coordinator, urgency="routine", title="Routine one")
    post(scheme, coordinator, urgency="urgent", title="Urgent one")

    assert [e.subject for e in emails_to("every@example.org")] == [
        "Shop Watch alert: Routine one",
        "URGENT: Shop Watch alert: Urgent one",
    ]
    assert [e.subject for e in emails_to("urgent@example.org")] == [
        "URGENT: Shop Watch alert: Urgent one"
    ]
    assert not emails_to("digest@example.org").exists()
    assert AlertDelivery.objects.filter(membership=every).count() == 2
    assert AlertDelivery.objects.filter(membership=urgent_only).count() == 1
    assert not AlertDelivery.objects.filter(membership=digest).exists()


def test_it_puts_the_alert_and_a_way_to_change_the_choice_in_the_email(scheme, coordinator):
    member(scheme, "every", "every@example.org")

    alert = post(scheme, coordinator)

    [email] = emails_to("every@example.org")
    assert "Check the hologram." in email.body_text
    assert alert.get_absolute_url() in email.body_text
    assert scheme.get_absolute_url() in email.body_html
    assert "members of Shop Watch only" in email.body_text


def test_it_emails_nobody_who_is_not_an_approved_member(scheme, coordinator, other_scheme):
    member(scheme, status="pending", email="pending@example.org")
    member(scheme, status="declined", email="declined@example.org")
    member(scheme, status="left", email="left@example.org")
    member(other_scheme, email="pubwatch@example.org")

    post(scheme, coordinator)

    assert not OutboundEmail.objects.exists()


def test_it_stops_emailing_someone_who_has_left_the_business(scheme, coordinator, membership):
    BusinessMembership.objects.filter(user=membership.contact).delete()

    post(scheme, coordinator)

    assert not OutboundEmail.objects.exists()


def test_it_sends_one_email_per_member_however_often_it_is_sent(scheme, coordinator):
    for n in range(3):
        member(scheme, email=f"member{n}@example.org")

    alert = post(scheme, coordinator)
    assert services.alert_send_immediate(alert=alert) == 0
    assert services.alert_send_immediate(alert=alert) == 0

    assert OutboundEmail.objects.count() == 3
    assert AlertDelivery.objects.count() == 3


def test_it_emails_only_those_who_were_members_when_it_was_posted(client, scheme, coordinator):
    alert = post(scheme, coordinator)
    late = member(scheme, email="late@example.org")
    late.decided_at = timezone.now()  # approved after the alert went out
    late.save()

    assert services.alert_send_immediate(alert=alert) == 0
    assert not AlertDelivery.objects.filter(membership=late).exists()
    client.force_login(late.contact)
    assert client.get(alert.get_absolute_url()).status_code == 200  # but it is in the archive


def test_it_posts_once_when_the_form_is_sent_twice(client, coordinator, membership):
    client.force_login(coordinator)
    data = alert_form()

    client.post(reverse("resources:alert_new", args=["shop-watch"]), data)
    client.post(reverse("resources:alert_new", args=["shop-watch"]), data)
    tasks.send_alert(Alert.objects.get().pk)

    assert Alert.objects.count() == 1
    assert emails_to(membership.contact.email).count() == 1


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"title": ""}, b"Enter a title for the alert."),
        ({"body": ""}, b"Enter what the alert says."),
        ({"urgency": "apocalyptic"}, b"Choose how urgent the alert is: routine or urgent."),
        ({"expires_at": "2001-01-01T10:00"}, b"The expiry must be in the future"),
        ({"expires_at": "next tuesday"}, b"Enter when the alert expires as a date and a time."),
    ],
)
def test_it_refuses_bad_alerts_and_keeps_what_was_typed(
    client, coordinator, membership, overrides, message
):
    client.force_login(coordinator)

    response = client.post(
        reverse("resources:alert_new", args=["shop-watch"]), alert_form(**overrides)
    )

    assert response.status_code == 400
    assert message in response.content
    assert not Alert.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_it_escapes_hostile_text_in_the_archive_and_the_email(client, coordinator, membership):
    hostile = '<script>alert("x")</script>'
    alert = services.alert_post(
        scheme=membership.scheme, actor=coordinator, title=hostile, body=hostile
    )
    tasks.send_alert(alert.pk)
    client.force_login(membership.contact)

    page = client.get(alert.get_absolute_url()).content.decode()
    [email] = emails_to(membership.contact.email)

    assert hostile not in page
    assert "&lt;script&gt;" in page
    assert hostile not in email.body_html
    assert hostile in email.body_text  # plain text is not HTML; it is shown as typed


@pytest.mark.parametrize("who", ["owner", "other_owner", "npt_officer"])
def test_it_lets_only_coordinators_and_editors_post(scheme, request, who, membership):
    with pytest.raises(PermissionDenied):
        post(scheme, request.getfixturevalue(who))


def test_it_404s_posting_for_a_non_coordinator(client, other_owner, membership):
    client.force_login(other_owner)

    response = client.post(reverse("resources:alert_new", args=["shop-watch"]), alert_form())

    assert response.status_code == 404
    assert not Alert.objects.exists()


def test_it_lets_an_editor_post_to_any_scheme(client, editor, membership):
    client.force_login(editor)

    client.post(reverse("resources:alert_new", args=["shop-watch"]), alert_form())

    assert Alert.objects.get().posted_by == editor


# The members-only archive


@pytest.fixture
def alert(scheme, coordinator):
    return post(scheme, coordinator, title="Members-only news")


def test_it_shows_members_the_archive_and_each_alert(client, owner, membership, alert):
    client.force_login(owner)

    listing = client.get(reverse("resources:alert_list", args=["shop-watch"]))
    detail = client.get(alert.get_absolute_url())

    assert b"Members-only news" in listing.content
    assert detail.status_code == 200
    assert b"Check the hologram." in detail.content


def test_it_marks_expired_alerts_in_the_archive(client, owner, membership, coordinator, scheme):
    alert = post(scheme, coordinator, expires_at=timezone.now() + dt.timedelta(hours=1))
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        client.force_login(owner)  # two days on: a session idle since now would have ended
        listing = client.get(reverse("resources:alert_list", args=["shop-watch"]))
        detail = client.get(alert.get_absolute_url())

    assert b"Expired" in listing.content
    assert b"This alert expired" in detail.content


@pytest.mark.parametrize("who", ["other_owner", "npt_officer"])
def test_it_tells_non_members_the_archive_is_for_members_by_url_and_guessed_id(
    client, request, who, membership, alert
):
    client.force_login(request.getfixturevalue(who))

    responses = [
        client.get(reverse("resources:alert_list", args=["shop-watch"])),
        client.get(alert.get_absolute_url()),
    ] + [
        client.get(reverse("resources:alert_detail", args=["shop-watch", guess]))
        for guess in (alert.pk + 1, alert.pk - 1, 999999)
    ]

    # The same page for the archive, the real alert and made-up ones: nothing about which
    # alerts exist, and how to join instead of a bare "No such page."
    for response in responses:
        assert response.status_code == 403
        content = response.content.decode()
        assert "Shop Watch alerts are for members" in content
        assert "How to join" in content
        assert "Members-only news" not in content


def test_it_tells_an_applicant_their_application_is_waiting(client, scheme, alert):
    applicant = factories.UserFactory()
    business = factories.BusinessFactory(owner=applicant, name="Corner Shop")
    factories.SchemeMembershipFactory(
        scheme=scheme, business=business, contact=applicant, status="pending"
    )
    client.force_login(applicant)

    response = client.get(reverse("resources:alert_list", args=["shop-watch"]))

    assert response.status_code == 403
    assert "Your application for Corner Shop is waiting for the coordinator" in (
        response.content.decode()
    )


def test_it_gives_the_public_the_same_answer_for_real_and_made_up_alerts(client, alert):
    """Signed out, every alert address asks you to sign in, so it says nothing about which
    alerts exist; the content is never shown."""
    real = client.get(alert.get_absolute_url())
    made_up = client.get(reverse("resources:alert_detail", args=["shop-watch", alert.pk + 100]))
    archive = client.get(reverse("resources:alert_list", args=["shop-watch"]))

    for response in (real, made_up, archive):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    assert b"Members-only news" not in real.content


def test_it_404s_an_alert_asked_for_under_another_scheme(
    client, owner, membership, other_scheme, coordinator, editor
):
    foreign = post(other_scheme, editor, title="Pub Watch only")
    factories.SchemeMembershipFactory(scheme=other_scheme, business=factories.BusinessFactory())
    client.force_login(owner)

    # A Shop Watch member asks for a Pub Watch alert under either scheme's address.
    assert (
        client.get(reverse("resources:alert_detail", args=["shop-watch", foreign.pk])).status_code
        == 404
    )
    # Under its own scheme's address the owner, not a Pub Watch member, is told it is for
    # members; the alert is not shown.
    response = client.get(foreign.get_absolute_url())
    assert response.status_code == 403
    assert b"Pub Watch only" not in response.content


def test_it_closes_the_archive_to_a_member_who_has_left(client, owner, membership, alert):
    services.membership_leave(membership=membership, user=owner)
    client.force_login(owner)

    response = client.get(alert.get_absolute_url())
    assert response.status_code == 403
    assert b"Check the hologram." not in response.content


def test_it_closes_the_archive_to_a_business_still_waiting(client, owner, membership, alert):
    membership.status = "pending"
    membership.save()
    client.force_login(owner)

    response = client.get(alert.get_absolute_url())
    assert response.status_code == 403
    assert b"Check the hologram." not in response.content
    assert b"is waiting for the coordinator" in response.content


def test_it_opens_the_archive_to_coordinators_and_editors(client, coordinator, editor, alert):
    for person in (coordinator, editor):
        client.force_login(person)
        assert client.get(alert.get_absolute_url()).status_code == 200


# The weekly digest


def test_it_sends_digest_members_the_weeks_alerts_in_one_email(scheme, coordinator):
    digest = member(scheme, "digest", "digest@example.org")
    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(days=20)):
        post(scheme, coordinator, title="Too old")
    with time_machine.travel(now - dt.timedelta(days=3)):
        post(scheme, coordinator, title="Monday's alert")
        post(scheme, coordinator, title="Gone already", expires_at=now - dt.timedelta(days=1))
    with time_machine.travel(now - dt.timedelta(days=1)):
        post(scheme, coordinator, title="Wednesday's alert", urgency="urgent")

    with time_machine.travel(now):
        sent = tasks.send_alert_digests()

    assert sent == 1
    [email] = emails_to("digest@example.org")
    assert email.subject == "Shop Watch: 2 new alerts"
    assert "Monday's alert" in email.body_text and "Wednesday's alert" in email.body_text
    assert "Too old" not in email.body_text and "Gone already" not in email.body_text
    assert AlertDelivery.objects.filter(membership=digest, channel="digest").count() == 2


def test_it_catches_up_when_a_weekly_run_was_missed(scheme, coordinator):
    member(scheme, "digest", "digest@example.org")
    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(days=10)):
        post(scheme, coordinator, title="Posted before the missed run")

    with time_machine.travel(now):
        assert tasks.send_alert_digests() == 1

    assert "Posted before the missed run" in emails_to("digest@example.org").get().body_text


def test_it_leaves_out_alerts_from_before_the_member_joined(scheme, coordinator):
    joined = member(scheme, "digest", "digest@example.org")
    post(scheme, coordinator, title="Before")
    joined.decided_at = timezone.now()
    joined.save()
    post(scheme, coordinator, title="After")

    tasks.send_alert_digests()

    body = emails_to("digest@example.org").get().body_text
    assert "After" in body and "Before" not in body


def test_it_sends_the_digest_once_when_the_task_runs_twice(scheme, coordinator):
    member(scheme, "digest", "digest@example.org")
    post(scheme, coordinator)

    assert tasks.send_alert_digests() == 1
    assert tasks.send_alert_digests() == 0

    assert emails_to("digest@example.org").count() == 1


def test_it_sends_later_alerts_in_the_next_digest(scheme, coordinator):
    member(scheme, "digest", "digest@example.org")
    post(scheme, coordinator, title="First week")
    tasks.send_alert_digests()

    with time_machine.travel(timezone.now() + dt.timedelta(days=7)):
        post(scheme, coordinator, title="Second week")
        tasks.send_alert_digests()

    second = emails_to("digest@example.org").last()
    assert "Second week" in second.body_text
    assert "First week" not in second.body_text


def test_it_leaves_out_of_the_digest_what_a_member_already_had(scheme, coordinator):
    switched = member(scheme, "every", "switched@example.org")
    post(scheme, coordinator, title="Emailed at once")
    services.membership_set_preference(
        membership=switched, user=switched.contact, preference="digest"
    )

    assert tasks.send_alert_digests() == 0
    assert emails_to("switched@example.org").count() == 1


def test_it_sends_no_digest_to_other_choices_or_quiet_schemes(scheme, coordinator, other_scheme):
    member(scheme, "every", "every@example.org")
    member(scheme, "urgent", "urgent@example.org")
    member(other_scheme, "digest", "quiet@example.org")
    post(scheme, coordinator)

    assert tasks.send_alert_digests() == 0
    assert not emails_to("urgent@example.org").exists()
    assert not emails_to("quiet@example.org").exists()
