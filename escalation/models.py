"""The escalation chain: the bodies above the NPTs, their deadlines, common themes and decisions.

A concern (engagement.Concern) or a theme (Theme, here) is an *item*: it has a tier, the body
that owns it at that tier, and deadlines at that tier taken from DeadlinePolicy. Tier 1 is the
NPT covering the business's postcode district, tier 2 the Business Co-ordinating Group covering
that NPT (NPTArea.group), tier 3 the one Business Safety Partnership. Every move of an item is an
immutable event row: engagement.ConcernEvent for concerns, ThemeEvent for themes (the same
columns, so the timeline code and the sweep treat them alike).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dorset_bcp.item_models import ItemEvent, TieredItem
from engagement.models import Concern, ConcernCategory, NPTArea, Outcome, User

TIER_CHOICES = Concern.Tier.choices
PRIORITY_CHOICES = Concern.Priority.choices


class PartnerOrganisation(models.Model):
    """An organisation that can own an action: police teams, councils, business bodies, BIDs."""

    class Kind(models.TextChoices):
        POLICE = "police", "Police"
        COUNCIL = "council", "Local council"
        BUSINESS = "business", "Business organisation"
        BID = "bid", "Business Improvement District"
        NATIONAL = "national", "National body"
        OTHER = "other", "Other"

    name = models.CharField(max_length=150, unique=True)
    slug = models.SlugField(max_length=150, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OTHER)
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class CoordinatingGroup(models.Model):
    """A Business Co-ordinating Group: tier 2 for the NPT areas that point to it."""

    name = models.CharField(max_length=150, unique=True)
    slug = models.SlugField(max_length=150, unique=True)
    description = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chaired_groups",
    )
    members: "models.ManyToManyField[User, GroupMembership]" = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="GroupMembership",
        related_name="coordinating_groups",
        blank=True,
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "Business Co-ordinating Group"

    def __str__(self):
        return self.name


class GroupMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    group = models.ForeignKey(
        CoordinatingGroup, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        PartnerOrganisation, on_delete=models.SET_NULL, null=True, blank=True
    )
    role = models.CharField(max_length=120, blank=True, help_text="e.g. BID manager.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "group member"
        constraints = [
            models.UniqueConstraint(fields=["user", "group"], name="unique_group_member")
        ]

    def __str__(self):
        return f"{self.user} ({self.group})"


class Partnership(models.Model):
    """The Business Safety Partnership: tier 3, county-wide, top of the chain. There is one."""

    # A constant unique column: the database itself refuses a second partnership.
    singleton = models.BooleanField(default=True, editable=False, unique=True)
    name = models.CharField(max_length=150, default="Dorset Business Safety Partnership")
    description = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chaired_partnerships",
        help_text="Overdue items at the top of the chain are flagged to the chair.",
    )
    members: "models.ManyToManyField[User, PartnershipMembership]" = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="PartnershipMembership",
        related_name="partnerships",
        blank=True,
    )

    class Meta:
        verbose_name = "Business Safety Partnership"
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="one_partnership_only")
        ]

    def __str__(self):
        return self.name

    @classmethod
    def load(cls) -> "Partnership":
        """The partnership (created by a migration; recreated with defaults if deleted)."""
        partnership = cls.objects.select_related("chair").first()
        if partnership is None:
            partnership, _ = cls.objects.get_or_create(singleton=True)
        return partnership


class PartnershipMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    partnership = models.ForeignKey(
        Partnership, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        PartnerOrganisation, on_delete=models.SET_NULL, null=True, blank=True
    )
    role = models.CharField(
        max_length=120, blank=True, help_text="e.g. Force Business Crime Champion."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "partnership member"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "partnership"], name="unique_partnership_member"
            )
        ]

    def __str__(self):
        return f"{self.user} ({self.partnership})"


class DeadlinePolicy(models.Model):
    """Working days an owning body has, per tier and priority, counted from arrival at the tier.

    Working days skip weekends and England and Wales bank holidays (engagement.deadlines). The
    warning point is a number of working days before each deadline; a deadline nearer than
    that at arrival has no separate warning (the arrival notification is the warning).
    """

    tier = models.PositiveSmallIntegerField(choices=TIER_CHOICES)
    priority = models.CharField(max_length=10, choices=PRIORITY_CHOICES)
    first_response_days = models.PositiveSmallIntegerField(
        "first response (working days)",
        help_text="Working days from arrival at this tier to the owning body's first response.",
    )
    resolution_days = models.PositiveSmallIntegerField(
        "resolution (working days)",
        help_text="Working days from arrival to an outcome; after that it moves up a tier.",
    )
    warning_days = models.PositiveSmallIntegerField(
        "warning point (working days before)",
        default=1,
        help_text="Owners are warned this many working days before each deadline.",
    )

    class Meta:
        ordering = ["tier", "priority"]
        verbose_name = "deadline policy"
        verbose_name_plural = "deadline policies"
        constraints = [
            models.UniqueConstraint(fields=["tier", "priority"], name="one_policy_per_tier"),
        ]

    def __str__(self):
        return f"{self.get_tier_display()} — {self.get_priority_display()}"

    def clean(self):
        if (self.first_response_days or 0) > (self.resolution_days or 0) > 0:
            raise ValidationError("The first response cannot be due after the resolution.")
        if not self.resolution_days:
            raise ValidationError({"resolution_days": "Allow at least one working day."})


class ThemeSettings(models.Model):
    """How common themes are found; one row, edited in the admin."""

    min_businesses = models.PositiveSmallIntegerField(
        "at least this many businesses",
        default=3,
        help_text="Concerns of one category in one NPT area from at least this many different "
        "businesses form a theme.",
    )
    window_days = models.PositiveSmallIntegerField(
        "within this many days", default=28, help_text="Calendar days, counted back from now."
    )

    class Meta:
        verbose_name = "theme settings"
        verbose_name_plural = "theme settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="one_theme_settings_row")]

    def __str__(self):
        return f"{self.min_businesses} businesses within {self.window_days} days"

    def clean(self):
        if self.min_businesses < 2:
            raise ValidationError({"min_businesses": "A theme needs at least two businesses."})
        if self.window_days < 1:
            raise ValidationError({"window_days": "Use at least one day."})

    @classmethod
    def load(cls) -> "ThemeSettings":
        settings_row, _ = cls.objects.get_or_create(pk=1)
        return settings_row


class Sweep(models.Model):
    """One run of the automatic escalation sweep or of theme detection.

    Every event a run writes points at it, and each batch adds its moves to the counters in the
    statement that makes them (so the record is right even if the run dies), and stamps
    heartbeat_at. Notifications are built from the batches' tallies, each tally claimed once
    (SweepTally.notified_at); runs that overlap are told together, once the last of them has
    finished or gone quiet. Runs that did nothing are not kept.
    """

    class Kind(models.TextChoices):
        OVERDUE = "overdue", "Overdue sweep"
        THEMES = "themes", "Theme detection"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OVERDUE)
    trigger = models.CharField(max_length=20, default="beat", help_text="beat or command.")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        default=timezone.now, help_text="When the run last committed a batch."
    )
    escalated = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    warned = models.PositiveIntegerField(default=0)
    themes_created = models.PositiveIntegerField(default=0)
    themes_extended = models.PositiveIntegerField(default=0)
    notified_at = models.DateTimeField(null=True, blank=True)
    emails_queued = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(
                fields=["started_at"],
                condition=Q(notified_at__isnull=True),
                name="sweep_unnotified_idx",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M}"


class SweepTally(models.Model):
    """What one batch of a run changed, per change and owner, written in the batch's statement.

    A run's notifications are built from these few rows (counts, and the ids of the first items
    to list) instead of rereading and joining every event it wrote: at county scale that is
    milliseconds instead of a second, and the same number of queries however many items moved.
    """

    sweep = models.ForeignKey(Sweep, on_delete=models.CASCADE, related_name="tallies")
    kind = models.CharField(max_length=12, help_text="The event kind: escalated, flagged, warned.")
    rule = models.CharField(max_length=60, blank=True)
    is_theme = models.BooleanField(default=False)
    tier = models.PositiveSmallIntegerField(choices=TIER_CHOICES, help_text="Tier afterwards.")
    npt_area = models.ForeignKey("engagement.NPTArea", on_delete=models.CASCADE, related_name="+")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The assigned officer, for a tier-1 item.",
    )
    items = models.PositiveIntegerField()
    sample = models.JSONField(default=list, help_text="Ids of the first items, for the email.")
    # Claimed under a row lock by the notifier that tells these moves, so each is told once.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "sweep tallies"
        indexes = [
            models.Index(
                fields=["sweep"],
                condition=Q(notified_at__isnull=True),
                name="sweeptally_unnotified_idx",
            )
        ]

    def __str__(self):
        return f"{self.sweep_id}: {self.items} {self.kind} at tier {self.tier}"


class SweepBusinessNotice(models.Model):
    """The concerns one batch of a run moved up a tier, for one business contact address.

    Written in the batch's own statement (one row per address per batch), so a business hears
    of every concern a run moved without the notifier rereading the events. The notifier claims
    the untold rows under row locks and sends one email per address for all of them: overlapping
    runs, and the batches of one run, reach a business in one email, and never twice.
    """

    sweep = models.ForeignKey(Sweep, on_delete=models.CASCADE, related_name="business_notices")
    email = models.EmailField(max_length=254, help_text="The concern's contact address.")
    concerns = models.JSONField(default=list, help_text="Ids of the concerns the batch moved.")
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["sweep"],
                condition=Q(notified_at__isnull=True),
                name="sweepnotice_unnotified_idx",
            )
        ]

    def __str__(self):
        return f"{self.sweep_id}: {len(self.concerns)} concern(s) for {self.email}"


class Theme(TieredItem):
    """A common theme: one item linking concerns of one category in one NPT area.

    It climbs the chain like a concern (tier, deadlines, events, outcome), starting at tier 2.
    At most one theme per category and area is open at a time (a partial unique constraint), so
    detection extends the open theme instead of duplicating it.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Outcome given"

    OPEN_STATUSES = (Status.OPEN,)

    reference = models.CharField(max_length=20, unique=True, null=True, editable=False)
    title = models.CharField(max_length=250)
    category = models.ForeignKey(
        "engagement.ConcernCategory", on_delete=models.PROTECT, related_name="themes"
    )
    npt_area = models.ForeignKey(
        "engagement.NPTArea",
        on_delete=models.PROTECT,
        related_name="themes",
        verbose_name="NPT area",
    )
    concerns: "models.ManyToManyField[Concern, ThemeConcern]" = models.ManyToManyField(
        Concern, through="ThemeConcern", related_name="themes"
    )
    priority = models.CharField(
        max_length=10, choices=PRIORITY_CHOICES, default=Concern.Priority.NORMAL
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    tier = models.PositiveSmallIntegerField(choices=TIER_CHOICES, default=Concern.Tier.GROUP)
    tier_entered_at = models.DateTimeField(default=timezone.now)

    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "npt_area"],
                condition=Q(status="open"),
                name="one_open_theme_per_category_area",
            )
        ]
        indexes = [
            models.Index(
                fields=["resolution_due_at"],
                condition=Q(status="open"),
                name="theme_open_due_idx",
            ),
            models.Index(fields=["tier", "status"], name="theme_queue_idx"),
        ]

    def __str__(self):
        return self.reference or self.title


class ThemeConcern(models.Model):
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="links")
    concern = models.ForeignKey(Concern, on_delete=models.CASCADE, related_name="theme_links")
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["linked_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["theme", "concern"], name="unique_theme_concern")
        ]

    def __str__(self):
        return f"{self.theme} ← {self.concern}"


class ThemeEvent(ItemEvent):
    """One state change of a theme, written once and never edited (as ConcernEvent)."""

    class Kind(models.TextChoices):
        CREATED = "created", "Theme found"
        LINKED = "linked", "Concerns linked"
        ESCALATED = "escalated", "Escalated"
        RETURNED = "returned", "Returned to the tier below"
        RESOLVED = "resolved", "Resolved"
        DECISION = "decision", "Decision recorded"
        ACTION_DONE = "action_done", "Action completed"
        FLAGGED = "flagged", "Flagged overdue to the chair"
        WARNED = "warned", "Deadline warning sent"

    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    sweep = models.ForeignKey(
        Sweep,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="theme_events",
        db_index=False,  # the partial index below serves it
    )

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["sweep"], condition=Q(sweep__isnull=False), name="themeevent_sweep_idx"
            )
        ]

    def __str__(self):
        return f"{self.theme_id}: {self.get_kind_display()}"


class Decision(models.Model):
    """What a group or the partnership decided about an item, with the actions that follow."""

    concern = models.ForeignKey(
        Concern, on_delete=models.CASCADE, null=True, blank=True, related_name="decisions"
    )
    theme = models.ForeignKey(
        Theme, on_delete=models.CASCADE, null=True, blank=True, related_name="decisions"
    )
    tier = models.PositiveSmallIntegerField(choices=TIER_CHOICES)
    summary = models.TextField()
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The decision form's one-time key: a double click or a resent form records one decision.
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(concern__isnull=False, theme__isnull=True)
                | Q(concern__isnull=True, theme__isnull=False),
                name="decision_on_one_item",
            )
        ]

    def __str__(self):
        return f"Decision on {self.concern or self.theme}"

    @property
    def item(self):
        return self.concern or self.theme


class Action(models.Model):
    """Something a partner organisation will do by a date, agreed in a decision."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="actions")
    description = models.TextField()
    owner = models.ForeignKey(PartnerOrganisation, on_delete=models.PROTECT, related_name="+")
    owner_contact = models.CharField(
        "named contact", max_length=150, blank=True, help_text="Optional: a person or team."
    )
    due_on = models.DateField()
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    completion_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [
            models.Index(
                fields=["due_on"], condition=Q(completed_at__isnull=True), name="action_open_idx"
            )
        ]

    def __str__(self):
        return f"{self.owner}: {self.description[:60]}"

    @property
    def is_done(self):
        return self.completed_at is not None


# The insight roll-up (escalation.rollup writes it, escalation.insight reads it). Counting a
# million concerns for every look at the insight page took seconds; these rows hold the same
# counts per local day and per month, so any period is a sum over its whole months and the
# days either side: a few thousand short rows, however long the period.


class Grain(models.TextChoices):
    DAY = "day", "Day"
    MONTH = "month", "Month"  # the sum of the month's day rows


class InsightCount(models.Model):
    """What the roll-up rows share: the day (or a month's first day) and the NPT area."""

    grain = models.CharField(max_length=5, choices=Grain.choices)
    day = models.DateField()
    month = models.DateField()  # the first day of the day's month, so months group cheaply
    npt_area = models.ForeignKey(NPTArea, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class InsightReported(InsightCount):
    """Confirmed concerns reported in an NPT area about a category, and the businesses' answers."""

    category = models.ForeignKey(ConcernCategory, on_delete=models.CASCADE, related_name="+")
    reported = models.PositiveIntegerField(default=0)
    resolved_it = models.PositiveIntegerField(default=0)  # reporter_satisfied is True
    not_resolved = models.PositiveIntegerField(default=0)  # reporter_satisfied is False
    no_answer_yet = models.PositiveIntegerField(default=0)  # outcome given, no answer

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "day", "npt_area", "category"], name="insight_reported_unique"
            )
        ]

    def __str__(self):
        return f"{self.day} ({self.grain}): {self.reported} reported"


class InsightOutcome(InsightCount):
    """Concerns given an outcome in an NPT area (the outcome they have now)."""

    outcome = models.ForeignKey(Outcome, on_delete=models.CASCADE, related_name="+")
    given = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "day", "npt_area", "outcome"], name="insight_outcome_unique"
            )
        ]

    def __str__(self):
        return f"{self.day} ({self.grain}): {self.given} outcomes"


class InsightDeadline(InsightCount):
    """Resolution deadlines of concerns met or breached at a tier, by the day the stay ended:
    the day of the outcome (met or late) or of the overdue sweep's move (swept)."""

    tier = models.PositiveSmallIntegerField()
    met = models.PositiveIntegerField(default=0)
    late = models.PositiveIntegerField(default=0)
    swept = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "day", "npt_area", "tier"], name="insight_deadline_unique"
            )
        ]

    def __str__(self):
        return f"{self.day} ({self.grain}): tier {self.tier} met {self.met}, late {self.late}"


class InsightOpenNow(models.Model):
    """Concerns without an outcome at the last refresh, and those overdue with the clock running."""

    npt_area = models.ForeignKey(NPTArea, on_delete=models.CASCADE, related_name="+")
    tier = models.PositiveSmallIntegerField()
    open = models.PositiveIntegerField(default=0)
    overdue = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["npt_area", "tier"], name="insight_open_now_unique")
        ]

    def __str__(self):
        return f"Tier {self.tier}: {self.open} open, {self.overdue} overdue"


class InsightRollup(models.Model):
    """The one row saying how fresh the roll-up is; refreshes lock it so they never interleave."""

    as_of = models.DateTimeField(null=True, blank=True)  # the moment the last refresh counted
    full_at = models.DateTimeField(null=True, blank=True)  # the last rebuild from scratch
    days_refreshed = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"Insight figures as of {self.as_of}"
