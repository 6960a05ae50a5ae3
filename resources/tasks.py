from celery import shared_task

from engagement.tasks import RETRY

from . import services


@shared_task(ignore_result=True, **RETRY)
def send_alert_digests() -> int:
    """Weekly: each digest member gets the week's alerts they have not had, in one email."""
    return services.alert_digest_send()


@shared_task(ignore_result=True, **RETRY)
def send_seminar_reminders() -> int:
    """Remind everyone with a place at tomorrow's seminars, once per booking."""
    return services.seminar_send_reminders()
