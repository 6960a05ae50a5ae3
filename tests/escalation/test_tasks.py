"""The Celery side: idempotent tasks, nothing published for a rolled-back change, schedules."""

import pytest
from django.conf import settings
from django.db import OperationalError, transaction

from dorset_bcp.celery import app
from engagement.models import Concern, ConcernEvent, OutboundEmail
from escalation import services, tasks
from escalation.models import Sweep, Theme
from tests import factories

from .conftest import make_overdue


def test_a_sweep_delivered_twice_moves_once_writes_one_event_and_notifies_once(
    chain, overdue_concern, group_member
):
    tasks.escalate_overdue()
    tasks.escalate_overdue()  # the same message again (acks_late redelivery, or beat twice)

    concern = Concern.objects.get(pk=overdue_concern.pk)
    assert concern.tier == Concern.Tier.GROUP
    assert concern.events.filter(kind=ConcernEvent.Kind.ESCALATED).count() == 1
    assert OutboundEmail.objects.filter(to=group_member.email).count() == 1
    assert Sweep.objects.count() == 1


def test_theme_detection_delivered_twice_creates_one_theme(chain, area, group_member):
    for n in range(3):
        factories.ConcernFactory(business=factories.BusinessFactory(npt_area=area, name=f"S{n}"))

    tasks.detect_themes()
    tasks.detect_themes()

    assert Theme.objects.count() == 1
    assert OutboundEmail.objects.filter(to=group_member.email).count() == 1


def test_it_publishes_nothing_for_a_rolled_back_move(
    chain, concern, npt_officer, django_capture_on_commit_callbacks
):
    factories.published_tasks()  # start from an empty in-memory broker
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.item_escalate(item=concern, actor=npt_officer, reason="Wider problem.")
        raise RuntimeError("something later in the same transaction failed")

    assert callbacks == []
    assert factories.published_tasks() == []
    assert not OutboundEmail.objects.exists()
    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.NPT


def test_it_publishes_the_notification_only_after_the_move_commits(
    chain, concern, npt_officer, group_member, django_capture_on_commit_callbacks
):
    factories.published_tasks()  # start from an empty in-memory broker
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.item_escalate(item=concern, actor=npt_officer, reason="Wider problem.")
        assert factories.published_tasks() == []  # not while the transaction is open

    for callback in callbacks:
        callback()
    email = OutboundEmail.objects.get(to=group_member.email)
    business_email = OutboundEmail.objects.get(to=concern.contact_email)
    assert factories.published_tasks() == [
        ("engagement.tasks.deliver_email", [email.pk]),
        ("engagement.tasks.deliver_email", [business_email.pk]),
    ]


def test_the_sweep_queues_its_emails_after_each_commit(
    chain, business, group_member, django_capture_on_commit_callbacks
):
    make_overdue(factories.ConcernFactory(business=business))
    factories.published_tasks()

    with django_capture_on_commit_callbacks(execute=True):
        services.sweep_run()

    email = OutboundEmail.objects.get(to=group_member.email)
    assert factories.published_tasks() == [("engagement.tasks.deliver_email", [email.pk])]


@pytest.mark.parametrize(
    "task",
    [tasks.escalate_overdue, tasks.detect_themes, tasks.refresh_insight, tasks.rebuild_insight],
)
def test_the_tasks_retry_transient_errors_with_backoff_and_have_time_limits(task):
    assert OperationalError in task.autoretry_for
    assert task.retry_backoff and task.max_retries
    assert task.soft_time_limit < task.time_limit
    # A run that died is told of by the next beat: it counts as dead within one interval.
    interval = settings.CELERY_BEAT_SCHEDULE["escalate-overdue"]["schedule"]
    assert services.SWEEP_STALE_AFTER.total_seconds() <= interval


def test_the_periodic_tasks_are_scheduled_in_settings_and_registered():
    schedule = settings.CELERY_BEAT_SCHEDULE
    for name, task_name in [
        ("escalate-overdue", "escalation.tasks.escalate_overdue"),
        ("detect-themes", "escalation.tasks.detect_themes"),
        ("refresh-insight", "escalation.tasks.refresh_insight"),
        ("rebuild-insight", "escalation.tasks.rebuild_insight"),
    ]:
        assert schedule[name]["task"] == task_name
        assert task_name in app.tasks
        # A stale message is dropped rather than queued behind the next run; no ETA anywhere.
        assert "expires" in schedule[name]["options"]
        assert "eta" not in schedule[name]["options"]
        assert "countdown" not in schedule[name]["options"]
