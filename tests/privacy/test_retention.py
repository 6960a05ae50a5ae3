"""The retention schedule: a nightly job anonymises or deletes what is past its period, kind by
kind, in batches, safe to run twice, and logs what it did for the administrators."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from dorset_bcp.celery import app as celery_app
from engagement import tasks as engagement_tasks
from engagement.models import Attachment, Concern, OutboundEmail
from privacy import services, tasks
from privacy.models import REMOVED_BY_SCHEDULE, DisposalLog, RetentionRule
from tests import factories

LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 6, 15, 3, 45, tzinfo=LONDON)
TWO_YEARS = dt.timedelta(days=730)


@pytest.fixture
def tonight(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


def closed(business, *, ago: dt.timedelta, **fields) -> Concern:
    concern = factories.ConcernFactory(business=business, description="Gin taken.", **fields)
    Concern.objects.filter(pk=concern.pk).update(
        status=Concern.Status.CLOSED,
        resolved_at=NOW - ago - dt.timedelta(days=3),
        closed_at=NOW - ago,
        outcome=factories.outcome(),
    )
    return concern


def test_every_installation_starts_with_the_documented_defaults(db):
    assert dict(RetentionRule.objects.values_list("kind", "days")) == {
        "closed_concerns": 730,
        "guest_reports": 7,
        "export_files": 7,
        "sent_emails": 30,
    }
    assert all(
        "MoPI" in rule.basis or rule.kind != "closed_concerns"
        for rule in RetentionRule.objects.all()
    )


def test_it_anonymises_concerns_closed_more_than_two_years_ago(
    business, tonight, django_capture_on_commit_callbacks
):
    old = closed(business, ago=TWO_YEARS + dt.timedelta(minutes=1))
    factories.AttachmentFactory(concern=old)
    recent = closed(business, ago=TWO_YEARS - dt.timedelta(minutes=1))
    still_open = factories.ConcernFactory(business=business, description="Still going.")
    Concern.objects.filter(pk=still_open.pk).update(created_at=NOW - 3 * TWO_YEARS)

    with django_capture_on_commit_callbacks(execute=True):
        done = tasks.apply_retention_schedule()

    assert done == {"closed_concerns": 1, "export_files": 0}
    old.refresh_from_db()
    assert (old.description, old.location, old.contact_email) == (
        REMOVED_BY_SCHEDULE,
        REMOVED_BY_SCHEDULE,
        "",
    )
    assert old.anonymised_at == NOW
    assert old.status == Concern.Status.CLOSED and old.outcome_id  # still counted
    assert not Attachment.objects.filter(concern=old).exists()
    recent.refresh_from_db()
    still_open.refresh_from_db()
    assert recent.description == "Gin taken." and still_open.description == "Still going."


def test_it_leaves_a_held_concern_alone(business, npt_officer, tonight):
    from engagement.services import concern_set_legal_hold

    held = closed(business, ago=3 * TWO_YEARS)
    concern_set_legal_hold(concern=held, hold=True, reason="Case 55/1/26", actor=npt_officer)
    assert tasks.apply_retention_schedule()["closed_concerns"] == 0
    held.refresh_from_db()
    assert held.description == "Gin taken."


def test_it_writes_a_disposal_log_row_per_kind_and_run(business, tonight, time_machine):
    closed(business, ago=TWO_YEARS * 2)
    tasks.apply_retention_schedule()
    time_machine.move_to(NOW + dt.timedelta(days=1), tick=False)
    tasks.apply_retention_schedule()  # nothing left to do: counted as nothing
    rows = list(DisposalLog.objects.filter(kind="closed_concerns").order_by("started_at"))
    assert [(row.count, row.started_at) for row in rows] == [
        (1, NOW),
        (0, NOW + dt.timedelta(days=1)),
    ]
    assert rows[0].cutoff == NOW - TWO_YEARS


def test_a_second_run_finds_nothing_to_do(business, tonight):
    closed(business, ago=TWO_YEARS * 2)
    assert tasks.apply_retention_schedule()["closed_concerns"] == 1
    assert tasks.apply_retention_schedule()["closed_concerns"] == 0


def test_it_works_in_batches(business, tonight, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    for _ in range(5):
        closed(business, ago=TWO_YEARS * 2)
    assert tasks.apply_retention_schedule()["closed_concerns"] == 5
    assert not Concern.objects.filter(anonymised_at__isnull=True).exists()


def test_an_administrator_changes_a_period(business, tonight):
    concern = closed(business, ago=dt.timedelta(days=400))
    RetentionRule.objects.filter(kind="closed_concerns").update(days=365)
    assert tasks.apply_retention_schedule()["closed_concerns"] == 1
    concern.refresh_from_db()
    assert concern.description == REMOVED_BY_SCHEDULE


def test_a_paused_kind_is_not_disposed_of_or_logged(business, tonight):
    closed(business, ago=TWO_YEARS * 2)
    RetentionRule.objects.filter(kind="closed_concerns").update(is_active=False)
    assert "closed_concerns" not in tasks.apply_retention_schedule()
    assert not DisposalLog.objects.filter(kind="closed_concerns").exists()


def test_the_nightly_email_purge_follows_the_schedule(db, tonight):
    RetentionRule.objects.filter(kind="sent_emails").update(days=10)
    email = OutboundEmail.objects.create(to="a@example.org", subject="s", body_text="b")
    OutboundEmail.objects.filter(pk=email.pk).update(sent_at=NOW - dt.timedelta(days=11))
    assert engagement_tasks.purge_sent_emails() == 1
    assert DisposalLog.objects.get(kind="sent_emails").count == 1


def test_the_guest_report_purge_follows_the_schedule(area, tonight):
    guest = factories.ConcernFactory(
        business=factories.BusinessFactory(owner=None, npt_area=area),
        reporter=None,
        status=Concern.Status.UNCONFIRMED,
    )
    Concern.objects.filter(pk=guest.pk).update(created_at=NOW - dt.timedelta(days=4))
    assert engagement_tasks.purge_unconfirmed_guest_reports() == 0
    RetentionRule.objects.filter(kind="guest_reports").update(days=3)
    assert engagement_tasks.purge_unconfirmed_guest_reports() == 1
    logs = DisposalLog.objects.filter(kind="guest_reports").order_by("pk")
    assert [log.count for log in logs] == [0, 1]


def test_it_is_scheduled_nightly_in_settings(db):
    entry = settings.CELERY_BEAT_SCHEDULE["apply-retention-schedule"]
    assert entry["task"] == "privacy.tasks.apply_retention_schedule"
    assert entry["task"] in celery_app.tasks
    assert "expires" in entry["options"]
    pending = settings.CELERY_BEAT_SCHEDULE["build-pending-data-exports"]
    assert pending["task"] in celery_app.tasks


# Two runs at once (PostgreSQL: row locks)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_anonymise_each_concern_once(area, monkeypatch):
    import threading

    from django.db import connection

    monkeypatch.setattr(services, "BATCH_SIZE", 3)
    business = factories.BusinessFactory(npt_area=area)
    for _ in range(12):
        closed(business, ago=TWO_YEARS * 2)
    counts = []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            counts.append(services.retention_run(kinds=["closed_concerns"])["closed_concerns"])
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 12
    assert not Concern.objects.filter(anonymised_at__isnull=True).exists()
    assert DisposalLog.objects.count() == 2


def test_it_anonymises_the_reporters_comments_in_events_and_keeps_the_counts(
    business, owner, tonight
):
    from engagement.models import ConcernEvent, ConcernUpdate
    from tests.privacy.test_erasure import insight_totals

    concern = closed(business, ago=TWO_YEARS * 2, reporter=owner)
    ConcernEvent.objects.create(
        concern=concern, kind=ConcernEvent.Kind.CLOSED, actor=owner, detail="Thanks, Bob at 4 Elm"
    )
    factories.ConcernUpdateFactory(concern=concern, kind="reply", author=owner, body="Bob here")
    before = insight_totals()

    tasks.apply_retention_schedule()

    event = ConcernEvent.objects.get(concern=concern, kind="closed")
    assert (event.detail, event.actor) == (REMOVED_BY_SCHEDULE, owner)
    assert ConcernUpdate.objects.get(concern=concern, kind="reply").body == REMOVED_BY_SCHEDULE
    assert insight_totals() == before
