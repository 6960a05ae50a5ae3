"""The automatic sweep: escalate overdue items, flag overdue ones at the top, warn owners."""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.fields import DateTimeField
from django.utils import timezone

from dorset_bcp.item_models import TieredItem
from engagement import deadlines
from engagement.models import Concern, ConcernEvent

from ..models import Sweep, SweepBusinessNotice, SweepTally, Theme
from .items import (
    ITEM_MODELS,
    RULE_FIRST_RESPONSE_WARNING,
    RULE_OVERDUE,
    RULE_OVERDUE_AT_TOP,
    RULE_RESOLUTION_WARNING,
    TOP_TIER,
    PolicyTable,
    arrival_fields,
)
from .notifications import NOTIFY_LIST_LIMIT, sweep_notify_pending

logger = logging.getLogger(__name__)

# Arrival columns by (tier, priority) for one run: see arrival_plan.
Plan = dict[tuple[int, str], dict[str, Any]]

# Rows moved per transaction: big enough that a county-wide backlog clears in a few
# statements, small enough that locks and WAL per transaction stay modest.
SWEEP_BATCH_SIZE = 10_000


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


def _due_q(model: type[TieredItem], sweep_pass: _Pass, now: dt.datetime) -> Q:
    """The rows a pass acts on. Mirrors the partial indexes on engagement.Concern."""
    q = Q(status__in=tuple(model.OPEN_STATUSES))
    if model.pauses():
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


def arrival_plan(now: dt.datetime, table: PolicyTable | None) -> Plan:
    """Arrival columns for every (tier, priority) a sweep can move an item to.

    Every item a sweep moves arrives at `now`, so its new deadlines depend only on its new tier
    and its priority: a handful of combinations, computed once and applied set-based.
    """
    return {
        (tier, priority): arrival_fields(tier=tier, priority=priority, now=now, table=table)
        for tier in (Concern.Tier.GROUP, Concern.Tier.PARTNERSHIP)
        for priority in Concern.Priority.values
    }


# The plan as a VALUES list for the PostgreSQL statement: one row per (tier, priority), its
# columns named as the concern's own.
PLAN_COLUMNS = "tier, priority, " + ", ".join(deadlines.DEADLINE_FIELDS)


def plan_values_sql(plan: Plan) -> tuple[str, dict[str, Any]]:
    """The arrival plan as the rows of a SQL VALUES list, and the parameters they name."""
    rows: list[str] = []
    params: dict[str, Any] = {}
    for index, ((tier, priority), fields) in enumerate(plan.items()):
        names = [f"plan_{index}_tier", f"plan_{index}_priority"]
        params[names[0]] = tier
        params[names[1]] = priority
        for column in deadlines.DEADLINE_FIELDS:
            names.append(f"plan_{index}_{column}")
            params[names[-1]] = fields[column]
        cells = [f"%({name})s" for name in names[:2]]
        cells += [f"%({name})s::timestamptz" for name in names[2:]]
        rows.append(f"({', '.join(cells)})")
    return ", ".join(rows), params


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
    plan = arrival_plan(now, deadlines.policy_table())
    try:
        for model in ITEM_MODELS:
            for sweep_pass in PASSES:
                while True:
                    with transaction.atomic():
                        by_tier = run_batch(model, sweep_pass, now, sweep.pk, batch_size, plan)
                    report.batches += 1
                    done = sum(by_tier.values())
                    if sweep_pass is ESCALATE:
                        for tier, count in by_tier.items():
                            report.escalated[tier] = report.escalated.get(tier, 0) + count
                        if model is Theme:
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


def _anything_due(now: dt.datetime) -> bool:
    return any(
        model._default_manager.filter(_due_q(model, sweep_pass, now)).exists()
        for model in ITEM_MODELS
        for sweep_pass in PASSES
    )


def _tells_businesses(model: type[TieredItem], sweep_pass: _Pass) -> bool:
    # A business hears when its own concern changes hands. A theme is the partners' way of
    # working on several concerns together; its businesses hear its outcome, not its moves.
    return model is Concern and sweep_pass is ESCALATE


def run_batch(
    model: type[TieredItem],
    sweep_pass: _Pass,
    now: dt.datetime,
    sweep_id: int,
    batch_size: int,
    plan: Plan,
) -> dict[int, int]:
    """Claim, change and write events for up to batch_size rows; returns {tier: rows}."""
    if connection.vendor == "postgresql":
        return run_batch_postgresql(model, sweep_pass, now, sweep_id, batch_size, plan)
    return run_batch_orm(model, sweep_pass, now, sweep_id, batch_size, plan)


_EVENT_COLUMNS = (
    "kind, actor_id, rule, from_status, to_status, from_tier, to_tier, detail, created_at, sweep_id"
)


def run_batch_postgresql(
    model: type[TieredItem],
    sweep_pass: _Pass,
    now: dt.datetime,
    sweep_id: int,
    batch_size: int,
    plan: Plan,
) -> dict[int, int]:
    # One statement per batch: claim (FOR UPDATE SKIP LOCKED re-checks the WHERE against the
    # latest committed row), update, and insert one event per changed row. The update finds
    # its rows with `id = ANY(ARRAY(...))`, an index lookup by primary key: joined to the CTE
    # instead, the planner may hash-join a scan of the whole table once batches are large.
    # Only table and column names from model metadata and constants are formatted into the SQL
    # (hence the noqa: S608 below); every value is a query parameter.
    table = connection.ops.quote_name(model._meta.db_table)
    event_table = connection.ops.quote_name(model.event_model()._meta.db_table)
    event_fk = connection.ops.quote_name(f"{model.event_item_field()}_id")
    where = ["status IN %(open)s"]
    if model.pauses():
        where.append("paused_at IS NULL")
    params: dict[str, Any] = {
        "open": tuple(model.OPEN_STATUSES),
        "now": now,
        "limit": batch_size,
        "sweep": sweep_id,
        "kind": sweep_pass.event_kind,
        "rule": sweep_pass.rule,
        "detail": sweep_pass.detail,
        "top": TOP_TIER,
        "is_theme": model is Theme,
        "sample": NOTIFY_LIST_LIMIT,
        "heartbeat": timezone.now(),
    }
    order = _ORDER[sweep_pass.name]
    tally_table = connection.ops.quote_name(SweepTally._meta.db_table)
    sweep_table = connection.ops.quote_name(Sweep._meta.db_table)
    counter = connection.ops.quote_name(_COUNTER[sweep_pass.name])
    # The owner columns the notifications need: the area, and the officer of a tier-1 item.
    officer = (
        "CASE WHEN item.tier = 1 THEN item.assigned_officer_id END" if model.pauses() else "NULL"
    )
    returning = f"item.id, item.tier, item.npt_area_id, ({officer})::bigint AS officer_id"
    told = ""
    if _tells_businesses(model, sweep_pass):
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
        values, plan_params = plan_values_sql(plan)
        params.update(plan_params)
        plan_cte = f", plan ({PLAN_COLUMNS}) AS (VALUES {values})"
        update = (
            f"UPDATE {table} AS item SET tier = plan.tier, tier_entered_at = %(now)s, "  # noqa: S608 # nosec B608 # names from the models, values are parameters
            "first_response_due_at = plan.first_response_due_at, "
            "first_response_warn_at = plan.first_response_warn_at, "
            "resolution_due_at = plan.resolution_due_at, "
            "resolution_warn_at = plan.resolution_warn_at, "
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


def run_batch_orm(
    model: type[TieredItem],
    sweep_pass: _Pass,
    now: dt.datetime,
    sweep_id: int,
    batch_size: int,
    plan: Plan,
) -> dict[int, int]:
    # The portable version: claim ids (row locks where the database has them; SQLite takes
    # the write lock at BEGIN IMMEDIATE), update them under the same WHERE, insert the events.
    due = model._default_manager.filter(_due_q(model, sweep_pass, now))
    officer = "assigned_officer_id" if model.pauses() else "npt_area_id"  # themes have none
    contact = "contact_email" if _tells_businesses(model, sweep_pass) else "npt_area_id"
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
        changes: dict[str, Any] = {
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
    event_model = model.event_model()
    event_columns: dict[str, Any] = {
        "kind": sweep_pass.event_kind,
        "rule": sweep_pass.rule,
        "detail": sweep_pass.detail,
        "created_at": now,
        "sweep_id": sweep_id,
    }
    event_model._default_manager.bulk_create(
        event_model(
            **{f"{model.event_item_field()}_id": pk},
            **event_columns,
            from_tier=to_tier[pk] - from_offset,
            to_tier=to_tier[pk],
        )
        for pk in ids
    )
    tallies: dict[tuple[int, int, int | None], list[int]] = defaultdict(list)
    for pk, _, area_id, officer_id, _ in claimed:
        tier = to_tier[pk]
        officer_id = officer_id if model.pauses() and tier == Concern.Tier.NPT else None
        tallies[(tier, area_id, officer_id)].append(pk)
    SweepTally.objects.bulk_create(
        SweepTally(
            sweep_id=sweep_id,
            kind=sweep_pass.event_kind,
            rule=sweep_pass.rule,
            is_theme=model is Theme,
            tier=tier,
            npt_area_id=area_id,
            officer_id=officer_id,
            items=len(pks),
            sample=sorted(pks)[:NOTIFY_LIST_LIMIT],
        )
        for (tier, area_id, officer_id), pks in tallies.items()
    )
    if _tells_businesses(model, sweep_pass):
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
