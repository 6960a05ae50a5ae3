"""A person's data: their copy of it, its erasure with their account, and the retention
schedule that disposes of what nobody needs any more."""

import datetime as dt
import json
import logging
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Count, Model, Prefetch, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from dorset_bcp.db import race_winner
from dorset_bcp.event_log import erase_with_events, event_erasure
from engagement.emails import email_queue, publish_or_leave_to_sweep
from engagement.models import (
    BUSINESS_DETAIL_FIELDS,
    Attachment,
    Business,
    BusinessEvent,
    BusinessMembership,
    Concern,
    ConcernEvent,
    ConcernUpdate,
    OutboundEmail,
    Outcome,
    User,
)
from engagement.selectors import businesses_of_user

from .models import REMOVED, REMOVED_BY_SCHEDULE, DataExport, DisposalLog, RetentionRule

logger = logging.getLogger(__name__)

Kind = RetentionRule.Kind

# The periods every installation starts with (privacy migration 0002 loads them; the
# administrators change them in the admin). Used as they are if a row is missing.
DEFAULT_DAYS: dict[str, int] = {
    Kind.CLOSED_CONCERNS: 2 * 365,
    Kind.UNCONFIRMED_GUEST_REPORTS: 7,
    Kind.EXPORT_FILES: 7,
    Kind.SENT_EMAILS: 30,
}
EXPORT_SALT = "privacy.export"
BATCH_SIZE = 500
# A request that no worker built within this long (the broker lost it) is built by the sweep.
EXPORT_SWEEP_AFTER = dt.timedelta(minutes=5)
REMOVED_BUSINESS = "[business removed at the owner's request]"
# Shorter texts ("Yes", "Thanks") would match emails that never quoted the person.
MIN_QUOTED_LENGTH = 12


def _rule_days(kind: str) -> int:
    rule = RetentionRule.objects.filter(kind=kind).first()
    return rule.days if rule is not None else DEFAULT_DAYS[kind]


def _delete_files_on_commit(names: list[str]) -> None:
    # Files go only once the rows are gone for good; a rollback keeps both.
    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    if names:
        transaction.on_commit(delete)


# A copy of a person's data


def export_request(*, user: User) -> tuple[DataExport, bool]:
    """Ask for a copy of the person's data; one already being prepared is returned, not doubled."""
    with transaction.atomic():
        waiting = DataExport.objects.filter(user=user, status=DataExport.Status.PENDING).first()
        if waiting is not None:
            return waiting, False
        try:
            # The partial unique constraint decides between two clicks at once.
            with transaction.atomic():
                export = DataExport.objects.create(user=user)
        except IntegrityError as error:
            pending = DataExport.objects.filter(user=user, status=DataExport.Status.PENDING)
            return race_winner(pending, error), False
        transaction.on_commit(lambda: _enqueue_build(export.pk))
    return export, True


def _enqueue_build(export_id: int) -> None:
    from .tasks import build_data_export

    publish_or_leave_to_sweep(build_data_export, export_id)


def export_token(export: DataExport) -> str:
    return signing.dumps([export.pk, export.user_id], salt=EXPORT_SALT)


def export_for_token(*, token: str, user: User) -> DataExport | None:
    """The ready, unexpired export a link names, if it is the signed-in person's own."""
    try:
        export_id, user_id = signing.loads(
            token, salt=EXPORT_SALT, max_age=dt.timedelta(days=_rule_days(Kind.EXPORT_FILES))
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if user_id != user.pk:
        return None
    return DataExport.objects.filter(
        pk=export_id,
        user=user,
        status=DataExport.Status.READY,
        expires_at__gt=timezone.now(),
    ).first()


def export_build(*, export_id: int) -> bool:
    """Build the ZIP for a pending request and email its link. Safe to run twice."""
    export = (
        DataExport.objects.filter(pk=export_id, status=DataExport.Status.PENDING)
        .select_related("user")
        .first()
    )
    if export is None:
        return False
    data, attachments = export_collect(user=export.user)
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(
                "my-data.json", json.dumps(data, cls=DjangoJSONEncoder, indent=2, sort_keys=True)
            )
            for attachment in attachments:
                try:
                    with attachment.file.open("rb") as source:
                        archive.writestr(_archive_name(attachment), source.read())
                except FileNotFoundError:
                    continue  # listed in the JSON; the file itself has gone
        size = handle.tell()
        handle.seek(0)
        name = default_storage.save(f"exports/{uuid.uuid4().hex}.zip", File(handle))
    now = timezone.now()
    expires_at = now + dt.timedelta(days=_rule_days(Kind.EXPORT_FILES))
    with transaction.atomic():
        claimed = DataExport.objects.filter(pk=export.pk, status=DataExport.Status.PENDING).update(
            status=DataExport.Status.READY,
            file=name,
            size=size,
            ready_at=now,
            expires_at=expires_at,
        )
        if not claimed:
            # Another worker finished it first (a redelivered message): keep theirs.
            _delete_files_on_commit([name])
            return False
        export.refresh_from_db()
        email_queue(
            to=export.user.email,
            template="data_export_ready",
            context={
                "link": settings.SITE_URL
                + reverse("privacy:export_download", args=[export_token(export)]),
                "expires_at": expires_at,
            },
            contains_secret=True,
        )
    return True


def export_build_pending(*, now: dt.datetime | None = None) -> int:
    """Build requests whose task the broker lost; a request being built now is left alone."""
    now = now or timezone.now()
    ids = DataExport.objects.filter(
        status=DataExport.Status.PENDING, requested_at__lt=now - EXPORT_SWEEP_AFTER
    ).values_list("pk", flat=True)
    return sum(export_build(export_id=pk) for pk in list(ids[:BATCH_SIZE]))


def _archive_name(attachment: Attachment) -> str:
    safe = PurePosixPath(attachment.original_name.replace("\\", "/")).name or "file"
    return f"attachments/{attachment.concern.reference}/{attachment.pk}-{safe}"


def _row(obj: Any, fields: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        display = getattr(obj, f"get_{name}_display", None)
        row[name] = display() if display is not None else value
        if hasattr(value, "pk"):
            row[name] = str(value)
    return row


def export_collect(*, user: User) -> tuple[dict[str, Any], list[Attachment]]:
    """Everything the portal holds about the person, as JSON-ready data, and their files."""
    from resources.models import AlertDelivery, Booking, SchemeMembership

    memberships = BusinessMembership.objects.filter(user=user).select_related("business")
    business_ids = [m.business_id for m in memberships]
    concerns = (
        # Reports sent as a guest from their (verified) address are theirs too.
        Concern.objects.filter(
            Q(business_id__in=business_ids) | Q(reporter=user) | Q(contact_email__iexact=user.email)
        )
        .select_related("business", "category", "outcome")
        .prefetch_related(
            Prefetch(
                "updates",
                queryset=ConcernUpdate.objects.filter(
                    Q(kind__in=ConcernUpdate.PUBLIC_KINDS) | Q(author=user)
                ).exclude(kind=ConcernUpdate.Kind.INTERNAL),
                to_attr="shared_updates",
            ),
            "attachments",
        )
        .order_by("created_at", "pk")
    )
    attachments: list[Attachment] = []
    concern_rows = []
    for concern in concerns:
        attachments.extend(concern.attachments.all())
        concern_rows.append(
            {
                **_row(
                    concern,
                    [
                        "reference",
                        "business",
                        "category",
                        "description",
                        "occurred_on",
                        "occurred_time",
                        "location",
                        "existing_reference",
                        "impact",
                        "impact_details",
                        "contact_name",
                        "contact_email",
                        "contact_phone",
                        "contact_preference",
                        "status",
                        "outcome",
                        "outcome_note",
                        "reporter_satisfied",
                        "created_at",
                        "resolved_at",
                        "closed_at",
                    ],
                ),
                "reported_by_you": concern.reporter_id == user.pk,
                "messages": [
                    {
                        "kind": update.get_kind_display(),
                        "written_by_you": update.author_id == user.pk,
                        "body": update.body,
                        "created_at": update.created_at,
                    }
                    for update in concern.shared_updates
                ],
                "attachments": [
                    {
                        "name": attachment.original_name,
                        "file_in_this_archive": _archive_name(attachment),
                        "content_type": attachment.content_type,
                        "size": attachment.size,
                        "uploaded_at": attachment.created_at,
                    }
                    for attachment in concern.attachments.all()
                ],
            }
        )
    schemes = SchemeMembership.objects.filter(
        Q(contact=user) | Q(business_id__in=business_ids)
    ).select_related("scheme", "business")
    data = {
        "about": (
            "A copy of what the Dorset Business Crime Partnership portal holds about you, "
            f"made on {timezone.localtime():%d %B %Y at %H:%M}."
        ),
        "account": _row(user, ["email", "full_name", "phone", "date_joined", "last_login"]),
        "businesses": [
            {
                **_row(m.business, [*BUSINESS_DETAIL_FIELDS, "created_at"]),
                "your_role": m.get_role_display(),
            }
            for m in memberships
        ],
        "concerns": concern_rows,
        "watch_scheme_memberships": [
            _row(
                s,
                [
                    "scheme",
                    "business",
                    "status",
                    "alert_preference",
                    "application_note",
                    "applied_at",
                    "decided_at",
                    "decision_reason",
                    "left_at",
                ],
            )
            for s in schemes
        ],
        "alerts_received": [
            {
                "scheme": str(d.alert.scheme),
                "title": d.alert.title,
                "body": d.alert.body,
                "channel": d.get_channel_display(),
                "sent_at": d.created_at,
            }
            for d in AlertDelivery.objects.filter(membership__contact=user)
            .select_related("alert__scheme")
            .order_by("created_at")
        ],
        "seminar_bookings": [
            {
                "seminar": b.seminar.title,
                "starts_at": b.seminar.starts_at,
                "business": str(b.business),
                "status": b.get_status_display(),
                "booked_at": b.created_at,
                "cancelled_at": b.cancelled_at,
            }
            for b in Booking.objects.filter(user=user).select_related("seminar", "business")
        ],
    }
    return data, attachments


# Erasure


def _anonymise_concerns(concern_ids: list[int], *, text: str, now: dt.datetime) -> int:
    """Replace the reporter's words and contact details on these concerns, delete their files
    and their replies' words; what is counted (category, area, dates, outcome) stays."""
    if not concern_ids:
        return 0
    attachments = Attachment.objects.filter(concern_id__in=concern_ids)
    _delete_files_on_commit([name for name in attachments.values_list("file", flat=True) if name])
    attachments.delete()
    ConcernUpdate.objects.filter(concern_id__in=concern_ids, kind=ConcernUpdate.Kind.REPLY).update(
        body=text
    )
    # The reporter's comments when they reopened or closed the concern.
    with event_erasure(reason=f"reporter's words removed from {len(concern_ids)} concern(s)"):
        ConcernEvent.objects.filter(
            concern_id__in=concern_ids,
            kind__in=[
                ConcernEvent.Kind.REOPENED,
                ConcernEvent.Kind.CLOSED,
                ConcernEvent.Kind.REPLIED,
                # Their reason for withdrawing, and the names of the files they added.
                ConcernEvent.Kind.WITHDRAWN,
                ConcernEvent.Kind.ATTACHED,
            ],
        ).exclude(detail="").update(detail=text)
    # The business made for a guest's report (nobody belongs to it) holds its name and the
    # location as typed: it goes once none of its concerns keeps its words.
    placeholders = set(
        Business.objects.filter(concerns__pk__in=concern_ids, memberships__isnull=True)
        .values_list("pk", flat=True)
        .distinct()
    )
    still_used = Concern.objects.filter(
        business_id__in=placeholders, anonymised_at__isnull=True
    ).exclude(pk__in=concern_ids)
    _businesses_strip(placeholders - set(still_used.values_list("business_id", flat=True)))
    # A withdrawn concern's outcome note is the reporter's own reason, not an officer's words.
    Concern.objects.filter(pk__in=concern_ids, outcome__slug=Outcome.WITHDRAWN_SLUG).update(
        outcome_note=text
    )
    return Concern.objects.filter(pk__in=concern_ids).update(
        description=text,
        location=text,
        impact_details="",
        contact_name=text,
        contact_email="",
        contact_phone="",
        contact_preference=Concern.ContactPreference.EMAIL,
        anonymised_at=now,
    )


def _erase_contact_labels(*, user_id: int) -> None:
    """Replace the person's name in the `changes` of scheme contact hand-overs (a handful of
    events a person), keeping only their id. Call inside `event_erasure()`."""
    from resources.models import CommunityEvent

    named = Q(changes__contact__from__id=user_id) | Q(changes__contact__to__id=user_id)
    for pk, changes in CommunityEvent.objects.filter(named).values_list("pk", "changes"):
        if not changes:
            continue
        contact = dict(changes["contact"])
        for end in ("from", "to"):
            if isinstance(contact.get(end), dict) and contact[end].get("id") == user_id:
                contact[end] = {"id": user_id, "label": REMOVED}
        CommunityEvent.objects.filter(pk=pk).update(changes={**changes, "contact": contact})


def person_erase(*, user: User) -> list[int]:
    """Remove or anonymise what identifies a person whose account is being deleted; called
    inside the deletion's transaction, before the account row goes. Returns the businesses
    only they belonged to, for `businesses_remove_orphans` once their memberships are gone."""
    from resources.models import AlertDelivery, CommunityEvent, SchemeMembership

    now = timezone.now()
    # Counted over every membership, not the join to theirs (which would count only theirs,
    # and make every business of theirs look like theirs alone).
    sole_business_ids = list(
        Business.objects.filter(pk__in=businesses_of_user(user).values("pk"))
        .annotate(people=Count("memberships"))
        .filter(people=1)
        .values_list("pk", flat=True)
    )
    theirs = Concern.objects.filter(
        Q(reporter=user)
        | Q(contact_email__iexact=user.email)
        | Q(business_id__in=sole_business_ids)
    )
    # What they wrote and where they were written to, before it is removed: the outbox's
    # copies of emails quoting them (to officers) go too.
    addresses = {user.email.lower()} | {
        email.lower()
        for email in theirs.filter(legal_hold=False).values_list("contact_email", flat=True)
        if email
    }
    words = [
        *theirs.filter(legal_hold=False).values_list("description", flat=True),
        *theirs.filter(legal_hold=False, outcome__slug=Outcome.WITHDRAWN_SLUG).values_list(
            "outcome_note", flat=True
        ),
        *ConcernUpdate.objects.filter(author=user, kind=ConcernUpdate.Kind.REPLY)
        .exclude(concern__legal_hold=True)
        .values_list("body", flat=True),
    ]
    _anonymise_concerns(
        list(theirs.filter(legal_hold=False).values_list("pk", flat=True)), text=REMOVED, now=now
    )
    # Under a legal hold the report stays as evidence; the portal stops writing to them.
    theirs.filter(legal_hold=True).update(reporter=None, contact_email="")
    # Their replies on concerns of a business they shared with others.
    ConcernUpdate.objects.filter(author=user, kind=ConcernUpdate.Kind.REPLY).exclude(
        concern__legal_hold=True
    ).update(body=REMOVED)
    with event_erasure(reason=f"account {user.pk} deleted by its holder: their words"):
        ConcernEvent.objects.filter(actor=user).exclude(detail="").exclude(
            concern__legal_hold=True
        ).update(detail=REMOVED)
        # A scheme contact handed over names the person who took it on.
        CommunityEvent.objects.filter(detail__iexact=user.email).update(detail=REMOVED)
        # ... and its old and new values name both people: theirs keeps only the id.
        _erase_contact_labels(user_id=user.pk)
    SchemeMembership.objects.filter(Q(contact=user) | Q(business_id__in=sole_business_ids)).exclude(
        application_note=""
    ).update(application_note="")
    # The outbox's copies of emails to them, or quoting them (a delivery queue, not an
    # archive).
    quoted = Q(to__in=addresses)
    for text in {text for text in words if len(text) >= MIN_QUOTED_LENGTH}:
        quoted |= Q(body_text__contains=text)
    outbox = OutboundEmail.objects.filter(Q(to__iexact=user.email) | quoted)
    AlertDelivery.objects.filter(email__in=outbox).update(email=None)
    outbox._raw_delete(outbox.db)
    # The admin's log of edits to their account names it by its email.
    _admin_log_forget(User, [user.pk])
    # Their copies of their data: the rows go with the account, the files after commit.
    _delete_files_on_commit(
        [name for name in user.data_exports.values_list("file", flat=True) if name]
    )
    return sole_business_ids


def businesses_remove_orphans(*, business_ids: list[int]) -> int:
    """Delete businesses nobody belongs to any more; one with concerns stays, with its name
    and address removed, so the concerns are still counted in insight."""
    orphans = Business.objects.filter(pk__in=business_ids, memberships__isnull=True)
    with_concerns = orphans.filter(concerns__isnull=False).distinct()
    held = with_concerns.filter(concerns__legal_hold=True)
    kept = _businesses_strip(with_concerns.exclude(pk__in=held).values_list("pk", flat=True))
    empty = orphans.filter(concerns__isnull=True)
    if empty.exists():
        _admin_log_forget(Business, list(empty.values_list("pk", flat=True)))
        erase_with_events(target=empty, reason="businesses left with nobody, at a deletion")
    return kept


def _admin_log_forget(model: type[Model], ids: Iterable[int], words: str = REMOVED) -> int:
    """The admin's log names each row it records an edit of (its str(), e.g. a business's name
    or a person's email): replace that name, keeping the entry."""
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model),
        object_id__in=[str(pk) for pk in ids],
    ).update(object_repr=words)


def _businesses_strip(business_ids: Iterable[int]) -> int:
    """Remove the name and address of businesses kept only so their concerns are counted."""
    stripped = 0
    for business in Business.objects.filter(pk__in=list(business_ids)):
        # The postcode district is what routes and counts a concern; the full postcode and
        # the name point at the business.
        removed = {
            "name": REMOVED_BUSINESS,
            "address_line1": REMOVED_BUSINESS,
            "address_line2": "",
            "postcode": business.postcode_district or "",
        }
        Business.objects.filter(pk=business.pk).update(**removed)
        _admin_log_forget(Business, [business.pk], REMOVED_BUSINESS)
        # The event says what went, never what it was (event_changes: redacted fields).
        changed = {
            name: {"changed": True}
            for name, value in removed.items()
            if getattr(business, name) != value
        }
        if changed:
            BusinessEvent.objects.create(
                business=business,
                kind=BusinessEvent.Kind.ANONYMISED,
                actor=None,
                detail="Removed at the owner's request or by the retention schedule.",
                changes=changed,
            )
        stripped += 1
    return stripped


# The retention schedule


def _anonymise_closed_concerns(*, cutoff: dt.datetime, now: dt.datetime) -> int:
    total = 0
    while True:
        with transaction.atomic():
            # skip_locked: a second run beside this one takes the next batch, not the same.
            ids = list(
                Concern.objects.annotate(ended_at=Coalesce("closed_at", "resolved_at"))
                .filter(
                    status__in=[Concern.Status.RESOLVED, Concern.Status.CLOSED],
                    ended_at__lt=cutoff,
                    anonymised_at__isnull=True,
                    legal_hold=False,
                )
                .order_by("pk")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)[:BATCH_SIZE]
            )
            done = _anonymise_concerns(ids, text=REMOVED_BY_SCHEDULE, now=now)
        total += done
        if len(ids) < BATCH_SIZE:
            return total


def _delete_expired_exports(*, cutoff: dt.datetime, now: dt.datetime) -> int:
    total = 0
    while True:
        with transaction.atomic():
            expired = (
                DataExport.objects.filter(
                    Q(expires_at__lte=now)
                    # One no worker ever built is given up after the same period.
                    | Q(status=DataExport.Status.PENDING, requested_at__lt=cutoff)
                )
                .order_by("pk")
                .select_for_update(skip_locked=True)
            )
            rows = list(expired.values_list("pk", "file")[:BATCH_SIZE])
            _delete_files_on_commit([name for _, name in rows if name])
            DataExport.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
        total += len(rows)
        if len(rows) < BATCH_SIZE:
            return total


def _purge_unconfirmed(*, cutoff: dt.datetime, now: dt.datetime) -> int:
    from engagement.services import concern_purge_unconfirmed

    return concern_purge_unconfirmed(older_than_days=(now - cutoff).days)


def _purge_sent_emails(*, cutoff: dt.datetime, now: dt.datetime) -> int:
    from engagement.emails import email_purge_sent

    return email_purge_sent(older_than_days=(now - cutoff).days)


DISPOSERS: dict[str, Callable[..., int]] = {
    Kind.CLOSED_CONCERNS: _anonymise_closed_concerns,
    Kind.UNCONFIRMED_GUEST_REPORTS: _purge_unconfirmed,
    Kind.EXPORT_FILES: _delete_expired_exports,
    Kind.SENT_EMAILS: _purge_sent_emails,
}


def retention_run(*, kinds: list[str] | None = None, trigger: str = "beat") -> dict[str, int]:
    """Dispose of what the retention schedule says is due, kind by kind, and log each."""
    rules = {rule.kind: rule for rule in RetentionRule.objects.all()}
    done: dict[str, int] = {}
    for kind in kinds or list(Kind):
        rule = rules.get(kind)
        if rule is not None and not rule.is_active:
            continue
        days = rule.days if rule is not None else DEFAULT_DAYS[kind]
        started_at = timezone.now()
        cutoff = started_at - dt.timedelta(days=days)
        count = DISPOSERS[kind](cutoff=cutoff, now=started_at)
        DisposalLog.objects.create(
            kind=kind,
            count=count,
            cutoff=cutoff,
            started_at=started_at,
            finished_at=timezone.now(),
            trigger=trigger,
        )
        logger.info("Retention: %s, %d disposed of (older than %s)", kind, count, cutoff)
        done[kind] = count
    return done


def export_link_days() -> int:
    """How many days a copy of one's data can be downloaded, as the schedule says now."""
    return _rule_days(Kind.EXPORT_FILES)
