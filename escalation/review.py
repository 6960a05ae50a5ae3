"""The review area's queue (/partnership/) and how its pages put things: time left, who acted.

The queue mixes concerns and themes, so it is one UNION query of the same columns from both
tables: filters, sorting and paging happen in the database and a page costs the same however
long the queue is. Scoping comes from escalation.selectors (concerns_above_npt_in_scope,
themes_in_scope), so who sees what is decided in one place.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from engagement import deadlines
from engagement.models import (
    Concern,
    ConcernEvent,
    User,
)

from . import selectors
from .models import Decision, Theme
from .selectors import MemberScope

PRIORITY_RANK = {
    Concern.Priority.URGENT: 0,
    Concern.Priority.HIGH: 1,
    Concern.Priority.NORMAL: 2,
    Concern.Priority.LOW: 3,
}

# Sort keys offered on the queue; each ends with the kind and id so pages never overlap.
SORTS: dict[str, tuple[str, list[Any]]] = {
    "due": ("Due soonest", [F("due").asc(nulls_last=True), "kind", "item_id"]),
    "newest": ("Newest first", [F("created").desc(), "kind", "item_id"]),
    "priority": (
        "Priority, then due soonest",
        ["priority_rank", F("due").asc(nulls_last=True), "kind", "item_id"],
    ),
}
DEFAULT_SORT = "due"


@dataclass(frozen=True)
class QueueFilters:
    """What the person asked the queue for (already validated by the filter form)."""

    kind: str = ""
    category_id: int | None = None
    area_id: int | None = None
    priority: str = ""
    overdue: bool = False
    tiers: tuple[int, ...] = ()  # empty: the person's own queue
    sort: str = DEFAULT_SORT


def queue_tiers(scope: MemberScope) -> list[tuple[int, str]]:
    """The tiers whose open items the person may list: their own, and county-wide tier 2 for
    the Partnership (it oversees the groups)."""
    tiers: list[tuple[int, str]] = []
    if scope.is_partnership:
        tiers.append((Concern.Tier.PARTNERSHIP, "Business Safety Partnership (tier 3)"))
    if scope.is_partnership or scope.group_ids:
        label = "Co-ordinating Groups (tier 2)"
        if not scope.is_partnership:
            label = "Your Co-ordinating Group (tier 2)"
        tiers.append((Concern.Tier.GROUP, label))
    return tiers


def _priority_rank():
    return Case(
        *(When(priority=priority, then=Value(rank)) for priority, rank in PRIORITY_RANK.items()),
        default=Value(len(PRIORITY_RANK)),
        output_field=IntegerField(),
    )


# The columns both halves of the UNION select, in this order.
_COLUMNS = (
    "kind",
    "item_id",
    "ref",
    "heading",
    "category_name",
    "area_name",
    "group_name",
    "item_priority",
    "priority_rank",
    "item_tier",
    "item_status",
    "due",
    "paused",
    "created",
)


def _concern_rows(queryset: QuerySet[Concern]) -> QuerySet:
    return queryset.annotate(
        kind=Value("concern", output_field=CharField()),
        item_id=F("pk"),
        ref=F("reference"),
        heading=F("business__name"),
        category_name=F("category__name"),
        area_name=F("npt_area__name"),
        group_name=F("npt_area__group__name"),
        item_priority=F("priority"),
        priority_rank=_priority_rank(),
        item_tier=F("tier"),
        item_status=F("status"),
        due=F("resolution_due_at"),
        paused=F("paused_at"),
        created=F("created_at"),
    ).values(*_COLUMNS)


def _theme_rows(queryset: QuerySet[Theme]) -> QuerySet:
    return queryset.annotate(
        kind=Value("theme", output_field=CharField()),
        item_id=F("pk"),
        ref=F("reference"),
        heading=F("title"),
        category_name=F("category__name"),
        area_name=F("npt_area__name"),
        group_name=F("npt_area__group__name"),
        item_priority=F("priority"),
        priority_rank=_priority_rank(),
        item_tier=F("tier"),
        item_status=F("status"),
        due=F("resolution_due_at"),
        paused=Value(None, output_field=DateTimeField()),
        created=F("created_at"),
    ).values(*_COLUMNS)


def _common_filters(filters: QueueFilters, scope: MemberScope) -> Q:
    q = Q(tier__in=filters.tiers) if filters.tiers else selectors.own_queue_q(scope)
    if filters.category_id:
        q &= Q(category_id=filters.category_id)
    if filters.area_id:
        q &= Q(npt_area_id=filters.area_id)
    if filters.priority:
        q &= Q(priority=filters.priority)
    return q


def queue(user: User, filters: QueueFilters, *, now: dt.datetime | None = None):
    """Open concerns and themes at the chosen tiers in the person's scope, as one query of rows.

    Overdue means the resolution deadline has passed and the clock is running (a concern
    waiting for the business is paused, so it is not overdue).
    """
    now = now or timezone.now()
    common = _common_filters(filters, selectors.member_scope(user))
    parts = []
    if filters.kind in ("", "concern"):
        # The queue lists tiers 2 and 3 only, so the concerns above tier 1 are all it needs.
        concerns = selectors.concerns_above_npt_in_scope(user).filter(
            common, status__in=Concern.OPEN_STATUSES
        )
        if filters.overdue:
            concerns = concerns.filter(resolution_due_at__lt=now, paused_at__isnull=True)
        parts.append(_concern_rows(concerns.order_by()))
    if filters.kind in ("", "theme"):
        themes = selectors.themes_in_scope(user).filter(common, status=Theme.Status.OPEN)
        if filters.overdue:
            themes = themes.filter(resolution_due_at__lt=now)
        parts.append(_theme_rows(themes.order_by()))
    rows = parts[0] if len(parts) == 1 else parts[0].union(parts[1], all=True)
    return rows.order_by(*SORTS.get(filters.sort, SORTS[DEFAULT_SORT])[1])


# Time left, in the working days the deadlines are counted in.


@dataclass(frozen=True)
class TimeLeft:
    text: str
    overdue: bool = False
    soon: bool = False
    paused: bool = False


def time_left(
    due: dt.datetime | None,
    *,
    now: dt.datetime,
    paused: dt.datetime | None = None,
    left_words: str = "{} left",
):
    """How long until the deadline, in plain words; overdue says so, in words.

    `left_words` phrases the days still left ("{} left" in the queue, "Due in {}" in the admin).
    """
    if due is None:
        return TimeLeft("No deadline set")
    if paused is not None:
        left = deadlines.working_days_between(paused, due)
        return TimeLeft(
            f"Clock paused while waiting for the business ({_days(left)} left)", paused=True
        )
    if due < now:
        late = deadlines.working_days_between(due, now)
        if late == 0:
            return TimeLeft(f"Overdue since {timezone.localtime(due):%H:%M} today", overdue=True)
        return TimeLeft(f"Overdue by {_days(late)}", overdue=True)
    left = deadlines.working_days_between(now, due)
    if left == 0:
        return TimeLeft(f"Due today by {timezone.localtime(due):%H:%M}", soon=True)
    return TimeLeft(left_words.format(_days(left)), soon=left <= 2)


def _days(n: int) -> str:
    return f"{n} working day{'' if n == 1 else 's'}"


# Events done by the business, or by nobody in particular: the timeline names the business,
# never the person who reported (partners see the business, not the reporter).
_BUSINESS_EVENTS = {
    ConcernEvent.Kind.SUBMITTED,
    ConcernEvent.Kind.CONFIRMED,
    ConcernEvent.Kind.REPLIED,
    ConcernEvent.Kind.REOPENED,
    ConcernEvent.Kind.CLOSED,
}


def event_actor(event, item) -> str:
    """Who made the change, as a partner should read it."""
    if isinstance(item, Concern) and (
        event.kind in _BUSINESS_EVENTS
        or (event.actor_id is not None and event.actor_id == item.reporter_id)
    ):
        return "The business"
    if event.actor_id is None:
        return "Automatic rule" if event.rule else "The portal"
    return event.actor.get_full_name()


def can_complete(scope: MemberScope, item: Concern | Theme, decision: Decision) -> bool:
    """Actions are marked done by the body that agreed them."""
    if decision.tier == Concern.Tier.PARTNERSHIP:
        return scope.is_partnership
    if decision.tier == Concern.Tier.GROUP:
        return item.npt_area.group_id in scope.group_ids
    return False
