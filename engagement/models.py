import re

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from dorset_bcp.item_models import ImmutableEvent, ItemEvent, TieredItem

from .postcodes import normalise_district, normalise_postcode, postcode_district


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Everyone who signs in: business owners, officers, partnership members, editors."""

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Can sign in to the admin (officers, editors, administrators)."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Each session remembers the version it began under; "Sign out everywhere else" moves it on,
    # and every other session is ended at its next request (dorset_bcp.middleware), whatever
    # the session backend.
    session_version = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


class NPTArea(models.Model):
    """A Neighbourhood Policing Team and the area it covers."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True, help_text="The towns and places covered.")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    officers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="NPTOfficer",
        related_name="npt_areas",
        blank=True,
    )
    group = models.ForeignKey(
        "escalation.CoordinatingGroup",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="npt_areas",
        verbose_name="Business Co-ordinating Group",
        help_text="Tier 2 for this NPT's concerns.",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "NPT area"

    def __str__(self):
        return self.name


class NPTOfficer(models.Model):
    """An officer or PCSO posted to an NPT; they triage that NPT's concerns in the admin."""

    class Role(models.TextChoices):
        OFFICER = "officer", "Police officer"
        PCSO = "pcso", "PCSO"
        SUPERVISOR = "supervisor", "Supervisor"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    area = models.ForeignKey(NPTArea, on_delete=models.CASCADE)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OFFICER)

    class Meta:
        verbose_name = "NPT officer"
        constraints = [
            models.UniqueConstraint(fields=["user", "area"], name="unique_officer_posting")
        ]

    def __str__(self):
        return f"{self.user} ({self.area})"


class PostcodeDistrict(models.Model):
    """Routing table: which NPT covers a postcode district such as BH15."""

    code = models.CharField(max_length=4, unique=True)
    area = models.ForeignKey(NPTArea, on_delete=models.PROTECT, related_name="districts")

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code

    def clean(self):
        self.code = normalise_district(self.code)


class Sector(models.TextChoices):
    RETAIL = "retail", "Shop or retail"
    HOSPITALITY = "hospitality", "Pub, bar, restaurant or café"
    ACCOMMODATION = "accommodation", "Hotel, B&B or holiday let"
    FARM = "farm", "Farm or estate"
    EQUESTRIAN = "equestrian", "Equestrian yard or stables"
    OFFICE = "office", "Office or professional services"
    TRADES = "trades", "Trades, construction or manufacturing"
    OTHER = "other", "Other"


class SizeBand(models.TextChoices):
    SOLE_TRADER = "sole", "Sole trader"
    MICRO = "micro", "2 to 9 people"
    SMALL = "small", "10 to 49 people"
    MEDIUM = "medium", "50 to 249 people"
    LARGE = "large", "250 people or more"


class Business(models.Model):
    name = models.CharField(max_length=200)
    sector = models.CharField(max_length=20, choices=Sector.choices)
    size_band = models.CharField("size", max_length=10, choices=SizeBand.choices)
    address_line1 = models.CharField("address line 1", max_length=200)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    town = models.CharField(max_length=100)
    postcode = models.CharField(max_length=8)
    npt_area = models.ForeignKey(
        NPTArea, on_delete=models.PROTECT, related_name="businesses", verbose_name="NPT area"
    )
    is_rural = models.BooleanField("rural business", default=False)
    bid_member = models.BooleanField("member of a Business Improvement District", default=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="BusinessMembership", related_name="businesses"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "businesses"
        # The officers' search finds businesses by any part of the name or postcode
        # (engagement.search, `ILIKE '%..%'`): trigram indexes serve it on PostgreSQL. They are
        # built by engagement migration 0015 and kept out of the models' indexes (migration
        # 0017): SQLite has no GIN, and its table rebuilds recreate every declared index.

    def __str__(self):
        return self.name

    def clean(self):
        # An empty postcode is the field's own "required" error, and a form whose postcode
        # failed leaves it empty here: one message per field, the field's.
        if self.postcode:
            try:
                self.postcode = normalise_postcode(self.postcode)
            except ValidationError as exc:
                raise ValidationError({"postcode": exc}) from None

    @property
    def postcode_district(self):
        return postcode_district(self.postcode)


class BusinessMembership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MANAGER = "manager", "Manager"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.OWNER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "business"], name="unique_business_member")
        ]

    def __str__(self):
        return f"{self.user} — {self.business} ({self.get_role_display()})"


class ConcernCategory(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    hint = models.CharField(max_length=250, blank=True, help_text="Shown under the choice.")
    # Which teams are told of a concern is SpecialistTeam's routing; these flags choose the
    # specialist contacts shown with the advice that fits.
    is_cyber = models.BooleanField(
        default=False,
        help_text="Show the Cyber-Crime Protect and Prevention Officer with the advice. "
        "Which teams are told is set on each specialist team.",
    )
    is_rural = models.BooleanField(
        default=False,
        help_text="Show the Rural Crime Team with the advice. Which teams are told is set on "
        "each specialist team.",
    )
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "concern categories"

    def __str__(self):
        return self.name


class SpecialistTeam(models.Model):
    """A county-wide specialist team (the Rural Crime Team, the Cyber-Crime Protect and
    Prevention Officer): concerns in its categories, or from the businesses it looks after, are
    referred to it when they arrive, and its members see them in the admin."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    categories = models.ManyToManyField(
        ConcernCategory,
        blank=True,
        related_name="specialist_teams",
        help_text="Concerns in these categories reach the team.",
    )
    sectors = models.JSONField(
        "business types",
        default=list,
        blank=True,
        help_text="Concerns from businesses of these types reach the team.",
    )
    rural_businesses = models.BooleanField(
        "concerns from rural businesses",
        default=False,
        help_text="Every concern from a business marked rural reaches the team.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="SpecialistTeamMember",
        related_name="specialist_teams",
        blank=True,
    )
    is_active = models.BooleanField(
        default=True, help_text="An inactive team is told of nothing new."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_sectors_display(self) -> str:
        labels = dict(Sector.choices)
        return ", ".join(str(labels.get(code, code)) for code in self.sectors)


class SpecialistTeamMember(models.Model):
    """A member of a specialist team: staff who see the team's concerns, county-wide."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    team = models.ForeignKey(SpecialistTeam, on_delete=models.CASCADE, related_name="memberships")

    class Meta:
        verbose_name = "specialist team member"
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="unique_specialist_member")
        ]

    def __str__(self):
        return f"{self.user} ({self.team})"


class Outcome(models.Model):
    """An honest outcome an officer or partnership resolves a concern with."""

    # Given by the reporter, not by an officer (engagement migration 0019 loads it).
    WITHDRAWN_SLUG = "withdrawn"

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.CharField(
        max_length=250, blank=True, help_text="Shown to the business with the outcome."
    )
    requires_note = models.BooleanField(
        default=False, help_text="The officer must explain (e.g. no further action)."
    )
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class Signpost(models.Model):
    """The emergency diversion shown before the report form: where to go instead of here."""

    title = models.CharField(max_length=120)
    when = models.CharField(
        max_length=250, help_text="When this applies, e.g. 'It is happening now'."
    )
    body = models.TextField(help_text="What to do. Plain text; line breaks are kept.")
    phone = models.CharField(max_length=40, blank=True)
    link_url = models.URLField(blank=True)
    link_text = models.CharField(max_length=120, blank=True)
    is_urgent = models.BooleanField(default=False, help_text="Shown first and highlighted.")
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.title


# The officers' workbench order (engagement.admin): what is due first. A concern's next
# deadline is its first response until someone has responded, then its resolution; one with an
# outcome has none. Running items come first, then those waiting for the business, then those
# with an outcome. Written here because an index (concern_workbench_idx) serves the order, and
# PostgreSQL uses it only for exactly the same expressions.
_OPEN = ["new", "in_progress", "waiting"]
NEXT_DUE_AT = models.Case(
    models.When(~models.Q(status__in=_OPEN), then=models.Value(None)),
    models.When(
        first_responded_at__isnull=True,
        first_response_due_at__isnull=False,
        then=models.F("first_response_due_at"),
    ),
    default=models.F("resolution_due_at"),
)
DUE_RANK = models.Case(
    models.When(status__in=["new", "in_progress"], then=models.Value(0)),
    models.When(status="waiting", then=models.Value(1)),
    default=models.Value(2),
    output_field=models.IntegerField(),
)
# Words of the description and the reporter's email, as the officers' search matches them
# (engagement.search); 'simple' keeps words as typed, without English stemming.
CONCERN_WORDS = SearchVector("description", "contact_email", config="simple")


class Concern(TieredItem):
    class Status(models.TextChoices):
        UNCONFIRMED = "unconfirmed", "Waiting for email confirmation"
        NEW = "new", "New"
        IN_PROGRESS = "in_progress", "In progress"
        WAITING = "waiting", "Waiting for the business"
        RESOLVED = "resolved", "Outcome given"
        CLOSED = "closed", "Closed"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    class Impact(models.TextChoices):
        LITTLE = "little", "Little or no impact"
        SOME = "some", "Some loss or disruption"
        SERIOUS = "serious", "Serious loss, or staff feel unsafe"
        SEVERE = "severe", "It threatens the business"

    class Tier(models.IntegerChoices):
        NPT = 1, "Neighbourhood Policing Team"
        GROUP = 2, "Business Co-ordinating Group"
        PARTNERSHIP = 3, "Business Safety Partnership"

    class ContactPreference(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"

    OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.WAITING)

    reference = models.CharField(max_length=20, unique=True, null=True, editable=False)
    business = models.ForeignKey(Business, on_delete=models.PROTECT, related_name="concerns")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reported_concerns",
    )
    contact_name = models.CharField(max_length=150)
    contact_email = models.EmailField()
    contact_phone = models.CharField(max_length=30, blank=True)
    contact_preference = models.CharField(
        max_length=10, choices=ContactPreference.choices, default=ContactPreference.EMAIL
    )

    category = models.ForeignKey(ConcernCategory, on_delete=models.PROTECT)
    description = models.TextField("what happened")
    occurred_on = models.DateField("date it happened")
    occurred_time = models.TimeField("time it happened", null=True, blank=True)
    location = models.CharField("where it happened", max_length=300)
    existing_reference = models.CharField(
        "police or fraud reference already given", max_length=60, blank=True
    )
    impact = models.CharField(max_length=10, choices=Impact.choices)
    impact_details = models.TextField("impact on the business", blank=True)

    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    npt_area = models.ForeignKey(
        NPTArea, on_delete=models.PROTECT, related_name="concerns", verbose_name="NPT area"
    )
    assigned_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_concerns",
    )
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.NPT)
    # When the concern reached its tier; empty means since it arrived at tier 1.
    tier_entered_at = models.DateTimeField(null=True, blank=True)

    paused_at = models.DateTimeField(
        null=True, blank=True, help_text="Set while the concern waits for the business."
    )
    reporter_satisfied = models.BooleanField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Set when an officer closes the concern as a duplicate: the concern that deals with it.
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="duplicates",
        verbose_name="duplicate of",
        db_index=False,  # the partial index below serves it
    )

    # A guest follows the concern by a private link; only a hash of its token is stored.
    tracking_token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The form's one-time key: submitting the same form twice finds the first concern.
    submission_key = models.UUIDField(unique=True, editable=False)
    # An officer keeps the reporter's words when they are evidence, or wanted for proceedings:
    # account deletion and the retention schedule then leave the report as it is.
    # Database defaults as well, so rows written by SQL (bulk loads) need not name them.
    legal_hold = models.BooleanField(default=False, db_default=False, editable=False)
    legal_hold_reason = models.TextField(blank=True, default="", db_default="", editable=False)
    # When the reporter's words were removed (their request, or the retention schedule).
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["npt_area", "status", "-created_at"], name="concern_triage_idx"),
            # The escalation sweep's scans (escalation.services): each partial index holds only
            # the rows a pass can still act on, so an idle sweep is a few empty index probes.
            models.Index(
                fields=["resolution_due_at"],
                condition=models.Q(
                    status__in=["new", "in_progress", "waiting"],
                    paused_at__isnull=True,
                    tier__lt=3,
                ),
                name="concern_escalate_due_idx",
            ),
            models.Index(
                fields=["resolution_due_at"],
                condition=models.Q(
                    status__in=["new", "in_progress", "waiting"],
                    paused_at__isnull=True,
                    tier=3,
                    overdue_flagged_at__isnull=True,
                ),
                name="concern_top_overdue_idx",
            ),
            models.Index(
                fields=["resolution_warn_at"],
                condition=models.Q(
                    status__in=["new", "in_progress", "waiting"],
                    paused_at__isnull=True,
                    resolution_warned_at__isnull=True,
                ),
                name="concern_resolve_warn_idx",
            ),
            models.Index(
                fields=["first_response_warn_at"],
                condition=models.Q(
                    status__in=["new", "in_progress", "waiting"],
                    paused_at__isnull=True,
                    first_responded_at__isnull=True,
                    first_response_warned_at__isnull=True,
                ),
                name="concern_first_warn_idx",
            ),
            # The officers' workbench: an NPT's concerns in the order they are listed, so the
            # first page is read from the index rather than sorting the NPT's every row.
            models.Index(
                "npt_area",
                DUE_RANK,
                NEXT_DUE_AT,
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="concern_workbench_idx",
            ),
            # The same order for officers posted to several NPTs: an area list cannot be read
            # in order from the index above, so PostgreSQL sorted both NPTs' 200,000 rows for
            # every page (545 ms); reading this one in order and skipping other areas' rows
            # takes about 3 ms.
            models.Index(
                DUE_RANK,
                NEXT_DUE_AT,
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="concern_workbench_county_idx",
            ),
            # The partnership queue: open concerns above tier 1, soonest due first.
            models.Index(
                fields=["resolution_due_at", "id"],
                condition=models.Q(status__in=_OPEN, tier__gte=2),
                name="concern_queue_idx",
            ),
            # The officers' search by words of the description has a GIN index on
            # CONCERN_WORDS, PostgreSQL only and so not declared here (see Business.Meta).
            # The insight roll-up (escalation.rollup) recounts the outcomes given on a day and
            # the concerns open now; without these each refresh read the whole table.
            models.Index(
                fields=["resolved_at"],
                condition=models.Q(resolved_at__isnull=False),
                name="concern_resolved_at_idx",
            ),
            models.Index(
                fields=["npt_area", "tier"],
                condition=models.Q(status__in=["new", "in_progress", "waiting"]),
                name="concern_open_idx",
            ),
            # A concern's duplicates, for its page, without indexing the many that are none.
            models.Index(
                fields=["duplicate_of"],
                condition=models.Q(duplicate_of__isnull=False),
                name="concern_duplicate_of_idx",
            ),
        ]

    def __str__(self):
        return self.reference or f"Concern {self.pk}"

    def get_absolute_url(self):
        return reverse("engagement:concern_detail", args=[self.reference])

    @property
    def is_guest(self):
        return self.reporter_id is None

    @property
    def where_now(self):
        """Where the concern is, in the words a business owner would use."""
        if self.status == self.Status.UNCONFIRMED:
            return "Not sent yet: it reaches the police once you confirm it"
        if self.status in (self.Status.RESOLVED, self.Status.CLOSED):
            return "An outcome has been given"
        if self.tier == self.Tier.GROUP:
            # One query unless the caller loaded npt_area__group (list pages should).
            group = self.npt_area.group if self.npt_area.group_id else None
            if group is None:
                return "With the Business Co-ordinating Group for your area"
            return f"With the {group}, which brings police, councils and businesses together"
        if self.tier == self.Tier.PARTNERSHIP:
            return "With the Business Safety Partnership, which covers all of Dorset"
        return f"With the {self.npt_area} Neighbourhood Policing Team"


class SpecialistConcern(Concern):
    """A concern as a specialist team sees it in the admin: county-wide, read-only."""

    class Meta:
        proxy = True
        verbose_name = "concern for my specialist team"
        verbose_name_plural = "concerns for my specialist team"


class SpecialistReferral(models.Model):
    """A concern referred to a specialist team when it arrived; one row per team, so the
    team's members are told once however often the arrival is processed."""

    concern = models.ForeignKey(
        Concern, on_delete=models.CASCADE, related_name="specialist_referrals"
    )
    team = models.ForeignKey(SpecialistTeam, on_delete=models.PROTECT, related_name="referrals")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["concern", "team"], name="unique_specialist_referral")
        ]
        indexes = [models.Index(fields=["team", "concern"], name="referral_team_idx")]

    def __str__(self):
        return f"{self.concern} → {self.team}"


class Attachment(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        PDF = "pdf", "PDF"

    concern = models.ForeignKey(Concern, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.original_name


class HeldAttachment(models.Model):
    """A file that passed its checks on a report form not yet sent, kept against the form's
    one-time submission key so a failed submit or a detour never asks for it again.

    `holder` is who may see or use it: "u<user id>" for a signed-in person, "s<random token>"
    kept in a guest's session. Sending the report turns it into an Attachment; a periodic task
    deletes what was never sent."""

    submission_key = models.UUIDField(db_index=True)
    holder = models.CharField(max_length=50)
    file = models.FileField(upload_to="held/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.original_name


class ConcernUpdate(models.Model):
    """A message on a concern: public ones reach the reporter, notes stay with the police."""

    class Kind(models.TextChoices):
        PUBLIC = "public", "Update to the business"
        INTERNAL = "internal", "Internal note"
        QUESTION = "question", "Question to the business"
        REPLY = "reply", "Reply from the business"

    PUBLIC_KINDS = (Kind.PUBLIC, Kind.QUESTION, Kind.REPLY)

    concern = models.ForeignKey(Concern, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # The hidden one-time key of the form that posted it: a double-click posts once.
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # Advice a specialist team sent in its own name (the author is the member who wrote it).
    # No index: nothing looks updates up by team, and building one would lock writes to
    # this large, busy table while it is built.
    specialist_team = models.ForeignKey(
        SpecialistTeam,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.concern}"

    @property
    def sender_words(self) -> str:
        """Who the business sees it came from, with its kind."""
        if self.specialist_team_id:
            return f"Advice from the {self.specialist_team}"
        return self.get_kind_display()


class ConcernEvent(ItemEvent):
    """One state change of a concern, written once and never edited."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        CONFIRMED = "confirmed", "Confirmed by email"
        ASSIGNED = "assigned", "Assigned"
        PRIORITY = "priority", "Priority changed"
        UPDATE_POSTED = "update", "Update posted"
        NOTE_ADDED = "note", "Internal note added"
        QUESTION_ASKED = "question", "Question asked"
        REPLIED = "replied", "Business replied"
        RESOLVED = "resolved", "Resolved"
        REOPENED = "reopened", "Reopened by the business"
        CLOSED = "closed", "Confirmed resolved by the business"
        ESCALATED = "escalated", "Escalated"
        RETURNED = "returned", "Returned to the tier below"
        DECISION = "decision", "Decision recorded"
        ACTION_DONE = "action_done", "Action completed"
        FLAGGED = "flagged", "Flagged overdue to the chair"
        WARNED = "warned", "Deadline warning sent"
        LEGAL_HOLD = "legal_hold", "Legal hold placed or lifted"
        DUPLICATE = "duplicate", "Closed as a duplicate"
        DUPLICATE_JOINED = "dup_joined", "Duplicate joined to it"
        ATTACHED = "attached", "Attachment added by the business"
        WITHDRAWN = "withdrawn", "Withdrawn by the reporter"

    concern = models.ForeignKey(Concern, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # The automatic run (escalation sweep or theme detection) that wrote it, if any.
    sweep = models.ForeignKey(
        "escalation.Sweep",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="concern_events",
        db_index=False,  # the partial index below serves it
    )

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # A run's events, without indexing the many events no run wrote.
            models.Index(
                fields=["sweep"],
                condition=models.Q(sweep__isnull=False),
                name="concernevent_sweep_idx",
            )
        ]

    def __str__(self):
        return f"{self.concern_id}: {self.get_kind_display()}"


class BusinessEvent(ImmutableEvent):
    """One change to a business's details or its people, written once and never edited.

    Its name and address (and so its postcode) are only ever recorded as changed, never by
    value (BUSINESS_REDACTED_FIELDS): erasure removes them from the business, and an event is
    never edited. What it is (type, size, NPT area, rural, BID) is recorded by value."""

    class Kind(models.TextChoices):
        CREATED = "created", "Added"
        UPDATED = "updated", "Details changed"
        MEMBER_LEFT = "member_left", "A person left it"
        ANONYMISED = "anonymised", "Name and address removed"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)

    class Meta(ImmutableEvent.Meta):
        verbose_name = "business event"

    def __str__(self):
        return f"{self.business_id}: {self.get_kind_display()}"


# The fields of a business its events record, and those recorded only as changed.
# What a business's people (and the admin) edit: the forms and the data export name these.
BUSINESS_DETAIL_FIELDS = (
    "name",
    "sector",
    "size_band",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "is_rural",
    "bid_member",
)
# ... and the NPT a postcode routes it to: what a business event records.
BUSINESS_EVENT_FIELDS = (*BUSINESS_DETAIL_FIELDS, "npt_area")
BUSINESS_REDACTED_FIELDS = frozenset({"name", "address_line1", "address_line2", "town", "postcode"})


class OutboundEmail(models.Model):
    """An email written in the same transaction as the change that caused it.

    A Celery task sends it after commit; a periodic sweep sends any the broker lost. The row,
    not the message, is the source of truth (engagement/emails.py says what is guaranteed):

    - Never lost: a row is only marked sent after the mail server accepted it. A refused send
      is tried again with backoff (1, 2, 4 … minutes, then hourly) for three days; after that
      `failed_at` is set and the row is kept for an administrator to send again.
    - Each attempt is claimed in a committed update before the send (`attempts`,
      `attempt_started_at`, `claim_token`; a batch of rows in one update), so two workers never
      send the same row at once.
    - An attempt whose outcome is unknown (`attempt_started_at` set, not sent) is not tried
      again for 30 minutes (emails.UNKNOWN_OUTCOME_AFTER); the "sent" mark is retried on a
      fresh connection, so only a database gone for that long can cause a second copy, and
      then with the same Message-ID.

    An email carrying a secret (a guest's private tracking link) has its bodies blanked once
    it is sent; sent rows are deleted after a retention period (email_purge_sent).
    """

    to = models.EmailField()
    subject = models.CharField(max_length=250)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    contains_secret = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=250, blank=True)
    # Which batch claimed the current attempt: a batch is claimed in one UPDATE and then read
    # back by this token, so two senders never take the same row.
    claim_token = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(sent_at__isnull=True),
                name="outboundemail_due_idx",
            )
        ]

    def __str__(self):
        return f"{self.subject} → {self.to}"


# A placeholder is a word in braces. Only the words in ResponseTemplate.PLACEHOLDERS are filled;
# anything else stays as written, so a brace in ordinary text never breaks a message.
PLACEHOLDER = re.compile(r"\{(\w+)\}")


class ResponseTemplateQuerySet(models.QuerySet):
    def offered_for(self, concern: Concern):
        """Active templates that fit the concern: its category and status, or any."""
        return self.filter(
            models.Q(category__isnull=True) | models.Q(category=concern.category_id),
            models.Q(status="") | models.Q(status=concern.status),
            is_active=True,
        )


class ResponseTemplate(models.Model):
    """Wording an officer can start a message to the business from, then edit before sending."""

    # The values are the names of the triage forms on a concern's admin page.
    class UsedFor(models.TextChoices):
        UPDATE = "update", "Update to the business"
        QUESTION = "question", "Question to the business"
        RESOLVE = "resolve", "Explanation with an outcome"

    PLACEHOLDERS = {
        "reference": "the concern's reference, e.g. DBC-2026-000123",
        "business": "the business's name",
        "category": "the concern's category",
        "officer": "the name of the officer sending it",
    }
    # Room for the filled-in names within the 5,000 characters a message may have.
    BODY_LIMIT = 4000
    # A question is asked, and an outcome given, only while the concern is open.
    OPEN_ONLY = (UsedFor.QUESTION, UsedFor.RESOLVE)
    STATUS_CHOICES = [
        (status.value, status.label)
        for status in Concern.Status
        if status != Concern.Status.UNCONFIRMED
    ]

    title = models.CharField(
        max_length=120, help_text="What officers choose it by, e.g. 'Patrols arranged'."
    )
    body = models.TextField(
        "text",
        max_length=BODY_LIMIT,
        help_text="Plain text the officer can edit before sending. These are filled in: "
        + "; ".join(f"{{{name}}} {meaning}" for name, meaning in PLACEHOLDERS.items())
        + ".",
    )
    used_for = models.CharField(
        "offered in",
        max_length=10,
        choices=UsedFor.choices,
        help_text="The triage form on a concern's page that offers it.",
    )
    category = models.ForeignKey(
        ConcernCategory,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="response_templates",
        help_text="Offered only for concerns in this category. Leave empty for every category.",
    )
    status = models.CharField(
        max_length=12,
        choices=STATUS_CHOICES,
        blank=True,
        help_text="Offered only for concerns with this status. Leave empty for every status.",
    )
    is_active = models.BooleanField(
        "in use", default=True, help_text="Untick to stop offering it without deleting it."
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower numbers come first.")

    objects = ResponseTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["position", "title", "pk"]

    def __str__(self):
        return self.title

    def clean(self):
        errors = {}
        unknown = sorted(
            {name for name in PLACEHOLDER.findall(self.body) if name not in self.PLACEHOLDERS}
        )
        if unknown:
            known = ", ".join(f"{{{name}}}" for name in self.PLACEHOLDERS)
            errors["body"] = (
                f"{', '.join(f'{{{name}}}' for name in unknown)} cannot be filled in. "
                f"The text can use {known}."
            )
        if (
            self.used_for in self.OPEN_ONLY
            and self.status
            and self.status not in Concern.OPEN_STATUSES
        ):
            errors["status"] = (
                f"A {self.get_used_for_display().lower()} is only offered while the concern is "
                "open: choose New, In progress or Waiting for the business, or leave it empty."
            )
        if errors:
            raise ValidationError(errors)

    def fill(self, *, concern: Concern, officer) -> str:
        """The text with the concern's reference, business, category and officer filled in."""
        values = {
            "reference": str(concern),
            "business": concern.business.name,
            "category": concern.category.name,
            "officer": officer.get_full_name(),
        }
        text = PLACEHOLDER.sub(lambda match: values.get(match[1], match[0]), self.body)
        return text.replace("\r\n", "\n")
