"""Emails leave through the outbox: written with the change, sent after commit."""

import datetime as dt
import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .models import OutboundEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_MAX = dt.timedelta(hours=1)
SENT_EMAIL_RETENTION_DAYS = 30


def email_queue(
    *, to: str, template: str, context: dict, contains_secret: bool = False
) -> OutboundEmail:
    """Render templates/emails/<template>-* and queue the email to send once the change commits.

    `contains_secret` marks an email whose bodies must not outlive the send (a private link)."""
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}-subject.txt", context).split())
    email = OutboundEmail.objects.create(
        to=to,
        subject=subject[:250],
        body_text=render_to_string(f"emails/{template}-body.txt", context),
        body_html=render_to_string(f"emails/{template}-body.html", context),
        contains_secret=contains_secret,
    )
    transaction.on_commit(lambda: _enqueue(email.pk))
    return email


def _enqueue(email_id: int) -> None:
    from .tasks import deliver_email

    try:
        # No publish retry: the row is already committed and the once-a-minute sweep sends it,
        # so a slow or frozen broker costs the request one socket timeout, not a retry loop.
        deliver_email.apply_async((email_id,), retry=False)
    except Exception as exc:  # the broker is down: the periodic sweep sends it instead
        logger.warning("Could not queue email %s (%s); the next sweep will send it.", email_id, exc)


def _due(now):
    return OutboundEmail.objects.filter(
        sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS, next_attempt_at__lte=now
    )


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the given attempt before the next: 1, 2, 4 … minutes, capped."""
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def email_deliver(*, email_id: int) -> bool:
    """Send one queued email that is due and unsent; True if this call sent it."""
    email = _due(timezone.now()).filter(pk=email_id).first()
    if email is None:
        return False
    return _attempt(email)


def email_deliver_pending(*, batch_size: int = 100) -> int:
    """Try each due unsent email once; safe to run beside itself. Returns how many were sent."""
    now = timezone.now()
    sent = 0
    last_pk = 0
    while True:
        # Paging by pk means a row that fails now is not picked up again in this sweep.
        batch = list(_due(now).filter(pk__gt=last_pk).order_by("pk")[:batch_size])
        for email in batch:
            last_pk = email.pk
            sent += _attempt(email)
        if len(batch) < batch_size:
            return sent


def _attempt(email: OutboundEmail) -> bool:
    """Claim one attempt (committed before the send), send, then mark it sent."""
    now = timezone.now()
    attempts = email.attempts + 1
    # A conditional update: only one caller wins the attempt, and it is committed before the
    # send, so a crash after this point cannot lose the email or retry it at once.
    claimed = OutboundEmail.objects.filter(
        pk=email.pk, sent_at__isnull=True, attempts=email.attempts, next_attempt_at__lte=now
    ).update(attempts=attempts, next_attempt_at=now + backoff(attempts))
    if not claimed:
        return False
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    try:
        message.send()
    except SoftTimeLimitExceeded:
        raise  # the attempt stays claimed; a later sweep tries again after the backoff
    except Exception as exc:  # SMTP trouble: the claimed attempt counts; retried after backoff
        logger.warning("Sending email %s failed (attempt %s): %s", email.pk, attempts, exc)
        OutboundEmail.objects.filter(pk=email.pk).update(last_error=str(exc)[:1000])
        return False
    done = {"sent_at": timezone.now(), "last_error": ""}
    if email.contains_secret:
        done.update(body_text="", body_html="")  # the private link is not kept once it is sent
    OutboundEmail.objects.filter(pk=email.pk).update(**done)
    return True


def email_purge_sent(*, older_than_days: int = SENT_EMAIL_RETENTION_DAYS) -> int:
    """Delete sent emails, and ones that gave up, older than the retention period."""
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    sent = OutboundEmail.objects.filter(sent_at__lt=cutoff)
    abandoned = OutboundEmail.objects.filter(
        sent_at__isnull=True, attempts__gte=MAX_ATTEMPTS, created_at__lt=cutoff
    )
    _, deleted = (sent | abandoned).delete()
    return deleted.get(OutboundEmail._meta.label, 0)
