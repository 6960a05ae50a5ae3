from celery import shared_task

from . import emails, services


@shared_task(ignore_result=True)
def deliver_email(email_id: int) -> None:
    emails.email_deliver(email_id=email_id)


@shared_task(ignore_result=True)
def deliver_pending_emails() -> int:
    return emails.email_deliver_pending()


@shared_task(ignore_result=True)
def purge_unconfirmed_guest_reports() -> int:
    return services.concern_purge_unconfirmed()
