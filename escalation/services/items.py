"""What every item shares: the rules' names, the kinds of item, arrival at a tier, the row lock."""

import datetime as dt
from typing import Any, TypeVar

from dorset_bcp.item_models import ItemEvent, TieredItem
from engagement import deadlines
from engagement.models import Concern

from ..models import Theme

TieredItemT = TypeVar("TieredItemT", bound=TieredItem)
# Every (tier, priority) → (first response, resolution, warning) days: deadlines.policy_table().
PolicyTable = dict[tuple[int, str], tuple[int, int, int]]

TOP_TIER = Concern.Tier.PARTNERSHIP
RULE_OVERDUE = "overdue"
RULE_OVERDUE_AT_TOP = "overdue_at_top"
RULE_FIRST_RESPONSE_WARNING = "first_response_warning"
RULE_RESOLUTION_WARNING = "resolution_warning"
RULE_COMMON_THEME = "common_theme"


# The kinds of item, concerns first: each is a TieredItem, moved through what it declares.
ITEM_MODELS: tuple[type[TieredItem], ...] = (Concern, Theme)


def arrival_fields(
    *, tier: int, priority: str, now: dt.datetime, table: PolicyTable | None = None
) -> dict[str, Any]:
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


def write_event(item: TieredItem, kind: str, **fields: Any) -> ItemEvent:
    model = type(item)
    columns: dict[str, Any] = {model.event_item_field(): item, "kind": kind, **fields}
    return model.event_model()._default_manager.create(**columns)


def lock_item(item: TieredItemT) -> TieredItemT:
    return (
        type(item)
        ._default_manager.select_for_update(of=("self",))
        .select_related("npt_area", "npt_area__group", "category")
        .get(pk=item.pk)
    )
