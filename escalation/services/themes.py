"""Common themes: found by the detector, resolved with every linked concern."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from dorset_bcp.db import race_winner
from dorset_bcp.event_changes import change, changes_between, snapshot
from engagement import deadlines
from engagement.emails import email_queue
from engagement.models import Concern, ConcernEvent, Outcome, User

from .. import selectors
from ..models import (
    Sweep,
    SweepTally,
    Theme,
    ThemeConcern,
    ThemeEvent,
    ThemeSettings,
)
from .items import RULE_COMMON_THEME, PolicyTable, arrival_fields, lock_item, write_event
from .notifications import sweep_notify_pending


def theme_resolve(
    *, theme: Theme, actor: User, outcome: Outcome, note: str = "", from_tier: int | None = None
) -> Theme:
    """Resolve a theme and its open concerns, and tell everyone who reported one of them."""
    if outcome.requires_note and not note.strip():
        raise ValidationError(f"Explain the outcome “{outcome}” to the businesses.")
    with transaction.atomic():
        locked = lock_item(theme)
        if not locked.is_open:
            return locked
        if from_tier is not None and locked.tier != from_tier:
            body = selectors.owning_body(locked)
            raise ValidationError(f"This has moved since you opened it: it is now with {body}.")
        now = timezone.now()
        before = snapshot(locked, ["outcome"])
        Theme.objects.filter(pk=locked.pk).update(
            status=Theme.Status.RESOLVED,
            outcome=outcome,
            outcome_note=note,
            resolved_at=now,
            resolved_by=actor,
            first_responded_at=locked.first_responded_at or now,
            updated_at=now,
        )
        locked.refresh_from_db()
        write_event(
            locked,
            ThemeEvent.Kind.RESOLVED,
            actor=actor,
            from_status=Theme.Status.OPEN,
            to_status=Theme.Status.RESOLVED,
            from_tier=locked.tier,
            to_tier=locked.tier,
            detail=str(outcome),
            changes=changes_between(before, snapshot(locked, before)),
        )
        _resolve_linked_concerns(locked, actor=actor, outcome=outcome, note=note, now=now)
        _email_theme_outcome(locked)
    return locked


def _resolve_linked_concerns(
    theme: Theme, *, actor: User, outcome: Outcome, note: str, now: dt.datetime
) -> int:
    # The theme's outcome is each linked concern's outcome: the businesses see it on their own
    # concern pages, can still say "not resolved" (which reopens that concern at its tier), and
    # the concerns stop counting down to an escalation nobody needs. Locked in id order, after
    # the theme, so this never deadlocks with a sweep (SKIP LOCKED) or an officer (one row).
    ids = list(
        theme.concerns.filter(status__in=Concern.OPEN_STATUSES)
        .select_for_update(of=("self",))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    concern_note = f"Settled with the common theme {theme.reference}." + (
        f" {note}" if note.strip() else ""
    )
    rows = list(Concern.objects.filter(pk__in=ids).values_list("pk", "status", "tier", "outcome"))
    # A concern reopened by its business still has the outcome it was given before.
    earlier = {outcome_id for *_, outcome_id in rows if outcome_id is not None}
    outcomes = {row.pk: row for row in Outcome.objects.filter(pk__in=earlier)} if earlier else {}
    ConcernEvent.objects.bulk_create(
        [
            ConcernEvent(
                concern_id=pk,
                kind=ConcernEvent.Kind.RESOLVED,
                actor=actor,
                rule=RULE_COMMON_THEME,
                from_status=status,
                to_status=Concern.Status.RESOLVED,
                from_tier=tier,
                to_tier=tier,
                detail=f"{outcome} (theme {theme.reference})",
                changes=change("outcome", outcomes.get(outcome_id), outcome),
                created_at=now,
            )
            for pk, status, tier, outcome_id in rows
        ]
    )
    return Concern.objects.filter(pk__in=ids).update(
        status=Concern.Status.RESOLVED,
        outcome=outcome,
        outcome_note=concern_note,
        resolved_at=now,
        paused_at=None,
        reporter_satisfied=None,
        first_responded_at=Coalesce("first_responded_at", Value(now)),
        updated_at=now,
    )


def _email_theme_outcome(theme: Theme) -> int:
    # One email per address, naming each of that person's concerns in the theme.
    concerns = (
        theme.concerns.exclude(status=Concern.Status.UNCONFIRMED)
        .select_related("business")
        .order_by("contact_email", "pk")
    )
    by_email: dict[str, list[Concern]] = defaultdict(list)
    for concern in concerns:
        if concern.contact_email:  # empty once the reporter deleted their account
            by_email[concern.contact_email.lower()].append(concern)
    for email, their_concerns in by_email.items():
        email_queue(
            to=email,
            template="theme_outcome",
            context={
                "theme": theme,
                "concerns": their_concerns,
                "contact_name": their_concerns[0].contact_name,
            },
        )
    return len(by_email)


# Decisions and actions


@dataclass
class ThemeReport:
    sweep_id: int | None = None
    created: list[str] = field(default_factory=list)
    extended: list[str] = field(default_factory=list)
    concerns_linked: int = 0
    emails_queued: int = 0

    def lines(self) -> list[str]:
        lines = [
            f"Found {len(self.created)} new theme(s) and escalated each to its Business "
            f"Co-ordinating Group{': ' + ', '.join(self.created) if self.created else ''}.",
            f"Extended {len(self.extended)} open theme(s)"
            f"{': ' + ', '.join(self.extended) if self.extended else ''}.",
            f"Linked {self.concerns_linked} concern(s).",
            f"Queued {self.emails_queued} notification email(s).",
        ]
        return lines


def _theme_candidates(now: dt.datetime, settings_row: ThemeSettings) -> QuerySet[Concern]:
    """Concerns that can form or extend a theme: confirmed, recent, not in a resolved theme."""
    since = now - dt.timedelta(days=settings_row.window_days)
    return (
        Concern.objects.filter(created_at__gte=since, created_at__lte=now)
        .exclude(status=Concern.Status.UNCONFIRMED)
        .exclude(theme_links__theme__status=Theme.Status.RESOLVED)
    )


def theme_detect(*, now: dt.datetime | None = None, trigger: str = "beat") -> ThemeReport:
    """Form or extend a theme wherever enough businesses in one NPT raised one category."""
    now = now or timezone.now()
    settings_row = ThemeSettings.load()
    candidates = _theme_candidates(now, settings_row)
    # Set-based: one GROUP BY finds every category and area over the threshold.
    clusters = list(
        candidates.values("category_id", "npt_area_id")
        .annotate(businesses=Count("business_id", distinct=True))
        .filter(businesses__gte=settings_row.min_businesses)
        .order_by("npt_area_id", "category_id")
    )
    report = ThemeReport()
    if not clusters:
        report.emails_queued = sweep_notify_pending(now=now)
        return report
    sweep = Sweep.objects.create(kind=Sweep.Kind.THEMES, trigger=trigger, started_at=now)
    table = deadlines.policy_table()
    try:
        for cluster in clusters:
            with transaction.atomic():
                _theme_apply(cluster, candidates, settings_row, now, sweep, table, report)
    finally:
        if report.created or report.extended:
            Sweep.objects.filter(pk=sweep.pk).update(
                finished_at=timezone.now(),
                themes_created=len(report.created),
                themes_extended=len(report.extended),
                escalated=len(report.created),
            )
            report.sweep_id = sweep.pk
        else:
            sweep.delete()
    report.emails_queued = sweep_notify_pending(now=now)
    return report


def theme_link_concern(*, theme: Theme, concern: Concern, actor: User | None) -> bool:
    """Link a concern its reporter chose to add to an open theme of its category and area.
    Linking twice does nothing; False if the theme is closed or does not fit the concern."""
    with transaction.atomic():
        locked = Theme.objects.select_for_update().filter(pk=theme.pk).first()
        fits = (
            locked is not None
            and locked.status == Theme.Status.OPEN
            and locked.category_id == concern.category_id
            and locked.npt_area_id == concern.npt_area_id
        )
        if locked is None or not fits:
            return False
        _, created = ThemeConcern.objects.get_or_create(theme=locked, concern=concern)
        if created:
            write_event(
                locked,
                ThemeEvent.Kind.LINKED,
                actor=actor,
                detail=f"{concern.reference} linked by its reporter when sending it.",
            )
    return True


def _open_theme(
    category_id: int, npt_area_id: int, now: dt.datetime, table: PolicyTable
) -> tuple[Theme, bool]:
    existing = (
        Theme.objects.select_for_update()
        .filter(category_id=category_id, npt_area_id=npt_area_id, status=Theme.Status.OPEN)
        .first()
    )
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            theme = Theme.objects.create(
                category_id=category_id,
                npt_area_id=npt_area_id,
                title="",
                status=Theme.Status.OPEN,
                created_at=now,
                **arrival_fields(
                    tier=Concern.Tier.GROUP,
                    priority=Concern.Priority.NORMAL,
                    now=now,
                    table=table,
                ),
            )
    except IntegrityError as error:
        # Another run opened it a moment ago (the partial unique constraint): extend theirs.
        theirs = Theme.objects.select_for_update().filter(
            category_id=category_id, npt_area_id=npt_area_id, status=Theme.Status.OPEN
        )
        return race_winner(theirs, error), False
    theme = Theme.objects.select_related("category", "npt_area").get(pk=theme.pk)
    theme.reference = f"THM-{now.year}-{theme.pk:05d}"
    theme.title = f"{theme.category.name} in {theme.npt_area.name}"
    theme.save(update_fields=["reference", "title"])
    return theme, True


def _theme_apply(
    cluster: dict[str, Any],
    candidates: QuerySet[Concern],
    settings_row: ThemeSettings,
    now: dt.datetime,
    sweep: Sweep,
    table: PolicyTable,
    report: ThemeReport,
) -> None:
    theme, created = _open_theme(cluster["category_id"], cluster["npt_area_id"], now, table)
    new = list(
        candidates.filter(category_id=cluster["category_id"], npt_area_id=cluster["npt_area_id"])
        .exclude(theme_links__theme=theme)
        .order_by("created_at", "pk")
        .values_list("pk", "reference")
    )
    if not new:
        return
    ThemeConcern.objects.bulk_create(
        ThemeConcern(theme=theme, concern_id=pk, linked_at=now) for pk, _ in new
    )
    references = ", ".join(reference or str(pk) for pk, reference in new)
    report.concerns_linked += len(new)
    if created:
        report.created.append(theme.reference or "")
        write_event(
            theme,
            ThemeEvent.Kind.CREATED,
            actor=None,
            rule=RULE_COMMON_THEME,
            detail=f"{len(new)} concern(s) from {cluster['businesses']} businesses within "
            f"{settings_row.window_days} days: {references}",
            to_status=Theme.Status.OPEN,
            created_at=now,
        )
        write_event(
            theme,
            ThemeEvent.Kind.ESCALATED,
            actor=None,
            rule=RULE_COMMON_THEME,
            from_tier=Concern.Tier.NPT,
            to_tier=Concern.Tier.GROUP,
            detail="A common theme goes to the Business Co-ordinating Group as one item.",
            sweep=sweep,
            created_at=now,
        )
        SweepTally.objects.create(
            sweep=sweep,
            kind=ThemeEvent.Kind.ESCALATED,
            rule=RULE_COMMON_THEME,
            is_theme=True,
            tier=Concern.Tier.GROUP,
            npt_area_id=theme.npt_area_id,
            items=1,
            sample=[theme.pk],
        )
    else:
        report.extended.append(theme.reference or "")
        write_event(
            theme,
            ThemeEvent.Kind.LINKED,
            actor=None,
            rule=RULE_COMMON_THEME,
            detail=f"{len(new)} more concern(s) linked: {references}",
            sweep=sweep,
            created_at=now,
        )
        Theme.objects.filter(pk=theme.pk).update(updated_at=now)
