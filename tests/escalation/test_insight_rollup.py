"""The insight roll-up counts exactly what counting the concerns themselves would count."""

import datetime as dt
import random
from functools import cached_property
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count, F, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from engagement import services as engagement_services
from engagement.models import Concern, ConcernEvent
from escalation import insight, rollup, selectors
from escalation import services as escalation_services
from escalation.models import InsightDeadline, InsightOutcome, InsightReported
from tests import factories

LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=LONDON)
GIVEN = (Concern.Status.RESOLVED, Concern.Status.CLOSED)
CATEGORIES = ["theft", "fraud", "asb", "cyber"]
OUTCOMES = ["advice-given", "referred-nbcc", "action-taken"]


class DirectFigures(insight.Figures):
    """The same figures counted from the concerns and their events, as insight once did."""

    def _concerns(self):
        return Concern.objects.filter(self.area_q()).exclude(status=Concern.Status.UNCONFIRMED)

    @cached_property
    def reported_by_area_and_category(self):
        p = self.period
        return list(
            self._concerns()
            .filter(created_at__gte=p.since, created_at__lt=p.until)
            .values("npt_area_id", "category_id")
            .annotate(n=Count("pk"))
            .order_by()
        )

    @cached_property
    def reported_by_month(self):
        return self._by("month")

    def _by(self, key):
        p = self.period
        rows = self._concerns().filter(created_at__gte=p.since, created_at__lt=p.until)
        if key == "month":
            rows = rows.annotate(month=TruncMonth("created_at", tzinfo=LONDON))
        counted = {}
        for row in (
            rows.values(key)
            .annotate(
                n=Count("pk"),
                yes=Count("pk", filter=Q(reporter_satisfied=True)),
                no=Count("pk", filter=Q(reporter_satisfied=False)),
                waiting=Count(
                    "pk", filter=Q(status=Concern.Status.RESOLVED, reporter_satisfied__isnull=True)
                ),
            )
            .order_by()
        ):
            value = row[key]
            if key == "month":
                value = timezone.localtime(value, LONDON).date()
            counted[value] = row
        return counted

    def _given(self):
        p = self.period
        return self._concerns().filter(
            status__in=GIVEN, resolved_at__gte=p.since, resolved_at__lt=p.until
        )

    @cached_property
    def given(self):
        return dict(
            self._given()
            .filter(outcome__isnull=False)
            .values("outcome_id")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("outcome_id", "n")
        )

    @cached_property
    def deadlines(self):
        p = self.period
        counted = {
            row["tier"]: {**row, "swept": 0}
            for row in self._given()
            .filter(resolution_due_at__isnull=False)
            .values("tier")
            .annotate(
                met=Count("pk", filter=Q(resolved_at__lte=F("resolution_due_at"))),
                late=Count("pk", filter=Q(resolved_at__gt=F("resolution_due_at"))),
            )
            .order_by()
        }
        swept = (
            ConcernEvent.objects.filter(
                self.area_q("concern__"),
                kind=ConcernEvent.Kind.ESCALATED,
                rule=escalation_services.RULE_OVERDUE,
                created_at__gte=p.since,
                created_at__lt=p.until,
            )
            .values("from_tier")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in swept:
            counted.setdefault(row["from_tier"], {"met": 0, "late": 0, "swept": 0})
            counted[row["from_tier"]]["swept"] = row["n"]
        return counted

    @cached_property
    def open_now(self):
        return {
            row["tier"]: row
            for row in self._concerns()
            .filter(status__in=Concern.OPEN_STATUSES)
            .values("tier")
            .annotate(
                open=Count("pk"),
                overdue=Count(
                    "pk",
                    filter=Q(paused_at__isnull=True, resolution_due_at__lt=self.period.now),
                ),
            )
            .order_by()
        }


def seed(businesses, *, count=160, seed_value=13):
    """Concerns over two years in every state, some swept, resolved late or early, answered."""
    rng = random.Random(seed_value)
    start = NOW - dt.timedelta(days=730)
    for index in range(count):
        created = start + dt.timedelta(minutes=rng.randrange(0, 730 * 24 * 60))
        if index % 9 == 0:  # the small hours around midnight, where a UTC day is not a local one
            created = created.replace(hour=23, minute=rng.choice([10, 50]))
        concern = factories.ConcernFactory(
            business=rng.choice(businesses), category=factories.category(rng.choice(CATEGORIES))
        )
        status = rng.choice(
            ["new", "in_progress", "waiting", "resolved", "closed", "closed", "unconfirmed"]
        )
        due = created + dt.timedelta(days=rng.randrange(2, 30))
        fields = {
            "created_at": created,
            "status": status,
            "tier": rng.choice([1, 1, 2, 3]),
            "resolution_due_at": due if index % 11 else None,
        }
        if status in GIVEN:
            resolved = created + dt.timedelta(hours=rng.randrange(1, 60 * 24))
            fields |= {
                "resolved_at": min(resolved, NOW - dt.timedelta(minutes=5)),
                "outcome": factories.outcome(rng.choice(OUTCOMES)),
                "reporter_satisfied": True if status == "closed" else None,
            }
        elif status == "in_progress" and index % 3 == 0:
            fields["reporter_satisfied"] = False  # reopened after an outcome
        elif status == "waiting":
            fields["paused_at"] = created + dt.timedelta(days=1)
        Concern.objects.filter(pk=concern.pk).update(**fields)
        if status in GIVEN:  # as concern_resolve writes it, a moment after resolved_at
            ConcernEvent.objects.create(
                concern=concern,
                kind=ConcernEvent.Kind.RESOLVED,
                created_at=fields["resolved_at"] + dt.timedelta(milliseconds=3),
            )
        if index % 7 == 0 and status != "unconfirmed":
            ConcernEvent.objects.create(
                concern=concern,
                kind=ConcernEvent.Kind.ESCALATED,
                rule=escalation_services.RULE_OVERDUE,
                from_tier=1,
                to_tier=2,
                created_at=created + dt.timedelta(days=rng.randrange(1, 20)),
            )


PERIODS = [
    (None, None),  # the last 12 months
    (dt.date(2024, 6, 15), dt.date(2026, 6, 15)),  # everything, whole months and edge days
    (dt.date(2025, 3, 30), dt.date(2025, 4, 2)),  # four days across a month end (and BST)
    (dt.date(2025, 10, 26), dt.date(2025, 10, 26)),  # the day the clocks went back
    (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),  # whole months only
]


def figures_both_ways(scope, start, end, areas=None):
    p = insight.period(start=start, end=end)
    return (
        [(d.name, d.rows) for d in insight.all_datasets(insight.Figures(scope, p, areas))],
        [(d.name, d.rows) for d in insight.all_datasets(DirectFigures(scope, p, areas))],
    )


@pytest.mark.parametrize(("start", "end"), PERIODS)
def test_it_counts_the_same_from_the_roll_up_as_from_the_concerns(
    chain, business, other_business, area, partnership_member, group_member, start, end
):
    with time_machine.travel(NOW, tick=False):
        seed([business, other_business])
        rollup.insight_refresh(full=True)
        everyone = selectors.member_scope(partnership_member)
        group = selectors.member_scope(group_member)

        from_rollup, direct = figures_both_ways(everyone, start, end)
        assert from_rollup == direct
        assert sum(sum(sum(row.values) for row in rows) for _, rows in direct) > 0
        assert figures_both_ways(everyone, start, end, areas=[area.pk]) == figures_both_ways(
            group, start, end
        )
        from_rollup, direct = figures_both_ways(group, start, end)
        assert from_rollup == direct


def rollup_rows():
    return {
        model.__name__: sorted(
            tuple(row)
            for row in model.objects.values_list(
                *[f.attname for f in model._meta.concrete_fields if f.name != "id"]
            )
        )
        for model in (InsightReported, InsightOutcome, InsightDeadline)
    }


def test_it_refreshes_only_what_changed_and_ends_where_a_rebuild_would(
    chain, business, other_business, owner, npt_officer, partnership_member
):
    with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
        seed([business, other_business], count=60)
        rollup.insight_refresh(full=True)
    old = Concern.objects.filter(status=Concern.Status.RESOLVED).order_by("resolved_at").first()
    fresh = factories.ConcernFactory(business=business, reporter=owner)
    with time_machine.travel(NOW, tick=False):
        # Reported, given an outcome, reopened long after its outcome, closed, swept.
        late = factories.ConcernFactory(business=business, reporter=owner)
        engagement_services.concern_resolve(
            concern=fresh, actor=npt_officer, outcome=factories.outcome()
        )
        engagement_services.concern_feedback(concern=old, author=owner, resolved=False)
        Concern.objects.filter(pk=late.pk).update(
            resolution_due_at=NOW - dt.timedelta(hours=2), tier=1
        )
        escalation_services.sweep_run(trigger="test")
        report = rollup.insight_refresh()

        assert not report.full and 0 < report.days < 10
        refreshed = rollup_rows()
        rollup.insight_refresh(full=True)
        assert refreshed == rollup_rows()
        scope = selectors.member_scope(partnership_member)
        assert figures_both_ways(scope, None, None)[0] == figures_both_ways(scope, None, None)[1]


def test_it_refreshes_nothing_when_nothing_changed(chain, business):
    with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
        seed([business], count=20)
        rollup.insight_refresh(full=True)
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        report = rollup.insight_refresh()
    assert report.days == 0
    assert report.lines() == [
        "Insight figures refreshed: 0 days recounted, as of 2026-06-15 14:00."
    ]


def test_it_refreshes_from_the_command_and_says_what_it_did(chain, business, capsys):
    with time_machine.travel(NOW, tick=False):
        seed([business], count=10)
        call_command("refresh_insight")
        call_command("refresh_insight")  # safe to run again: nothing changed
        call_command("refresh_insight", "--full")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Insight figures rebuilt from scratch: ")
    assert out[1] == "Insight figures refreshed: 0 days recounted, as of 2026-06-15 12:00."
    assert out[2].startswith("Insight figures rebuilt from scratch: ")


def test_its_tasks_refresh_and_rebuild_and_are_safe_to_run_twice(chain, business):
    from escalation import tasks

    with time_machine.travel(NOW, tick=False):
        seed([business], count=10)
        assert tasks.rebuild_insight() == {
            "days": InsightReported.objects.filter(grain="day").values("day").distinct().count()
        }
        rows = rollup_rows()
        assert tasks.refresh_insight() == {"days": 0}
        assert tasks.refresh_insight() == {"days": 0}
        assert rollup_rows() == rows
