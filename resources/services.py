"""Every write to resources, Watch schemes, alerts, seminars and bookings goes through here."""

import datetime as dt
import logging
import uuid
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from dorset_bcp.db import race_winner
from dorset_bcp.event_changes import Changes, change, changes_between, snapshot
from engagement.emails import (
    RenderedEmail,
    email_blank,
    email_queue,
    email_queue_many,
    email_render,
    publish_or_leave_to_sweep,
)
from engagement.models import Business, User
from engagement.selectors import businesses_of_user

from . import selectors
from .models import (
    Alert,
    AlertDelivery,
    Booking,
    CommunityEvent,
    Resource,
    ResourceSector,
    SchemeMembership,
    Seminar,
    Topic,
    WatchScheme,
)

logger = logging.getLogger(__name__)

# The digest runs weekly and sends what each member has not had; looking back two weeks lets a
# run that was missed or late catch up, and the delivery records stop anything going twice.
DIGEST_WINDOW = dt.timedelta(days=14)
# Members per transaction when an alert or the digest is sent: one statement of each kind per
# batch (members, emails, deliveries), and a batch's locks and rows stay small.
ALERT_BATCH_SIZE = 500
DIGEST_BATCH_SIZE = 500
DELIVERY_INSERT_BATCH = 2000
# The sweep sends alerts whose task never ran: those of the last day, once the task has had a
# couple of minutes to do it.
ALERT_SWEEP_LOOKBACK = dt.timedelta(days=1)
ALERT_SWEEP_GRACE = dt.timedelta(minutes=2)


# Alerts whose expiry the rule records per transaction.
EXPIRY_BATCH_SIZE = 500


def _event(
    kind: str,
    *,
    actor: User | None = None,
    detail: str = "",
    changes: Changes | None = None,
    **links: Any,
) -> CommunityEvent:
    return CommunityEvent.objects.create(
        kind=kind, actor=actor, detail=detail, changes=changes, **links
    )


def _require_member_of(user: User, business: Business) -> None:
    if not businesses_of_user(user).filter(pk=business.pk).exists():
        raise PermissionDenied("You can act only for businesses you belong to.")


# Resource library


def _resource_snapshot(resource: Resource) -> dict[str, Any]:
    """What a resource's events record: its status, and while published its title and topics."""
    return {
        "status": resource.status,
        "title": resource.title,
        "topics": list(resource.topics.order_by("pk")),
    }


def _resource_record(
    *, resource: Resource, actor: User | None, before: dict[str, Any] | None, after: dict[str, Any]
) -> CommunityEvent | None:
    """The event for a saved resource: published or unpublished (with what else changed in the
    same save), or an edit of the title or topics while it stays published; a draft's edits
    are not recorded."""
    changes = changes_between(before or {}, after)
    if changes is None:
        return None
    was_published = before is not None and before["status"] == Resource.Status.PUBLISHED
    now_published = after["status"] == Resource.Status.PUBLISHED
    if now_published and not was_published:
        kind = CommunityEvent.Kind.RESOURCE_PUBLISHED
    elif was_published and not now_published:
        kind = CommunityEvent.Kind.RESOURCE_UNPUBLISHED
    elif was_published:
        kind = CommunityEvent.Kind.RESOURCE_EDITED
    else:
        return None
    if before is None:
        # A new resource published at once: its status, not a list of every first value.
        changes = change("status", None, after["status"])
    return _event(kind, actor=actor, resource=resource, changes=changes)


def resource_save(
    *,
    resource: Resource,
    sectors: list[str],
    document: UploadedFile | None = None,
    topics: list[Topic] | None = None,
    actor: User | None = None,
) -> Resource:
    """Save a resource from the admin with its sectors (and topics, when given); a new document
    gets a random file name. Publishing, unpublishing, or changing the title or topics of a
    published resource writes an event, with `actor` as the editor, in the same transaction."""
    with transaction.atomic():
        before = None
        if resource.pk is not None:
            current = Resource.objects.select_for_update().filter(pk=resource.pk).first()
            before = _resource_snapshot(current) if current is not None else None
        if document is not None:
            resource.document_name = (document.name or "document.pdf")[:255]
            resource.document_size = document.size
            document.name = f"{uuid.uuid4().hex}.pdf"
            resource.document = document
        elif not resource.document:
            resource.document_name = ""
            resource.document_size = None
        if resource.status == Resource.Status.PUBLISHED and resource.published_at is None:
            resource.published_at = timezone.now()
        resource.full_clean(exclude=["topics", "categories"])
        resource.save()
        wanted = set(sectors)
        resource.sector_tags.exclude(sector__in=wanted).delete()
        existing = set(resource.sector_tags.values_list("sector", flat=True))
        ResourceSector.objects.bulk_create(
            [ResourceSector(resource=resource, sector=s) for s in sorted(wanted - existing)]
        )
        if topics is not None:
            resource.topics.set(topics)
        _resource_record(
            resource=resource, actor=actor, before=before, after=_resource_snapshot(resource)
        )
    return resource


def _resource_set_status(
    *, resource: Resource, actor: User | None, new: str, **values: Any
) -> bool:
    old = Resource.Status.DRAFT if new == Resource.Status.PUBLISHED else Resource.Status.PUBLISHED
    with transaction.atomic():
        claimed = Resource.objects.filter(pk=resource.pk, status=old).update(status=new, **values)
        if claimed:
            _event(
                CommunityEvent.Kind.RESOURCE_PUBLISHED
                if new == Resource.Status.PUBLISHED
                else CommunityEvent.Kind.RESOURCE_UNPUBLISHED,
                actor=actor,
                resource=resource,
                changes=change("status", old, new),
            )
    return bool(claimed)


def resource_publish(*, resource: Resource, actor: User | None) -> bool:
    """Publish a draft; True if this call published it (and wrote the event)."""
    return _resource_set_status(
        resource=resource,
        actor=actor,
        new=Resource.Status.PUBLISHED,
        published_at=timezone.now(),
    )


def resource_unpublish(*, resource: Resource, actor: User | None) -> bool:
    """Take a resource off the public site; True if this call did it (and wrote the event)."""
    return _resource_set_status(resource=resource, actor=actor, new=Resource.Status.DRAFT)


# Watch schemes: membership


def scheme_set_coordinators(*, scheme: WatchScheme, coordinators: list[User]) -> None:
    """Replace the people who coordinate a scheme."""
    scheme.coordinators.set(coordinators)


def _scheme_managers_emails(scheme: WatchScheme) -> list[str]:
    emails = list(
        scheme.coordinators.filter(is_active=True).order_by("email").values_list("email", flat=True)
    )
    if not emails and scheme.email:
        emails = [scheme.email]
    return emails


def membership_apply(
    *, scheme: WatchScheme, business: Business, user: User, note: str = ""
) -> SchemeMembership:
    """Apply for a business to join a scheme; applying again gives back the open application."""
    _require_member_of(user, business)
    existing = SchemeMembership.objects.filter(
        scheme=scheme, business=business, status__in=SchemeMembership.OPEN_STATUSES
    ).first()
    if existing is not None:
        return existing
    if not scheme.is_accepting:
        raise ValidationError(f"{scheme.name} is not taking applications at the moment.")
    try:
        with transaction.atomic():
            membership = SchemeMembership.objects.create(
                scheme=scheme, business=business, contact=user, application_note=note
            )
            _event(
                CommunityEvent.Kind.APPLIED,
                actor=user,
                membership=membership,
                changes=change("status", None, membership.status),
            )
            for to in _scheme_managers_emails(scheme):
                email_queue(to=to, template="watch_application", context={"membership": membership})
    except IntegrityError as error:
        # A double submission raced this one; the other created the application.
        return race_winner(
            SchemeMembership.objects.filter(
                scheme=scheme, business=business, status__in=SchemeMembership.OPEN_STATUSES
            ),
            error,
        )
    return membership


def _decide(
    *, membership: SchemeMembership, actor: User, new_status: str, reason: str
) -> SchemeMembership:
    if not selectors.can_manage_scheme(actor, membership.scheme):
        raise PermissionDenied("Only the scheme's coordinators and editors decide applications.")
    now = timezone.now()
    with transaction.atomic():
        claimed = SchemeMembership.objects.filter(
            pk=membership.pk, status=SchemeMembership.Status.PENDING
        ).update(status=new_status, decided_at=now, decided_by=actor, decision_reason=reason)
        membership.refresh_from_db()
        if not claimed:
            return membership
        approved = new_status == SchemeMembership.Status.APPROVED
        _event(
            CommunityEvent.Kind.APPROVED if approved else CommunityEvent.Kind.DECLINED,
            actor=actor,
            membership=membership,
            detail=reason,
            changes=change("status", SchemeMembership.Status.PENDING, new_status),
        )
        contact = membership.contact
        if contact is not None and contact.is_active:
            email_queue(
                to=contact.email,
                template="watch_approved" if approved else "watch_declined",
                context={"membership": membership},
            )
    return membership


def membership_approve(*, membership: SchemeMembership, actor: User) -> SchemeMembership:
    """Accept a pending application and tell the applicant; does nothing once decided."""
    return _decide(
        membership=membership, actor=actor, new_status=SchemeMembership.Status.APPROVED, reason=""
    )


def membership_decline(
    *, membership: SchemeMembership, actor: User, reason: str
) -> SchemeMembership:
    """Turn down a pending application with a reason the applicant is told."""
    if not reason.strip():
        raise ValidationError("Give the business a reason.")
    return _decide(
        membership=membership,
        actor=actor,
        new_status=SchemeMembership.Status.DECLINED,
        reason=reason.strip(),
    )


def membership_leave(*, membership: SchemeMembership, user: User) -> SchemeMembership:
    """Leave a scheme (or withdraw an application); alerts stop at once."""
    if membership.contact_id != user.pk:
        # The contact may always end it, even after leaving the business (closing an account).
        _require_member_of(user, membership.business)
    with transaction.atomic():
        was = (
            SchemeMembership.objects.select_for_update()
            .filter(pk=membership.pk)
            .values_list("status", flat=True)
            .first()
        )
        claimed = SchemeMembership.objects.filter(
            pk=membership.pk, status__in=SchemeMembership.OPEN_STATUSES
        ).update(status=SchemeMembership.Status.LEFT, left_at=timezone.now())
        membership.refresh_from_db()
        if claimed:
            _event(
                CommunityEvent.Kind.LEFT,
                actor=user,
                membership=membership,
                changes=change("status", was, SchemeMembership.Status.LEFT),
            )
    return membership


def membership_hand_over(
    *, membership: SchemeMembership, contact: User, actor: User
) -> SchemeMembership:
    """Make another person of the member business the scheme's contact (who gets the alerts);
    does nothing once the membership has ended."""
    if membership.contact_id != actor.pk:
        _require_member_of(actor, membership.business)
    _require_member_of(contact, membership.business)
    with transaction.atomic():
        current = (
            SchemeMembership.objects.select_for_update(of=("self",))
            .select_related("contact")
            .filter(pk=membership.pk)
            .first()
        )
        changed = (
            SchemeMembership.objects.filter(
                pk=membership.pk, status__in=SchemeMembership.OPEN_STATUSES
            )
            .exclude(contact=contact)
            .update(contact=contact)
        )
        membership.refresh_from_db()
        if changed:
            _event(
                CommunityEvent.Kind.CONTACT_CHANGED,
                actor=actor,
                membership=membership,
                detail=contact.email,
                changes=change("contact", current.contact if current else None, contact),
            )
    return membership


def membership_set_preference(
    *, membership: SchemeMembership, user: User, preference: str
) -> SchemeMembership:
    """Choose how the membership's contact hears about alerts."""
    _require_member_of(user, membership.business)
    if preference not in SchemeMembership.AlertPreference.values:
        raise ValidationError("Choose how you want to hear about alerts.")
    with transaction.atomic():
        was = (
            SchemeMembership.objects.select_for_update()
            .filter(pk=membership.pk)
            .values_list("alert_preference", flat=True)
            .first()
        )
        changed = (
            SchemeMembership.objects.filter(pk=membership.pk)
            .exclude(alert_preference=preference)
            .update(alert_preference=preference)
        )
        membership.refresh_from_db()
        if changed:
            _event(
                CommunityEvent.Kind.PREFERENCE,
                actor=user,
                membership=membership,
                detail=membership.get_alert_preference_display(),
                changes=change("alert_preference", was, preference),
            )
    return membership


# Watch schemes: alerts


def _reachable_memberships() -> QuerySet[SchemeMembership]:
    """Approved memberships whose contact is active and still belongs to the business: someone
    who has left a business stops receiving its members-only alerts."""
    return SchemeMembership.objects.filter(
        status=SchemeMembership.Status.APPROVED,
        contact__is_active=True,
        business__memberships__user=F("contact"),
    )


def alert_post(
    *,
    scheme: WatchScheme,
    actor: User,
    title: str,
    body: str,
    urgency: str = Alert.Urgency.ROUTINE,
    expires_at: dt.datetime | None = None,
    submission_key: uuid.UUID | None = None,
) -> Alert:
    """Post an alert to a scheme's members; a task emails those who want it now once it is
    committed. The same submission key gives the same alert back and sends nothing again."""
    if not selectors.can_post_alert(actor, scheme):
        raise PermissionDenied("Only the scheme's coordinators and editors post alerts.")
    if urgency not in Alert.Urgency.values:
        raise ValidationError("Choose how urgent the alert is.")
    submission_key = submission_key or uuid.uuid4()
    existing = Alert.objects.filter(submission_key=submission_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                scheme=scheme,
                title=title,
                body=body,
                urgency=urgency,
                expires_at=expires_at,
                posted_by=actor,
                submission_key=submission_key,
            )
            _event(CommunityEvent.Kind.ALERT_POSTED, actor=actor, alert=alert, detail=title)
            # Thousands of members are emailed by a task, not in the coordinator's request.
            transaction.on_commit(lambda: _enqueue_alert(alert.pk))
    except IntegrityError as error:
        return race_winner(Alert.objects.filter(submission_key=submission_key), error)
    return alert


def _enqueue_alert(alert_id: int) -> None:
    from .tasks import send_alert

    publish_or_leave_to_sweep(send_alert, alert_id)


def alert_set_expiry(*, alert: Alert, expires_at: dt.datetime | None, actor: User | None) -> Alert:
    """Change when an alert expires, with an event of the old and new time; what was posted
    and emailed stays as it was. An expiry moved into the future (or removed) is recorded
    again by the expiry rule when it next passes."""
    if actor is not None and not selectors.can_post_alert(actor, alert.scheme):
        raise PermissionDenied("Only the scheme's coordinators and editors change its alerts.")
    with transaction.atomic():
        was = (
            Alert.objects.select_for_update().values_list("expires_at", flat=True).get(pk=alert.pk)
        )
        if was != expires_at:
            values: dict[str, Any] = {"expires_at": expires_at}
            if expires_at is None or expires_at > timezone.now():
                values["expiry_recorded_at"] = None
            Alert.objects.filter(pk=alert.pk).update(**values)
            _event(
                CommunityEvent.Kind.EXPIRY_CHANGED,
                actor=actor,
                alert=alert,
                changes=change("expires_at", was, expires_at),
            )
    alert.refresh_from_db()
    return alert


def alerts_record_expired(
    *, now: dt.datetime | None = None, batch_size: int = EXPIRY_BATCH_SIZE
) -> int:
    """The expiry rule: write one "expired" event for each alert whose expiry has passed and
    is not recorded yet, claiming it in the same transaction; safe to run twice or beside
    itself (a second run skips the rows the first holds, then finds them claimed). Returns how
    many it recorded."""
    now = now or timezone.now()
    recorded = 0
    while True:
        with transaction.atomic():
            batch = list(
                Alert.objects.select_for_update(skip_locked=True)
                .filter(expires_at__lte=now, expiry_recorded_at__isnull=True)
                .order_by("pk")
                .values_list("pk", "expires_at")[:batch_size]
            )
            Alert.objects.filter(pk__in=[pk for pk, _ in batch]).update(expiry_recorded_at=now)
            CommunityEvent.objects.bulk_create(
                [
                    CommunityEvent(
                        kind=CommunityEvent.Kind.ALERT_EXPIRED,
                        alert_id=pk,
                        detail="Recorded by the expiry rule: the alert's expiry time "
                        f"({timezone.localtime(expires_at):%d %b %Y %H:%M}) passed.",
                        changes=change("expired", False, True),
                        created_at=now,
                    )
                    for pk, expires_at in batch
                ]
            )
            recorded += len(batch)
        if len(batch) < batch_size:
            return recorded


def _as_addressed(membership_fields: dict[str, Any]) -> SimpleNamespace:
    """What the alert templates read of a membership, for rendering once for many members."""
    return SimpleNamespace(
        business=SimpleNamespace(name=membership_fields["business_name"]),
        get_alert_preference_display=membership_fields.get("preference_label", ""),
    )


def alert_send_immediate(*, alert: Alert, batch_size: int = ALERT_BATCH_SIZE) -> int:
    """Queue the alert's email to every member who wants it now and has not had it, a batch
    per transaction with one render per choice; safe to run twice or beside itself. Returns how
    many were queued by this call."""
    alert = Alert.objects.select_related("scheme").get(pk=alert.pk)
    wanted = [SchemeMembership.AlertPreference.EVERY]
    if alert.is_urgent:
        wanted.append(SchemeMembership.AlertPreference.URGENT)
    business = email_blank("business")
    rendered: dict[str, RenderedEmail] = {}
    queued = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            # The lock makes two sends of the same alert take turns, batch by batch; each
            # leaves out the members the other has queued, and the unique (alert, membership)
            # key rolls back a batch (its emails with it) should anything slip through.
            expires_at = (
                Alert.objects.select_for_update().values_list("expires_at").get(pk=alert.pk)[0]
            )
            Alert.objects.filter(pk=alert.pk).update(sending_at=timezone.now())
            batch = []
            if expires_at is None or expires_at > timezone.now():
                batch = list(
                    _reachable_memberships()
                    .filter(scheme_id=alert.scheme_id, alert_preference__in=wanted)
                    # An alert reaches those who were members when it was posted (as the
                    # digest does).
                    .filter(decided_at__lte=alert.posted_at, pk__gt=last_pk)
                    .exclude(deliveries__alert=alert)
                    .order_by("pk")
                    .values_list("pk", "alert_preference", "contact__email", "business__name")[
                        :batch_size
                    ]
                )
            if not batch:
                Alert.objects.filter(pk=alert.pk, queued_at__isnull=True).update(
                    queued_at=timezone.now()
                )
                return queued
            for preference in {row[1] for row in batch} - rendered.keys():
                label = SchemeMembership.AlertPreference(preference).label
                membership = _as_addressed({"business_name": business, "preference_label": label})
                rendered[preference] = email_render(
                    template="watch_alert",
                    context={"alert": alert, "scheme": alert.scheme, "membership": membership},
                )
            emails = email_queue_many(
                emails=[
                    (to, rendered[preference].fill({business: business_name}))
                    for _, preference, to, business_name in batch
                ]
            )
            AlertDelivery.objects.bulk_create(
                [
                    AlertDelivery(
                        alert_id=alert.pk,
                        membership_id=membership_id,
                        channel=AlertDelivery.Channel.IMMEDIATE,
                        email=email,
                    )
                    for (membership_id, *_), email in zip(batch, emails, strict=True)
                ]
            )
        queued += len(batch)
        last_pk = batch[-1][0]


def alert_send_unqueued(*, now: dt.datetime | None = None) -> int:
    """Send the alerts of the last day whose send task never ran (its message was lost while
    the broker was down); safe beside the task itself. Returns how many emails were queued."""
    now = now or timezone.now()
    alerts = (
        Alert.objects.filter(queued_at__isnull=True, posted_at__gte=now - ALERT_SWEEP_LOOKBACK)
        # The task normally starts within seconds of the post and marks every batch it
        # writes; an alert is left to it until it has been silent that long, so a large
        # scheme's sender still going is not joined by another every minute.
        .annotate(last_sign=Coalesce("sending_at", "posted_at"))
        .filter(last_sign__lte=now - ALERT_SWEEP_GRACE)
        .order_by("pk")
    )
    return sum(alert_send_immediate(alert=alert) for alert in alerts)


def _week_of(moment: dt.datetime) -> dt.date:
    day = timezone.localdate(moment)
    return day - dt.timedelta(days=day.weekday())


def alert_digest_send(
    *, now: dt.datetime | None = None, batch_size: int = DIGEST_BATCH_SIZE
) -> int:
    """Send each weekly-digest member, in one email, the unexpired alerts posted since they
    joined (within DIGEST_WINDOW) that they have not had; at most one digest a member a week,
    safe to run twice or beside itself. Returns the number of emails."""
    now = now or timezone.now()
    since = now - DIGEST_WINDOW
    week = _week_of(now)
    business = email_blank("business")
    # One render per different set of alerts; members of a scheme mostly share one.
    rendered: dict[tuple[int, ...], RenderedEmail] = {}
    sent = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            # Locking the batch stops a second run writing the same digests (it skips these
            # rows); the week stamp and the delivery records stop any repeat later.
            batch = list(
                _reachable_memberships()
                .select_for_update(skip_locked=True, of=("self",))
                .filter(alert_preference=SchemeMembership.AlertPreference.DIGEST, pk__gt=last_pk)
                .filter(Q(last_digest_week__isnull=True) | Q(last_digest_week__lt=week))
                .filter(
                    Exists(
                        Alert.objects.filter(
                            scheme=OuterRef("scheme"), posted_at__gte=since, posted_at__lte=now
                        )
                    )
                )
                .order_by("pk")
                .values_list(
                    "pk",
                    "scheme_id",
                    "contact__email",
                    "business__name",
                    "decided_at",
                    "applied_at",
                )[:batch_size]
            )
            if not batch:
                return sent
            last_pk = batch[-1][0]
            alerts = list(
                Alert.objects.filter(
                    scheme_id__in={row[1] for row in batch},
                    posted_at__gte=since,
                    posted_at__lte=now,
                )
                .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                .select_related("scheme")
                .order_by("posted_at", "pk")
            )
            already_had = set(
                AlertDelivery.objects.filter(
                    membership_id__in=[row[0] for row in batch], alert__in=alerts
                ).values_list("membership_id", "alert_id")
            )
            digests = []
            for membership_id, scheme_id, to, business_name, decided_at, applied_at in batch:
                joined = decided_at or applied_at
                theirs = [
                    alert
                    for alert in alerts
                    if alert.scheme_id == scheme_id
                    and alert.posted_at >= joined
                    and (membership_id, alert.pk) not in already_had
                ]
                if not theirs:
                    continue
                key = tuple(alert.pk for alert in theirs)
                if key not in rendered:
                    rendered[key] = email_render(
                        template="watch_digest",
                        context={
                            "alerts": theirs,
                            "scheme": theirs[0].scheme,
                            "membership": _as_addressed({"business_name": business}),
                        },
                    )
                digests.append(
                    (membership_id, theirs, to, rendered[key].fill({business: business_name}))
                )
            emails = email_queue_many(emails=[(to, email) for _, _, to, email in digests])
            AlertDelivery.objects.bulk_create(
                [
                    AlertDelivery(
                        alert_id=alert.pk,
                        membership_id=membership_id,
                        channel=AlertDelivery.Channel.DIGEST,
                        email=email,
                    )
                    for (membership_id, theirs, _, _), email in zip(digests, emails, strict=True)
                    for alert in theirs
                ],
                batch_size=DELIVERY_INSERT_BATCH,
            )
            SchemeMembership.objects.filter(pk__in=[row[0] for row in digests]).update(
                last_digest_week=week
            )
            sent += len(digests)
        if len(batch) < batch_size:
            return sent


# Seminars


def _locked_seminar(seminar: Seminar) -> Seminar:
    # Every booking change for a seminar holds its row, so counting places and taking one
    # cannot interleave with another booking or cancellation for the same seminar.
    return Seminar.objects.select_for_update().get(pk=seminar.pk)


def _confirmed_count(seminar: Seminar) -> int:
    return Booking.objects.filter(seminar=seminar, status=Booking.Status.CONFIRMED).count()


def seminar_book(*, seminar: Seminar, user: User, business: Business) -> Booking:
    """Book a place for a person from one of their businesses, or a place on the waiting list
    when it is full; booking again gives back the live booking."""
    _require_member_of(user, business)
    try:
        with transaction.atomic():
            seminar = _locked_seminar(seminar)
            existing = Booking.objects.filter(
                seminar=seminar, user=user, status__in=Booking.LIVE_STATUSES
            ).first()
            if existing is not None:
                return existing
            if not seminar.is_bookable:
                raise ValidationError("This seminar is not taking bookings.")
            now = timezone.now()
            has_place = _confirmed_count(seminar) < seminar.capacity
            booking = Booking.objects.create(
                seminar=seminar,
                user=user,
                business=business,
                status=Booking.Status.CONFIRMED if has_place else Booking.Status.WAITING,
                confirmed_at=now if has_place else None,
                created_at=now,
            )
            _event(
                CommunityEvent.Kind.BOOKED if has_place else CommunityEvent.Kind.WAITLISTED,
                actor=user,
                seminar=seminar,
                booking=booking,
                changes=change("status", None, booking.status),
            )
            email_queue(
                to=user.email,
                template="seminar_booked" if has_place else "seminar_waitlisted",
                context={"booking": booking, "seminar": seminar},
            )
    except IntegrityError as error:
        # Without row locks (SQLite) a double submission can reach the constraint instead.
        return race_winner(
            Booking.objects.filter(seminar=seminar, user=user, status__in=Booking.LIVE_STATUSES),
            error,
        )
    return booking


def _fill_places(seminar: Seminar) -> list[Booking]:
    """Give free places to the waiting list, first come first served. Call with the seminar
    locked."""
    if not seminar.is_bookable:
        return []
    free = seminar.capacity - _confirmed_count(seminar)
    if free <= 0:
        return []
    now = timezone.now()
    promoted = list(
        Booking.objects.filter(seminar=seminar, status=Booking.Status.WAITING)
        .select_related("user")
        .order_by("created_at", "pk")[:free]
    )
    for booking in promoted:
        Booking.objects.filter(pk=booking.pk, status=Booking.Status.WAITING).update(
            status=Booking.Status.CONFIRMED, confirmed_at=now
        )
        booking.status, booking.confirmed_at = Booking.Status.CONFIRMED, now
        _event(
            CommunityEvent.Kind.PROMOTED,
            seminar=seminar,
            booking=booking,
            changes=change("status", Booking.Status.WAITING, Booking.Status.CONFIRMED),
        )
        email_queue(
            to=booking.user.email,
            template="seminar_promoted",
            context={"booking": booking, "seminar": seminar},
        )
    return promoted


def booking_cancel(*, booking: Booking, user: User) -> Booking:
    """Cancel your own booking; a freed place goes to the next person waiting, who is told."""
    if booking.user_id != user.pk:
        raise PermissionDenied("You can cancel only your own bookings.")
    with transaction.atomic():
        seminar = _locked_seminar(booking.seminar)
        booking.refresh_from_db()
        if not booking.is_live:
            return booking
        was = booking.status
        was_confirmed = was == Booking.Status.CONFIRMED
        booking.status = Booking.Status.CANCELLED
        booking.cancelled_at = timezone.now()
        booking.save(update_fields=["status", "cancelled_at"])
        _event(
            CommunityEvent.Kind.BOOKING_CANCELLED,
            actor=user,
            seminar=seminar,
            booking=booking,
            changes=change("status", was, Booking.Status.CANCELLED),
        )
        if was_confirmed:
            _fill_places(seminar)
    return booking


SCHEDULE_FIELDS = ("starts_at", "ends_at", "venue", "online_url")
# What a seminar's "details changed" event records, old and new.
SEMINAR_RECORDED_FIELDS = ("title", *SCHEDULE_FIELDS, "capacity", "status")


def seminar_save(*, seminar: Seminar, actor: User | None = None) -> Seminar:
    """Save a seminar from the admin; a change of time or place bumps its calendar sequence,
    and extra places go to the waiting list. A change of its title, time, place, capacity or
    status writes an event with the old and new values, `actor` as the editor."""
    with transaction.atomic():
        rescheduled = False
        before = None
        if seminar.pk is not None:
            current = _locked_seminar(seminar)
            if current.status == Seminar.Status.CANCELLED:
                raise ValidationError("A cancelled seminar cannot be changed.")
            if any(getattr(current, f) != getattr(seminar, f) for f in SCHEDULE_FIELDS):
                seminar.sequence = current.sequence + 1
                rescheduled = True
            before = snapshot(current, SEMINAR_RECORDED_FIELDS)
        if seminar.status == Seminar.Status.CANCELLED:
            raise ValidationError("Cancel a seminar with its Cancel button so everyone is told.")
        seminar.full_clean(exclude=["topics"])
        seminar.save()
        if before is not None:
            changes = changes_between(before, snapshot(seminar, SEMINAR_RECORDED_FIELDS))
            if changes is not None:
                _event(
                    CommunityEvent.Kind.SEMINAR_CHANGED,
                    actor=actor,
                    seminar=seminar,
                    changes=changes,
                )
        if rescheduled:
            # Everyone booked or waiting hears of the new time or place once; anyone promoted
            # just below is sent the new details in their "a place is yours" email instead.
            for booking in (
                seminar.bookings.filter(status__in=Booking.LIVE_STATUSES)
                .select_related("user")
                .order_by("pk")
            ):
                email_queue(
                    to=booking.user.email,
                    template="seminar_changed",
                    context={"booking": booking, "seminar": seminar},
                )
        _fill_places(seminar)
    return seminar


def seminar_cancel(*, seminar: Seminar, actor: User, reason: str) -> Seminar:
    """Cancel a seminar and email everyone booked or waiting; does nothing if already cancelled."""
    if not reason.strip():
        raise ValidationError("Tell the people booked why it is cancelled.")
    with transaction.atomic():
        seminar = _locked_seminar(seminar)
        if seminar.status == Seminar.Status.CANCELLED:
            return seminar
        was = seminar.status
        seminar.status = Seminar.Status.CANCELLED
        seminar.cancelled_at = timezone.now()
        seminar.cancellation_reason = reason.strip()
        seminar.sequence += 1
        seminar.save(
            update_fields=[
                "status",
                "cancelled_at",
                "cancellation_reason",
                "sequence",
                "updated_at",
            ]
        )
        _event(
            CommunityEvent.Kind.SEMINAR_CANCELLED,
            actor=actor,
            seminar=seminar,
            detail=reason,
            changes=change("status", was, Seminar.Status.CANCELLED),
        )
        for booking in seminar.bookings.filter(status__in=Booking.LIVE_STATUSES).select_related(
            "user"
        ):
            email_queue(
                to=booking.user.email,
                template="seminar_cancelled",
                context={"booking": booking, "seminar": seminar},
            )
    return seminar


def seminar_send_reminders(*, now: dt.datetime | None = None, batch_size: int = 200) -> int:
    """Email everyone with a place at a seminar that starts tomorrow, once per booking; safe to
    run twice or beside itself. Returns the number of reminders."""
    now = now or timezone.now()
    tomorrow = timezone.localdate(now) + dt.timedelta(days=1)
    start = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(tomorrow + dt.timedelta(days=1), dt.time.min))
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                Booking.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    status=Booking.Status.CONFIRMED,
                    reminder_sent_at__isnull=True,
                    seminar__status=Seminar.Status.PUBLISHED,
                    seminar__starts_at__gte=start,
                    seminar__starts_at__lt=end,
                )
                .select_related("seminar", "user", "business")
                .order_by("pk")[:batch_size]
            )
            for booking in batch:
                email_queue(
                    to=booking.user.email,
                    template="seminar_reminder",
                    context={"booking": booking, "seminar": booking.seminar},
                )
            Booking.objects.filter(pk__in=[b.pk for b in batch]).update(reminder_sent_at=now)
            sent += len(batch)
        if len(batch) < batch_size:
            return sent
