"""Decisions and their actions, recorded by the body that owns an item."""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from engagement.models import Concern, ConcernEvent, User

from ..models import (
    Action,
    Decision,
    PartnerOrganisation,
    Theme,
)
from .items import lock_item, write_event


@dataclass(frozen=True)
class ActionSpec:
    """An action to record with a decision: what, by which partner organisation, by when."""

    description: str
    owner: PartnerOrganisation
    due_on: dt.date
    owner_contact: str = ""


def decision_record(
    *,
    item: Concern | Theme,
    actor: User,
    summary: str,
    actions: Sequence[ActionSpec] = (),
    submission_key: uuid.UUID | None = None,
) -> Decision:
    """Record what the owning body decided about an open item, with actions, owners and dates."""
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError("Say what was decided.")
    for spec in actions:
        if not spec.description.strip():
            raise ValidationError("Describe each action.")
    with transaction.atomic():
        locked = lock_item(item)
        if not locked.is_open:
            raise ValidationError("This already has an outcome.")
        now = timezone.now()
        decision = Decision.objects.create(
            **{str(locked._meta.model_name): locked},  # Decision.concern or Decision.theme
            tier=locked.tier,
            summary=summary,
            made_by=actor,
            created_at=now,
            submission_key=submission_key,
        )
        Action.objects.bulk_create(
            Action(
                decision=decision,
                description=spec.description.strip(),
                owner=spec.owner,
                owner_contact=spec.owner_contact,
                due_on=spec.due_on,
                created_at=now,
            )
            for spec in actions
        )
        if locked.first_responded_at is None:
            # A decision is the owning body's response at its tier.
            type(locked).objects.filter(pk=locked.pk, first_responded_at__isnull=True).update(
                first_responded_at=now
            )
        detail = summary if not actions else f"{summary}\n\n{len(actions)} action(s) agreed."
        write_event(
            locked, ConcernEvent.Kind.DECISION, actor=actor, detail=detail, to_tier=locked.tier
        )
    return decision


def action_complete(*, action: Action, actor: User, note: str = "") -> Action:
    """Mark an action done (once); the item's timeline records it."""
    with transaction.atomic():
        now = timezone.now()
        claimed = Action.objects.filter(pk=action.pk, completed_at__isnull=True).update(
            completed_at=now, completed_by=actor, completion_note=note.strip()
        )
        action.refresh_from_db()
        if claimed:
            item = action.decision.item
            write_event(
                item,
                ConcernEvent.Kind.ACTION_DONE,
                actor=actor,
                detail=f"{action.owner}: {action.description}"[:1000],
            )
    return action


# The automatic sweep


class DecisionFormUsed(ValidationError):
    """The form's one-time key already recorded a different decision on this item."""


def decision_record_once(
    *,
    item: Concern | Theme,
    actor: User,
    summary: str,
    actions: Sequence[ActionSpec],
    from_tier: int,
    submission_key: uuid.UUID,
) -> tuple[Decision, bool]:
    """Record a decision unless a form with this one-time key already did; returns it and
    whether it is new.

    The key is looked up under the item's row lock, so a double click or a resent POST finds
    the first submission's decision (committed before the lock was released) and returns it.
    The same form sent again with a different summary is refused with DecisionFormUsed, so the
    view can offer the new text back on a fresh form rather than drop it.
    """
    summary = (summary or "").strip()
    with transaction.atomic():
        locked = lock_item(item)
        earlier = Decision.objects.filter(submission_key=submission_key).first()
        if earlier is not None:
            if earlier.item != locked or earlier.summary != summary:
                raise DecisionFormUsed(
                    "This form already recorded a decision. What you typed is below: send it "
                    "again to record it as a further decision."
                )
            return earlier, False
        if not locked.is_open:
            raise ValidationError("This already has an outcome.")
        if locked.tier != from_tier:
            raise ValidationError("This has moved since you opened it.")
        decision = decision_record(
            item=locked,
            actor=actor,
            summary=summary,
            actions=actions,
            submission_key=submission_key,
        )
    return decision, True
