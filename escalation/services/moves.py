"""Manual moves: escalate, return and resolve an item, each under its row lock."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from dorset_bcp.event_changes import changes_between, snapshot
from engagement import services as engagement_services
from engagement.emails import email_queue
from engagement.models import Concern, ConcernEvent, Outcome, User

from .. import selectors
from ..models import (
    Theme,
)
from .items import TOP_TIER, arrival_fields, lock_item, write_event
from .notifications import email_business_moved
from .themes import theme_resolve


def item_escalate(
    *, item: Concern | Theme, actor: User, reason: str, from_tier: int | None = None
) -> Concern | Theme:
    """Move an open item up one tier with a reason; `from_tier` refuses a move someone beat."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give a reason for escalating.")
    with transaction.atomic():
        locked = lock_item(item)
        _guard_move(locked, from_tier)
        if locked.tier >= TOP_TIER:
            raise ValidationError(
                "This is already with the Business Safety Partnership, the top of the chain."
            )
        return _move(
            locked,
            actor=actor,
            to_tier=locked.tier + 1,
            event_kind=ConcernEvent.Kind.ESCALATED,
            detail=reason,
        )


def item_return(
    *, item: Concern | Theme, actor: User, guidance: str, from_tier: int | None = None
) -> Concern | Theme:
    """Send an open item back to the tier below with guidance; it gets a fresh deadline there."""
    guidance = (guidance or "").strip()
    if not guidance:
        raise ValidationError("Give guidance for the tier below.")
    with transaction.atomic():
        locked = lock_item(item)
        _guard_move(locked, from_tier)
        if locked.tier <= Concern.Tier.NPT:
            raise ValidationError("This is already with the Neighbourhood Policing Team.")
        return _move(
            locked,
            actor=actor,
            to_tier=locked.tier - 1,
            event_kind=ConcernEvent.Kind.RETURNED,
            detail=guidance,
        )


def _guard_move(locked: Concern | Theme, from_tier: int | None) -> None:
    if not locked.is_open:
        raise ValidationError("This already has an outcome.")
    if from_tier is not None and locked.tier != from_tier:
        body = selectors.owning_body(locked)
        raise ValidationError(f"This has moved since you opened it: it is now with {body}.")


# What a move changes, recorded with its event: the tier and the deadlines there.
# The tier it moves between is the event's own from/to columns; these are the rest.
MOVE_FIELDS = ("first_response_due_at", "resolution_due_at")


def _move(
    locked: Concern | Theme, *, actor: User, to_tier: int, event_kind: str, detail: str
) -> Concern | Theme:
    model = type(locked)
    now = timezone.now()
    from_tier = locked.tier
    before = snapshot(locked, MOVE_FIELDS)
    fields = arrival_fields(tier=to_tier, priority=locked.priority, now=now)
    if locked.clock_paused_at is not None:
        # Still waiting for the business: the pause carries on against the new deadlines.
        fields["paused_at"] = now
    model.objects.filter(pk=locked.pk).update(**fields)
    for name, value in fields.items():
        setattr(locked, name, value)
    event = write_event(
        locked,
        event_kind,
        actor=actor,
        from_tier=from_tier,
        to_tier=to_tier,
        detail=detail,
        changes=changes_between(before, snapshot(locked, MOVE_FIELDS)),
    )
    holder = selectors.item_holder(locked)
    for email in holder.emails:
        email_queue(
            to=email,
            template="escalation_item_moved",
            context={
                "item": locked,
                "event": event,
                "is_theme": model is Theme,
                "body": holder.body,
                "returned": event_kind == ConcernEvent.Kind.RETURNED,
            },
        )
    if isinstance(locked, Concern):  # a business hears of its own concern's moves
        email_business_moved(locked, holder.body, returned=event_kind == ConcernEvent.Kind.RETURNED)
    return locked


# What the business hears when its concern changes hands: who has it now, and by when they aim
# to reply and to give an outcome. The reason or guidance stays between the partners.


def item_resolve(
    *,
    item: Concern | Theme,
    actor: User,
    outcome: Outcome,
    note: str = "",
    from_tier: int | None = None,
) -> Concern | Theme:
    """Give an item its outcome; a theme's outcome is emailed to every linked business.

    With from_tier, the item must still be at the tier the person saw (checked under the lock),
    so a sweep moving it meanwhile makes the resolve fail with a clear message.
    """
    if isinstance(item, Theme):
        return theme_resolve(
            theme=item, actor=actor, outcome=outcome, note=note, from_tier=from_tier
        )
    return engagement_services.concern_resolve(
        concern=item, actor=actor, outcome=outcome, note=note, from_tier=from_tier
    )
