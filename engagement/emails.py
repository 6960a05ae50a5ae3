"""Emails leave through the outbox: written with the change, sent after commit."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .models import OutboundEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def email_queue(*, to: str, template: str, context: dict) -> OutboundEmail:
    """Render templates/emails/<template>-* and queue the email to send once the change commits."""
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}-subject.txt", context).split())
    email = OutboundEmail.objects.create(
        to=to,
        subject=subject[:250],
        body_text=render_to_string(f"emails/{template}-body.txt", context),
        body_html=render_to_string(f"emails/{template}-body.html", context),
    )
    transaction.on_commit(lambda: _enqueue(email.pk))
    return email


def _enqueue(email_id: int) -> None:
    from .tasks import deliver_email

    try:
        deliver_email.delay(email_id)
    except Exception:  # the broker is down: the periodic sweep sends it instead
        logger.warning("Could not queue email %s; the next sweep will send it.", email_id)


def email_deliver(*, email_id: int) -> bool:
    """Send one queued email unless it was sent already; True if this call sent it."""
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
            .first()
        )
        if email is None:
            return False
        return _send(email)


def email_deliver_pending(*, batch_size: int = 100) -> int:
    """Send every queued email that is still unsent; safe to run beside itself."""
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                OutboundEmail.objects.select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return sent
            for email in batch:
                sent += _send(email)
            if len(batch) < batch_size:
                return sent


def _send(email: OutboundEmail) -> bool:
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
    except Exception as exc:  # SMTP trouble: count it and try again on the next sweep
        logger.warning("Sending email %s failed: %s", email.pk, exc)
        OutboundEmail.objects.filter(pk=email.pk).update(
            attempts=email.attempts + 1, last_error=str(exc)[:1000]
        )
        return False
    OutboundEmail.objects.filter(pk=email.pk).update(
        sent_at=timezone.now(), attempts=email.attempts + 1, last_error=""
    )
    return True
