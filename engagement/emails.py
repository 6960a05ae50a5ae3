"""Emails leave through the outbox: written with the change, sent after commit.

What the outbox promises (see OutboundEmail for the row's life):

- Never lost: a refused send is retried with backoff (1, 2, 4 … minutes, then hourly) for
  RETRY_FOR (3 days); after that the row is marked failed and kept, counted on the admin index
  and /healthz, and summarised daily to the administrators until someone sends it again.
- Not sent twice: each attempt is claimed in a committed update that records when it began and
  the message's Message-ID before anything is sent. The "sent" mark is retried on a fresh
  database connection if the old one dropped. An attempt whose outcome is unknown (the worker
  died, the mark could not be written, the relay stopped answering after the data) is not
  tried again until UNKNOWN_OUTCOME_AFTER has passed, which is longer than any task can run.
- A slow relay is waited for: EMAIL_TIMEOUT (75 s) exceeds the 60 s a busy relay may take to
  confirm, so a message it accepts late is not retried.
- A SIGTERM to a worker's pool process (systemd's default KillMode=control-group signals every
  process) does not cut a batch: the email in hand is finished, what was sent is marked and
  the rest are handed back unsent (finish_batch_on_sigterm).
- In batches: a batch is claimed in one UPDATE (which returns the rows), sent over one SMTP
  session (each email's MAIL, RCPT and DATA in one write when the relay offers PIPELINING) and
  marked sent in one UPDATE; only a refused or unknown email is marked on its own.
"""

import binascii
import datetime as dt
import functools
import logging
import re
import signal
import smtplib
import socket
import threading
import time
import uuid
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import (
    SET_NULL,
    Case,
    CharField,
    Count,
    F,
    Min,
    Q,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat
from django.db.models.sql import UpdateQuery
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

from .models import OutboundEmail

logger = logging.getLogger(__name__)

BACKOFF_MAX = dt.timedelta(hours=1)
# How long a refused email is retried before it is marked failed (a long weekend's outage).
RETRY_FOR = dt.timedelta(days=3)
# An attempt whose outcome is unknown is left alone this long: longer than the longest task
# (deliver tasks' hard limit is 6 minutes) and than a relay's slowest confirmation, so the
# first attempt has certainly finished, one way or the other, before a second begins.
UNKNOWN_OUTCOME_AFTER = dt.timedelta(minutes=30)
# Unsent for longer than this and the outbox is "degraded" on /healthz and in the admin.
LONG_PENDING_AFTER = dt.timedelta(minutes=15)
SENT_EMAIL_RETENTION_DAYS = 30
# A sweep stops claiming new rows after this long, so it finishes well inside its soft limit;
# the next sweep, a minute later, carries on.
SWEEP_BUDGET_SECONDS = 120
# Rows per INSERT when many emails are queued at once, and per DELETE when old ones are purged:
# large enough that a statement's round trip is small beside its work, small enough that one
# statement never holds much memory or many locks.
QUEUE_INSERT_BATCH = 1000
PURGE_BATCH = 5000

# The relay said no, or was not there: nothing was sent, so the next try is safe.
_REFUSED = (
    ConnectionRefusedError,
    socket.gaierror,
    smtplib.SMTPConnectError,
    smtplib.SMTPResponseException,
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPHeloError,
)


@dataclass(frozen=True)
class RenderedEmail:
    """An email's subject and bodies, rendered once and sent to one or many people."""

    subject: str
    body_text: str
    body_html: str

    def fill(self, values: dict[str, str]) -> "RenderedEmail":
        """This email with each blank (see email_blank) replaced by its value: as typed in the
        subject and text, escaped in the HTML. A string replace, not a template render."""
        subject, text, html = self.subject, self.body_text, self.body_html
        for blank, value in values.items():
            subject = subject.replace(blank, value)
            text = text.replace(blank, value)
            html = html.replace(blank, escape(value))
        return RenderedEmail(
            subject=" ".join(subject.split())[:250], body_text=text, body_html=html
        )


def email_blank(name: str) -> str:
    """A stand-in to render where each recipient's own value goes, filled by RenderedEmail.fill.

    Random, so no text a person typed can match it, and made of characters that HTML escaping
    leaves alone, so it reads the same in every part."""
    return f"[{name}-{uuid.uuid4().hex}]"


def email_render(*, template: str, context: dict) -> RenderedEmail:
    """Render templates/emails/<template>-subject.txt, -body.txt and -body.html."""
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}-subject.txt", context).split())
    return RenderedEmail(
        subject=subject[:250],
        body_text=render_to_string(f"emails/{template}-body.txt", context),
        body_html=render_to_string(f"emails/{template}-body.html", context),
    )


def email_queue(
    *, to: str, template: str, context: dict, contains_secret: bool = False
) -> OutboundEmail:
    """Render templates/emails/<template>-* and queue the email to send once the change commits.

    `contains_secret` marks an email whose bodies must not outlive the send (a private link)."""
    rendered = email_render(template=template, context=context)
    return email_queue_rendered(to=to, email=rendered, contains_secret=contains_secret)


def email_queue_rendered(
    *, to: str, email: RenderedEmail, contains_secret: bool = False
) -> OutboundEmail:
    """Queue an email rendered elsewhere (allauth's, by the account adapter) to send once the
    change commits."""
    row = OutboundEmail.objects.create(
        to=to,
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
        contains_secret=contains_secret,
        message_id=_new_message_id(),
    )
    transaction.on_commit(lambda: _enqueue(row.pk))
    return row


def email_queue_many(*, emails: list[tuple[str, RenderedEmail]]) -> list[OutboundEmail]:
    """Queue many rendered emails, given as (to, email), in one INSERT, to send once the change
    commits: one deliver task takes them all, in batches over one SMTP connection each."""
    rows = OutboundEmail.objects.bulk_create(
        [
            OutboundEmail(
                to=to,
                subject=email.subject,
                body_text=email.body_text,
                body_html=email.body_html,
                message_id=_new_message_id(),
            )
            for to, email in emails
        ],
        batch_size=QUEUE_INSERT_BATCH,
    )
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(lambda: _enqueue_many(ids))
    return rows


def _new_message_id() -> str:
    return make_msgid(idstring="outbox", domain=_message_id_domain())


def _message_id_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


# After a failed publish this process leaves emails to the sweep for a while, so a request
# queuing several emails, and the requests behind it, pay one broker timeout, not one each.
BROKER_BACKOFF_SECONDS = 30
_broker_failed_at: float | None = None


def _enqueue(email_id: int) -> None:
    from .tasks import deliver_email

    publish_or_leave_to_sweep(deliver_email, email_id)


def _enqueue_many(email_ids: list[int]) -> None:
    from .tasks import deliver_emails

    publish_or_leave_to_sweep(deliver_emails, email_ids)


def publish_or_leave_to_sweep(task, *args) -> None:
    """Publish a task whose work is already committed; if the broker is down, a beat sweep
    does the same work from the database, so the caller carries on."""
    global _broker_failed_at
    if _broker_failed_at is not None:
        if time.monotonic() - _broker_failed_at < BROKER_BACKOFF_SECONDS:
            return  # the work is committed; the sweep does it
        _broker_failed_at = None
    try:
        # No publish retry: the work is already committed and a sweep does it, so a slow or
        # frozen broker costs the request one socket timeout, not a retry loop.
        task.apply_async(args, retry=False)
    except Exception as exc:  # the broker is down: the periodic sweep does it instead
        _broker_failed_at = time.monotonic()
        logger.warning("Could not queue %s (%s); the next sweep will do it.", task.name, exc)


def _due(now):
    return OutboundEmail.objects.filter(
        sent_at__isnull=True, failed_at__isnull=True, next_attempt_at__lte=now
    )


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the given attempt before the next: 1, 2, 4 … minutes, capped."""
    return min(dt.timedelta(minutes=2 ** min(max(attempts - 1, 0), 10)), BACKOFF_MAX)


def email_deliver(*, email_id: int, batch_size: int = 1) -> bool:
    """Send one queued email if it is due and unsent, with up to batch_size - 1 other due ones.

    True if this call sent the given email. The deliver task passes a batch size, so a worker
    behind on a busy queue sends the backlog in batches, whichever task it runs first."""
    now = timezone.now()
    ids = [email_id]
    if batch_size > 1:
        others = _due(now).exclude(pk=email_id).order_by("pk").values_list("pk", flat=True)
        ids += list(others[: batch_size - 1])
    smtp = get_connection()
    try:
        outcomes = _send_batch(ids, smtp=smtp, deadline=None)
    finally:
        smtp.close()
    return outcomes.get(email_id) == "sent"


def email_deliver_many(*, email_ids: list[int], batch_size: int = 100) -> int:
    """Send those of the given emails still due, in batches over one SMTP connection; safe to
    run twice or beside the sweep (each batch is claimed first). Returns how many were sent."""
    deadline = time.monotonic() + SWEEP_BUDGET_SECONDS
    sent = 0
    smtp = get_connection()
    try:
        for start in range(0, len(email_ids), batch_size):
            outcomes = _send_batch(
                email_ids[start : start + batch_size], smtp=smtp, deadline=deadline
            )
            sent += sum(outcome == "sent" for outcome in outcomes.values())
            if "unreachable" in outcomes.values() or "not-tried" in outcomes.values():
                break  # the rest stay due for the sweep
    finally:
        smtp.close()
    return sent


def email_deliver_pending(*, batch_size: int = 100) -> int:
    """Try each due unsent email once over one SMTP connection; safe beside itself.

    Returns how many were sent. Stops early when the relay is unreachable (the rest stay due)
    or when the sweep has run for SWEEP_BUDGET_SECONDS."""
    now = timezone.now()
    deadline = time.monotonic() + SWEEP_BUDGET_SECONDS
    sent = 0
    last_pk = 0
    smtp = get_connection()
    try:
        while True:
            # Paging by pk means a row that fails now is not picked up again in this sweep.
            ids = list(
                _due(now)
                .filter(pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return sent
            last_pk = ids[-1]
            outcomes = _send_batch(ids, smtp=smtp, deadline=deadline)
            sent += sum(outcome == "sent" for outcome in outcomes.values())
            if "unreachable" in outcomes.values() or "not-tried" in outcomes.values():
                return sent
            if len(ids) < batch_size:
                return sent
    finally:
        smtp.close()


def _message(email: OutboundEmail, message_id: str, smtp) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers={"Message-ID": message_id},
        connection=smtp,
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    return message


def _from_address() -> str:
    # Parsing the address costs more than writing the rest of the message; it changes only
    # with the setting.
    return _sanitized_from(settings.DEFAULT_FROM_EMAIL, settings.DEFAULT_CHARSET)


@functools.lru_cache(maxsize=4)
def _sanitized_from(address: str, charset: str) -> str:
    return sanitize_address(address, charset)


@functools.lru_cache(maxsize=4)
def _envelope_sender(address: str) -> str:
    return smtplib.quoteaddr(address)


# An address that is already a dot-atom at an ASCII domain, as the portal's recipients are, is
# what sanitize_address would make of it; parsing it costs more than writing the message.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)


def _recipient(address: str) -> str:
    """The address as written in the To header and the envelope (sanitize_address's form)."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return address
    return sanitize_address(address, settings.DEFAULT_CHARSET)


def _mime(email: OutboundEmail, *, to: str) -> bytes:
    """The email as the relay receives it: the text (and HTML) in quoted-printable UTF-8.

    Written directly rather than by Django's EmailMessage, whose header folding and MIME
    generator took most of the CPU of a send; the relay and the reader see an ordinary message
    (tests/engagement/test_email_format.py parses one back)."""
    subject = email.subject
    if not subject.isascii():
        subject = Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n")
    head = (
        f"Subject: {subject}\r\n"
        f"From: {_from_address()}\r\n"
        f"To: {to}\r\n"
        f"Date: {formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}\r\n"
        f"Message-ID: {email.message_id}\r\n"
        "MIME-Version: 1.0\r\n"
    )
    text = _part("plain", email.body_text)
    if not email.body_html:
        return (head + text).encode()
    # "=" never appears unencoded in quoted-printable, so this boundary cannot occur in a part.
    boundary = f"=_{uuid.uuid4().hex}"
    return (
        f'{head}Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\n{text}\r\n--{boundary}\r\n{_part('html', email.body_html)}"
        f"\r\n--{boundary}--\r\n"
    ).encode()


def _part(subtype: str, body: str) -> str:
    lines = body.replace("\r\n", "\n").replace("\r", "\n").encode()
    encoded = binascii.b2a_qp(lines, istext=True).decode("ascii").replace("\n", "\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        f"{encoded}"
    )


def _claim(ids: list[int]) -> list[OutboundEmail]:
    """Claim the attempt on those of `ids` still due, in one committed UPDATE; return them.

    A conditional update: a row another sender claimed first is no longer due, so it is not
    taken twice. Until its outcome is written the row is not due again for
    UNKNOWN_OUTCOME_AFTER, so a crash or a lost mark after this point delays the email rather
    than doubling it. On PostgreSQL and SQLite the UPDATE returns the rows it claimed (one
    statement, not an UPDATE and a SELECT)."""
    if not ids:
        return []
    now = timezone.now()
    token = uuid.uuid4().hex
    due = _due(now).filter(pk__in=ids)
    claim = {
        "attempts": F("attempts") + 1,
        "attempt_started_at": now,
        "next_attempt_at": now + UNKNOWN_OUTCOME_AFTER,
        "claim_token": token,
        # A row queued before Message-IDs were recorded gets one with its claim, before the
        # send: unique by the row and the claim, and kept for every later attempt.
        "message_id": Case(
            When(
                message_id="",
                then=Concat(
                    Value("<outbox."),
                    Cast("pk", output_field=CharField()),
                    Value(f".{token}@{_message_id_domain()}>"),
                    output_field=CharField(),
                ),
            ),
            default=F("message_id"),
        ),
    }
    if _update_returns_rows():
        return sorted(_update_returning(due, claim), key=lambda email: email.pk)
    if due.update(**claim):
        return list(OutboundEmail.objects.filter(pk__in=ids, claim_token=token).order_by("pk"))
    return []


def _update_returns_rows() -> bool:
    # PostgreSQL, and SQLite from 3.35 (when it learnt RETURNING for INSERT, UPDATE and DELETE).
    return connection.vendor in ("postgresql", "sqlite") and (
        connection.features.can_return_columns_from_insert
    )


def _update_returning(rows, values: dict) -> list[OutboundEmail]:
    """rows.update(**values), in autocommit, returning the updated rows as loaded instances.

    The UPDATE is compiled as QuerySet.update compiles it, and RETURNING every column added."""
    query = rows.query.chain(UpdateQuery)
    query.add_update_values(values)
    sql, params = query.get_compiler(connection=connection).as_sql()
    columns = ", ".join(
        connection.ops.quote_name(field.column) for field in OutboundEmail._meta.concrete_fields
    )
    return list(OutboundEmail.objects.raw(f"{sql} RETURNING {columns}", params))


# In a worker's pool process, a SIGTERM that arrives while a batch is claimed and not yet marked
# asks it to stop after the email in hand (see finish_batch_on_sigterm).
_in_worker_process = False
_stop_requested = False


def finish_batch_on_sigterm() -> None:
    """Called in each worker pool process: from now on a SIGTERM during a batch finishes the
    email in hand, marks what was sent and hands the rest back before the process ends."""
    global _in_worker_process
    _in_worker_process = True


def _on_sigterm(signum, frame) -> None:
    global _stop_requested
    _stop_requested = True


@contextmanager
def _sigterm_waits_for_the_batch():
    # Installed only around a batch, because billiard puts its own SIGTERM handler in place
    # after the pool process starts. Outside a batch a SIGTERM ends the process as before.
    if not _in_worker_process or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _send_batch(ids: list[int], *, smtp, deadline: float | None) -> dict[int, str]:
    """Claim the due rows among `ids`, send each over `smtp`, mark the sent ones in one UPDATE.

    Returns each claimed row's outcome: "sent", "refused", "unreachable", "unknown", or
    "not-tried" (released unsent because the relay is not there or time ran out)."""
    with _sigterm_waits_for_the_batch():
        return _send_claimed(ids, smtp=smtp, deadline=deadline)


def _send_claimed(ids: list[int], *, smtp, deadline: float | None) -> dict[int, str]:
    global _stop_requested
    outcomes: dict[int, str] = {}
    sent: list[int] = []
    batch: list[OutboundEmail] = []
    try:
        batch = _claim(ids)
        for email in batch:
            if _stop_requested or (
                outcomes
                and (
                    "unreachable" in outcomes.values()
                    or (deadline is not None and time.monotonic() > deadline)
                )
            ):
                outcomes[email.pk] = "not-tried"
                continue
            outcomes[email.pk] = _send_one(email, smtp)
            if outcomes[email.pk] == "sent":
                sent.append(email.pk)
    finally:
        # Written even when the soft time limit strikes mid-batch: what the relay accepted is
        # marked, the row being sent keeps its claim (outcome unknown), the rest are released.
        _mark_sent(sent)
        untried = [
            email.pk for email in batch if outcomes.get(email.pk, "not-tried") == "not-tried"
        ]
        interrupted = next((email.pk for email in batch if email.pk not in outcomes), None)
        _release([pk for pk in untried if pk != interrupted])
        if _stop_requested:
            _stop_requested = False
            logger.warning("Stopped sending on SIGTERM; %s email(s) handed back.", len(untried))
    return outcomes


def _send_one(email: OutboundEmail, smtp) -> str:
    try:
        # Opened here, not by send(): a backend that opens its own connection closes it after
        # each message, and a new SMTP session per email was most of the time spent sending.
        smtp.open()
        if isinstance(smtp, SmtpBackend):
            to = _recipient(email.to)
            _relay(
                smtp.connection,
                sender=_envelope_sender(_from_address()),
                recipient=f"<{to}>" if _PLAIN_ADDRESS.fullmatch(to) else smtplib.quoteaddr(to),
                message=_mime(email, to=to),
            )
        else:  # the console in development, the test outbox
            _message(email, email.message_id, smtp).send()
    except SoftTimeLimitExceeded:
        raise  # outcome unknown: the claim holds it back for UNKNOWN_OUTCOME_AFTER
    except _REFUSED as exc:
        if isinstance(smtp, SmtpBackend) and smtp.connection and not smtp.connection.sock:
            smtp.close()  # the relay ended the session (421): the next email opens another
        return _refused(email, email.attempts, exc)
    except Exception as exc:  # a timeout or a dropped relay connection after the data
        smtp.close()
        logger.warning(
            "Sending email %s: outcome unknown (attempt %s): %s; not retried before %s.",
            email.pk,
            email.attempts,
            exc,
            email.next_attempt_at,
        )
        _mark([email.pk], last_error=f"Outcome unknown: {exc}"[:1000], claim_token="")
        return "unknown"
    return "sent"


_LINE_STARTING_WITH_A_DOT = re.compile(rb"(?m)^\.")


def _relay(conn: smtplib.SMTP, *, sender: str, recipient: str, message: bytes) -> None:
    """Send one message in an open SMTP session: what smtplib's sendmail does, raising what it
    raises, for a sender and a recipient already in their envelope form ("<a@b>").

    When the relay offers PIPELINING (RFC 2920; production relays do) MAIL, RCPT and DATA go
    in one write and their three replies are read in turn: two round trips per email rather
    than four. Either way the message itself is written only after the relay's 354 to DATA,
    so a refused sender or recipient sends nothing and the email is simply tried again."""
    conn.ehlo_or_helo_if_needed()
    size = f" SIZE={len(message)}" if conn.does_esmtp and conn.has_extn("size") else ""
    commands = (f"MAIL FROM:{sender}{size}", f"RCPT TO:{recipient}", "DATA")
    if conn.does_esmtp and conn.has_extn("pipelining"):
        conn.send("".join(f"{command}\r\n" for command in commands))
        replies = []
        while len(replies) < len(commands) and (not replies or replies[-1][0] != 421):
            replies.append(conn.getreply())  # after a 421 the relay answers no more
        mail, rcpt, data = [*replies, None, None][:3]
    else:
        mail = conn.docmd(commands[0])
        rcpt = conn.docmd(commands[1]) if mail[0] == 250 else None
        data = conn.docmd(commands[2]) if rcpt and rcpt[0] in (250, 251) else None
    if mail[0] != 250:
        refusal, code = smtplib.SMTPSenderRefused(*mail, sender), mail[0]
    elif rcpt[0] not in (250, 251):
        refusal, code = smtplib.SMTPRecipientsRefused({recipient: rcpt}), rcpt[0]
    elif data[0] != 354:
        refusal, code = smtplib.SMTPDataError(*data), data[0]
    else:
        if not message.endswith(b"\r\n"):
            message += b"\r\n"
        conn.send(_LINE_STARTING_WITH_A_DOT.sub(b"..", message) + b".\r\n")
        code, reply = conn.getreply()
        if code != 250:
            _end_transaction(conn, code)
            raise smtplib.SMTPDataError(code, reply)
        return
    if data is not None and data[0] == 354:
        # A relay that took DATA after refusing the envelope: end the empty message at once
        # (RFC 2920 3.1); it has no recipient, so nothing is delivered.
        conn.send(b".\r\n")
        conn.getreply()
    _end_transaction(conn, code)
    raise refusal


def _end_transaction(conn: smtplib.SMTP, code: int) -> None:
    """After a refusal: ready the session for the next email, as smtplib's sendmail does."""
    if code == 421:
        conn.close()  # the relay is closing the session
    else:
        with suppress(smtplib.SMTPServerDisconnected):
            conn.rset()


def _mark_sent(ids: list[int]) -> None:
    if not ids:
        return

    def blank_if_secret(column):
        return Case(
            When(contains_secret=True, then=Value("")), default=F(column), output_field=TextField()
        )

    _mark(
        ids,
        sent_at=timezone.now(),
        attempt_started_at=None,
        last_error="",
        claim_token="",
        # The private link is not kept once it is sent.
        body_text=blank_if_secret("body_text"),
        body_html=blank_if_secret("body_html"),
    )


def _release(ids: list[int]) -> None:
    """Hand back claimed rows that were never tried: nothing was sent, so they are due now."""
    if ids:
        _mark(
            ids,
            attempts=F("attempts") - 1,
            attempt_started_at=None,
            next_attempt_at=timezone.now(),
            claim_token="",
        )


def _refused(email: OutboundEmail, attempts: int, exc: Exception) -> str:
    now = timezone.now()
    outcome = {"last_error": str(exc)[:1000], "attempt_started_at": None, "claim_token": ""}
    if now - email.created_at >= RETRY_FOR:
        outcome["failed_at"] = now
        logger.error("Email %s failed after %s attempts: %s", email.pk, attempts, exc)
    else:
        outcome["next_attempt_at"] = now + backoff(attempts)
        logger.warning("Sending email %s failed (attempt %s): %s", email.pk, attempts, exc)
    _mark([email.pk], **outcome)
    unreachable = isinstance(exc, ConnectionRefusedError | socket.gaierror)
    unreachable |= isinstance(exc, smtplib.SMTPConnectError)
    return "unreachable" if unreachable else "refused"


def _mark(email_ids: list[int], **fields) -> None:
    """Write attempts' outcomes, on a fresh connection if the old one dropped mid-send."""
    for retry in range(3):
        try:
            OutboundEmail.objects.filter(pk__in=email_ids).update(**fields)
            return
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or retry == 2:
                raise  # the claim holds the rows back for UNKNOWN_OUTCOME_AFTER
            logger.warning("Lost the database marking emails %s; reconnecting.", email_ids[:5])
            connection.close()
            time.sleep(0.5 * (retry + 1))


def email_send_again(*, email_ids) -> int:
    """Make failed or waiting emails due now, for an administrator's "send again"."""
    return OutboundEmail.objects.filter(pk__in=email_ids, sent_at__isnull=True).update(
        failed_at=None,
        next_attempt_at=timezone.now(),
        attempt_started_at=None,
        claim_token="",
        created_at=timezone.now(),  # a fresh RETRY_FOR from now
    )


def email_health(*, now: dt.datetime | None = None) -> dict:
    """The outbox's state for /healthz and the admin: failed rows and the oldest unsent age."""
    now = now or timezone.now()
    unsent = OutboundEmail.objects.filter(sent_at__isnull=True)
    summary = unsent.aggregate(
        oldest=Min("created_at", filter=Q(failed_at__isnull=True)),
        failed=Count("pk", filter=Q(failed_at__isnull=False)),
    )
    oldest_age = (now - summary["oldest"]).total_seconds() if summary["oldest"] else 0
    degraded = summary["failed"] > 0 or oldest_age > LONG_PENDING_AFTER.total_seconds()
    return {
        "state": "degraded" if degraded else "ok",
        "failed": summary["failed"],
        "oldest_pending_seconds": int(oldest_age),
    }


def email_summarise_failures(*, now: dt.datetime | None = None) -> int:
    """Queue one email to the administrators when any email failed or waits too long."""
    from django.contrib.auth import get_user_model

    now = now or timezone.now()
    health = email_health(now=now)
    if health["state"] == "ok":
        return 0
    recipients = list(settings.OUTBOX_ALERT_EMAILS) or list(
        get_user_model()
        .objects.filter(is_active=True, is_superuser=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    context = {
        "failed": health["failed"],
        "oldest_pending_hours": round(health["oldest_pending_seconds"] / 3600, 1),
        "admin_url": settings.SITE_URL + "/admin/engagement/outboundemail/?delivery=attention",
    }
    with transaction.atomic():
        for to in recipients:
            email_queue(to=to, template="outbox_summary", context=context)
    return len(recipients)


def email_purge_sent(
    *, older_than_days: int = SENT_EMAIL_RETENTION_DAYS, batch_size: int = PURGE_BATCH
) -> int:
    """Delete sent emails older than the retention period, a batch per statement; failed ones
    stay until resent. Returns how many were deleted."""
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    deleted = 0
    while True:
        # DELETE ... WHERE id IN (SELECT id ... LIMIT n): no row comes into Python (the ORM's
        # delete() loads every row to look for cascades: 728 MB for 100,000), and each
        # statement's locks and undo stay small.
        batch = Subquery(
            OutboundEmail.objects.filter(sent_at__lt=cutoff)
            .order_by("pk")
            .values("pk")[:batch_size]
        )
        with transaction.atomic():
            _detach(batch)
            purged = OutboundEmail.objects.filter(pk__in=batch)._raw_delete(
                OutboundEmail.objects.db
            )
        deleted += purged
        if purged < batch_size:
            return deleted


def _detach(email_ids: Subquery) -> None:
    # What points at an email is kept without it (on_delete=SET_NULL, which Django applies in
    # Python); a purge racing this one fails on the foreign key and is retried.
    for relation in OutboundEmail._meta.related_objects:
        if relation.on_delete is not SET_NULL:
            raise ImproperlyConfigured(f"{relation} must not stop a sent email being purged.")
        relation.related_model._base_manager.filter(
            **{f"{relation.field.name}__in": email_ids}
        ).update(**{relation.field.name: None})
