import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dorset_bcp.settings")

app = Celery("dorset_bcp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
