"""Every write of the escalation chain: moves, decisions, themes and the automatic sweep.

An *item* is a concern (engagement.Concern) or a theme (escalation.Theme). Both carry a tier,
deadlines at that tier from DeadlinePolicy, warning and flag timestamps, and an event table with
the same columns, so one set of services moves either.

Concurrency: a manual move locks its row (select_for_update) and checks it is still open and at
the tier the person saw. The sweep claims rows with FOR UPDATE SKIP LOCKED inside the UPDATE
that moves them, so an officer who is resolving an item holds its lock and the sweep passes it
by, and a row resolved a moment earlier no longer matches the re-checked WHERE: the resolution
always wins. Two sweeps at once take disjoint rows. Each batch writes, in the same statement,
a tally per owner (SweepTally) and adds its moves to the run's counters. Notifications are built
from the tallies not yet told, claimed under row locks (SweepTally.notified_at), and wait while
another run is still moving items: two runs at once tell each body once, and no move twice.
The businesses hear the same way, from SweepBusinessNotice rows the batch writes per contact
address: one email per address for every untold move (sweep_notify_businesses, which the
periodic task runs after the sweep). A manual move emails its business with the move.
"""

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, F, Q, Value, When
from django.db.models.fields import DateTimeField
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import dateformat, timezone

from engagement import deadlines
from engagement import services as engagement_services
from engagement.emails import email_queue, email_queue_many, email_render
from engagement.models import Concern, ConcernEvent, Outcome, User

from . import selectors
from .models import (
    Action,
    Decision,
    PartnerOrganisation,
    Partnership,
    Sweep,
    SweepBusinessNotice,
    SweepTally,
    Theme,
    ThemeConcern,
    ThemeEvent,
    ThemeSettings,
)

logger = logging.getLogger(__name__)

TOP_TIER = Concern.Tier.PARTNERSHIP
# Rows moved per transaction: big enough that a county-wide backlog clears in a few
# statements, small enough that locks and WAL per transaction stay modest.
SWEEP_BATCH_SIZE = 10_000
# A run that has not finished and has committed no batch for this long died (a batch takes
# seconds even at county scale): notices stop waiting for it, and the next run (beat's, five
# minutes on) tells what it committed. Judged dead too early, a live run's later batches are
# told in a second email, never lost and never twice: each tally is claimed once.
SWEEP_STALE_AFTER = dt.timedelta(minutes=5)
# Items listed in one notification email; the rest are counted and waiting in the queue.
NOTIFY_LIST_LIMIT = 50
# The businesses' notices go out this many addresses to a transaction, for at most this long a
# call: a backlog is worked off over several beats rather than rolled back by the time limit.
NOTIFY_BUSINESSES_BATCH = 500
NOTIFY_BUSINESSES_BUDGET = dt.timedelta(minutes=2)

RULE_OVERDUE = "overdue"
RULE_OVERDUE_AT_TOP = "overdue_at_top"
RULE_FIRST_RESPONSE_WARNING = "first_response_warning"
RULE_RESOLUTION_WARNING = "resolution_warning"
RULE_COMMON_THEME = "common_theme"


@dataclass(frozen=True)
class _ItemKind:
    """How one kind of item is stored, so the same code moves concerns and themes."""

    model: type
    event_model: type
    event_fk: str
    open_statuses: tuple[str, ...]
    pausable: bool


CONCERNS = _ItemKind(Concern, ConcernEvent, "concern", tuple(Concern.OPEN_STATUSES), True)
THEMES = _ItemKind(Theme, ThemeEvent, "theme", tuple(Theme.OPEN_STATUSES), False)


def _kind_of(item) -> _ItemKind:
    if isinstance(item, Concern):
        return CONCERNS
    if isinstance(item, Theme):
        return THEMES
    raise TypeError(f"{item!r} is not a concern or a theme.")


def _arrival_fields(*, tier: int, priority: str, now: dt.datetime, table=None) -> dict:
    """Columns set when an item arrives at a tier: fresh deadlines, warnings and flag re-armed.

    The first response is per tier: the receiving body owes its own first response, so
    first_responded_at starts again (the earlier one stays in the events).
    """
    return {
        "tier": tier,
        "tier_entered_at": now,
        **deadlines.deadlines_for(tier=tier, priority=priority, start=now, table=table),
        "first_responded_at": None,
        "first_response_warned_at": None,
        "resolution_warned_at": None,
        "overdue_flagged_at": None,
        "updated_at": now,
    }


def _write_event(item, kind: str, **fields):
    spec = _kind_of(item)
    return spec.event_model.objects.create(**{spec.event_fk: item}, kind=kind, **fields)


def _lock(item):
    spec = _kind_of(item)
    return (
        spec.model.objects.select_for_update(of=("self",))
        .select_related("npt_area", "npt_area__group", "category")
        .get(pk=item.pk)
    )


# Manual moves


def item_escalate(
    *, item: Concern | Theme, actor: User, reason: str, from_tier: int | None = None
) -> Concern | Theme:
    """Move an open item up one tier with a reason; `from_tier` refuses a move someone beat."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give a reason for escalating.")
    with transaction.atomic():
        locked = _lock(item)
        _guard_move(locked, from_tier)
        if locked.tier >= TOP_TIER:
            raise ValidationError(
                "This is already with the Business Safety Partnership, the top of the chain."
            )
        return _move(
            locked,
            actor=actor,
            to_tier=locked.tier + 1,
            event_kind=ConcernEvent.Kind.ESCALATED,
            detail=reason,
        )


def item_return(
    *, item: Concern | Theme, actor: User, guidance: str, from_tier: int | None = None
) -> Concern | Theme:
    """Send an open item back to the tier below with guidance; it gets a fresh deadline there."""
    guidance = (guidance or "").strip()
    if not guidance:
        raise ValidationError("Give guidance for the tier below.")
    with transaction.atomic():
        locked = _lock(item)
        _guard_move(locked, from_tier)
        if locked.tier <= Concern.Tier.NPT:
            raise ValidationError("This is already with the Neighbourhood Policing Team.")
        return _move(
            locked,
            actor=actor,
            to_tier=locked.tier - 1,
            event_kind=ConcernEvent.Kind.RETURNED,
            detail=guidance,
        )


def _guard_move(locked, from_tier: int | None) -> None:
    if not locked.is_open:
        raise ValidationError("This already has an outcome.")
    if from_tier is not None and locked.tier != from_tier:
        body = selectors.owning_body(locked)
        raise ValidationError(f"This has moved since you opened it: it is now with {body}.")


def _move(locked, *, actor, to_tier, event_kind, detail):
    spec = _kind_of(locked)
    now = timezone.now()
    from_tier = locked.tier
    fields = _arrival_fields(tier=to_tier, priority=locked.priority, now=now)
    if spec.pausable and locked.paused_at is not None:
        # Still waiting for the business: the pause carries on against the new deadlines.
        fields["paused_at"] = now
    spec.model.objects.filter(pk=locked.pk).update(**fields)
    for name, value in fields.items():
        setattr(locked, name, value)
    event = _write_event(
        locked,
        event_kind,
        actor=actor,
        from_tier=from_tier,
        to_tier=to_tier,
        detail=detail,
    )
    holder = selectors.item_holder(locked)
    for email in holder.emails:
        email_queue(
            to=email,
            template="escalation_item_moved",
            context={
                "item": locked,
                "event": event,
                "is_theme": spec is THEMES,
                "body": holder.body,
                "returned": event_kind == ConcernEvent.Kind.RETURNED,
            },
        )
    if spec is CONCERNS:
        _email_business_moved(
            locked, holder.body, returned=event_kind == ConcernEvent.Kind.RETURNED
        )
    return locked


# What the business hears when its concern changes hands: who has it now, and by when they aim
# to reply and to give an outcome. The reason or guidance stays between the partners.


@lru_cache(maxsize=256)
def _date_in_words(moment: dt.datetime | None) -> str:
    # A sweep's moves share a handful of deadlines (one per tier and priority), so a notice to
    # thousands of businesses formats each date once rather than twice per concern.
    if moment is None:
        return ""
    return dateformat.format(timezone.localtime(moment), "l j F Y")


def _moved_concern(row: dict, partnership: str) -> dict:
    """One line of a business's "your concern has moved" email, from a row of _MOVED_COLUMNS."""
    short, held_by = selectors.held_by_in_words(
        tier=row["tier"],
        area=row["npt_area__name"],
        group=row["npt_area__group__name"],
        partnership=partnership,
    )
    return {
        "reference": row["reference"],
        "business": row["business__name"],
        "held_by_short": short,
        "held_by": held_by,
        "reply_by": _date_in_words(row["first_response_due_at"]),
        "outcome_by": _date_in_words(row["resolution_due_at"]),
        # A guest follows their report by the private link in their confirmation email; it is
        # never written into another email.
        "path": reverse("engagement:concern_detail", args=[row["reference"]])
        if row["reporter_id"]
        else "",
    }


_MOVED_COLUMNS = (
    "pk",
    "reference",
    "business__name",
    "tier",
    "npt_area__name",
    "npt_area__group__name",
    "first_response_due_at",
    "resolution_due_at",
    "reporter_id",
    "contact_name",
    "contact_email",
    "status",
)


def _email_business_moved(concern: Concern, body, *, returned: bool) -> None:
    if concern.status not in Concern.OPEN_STATUSES or not concern.contact_email:
        return
    row = {
        "reference": concern.reference,
        "business__name": concern.business.name,
        "tier": concern.tier,
        "npt_area__name": concern.npt_area.name,
        "npt_area__group__name": concern.npt_area.group.name if concern.npt_area.group_id else None,
        "first_response_due_at": concern.first_response_due_at,
        "resolution_due_at": concern.resolution_due_at,
        "reporter_id": concern.reporter_id,
    }
    partnership = body.name if body.kind == "partnership" else ""
    email_queue(
        to=concern.contact_email,
        template="concern_moved",
        context={
            "contact_name": concern.contact_name,
            "concerns": [_moved_concern(row, partnership)],
            "returned": returned,
        },
    )


def item_resolve(
    *,
    item: Concern | Theme,
    actor: User,
    outcome: Outcome,
    note: str = "",
    from_tier: int | None = None,
) -> Concern | Theme:
    """Give an item its outcome; a theme's outcome is emailed to every linked business.

    With from_tier, the item must still be at the tier the person saw (checked under the lock),
    so a sweep moving it meanwhile makes the resolve fail with a clear message.
    """
    if isinstance(item, Theme):
        return theme_resolve(
            theme=item, actor=actor, outcome=outcome, note=note, from_tier=from_tier
        )
    return engagement_services.concern_resolve(
        concern=item, actor=actor, outcome=outcome, note=note, from_tier=from_tier
    )


def theme_resolve(
    *, theme: Theme, actor: User, outcome: Outcome, note: str = "", from_tier: int | None = None
) -> Theme:
    """Resolve a theme and its open concerns, and tell everyone who reported one of them."""
    if outcome.requires_note and not note.strip():
        raise ValidationError(f"Explain the outcome “{outcome}” to the businesses.")
    with transaction.atomic():
        locked = _lock(theme)
        if not locked.is_open:
            return locked
        if from_tier is not None and locked.tier != from_tier:
            body = selectors.owning_body(locked)
            raise ValidationError(f"This has moved since you opened it: it is now with {body}.")
        now = timezone.now()
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
        _write_event(
            locked,
            ThemeEvent.Kind.RESOLVED,
            actor=actor,
            from_status=Theme.Status.OPEN,
            to_status=Theme.Status.RESOLVED,
            from_tier=locked.tier,
            to_tier=locked.tier,
            detail=str(outcome),
        )
        _resolve_linked_concerns(locked, actor=actor, outcome=outcome, note=note, now=now)
        _email_theme_outcome(locked)
    return locked


def _resolve_linked_concerns(theme: Theme, *, actor, outcome, note, now) -> int:
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
    rows = Concern.objects.filter(pk__in=ids).values_list("pk", "status", "tier")
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
                created_at=now,
            )
            for pk, status, tier in rows
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
) -> Decision:
    """Record what the owning body decided about an open item, with actions, owners and dates."""
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError("Say what was decided.")
    for spec in actions:
        if not spec.description.strip():
            raise ValidationError("Describe each action.")
    with transaction.atomic():
        locked = _lock(item)
        if not locked.is_open:
            raise ValidationError("This already has an outcome.")
        now = timezone.now()
        decision = Decision.objects.create(
            **{_kind_of(locked).event_fk: locked},
            tier=locked.tier,
            summary=summary,
            made_by=actor,
            created_at=now,
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
        _write_event(
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
            _write_event(
                item,
                ConcernEvent.Kind.ACTION_DONE,
                actor=actor,
                detail=f"{action.owner}: {action.description}"[:1000],
            )
    return action


# The automatic sweep


@dataclass
class SweepReport:
    """What one run did, for the management command and the task's log."""

    sweep_id: int | None = None
    escalated: dict[int, int] = field(default_factory=dict)  # to tier → items
    escalated_themes: int = 0
    flagged: int = 0
    warned: int = 0
    emails_queued: int = 0
    batches: int = 0

    @property
    def escalated_total(self) -> int:
        return sum(self.escalated.values())

    @property
    def did_anything(self) -> bool:
        return bool(self.escalated_total or self.flagged or self.warned)

    def lines(self) -> list[str]:
        to_groups = self.escalated.get(Concern.Tier.GROUP, 0)
        to_partnership = self.escalated.get(Concern.Tier.PARTNERSHIP, 0)
        return [
            f"Escalated {self.escalated_total} overdue item(s) up one tier "
            f"({self.escalated_themes} of them themes): {to_groups} to a Business "
            f"Co-ordinating Group, {to_partnership} to the Business Safety Partnership.",
            f"Flagged {self.flagged} overdue item(s) at the top of the chain to the "
            "Partnership chair.",
            f"Warned owners about {self.warned} deadline(s) coming up.",
            f"Queued {self.emails_queued} notification email(s).",
        ]


@dataclass(frozen=True)
class _Pass:
    """One kind of sweep work: which rows, what changes, which event each changed row gets."""

    name: str
    event_kind: str
    rule: str
    detail: str


ESCALATE = _Pass(
    "escalate",
    ConcernEvent.Kind.ESCALATED,
    RULE_OVERDUE,
    "The resolution deadline passed, so it moved up one tier.",
)
FLAG = _Pass(
    "flag",
    ConcernEvent.Kind.FLAGGED,
    RULE_OVERDUE_AT_TOP,
    "The resolution deadline passed at the top of the chain; flagged to the Partnership chair.",
)
WARN_FIRST_RESPONSE = _Pass(
    "warn_first_response",
    ConcernEvent.Kind.WARNED,
    RULE_FIRST_RESPONSE_WARNING,
    "The first response is due soon; the owners were warned.",
)
WARN_RESOLUTION = _Pass(
    "warn_resolution",
    ConcernEvent.Kind.WARNED,
    RULE_RESOLUTION_WARNING,
    "The resolution is due soon; the owners were warned.",
)
PASSES = (ESCALATE, FLAG, WARN_RESOLUTION, WARN_FIRST_RESPONSE)


def _due_q(spec: _ItemKind, sweep_pass: _Pass, now) -> Q:
    """The rows a pass acts on. Mirrors the partial indexes on engagement.Concern."""
    q = Q(status__in=spec.open_statuses)
    if spec.pausable:
        q &= Q(paused_at__isnull=True)
    if sweep_pass is ESCALATE:
        return q & Q(tier__lt=TOP_TIER, resolution_due_at__lt=now)
    if sweep_pass is FLAG:
        return q & Q(tier=TOP_TIER, overdue_flagged_at__isnull=True, resolution_due_at__lt=now)
    if sweep_pass is WARN_RESOLUTION:
        return q & Q(resolution_warned_at__isnull=True, resolution_warn_at__lte=now)
    return q & Q(
        first_responded_at__isnull=True,
        first_response_warned_at__isnull=True,
        first_response_warn_at__lte=now,
    )


_ORDER = {
    "escalate": "resolution_due_at",
    "flag": "resolution_due_at",
    "warn_resolution": "resolution_warn_at",
    "warn_first_response": "first_response_warn_at",
}
# The Sweep counter each pass adds its moves to, in the batch that makes them.
_COUNTER = {
    "escalate": "escalated",
    "flag": "flagged",
    "warn_resolution": "warned",
    "warn_first_response": "warned",
}
_STAMP = {
    "flag": "overdue_flagged_at",
    "warn_resolution": "resolution_warned_at",
    "warn_first_response": "first_response_warned_at",
}


def _arrival_plan(now, table) -> dict[tuple[int, str], dict]:
    """Arrival columns for every (tier, priority) a sweep can move an item to.

    Every item a sweep moves arrives at `now`, so its new deadlines depend only on its new tier
    and its priority: a handful of combinations, computed once and applied set-based.
    """
    return {
        (tier, priority): _arrival_fields(tier=tier, priority=priority, now=now, table=table)
        for tier in (Concern.Tier.GROUP, Concern.Tier.PARTNERSHIP)
        for priority in Concern.Priority.values
    }


def sweep_run(
    *, now: dt.datetime | None = None, batch_size: int = SWEEP_BATCH_SIZE, trigger: str = "beat"
) -> SweepReport:
    """Escalate overdue items, flag overdue ones at the top, warn owners; then notify once."""
    now = now or timezone.now()
    if not _anything_due(now):
        # The idle case, every few minutes: a few empty index probes and nothing written.
        return SweepReport(emails_queued=sweep_notify_pending(now=now))
    sweep = Sweep.objects.create(kind=Sweep.Kind.OVERDUE, trigger=trigger, started_at=now)
    report = SweepReport(sweep_id=sweep.pk)
    plan = _arrival_plan(now, deadlines.policy_table())
    try:
        for spec in (CONCERNS, THEMES):
            for sweep_pass in PASSES:
                while True:
                    with transaction.atomic():
                        by_tier = _run_batch(spec, sweep_pass, now, sweep.pk, batch_size, plan)
                    report.batches += 1
                    done = sum(by_tier.values())
                    if sweep_pass is ESCALATE:
                        for tier, count in by_tier.items():
                            report.escalated[tier] = report.escalated.get(tier, 0) + count
                        if spec is THEMES:
                            report.escalated_themes += done
                    elif sweep_pass is FLAG:
                        report.flagged += done
                    else:
                        report.warned += done
                    if done < batch_size:
                        break
    finally:
        # The counters were written with each batch; finishing lets the notices go out.
        if report.did_anything:
            Sweep.objects.filter(pk=sweep.pk).update(finished_at=timezone.now())
        else:
            sweep.delete()
            report.sweep_id = None
    report.emails_queued = sweep_notify_pending(now=now)
    return report


def _anything_due(now) -> bool:
    return any(
        spec.model.objects.filter(_due_q(spec, sweep_pass, now)).exists()
        for spec in (CONCERNS, THEMES)
        for sweep_pass in PASSES
    )


def _tells_businesses(spec: _ItemKind, sweep_pass: _Pass) -> bool:
    # A business hears when its own concern changes hands. A theme is the partners' way of
    # working on several concerns together; its businesses hear its outcome, not its moves.
    return spec is CONCERNS and sweep_pass is ESCALATE


def _run_batch(spec, sweep_pass, now, sweep_id, batch_size, plan) -> dict[int, int]:
    """Claim, change and write events for up to batch_size rows; returns {tier: rows}."""
    if connection.vendor == "postgresql":
        return _run_batch_postgresql(spec, sweep_pass, now, sweep_id, batch_size, plan)
    return _run_batch_orm(spec, sweep_pass, now, sweep_id, batch_size, plan)


_EVENT_COLUMNS = (
    "kind, actor_id, rule, from_status, to_status, from_tier, to_tier, detail, created_at, sweep_id"
)


def _run_batch_postgresql(spec, sweep_pass, now, sweep_id, batch_size, plan) -> dict[int, int]:
    # One statement per batch: claim (FOR UPDATE SKIP LOCKED re-checks the WHERE against the
    # latest committed row), update, and insert one event per changed row. The update finds
    # its rows with `id = ANY(ARRAY(...))`, an index lookup by primary key: joined to the CTE
    # instead, the planner may hash-join a scan of the whole table once batches are large.
    # Only table and column names from model metadata and constants are formatted into the SQL
    # (hence the noqa: S608 below); every value is a query parameter.
    table = connection.ops.quote_name(spec.model._meta.db_table)
    event_table = connection.ops.quote_name(spec.event_model._meta.db_table)
    event_fk = connection.ops.quote_name(f"{spec.event_fk}_id")
    where = ["status IN %(open)s"]
    if spec.pausable:
        where.append("paused_at IS NULL")
    params = {
        "open": spec.open_statuses,
        "now": now,
        "limit": batch_size,
        "sweep": sweep_id,
        "kind": sweep_pass.event_kind,
        "rule": sweep_pass.rule,
        "detail": sweep_pass.detail,
        "top": TOP_TIER,
        "is_theme": spec is THEMES,
        "sample": NOTIFY_LIST_LIMIT,
        "heartbeat": timezone.now(),
    }
    order = _ORDER[sweep_pass.name]
    tally_table = connection.ops.quote_name(SweepTally._meta.db_table)
    sweep_table = connection.ops.quote_name(Sweep._meta.db_table)
    counter = connection.ops.quote_name(_COUNTER[sweep_pass.name])
    # The owner columns the notifications need: the area, and the officer of a tier-1 item.
    officer = (
        "CASE WHEN item.tier = 1 THEN item.assigned_officer_id END" if spec.pausable else "NULL"
    )
    returning = f"item.id, item.tier, item.npt_area_id, ({officer})::bigint AS officer_id"
    told = ""
    if _tells_businesses(spec, sweep_pass):
        # Each business contact hears of the concerns this batch moved: one row per address.
        returning += ", item.contact_email"
        notice_table = connection.ops.quote_name(SweepBusinessNotice._meta.db_table)
        told = (
            f", told AS (INSERT INTO {notice_table} (sweep_id, email, concerns) "  # noqa: S608 # nosec B608 # names from the models, values are parameters
            "SELECT %(sweep)s, lower(contact_email), to_jsonb(array_agg(id ORDER BY id)) "
            "FROM changed WHERE contact_email <> '' GROUP BY lower(contact_email))"
        )
    plan_cte = ""
    if sweep_pass is ESCALATE:
        where += ["tier < %(top)s", "resolution_due_at < %(now)s"]
        values = []
        for index, ((tier, priority), fields) in enumerate(plan.items()):
            values.append(
                f"(%(t{index})s, %(p{index})s, %(frd{index})s::timestamptz, "
                f"%(frw{index})s::timestamptz, %(rd{index})s::timestamptz, "
                f"%(rw{index})s::timestamptz)"
            )
            params.update(
                {
                    f"t{index}": tier,
                    f"p{index}": priority,
                    f"frd{index}": fields["first_response_due_at"],
                    f"frw{index}": fields["first_response_warn_at"],
                    f"rd{index}": fields["resolution_due_at"],
                    f"rw{index}": fields["resolution_warn_at"],
                }
            )
        plan_cte = (
            ", plan (tier, priority, frd, frw, rd, rw) AS (VALUES "  # noqa: S608
            + ", ".join(values)
            + ")"
        )
        update = (
            f"UPDATE {table} AS item SET tier = plan.tier, tier_entered_at = %(now)s, "  # noqa: S608 # nosec B608 # names from the models, values are parameters
            "first_response_due_at = plan.frd, first_response_warn_at = plan.frw, "
            "resolution_due_at = plan.rd, resolution_warn_at = plan.rw, "
            "first_responded_at = NULL, first_response_warned_at = NULL, "
            "resolution_warned_at = NULL, overdue_flagged_at = NULL, updated_at = %(now)s "
            "FROM plan WHERE item.id = ANY(ARRAY(SELECT id FROM due)) "
            "AND plan.tier = item.tier + 1 AND plan.priority = item.priority "
            f"RETURNING {returning}"
        )
        from_tier = "tier - 1"
    else:
        stamp = _STAMP[sweep_pass.name]
        if sweep_pass is FLAG:
            where += ["tier = %(top)s", "overdue_flagged_at IS NULL", "resolution_due_at < %(now)s"]
        elif sweep_pass is WARN_RESOLUTION:
            where += ["resolution_warned_at IS NULL", "resolution_warn_at <= %(now)s"]
        else:
            where += [
                "first_responded_at IS NULL",
                "first_response_warned_at IS NULL",
                "first_response_warn_at <= %(now)s",
            ]
        update = (
            f"UPDATE {table} AS item SET {stamp} = %(now)s "  # noqa: S608 # nosec B608 # names from the models, values are parameters
            f"WHERE item.id = ANY(ARRAY(SELECT id FROM due)) RETURNING {returning}"
        )
        from_tier = "tier"
    sql = (
        f"/* escalation.sweep:{sweep_pass.name} */ "  # noqa: S608 # nosec B608 # names from the models, values are parameters
        f"WITH due AS (SELECT id FROM {table} WHERE {' AND '.join(where)} "
        f"ORDER BY {order} LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
        f"{plan_cte}, changed AS ({update}), events AS ("
        f"INSERT INTO {event_table} ({event_fk}, {_EVENT_COLUMNS}) "
        f"SELECT id, %(kind)s, NULL, %(rule)s, '', '', {from_tier}, tier, %(detail)s, "
        "%(now)s, %(sweep)s FROM changed), tally AS ("
        f"INSERT INTO {tally_table} (sweep_id, kind, rule, is_theme, tier, npt_area_id, "
        "officer_id, items, sample) "
        "SELECT %(sweep)s, %(kind)s, %(rule)s, %(is_theme)s, tier, npt_area_id, officer_id, "
        "count(*), to_jsonb((array_agg(id ORDER BY id))[1:%(sample)s]) FROM changed "
        "GROUP BY tier, npt_area_id, officer_id), counted AS ("
        f"UPDATE {sweep_table} SET {counter} = {counter} + (SELECT count(*) FROM changed), "
        f"heartbeat_at = %(heartbeat)s WHERE id = %(sweep)s){told} "
        "SELECT tier, count(*) FROM changed GROUP BY tier"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


class SweepRaced(Exception):
    """Rows changed between claim and update (only on databases without row locks)."""


def _run_batch_orm(spec, sweep_pass, now, sweep_id, batch_size, plan) -> dict[int, int]:
    # The portable version: claim ids (row locks where the database has them; SQLite takes
    # the write lock at BEGIN IMMEDIATE), update them under the same WHERE, insert the events.
    model = spec.model
    due = model.objects.filter(_due_q(spec, sweep_pass, now))
    officer = "assigned_officer_id" if spec.pausable else "npt_area_id"  # themes have none
    contact = "contact_email" if _tells_businesses(spec, sweep_pass) else "npt_area_id"
    claimed = list(
        due.select_for_update(skip_locked=True)
        .order_by(_ORDER[sweep_pass.name], "pk")
        .values_list("pk", "tier", "npt_area_id", officer, contact)[:batch_size]
    )
    if not claimed:
        return {}
    rows = [(pk, tier) for pk, tier, _, _, _ in claimed]
    ids = [pk for pk, _ in rows]
    if sweep_pass is ESCALATE:
        changes = {
            "tier": F("tier") + 1,
            "tier_entered_at": Value(now),
            "updated_at": Value(now),
            "first_responded_at": Value(None, output_field=DateTimeField()),
            "first_response_warned_at": Value(None, output_field=DateTimeField()),
            "resolution_warned_at": Value(None, output_field=DateTimeField()),
            "overdue_flagged_at": Value(None, output_field=DateTimeField()),
        }
        for column in deadlines.DEADLINE_FIELDS:
            changes[column] = Case(
                *(
                    When(tier=tier - 1, priority=priority, then=Value(fields[column]))
                    for (tier, priority), fields in plan.items()
                ),
                output_field=DateTimeField(),
            )
        to_tier = {pk: tier + 1 for pk, tier in rows}
    else:
        changes = {_STAMP[sweep_pass.name]: now}
        to_tier = dict(rows)
    changed = due.filter(pk__in=ids).update(**changes)
    if changed != len(ids):
        raise SweepRaced(f"{sweep_pass.name}: claimed {len(ids)} rows, changed {changed}.")
    from_offset = 1 if sweep_pass is ESCALATE else 0
    spec.event_model.objects.bulk_create(
        spec.event_model(
            **{f"{spec.event_fk}_id": pk},
            kind=sweep_pass.event_kind,
            rule=sweep_pass.rule,
            from_tier=to_tier[pk] - from_offset,
            to_tier=to_tier[pk],
            detail=sweep_pass.detail,
            created_at=now,
            sweep_id=sweep_id,
        )
        for pk in ids
    )
    tallies: dict[tuple, list[int]] = defaultdict(list)
    for pk, _, area_id, officer_id, _ in claimed:
        tier = to_tier[pk]
        officer_id = officer_id if spec.pausable and tier == Concern.Tier.NPT else None
        tallies[(tier, area_id, officer_id)].append(pk)
    SweepTally.objects.bulk_create(
        SweepTally(
            sweep_id=sweep_id,
            kind=sweep_pass.event_kind,
            rule=sweep_pass.rule,
            is_theme=spec is THEMES,
            tier=tier,
            npt_area_id=area_id,
            officer_id=officer_id,
            items=len(pks),
            sample=sorted(pks)[:NOTIFY_LIST_LIMIT],
        )
        for (tier, area_id, officer_id), pks in tallies.items()
    )
    if _tells_businesses(spec, sweep_pass):
        by_address: dict[str, list[int]] = defaultdict(list)
        for pk, _, _, _, email in claimed:
            if email:
                by_address[email.lower()].append(pk)
        SweepBusinessNotice.objects.bulk_create(
            SweepBusinessNotice(sweep_id=sweep_id, email=email, concerns=sorted(pks))
            for email, pks in by_address.items()
        )
    counter = _COUNTER[sweep_pass.name]
    Sweep.objects.filter(pk=sweep_id).update(
        **{counter: F(counter) + len(ids)}, heartbeat_at=timezone.now()
    )
    by_tier: dict[int, int] = defaultdict(int)
    for (tier, _, _), pks in tallies.items():
        by_tier[tier] += len(pks)
    return dict(by_tier)


# Notifications of a run: built from its committed events, claimed once per run.


def sweep_notify_pending(*, now: dt.datetime | None = None) -> int:
    """Tell each body, once, of every committed move not yet told; safe to race.

    While another run is still moving items, its notices and these wait for it, so runs that
    overlap send each body one email per kind of notice (the last to finish sends it). The
    tallies are claimed under row locks, so a move is never told twice."""
    clock = timezone.now()
    untold = SweepTally.objects.filter(notified_at__isnull=True)
    if not untold.exists():
        return 0  # the idle case, every few minutes: one probe of a partial index
    alive = Sweep.objects.filter(
        finished_at__isnull=True, heartbeat_at__gte=clock - SWEEP_STALE_AFTER
    )
    if alive.exists():
        return 0  # the run still going tells everyone when it finishes
    with transaction.atomic():
        # Not skip_locked: a second notifier waits for the first, then finds these told.
        claimed = list(untold.select_for_update().order_by("pk").values_list("pk", "sweep_id"))
        if not claimed:
            return 0
        tally_ids = [pk for pk, _ in claimed]
        sweep_ids = sorted({sweep_id for _, sweep_id in claimed})
        count = _queue_sweep_notifications(tally_ids)
        SweepTally.objects.filter(pk__in=tally_ids).update(notified_at=clock)
        Sweep.objects.filter(pk__in=sweep_ids, notified_at__isnull=True).update(notified_at=clock)
        # The window's emails are counted on its last run.
        Sweep.objects.filter(pk=sweep_ids[-1]).update(emails_queued=F("emails_queued") + count)
    return count


def _audience(kind: str, row: dict) -> tuple[str, int | None]:
    if kind == "flag":
        return ("chair", None)
    if row["tier"] == Concern.Tier.PARTNERSHIP:
        return ("partnership", None)
    if row["tier"] == Concern.Tier.GROUP:
        return ("group", row["group_id"])
    if row["officer_id"]:
        return ("officer", row["officer_id"])
    return ("npt", row["area_id"])


_LISTED = {
    # What each email lists about an item (read as it is now): name in the template → lookup.
    "reference": "reference",
    "tier": "tier",
    "category": "category__name",
    "area": "npt_area__name",
    "group": "npt_area__group__name",
    "due": "resolution_due_at",
    "first_due": "first_response_due_at",
}


def _listed_items(model, ids) -> dict[int, dict]:
    if not ids:
        return {}
    listed = {**_LISTED, "name": "business__name" if model is Concern else "title"}
    rows = model.objects.filter(pk__in=ids).values_list("pk", *listed.values())
    return {row[0]: dict(zip(listed, row[1:], strict=True)) for row in rows}


def _collect(tally_ids: list[int], kind: str, event_kinds: Sequence[str]):
    """Totals per audience and the first items each email lists, from the claimed tallies.

    Three queries however many items moved and however many audiences there are: the
    tallies, then the listed concerns and the listed themes.
    """
    totals: dict[tuple, int] = defaultdict(int)
    picks: dict[tuple, list[tuple]] = defaultdict(list)
    tallies = (
        SweepTally.objects.filter(pk__in=tally_ids, kind__in=event_kinds)
        .values("tier", "officer_id", "is_theme", "rule", "items", "sample")
        .annotate(area_id=F("npt_area_id"), group_id=F("npt_area__group_id"))
        .order_by("pk")
    )
    for tally in tallies:
        audience = _audience(kind, tally)
        totals[audience] += tally["items"]
        picks[audience] += [(tally["is_theme"], pk, tally["rule"]) for pk in tally["sample"]]
    chosen = {audience: sorted(items)[:NOTIFY_LIST_LIMIT] for audience, items in picks.items()}
    wanted = {False: set(), True: set()}
    for items in chosen.values():
        for is_theme, pk, _ in items:
            wanted[is_theme].add(pk)
    found = {False: _listed_items(Concern, wanted[False]), True: _listed_items(Theme, wanted[True])}
    samples = {}
    for audience, items in chosen.items():
        samples[audience] = [
            {
                **found[is_theme][pk],
                "title": found[is_theme][pk]["name"] if is_theme else "",
                "business": "" if is_theme else found[is_theme][pk]["name"],
                "is_theme": is_theme,
                "event_rule": rule,
            }
            for is_theme, pk, rule in items
            if pk in found[is_theme]
        ]
    return totals, samples


def _recipients_by_audience(audiences, partnership: Partnership) -> dict[tuple, list[str]]:
    found: dict[tuple, list[str]] = {}
    by_type = defaultdict(list)
    for audience_type, key in audiences:
        by_type[audience_type].append(key)
    if "group" in by_type:
        ids = [key for key in by_type["group"] if key is not None]
        emails = selectors.group_recipients(ids) if ids else {}
        for key in by_type["group"]:
            # No group covers the NPT (a set-up gap): the chair sees it rather than nobody.
            found[("group", key)] = (
                emails.get(key) if key is not None else None
            ) or selectors.chair_recipients(partnership)
    if "partnership" in by_type:
        found[("partnership", None)] = selectors.partnership_recipients(partnership)
    if "chair" in by_type:
        found[("chair", None)] = selectors.chair_recipients(partnership)
    if "officer" in by_type:
        for user in User.objects.filter(pk__in=by_type["officer"], is_active=True):
            found[("officer", user.pk)] = [user.email]
    if "npt" in by_type:
        emails = selectors.npt_recipients(by_type["npt"])
        for key in by_type["npt"]:
            found[("npt", key)] = emails.get(key, [])
    return found


def _audience_name(audience, sample: list[dict], partnership: Partnership) -> str:
    audience_type, _ = audience
    if audience_type in ("partnership", "chair"):
        return f"the {partnership.name}"
    if audience_type == "group":
        group = sample[0]["group"] if sample else None
        return f"the {group}" if group else "the Business Co-ordinating Group"
    if audience_type == "officer":
        return "you"
    area = sample[0]["area"] if sample else "your"
    return f"the {area} Neighbourhood Policing Team"


def sweep_notify_businesses(
    *,
    batch_size: int = NOTIFY_BUSINESSES_BATCH,
    budget: dt.timedelta = NOTIFY_BUSINESSES_BUDGET,
) -> int:
    """Tell each business, once, of its concerns the sweeps moved; returns emails queued.

    One email per contact address for every untold move of the runs that have finished, however
    many batches made them: it waits, as the bodies' notices do, while a run is still moving
    items. Addresses are told a batch at a time, each batch its own transaction claiming its
    notices with SKIP LOCKED, until none is left or the time budget is spent; what a time limit
    cuts short is rolled back to its last batch and the next beat carries on from there. A
    constant number of queries per batch; the rendering is the cost, which is why the periodic
    task runs it after the sweep rather than inside it."""
    clock = timezone.now()
    untold = SweepBusinessNotice.objects.filter(notified_at__isnull=True)
    if not untold.exists():
        return 0
    alive = Sweep.objects.filter(
        finished_at__isnull=True, heartbeat_at__gte=clock - SWEEP_STALE_AFTER
    )
    if alive.exists():
        return 0  # told with the running sweep's moves, once it finishes
    deadline = time.monotonic() + budget.total_seconds()
    partnership = Partnership.load().name
    queued = 0
    after = (
        ""  # addresses are taken in order, so one whose notices another notifier holds is passed
    )
    while True:
        with transaction.atomic():
            told, addresses = _notify_business_batch(
                after=after, batch_size=batch_size, partnership=partnership
            )
        queued += told
        if len(addresses) < batch_size:
            return queued
        after = addresses[-1]
        if time.monotonic() >= deadline:
            logger.info("Businesses' notices: time budget spent; the next beat carries on.")
            return queued


def _notify_business_batch(*, after: str, batch_size: int, partnership: str):
    """Claim and tell the next batch of addresses; returns (emails queued, addresses looked at)."""
    clock = timezone.now()
    # Only a run that has finished, or gone quiet (killed), is told: checked in the claim
    # itself, so a run that starts after the caller looked has none of its moves told early
    # and the rest in a second email.
    told_runs = Sweep.objects.filter(
        Q(finished_at__isnull=False) | Q(heartbeat_at__lt=clock - SWEEP_STALE_AFTER)
    ).values("pk")
    ready = SweepBusinessNotice.objects.filter(
        notified_at__isnull=True, sweep_id__in=told_runs, email__gt=after
    )
    addresses = list(
        ready.order_by("email").values_list("email", flat=True).distinct()[:batch_size]
    )
    if not addresses:
        return 0, addresses
    claimed = list(
        ready.filter(email__in=addresses)
        .select_for_update(skip_locked=True)
        .order_by("pk")
        .values_list("pk", "email", "concerns")
    )
    if not claimed:
        return 0, addresses  # another notifier holds these; it tells them
    by_address: dict[str, set[int]] = defaultdict(set)
    for _, email, concern_ids in claimed:
        by_address[email].update(concern_ids)
    wanted = {pk for ids in by_address.values() for pk in ids}
    # Read as they are now: a concern resolved since it moved is told by its outcome email.
    rows = {
        row["pk"]: row
        for row in Concern.objects.filter(pk__in=wanted, status__in=Concern.OPEN_STATUSES).values(
            *_MOVED_COLUMNS
        )
    }
    messages = []
    for _address, concern_ids in sorted(by_address.items()):
        moved = [rows[pk] for pk in sorted(concern_ids) if pk in rows]
        if not moved:
            continue
        messages.append(
            (
                moved[0]["contact_email"],
                email_render(
                    template="concern_moved",
                    context={
                        "contact_name": moved[0]["contact_name"],
                        "concerns": [_moved_concern(row, partnership) for row in moved],
                        "returned": False,
                    },
                ),
            )
        )
    email_queue_many(emails=messages)
    SweepBusinessNotice.objects.filter(pk__in=[pk for pk, _, _ in claimed]).update(
        notified_at=clock
    )
    return len(messages), addresses


_NOTICES = (
    # (collect as, event kinds, email template)
    ("arrival", (ConcernEvent.Kind.ESCALATED,), "escalation_arrivals"),
    ("flag", (ConcernEvent.Kind.FLAGGED,), "escalation_overdue"),
    ("warning", (ConcernEvent.Kind.WARNED,), "escalation_warnings"),
)


def _queue_sweep_notifications(tally_ids: list[int]) -> int:
    """One email per audience member per kind of notice for the tallies; returns emails queued."""
    partnership = None
    queued = 0
    for kind, event_kinds, template in _NOTICES:
        totals, samples = _collect(tally_ids, kind, event_kinds)
        if not totals:
            continue
        partnership = partnership or Partnership.load()
        recipients = _recipients_by_audience(totals.keys(), partnership)
        for audience, total in totals.items():
            emails = recipients.get(audience) or []
            if not emails:
                logger.warning("Nobody to tell about %s item(s) for %s.", total, audience)
                continue
            items = samples.get(audience, [])[:NOTIFY_LIST_LIMIT]
            context = {
                "audience_name": _audience_name(audience, items, partnership),
                "items": items,
                "total": total,
                "more": max(total - len(items), 0),
                "is_officer": audience[0] in ("officer", "npt"),
            }
            for email in emails:
                email_queue(to=email, template=template, context=context)
                queued += 1
    return queued


# Common themes


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


def _theme_candidates(now: dt.datetime, settings_row: ThemeSettings):
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
        if not fits:
            return False
        _, created = ThemeConcern.objects.get_or_create(theme=locked, concern=concern)
        if created:
            _write_event(
                locked,
                ThemeEvent.Kind.LINKED,
                actor=actor,
                detail=f"{concern.reference} linked by its reporter when sending it.",
            )
    return True


def _open_theme(category_id, npt_area_id, now, table) -> tuple[Theme, bool]:
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
                **_arrival_fields(
                    tier=Concern.Tier.GROUP,
                    priority=Concern.Priority.NORMAL,
                    now=now,
                    table=table,
                ),
            )
    except IntegrityError:
        # Another run opened it a moment ago (the partial unique constraint): extend theirs.
        return (
            Theme.objects.select_for_update().get(
                category_id=category_id, npt_area_id=npt_area_id, status=Theme.Status.OPEN
            ),
            False,
        )
    theme = Theme.objects.select_related("category", "npt_area").get(pk=theme.pk)
    theme.reference = f"THM-{now.year}-{theme.pk:05d}"
    theme.title = f"{theme.category.name} in {theme.npt_area.name}"
    theme.save(update_fields=["reference", "title"])
    return theme, True


def _theme_apply(cluster, candidates, settings_row, now, sweep, table, report) -> None:
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
        report.created.append(theme.reference)
        _write_event(
            theme,
            ThemeEvent.Kind.CREATED,
            actor=None,
            rule=RULE_COMMON_THEME,
            detail=f"{len(new)} concern(s) from {cluster['businesses']} businesses within "
            f"{settings_row.window_days} days: {references}",
            to_status=Theme.Status.OPEN,
            created_at=now,
        )
        _write_event(
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
        report.extended.append(theme.reference)
        _write_event(
            theme,
            ThemeEvent.Kind.LINKED,
            actor=None,
            rule=RULE_COMMON_THEME,
            detail=f"{len(new)} more concern(s) linked: {references}",
            sweep=sweep,
            created_at=now,
        )
        Theme.objects.filter(pk=theme.pk).update(updated_at=now)
