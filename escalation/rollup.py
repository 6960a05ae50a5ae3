"""The insight roll-up: the counts behind the insight page, per local day and NPT area.

Why a periodic roll-up, and not summary rows kept by the services and the sweep: the counts are
read by a handful of people a few times a week, while the services and the sweep write all day.
A roll-up keeps every write path as it is (one more table in each transaction would be one more
thing to lock and to get wrong), and its freshness is plain to see: the page says "figures as of
14:35". Beat refreshes it every five minutes (settings.CELERY_BEAT_SCHEDULE) and rebuilds it
from scratch each night; `manage.py refresh_insight` runs the same code once.

What each row counts, and the day (Europe/London) it is filed under; each table also holds a
row per month summing its day rows, so a long period reads months and only its edges in days:

- InsightReported: confirmed concerns by the day they were reported, NPT area and category,
  with how many the business said were resolved, not resolved, or not yet answered;
- InsightOutcome: concerns with an outcome (resolved or closed), by the day it was given;
- InsightDeadline: per tier, outcomes on or before the resolution deadline (met) and after
  it (late), by the day of the outcome, and moves up by the overdue sweep (swept), by the day
  of the move;
- InsightOpenNow: concerns without an outcome at the refresh, and those overdue with their
  clock running, per NPT area and tier.

A refresh recomputes only the days whose counts can have changed. Those facts change only when
a concern is reported, when a guest confirms it, when it is given an outcome, reopened or
closed (each writes a ConcernEvent of a kind in FACT_EVENTS, in the same transaction), or when
the sweep moves it (an "escalated" event with the overdue rule). So the days to recompute are
the days those concerns were reported and given outcomes - including the outcome a reopened
concern no longer has, found from its "resolved" events - and the days of the sweep's moves,
for every such event since the last refresh began, less OVERLAP for transactions that were
still open then. InsightOpenNow is recomputed whole every time (one pass over open concerns).
The nightly rebuild from scratch heals anything changed outside the services.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from engagement.models import Concern, ConcernEvent

from .models import (
    Grain,
    InsightDeadline,
    InsightOpenNow,
    InsightOutcome,
    InsightReported,
    InsightRollup,
)
from .services.items import RULE_OVERDUE

FACT_EVENTS = (
    ConcernEvent.Kind.CONFIRMED,
    ConcernEvent.Kind.RESOLVED,
    ConcernEvent.Kind.REOPENED,
    ConcernEvent.Kind.CLOSED,
)
GIVEN_OUTCOME = (Concern.Status.RESOLVED, Concern.Status.CLOSED)
# An event is stamped when its transaction runs, not when it commits: a sweep batch or a theme
# resolving its concerns can commit a little after a refresh has read past its stamp. An hour
# of overlap costs a few dozen events a refresh and covers any transaction we run.
OVERLAP = dt.timedelta(hours=1)
BATCH = 2000
# Each roll-up table, the columns it counts by, and the counts it sums into month rows.
TABLES = {
    InsightReported: (
        ("category_id",),
        ("reported", "resolved_it", "not_resolved", "no_answer_yet"),
    ),
    InsightOutcome: (("outcome_id",), ("given",)),
    InsightDeadline: (("tier",), ("met", "late", "swept")),
}


@dataclass
class RefreshReport:
    full: bool
    days: int
    as_of: dt.datetime

    def lines(self) -> list[str]:
        kind = "rebuilt from scratch" if self.full else "refreshed"
        local = timezone.localtime(self.as_of)
        return [
            f"Insight figures {kind}: {self.days} days recounted, as of {local:%Y-%m-%d %H:%M}."
        ]


def insight_refresh(*, full: bool = False, now: dt.datetime | None = None) -> RefreshReport:
    """Recount the insight roll-up for the days that changed since the last refresh (or all)."""
    now = now or timezone.now()
    with transaction.atomic():
        # One refresh at a time: a second waits here, then finds little or nothing to do.
        InsightRollup.objects.get_or_create(pk=1)
        state = InsightRollup.objects.select_for_update().get(pk=1)
        full = full or state.as_of is None
        days = None if full or state.as_of is None else _changed_days(since=state.as_of - OVERLAP)
        if full:
            for model in TABLES:
                model._default_manager.all().delete()
        elif days:
            months = {day.replace(day=1) for day in days}
            for model in TABLES:
                model._default_manager.filter(grain=Grain.DAY, day__in=days).delete()
                model._default_manager.filter(grain=Grain.MONTH, day__in=months).delete()
        if days is None or days:
            _count_reported(days)
            _count_outcomes(days)
            _count_deadlines(days)
            for model in TABLES:
                _sum_months(model, None if full else months)
        _count_open(now)
        state.as_of = now
        if full:
            state.full_at = now
        counted = _days_counted() if full or days is None else len(days)
        state.days_refreshed = counted
        state.save()
    return RefreshReport(full=full, days=counted, as_of=now)


def _local_day(field: str):
    return TruncDate(field, tzinfo=timezone.get_current_timezone())


def _local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def _changed_days(*, since: dt.datetime) -> set[dt.date]:
    changed = set(
        ConcernEvent.objects.filter(created_at__gte=since, kind__in=FACT_EVENTS)
        .values_list("concern_id", flat=True)
        .order_by()
    )
    days = set()
    # Two queries, not one with OR: each is an index range or a primary-key lookup.
    for touched in (
        Concern.objects.filter(created_at__gte=since),
        Concern.objects.filter(pk__in=changed),
    ):
        for created_at, resolved_at in touched.values_list("created_at", "resolved_at").order_by():
            days.add(_local_date(created_at))
            if resolved_at is not None:
                days.add(_local_date(resolved_at))
    # A reopened concern has lost the outcome it was counted under: each "resolved" event marks
    # a day it may have been. The event is stamped a moment after resolved_at, so a minute
    # earlier covers an outcome given just before midnight.
    resolutions = ConcernEvent.objects.filter(
        concern__in=changed, kind=ConcernEvent.Kind.RESOLVED
    ).values_list("created_at", flat=True)
    for stamp in resolutions.order_by():
        days.add(_local_date(stamp))
        days.add(_local_date(stamp - dt.timedelta(minutes=1)))
    swept = (
        _swept_events()
        .filter(created_at__gte=since)
        .annotate(day=_local_day("created_at"))
        .values_list("day", flat=True)
        .order_by()
        .distinct()
    )
    days.update(swept)
    return days


def _within(field: str, days: set[dt.date] | None) -> Q:
    """Rows whose `field` falls on one of `days` (local), as index-friendly ranges."""
    if days is None:
        return Q()
    q = Q(pk__in=[])
    ordered = sorted(days)
    start = previous = ordered[0]
    for day in [*ordered[1:], None]:
        if day is not None and day == previous + dt.timedelta(days=1):
            previous = day
            continue
        q |= Q(**{f"{field}__gte": _midnight(start), f"{field}__lt": _midnight(previous, 1)})
        if day is not None:
            start = previous = day
    return q


def _midnight(day: dt.date, plus_days: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=plus_days), dt.time.min))


def _swept_events():
    return ConcernEvent.objects.filter(kind=ConcernEvent.Kind.ESCALATED, rule=RULE_OVERDUE)


def _save(model, rows) -> None:
    batch = []
    for row in rows:
        batch.append(model(grain=Grain.DAY, month=row["day"].replace(day=1), **row))
        if len(batch) >= BATCH:
            model.objects.bulk_create(batch)
            batch = []
    model.objects.bulk_create(batch)


def _count_reported(days) -> None:
    rows = (
        Concern.objects.filter(_within("created_at", days))
        .exclude(status=Concern.Status.UNCONFIRMED)
        .annotate(day=_local_day("created_at"))
        .values("day", "npt_area_id", "category_id")
        .annotate(
            reported=Count("pk"),
            resolved_it=Count("pk", filter=Q(reporter_satisfied=True)),
            not_resolved=Count("pk", filter=Q(reporter_satisfied=False)),
            no_answer_yet=Count(
                "pk", filter=Q(status=Concern.Status.RESOLVED, reporter_satisfied__isnull=True)
            ),
        )
        .order_by()
    )
    _save(InsightReported, rows.iterator(chunk_size=BATCH))


def _count_outcomes(days) -> None:
    rows = (
        Concern.objects.filter(
            _within("resolved_at", days),
            status__in=GIVEN_OUTCOME,
            resolved_at__isnull=False,
            outcome__isnull=False,
        )
        .annotate(day=_local_day("resolved_at"))
        .values("day", "npt_area_id", "outcome_id")
        .annotate(given=Count("pk"))
        .order_by()
    )
    _save(InsightOutcome, rows.iterator(chunk_size=BATCH))


def _count_deadlines(days) -> None:
    counts: dict[tuple, dict] = {}
    given = (
        Concern.objects.filter(
            _within("resolved_at", days),
            status__in=GIVEN_OUTCOME,
            resolved_at__isnull=False,
            resolution_due_at__isnull=False,
        )
        .annotate(day=_local_day("resolved_at"))
        .values("day", "npt_area_id", "tier")
        .annotate(
            met=Count("pk", filter=Q(resolved_at__lte=F("resolution_due_at"))),
            late=Count("pk", filter=Q(resolved_at__gt=F("resolution_due_at"))),
        )
        .order_by()
    )
    for row in given.iterator(chunk_size=BATCH):
        key = (row["day"], row["npt_area_id"], row["tier"])
        counts[key] = {"met": row["met"], "late": row["late"], "swept": 0}
    swept = (
        _swept_events()
        .filter(_within("created_at", days))
        .annotate(day=_local_day("created_at"))
        .values("day", "concern__npt_area_id", "from_tier")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in swept.iterator(chunk_size=BATCH):
        key = (row["day"], row["concern__npt_area_id"], row["from_tier"])
        counts.setdefault(key, {"met": 0, "late": 0, "swept": 0})["swept"] = row["n"]
    _save(
        InsightDeadline,
        (
            {"day": day, "npt_area_id": area, "tier": tier, **values}
            for (day, area, tier), values in counts.items()
        ),
    )


def _count_open(now: dt.datetime) -> None:
    rows = (
        Concern.objects.filter(status__in=Concern.OPEN_STATUSES)
        .values("npt_area_id", "tier")
        .annotate(
            open=Count("*"),
            overdue=Count("pk", filter=Q(paused_at__isnull=True, resolution_due_at__lt=now)),
        )
        .order_by()
    )
    InsightOpenNow.objects.all().delete()
    InsightOpenNow.objects.bulk_create(InsightOpenNow(**row) for row in rows)


def _sum_months(model, months: set[dt.date] | None) -> None:
    """Month rows: the sums of the day rows of each month recounted (or of every month)."""
    columns, counts = TABLES[model]
    days = model.objects.filter(grain=Grain.DAY)
    if months is not None:
        days = days.filter(month__in=months)
    rows = (
        days.values("month", "npt_area_id", *columns)
        .annotate(**{f"total_{name}": Sum(name) for name in counts})
        .order_by()
    )
    batch = []
    for row in rows.iterator(chunk_size=BATCH):
        totals = {name: row.pop(f"total_{name}") for name in counts}
        batch.append(model(grain=Grain.MONTH, day=row["month"], **row, **totals))
        if len(batch) >= BATCH:
            model.objects.bulk_create(batch)
            batch = []
    model.objects.bulk_create(batch)


def _days_counted() -> int:
    return InsightReported.objects.filter(grain=Grain.DAY).values("day").distinct().count()
