"""Prevention and community: the resource library, Watch schemes and their alerts, seminars and
the specialist contacts shown with advice.

Data-model choices, in brief:
- Topics are rows (editors add them); sectors reuse engagement's Sector choices, one
  ResourceSector row per sector, and a resource with no sector rows is for every business.
- Which resources count as advice for a concern is data: Resource.categories links a resource to
  the ConcernCategory rows it answers, so editors change the advice without a deploy.
- A Watch scheme's members are businesses (SchemeMembership); the person who applied is the
  membership's contact and receives its alerts. A declined or former member may apply again, so
  uniqueness holds only over open (pending or approved) memberships.
- AlertDelivery records each alert that reached each membership, immediately or in a digest; its
  unique (alert, membership) pair is what stops an alert being emailed twice.
- Booking uniqueness is per person and seminar over live bookings (confirmed or waiting).
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from dorset_bcp.item_models import ImmutableEvent
from engagement.models import ConcernCategory, Sector


class Topic(models.Model):
    """A subject resources are filed under, such as cyber security or rural crime."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.CharField(max_length=250, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class Resource(models.Model):
    """A piece of prevention advice: a link to someone else's guidance or a document we host."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    summary = models.CharField(
        max_length=300, help_text="One or two sentences shown in lists and with advice."
    )
    body = models.TextField(blank=True, help_text="Plain text; line breaks are kept.")
    publisher = models.CharField(
        max_length=150, blank=True, help_text="Who wrote it, e.g. National Cyber Security Centre."
    )
    topics = models.ManyToManyField(Topic, related_name="resources", blank=True)
    categories = models.ManyToManyField(
        ConcernCategory,
        related_name="resources",
        blank=True,
        verbose_name="advice for concern categories",
        help_text="Shown as advice to businesses who report a concern in these categories.",
    )
    link_url = models.URLField("link", max_length=500, blank=True)
    document = models.FileField(upload_to="resources/%Y/", blank=True)
    document_name = models.CharField(max_length=255, blank=True, editable=False)
    document_size = models.PositiveIntegerField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    position = models.PositiveSmallIntegerField(
        default=100, help_text="Lower numbers are listed first."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(link_url="") ^ Q(document=""),
                name="resource_link_xor_document",
                violation_error_message="Give either a link or a document, not both.",
            )
        ]
        indexes = [models.Index(fields=["status", "position", "title"], name="resource_list_idx")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("resources:resource_detail", args=[self.slug])

    def clean(self):
        if bool(self.link_url) == bool(self.document):
            raise ValidationError("Give either a link to the guidance or a document, not both.")

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED

    @property
    def sector_labels(self) -> list[str]:
        """The sectors this is for; uses the prefetched rows when there are some."""
        return [tag.get_sector_display() for tag in self.sector_tags.all()]


class ResourceSector(models.Model):
    """One sector a resource is written for."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="sector_tags")
    sector = models.CharField(max_length=20, choices=Sector.choices)

    class Meta:
        ordering = ["sector"]
        constraints = [
            models.UniqueConstraint(fields=["resource", "sector"], name="unique_resource_sector")
        ]

    def __str__(self):
        return self.get_sector_display()


class SpecialistContact(models.Model):
    """A specialist team shown on the contacts page and with advice that fits."""

    class Team(models.TextChoices):
        RURAL = "rural", "Rural Crime Team"
        CYBER = "cyber", "Cyber-Crime Protect and Prevention Officer"
        OTHER = "other", "Other specialist"

    team = models.CharField(
        max_length=10,
        choices=Team.choices,
        help_text="Rural: shown to rural businesses and with rural crime. Cyber: shown with "
        "cyber crime categories.",
    )
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    link_url = models.URLField("web page", blank=True)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


# Watch schemes


class WatchScheme(models.Model):
    """A long-standing Watch scheme: Shop, Pub, Hotel, Farm or Horse Watch."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    summary = models.CharField(max_length=300)
    description = models.TextField(blank=True, help_text="Plain text; line breaks are kept.")
    who_for = models.CharField("who can join", max_length=250, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    coordinators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="coordinated_schemes",
        blank=True,
        help_text="They approve members and post alerts from the scheme's page on the site.",
    )
    is_accepting = models.BooleanField("accepting applications", default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("resources:scheme_detail", args=[self.slug])


class SchemeMembership(models.Model):
    """A business's application to, and membership of, a Watch scheme."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the coordinator"
        APPROVED = "approved", "Member"
        DECLINED = "declined", "Declined"
        LEFT = "left", "Left the scheme"

    class AlertPreference(models.TextChoices):
        EVERY = "every", "Email me every alert as it is posted"
        URGENT = "urgent", "Email me urgent alerts only"
        DIGEST = "digest", "Email me a weekly digest"

    OPEN_STATUSES = (Status.PENDING, Status.APPROVED)

    scheme = models.ForeignKey(WatchScheme, on_delete=models.CASCADE, related_name="memberships")
    business = models.ForeignKey(
        "engagement.Business", on_delete=models.CASCADE, related_name="scheme_memberships"
    )
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scheme_memberships",
        help_text="The person who applied; they receive the scheme's alerts.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    alert_preference = models.CharField(
        max_length=10, choices=AlertPreference.choices, default=AlertPreference.EVERY
    )
    application_note = models.TextField(blank=True)
    applied_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decision_reason = models.TextField(blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    # The Monday of the week this membership was last sent a digest: claimed with the digest,
    # so a second run in the same week (a retry, two beats) sends it nothing.
    last_digest_week = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-applied_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "business"],
                condition=Q(status__in=["pending", "approved"]),
                name="one_open_scheme_membership",
            )
        ]
        indexes = [models.Index(fields=["scheme", "status"], name="membership_scheme_status_idx")]

    def __str__(self):
        return f"{self.business} in {self.scheme}"

    @property
    def is_open(self):
        return self.status in self.OPEN_STATUSES


class Alert(models.Model):
    """A message from a scheme's coordinator or an editor to its members; members only."""

    class Urgency(models.TextChoices):
        ROUTINE = "routine", "Routine"
        URGENT = "urgent", "Urgent"

    scheme = models.ForeignKey(WatchScheme, on_delete=models.CASCADE, related_name="alerts")
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Plain text; line breaks are kept.")
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this it is marked expired and left out of digests."
    )
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    posted_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The form's one-time key: posting the same form twice finds the first alert.
    submission_key = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    # Set when every member who wants it at once has an email queued; until then a task (or
    # the sweep, if its message was lost) is writing them, and the page says it is being sent.
    queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When a sender last wrote a batch of its emails: the sweep leaves an alert alone while
    # its sender is still going, however long a large scheme takes.
    sending_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the expiry rule recorded that the alert had expired (its "expired" event): claimed
    # with the event, so two runs write it once. A new expiry in the future clears it.
    expiry_recorded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-posted_at", "-pk"]
        indexes = [
            # The expiry rule's probe: alerts with an expiry it has not recorded yet.
            models.Index(
                fields=["expires_at"],
                condition=Q(expires_at__isnull=False, expiry_recorded_at__isnull=True),
                name="alert_expiry_due_idx",
            )
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("resources:alert_detail", args=[self.scheme.slug, self.pk])

    @property
    def is_urgent(self):
        return self.urgency == self.Urgency.URGENT

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()


class AlertDelivery(models.Model):
    """An alert that has reached a membership, immediately or in a weekly digest; written once."""

    class Channel(models.TextChoices):
        IMMEDIATE = "immediate", "As posted"
        DIGEST = "digest", "Weekly digest"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    membership = models.ForeignKey(
        SchemeMembership, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    email = models.ForeignKey(
        "engagement.OutboundEmail", on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "alert deliveries"
        constraints = [
            models.UniqueConstraint(fields=["alert", "membership"], name="alert_sent_once")
        ]

    def __str__(self):
        return f"{self.alert} → {self.membership}"


# Seminars


class Seminar(models.Model):
    """A themed Business Crime Seminar that businesses book places on."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        CANCELLED = "cancelled", "Cancelled"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    theme = models.CharField(max_length=150, help_text="e.g. Cyber crime: protect your business.")
    description = models.TextField(blank=True, help_text="Plain text; line breaks are kept.")
    topics = models.ManyToManyField(Topic, related_name="seminars", blank=True)
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    venue = models.CharField(max_length=300, blank=True, help_text="The address, if in person.")
    online_url = models.URLField("online link", max_length=500, blank=True)
    capacity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancellation_reason = models.TextField(blank=True, editable=False)
    # iCalendar SEQUENCE: goes up whenever the time, place or status changes (RFC 5545 3.8.7.4).
    sequence = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="seminar_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="seminar_has_places"),
        ]

    def __str__(self):
        return f"{self.title} ({timezone.localtime(self.starts_at):%d %b %Y})"

    def get_absolute_url(self):
        return reverse("resources:seminar_detail", args=[self.slug])

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The seminar must end after it starts."})
        if not self.venue and not self.online_url:
            raise ValidationError("Give a venue, an online link, or both.")

    @property
    def is_cancelled(self):
        return self.status == self.Status.CANCELLED

    @property
    def is_bookable(self):
        return self.status == self.Status.PUBLISHED and self.starts_at > timezone.now()


class Booking(models.Model):
    """A person's place, or place on the waiting list, at a seminar for one of their businesses."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Booked"
        WAITING = "waiting", "On the waiting list"
        CANCELLED = "cancelled", "Cancelled"

    LIVE_STATUSES = (Status.CONFIRMED, Status.WAITING)

    seminar = models.ForeignKey(Seminar, on_delete=models.CASCADE, related_name="bookings")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seminar_bookings"
    )
    business = models.ForeignKey(
        "engagement.Business", on_delete=models.CASCADE, related_name="seminar_bookings"
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["seminar", "user"],
                condition=Q(status__in=["confirmed", "waiting"]),
                name="one_live_booking_per_person",
            )
        ]
        indexes = [
            models.Index(fields=["seminar", "status", "created_at"], name="booking_queue_idx")
        ]

    def __str__(self):
        return f"{self.user} at {self.seminar}"

    @property
    def is_live(self):
        return self.status in self.LIVE_STATUSES


class CommunityEvent(ImmutableEvent):
    """One change to a membership, alert, seminar, booking or library resource, written once
    and never edited."""

    class Kind(models.TextChoices):
        APPLIED = "applied", "Applied to join"
        APPROVED = "approved", "Application approved"
        DECLINED = "declined", "Application declined"
        LEFT = "left", "Left the scheme"
        PREFERENCE = "preference", "Alert preference changed"
        CONTACT_CHANGED = "contact", "Contact handed over"
        ALERT_POSTED = "alert", "Alert posted"
        BOOKED = "booked", "Place booked"
        WAITLISTED = "waitlisted", "Joined the waiting list"
        PROMOTED = "promoted", "Given a place from the waiting list"
        BOOKING_CANCELLED = "unbooked", "Booking cancelled"
        SEMINAR_CANCELLED = "cancelled", "Seminar cancelled"
        SEMINAR_CHANGED = "sem_changed", "Seminar details changed"
        EXPIRY_CHANGED = "expiry", "Alert expiry changed"
        ALERT_EXPIRED = "expired", "Alert expired"
        RESOURCE_PUBLISHED = "published", "Published"
        RESOURCE_UNPUBLISHED = "unpublished", "Unpublished"
        RESOURCE_EDITED = "res_edited", "Published resource edited"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    membership = models.ForeignKey(
        SchemeMembership, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    seminar = models.ForeignKey(
        Seminar, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    booking = models.ForeignKey(
        Booking, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    # A resource with events keeps them: it cannot be deleted (unpublish it instead); one that
    # never had any (a draft never published) can.
    resource = models.ForeignKey(
        Resource,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )

    class Meta(ImmutableEvent.Meta):
        indexes = [
            # A resource's History, without indexing the many events that are of no resource.
            models.Index(
                fields=["resource"],
                condition=Q(resource__isnull=False),
                name="communityevent_resource_idx",
            )
        ]

    def __str__(self):
        return self.get_kind_display()
