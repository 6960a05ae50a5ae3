"""A person's copy of their data, the retention schedule and its disposal log, and the
public privacy notice and accessibility statement."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

# What replaces a person's words once they asked for their account to go, or once the
# retention schedule says a closed concern is kept for counting only.
REMOVED = "[removed at the reporter's request]"
REMOVED_BY_SCHEDULE = "[removed under the retention schedule]"


class DataExport(models.Model):
    """One "Download your data" request: built by a task, emailed as a link, then deleted."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being prepared"
        READY = "ready", "Ready to download"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    size = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            # Repeated clicks while one is being prepared find that one: the database refuses a
            # second, whichever request gets there first.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status="pending"),
                name="one_pending_export_per_user",
            )
        ]

    def __str__(self):
        return f"Data export {self.pk} ({self.get_status_display()})"


class RetentionRule(models.Model):
    """How long one kind of record is kept before it is anonymised or deleted."""

    class Kind(models.TextChoices):
        CLOSED_CONCERNS = "closed_concerns", "Concerns with an outcome (anonymised)"
        UNCONFIRMED_GUEST_REPORTS = "guest_reports", "Guest reports never confirmed (deleted)"
        EXPORT_FILES = "export_files", "Copies of a person's data (deleted)"
        SENT_EMAILS = "sent_emails", "Sent emails in the outbox (deleted)"

    kind = models.CharField(max_length=20, choices=Kind.choices, unique=True, editable=False)
    days = models.PositiveIntegerField(
        help_text="Days after the record's starting point (see the basis) before it is disposed of."
    )
    basis = models.TextField(
        help_text="Why this period: the starting point and the review period it follows."
    )
    is_active = models.BooleanField(
        default=True, help_text="Untick to pause disposal of this kind (for example a legal hold)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind"]

    def __str__(self):
        return self.get_kind_display()

    @property
    def period(self) -> dt.timedelta:
        return dt.timedelta(days=self.days)


class DisposalLog(models.Model):
    """What one run of the retention schedule disposed of, for one kind of record."""

    kind = models.CharField(max_length=20, choices=RetentionRule.Kind.choices)
    count = models.PositiveIntegerField()
    cutoff = models.DateTimeField(help_text="Records older than this were disposed of.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    trigger = models.CharField(max_length=20, default="beat")

    class Meta:
        ordering = ["-started_at", "kind"]
        verbose_name = "disposal log entry"
        verbose_name_plural = "disposal log"

    def __str__(self):
        return f"{self.get_kind_display()}: {self.count} on {self.started_at:%Y-%m-%d %H:%M}"


class Page(models.Model):
    """A public page whose wording the administrators and OPCC editors keep."""

    class Slug(models.TextChoices):
        PRIVACY = "privacy", "Privacy notice"
        ACCESSIBILITY = "accessibility", "Accessibility statement"

    slug = models.CharField(max_length=20, choices=Slug.choices, unique=True, editable=False)
    title = models.CharField(max_length=150)
    body = models.TextField(
        help_text=(
            "Plain text. A blank line starts a new paragraph; a line starting with '## ' is a "
            "heading; lines starting with '- ' make a list. No HTML."
        )
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse(f"privacy:{self.slug}")
