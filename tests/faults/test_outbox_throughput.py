"""The zero-setup default keeps up with a busy demo: the outbox drains 50 emails/s on SQLite.

benchmarks/outbox.py measures the same with a real worker on the filesystem transport.
"""

import time

import pytest
from django.db import connection, transaction

from engagement import emails
from engagement.models import OutboundEmail

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

EMAILS = 500
TARGET_PER_SECOND = 50


def test_it_sends_500_emails_through_a_relay_at_50_a_second_or_more(smtp_sink):
    # The target is the zero-setup default's (SQLite, `make test` without services); CI runs
    # it on PostgreSQL, which must keep up too.
    with transaction.atomic():
        for i in range(EMAILS):
            emails.email_queue(
                to=f"person{i}@example.org",
                template="outbox_summary",
                context={"failed": 1, "oldest_pending_hours": 1, "admin_url": "x"},
            )
    started = time.monotonic()
    sent = emails.email_deliver_pending()
    took = time.monotonic() - started
    rate = sent / took
    print(f"{sent} emails in {took:.2f} s on {connection.vendor}: {rate:.0f} emails/s")
    assert sent == EMAILS
    assert set(smtp_sink.count_by_message_id().values()) == {1}
    assert len(smtp_sink.messages) == EMAILS
    assert not OutboundEmail.objects.filter(sent_at__isnull=True).exists()
    assert rate >= TARGET_PER_SECOND, f"{rate:.0f} emails/s"
