import os
from typing import Any

from celery import Celery
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dorset_bcp.settings")

app = Celery("dorset_bcp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every task's retry policy. Transient trouble only: a dropped or locked database (a locked
# SQLite file), a broker blip while emails are queued. Anything else is a bug and fails loudly
# rather than retrying forever. Every task is safe to run twice.
TRANSIENT = (OperationalError, InterfaceError, BrokerOperationalError)
RETRY: dict[str, Any] = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}
