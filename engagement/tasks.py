from celery import shared_task
from celery.signals import worker_process_init
from django.core.management import call_command

from dorset_bcp.celery import RETRY

from . import emails, services

# Sending waits up to EMAIL_TIMEOUT (75 s) per step for a slow relay; the sweep stops claiming
# after emails.SWEEP_BUDGET_SECONDS. The hard limit stays below emails.UNKNOWN_OUTCOME_AFTER,
# so an attempt cut off by it is over before anyone may try that email again.
SENDING_LIMITS = {"soft_time_limit": 300, "time_limit": 360}


@worker_process_init.connect
def _finish_email_batches_on_sigterm(**kwargs) -> None:
    # Celery resets SIGTERM in its pool processes, so a SIGTERM to the whole process group
    # would cut a batch between the relay's accept and the sent mark.
    emails.finish_batch_on_sigterm()


# A deliver task sends its own email and up to this many others that are due, over one SMTP
# connection and with one database commit to claim them and one to mark them sent: a worker
# behind on a busy queue catches up in batches (the tasks for emails already sent do nothing).
DELIVER_BATCH_SIZE = 50


@shared_task(ignore_result=True, **SENDING_LIMITS, **RETRY)
def deliver_email(email_id: int) -> None:
    emails.email_deliver(email_id=email_id, batch_size=DELIVER_BATCH_SIZE)


@shared_task(ignore_result=True, **SENDING_LIMITS, **RETRY)
def deliver_emails(email_ids: list[int]) -> int:
    """Send emails queued together (an alert to a scheme's members), batch by batch."""
    return emails.email_deliver_many(email_ids=email_ids)


@shared_task(ignore_result=True, **SENDING_LIMITS, **RETRY)
def deliver_pending_emails() -> int:
    return emails.email_deliver_pending()


@shared_task(ignore_result=True, **RETRY)
def summarise_email_failures() -> int:
    return emails.email_summarise_failures()


@shared_task(ignore_result=True, **RETRY)
def purge_unconfirmed_guest_reports() -> int:
    # privacy builds on engagement: its retention schedule says how long, and logs the run.
    from privacy.models import RetentionRule
    from privacy.services import retention_run

    kind = RetentionRule.Kind.UNCONFIRMED_GUEST_REPORTS
    return retention_run(kinds=[kind]).get(kind, 0)


@shared_task(ignore_result=True, **RETRY)
def purge_sent_emails() -> int:
    from privacy.models import RetentionRule
    from privacy.services import retention_run

    kind = RetentionRule.Kind.SENT_EMAILS
    return retention_run(kinds=[kind]).get(kind, 0)


@shared_task(ignore_result=True, **RETRY)
def clear_expired_sessions() -> None:
    # Django refuses an expired session but keeps its row (who was signed in, until when);
    # clearsessions deletes them, and deleting what is already gone is harmless.
    call_command("clearsessions")


@shared_task(ignore_result=True, **RETRY)
def purge_held_attachments() -> int:
    return services.held_attachments_purge()
