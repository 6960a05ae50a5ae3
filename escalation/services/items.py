"""What every item shares: the rules' names, the kinds of item, arrival at a tier, the row lock."""

import datetime as dt

from dorset_bcp.item_models import TieredItem
from engagement import deadlines
from engagement.models import Concern

from ..models import (
    Theme,
)

TOP_TIER = Concern.Tier.PARTNERSHIP
RULE_OVERDUE = "overdue"
RULE_OVERDUE_AT_TOP = "overdue_at_top"
RULE_FIRST_RESPONSE_WARNING = "first_response_warning"
RULE_RESOLUTION_WARNING = "resolution_warning"
RULE_COMMON_THEME = "common_theme"


# The kinds of item, concerns first: each is a TieredItem, moved through what it declares.
ITEM_MODELS: tuple[type[TieredItem], ...] = (Concern, Theme)


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


def write_event(item: TieredItem, kind: str, **fields):
    model = type(item)
    return model.event_model().objects.create(
        **{model.event_item_field(): item}, kind=kind, **fields
    )


def lock_item(item: TieredItem):
    return (
        type(item)
        .objects.select_for_update(of=("self",))
        .select_related("npt_area", "npt_area__group", "category")
        .get(pk=item.pk)
    )
