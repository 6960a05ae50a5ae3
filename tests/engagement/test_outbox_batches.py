"""The outbox at volume: emails queued many at once, the message the relay receives, and the
purge of old sent emails a batch per statement."""

import datetime as dt
import email

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagement import emails
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
