"""Settings for the real worker and beat started by test_celery_integration.py.

The same project settings with one schedule entry every two seconds, so beat triggers the sweep
within the test's patience instead of in five minutes.
"""

from dorset_bcp.settings import *  # noqa: F403

CELERY_BEAT_SCHEDULE = {
    "escalate-overdue": {
        "task": "escalation.tasks.escalate_overdue",
        "schedule": 2.0,
        "options": {"expires": 10},
    },
}
