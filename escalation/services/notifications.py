"""What the sweeps and the moves tell people: the bodies' notices and the businesses' emails."""

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import dateformat, timezone

from engagement.emails import email_queue, email_queue_many, email_render
from engagement.models import Concern, ConcernEvent, User

from .. import selectors
from ..models import (
    Partnership,
    Sweep,
    SweepBusinessNotice,
    SweepTally,
    Theme,
)

logger = logging.getLogger(__name__)

Row = dict[str, Any]  # one row of .values(): a column or lookup name → its value
Audience = tuple[str, int | None]  # ("group", group id), ("chair", None), ("officer", user id)…

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


@lru_cache(maxsize=256)
def _date_in_words(moment: dt.datetime | None) -> str:
    # A sweep's moves share a handful of deadlines (one per tier and priority), so a notice to
    # thousands of businesses formats each date once rather than twice per concern.
    if moment is None:
        return ""
    return dateformat.format(timezone.localtime(moment), "l j F Y")


def moved_concern(row: Row, partnership: str) -> Row:
    """One line of a business's "your concern has moved" email, from a row of MOVED_COLUMNS."""
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


MOVED_COLUMNS = (
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


def email_business_moved(concern: Concern, body: selectors.Body, *, returned: bool) -> None:
    if concern.status not in Concern.OPEN_STATUSES or not concern.contact_email:
        return
    row = {
        "reference": concern.reference,
        "business__name": concern.business.name,
        "tier": concern.tier,
        "npt_area__name": concern.npt_area.name,
        "npt_area__group__name": group.name if (group := concern.npt_area.group) else None,
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
            "concerns": [moved_concern(row, partnership)],
            "returned": returned,
        },
    )


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


def _audience(kind: str, row: Row) -> Audience:
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


def _listed_items(model: type[Concern] | type[Theme], ids: set[int]) -> dict[int, Row]:
    if not ids:
        return {}
    listed = {**_LISTED, "name": "business__name" if model is Concern else "title"}
    rows = model.objects.filter(pk__in=ids).values_list("pk", *listed.values())
    return {row[0]: dict(zip(listed, row[1:], strict=True)) for row in rows}


def _collect(
    tally_ids: list[int], kind: str, event_kinds: Sequence[str]
) -> tuple[dict[Audience, int], dict[Audience, list[Row]]]:
    """Totals per audience and the first items each email lists, from the claimed tallies.

    Three queries however many items moved and however many audiences there are: the
    tallies, then the listed concerns and the listed themes.
    """
    totals: dict[Audience, int] = defaultdict(int)
    picks: dict[Audience, list[tuple[bool, int, str]]] = defaultdict(list)
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
    wanted: dict[bool, set[int]] = {False: set(), True: set()}
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


def _recipients_by_audience(
    audiences: Iterable[Audience], partnership: Partnership
) -> dict[Audience, list[str]]:
    found: dict[Audience, list[str]] = {}
    by_type: dict[str, list[int | None]] = defaultdict(list)
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
        areas = [key for key in by_type["npt"] if key is not None]  # an NPT audience has its area
        emails = selectors.npt_recipients(areas)
        for area_id in areas:
            found[("npt", area_id)] = emails.get(area_id, [])
    return found


def _audience_name(audience: Audience, sample: list[Row], partnership: Partnership) -> str:
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
    queued: int = 0
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


def _notify_business_batch(
    *, after: str, batch_size: int, partnership: str
) -> tuple[int, list[str]]:
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
            *MOVED_COLUMNS
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
                        "concerns": [moved_concern(row, partnership) for row in moved],
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
