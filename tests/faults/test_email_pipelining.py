"""One SMTP session per batch, with the envelope pipelined when the relay offers it: a refused
recipient costs that email one retry and nothing else, and no email reaches the relay twice."""

import datetime as dt
import smtplib

import pytest
import time_machine

from engagement import emails
from engagement.models import OutboundEmail
from tests.faults.test_email_delivery import assert_each_delivered_once, queue

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

START = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def writes(monkeypatch):
    """Each write the sending side makes to the relay, as text."""
    written = []
    real_send = smtplib.SMTP.send

    def send(self, data):
        written.append(data.decode() if isinstance(data, bytes) else data)
        return real_send(self, data)

    monkeypatch.setattr(smtplib.SMTP, "send", send)
    return written


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one-by-one"])
def test_it_retries_only_the_refused_recipient_and_marks_the_rest_sent_once(smtp_sink, pipelining):
    smtp_sink.pipelining = pipelining
    smtp_sink.refused_recipients = {"person2@example.org"}
    with time_machine.travel(START, tick=False) as clock:
        rows = queue(5)
        assert emails.email_deliver_pending() == 4

        refused = OutboundEmail.objects.get(to="person2@example.org")
        assert refused.sent_at is None and refused.attempts == 1
        assert refused.next_attempt_at == START + emails.backoff(1)
        assert "550" in refused.last_error
        assert sorted(m["To"] for m in smtp_sink.messages) == [
            f"person{i}@example.org" for i in (0, 1, 3, 4)
        ]
        sent = OutboundEmail.objects.exclude(pk=refused.pk)
        assert {(row.attempts, row.last_error) for row in sent} == {(1, "")}
        assert all(row.sent_at == START for row in sent)

        smtp_sink.refused_recipients = set()
        assert emails.email_deliver_pending() == 0  # not before its backoff
        clock.move_to(START + emails.backoff(1))
        assert emails.email_deliver_pending() == 1
    assert_each_delivered_once(smtp_sink, rows)


def test_it_writes_the_envelope_in_one_go_when_the_relay_offers_pipelining(smtp_sink, writes):
    queue(3)
    assert emails.email_deliver_pending() == 3

    envelopes = [w for w in writes if w.startswith("MAIL FROM:")]
    assert len(envelopes) == 3
    for i, envelope in enumerate(envelopes):
        assert envelope.endswith(f"\r\nRCPT TO:<person{i}@example.org>\r\nDATA\r\n")
    assert len([w for w in writes if w.endswith(".\r\n") and "DATA" not in w]) == 3
    assert sum(w.startswith("ehlo") for w in writes) == 1  # one session for the batch


def test_it_sends_each_command_on_its_own_to_a_relay_without_pipelining(smtp_sink, writes):
    smtp_sink.pipelining = False
    rows = queue(2)
    assert emails.email_deliver_pending() == 2

    commands = [w.split(":")[0].strip() for w in writes if not w.startswith("ehlo")]
    assert commands[:3] == ["MAIL FROM", "RCPT TO", "DATA"]
    assert_each_delivered_once(smtp_sink, rows)


def test_it_ends_the_data_a_relay_accepts_after_refusing_the_recipient_and_carries_on(
    smtp_sink,
):
    # RFC 2920 asks a relay to refuse DATA when no recipient was accepted; one that says 354
    # anyway gets an empty message (no recipient, so not delivered) and the session goes on.
    smtp_sink.data_without_recipients = True
    smtp_sink.refused_recipients = {"person0@example.org"}
    with time_machine.travel(START, tick=False):
        rows = queue(3)
        assert emails.email_deliver_pending() == 2
        assert sorted(m["To"] for m in smtp_sink.messages) == [
            "person1@example.org",
            "person2@example.org",
        ]
        refused = OutboundEmail.objects.get(pk=rows[0].pk)
        assert refused.sent_at is None and refused.next_attempt_at == START + emails.backoff(1)


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one-by-one"])
def test_it_does_not_write_the_message_when_the_relay_refuses_the_sender(
    smtp_sink, writes, pipelining
):
    smtp_sink.pipelining = pipelining
    smtp_sink.refusing_senders = True
    with time_machine.travel(START, tick=False) as clock:
        rows = queue(2)
        assert emails.email_deliver_pending() == 0
        assert not any(w.endswith(".\r\n") and "DATA" not in w for w in writes)  # no message
        assert {(row.attempts, row.sent_at) for row in OutboundEmail.objects.all()} == {(1, None)}
        assert "451" in OutboundEmail.objects.first().last_error

        smtp_sink.refusing_senders = False
        clock.move_to(START + emails.backoff(1))
        assert emails.email_deliver_pending() == 2
    assert_each_delivered_once(smtp_sink, rows)


def test_it_retries_what_the_relay_refuses_after_the_data_and_carries_on_in_the_session(
    smtp_sink, writes
):
    def refuse_from_now_on(message):
        smtp_sink.refusing = True  # a relay that stops taking mail mid-batch (451 to data)

    smtp_sink.on_accept = refuse_from_now_on
    with time_machine.travel(START, tick=False) as clock:
        rows = queue(3)
        assert emails.email_deliver_pending() == 1
        assert [m["To"] for m in smtp_sink.messages] == ["person0@example.org"]
        retrying = OutboundEmail.objects.filter(sent_at__isnull=True)
        assert {(row.attempts, row.next_attempt_at) for row in retrying} == {
            (1, START + emails.backoff(1))
        }
        assert all("451" in row.last_error for row in retrying)
        assert ".\r\n" not in writes  # nothing written after a refused message but RSET

        smtp_sink.on_accept = None
        smtp_sink.refusing = False
        clock.move_to(START + emails.backoff(1))
        assert emails.email_deliver_pending() == 2
    assert_each_delivered_once(smtp_sink, rows)


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one-by-one"])
def test_it_opens_a_new_session_when_the_relay_closes_one_with_421_and_retries_that_email(
    smtp_sink, writes, pipelining
):
    smtp_sink.pipelining = pipelining
    smtp_sink.closing_on_recipients = {"person1@example.org"}
    with time_machine.travel(START, tick=False) as clock:
        rows = queue(3)
        assert emails.email_deliver_pending() == 2  # the one after it goes in a new session
        assert sum(w.startswith("ehlo") for w in writes) == 2
        closed = OutboundEmail.objects.get(to="person1@example.org")
        assert closed.sent_at is None and "421" in closed.last_error  # refused, not unknown
        assert closed.next_attempt_at == START + emails.backoff(1)

        smtp_sink.closing_on_recipients = set()
        clock.move_to(START + emails.backoff(1))
        assert emails.email_deliver_pending() == 1
    assert_each_delivered_once(smtp_sink, rows)
