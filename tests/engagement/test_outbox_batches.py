"""The outbox at volume: emails queued many at once, the message the relay receives, and the
purge of old sent emails a batch per statement."""

import datetime as dt
import email
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.mail.message import sanitize_address
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dorset_bcp.celery import app as celery_app
from engagement import emails, services, tasks
from engagement.models import OutboundEmail
from resources.models import AlertDelivery
from tests import factories

NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


def rendered(subject="Shop Watch alert", text="Hello", html="<p>Hello</p>"):
    return emails.RenderedEmail(subject=subject, body_text=text, body_html=html)


def test_it_queues_many_emails_in_one_insert_and_one_deliver_task(
    db, django_capture_on_commit_callbacks
):
    factories.published_tasks()
    with (
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as queries,
    ):
        rows = emails.email_queue_many(
            emails=[(f"p{i}@example.org", rendered()) for i in range(30)]
        )

    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "engagement_outboundemail"')]
    assert len(inserts) == 1
    assert len({row.message_id for row in rows}) == 30
    assert factories.published_tasks() == [
        ("engagement.tasks.deliver_emails", [[row.pk for row in rows]])
    ]


def test_it_fills_blanks_as_typed_in_the_text_and_escaped_in_the_html():
    blank = emails.email_blank("business")
    template = rendered(subject=f"For {blank}", text=f"Dear {blank},", html=f"<p>{blank}</p>")

    filled = template.fill({blank: "Fish & <Chips>"})

    assert filled.subject == "For Fish & <Chips>"
    assert filled.body_text == "Dear Fish & <Chips>,"
    assert filled.body_html == "<p>Fish &amp; &lt;Chips&gt;</p>"


def test_it_writes_a_message_the_relay_and_the_reader_parse_back(db, settings):
    settings.DEFAULT_FROM_EMAIL = "Dorset BCP <noreply@example.org>"
    row = OutboundEmail(
        to="owner@example.org",
        subject="Café alert: £20 notes",
        body_text="Check the hologram.\n.A line starting with a dot\n" + "x" * 300 + "\n£ é",
        body_html="<p>Check &amp; £</p>\n" + "y" * 300,
        message_id="<1@example.org>",
    )

    message = email.message_from_bytes(emails._mime(row, to=row.to))

    subject = email.header.make_header(email.header.decode_header(message["Subject"]))
    assert str(subject) == row.subject
    assert (message["To"], message["Message-ID"]) == (row.to, row.message_id)
    assert message["From"] == "Dorset BCP <noreply@example.org>"
    assert message.get_content_type() == "multipart/alternative"
    text, html = (part.get_payload(decode=True).decode() for part in message.get_payload())
    assert text.replace("\r\n", "\n") == row.body_text
    assert html.replace("\r\n", "\n") == row.body_html


def test_it_writes_a_plain_message_when_there_is_no_html(db):
    row = OutboundEmail(to="a@example.org", subject="Hi", body_text="Hello", message_id="<2@x>")

    message = email.message_from_bytes(emails._mime(row, to=row.to))

    assert message.get_content_type() == "text/plain"
    assert message.get_payload(decode=True).decode() == "Hello"


@pytest.mark.parametrize(
    "address",
    [
        "owner@example.org",
        "first.last+alerts@shop.example.co.uk",
        "o'brien@example.org",
        "UPPER_case-1@Example.ORG",
        "x{y}|z~!#$%&*=?^`@a-b.example",
        '"two words"@example.org',
        "dots..twice@example.org",
        "café@example.org",
        "owner@bücher.example",
        "Named Person <owner@example.org>",
    ],
)
def test_it_writes_each_recipient_as_djangos_sanitize_address_would(address):
    try:
        expected = sanitize_address(address, "utf-8")
    except ValueError:
        with pytest.raises(ValueError):
            emails._recipient(address)
        return
    assert emails._recipient(address) == expected


# The purge


def sent_emails(n, *, sent_at):
    return OutboundEmail.objects.bulk_create(
        [
            OutboundEmail(to=f"p{i}@example.org", subject="Old", body_text="x", sent_at=sent_at)
            for i in range(n)
        ]
    )


@pytest.mark.django_db
def test_it_purges_old_sent_emails_a_batch_per_statement_and_keeps_the_rest():
    with time_machine.travel(NOW, tick=False):
        old = sent_emails(7, sent_at=NOW - dt.timedelta(days=40))
        recent = sent_emails(2, sent_at=NOW - dt.timedelta(days=5))
        unsent = OutboundEmail.objects.create(to="u@example.org", subject="Unsent", body_text="x")
        failed = OutboundEmail.objects.create(
            to="f@example.org", subject="Failed", body_text="x", failed_at=NOW
        )

        with CaptureQueriesContext(connection) as queries:
            assert emails.email_purge_sent(batch_size=3) == 7

    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 3 + 3 + 1: the short batch is the last
    assert all("LIMIT 3" in sql for sql in deletes)
    assert not any(q["sql"].startswith('SELECT "engagement_outboundemail"') for q in queries)
    assert not OutboundEmail.objects.filter(pk__in=[row.pk for row in old]).exists()
    assert set(OutboundEmail.objects.values_list("pk", flat=True)) == {
        *(row.pk for row in recent),
        unsent.pk,
        failed.pk,
    }


def test_it_keeps_the_alert_delivery_record_when_its_email_is_purged(db):
    membership = factories.SchemeMembershipFactory()
    alert = factories.AlertFactory(scheme=membership.scheme)
    [row] = sent_emails(1, sent_at=NOW - dt.timedelta(days=40))
    delivery = AlertDelivery.objects.create(
        alert=alert, membership=membership, channel="immediate", email=row
    )
    with time_machine.travel(NOW, tick=False):
        assert emails.email_purge_sent() == 1

    delivery.refresh_from_db()
    assert delivery.email is None  # still records that the alert reached the member


LONDON = ZoneInfo("Europe/London")
MONDAY_1_JUNE_2026 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=LONDON)


# One attempt per email per sweep, with backoff, claimed before it is sent


def queued(n=1, **kwargs):
    out = []
    for _ in range(n):
        update = factories.ConcernUpdateFactory(kind="reply")
        out.append(
            emails.email_queue(
                to="someone@example.org",
                template="officer_reply",
                context={"concern": update.concern, "update": update},
                **kwargs,
            )
        )
    return out


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server down")


class KilledOnThirdBackend(LocmemBackend):
    """Sends two emails, then the worker's soft time limit strikes mid-send."""

    def send_messages(self, messages):
        if len(mail.outbox) >= 2:
            raise SoftTimeLimitExceeded()
        return super().send_messages(messages)


def test_it_stops_a_sweep_at_the_first_refused_connection_when_the_mail_server_is_down(
    settings, time_machine, db
):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    first, *others = queued(5)
    settings.EMAIL_BACKEND = "tests.engagement.test_outbox_batches.BrokenBackend"
    assert emails.email_deliver_pending(batch_size=2) == 0
    first.refresh_from_db()
    assert first.attempts == 1
    assert first.next_attempt_at == MONDAY_1_JUNE_2026 + dt.timedelta(minutes=1)
    # The rest were not tried against a relay that is not there, and stay due.
    assert {row.attempts for row in OutboundEmail.objects.exclude(pk=first.pk)} == {0}
    assert emails.email_deliver_pending(batch_size=2) == 0
    assert OutboundEmail.objects.get(pk=others[0].pk).attempts == 1


def test_it_backs_off_1_2_4_minutes_up_to_an_hour(settings, time_machine, db):
    assert [emails.backoff(n).total_seconds() / 60 for n in range(1, 10)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
        60,
    ]
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    (message,) = queued()
    settings.EMAIL_BACKEND = "tests.engagement.test_outbox_batches.BrokenBackend"
    now = MONDAY_1_JUNE_2026
    for attempt in range(1, 4):
        assert emails.email_deliver_pending() == 0
        message.refresh_from_db()
        assert message.attempts == attempt
        assert message.next_attempt_at == now + emails.backoff(attempt)
        now = message.next_attempt_at
        time_machine.move_to(now - dt.timedelta(seconds=1), tick=False)
        emails.email_deliver_pending()  # a second early: not due yet
        message.refresh_from_db()
        assert message.attempts == attempt
        time_machine.move_to(now, tick=False)


def test_it_neither_resends_nor_loses_emails_when_a_sweep_is_killed(settings, time_machine, db):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    first, second, third, fourth, fifth = queued(5)
    settings.EMAIL_BACKEND = "tests.engagement.test_outbox_batches.KilledOnThirdBackend"
    with pytest.raises(SoftTimeLimitExceeded):
        emails.email_deliver_pending()
    assert len(mail.outbox) == 2
    sent = set(OutboundEmail.objects.filter(sent_at__isnull=False).values_list("pk", flat=True))
    assert sent == {first.pk, second.pk}
    third.refresh_from_db()
    assert third.sent_at is None and third.attempts == 1  # claimed, so not retried at once

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert emails.email_deliver_pending() == 2  # the two never tried
    time_machine.move_to(MONDAY_1_JUNE_2026 + emails.UNKNOWN_OUTCOME_AFTER, tick=False)
    assert emails.email_deliver_pending() == 1  # the interrupted one, once its outcome is stale
    assert emails.email_deliver_pending() == 0
    assert len(mail.outbox) == 5
    assert sorted(len(m.to) for m in mail.outbox) == [1] * 5
    assert not OutboundEmail.objects.filter(sent_at__isnull=True).exists()


def test_it_does_not_swallow_the_soft_time_limit_sending_one_email(settings, db):
    queued(2)
    first, second = OutboundEmail.objects.order_by("pk")
    emails.email_deliver(email_id=first.pk)
    mail.outbox.append(mail.outbox[0])  # two in the outbox: the backend now "times out"
    settings.EMAIL_BACKEND = "tests.engagement.test_outbox_batches.KilledOnThirdBackend"
    with pytest.raises(SoftTimeLimitExceeded):
        emails.email_deliver(email_id=second.pk)
    second.refresh_from_db()
    assert second.sent_at is None and second.attempts == 1


def test_it_does_not_send_a_single_email_again_before_its_backoff(settings, time_machine, db):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    (message,) = queued()
    settings.EMAIL_BACKEND = "tests.engagement.test_outbox_batches.BrokenBackend"
    assert emails.email_deliver(email_id=message.pk) is False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert emails.email_deliver(email_id=message.pk) is False
    time_machine.move_to(MONDAY_1_JUNE_2026 + dt.timedelta(minutes=1), tick=False)
    assert emails.email_deliver(email_id=message.pk) is True
    message.refresh_from_db()
    assert message.attempts == 2 and message.sent_at is not None


# Private links do not outlive the send; sent emails are purged


def guest_submit(submission_key=None):
    return services.guest_concern_submit(
        business_name="Quay Gifts",
        sector="retail",
        postcode="BH15 1HJ",
        town="Poole",
        details=services.ConcernDetails(
            category=factories.category(),
            description="Someone took the charity box.",
            occurred_on=timezone.localdate() - dt.timedelta(days=1),
            location="The Quay",
            impact="some",
            contact_name="Gita Guest",
            contact_email="guest@example.org",
        ),
        submission_key=submission_key or uuid.uuid4(),
    )


def test_it_forgets_the_guests_private_link_once_the_email_is_sent(area, owner, business):
    concern, token = guest_submit()
    services.concern_submit(
        business=business,
        reporter=owner,
        details=services.ConcernDetails(
            category=factories.category(),
            description="Owner's report",
            occurred_on=timezone.localdate(),
            location="1 High Street",
            impact="some",
            contact_name="Olive Owner",
            contact_email=owner.email,
        ),
        submission_key=uuid.uuid4(),
    )
    secret = OutboundEmail.objects.get(to="guest@example.org")
    assert secret.contains_secret and token in secret.body_text
    assert emails.email_deliver_pending() == 2
    assert token in mail.outbox[0].body  # the guest still got the link
    secret.refresh_from_db()
    assert secret.sent_at is not None
    assert (secret.body_text, secret.body_html) == ("", "")
    assert not OutboundEmail.objects.filter(body_text__contains=token).exists()
    ordinary = OutboundEmail.objects.get(to=owner.email)
    assert not ordinary.contains_secret and ordinary.body_text  # kept for support


def test_it_purges_sent_emails_after_30_days_and_keeps_failed_ones(time_machine, db):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    old_sent, old_unsent, old_failed = queued(3)
    OutboundEmail.objects.filter(pk=old_sent.pk).update(sent_at=timezone.now())
    OutboundEmail.objects.filter(pk=old_failed.pk).update(failed_at=timezone.now())
    time_machine.move_to(MONDAY_1_JUNE_2026 + dt.timedelta(days=30, minutes=1), tick=False)
    (recent_sent,) = queued()
    OutboundEmail.objects.filter(pk=recent_sent.pk).update(sent_at=timezone.now())
    assert tasks.purge_sent_emails() == 1
    left = set(OutboundEmail.objects.values_list("pk", flat=True))
    assert left == {old_unsent.pk, old_failed.pk, recent_sent.pk}
    assert emails.email_purge_sent() == 0


def test_it_schedules_the_purge_nightly():
    entry = django_settings.CELERY_BEAT_SCHEDULE["purge-sent-emails"]
    assert entry["task"] == "engagement.tasks.purge_sent_emails"
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"].hour == {3}


def test_it_gives_a_row_without_a_message_id_one_with_its_claim_and_keeps_it(
    settings, time_machine, db
):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    old, other = queued(2)
    OutboundEmail.objects.update(message_id="")  # queued before Message-IDs were recorded
    settings.EMAIL_BACKEND = "tests.engagement.test_outbox_batches.BrokenBackend"
    assert emails.email_deliver_pending() == 0
    old.refresh_from_db()
    other.refresh_from_db()
    assert old.message_id.startswith(f"<outbox.{old.pk}.") and old.message_id.endswith(">")
    assert other.message_id not in ("", old.message_id)  # recorded with the claim, one each
    recorded = old.message_id

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    time_machine.move_to(MONDAY_1_JUNE_2026 + dt.timedelta(minutes=1), tick=False)
    assert emails.email_deliver_pending() == 2
    assert sorted(m.extra_headers["Message-ID"] for m in mail.outbox) == sorted(
        OutboundEmail.objects.values_list("message_id", flat=True)
    )
    old.refresh_from_db()
    assert old.message_id == recorded  # the same one, not a new one
