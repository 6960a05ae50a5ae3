"""The shapes the chain's tables share, as abstract models: an item that climbs the tiers, and
an event row written once.

A concern (engagement.Concern) and a common theme (escalation.Theme) are both *tiered items*:
each is held by one body at a time, has deadlines at that tier from DeadlinePolicy, is warned
and flagged once, and ends with an outcome. The escalation services and the sweep move either
through what TieredItem declares, never by asking which one they hold.

Every event table (ConcernEvent, ThemeEvent, CommunityEvent, BusinessEvent) is an
ImmutableEvent: who, when, what, and a save() that refuses to change a row once written (on
PostgreSQL a trigger refuses UPDATE and DELETE too: dorset_bcp.event_log). The two items'
events are ItemEvents, which add the rule and the status and tier an event moved the item from
and to.

These are abstract: each concrete model keeps its own table and columns. Moving a column here
changes no table.
"""

from typing import ClassVar, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class TieredItem(models.Model):
    """An item that climbs the chain: its deadlines at its tier, warnings, flag and outcome.

    Each concrete model sets `OPEN_STATUSES` and names its event table's foreign key with
    related_name="events"; an item with a `paused_at` column pauses its clock while it waits.
    """

    OPEN_STATUSES: ClassVar[tuple[str, ...]] = ()
    status: str  # each concrete model has its own choices

    # Deadlines at the current tier (escalation.DeadlinePolicy); each move sets them afresh.
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    # Owners are warned once at each warning point; the sweep claims the *_warned_at column.
    first_response_warn_at = models.DateTimeField(null=True, blank=True)
    first_response_warned_at = models.DateTimeField(null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    resolution_warned_at = models.DateTimeField(null=True, blank=True)
    # Overdue at tier 3 (nothing above): flagged to the Partnership chair once.
    overdue_flagged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    outcome = models.ForeignKey(
        "engagement.Outcome", on_delete=models.PROTECT, null=True, blank=True
    )
    outcome_note = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @classmethod
    def event_model(cls) -> type["ItemEvent"]:
        """The table this kind of item writes its events to."""
        return cast("type[ItemEvent]", cls._meta.get_field("events").related_model)

    @classmethod
    def event_item_field(cls) -> str:
        """The name of the event table's foreign key to the item ("concern", "theme")."""
        relation = cls._meta.get_field("events")
        assert isinstance(relation, models.ForeignObjectRel)  # nosec B101 # a reverse relation
        return relation.field.name

    @classmethod
    def pauses(cls) -> bool:
        """Whether the item's clock stops while it waits for someone (it has `paused_at`)."""
        return any(field.name == "paused_at" for field in cls._meta.concrete_fields)

    @property
    def clock_paused_at(self):
        """When the clock stopped, or None while it runs (always None for an item that never
        pauses)."""
        return getattr(self, "paused_at", None) if self.pauses() else None


class ImmutableEvent(models.Model):
    """One change, written once and never edited: who made it, when, in words, and the old and
    new values of what it changed."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when a rule made the change.",
    )
    detail = models.TextField(blank=True)
    # What changed, field by field, as old and new values (dorset_bcp.event_changes says the
    # shape); NULL when the event records an act rather than a change of values.
    changes = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError(
                f"{str(self._meta.verbose_name_plural).capitalize()} are immutable."
            )
        super().save(*args, **kwargs)


class ItemEvent(ImmutableEvent):
    """An event of a tiered item: the rule that made it, and what it moved from and to."""

    rule = models.CharField(max_length=60, blank=True, help_text="The rule that made the change.")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    from_tier = models.PositiveSmallIntegerField(null=True, blank=True)
    to_tier = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta(ImmutableEvent.Meta):
        abstract = True
