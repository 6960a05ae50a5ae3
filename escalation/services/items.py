"""What every item shares: the rules' names, the kinds of item, arrival at a tier, the row lock."""

import datetime as dt
from dataclasses import dataclass

from engagement import deadlines
from engagement.models import Concern, ConcernEvent

from ..models import (
    Theme,
    ThemeEvent,
)

TOP_TIER = Concern.Tier.PARTNERSHIP
RULE_OVERDUE = "overdue"
RULE_OVERDUE_AT_TOP = "overdue_at_top"
RULE_FIRST_RESPONSE_WARNING = "first_response_warning"
RULE_RESOLUTION_WARNING = "resolution_warning"
RULE_COMMON_THEME = "common_theme"


@dataclass(frozen=True)
class _ItemKind:
    """How one kind of item is stored, so the same code moves concerns and themes."""

    model: type
    event_model: type
    event_fk: str
    open_statuses: tuple[str, ...]
    pausable: bool


CONCERNS = _ItemKind(Concern, ConcernEvent, "concern", tuple(Concern.OPEN_STATUSES), True)
THEMES = _ItemKind(Theme, ThemeEvent, "theme", tuple(Theme.OPEN_STATUSES), False)


def kind_of(item) -> _ItemKind:
    if isinstance(item, Concern):
        return CONCERNS
    if isinstance(item, Theme):
        return THEMES
    raise TypeError(f"{item!r} is not a concern or a theme.")


def arrival_fields(*, tier: int, priority: str, now: dt.datetime, table=None) -> dict:
    """Columns set when an item arrives at a tier: fresh deadlines, warnings and flag re-armed.

    The first response is per tier: the receiving body owes its own first response, so
    first_responded_at starts again (the earlier one stays in the events).
    """
    return {
        "tier": tier,
        "tier_entered_at": now,
        **deadlines.deadlines_for(tier=tier, priority=priority, start=now, table=table),
        "first_responded_at": None,
        "first_response_warned_at": None,
        "resolution_warned_at": None,
        "overdue_flagged_at": None,
        "updated_at": now,
    }


def write_event(item, kind: str, **fields):
    spec = kind_of(item)
    return spec.event_model.objects.create(**{spec.event_fk: item}, kind=kind, **fields)


def lock_item(item):
    spec = kind_of(item)
    return (
        spec.model.objects.select_for_update(of=("self",))
        .select_related("npt_area", "npt_area__group", "category")
        .get(pk=item.pk)
    )
