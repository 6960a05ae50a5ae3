from celery import shared_task

from dorset_bcp.celery import RETRY

from . import services
from .models import Alert


@shared_task(ignore_result=True, **RETRY)
def send_alert(alert_id: int) -> int:
    """Queue a new alert's emails to the members who want it now, in batches."""
    alert = Alert.objects.filter(pk=alert_id).first()
    return services.alert_send_immediate(alert=alert) if alert else 0


@shared_task(ignore_result=True, **RETRY)
def send_unqueued_alerts() -> int:
    """Send the alerts whose send task was lost while the broker was down."""
    return services.alert_send_unqueued()


@shared_task(ignore_result=True, **RETRY)
def send_alert_digests() -> int:
    """Weekly: each digest member gets the week's alerts they have not had, in one email."""
    return services.alert_digest_send()


@shared_task(ignore_result=True, **RETRY)
def send_seminar_reminders() -> int:
    """Remind everyone with a place at tomorrow's seminars, once per booking."""
    return services.seminar_send_reminders()


@shared_task(ignore_result=True, **RETRY)
def record_expired_alerts() -> int:
    """The expiry rule: record, once, each alert whose expiry time has passed."""
    return services.alerts_record_expired()
