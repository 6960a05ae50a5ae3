"""Insight for the Partnership (county-wide) and the Co-ordinating Groups (their NPT areas).

Concern counts are sums over the roll-up (escalation.rollup: counts per local day and NPT area,
refreshed every five minutes), so any period costs the same few short queries whether it holds
a hundred concerns or a million; the page says how fresh they are. Theme counts are read from
the themes themselves. A fixed number of queries however much there is to count.

The period is whole local days, by default the current month and the eleven before it ("the
last 12 months"); the Partnership may narrow it to an NPT area or a Co-ordinating Group's
areas. "Open items" and "overdue now" are as of the last refresh for concerns and as of now for
themes. Unconfirmed guest reports are never counted.
"""

import csv
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from engagement.models import Concern, ConcernCategory, Outcome

from .models import (
    Grain,
    InsightDeadline,
    InsightOpenNow,
    InsightOutcome,
    InsightReported,
    InsightRollup,
    Theme,
    ThemeEvent,
)
from .selectors import MemberScope, area_q, areas_in_scope
from .services.items import RULE_OVERDUE

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
    """Whole local days from `start` to `end` inclusive; `now` is when "now" is for open items."""

    now: dt.datetime
    start: dt.date
    end: dt.date
    is_default: bool = True

    @property
    def since(self) -> dt.datetime:
        """The first instant of the first day."""
        return _midnight(self.start)

    @property
    def until(self) -> dt.datetime:
        """The first instant after the last day."""
        return _midnight(self.end + dt.timedelta(days=1))

    @property
    def months(self) -> list[dt.date]:
        months = []
        month = self.start.replace(day=1)
        while month <= self.end:
            months.append(month)
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return months

    @property
    def words(self) -> str:
        if self.is_default:
            return "the last 12 months"
        return f"{_day_words(self.start)} to {_day_words(self.end)}"


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _day_words(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def period(
    now: dt.datetime | None = None, start: dt.date | None = None, end: dt.date | None = None
) -> Period:
    """The days chosen, or by default the current month and the eleven before it (local time)."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    if start is None and end is None:
        year, month = today.year, today.month - (MONTHS - 1)
        while month < 1:
            year, month = year - 1, month + 12
        return Period(now=now, start=dt.date(year, month, 1), end=today)
    return Period(now=now, start=start or dt.date(2000, 1, 1), end=end or today, is_default=False)


class Figures:
    """What one person may see for one period (and, for the Partnership, the areas chosen).

    Concern counts come from the roll-up (escalation.rollup), each read once however many
    datasets use it; theme counts are read from the themes themselves, a few hundred rows a year.
    """

    def __init__(self, scope: MemberScope, p: Period, areas: list[int] | None = None):
        self.scope = scope
        self.period = p
        # A chosen area or group narrows the Partnership's county view; a Co-ordinating Group
        # member always sees their groups' areas, whatever the address says.
        self.areas = list(areas) if areas is not None and scope.is_partnership else None

    def area_q(self, prefix: str = "") -> Q:
        """The NPT areas counted: the county, the chosen ones, or the person's groups' areas."""
        q = area_q(self.scope, prefix)
        if self.areas is not None:
            q &= Q(**{f"{prefix}npt_area__in": self.areas})
        return q

    def _days(self) -> Q:
        """The period's whole months from month rows, and the days either side from day rows."""
        start, end = self.period.start, self.period.end
        first = start if start.day == 1 else _next_month(start)  # first whole month
        after = (
            _next_month(end)
            if _next_month(end) - dt.timedelta(days=1) == end
            else end.replace(day=1)
        )
        if first >= after:  # no whole month inside: every day from day rows
            return Q(grain=Grain.DAY, day__gte=start, day__lte=end)
        return (
            Q(grain=Grain.MONTH, day__gte=first, day__lt=after)
            | Q(grain=Grain.DAY, day__gte=start, day__lt=first)
            | Q(grain=Grain.DAY, day__gte=after, day__lte=end)
        )

    def _reported(self, *keys: str) -> list[dict]:
        return list(
            InsightReported.objects.filter(self._days(), self.area_q())
            .values(*keys)
            .annotate(
                n=Sum("reported"),
                yes=Sum("resolved_it"),
                no=Sum("not_resolved"),
                waiting=Sum("no_answer_yet"),
            )
            .order_by()
        )

    # Concerns reported, with the businesses' answers: two sums over the same few thousand
    # roll-up rows, one by NPT area and category (a hundred rows or so), one by month.
    @cached_property
    def reported_by_area_and_category(self) -> list[dict]:
        return self._reported("npt_area_id", "category_id")

    def reported_by(self, key: str) -> dict:
        counts: dict = {}
        for row in self.reported_by_area_and_category:
            counts[row[key]] = counts.get(row[key], 0) + row["n"]
        return counts

    @cached_property
    def reported_by_month(self) -> dict:
        return {row["month"]: row for row in self._reported("month")}

    @cached_property
    def given(self) -> dict[int, int]:
        """Concerns given an outcome in the period, by outcome."""
        return dict(
            InsightOutcome.objects.filter(self._days(), self.area_q())
            .values("outcome_id")
            .annotate(n=Sum("given"))
            .order_by()
            .values_list("outcome_id", "n")
        )

    @cached_property
    def deadlines(self) -> dict[int, dict]:
        """Concern deadlines met, late and swept per tier in the period."""
        return {
            row["tier"]: row
            for row in InsightDeadline.objects.filter(self._days(), self.area_q())
            .values("tier")
            .annotate(met=Sum("met"), late=Sum("late"), swept=Sum("swept"))
            .order_by()
        }

    @cached_property
    def open_now(self) -> dict[int, dict]:
        """Concerns without an outcome (and overdue) per tier at the last refresh."""
        return {
            row["tier"]: row
            for row in InsightOpenNow.objects.filter(self.area_q())
            .values("tier")
            .annotate(open=Sum("open"), overdue=Sum("overdue"))
            .order_by()
        }

    def npt_areas(self):
        areas = areas_in_scope(self.scope)
        if self.areas is not None:
            areas = areas.filter(pk__in=self.areas)
        return areas

    def themes(self):
        return Theme.objects.filter(self.area_q())


def as_of() -> dt.datetime | None:
    """When the roll-up last counted (None before its first refresh)."""
    return InsightRollup.objects.filter(pk=1).values_list("as_of", flat=True).first()


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "–"


# The datasets. Each takes the Figures for a person and a period and returns a Dataset.


def concerns_by_category(f: Figures) -> Dataset:
    """Concerns reported in the period, by category (every active category, even at 0)."""
    counts = f.reported_by("category_id")
    rows = ConcernCategory.objects.order_by("position", "name")
    return Dataset(
        name="concerns-by-category",
        title="Concerns by category",
        description=f"Concerns reported in {f.period.words}, by what they were about.",
        label_header="Category",
        series=("Concerns",),
        rows=[
            Row(c.name, (counts.get(c.pk, 0),)) for c in rows if c.is_active or counts.get(c.pk, 0)
        ],
    )


def concerns_by_area(f: Figures) -> Dataset:
    """Concerns reported in the period, by the NPT area they went to."""
    counts = f.reported_by("npt_area_id")
    areas = f.npt_areas()
    return Dataset(
        name="concerns-by-area",
        title="Concerns by NPT area",
        description=f"Concerns reported in {f.period.words}, by Neighbourhood Policing Team.",
        label_header="NPT area",
        series=("Concerns",),
        rows=[Row(a.name, (counts.get(a.pk, 0),)) for a in areas],
    )


def concerns_by_month(f: Figures) -> Dataset:
    """Concerns reported in each month of the period (months with none show 0)."""
    counts = {_as_date(month): row["n"] for month, row in f.reported_by_month.items()}
    return Dataset(
        name="concerns-by-month",
        title="Concerns by month",
        description=f"Concerns reported in each month of {f.period.words}.",
        label_header="Month",
        series=("Concerns",),
        rows=[Row(f"{month:%B %Y}", (counts.get(month, 0),)) for month in f.period.months],
    )


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def open_items_by_tier(f: Figures) -> Dataset:
    """Concerns and themes without an outcome now, by the tier that holds them."""
    themes = dict(
        f.themes()
        .filter(status=Theme.Status.OPEN)
        .values("tier")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("tier", "n")
    )
    concerns = f.open_now
    return Dataset(
        name="open-items-by-tier",
        title="Open items by tier",
        description="Concerns and common themes waiting for an outcome now, by who holds them.",
        label_header="Tier",
        series=("Concerns", "Themes"),
        rows=[
            Row(label, (concerns.get(tier, {}).get("open", 0), themes.get(tier, 0)))
            for tier, label in TIER_LABELS.items()
        ],
    )


def deadline_performance(f: Figures) -> Dataset:
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
    p = f.period
    in_period = Q(resolved_at__gte=p.since, resolved_at__lt=p.until)
    theme_resolved = Q(status=Theme.Status.RESOLVED, resolution_due_at__isnull=False) & in_period
    theme_rows = (
        f.themes()
        .filter(
            (Q(status=Theme.Status.RESOLVED) & in_period)
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
    theme_swept = (
        ThemeEvent.objects.filter(
            f.area_q("theme__"),
            kind=ThemeEvent.Kind.ESCALATED,
            rule=RULE_OVERDUE,
            created_at__gte=p.since,
            created_at__lt=p.until,
        )
        .values("from_tier")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("from_tier", "n")
    )
    met: dict[int, int] = dict.fromkeys(TIER_LABELS, 0)
    breached: dict[int, int] = dict.fromkeys(TIER_LABELS, 0)
    for tier, row in f.deadlines.items():
        if tier in met:
            met[tier] += row["met"]
            breached[tier] += row["late"] + row["swept"]
    for tier, row in f.open_now.items():
        if tier in breached:
            breached[tier] += row["overdue"]
    for row in theme_rows:
        if row["tier"] in met:
            met[row["tier"]] += row["met"]
            breached[row["tier"]] += row["late"] + row["overdue"]
    for from_tier, n in theme_swept:
        if from_tier is not None and from_tier in breached:
            breached[from_tier] += n
    return Dataset(
        name="deadline-performance",
        title="Deadline performance by tier",
        description=f"Resolution deadlines met and breached at each tier in {p.words} "
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


def themes_by_category(f: Figures) -> Dataset:
    """Common themes found in the period, or still open, by category: open and resolved."""
    p = f.period
    rows = (
        f.themes()
        .filter(Q(created_at__gte=p.since, created_at__lt=p.until) | Q(status=Theme.Status.OPEN))
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
        description=f"Common themes found in {p.words}, or still open, by category.",
        label_header="Category",
        series=("Open", "Resolved"),
        rows=[Row(r["category__name"], (r["open"], r["resolved"])) for r in rows],
    )


def outcomes(f: Figures) -> Dataset:
    """Outcomes given in the period to concerns and to themes (referrals to national bodies
    are outcomes of their own)."""
    p = f.period
    themes = dict(
        f.themes()
        .filter(
            status=Theme.Status.RESOLVED,
            resolved_at__gte=p.since,
            resolved_at__lt=p.until,
            outcome__isnull=False,
        )
        .values("outcome_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("outcome_id", "n")
    )
    concerns = f.given
    rows = []
    for o in Outcome.objects.order_by("position", "name"):
        counts = (concerns.get(o.pk, 0), themes.get(o.pk, 0))
        if o.is_active or any(counts):
            rows.append(Row(o.name, counts))
    return Dataset(
        name="outcomes",
        title="Outcomes",
        description=f"Outcomes given in {p.words}, to single concerns and to themes.",
        label_header="Outcome",
        series=("Concerns", "Themes"),
        rows=rows,
    )


def satisfaction(f: Figures) -> Dataset:
    """What businesses said about the outcome of concerns reported in the period.

    Concern.reporter_satisfied: True when the business said the outcome resolved it (the
    concern closes), False when it said not (the concern reopens), empty while an outcome
    waits for an answer.
    """
    counts = {"yes": 0, "no": 0, "waiting": 0}
    for row in f.reported_by_month.values():
        for key in counts:
            counts[key] += row[key]
    answered = counts["yes"] + counts["no"]
    return Dataset(
        name="satisfaction",
        title="Satisfaction with outcomes",
        description="What businesses said about the outcome of concerns reported in "
        f"{f.period.words}.",
        label_header="Answer",
        series=("Concerns",),
        extras=("Share of answers",),
        rows=[
            Row("It resolved the concern", (counts["yes"],), (_percent(counts["yes"], answered),)),
            Row("It did not resolve it", (counts["no"],), (_percent(counts["no"], answered),)),
            Row("No answer yet", (counts["waiting"],), ("",)),
        ],
    )


DATASETS: dict[str, Callable[[Figures], Dataset]] = {
    "concerns-by-category": concerns_by_category,
    "concerns-by-area": concerns_by_area,
    "concerns-by-month": concerns_by_month,
    "open-items-by-tier": open_items_by_tier,
    "deadline-performance": deadline_performance,
    "themes": themes_by_category,
    "outcomes": outcomes,
    "satisfaction": satisfaction,
}


def all_datasets(figures: Figures) -> list[Dataset]:
    return [build(figures) for build in DATASETS.values()]


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
