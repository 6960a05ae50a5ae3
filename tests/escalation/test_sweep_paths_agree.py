"""The sweep's two implementations, PostgreSQL's single statement and the portable ORM batches,
leave the same end state on the same rows: tiers, deadlines, stamps, events, tallies, the run's
counters, the businesses' notices and the emails."""

import datetime as dt

import pytest
import time_machine
from django.db import transaction

from engagement.models import Concern, ConcernCategory, ConcernEvent, OutboundEmail
from escalation.models import Sweep, SweepBusinessNotice, SweepTally, Theme, ThemeEvent
from escalation.services import sweep as sweep_services
from tests import factories

from .conftest import at, concern_at_tier

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("chain")]

NOW = at(2026, 2, 3, 14, 30)  # a Tuesday afternoon in winter

ITEM_COLUMNS = (
    "status",
    "tier",
    "tier_entered_at",
    "first_response_due_at",
    "first_response_warn_at",
    "first_responded_at",
    "first_response_warned_at",
    "resolution_due_at",
    "resolution_warn_at",
    "resolution_warned_at",
    "overdue_flagged_at",
    "updated_at",
)
EVENT_COLUMNS = ("kind", "actor_id", "rule", "from_status", "to_status", "from_tier", "to_tier")
EVENT_COLUMNS += ("detail", "created_at")


def ago(hours: int) -> dt.datetime:
    return NOW - dt.timedelta(hours=hours)


def seed(business, other_business, npt_officer):
    """Work for every pass, each row due at its own moment so both paths batch alike."""
    due = iter(range(1, 100))

    def concern(tier, business=business, **fields):
        item = concern_at_tier(business, tier)
        Concern.objects.filter(pk=item.pk).update(**fields)
        return item

    for priority in ("urgent", "high", "normal", "low"):
        concern(1, priority=priority, resolution_due_at=ago(next(due)))
    concern(1, assigned_officer=npt_officer, resolution_due_at=ago(next(due)))
    concern(1, other_business, contact_email="", resolution_due_at=ago(next(due)))
    concern(2, resolution_due_at=ago(next(due)))
    concern(2, other_business, resolution_due_at=ago(next(due)))
    concern(3, resolution_due_at=ago(next(due)))
    concern(3, overdue_flagged_at=ago(1), resolution_due_at=ago(next(due)))  # flagged already
    concern(1, resolution_warn_at=ago(next(due)), resolution_due_at=NOW + dt.timedelta(days=2))
    concern(
        1,
        first_response_warn_at=ago(next(due)),
        first_response_due_at=NOW + dt.timedelta(days=1),
        resolution_due_at=NOW + dt.timedelta(days=9),
    )
    concern(1, status=Concern.Status.WAITING, paused_at=ago(300), resolution_due_at=ago(99))
    concern(1, status=Concern.Status.RESOLVED, resolution_due_at=ago(98))
    area = business.npt_area
    categories = iter(ConcernCategory.objects.order_by("pk"))  # one open theme per category
    for tier in (2, 3):
        theme = factories.ThemeFactory(npt_area=area, tier=tier, category=next(categories))
        Theme.objects.filter(pk=theme.pk).update(resolution_due_at=ago(next(due)))
    theme = factories.ThemeFactory(npt_area=area, category=next(categories))
    Theme.objects.filter(pk=theme.pk).update(
        resolution_warn_at=ago(next(due)), resolution_due_at=NOW + dt.timedelta(days=3)
    )


def end_state() -> dict:
    """Everything a run writes, without the ids a sequence hands out."""
    return {
        "concerns": list(Concern.objects.order_by("pk").values_list("pk", *ITEM_COLUMNS)),
        "themes": list(Theme.objects.order_by("pk").values_list("pk", *ITEM_COLUMNS)),
        "concern events": sorted(
            ConcernEvent.objects.filter(sweep__isnull=False).values_list(
                "concern_id", *EVENT_COLUMNS
            )
        ),
        "theme events": sorted(
            ThemeEvent.objects.filter(sweep__isnull=False).values_list("theme_id", *EVENT_COLUMNS)
        ),
        "tallies": sorted(
            SweepTally.objects.values_list(
                "kind", "rule", "is_theme", "tier", "npt_area_id", "officer_id", "items", "sample"
            )
        ),
        "runs": list(
            Sweep.objects.values_list("kind", "escalated", "flagged", "warned", "emails_queued")
        ),
        "business notices": sorted(SweepBusinessNotice.objects.values_list("email", "concerns")),
        "emails": sorted(OutboundEmail.objects.values_list("to", "subject", "body_text")),
    }


def sweep_and_roll_back(*, portable: bool, monkeypatch) -> tuple[dict, dict]:
    """Run the sweep on the seeded rows, read what it left, then undo it all."""
    with monkeypatch.context() as patch:
        if portable:
            patch.setattr(sweep_services, "run_batch_postgresql", sweep_services.run_batch_orm)
        with transaction.atomic(), time_machine.travel(NOW, tick=False):
            report = sweep_services.sweep_run(now=NOW, batch_size=2)
            state = end_state()
            transaction.set_rollback(True)
    totals = {
        "escalated": report.escalated,
        "escalated themes": report.escalated_themes,
        "flagged": report.flagged,
        "warned": report.warned,
        "emails": report.emails_queued,
        "batches": report.batches,
    }
    return totals, state


def test_both_sweep_paths_leave_the_same_end_state(
    business, other_business, npt_officer, monkeypatch
):
    with time_machine.travel(NOW - dt.timedelta(days=30), tick=False):
        seed(business, other_business, npt_officer)
    before = end_state()

    database_totals, database_state = sweep_and_roll_back(portable=False, monkeypatch=monkeypatch)
    assert end_state() == before  # rolled back: the second run starts from the same rows
    portable_totals, portable_state = sweep_and_roll_back(portable=True, monkeypatch=monkeypatch)

    assert database_totals == portable_totals
    assert database_totals["escalated"] == {2: 6, 3: 3}  # six concerns; two concerns and a theme
    assert (database_totals["flagged"], database_totals["warned"]) == (2, 3)
    for part in database_state:
        assert database_state[part] == portable_state[part], part
    assert database_state["concern events"] and database_state["tallies"]
    assert database_state["business notices"] and database_state["emails"]
