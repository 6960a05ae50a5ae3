"""Insight for the Partnership (county-wide) and the Co-ordinating Groups (their NPT areas).

Every dataset is aggregated in the database, a fixed number of queries however many concerns
there are: GROUP BY with Count, conditional Count(filter=Q(...)), TruncMonth, and correlated
subqueries where two counts would otherwise multiply each other's rows.

The period is the current month and the eleven before it ("the last 12 months"), in local time;
"open items" and "overdue now" are as of now. Unconfirmed guest reports are never counted.
"""

import csv
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from engagement.models import Concern, ConcernCategory, ConcernEvent, NPTArea, Outcome

from . import services
from .models import Theme, ThemeEvent
from .selectors import MemberScope

MONTHS = 12
TIER_LABELS = {
    Concern.Tier.NPT: "Tier 1: Neighbourhood Policing Teams",
    Concern.Tier.GROUP: "Tier 2: Business Co-ordinating Groups",
    Concern.Tier.PARTNERSHIP: "Tier 3: Business Safety Partnership",
}
GIVEN_OUTCOME = (Concern.Status.RESOLVED, Concern.Status.CLOSED)


@dataclass(frozen=True)
class Row:
    label: str
    values: tuple[int, ...]
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dataset:
    """One chart and the table behind it; `series` are charted, `extras` only tabled."""

    name: str
    title: str
    description: str
    label_header: str
    series: tuple[str, ...]
    rows: list[Row]
    extras: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(sum(row.values) for row in self.rows)

    def chart(self) -> list[dict]:
        """Each row's bars, as percentages of the largest value (the longest bar is 100)."""
        top = max((value for row in self.rows for value in row.values), default=0) or 1
        return [
            {
                "label": row.label,
                "bars": [
                    {
                        "series": name,
                        "index": index,
                        "value": value,
                        "width": round(100 * value / top, 1),
                    }
                    for index, (name, value) in enumerate(zip(self.series, row.values, strict=True))
                ],
            }
            for row in self.rows
        ]

    def header(self) -> list[str]:
        return [self.label_header, *self.series, *self.extras]

    def table(self) -> list[list]:
        return [[row.label, *row.values, *row.extras] for row in self.rows]


@dataclass(frozen=True)
class Period:
    now: dt.datetime
    since: dt.datetime  # the first instant of the first month
    months: list[dt.date] = field(default_factory=list)


def period(now: dt.datetime | None = None) -> Period:
    """The current month and the eleven before it, in local time."""
    now = now or timezone.now()
    local = timezone.localtime(now).date().replace(day=1)
    months = []
    year, month = local.year, local.month
    for _ in range(MONTHS):
        months.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    months.reverse()
    since = timezone.make_aware(dt.datetime.combine(months[0], dt.time.min))
    return Period(now=now, since=since, months=months)


def _area_q(scope: MemberScope, prefix: str = "") -> Q:
    """The NPT areas a person's insight covers: the county, or their groups' areas."""
    if scope.is_partnership:
        return Q()
    if scope.group_ids:
        return Q(**{f"{prefix}npt_area__group__in": scope.group_ids})
    return Q(pk__in=[])


def _concerns(scope: MemberScope):
    return Concern.objects.filter(_area_q(scope)).exclude(status=Concern.Status.UNCONFIRMED)


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "–"


# The datasets. Each takes the person's scope and the period and returns a Dataset.


def concerns_by_category(scope: MemberScope, p: Period) -> Dataset:
    """Concerns reported in the period, by category (every active category, even at 0)."""
    counted = Q(concern__created_at__gte=p.since) & ~Q(concern__status=Concern.Status.UNCONFIRMED)
    counted &= _area_q(scope, "concern__")
    rows = ConcernCategory.objects.annotate(n=Count("concern", filter=counted)).order_by(
        "position", "name"
    )
    return Dataset(
        name="concerns-by-category",
        title="Concerns by category",
        description="Concerns reported in the last 12 months, by what they were about.",
        label_header="Category",
        series=("Concerns",),
        rows=[Row(c.name, (c.n,)) for c in rows if c.is_active or c.n],
    )


def concerns_by_area(scope: MemberScope, p: Period) -> Dataset:
    """Concerns reported in the period, by the NPT area they went to."""
    counted = Q(concerns__created_at__gte=p.since) & ~Q(concerns__status=Concern.Status.UNCONFIRMED)
    areas = NPTArea.objects.all() if scope.is_partnership else NPTArea.objects.none()
    if not scope.is_partnership and scope.group_ids:
        areas = NPTArea.objects.filter(group__in=scope.group_ids)
    rows = areas.annotate(n=Count("concerns", filter=counted)).order_by("name")
    return Dataset(
        name="concerns-by-area",
        title="Concerns by NPT area",
        description="Concerns reported in the last 12 months, by Neighbourhood Policing Team.",
        label_header="NPT area",
        series=("Concerns",),
        rows=[Row(a.name, (a.n,)) for a in rows],
    )


def concerns_by_month(scope: MemberScope, p: Period) -> Dataset:
    """Concerns reported in each of the last 12 months (months with none show 0)."""
    rows = (
        _concerns(scope)
        .filter(created_at__gte=p.since)
        .annotate(month=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {_as_date(row["month"]): row["n"] for row in rows}
    return Dataset(
        name="concerns-by-month",
        title="Concerns by month",
        description="Concerns reported in each of the last 12 months.",
        label_header="Month",
        series=("Concerns",),
        rows=[Row(f"{month:%B %Y}", (counts.get(month, 0),)) for month in p.months],
    )


def open_items_by_tier(scope: MemberScope, p: Period) -> Dataset:
    """Concerns and themes without an outcome now, by the tier that holds them."""
    concerns = dict(
        _concerns(scope)
        .filter(status__in=Concern.OPEN_STATUSES)
        .values("tier")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("tier", "n")
    )
    themes = dict(
        Theme.objects.filter(_area_q(scope), status=Theme.Status.OPEN)
        .values("tier")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("tier", "n")
    )
    return Dataset(
        name="open-items-by-tier",
        title="Open items by tier",
        description="Concerns and common themes waiting for an outcome now, by who holds them.",
        label_header="Tier",
        series=("Concerns", "Themes"),
        rows=[
            Row(label, (concerns.get(tier, 0), themes.get(tier, 0)))
            for tier, label in TIER_LABELS.items()
        ],
    )


def deadline_performance(scope: MemberScope, p: Period) -> Dataset:
    """Resolution deadlines met and breached at each tier.

    Each tier's resolution deadline (DeadlinePolicy, in working days from arrival at the tier,
    pushed back by the time a concern waited for the business) is counted once per stay at
    that tier, concerns and themes alike:

    - **met**: the item was given an outcome at that tier in the period, on or before its
      resolution deadline there (resolved_at <= resolution_due_at);
    - **breached**, any of:
      (a) the item was given an outcome at that tier in the period, after its deadline;
      (b) the automatic sweep moved it up from that tier in the period because the deadline
          had passed (an "escalated" event with the rule "overdue", counted at its from_tier);
      (c) it is open at that tier now, its clock running, and its deadline has passed (at
          tier 3 this is an item flagged to the chair; below, one the next sweep will move).

    A stay that ended by a person's move (escalated with a reason, returned with guidance)
    before the deadline is neither: the tier handed it on. An item can count at several tiers
    (breached at tier 1, met at tier 2). Items with no deadline are not counted.
    """
    resolved = Q(
        status__in=GIVEN_OUTCOME, resolved_at__gte=p.since, resolution_due_at__isnull=False
    )
    concern_rows = (
        _concerns(scope)
        .filter(
            Q(status__in=GIVEN_OUTCOME, resolved_at__gte=p.since)
            | Q(status__in=Concern.OPEN_STATUSES, resolution_due_at__lt=p.now)
        )
        .values("tier")
        .annotate(
            met=Count("pk", filter=resolved & Q(resolved_at__lte=F("resolution_due_at"))),
            late=Count("pk", filter=resolved & Q(resolved_at__gt=F("resolution_due_at"))),
            overdue=Count(
                "pk",
                filter=Q(
                    status__in=Concern.OPEN_STATUSES,
                    paused_at__isnull=True,
                    resolution_due_at__lt=p.now,
                ),
            ),
        )
        .order_by()
    )
    theme_resolved = Q(
        status=Theme.Status.RESOLVED, resolved_at__gte=p.since, resolution_due_at__isnull=False
    )
    theme_rows = (
        Theme.objects.filter(_area_q(scope))
        .filter(
            Q(status=Theme.Status.RESOLVED, resolved_at__gte=p.since)
            | Q(status=Theme.Status.OPEN, resolution_due_at__lt=p.now)
        )
        .values("tier")
        .annotate(
            met=Count("pk", filter=theme_resolved & Q(resolved_at__lte=F("resolution_due_at"))),
            late=Count("pk", filter=theme_resolved & Q(resolved_at__gt=F("resolution_due_at"))),
            overdue=Count("pk", filter=Q(status=Theme.Status.OPEN, resolution_due_at__lt=p.now)),
        )
        .order_by()
    )
    swept = Q(
        kind=ConcernEvent.Kind.ESCALATED,
        rule=services.RULE_OVERDUE,
        created_at__gte=p.since,
    )
    concern_swept = (
        ConcernEvent.objects.filter(swept, _area_q(scope, "concern__"))
        .values("from_tier")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("from_tier", "n")
    )
    theme_swept = (
        ThemeEvent.objects.filter(swept, _area_q(scope, "theme__"))
        .values("from_tier")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("from_tier", "n")
    )
    met = dict.fromkeys(TIER_LABELS, 0)
    breached = dict.fromkeys(TIER_LABELS, 0)
    for row in [*concern_rows, *theme_rows]:
        if row["tier"] in met:
            met[row["tier"]] += row["met"]
            breached[row["tier"]] += row["late"] + row["overdue"]
    for tier, n in [*concern_swept, *theme_swept]:
        if tier in breached:
            breached[tier] += n
    return Dataset(
        name="deadline-performance",
        title="Deadline performance by tier",
        description="Resolution deadlines met and breached at each tier in the last 12 months "
        "(an outcome on time is met; an outcome after the deadline, a move up by the overdue "
        "sweep, or an item overdue now is breached).",
        label_header="Tier",
        series=("Met", "Breached"),
        extras=("Met on time",),
        rows=[
            Row(
                label,
                (met[tier], breached[tier]),
                (_percent(met[tier], met[tier] + breached[tier]),),
            )
            for tier, label in TIER_LABELS.items()
        ],
    )


def themes_by_category(scope: MemberScope, p: Period) -> Dataset:
    """Common themes found in the period, or still open, by category: open and resolved."""
    rows = (
        Theme.objects.filter(_area_q(scope))
        .filter(Q(created_at__gte=p.since) | Q(status=Theme.Status.OPEN))
        .values("category__name", "category__position")
        .annotate(
            open=Count("pk", filter=Q(status=Theme.Status.OPEN)),
            resolved=Count("pk", filter=Q(status=Theme.Status.RESOLVED)),
        )
        .order_by("category__position", "category__name")
    )
    return Dataset(
        name="themes",
        title="Common themes by category",
        description="Common themes found in the last 12 months, or still open, by category.",
        label_header="Category",
        series=("Open", "Resolved"),
        rows=[Row(r["category__name"], (r["open"], r["resolved"])) for r in rows],
    )


def outcomes(scope: MemberScope, p: Period) -> Dataset:
    """Outcomes given in the period to concerns and to themes (referrals to national bodies
    are outcomes of their own)."""

    def counted(model, statuses, prefix=""):
        return Coalesce(
            Subquery(
                model.objects.filter(
                    _area_q(scope),
                    outcome=OuterRef("pk"),
                    status__in=statuses,
                    resolved_at__gte=p.since,
                )
                .order_by()
                .values("outcome")
                .annotate(n=Count("pk"))
                .values("n")[:1],
                output_field=IntegerField(),
            ),
            0,
        )

    rows = Outcome.objects.annotate(
        concerns=counted(Concern, GIVEN_OUTCOME),
        themes=counted(Theme, (Theme.Status.RESOLVED,)),
    ).order_by("position", "name")
    return Dataset(
        name="outcomes",
        title="Outcomes",
        description="Outcomes given in the last 12 months, to single concerns and to themes.",
        label_header="Outcome",
        series=("Concerns", "Themes"),
        rows=[
            Row(o.name, (o.concerns, o.themes))
            for o in rows
            if o.is_active or o.concerns or o.themes
        ],
    )


def satisfaction(scope: MemberScope, p: Period) -> Dataset:
    """What businesses said about the outcome of concerns reported in the period.

    Concern.reporter_satisfied: True when the business said the outcome resolved it (the
    concern closes), False when it said not (the concern reopens), empty while an outcome
    waits for an answer.
    """
    counts = (
        _concerns(scope)
        .filter(created_at__gte=p.since)
        .aggregate(
            yes=Count("pk", filter=Q(reporter_satisfied=True)),
            no=Count("pk", filter=Q(reporter_satisfied=False)),
            waiting=Count(
                "pk", filter=Q(status=Concern.Status.RESOLVED, reporter_satisfied__isnull=True)
            ),
        )
    )
    answered = counts["yes"] + counts["no"]
    return Dataset(
        name="satisfaction",
        title="Satisfaction with outcomes",
        description="What businesses said about the outcome of concerns reported in the last "
        "12 months.",
        label_header="Answer",
        series=("Concerns",),
        extras=("Share of answers",),
        rows=[
            Row("It resolved the concern", (counts["yes"],), (_percent(counts["yes"], answered),)),
            Row("It did not resolve it", (counts["no"],), (_percent(counts["no"], answered),)),
            Row("No answer yet", (counts["waiting"],), ("",)),
        ],
    )


DATASETS: dict[str, Callable[[MemberScope, Period], Dataset]] = {
    "concerns-by-category": concerns_by_category,
    "concerns-by-area": concerns_by_area,
    "concerns-by-month": concerns_by_month,
    "open-items-by-tier": open_items_by_tier,
    "deadline-performance": deadline_performance,
    "themes": themes_by_category,
    "outcomes": outcomes,
    "satisfaction": satisfaction,
}


def all_datasets(scope: MemberScope, now: dt.datetime | None = None) -> list[Dataset]:
    p = period(now)
    return [build(scope, p) for build in DATASETS.values()]


# CSV


# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): quote it.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(dataset: Dataset, out) -> None:
    writer = csv.writer(out)
    writer.writerow([csv_cell(cell) for cell in dataset.header()])
    for row in dataset.table():
        writer.writerow([csv_cell(cell) for cell in row])
