"""Periodic escalation work. Thin: each task calls one service that works from the database.

The database is the source of truth: a lost or duplicated message changes nothing, because the
next run finds the same rows still due (or already moved) and claims them conditionally.
Schedules live in settings.CELERY_BEAT_SCHEDULE; nothing here uses an ETA or countdown.
"""

import datetime as dt
import logging
import time

from celery import shared_task

from dorset_bcp.celery import RETRY

from . import rollup
from .services import notifications, sweep, themes

logger = logging.getLogger(__name__)


# A run killed by its hard limit has its committed moves counted and tallied already; once it
# has been quiet for notifications.SWEEP_STALE_AFTER the next run tells them.
SWEEP_SOFT_LIMIT = 540
# Left of the soft limit when the businesses' notices stop taking batches: one batch renders
# in seconds, so the last one commits well before the limit would roll it back.
NOTICE_MARGIN = 60


@shared_task(ignore_result=True, soft_time_limit=SWEEP_SOFT_LIMIT, time_limit=600, **RETRY)
def escalate_overdue() -> dict:
    started = time.monotonic()
    report = sweep.sweep_run(trigger="beat")
    for line in report.lines():
        logger.info("escalate_overdue: %s", line)
    # After the sweep, not inside it: the moves and the bodies' notices commit first, and the
    # businesses' emails (one each, rendered one by one) follow; a run that dies here leaves
    # the batch it was on untold for the next beat to send (those before it are told).
    left = SWEEP_SOFT_LIMIT - NOTICE_MARGIN - (time.monotonic() - started)
    budget = min(notifications.NOTIFY_BUSINESSES_BUDGET, dt.timedelta(seconds=max(left, 0)))
    told = notifications.sweep_notify_businesses(budget=budget)
    if told:
        logger.info("escalate_overdue: told %s business contact(s) their concern moved.", told)
    return {"escalated": report.escalated_total, "flagged": report.flagged, "told": told}


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300, **RETRY)
def detect_themes() -> dict:
    report = themes.theme_detect(trigger="beat")
    for line in report.lines():
        logger.info("detect_themes: %s", line)
    return {"created": len(report.created), "extended": len(report.extended)}


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300, **RETRY)
def refresh_insight() -> dict:
    report = rollup.insight_refresh()
    for line in report.lines():
        logger.info("refresh_insight: %s", line)
    return {"days": report.days}


# A rebuild from scratch reads the whole concerns table: a minute or two at a million.
@shared_task(ignore_result=True, soft_time_limit=1500, time_limit=1800, **RETRY)
def rebuild_insight() -> dict:
    report = rollup.insight_refresh(full=True)
    for line in report.lines():
        logger.info("rebuild_insight: %s", line)
    return {"days": report.days}
