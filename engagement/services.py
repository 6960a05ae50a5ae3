"""Every write to businesses and concerns goes through a function here."""

import datetime as dt
import hashlib
import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef
from django.urls import reverse
from django.utils import timezone

from dorset_bcp.db import race_winner
from dorset_bcp.event_changes import Changes, change, changes_between, snapshot
from dorset_bcp.event_log import erase_with_events

from . import deadlines
from .emails import email_queue
from .models import (
    BUSINESS_EVENT_FIELDS,
    BUSINESS_REDACTED_FIELDS,
    Attachment,
    Business,
    BusinessEvent,
    BusinessMembership,
    Concern,
    ConcernCategory,
    ConcernEvent,
    ConcernUpdate,
    HeldAttachment,
    NPTArea,
    Outcome,
    PostcodeDistrict,
    SizeBand,
    SpecialistReferral,
    SpecialistTeam,
    SpecialistTeamMember,
    User,
)
from .postcodes import normalise_postcode, postcode_district

UNCONFIRMED_GUEST_REPORT_DAYS = 7
# A report form left with files held for it: a day covers a lunch break or an evening away,
# and the files (photos of people, often) are not kept longer than that for a report never sent.
HELD_ATTACHMENT_HOURS = 24


class NotCoveredError(ValidationError):
    """The postcode is valid but no Dorset NPT covers it."""


def npt_for_postcode(postcode: str) -> NPTArea:
    """The NPT that covers a postcode, or NotCoveredError with a way forward."""
    normalised = normalise_postcode(postcode)
    district = (
        PostcodeDistrict.objects.select_related("area")
        .filter(code=postcode_district(normalised))
        .first()
    )
    if district is None:
        raise NotCoveredError(
            f"{normalised} is not in an area Dorset Police covers. This portal is for "
            "businesses in Dorset, Bournemouth, Christchurch and Poole. Check the postcode, or "
            "contact the police force for your area on 101.",
            code="not_covered",
        )
    return district.area


# Businesses


def business_create(
    *,
    owner: User,
    name: str,
    sector: str,
    size_band: str,
    address_line1: str,
    town: str,
    postcode: str,
    address_line2: str = "",
    is_rural: bool = False,
    bid_member: bool = False,
    role: str = BusinessMembership.Role.OWNER,
) -> Business:
    """Add a business for its owner, routed to the NPT that covers its postcode."""
    area = npt_for_postcode(postcode)
    with transaction.atomic():
        business = Business.objects.create(
            name=name,
            sector=sector,
            size_band=size_band,
            address_line1=address_line1,
            address_line2=address_line2,
            town=town,
            postcode=normalise_postcode(postcode),
            npt_area=area,
            is_rural=is_rural,
            bid_member=bid_member,
        )
        BusinessMembership.objects.create(user=owner, business=business, role=role)
        business_event(business, BusinessEvent.Kind.CREATED, actor=owner)
    return business


def business_update(*, business: Business, actor: User | None = None, **fields: Any) -> Business:
    """Change a business's details; a new postcode routes it to its NPT again. An event
    records what changed (its name and address only as changed, never their values)."""
    if "postcode" in fields:
        business.npt_area = npt_for_postcode(fields["postcode"])
        fields["postcode"] = normalise_postcode(fields["postcode"])
    for name, value in fields.items():
        setattr(business, name, value)
    business.full_clean()
    with transaction.atomic():
        # The values it changes from are the stored ones: a form may have set the new ones on
        # this instance already.
        before = (
            Business.objects.select_for_update(of=("self",))
            .select_related("npt_area")
            .get(pk=business.pk)
        )
        business.save()
        business_event(
            business,
            BusinessEvent.Kind.UPDATED,
            actor=actor,
            before=snapshot(before, BUSINESS_EVENT_FIELDS),
        )
    return business


def business_event(
    business: Business,
    kind: str,
    *,
    actor: User | None,
    before: dict[str, Any] | None = None,
    detail: str = "",
) -> BusinessEvent | None:
    """Record a change to a business: its details now against `before` (none for a business
    just added), the name and address only as changed. Nothing changed, no event, unless the
    event is the business's arrival or a person leaving."""
    after = snapshot(business, BUSINESS_EVENT_FIELDS)
    if before is None:
        after = {name: value for name, value in after.items() if value not in (None, "")}
    changes = changes_between(before or {}, after, redacted=BUSINESS_REDACTED_FIELDS)
    if changes is None and kind == BusinessEvent.Kind.UPDATED:
        return None
    return BusinessEvent.objects.create(
        business=business, kind=kind, actor=actor, detail=detail, changes=changes
    )


# Concerns: submission


@dataclass(frozen=True)
class ConcernDetails:
    category: ConcernCategory
    description: str
    occurred_on: dt.date
    location: str
    impact: str
    contact_name: str
    contact_email: str
    occurred_time: dt.time | None = None
    existing_reference: str = ""
    impact_details: str = ""
    contact_phone: str = ""
    contact_preference: str = Concern.ContactPreference.EMAIL


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def concern_submit(
    *,
    business: Business | Callable[[], Business],
    reporter: User | None,
    details: ConcernDetails,
    submission_key: uuid.UUID,
    attachments: Sequence[UploadedFile] = (),
    held: Sequence[HeldAttachment] = (),
) -> tuple[Concern, str | None]:
    """Record a concern at tier 1 with the business's NPT; the same submission key gives the
    same concern back. Returns the concern and, for a guest, the private tracking token.

    `business` may be a callable that creates it: it then runs inside the same savepoint, so a
    duplicate submission leaves no business behind."""
    existing = Concern.objects.filter(submission_key=submission_key).first()
    if existing is not None:
        return existing, None

    now = timezone.now()
    is_guest = reporter is None
    token = secrets.token_urlsafe(32) if is_guest else None  # 256 bits
    # Deadlines from the tier-1 policy (escalation.DeadlinePolicy); a guest's start on confirming.
    due = deadlines.deadlines_for(
        tier=Concern.Tier.NPT, priority=Concern.Priority.NORMAL, start=now
    )
    try:
        with transaction.atomic():
            if callable(business):
                business = business()
            concern = Concern.objects.create(
                business=business,
                reporter=reporter,
                npt_area=business.npt_area,
                submission_key=submission_key,
                status=Concern.Status.UNCONFIRMED if is_guest else Concern.Status.NEW,
                tracking_token_hash=_hash_token(token) if token else None,
                **({} if is_guest else due),
                created_at=now,
                **details.__dict__,
            )
            concern.reference = f"DBC-{now.year}-{concern.pk:06d}"
            concern.save(update_fields=["reference"])
            for upload in attachments:
                _attachment_add(concern=concern, upload=upload, uploaded_by=reporter)
            _attach_held(concern=concern, held=held, uploaded_by=reporter)
            _event(concern, ConcernEvent.Kind.SUBMITTED, actor=reporter, to_status=concern.status)
            if is_guest:
                email_queue(
                    to=concern.contact_email,
                    template="guest_confirm",
                    context={"concern": concern, "track_path": _track_path(token or "")},
                    contains_secret=True,
                )
            else:
                _notify_submitted(concern)
                concern_refer_to_specialists(concern=concern)
    except IntegrityError as error:
        # Two submissions of the same form raced; the other one created the concern.
        return race_winner(Concern.objects.filter(submission_key=submission_key), error), None
    return concern, token


def _track_path(token: str) -> str:
    return reverse("engagement:guest_track", args=[token])


ATTACHMENT_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "application/pdf": "pdf",
}


def _checked_kind(upload: UploadedFile) -> str:
    kind = getattr(upload, "detected_kind", None)
    if not isinstance(kind, str):
        raise ValidationError("Attachments must be checked by the form before they are saved.")
    return kind


def _attachment_add(
    *, concern: Concern, upload: UploadedFile, uploaded_by: User | None
) -> Attachment:
    kind = _checked_kind(upload)
    original = upload.name or "attachment"
    upload.name = f"{uuid.uuid4().hex}.{ATTACHMENT_EXTENSIONS[kind]}"
    return Attachment.objects.create(
        concern=concern,
        file=upload,
        original_name=original[:255],
        content_type=kind,
        size=upload.size or 0,
        uploaded_by=uploaded_by,
    )


def _attach_held(
    *, concern: Concern, held: Sequence[HeldAttachment], uploaded_by: User | None
) -> None:
    # The held file becomes the attachment where it lies: no copy, and the held row goes in the
    # same transaction, so a rollback leaves the file held for the next try.
    if not held:
        return
    # Locked, and only those still there: the purge (SKIP LOCKED) may have taken a stale one.
    held = list(
        HeldAttachment.objects.select_for_update()
        .filter(pk__in=[item.pk for item in held])
        .order_by("pk")
    )
    Attachment.objects.bulk_create(
        Attachment(
            concern=concern,
            file=item.file.name,
            original_name=item.original_name,
            content_type=item.content_type,
            size=item.size,
            uploaded_by=uploaded_by,
        )
        for item in held
    )
    HeldAttachment.objects.filter(pk__in=[item.pk for item in held]).delete()


# Attachments held for a report form not yet sent


def attachment_hold(
    *, submission_key: uuid.UUID, holder: str, upload: UploadedFile
) -> HeldAttachment:
    """Keep a file that passed its checks for the report form with this one-time key."""
    kind = _checked_kind(upload)
    original = upload.name or "attachment"
    upload.name = f"{uuid.uuid4().hex}.{ATTACHMENT_EXTENSIONS[kind]}"
    return HeldAttachment.objects.create(
        submission_key=submission_key,
        holder=holder,
        file=upload,
        original_name=original[:255],
        content_type=kind,
        size=upload.size or 0,
    )


def held_attachment_remove(*, submission_key: uuid.UUID, holder: str, pk: int) -> bool:
    """Let go of one held file; only its holder can, and only for that form."""
    with transaction.atomic():
        item = (
            HeldAttachment.objects.select_for_update()
            .filter(pk=pk, submission_key=submission_key, holder=holder)
            .first()
        )
        if item is None:
            return False
        file = item.file
        item.delete()
        transaction.on_commit(lambda: file.delete(save=False))
    return True


def held_attachments_purge(
    *, older_than_hours: int = HELD_ATTACHMENT_HOURS, now: dt.datetime | None = None
) -> int:
    """Delete files held for report forms nobody sent, with their rows."""
    cutoff = (now or timezone.now()) - dt.timedelta(hours=older_than_hours)
    with transaction.atomic():
        stale = list(
            HeldAttachment.objects.select_for_update(skip_locked=True).filter(created_at__lt=cutoff)
        )
        if not stale:
            return 0
        files = [item.file for item in stale]
        HeldAttachment.objects.filter(pk__in=[item.pk for item in stale]).delete()
        # Files go only once the rows are gone for good; a rollback keeps both.
        transaction.on_commit(lambda: [f.delete(save=False) for f in files])
    return len(stale)


def _notify_submitted(concern: Concern) -> None:
    email_queue(
        to=concern.contact_email,
        template="concern_submitted",
        context={"concern": concern},
    )


def guest_concern_submit(
    *,
    business_name: str,
    sector: str,
    postcode: str,
    town: str,
    details: ConcernDetails,
    submission_key: uuid.UUID,
    attachments: Sequence[UploadedFile] = (),
    held: Sequence[HeldAttachment] = (),
) -> tuple[Concern, str | None]:
    """A report from someone without an account; it waits until they confirm from the email."""
    existing = Concern.objects.filter(submission_key=submission_key).first()
    if existing is not None:
        return existing, None
    area = npt_for_postcode(postcode)

    def placeholder_business() -> Business:
        # Created in concern_submit's savepoint: a racing duplicate rolls it back with the
        # concern, so no orphan placeholder is left.
        placeholder = Business.objects.create(
            name=business_name,
            sector=sector,
            size_band=SizeBand.values[0],
            # A placeholder address: the location in full stays on the concern.
            address_line1=details.location[: Business._meta.get_field("address_line1").max_length],
            town=town,
            postcode=normalise_postcode(postcode),
            npt_area=area,
        )
        business_event(
            placeholder,
            BusinessEvent.Kind.CREATED,
            actor=None,
            detail="Made for a report from someone without an account.",
        )
        return placeholder

    return concern_submit(
        business=placeholder_business,
        reporter=None,
        details=details,
        submission_key=submission_key,
        attachments=attachments,
        held=held,
    )


def concern_for_token(token: str) -> Concern | None:
    if not token or len(token) > 100:
        return None
    return (
        Concern.objects.select_related(
            "business", "category", "npt_area", "npt_area__group", "outcome"
        )
        .filter(tracking_token_hash=_hash_token(token))
        .first()
    )


def concern_confirm_guest(*, concern: Concern) -> bool:
    """Confirm a guest's report from its email link; it then reaches the NPT. Idempotent."""
    now = timezone.now()
    due = deadlines.deadlines_for(tier=concern.tier, priority=concern.priority, start=now)
    with transaction.atomic():
        claimed = Concern.objects.filter(pk=concern.pk, status=Concern.Status.UNCONFIRMED).update(
            status=Concern.Status.NEW,
            confirmed_at=now,
            **due,
        )
        if not claimed:
            return False
        concern.refresh_from_db()
        _event(
            concern,
            ConcernEvent.Kind.CONFIRMED,
            actor=None,
            from_status=Concern.Status.UNCONFIRMED,
            to_status=Concern.Status.NEW,
        )
        _notify_submitted(concern)
        concern_refer_to_specialists(concern=concern)
    return True


def concern_purge_unconfirmed(*, older_than_days: int = UNCONFIRMED_GUEST_REPORT_DAYS) -> int:
    """Delete guest reports nobody confirmed, with their placeholder businesses."""
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    with transaction.atomic():
        stale = Concern.objects.filter(status=Concern.Status.UNCONFIRMED, created_at__lt=cutoff)
        business_ids = list(stale.values_list("business_id", flat=True))
        files = [a.file for a in Attachment.objects.filter(concern__in=stale)]
        # Files go only once the rows are gone for good; a rollback keeps both.
        transaction.on_commit(lambda: [f.delete(save=False) for f in files])
        # A report nobody confirmed takes its "submitted" event with it.
        deleted = erase_with_events(
            target=stale, reason=f"unconfirmed guest reports older than {older_than_days} days"
        )
        count = deleted.get(Concern._meta.label, 0)
        # Their placeholder businesses go too, with the events that say they were made.
        erase_with_events(
            target=Business.objects.filter(
                pk__in=business_ids, memberships__isnull=True, concerns__isnull=True
            ),
            reason="the businesses made for unconfirmed guest reports",
        )
    return count


# Concerns: specialist teams


def specialist_teams_reached_by(concern: Concern) -> list[SpecialistTeam]:
    """The active specialist teams a concern reaches, by its category and its business."""
    business = concern.business
    teams = SpecialistTeam.objects.filter(is_active=True).annotate(
        has_category=Exists(
            SpecialistTeam.categories.through.objects.filter(
                specialistteam_id=OuterRef("pk"), concerncategory_id=concern.category_id
            )
        )
    )
    # Business types are a short list on each of a handful of teams: matched here, not in SQL,
    # because SQLite cannot look inside a JSON list.
    return [
        team
        for team in teams
        if team.has_category
        or (team.rural_businesses and business.is_rural)
        or business.sector in team.sectors
    ]


def concern_refer_to_specialists(*, concern: Concern) -> list[SpecialistReferral]:
    """Refer an arrived concern to each specialist team it reaches and email each member of the
    teams referred now once, naming those teams; once per team, however often it runs. Returns
    the referrals made now."""
    if concern.status == Concern.Status.UNCONFIRMED:
        return []  # a guest's report arrives when the guest confirms it
    teams = specialist_teams_reached_by(concern)
    if not teams:
        return []
    made = []
    with transaction.atomic():
        already = set(
            SpecialistReferral.objects.filter(concern=concern).values_list("team_id", flat=True)
        )
        for team in teams:
            if team.pk in already:
                continue
            try:
                # The unique (concern, team) row is the claim: a second run, or one beside this
                # one, fails here and tells nobody again.
                with transaction.atomic():
                    referral = SpecialistReferral.objects.create(concern=concern, team=team)
            except IntegrityError:
                continue
            made.append(referral)
        if not made:
            return made
        # Someone in two of the teams hears once; and only staff can open the admin the email
        # links to, so an account without staff status is not sent there.
        team_names: dict[int, list[str]] = defaultdict(list)
        emails: dict[int, str] = {}
        members = (
            SpecialistTeamMember.objects.filter(
                team__in=[referral.team for referral in made],
                user__is_active=True,
                user__is_staff=True,
            )
            .order_by("team__name", "pk")
            .values_list("user_id", "user__email", "team__name")
        )
        for user_id, email, team_name in members:
            emails[user_id] = email
            team_names[user_id].append(team_name)
        for user_id, email in emails.items():
            email_queue(
                to=email,
                template="specialist_referral",
                context={"concern": concern, "teams": team_names[user_id]},
            )
    return made


def concern_send_advice(
    *,
    concern: Concern,
    actor: User,
    team: SpecialistTeam,
    body: str,
    submission_key: uuid.UUID | None = None,
) -> ConcernUpdate:
    """A specialist team's advice to the business on an open concern, posted in the name of a
    team still active and emailed to them; the NPT's triage (status, deadlines) is left as it
    was. A repeated key posts nothing."""
    if not SpecialistTeamMember.objects.filter(team=team, user=actor).exists():
        raise ValidationError(f"Only members of the {team} send advice in its name.")
    with transaction.atomic():
        concern = _locked(concern)
        if (repeat := _update_with_key(concern, submission_key)) is not None:
            return repeat
        if not SpecialistReferral.objects.filter(concern=concern, team=team).exists():
            raise ValidationError(f"This concern was not referred to the {team}.")
        if not concern.is_open:
            raise ValidationError(
                f"This concern has an outcome already ({concern.get_status_display()}); "
                "advice was not sent."
            )
        if not SpecialistTeam.objects.filter(pk=team.pk, is_active=True).exists():
            raise ValidationError(
                f"The {team} is no longer active; advice was not sent in its name."
            )
        advice = ConcernUpdate.objects.create(
            concern=concern,
            author=actor,
            kind=ConcernUpdate.Kind.PUBLIC,
            body=body,
            submission_key=submission_key,
            specialist_team=team,
        )
        _event(concern, ConcernEvent.Kind.UPDATE_POSTED, actor=actor, detail=f"Advice from {team}")
        _email_reporter(concern, "concern_advice", {"update": advice, "team": team})
    return advice


# Concerns: triage


def _event(
    concern: Concern,
    kind: str,
    *,
    actor: User | None,
    detail: str = "",
    rule: str = "",
    changes: Changes | None = None,
    **columns: Any,
) -> ConcernEvent:
    return ConcernEvent.objects.create(
        concern=concern,
        kind=kind,
        actor=actor,
        detail=detail,
        rule=rule,
        changes=changes,
        **columns,
    )


# What an outcome changes on a concern, recorded with the event that gives or takes it away.
# (An item event's status and tier are its own from/to columns, which every writer and the
# sweep's SQL fill; `changes` holds the rest.)
OUTCOME_FIELDS = ("outcome",)


def _locked(concern: Concern) -> Concern:
    # of=self: the related rows are read for emails, not locked (PostgreSQL would refuse
    # FOR UPDATE on the nullable side of the outer joins).
    return (
        Concern.objects.select_for_update(of=("self",))
        .select_related("business", "npt_area", "npt_area__group", "assigned_officer")
        .get(pk=concern.pk)
    )


def _guard_tier(concern: Concern, from_tier: int | None) -> None:
    """Refuse an action meant for one tier once the locked concern has moved to another."""
    if from_tier is not None and concern.tier != from_tier:
        body = Concern.Tier(concern.tier).label
        raise ValidationError(
            f"This concern is now with the {body}; they decide what happens next."
        )


def _mark_responded(concern: Concern, now: dt.datetime) -> None:
    if concern.first_responded_at is None:
        concern.first_responded_at = now


def concern_assign(
    *, concern: Concern, officer: User, actor: User, from_tier: int | None = None
) -> Concern:
    """Give the concern to an officer of its NPT; `from_tier` refuses it once it has moved."""
    if not officer.npt_areas.filter(pk=concern.npt_area_id).exists():
        raise ValidationError(f"{officer} is not posted to {concern.npt_area}.")
    with transaction.atomic():
        concern = _locked(concern)
        _guard_tier(concern, from_tier)
        if concern.assigned_officer_id == officer.pk:
            return concern
        before = snapshot(concern, ["assigned_officer"])
        old_status = concern.status
        concern.assigned_officer = officer
        if concern.status == Concern.Status.NEW:
            concern.status = Concern.Status.IN_PROGRESS
        concern.save(update_fields=["assigned_officer", "status", "updated_at"])
        _event(
            concern,
            ConcernEvent.Kind.ASSIGNED,
            actor=actor,
            detail=f"Assigned to {officer}",
            from_status=old_status,
            to_status=concern.status,
            changes=changes_between(before, snapshot(concern, before)),
        )
    return concern


def concern_set_priority(
    *, concern: Concern, priority: str, actor: User, from_tier: int | None = None
) -> Concern:
    """Change the priority; open deadlines are recalculated from when the concern arrived."""
    if priority not in Concern.Priority.values:
        raise ValidationError("Choose a priority from the list.")
    with transaction.atomic():
        concern = _locked(concern)
        _guard_tier(concern, from_tier)
        if concern.priority == priority:
            return concern
        old = concern.get_priority_display()
        before = snapshot(concern, ["priority", "first_response_due_at", "resolution_due_at"])
        concern.priority = priority
        fields = ["priority", "updated_at"]
        if concern.is_open:
            # The policy for its tier, counted from when the concern reached that tier.
            start = concern.tier_entered_at or concern.confirmed_at or concern.created_at
            due = deadlines.deadlines_for(tier=concern.tier, priority=priority, start=start)
            for name, value in due.items():
                setattr(concern, name, value)
            fields += list(due)
        concern.save(update_fields=fields)
        _event(
            concern,
            ConcernEvent.Kind.PRIORITY,
            actor=actor,
            detail=f"{old} → {concern.get_priority_display()}",
            changes=changes_between(before, snapshot(concern, before)),
        )
    return concern


def concern_set_legal_hold(*, concern: Concern, hold: bool, reason: str, actor: User) -> bool:
    """Place or lift a legal hold: a held report keeps its words when its reporter deletes
    their account or the retention schedule comes due. Returns whether anything changed."""
    reason = reason.strip() if hold else ""
    if hold and not reason:
        raise ValidationError("Say why the report is held (for example the case it belongs to).")
    fields = ["legal_hold", "legal_hold_reason"]
    with transaction.atomic():
        # Locked, so the values it changes from are the ones it had.
        before = Concern.objects.select_for_update().filter(pk=concern.pk).values(*fields).first()
        if before is None or before == {"legal_hold": hold, "legal_hold_reason": reason}:
            return False
        Concern.objects.filter(pk=concern.pk).update(legal_hold=hold, legal_hold_reason=reason)
        concern.legal_hold, concern.legal_hold_reason = hold, reason
        _event(
            concern,
            ConcernEvent.Kind.LEGAL_HOLD,
            actor=actor,
            detail=f"Held: {reason}" if hold else "Hold lifted",
            changes=changes_between(before, snapshot(concern, fields)),
        )
    return True


def _update_with_key(concern: Concern, submission_key: uuid.UUID | None) -> ConcernUpdate | None:
    """The message a form with this one-time key already posted on the (locked) concern."""
    if submission_key is None:
        return None
    repeat = ConcernUpdate.objects.filter(submission_key=submission_key).first()
    if repeat is not None and repeat.concern_id != concern.pk:
        raise ValidationError("This form was already used for another concern; reload the page.")
    return repeat


def concern_post_update(
    *, concern: Concern, actor: User, body: str, submission_key: uuid.UUID | None = None
) -> ConcernUpdate:
    """Post an update the business sees, and email it to them; a repeated key posts nothing."""
    with transaction.atomic():
        concern = _locked(concern)
        if (repeat := _update_with_key(concern, submission_key)) is not None:
            return repeat
        now = timezone.now()
        update = ConcernUpdate.objects.create(
            concern=concern,
            author=actor,
            kind=ConcernUpdate.Kind.PUBLIC,
            body=body,
            submission_key=submission_key,
        )
        old_status = concern.status
        _mark_responded(concern, now)
        if concern.status == Concern.Status.NEW:
            concern.status = Concern.Status.IN_PROGRESS
        concern.save(update_fields=["first_responded_at", "status", "updated_at"])
        _event(
            concern,
            ConcernEvent.Kind.UPDATE_POSTED,
            actor=actor,
            from_status=old_status,
            to_status=concern.status,
        )
        _email_reporter(concern, "concern_update", {"update": update})
    return update


def concern_add_note(
    *, concern: Concern, actor: User, body: str, submission_key: uuid.UUID | None = None
) -> ConcernUpdate:
    """An internal note the business never sees; a repeated key adds nothing."""
    with transaction.atomic():
        concern = _locked(concern)
        if (repeat := _update_with_key(concern, submission_key)) is not None:
            return repeat
        note = ConcernUpdate.objects.create(
            concern=concern,
            author=actor,
            kind=ConcernUpdate.Kind.INTERNAL,
            body=body,
            submission_key=submission_key,
        )
        _event(concern, ConcernEvent.Kind.NOTE_ADDED, actor=actor)
    return note


def concern_ask_question(
    *,
    concern: Concern,
    actor: User,
    body: str,
    from_tier: int | None = None,
    submission_key: uuid.UUID | None = None,
) -> ConcernUpdate:
    """Ask the business a question; the deadline clock stops until they answer."""
    with transaction.atomic():
        concern = _locked(concern)
        if (repeat := _update_with_key(concern, submission_key)) is not None:
            return repeat
        _guard_tier(concern, from_tier)
        if not concern.is_open:
            raise ValidationError("This concern has an outcome; reopen it before asking.")
        now = timezone.now()
        question = ConcernUpdate.objects.create(
            concern=concern,
            author=actor,
            kind=ConcernUpdate.Kind.QUESTION,
            body=body,
            submission_key=submission_key,
        )
        old_status = concern.status
        _mark_responded(concern, now)
        concern.status = Concern.Status.WAITING
        if concern.paused_at is None:
            concern.paused_at = now
        concern.save(update_fields=["first_responded_at", "status", "paused_at", "updated_at"])
        _event(
            concern,
            ConcernEvent.Kind.QUESTION_ASKED,
            actor=actor,
            from_status=old_status,
            to_status=concern.status,
        )
        _email_reporter(concern, "concern_question", {"update": question})
    return question


def _resume_clock(concern: Concern, now: dt.datetime) -> list[str]:
    """Push deadlines back by the working days the concern spent waiting for the business."""
    if concern.paused_at is None:
        return []
    paused_days = deadlines.working_days_between(concern.paused_at, now)
    if paused_days and concern.resolution_due_at:
        concern.resolution_due_at = deadlines.add_working_days(
            concern.resolution_due_at, paused_days
        )
    if paused_days and concern.resolution_warn_at:
        concern.resolution_warn_at = deadlines.add_working_days(
            concern.resolution_warn_at, paused_days
        )
    if paused_days and concern.first_response_due_at and concern.first_responded_at is None:
        concern.first_response_due_at = deadlines.add_working_days(
            concern.first_response_due_at, paused_days
        )
        if concern.first_response_warn_at:
            concern.first_response_warn_at = deadlines.add_working_days(
                concern.first_response_warn_at, paused_days
            )
    concern.paused_at = None
    return [
        "paused_at",
        "resolution_due_at",
        "first_response_due_at",
        "resolution_warn_at",
        "first_response_warn_at",
    ]


def concern_reply(
    *,
    concern: Concern,
    author: User | None,
    body: str,
    submission_key: uuid.UUID | None = None,
    held: Sequence[HeldAttachment] = (),
) -> ConcernUpdate:
    """The business answers; a waiting concern goes back to the officer and its clock restarts.
    A repeated one-time key posts nothing; held files from a report form join the concern."""
    with transaction.atomic():
        concern = _locked(concern)
        if (repeat := _update_with_key(concern, submission_key)) is not None:
            return repeat
        if held:
            _check_attachment_room(concern, len(held))
        now = timezone.now()
        reply = ConcernUpdate.objects.create(
            concern=concern,
            author=author,
            kind=ConcernUpdate.Kind.REPLY,
            body=body,
            submission_key=submission_key,
        )
        _attach_held(concern=concern, held=held, uploaded_by=author)
        old_status = concern.status
        fields = ["status", "updated_at"]
        if concern.status == Concern.Status.WAITING:
            concern.status = Concern.Status.IN_PROGRESS
            fields += _resume_clock(concern, now)
        concern.save(update_fields=fields)
        _event(
            concern,
            ConcernEvent.Kind.REPLIED,
            actor=author,
            from_status=old_status,
            to_status=concern.status,
        )
        _email_holder(
            concern,
            "officer_reply",
            {"update": reply, "answered": old_status == Concern.Status.WAITING},
        )
    return reply


def concern_resolve(
    *,
    concern: Concern,
    actor: User,
    outcome: Outcome,
    note: str = "",
    from_tier: int | None = None,
) -> Concern:
    """Give the concern an outcome and tell the business; `from_tier` refuses a moved one."""
    if outcome.requires_note and not note.strip():
        raise ValidationError(f"Explain the outcome “{outcome}” to the business.")
    with transaction.atomic():
        concern = _locked(concern)
        _guard_tier(concern, from_tier)
        if not concern.is_open:
            return concern
        now = timezone.now()
        before = snapshot(concern, OUTCOME_FIELDS)
        old_status = concern.status
        _resume_clock(concern, now)
        _mark_responded(concern, now)
        concern.status = Concern.Status.RESOLVED
        concern.outcome = outcome
        concern.outcome_note = note
        concern.resolved_at = now
        concern.reporter_satisfied = None
        concern.save()
        _event(
            concern,
            ConcernEvent.Kind.RESOLVED,
            actor=actor,
            detail=str(outcome),
            from_status=old_status,
            to_status=concern.status,
            changes=changes_between(before, snapshot(concern, OUTCOME_FIELDS)),
        )
        _email_reporter(concern, "concern_resolved", {})
    return concern


DUPLICATE_OUTCOME = "duplicate"  # the slug of the outcome engagement migration 0002 loads


def concern_mark_duplicate(
    *, concern: Concern, original: Concern, actor: User, from_tier: int | None = None
) -> Concern:
    """Close the concern as a duplicate of `original`, with an event on each, and tell its
    business which reference deals with it; marking it again as the same changes nothing."""
    if concern.pk == original.pk:
        raise ValidationError("A concern cannot be a duplicate of itself.")
    outcome = Outcome.objects.filter(slug=DUPLICATE_OUTCOME).first()
    if outcome is None:
        raise ValidationError(
            "The “Duplicate” outcome is missing from the list of outcomes; ask an administrator."
        )
    with transaction.atomic():
        # Both rows are locked, lowest id first: two officers joining A to B and B to A at the
        # same moment wait for each other instead of deadlocking, and the second is refused.
        locked = {
            row.pk: row
            for row in Concern.objects.select_for_update(of=("self",))
            .select_related("business", "npt_area", "npt_area__group")
            .filter(pk__in=[concern.pk, original.pk])
            .order_by("pk")
        }
        concern, original = locked[concern.pk], locked[original.pk]
        if concern.duplicate_of_id == original.pk:
            return concern
        _guard_tier(concern, from_tier)
        if not concern.is_open:
            raise ValidationError(
                f"{concern} has an outcome already ({concern.get_status_display()}); "
                "it was not marked a duplicate."
            )
        if original.status == Concern.Status.UNCONFIRMED:
            raise ValidationError(f"{original} has not been confirmed by its reporter yet.")
        if original.duplicate_of_id is not None:
            first = Concern.objects.filter(pk=original.duplicate_of_id).first()
            raise ValidationError(
                f"{original} is itself a duplicate of {first}: mark {concern} a duplicate of "
                f"{first} instead."
            )
        if concern.duplicates.exists():
            raise ValidationError(
                f"Other concerns are joined to {concern} as its duplicates, so it cannot become "
                "a duplicate itself."
            )
        now = timezone.now()
        before = snapshot(concern, [*OUTCOME_FIELDS, "duplicate_of"])
        old_status = concern.status
        _resume_clock(concern, now)
        _mark_responded(concern, now)
        concern.status = Concern.Status.CLOSED
        concern.outcome = outcome
        concern.outcome_note = f"Joined to {original}, which deals with the same matter."
        concern.duplicate_of = original
        concern.resolved_at = now
        concern.closed_at = now
        concern.reporter_satisfied = None
        concern.save()
        _event(
            concern,
            ConcernEvent.Kind.DUPLICATE,
            actor=actor,
            detail=f"Duplicate of {original}",
            from_status=old_status,
            to_status=concern.status,
            changes=changes_between(before, snapshot(concern, before)),
        )
        _event(
            original,
            ConcernEvent.Kind.DUPLICATE_JOINED,
            actor=actor,
            detail=f"{concern} joined to it as a duplicate",
        )
        _email_reporter(concern, "concern_duplicate", {"original": original})
    return concern


def concern_feedback(
    *, concern: Concern, author: User | None, resolved: bool, comment: str = ""
) -> Concern:
    """The business says whether the outcome resolved it; "not resolved" reopens it at its tier."""
    with transaction.atomic():
        concern = _locked(concern)
        if concern.status != Concern.Status.RESOLVED:
            return concern
        now = timezone.now()
        if comment.strip():
            ConcernUpdate.objects.create(
                concern=concern, author=author, kind=ConcernUpdate.Kind.REPLY, body=comment
            )
        if resolved:
            concern.status = Concern.Status.CLOSED
            concern.reporter_satisfied = True
            concern.closed_at = now
            concern.save(update_fields=["status", "reporter_satisfied", "closed_at", "updated_at"])
            _event(
                concern,
                ConcernEvent.Kind.CLOSED,
                actor=author,
                from_status=Concern.Status.RESOLVED,
                to_status=concern.status,
            )
            return concern
        before = snapshot(concern, ["resolution_due_at"])
        concern.status = Concern.Status.IN_PROGRESS
        concern.reporter_satisfied = False
        concern.resolved_at = None
        # A reopened concern gets a fresh resolution deadline at its tier.
        due = deadlines.deadlines_for(tier=concern.tier, priority=concern.priority, start=now)
        concern.resolution_due_at = due["resolution_due_at"]
        concern.resolution_warn_at = due["resolution_warn_at"]
        concern.resolution_warned_at = None
        concern.overdue_flagged_at = None
        concern.save(
            update_fields=[
                "status",
                "reporter_satisfied",
                "resolved_at",
                "resolution_due_at",
                "resolution_warn_at",
                "resolution_warned_at",
                "overdue_flagged_at",
                "updated_at",
            ]
        )
        _event(
            concern,
            ConcernEvent.Kind.REOPENED,
            actor=author,
            detail=comment[:500],
            from_status=Concern.Status.RESOLVED,
            to_status=concern.status,
            changes=changes_between(before, snapshot(concern, before)),
        )
        _email_holder(concern, "officer_reopened", {"comment": comment})
    return concern


# A concern's attachments, however many times the business adds some: enough for a set of
# CCTV stills and documents, not a file store.
MAX_ATTACHMENTS_PER_CONCERN = 20


def _check_attachment_room(concern: Concern, adding: int) -> None:
    # Called with the concern locked, so two additions at once cannot both fit.
    room = MAX_ATTACHMENTS_PER_CONCERN - concern.attachments.count()
    if adding > room:
        raise ValidationError(
            f"A concern can have {MAX_ATTACHMENTS_PER_CONCERN} attachments at most; this "
            f"one has room for {max(room, 0)} more."
        )


def concern_add_attachments(
    *, concern: Concern, author: User | None, attachments: list[UploadedFile]
) -> list[Attachment]:
    """The reporter adds files the form has checked to their open concern; an event records it
    and whoever holds the concern is told."""
    if not attachments:
        return []
    with transaction.atomic():
        concern = _locked(concern)
        if not concern.is_open:
            raise ValidationError(
                "This concern is no longer open, so nothing more can be attached to it."
            )
        _check_attachment_room(concern, len(attachments))
        added = [
            _attachment_add(concern=concern, upload=upload, uploaded_by=author)
            for upload in attachments
        ]
        names = [attachment.original_name for attachment in added]
        _event(concern, ConcernEvent.Kind.ATTACHED, actor=author, detail=", ".join(names)[:500])
        _email_holder(concern, "officer_attachments", {"names": names})
    return added


def concern_withdraw(*, concern: Concern, author: User | None, reason: str) -> tuple[Concern, bool]:
    """The reporter withdraws their open concern with a reason: it is closed with the outcome
    "Withdrawn by the reporter" and whoever holds it is told. Returns the concern and whether
    it was withdrawn now (False if it was already withdrawn or closed)."""
    outcome = Outcome.objects.get(slug=Outcome.WITHDRAWN_SLUG)
    with transaction.atomic():
        concern = _locked(concern)
        if not concern.is_open:
            return concern, False
        now = timezone.now()
        before = snapshot(concern, OUTCOME_FIELDS)
        old_status = concern.status
        concern.status = Concern.Status.CLOSED
        concern.outcome = outcome
        concern.outcome_note = reason
        concern.resolved_at = now
        concern.closed_at = now
        concern.paused_at = None
        concern.save(
            update_fields=[
                "status",
                "outcome",
                "outcome_note",
                "resolved_at",
                "closed_at",
                "paused_at",
                "updated_at",
            ]
        )
        _event(
            concern,
            ConcernEvent.Kind.WITHDRAWN,
            actor=author,
            detail=reason[:500],
            from_status=old_status,
            to_status=concern.status,
            changes=changes_between(before, snapshot(concern, OUTCOME_FIELDS)),
        )
        _email_holder(concern, "officer_withdrawn", {"reason": reason})
    return concern, True


def guest_link_resend(*, email: str, reference: str) -> bool:
    """Email a guest a new private link to their report, only to the address the report gave.
    The old link stops working (only a hash of it is kept). Returns whether a report matched;
    the caller must not show it."""
    reference = reference.strip().upper()
    email = email.strip()
    if not email or not reference or "\x00" in reference + email:
        return False
    with transaction.atomic():
        concern = (
            Concern.objects.select_for_update(of=("self",))
            .select_related("npt_area")
            .filter(
                reference=reference,
                reporter__isnull=True,
                tracking_token_hash__isnull=False,
                contact_email__iexact=email,
            )
            .first()
        )
        if concern is None:
            return False
        token = secrets.token_urlsafe(32)
        Concern.objects.filter(pk=concern.pk).update(tracking_token_hash=_hash_token(token))
        email_queue(
            to=concern.contact_email,
            template="guest_link",
            context={"concern": concern, "track_path": _track_path(token)},
            contains_secret=True,
        )
    return True


def _email_holder(concern: Concern, template: str, context: dict[str, Any]) -> None:
    """Tell whoever holds the concern now (officer, group or Partnership) what the business said."""
    # escalation builds on engagement's models, so it is imported here, not at import time.
    from escalation.selectors import item_holder

    holder = item_holder(concern)
    for to in holder.emails:
        email_queue(
            to=to,
            template=template,
            context={"concern": concern, "holder": holder, **context},
        )


def _email_reporter(concern: Concern, template: str, context: dict[str, Any]) -> None:
    if concern.status == Concern.Status.UNCONFIRMED or not concern.contact_email:
        return
    email_queue(
        to=concern.contact_email, template=template, context={"concern": concern, **context}
    )


# Accounts


def user_delete(*, user: User) -> None:
    """Delete a business owner's account; their concerns stay with the police, anonymised."""
    # privacy and resources depend on engagement, so their services are imported here, not at
    # import time.
    from privacy import services as privacy
    from resources import services as community
    from resources.models import Booking, SchemeMembership

    if user.is_staff or user.is_superuser:
        raise ValidationError("Staff accounts are closed by an administrator.")
    with transaction.atomic():
        # Bookings go with the account, so cancel them first: a freed place goes to the next
        # person waiting, who is told. A person has a handful of bookings at most.
        for booking in Booking.objects.filter(
            user=user, status__in=Booking.LIVE_STATUSES
        ).select_related("seminar"):
            community.booking_cancel(booking=booking, user=user)
        # A Watch scheme membership needs someone to receive its alerts: hand it to another
        # person of the business, or end it as if the business had left.
        for membership in SchemeMembership.objects.filter(
            contact=user, status__in=SchemeMembership.OPEN_STATUSES
        ).select_related("scheme", "business"):
            successor = (
                BusinessMembership.objects.filter(
                    business_id=membership.business_id, user__is_active=True
                )
                .exclude(user=user)
                .select_related("user")
                .order_by("created_at", "pk")
                .first()
            )
            if successor is not None:
                community.membership_hand_over(
                    membership=membership, contact=successor.user, actor=user
                )
            else:
                community.membership_leave(membership=membership, user=user)
        # Their words, contact details and files go from their concerns (unless an officer
        # holds a concern for legal reasons), from their replies, events and the outbox; what
        # insight counts stays.
        sole_business_ids = privacy.person_erase(user=user)
        # A business they shared stays with the others; its history says someone left, not who.
        _businesses_record_leaving(user=user, except_ids=sole_business_ids)
        Concern.objects.filter(reporter=user).update(reporter=None)
        ConcernUpdate.objects.filter(author=user).update(author=None)
        # Files held for a report they never sent go with the account, not a day later.
        held = HeldAttachment.objects.filter(holder=f"u{user.pk}")
        held_files = [item.file for item in held]
        held.delete()
        transaction.on_commit(lambda: [f.delete(save=False) for f in held_files])
        # Their events stay, with no actor; their bookings go, and the bookings' events with
        # them.
        erase_with_events(target=user, reason=f"account {user.pk} deleted by its holder")
        privacy.businesses_remove_orphans(business_ids=sole_business_ids)


def _businesses_record_leaving(*, user: User, except_ids: list[int]) -> None:
    shared = (
        # Filtered by a subquery, not the join: a count after a filter on the same relation
        # would count only their own membership.
        Business.objects.filter(
            pk__in=BusinessMembership.objects.filter(user=user).values("business_id")
        )
        .exclude(pk__in=except_ids)
        .annotate(people=Count("memberships"))
        .values_list("pk", "people")
    )
    BusinessEvent.objects.bulk_create(
        BusinessEvent(
            business_id=pk,
            kind=BusinessEvent.Kind.MEMBER_LEFT,
            actor=None,
            detail="A person's account was closed, so they no longer belong to it.",
            changes=change("people", people, people - 1),
        )
        for pk, people in shared
    )


def user_sign_out_everywhere(*, user: User) -> int:
    """End every session of the person at its next request; return their new session version."""
    # F(), not a read and a write: two clicks at once both move the version on.
    User.objects.filter(pk=user.pk).update(session_version=F("session_version") + 1)
    user.refresh_from_db(fields=["session_version"])
    return user.session_version
