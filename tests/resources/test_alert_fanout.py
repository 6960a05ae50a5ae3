"""An alert to thousands of members leaves the request: a task writes and sends its emails in
batches, rendered once, and nothing is written or sent twice however often it runs."""

import datetime as dt
import uuid

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from engagement.models import OutboundEmail
from resources import services, tasks
from resources.models import Alert, AlertDelivery, SchemeMembership
from tests import factories

NOW = dt.datetime(2026, 11, 4, 10, 0, tzinfo=dt.UTC)  # a Wednesday


# 1 session, 2 user, 3 the scheme, 4-5 the person's permissions, 6 coordinator check (finding
# the scheme), 7 coordinator check (posting, in the view), 8 coordinator check (posting, in the
# service), 9 the submission key, 10 the transaction (a savepoint inside the test's), 11 the
# alert, 12 its event, 13 the commit. Nothing per member.
QUERIES_ALERT_POST = 13


def members(scheme, n, preference="every"):
    """n businesses that joined the scheme a month before NOW."""
    found = []
    for i in range(n):
        person = factories.UserFactory(email=f"{preference}{i}@example.org")
        business = factories.BusinessFactory(owner=person, name=f"Shop {i} & Sons")
        found.append(
            factories.SchemeMembershipFactory(
                scheme=scheme,
                business=business,
                alert_preference=preference,
                applied_at=NOW - dt.timedelta(days=31),
                decided_at=NOW - dt.timedelta(days=30),
            )
        )
    return found


def alert_form():
    return {
        "title": "Shoplifters in the High Street",
        "body": "Two men taking razor blades, around 4pm.",
        "urgency": "routine",
        "expires_at": "",
        "submission_key": str(uuid.uuid4()),
    }


@pytest.mark.parametrize("rows", [1, 12])
def test_it_answers_the_post_without_writing_any_email_in_a_fixed_number_of_queries(
    client, scheme, coordinator, rows, django_assert_num_queries, django_capture_on_commit_callbacks
):
    members(scheme, rows)
    client.force_login(coordinator)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        django_assert_num_queries(QUERIES_ALERT_POST),
    ):
        response = client.post(reverse("resources:alert_new", args=[scheme.slug]), alert_form())

    alert = Alert.objects.get()
    assert response.status_code == 302
    assert not AlertDelivery.objects.exists()
    assert not OutboundEmail.objects.exists()
    assert alert.queued_at is None
    assert len(callbacks) == 1
    assert factories.published_tasks() == [("resources.tasks.send_alert", [alert.pk])]


def test_it_writes_one_delivery_and_one_email_per_member_when_the_task_runs_twice(
    scheme, coordinator
):
    everyone = members(scheme, 7)
    alert = services.alert_post(scheme=scheme, actor=coordinator, title="Fake notes", body="Look")

    assert tasks.send_alert(alert.pk) == 7
    assert tasks.send_alert(alert.pk) == 0

    assert AlertDelivery.objects.filter(alert=alert).count() == 7
    assert OutboundEmail.objects.count() == 7
    for membership in everyone:
        delivery = AlertDelivery.objects.get(alert=alert, membership=membership)
        assert delivery.email.to == membership.contact.email
    alert.refresh_from_db()
    assert alert.queued_at is not None


def test_it_writes_in_batches_and_publishes_one_send_per_batch(
    scheme, coordinator, django_capture_on_commit_callbacks
):
    members(scheme, 5)
    alert = services.alert_post(scheme=scheme, actor=coordinator, title="Fake notes", body="Look")
    factories.published_tasks()

    with django_capture_on_commit_callbacks(execute=True):
        queued = services.alert_send_immediate(alert=alert, batch_size=2)

    published = factories.published_tasks()
    assert queued == 5
    assert [name for name, _ in published] == ["engagement.tasks.deliver_emails"] * 3
    assert sorted(pk for _, [ids] in published for pk in ids) == sorted(
        OutboundEmail.objects.values_list("pk", flat=True)
    )


def test_it_fills_in_each_members_business_escaped_in_the_html(scheme, coordinator):
    members(scheme, 2)
    alert = services.alert_post(scheme=scheme, actor=coordinator, title="Fake notes", body="Look")

    tasks.send_alert(alert.pk)

    first = OutboundEmail.objects.get(to="every0@example.org")
    second = OutboundEmail.objects.get(to="every1@example.org")
    assert "because Shop 0 & Sons is a member" in first.body_text
    assert "because Shop 0 &amp; Sons is a member" in first.body_html
    assert "Shop 1 & Sons" in second.body_text and "Shop 0" not in second.body_text
    assert "[business-" not in first.body_text + first.body_html
    assert first.subject == "Shop Watch alert: Fake notes"


def test_it_sends_an_alert_whose_task_was_lost(scheme, coordinator):
    members(scheme, 3)
    with time_machine.travel(NOW, tick=False):
        alert = services.alert_post(scheme=scheme, actor=coordinator, title="Lost", body="Look")
        assert services.alert_send_unqueued() == 0  # the task has a couple of minutes first
    with time_machine.travel(NOW + dt.timedelta(minutes=3), tick=False):
        assert tasks.send_unqueued_alerts() == 3
        assert tasks.send_unqueued_alerts() == 0
    alert.refresh_from_db()
    assert alert.queued_at is not None


def test_it_leaves_an_alert_to_its_sender_while_the_sender_is_still_going(scheme, coordinator):
    members(scheme, 5)
    with time_machine.travel(NOW, tick=False):
        alert = services.alert_post(scheme=scheme, actor=coordinator, title="Big", body="Look")
    # A large scheme's sender, still writing its batches five minutes on, has just marked one.
    Alert.objects.filter(pk=alert.pk).update(sending_at=NOW + dt.timedelta(minutes=5))
    with time_machine.travel(NOW + dt.timedelta(minutes=6), tick=False):
        assert services.alert_send_unqueued() == 0
    assert not AlertDelivery.objects.filter(alert=alert).exists()
    with time_machine.travel(NOW + dt.timedelta(minutes=8), tick=False):
        # Silent past the grace: the sender has died, and the sweep does its work.
        assert services.alert_send_unqueued() == 5
        assert services.alert_send_unqueued() == 0
    alert.refresh_from_db()
    assert alert.queued_at == alert.sending_at == NOW + dt.timedelta(minutes=8)


def test_it_marks_each_batch_its_sender_writes(scheme, coordinator):
    members(scheme, 3)
    with time_machine.travel(NOW, tick=False):
        alert = services.alert_post(scheme=scheme, actor=coordinator, title="Big", body="Look")
    with time_machine.travel(NOW + dt.timedelta(seconds=10), tick=False):
        assert services.alert_send_immediate(alert=alert, batch_size=2) == 3
    alert.refresh_from_db()
    assert alert.sending_at == NOW + dt.timedelta(seconds=10)


def test_it_shows_the_coordinator_that_the_alert_is_being_sent_and_how_many_have_gone(
    client, scheme, coordinator
):
    members(scheme, 3)
    alert = services.alert_post(scheme=scheme, actor=coordinator, title="Fake notes", body="Look")
    client.force_login(coordinator)

    before = client.get(alert.get_absolute_url()).content.decode()
    tasks.send_alert(alert.pk)
    OutboundEmail.objects.filter(pk=OutboundEmail.objects.order_by("pk").first().pk).update(
        sent_at=timezone.now()
    )
    during = client.get(alert.get_absolute_url()).content.decode()
    OutboundEmail.objects.update(sent_at=timezone.now())
    after = client.get(alert.get_absolute_url()).content.decode()

    assert "Being sent: the emails to members who want it at once are being written" in before
    assert "Being sent: 1 of 3 emails to members who want it at once have gone." in during
    assert "Emailed to 3 members who want it at once" in after


def test_it_shows_members_the_alert_without_the_sending(client, scheme, coordinator, membership):
    alert = services.alert_post(scheme=scheme, actor=coordinator, title="Fake notes", body="Look")
    client.force_login(membership.contact)

    page = client.get(alert.get_absolute_url()).content.decode()

    assert "Fake notes" in page
    assert "Being sent" not in page and "Emailed to" not in page


# The weekly digest


def test_it_sends_each_digest_member_one_digest_a_week_however_often_it_runs(scheme, coordinator):
    digest = members(scheme, 4, preference="digest")
    with time_machine.travel(NOW - dt.timedelta(days=2), tick=False):
        services.alert_post(scheme=scheme, actor=coordinator, title="Monday", body="One")
    with time_machine.travel(NOW, tick=False):
        assert tasks.send_alert_digests() == 4
        services.alert_post(scheme=scheme, actor=coordinator, title="Wednesday", body="Two")
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        assert tasks.send_alert_digests() == 0  # same week: Wednesday's waits for next week
    with time_machine.travel(NOW + dt.timedelta(days=5), tick=False):
        assert tasks.send_alert_digests() == 4  # the Monday after
        assert tasks.send_alert_digests() == 0

    for membership in digest:
        sent = OutboundEmail.objects.filter(to=membership.contact.email).order_by("pk")
        assert sent.count() == 2
        assert "Monday" in sent[0].body_text and "Wednesday" not in sent[0].body_text
        assert "Wednesday" in sent[1].body_text and "Monday" not in sent[1].body_text
        assert f"because {membership.business.name} is a member" in sent[0].body_text
    assert AlertDelivery.objects.filter(channel="digest").count() == 8
    assert set(SchemeMembership.objects.values_list("last_digest_week", flat=True)) == {
        dt.date(2026, 11, 9)
    }


def test_it_writes_the_digest_in_a_few_statements_per_batch(
    scheme, coordinator, django_assert_max_num_queries
):
    members(scheme, 6, preference="digest")
    with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
        services.alert_post(scheme=scheme, actor=coordinator, title="Monday", body="One")

    # Per batch of 3: 1 the locked members, 2 their alerts, 3 what they already had, 4 the
    # emails, 5 the deliveries, 6 the week stamp, and the savepoints around them; then one
    # empty batch. The number does not grow with the members in a batch.
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(20):
        assert services.alert_digest_send(batch_size=3) == 6
