"""`make bench`: the escalation sweep at county scale against a hand-written SQL baseline.

On PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/dorset_bcp_bench, created
if missing) it seeds 1,000,000 open concerns of which 100,000 are past their resolution deadline,
in SQL (generate_series), and times:

1. the sweep (escalation.services.sweep_run: batches of FOR UPDATE SKIP LOCKED claims, events,
   the per-body notifications), counting its queries; then, timed apart and printed beside it,
   the businesses' notices the periodic task sends after it (sweep_notify_businesses: one
   rendered email per business contact, which the SQL baseline has no counterpart for);
2. the idle sweep straight after, when nothing is due;
3. on identical data re-seeded the same way, a hand-written set-based baseline doing the same
   moves: one UPDATE ... RETURNING and one INSERT of the events, in a single statement;

then checks both left the same end state. Targets: sweep <= 1.5 x baseline, idle <= 20 ms,
queries per batch constant. BENCH_CONCERNS and BENCH_OVERDUE scale it down for a quick try.

It deletes every concern and business in its database, so it refuses a database whose name does
not contain "bench".
"""

import os
import statistics
import sys
import time
from collections import Counter
from contextlib import contextmanager
from urllib.parse import urlparse

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dorset_bcp_bench"
TOTAL = int(os.environ.get("BENCH_CONCERNS", "1000000"))
OVERDUE = int(os.environ.get("BENCH_OVERDUE", str(TOTAL // 10)))
BUSINESSES = 20_000
SWEEP_TARGET_RATIO = 1.5
IDLE_TARGET_MS = 20.0


def say(line: str = "") -> None:
    print(line, flush=True)


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not parsed.scheme.startswith("postgres"):
        sys.exit(f"The benchmark needs PostgreSQL; DATABASE_URL is {parsed.scheme}://.")
    if "bench" not in name:
        sys.exit(
            f"The benchmark deletes every concern in its database; {name!r} does not look like a "
            f"benchmark database. Unset DATABASE_URL to use {DEFAULT_URL}, or name one *bench*."
        )
    return url


def admin_connection(url: str):
    """A connection to the server's `postgres` database, to create or drop a bench database."""
    import psycopg2

    parsed = urlparse(url)
    connection = psycopg2.connect(
        dbname="postgres",
        user=parsed.username or None,
        password=parsed.password or None,
        host=parsed.hostname or None,
        port=parsed.port or None,
    )
    connection.autocommit = True
    return connection


def create_database_if_missing(url: str) -> None:
    from psycopg2 import sql

    name = urlparse(url).path.lstrip("/")
    admin = admin_connection(url)
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            say(f"Created database {name}.")
    admin.close()


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dorset_bcp.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    # Emails the sweep queues are published after commit; keep them in this process.
    from dorset_bcp.celery import app

    app.conf.update(broker_url="memory://", broker_transport_options={})


class QueryLog:
    """Counts every statement Django sends, by the tag the sweep puts in its batch SQL."""

    def __init__(self):
        self.tags = Counter()
        self.seconds = Counter()
        self.slowest = []
        self.total = 0

    def __call__(self, execute, sql, params, many, context):
        self.total += 1
        tag = "other"
        if sql.startswith("/* escalation.sweep:"):
            tag = sql[len("/* escalation.sweep:") : sql.index(" */")]
        self.tags[tag] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[tag] += elapsed
            self.slowest.append((elapsed, sql[:90]))


@contextmanager
def logged_queries():
    from django.db import connection

    log = QueryLog()
    with connection.execute_wrapper(log):
        yield log


def reference_data():
    """NPT areas in two groups with a member each, the partnership's member and chair."""
    from engagement.models import NPTArea, User
    from escalation.models import (
        CoordinatingGroup,
        GroupMembership,
        Partnership,
        PartnershipMembership,
    )

    groups = [
        CoordinatingGroup.objects.get_or_create(slug=slug, defaults={"name": name})[0]
        for slug, name in [("bench-bcp", "Bench BCP Group"), ("bench-dorset", "Bench Dorset Group")]
    ]
    areas = []
    for n in range(10):
        area, _ = NPTArea.objects.get_or_create(
            slug=f"bench-area-{n}", defaults={"name": f"Bench area {n}", "group": groups[n % 2]}
        )
        areas.append(area)

    def person(email):
        user = User.objects.filter(email=email).first()
        return user or User.objects.create_user(email=email, password=None)

    for group in groups:
        GroupMembership.objects.get_or_create(user=person(f"{group.slug}@bench.test"), group=group)
    partnership = Partnership.load()
    PartnershipMembership.objects.get_or_create(
        user=person("partnership@bench.test"), partnership=partnership
    )
    if partnership.chair_id is None:
        partnership.chair = person("chair@bench.test")
        partnership.save(update_fields=["chair"])
    return [area.pk for area in areas]


def seed(now, area_ids) -> float:
    """Empty the tables and insert the same businesses and concerns every time, in SQL."""
    from django.db import connection, transaction

    from engagement.models import ConcernCategory

    category_ids = list(ConcernCategory.objects.order_by("pk").values_list("pk", flat=True))
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE engagement_business, engagement_concern, engagement_concernevent, "
            "escalation_sweep, escalation_themeevent, engagement_outboundemail "
            "RESTART IDENTITY CASCADE"
        )
        cursor.execute(
            """
            INSERT INTO engagement_business (name, sector, size_band, address_line1,
                address_line2, town, postcode, npt_area_id, is_rural, bid_member, created_at)
            SELECT 'Bench business ' || b, 'retail', 'micro', b || ' High Street', '', 'Town',
                'BH1 1AA', (%(areas)s::bigint[])[1 + b %% cardinality(%(areas)s::bigint[])],
                false, false, %(now)s
            FROM generate_series(0, %(businesses)s - 1) AS b
            """,
            {"areas": area_ids, "now": now, "businesses": BUSINESSES},
        )
        # Every tenth concern is overdue (a fifth of those at tier 2, the rest at tier 1). The
        # rest are due within 30 days at tiers 1 to 3. Warnings were sent already and first
        # responses given, so the sweep's only work is the escalation the baseline also does.
        cursor.execute(
            """
            INSERT INTO engagement_concern (reference, business_id, reporter_id, contact_name,
                contact_email, contact_phone, contact_preference, category_id, description,
                occurred_on, occurred_time, location, existing_reference, impact,
                impact_details, priority, status, npt_area_id, assigned_officer_id, tier,
                tier_entered_at, first_response_due_at, resolution_due_at, first_responded_at,
                first_response_warn_at, first_response_warned_at, resolution_warn_at,
                resolution_warned_at, overdue_flagged_at, paused_at, resolved_at, outcome_id,
                outcome_note, reporter_satisfied, closed_at, tracking_token_hash, confirmed_at,
                submission_key, created_at, updated_at)
            SELECT 'BENCH-' || lpad(i::text, 7, '0'), 1 + i %% %(businesses)s, NULL,
                'Bench Owner', 'owner' || (i %% %(businesses)s) || '@bench.test', '', 'email',
                (%(categories)s::bigint[])[1 + i %% cardinality(%(categories)s::bigint[])],
                'A benchmark concern.', (created - interval '1 day')::date, NULL,
                '1 High Street', '', 'some', '',
                (ARRAY['low', 'normal', 'high', 'urgent'])[1 + i %% 4],
                CASE WHEN i %% 3 = 0 THEN 'in_progress' ELSE 'new' END,
                (%(areas)s::bigint[])
                    [1 + (i %% %(businesses)s) %% cardinality(%(areas)s::bigint[])],
                NULL,
                CASE WHEN overdue THEN CASE WHEN (i / %(every)s) %% 5 = 0 THEN 2 ELSE 1 END
                     ELSE 1 + i %% 3 END,
                NULL, created + interval '3 days', due, created + interval '1 hour',
                NULL, NULL, due - interval '2 days', created + interval '1 day', NULL,
                NULL, NULL, NULL, '', NULL, NULL, NULL, NULL,
                md5(i::text)::uuid, created, created
            FROM generate_series(1, %(total)s) AS i
            CROSS JOIN LATERAL (
                SELECT i %% %(every)s = 0 AS overdue,
                       %(now)s::timestamptz - interval '30 days' AS created
            ) AS fixed
            CROSS JOIN LATERAL (
                SELECT CASE WHEN overdue
                    THEN %(now)s::timestamptz - interval '1 hour'
                         - (i %% 5000) * interval '1 minute'
                    ELSE %(now)s::timestamptz + (1 + i %% 30) * interval '1 day' END AS due
            ) AS deadline
            """,
            {
                "total": TOTAL,
                "every": max(TOTAL // max(OVERDUE, 1), 1),
                "businesses": BUSINESSES,
                "areas": area_ids,
                "categories": category_ids,
                "now": now,
            },
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) engagement_concern")
        cursor.execute("VACUUM (ANALYZE) engagement_concernevent")
        cursor.execute("CHECKPOINT")
    return time.perf_counter() - started


def state_fingerprint():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT tier, count(*), sum(extract(epoch FROM resolution_due_at))::bigint,
                   count(resolution_warn_at), count(first_response_warn_at)
            FROM engagement_concern GROUP BY tier ORDER BY tier
            """
        )
        concerns = cursor.fetchall()
        cursor.execute(
            "SELECT from_tier, to_tier, count(*), count(DISTINCT concern_id) "
            "FROM engagement_concernevent WHERE kind = 'escalated' GROUP BY 1, 2 ORDER BY 1, 2"
        )
        events = cursor.fetchall()
    return concerns, events


def overdue_counts(now):
    from engagement.models import Concern

    due = Concern.objects.filter(
        status__in=Concern.OPEN_STATUSES, paused_at__isnull=True, resolution_due_at__lt=now
    )
    return {tier: due.filter(tier=tier).count() for tier in (1, 2, 3)}


def claim_index(now) -> str:
    """Which index the sweep's claim uses (it must not scan the table)."""
    import json

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (FORMAT JSON) SELECT id FROM engagement_concern "
            "WHERE status IN %s AND paused_at IS NULL AND tier < 3 AND resolution_due_at < %s "
            "ORDER BY resolution_due_at LIMIT 10000 FOR UPDATE SKIP LOCKED",
            [("new", "in_progress", "waiting"), now],
        )
        plan = cursor.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)

    def walk(node):
        if "Index Name" in node:
            return f"{node['Node Type']} using {node['Index Name']}"
        for child in node.get("Plans", []):
            found = walk(child)
            if found:
                return found
        return None

    return walk(plan[0]["Plan"]) or "a sequential scan (no index!)"


def warm_up(now) -> None:
    """Load what a long-running worker holds after its first run: the bank holiday tables, the
    compiled email templates, the policy. Timing a cold process would measure imports."""
    from django.template.loader import get_template

    from engagement import deadlines
    from escalation.services import sweep as sweep_services

    sweep_services.arrival_plan(now, deadlines.policy_table())
    for name in (
        "escalation_arrivals",
        "escalation_overdue",
        "escalation_warnings",
        "concern_moved",
    ):
        for part in ("subject.txt", "body.txt", "body.html"):
            get_template(f"emails/{name}-{part}")


def run_sweep(now):
    from escalation import services

    with logged_queries() as log:
        started = time.perf_counter()
        report = services.sweep_run(now=now)
        elapsed = time.perf_counter() - started
    return report, elapsed, log


def run_business_notices():
    """What the periodic task does after the sweep: one email per business contact it moved."""
    from escalation import services

    with logged_queries() as log:
        started = time.perf_counter()
        told = services.sweep_notify_businesses()
        elapsed = time.perf_counter() - started
    return told, elapsed, log


def run_idle_sweeps(now, runs=5):
    from escalation import services

    timings, queries = [], []
    for _ in range(runs):
        with logged_queries() as log:
            started = time.perf_counter()
            report = services.sweep_run(now=now)
            timings.append((time.perf_counter() - started) * 1000)
        assert not report.did_anything, "the idle sweep found work"
        queries.append(log.total)
    return timings, queries


def run_baseline(now) -> tuple[int, float]:
    """The same moves, hand-written: one UPDATE ... RETURNING feeding one INSERT of events."""
    from django.db import connection, transaction

    from engagement import deadlines
    from escalation.services import sweep as sweep_services

    plan = sweep_services.arrival_plan(now, deadlines.policy_table())
    # The product's own plan rows: the baseline differs from the sweep in how it claims and
    # batches, never in the deadlines it writes.
    values, params = sweep_services.plan_values_sql(plan)
    params.update(now=now, open=("new", "in_progress", "waiting"))
    baseline_sql = f"""
        WITH plan ({sweep_services.PLAN_COLUMNS}) AS (VALUES {values}),
        moved AS (
            UPDATE engagement_concern AS concern
            SET tier = plan.tier, tier_entered_at = %(now)s,
                first_response_due_at = plan.first_response_due_at,
                first_response_warn_at = plan.first_response_warn_at,
                resolution_due_at = plan.resolution_due_at,
                resolution_warn_at = plan.resolution_warn_at,
                first_responded_at = NULL, first_response_warned_at = NULL,
                resolution_warned_at = NULL, overdue_flagged_at = NULL, updated_at = %(now)s
            FROM plan
            WHERE concern.status IN %(open)s AND concern.paused_at IS NULL AND concern.tier < 3
              AND concern.resolution_due_at < %(now)s
              AND plan.tier = concern.tier + 1 AND plan.priority = concern.priority
            RETURNING concern.id, concern.tier
        )
        INSERT INTO engagement_concernevent (concern_id, kind, actor_id, rule, from_status,
            to_status, from_tier, to_tier, detail, created_at, sweep_id)
        SELECT id, 'escalated', NULL, 'overdue', '', '', tier - 1, tier,
               'The resolution deadline passed, so it moved up one tier.', %(now)s, NULL
        FROM moved
    """  # noqa: S608 # nosec B608 # only the product's plan placeholders are formatted in
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(baseline_sql, params)
        moved = cursor.rowcount
    return moved, time.perf_counter() - started


def query_scaling(now) -> list[tuple[int, int, int]]:
    """Queries of whole sweeps over backlogs of different sizes: (backlog, batches, queries).

    Makes `backlog` tier-1 concerns overdue again (on the data the last run left), then sweeps.
    The fixed part (queries minus batches) must not change with the backlog: it is the probe,
    the run's row, the policy, the empty passes and one query per notification email.
    """
    from django.db import connection

    results = []
    # Each backlog spans every NPT area, so the same bodies hear about it: only batches differ.
    for backlog in (1_000, 10_000, 30_000):
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE engagement_concern SET resolution_due_at = %s - interval '1 hour' "
                "WHERE id IN (SELECT id FROM engagement_concern WHERE tier = 1 "
                "AND status IN ('new', 'in_progress') ORDER BY id LIMIT %s)",
                [now, backlog],
            )
        _, _, log = run_sweep(now)
        results.append((backlog, log.tags["escalate"], log.total))
    return results


def main() -> int:
    url = database_url()
    create_database_if_missing(url)
    setup_django(url)

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from escalation import services

    call_command("migrate", verbosity=0)
    area_ids = reference_data()
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    name = connection.settings_dict["NAME"]
    rounds = int(os.environ.get("BENCH_ROUNDS", "2"))
    say(f"Escalation sweep benchmark on PostgreSQL {version}, database {name}")
    say(
        f"Batch size {services.SWEEP_BATCH_SIZE:,}; {os.cpu_count()} CPU cores; {rounds} rounds, "
        "each on freshly seeded identical data; best of the rounds compared."
    )
    say()

    sweeps, baselines, idle_ms, idle_queries, notices = [], [], [], [], []
    for round_number in range(1, rounds + 1):
        seconds = seed(now, area_ids)
        if round_number == 1:
            due = overdue_counts(now)
            say(
                f"Seeded {TOTAL:,} open concerns in {seconds:.1f} s: {sum(due.values()):,} "
                f"overdue ({due[1]:,} at tier 1, {due[2]:,} at tier 2)."
            )
            say(f"The sweep's claim uses: {claim_index(now)}")
            warm_up(now)
        report, sweep_seconds, log = run_sweep(now)
        sweep_state = state_fingerprint()
        told, told_seconds, told_log = run_business_notices()
        notices.append(told_seconds)
        timings, queries = run_idle_sweeps(now)
        idle_ms += timings
        idle_queries += queries
        sweeps.append(sweep_seconds)
        say(
            f"Round {round_number} sweep:        {sweep_seconds:7.3f} s  moved "
            f"{report.escalated_total:,} ({report.escalated.get(2, 0):,} to groups, "
            f"{report.escalated.get(3, 0):,} to the Partnership), {log.total} queries, "
            f"{report.emails_queued} notification emails"
        )
        say(
            f"Round {round_number} business notices: {told_seconds:7.3f} s  {told:,} emails "
            f"(one per business contact), {told_log.total} queries; run by the task after "
            "the sweep, not in the ratio"
        )
        seed(now, area_ids)
        moved, baseline_seconds = run_baseline(now)
        baseline_state = state_fingerprint()
        baselines.append(baseline_seconds)
        say(
            f"Round {round_number} SQL baseline: {baseline_seconds:7.3f} s  moved {moved:,} "
            "(one UPDATE ... RETURNING feeding one INSERT)"
        )
        same = sweep_state == baseline_state and moved == report.escalated_total
        if not same:
            say(f"  Different end states!\n  sweep:    {sweep_state}\n  baseline: {baseline_state}")
            return 1

    scaling = query_scaling(now)
    sweep_best, baseline_best = min(sweeps), min(baselines)
    ratio = sweep_best / baseline_best
    batches = log.tags["escalate"]
    say()
    say(f"Sweep (best):            {sweep_best:.3f} s")
    say(f"SQL baseline (best):     {baseline_best:.3f} s")
    say(f"Ratio sweep / baseline:  {ratio:.2f}   (target <= {SWEEP_TARGET_RATIO})")
    say(
        f"Business notices (best): {min(notices):.3f} s; sweep and notices together "
        f"{(sweep_best + min(notices)) / baseline_best:.2f} x the baseline"
    )
    say(
        f"Idle sweep right after:  {idle_ms[0]:.1f} ms; median of {len(idle_ms)} "
        f"{statistics.median(idle_ms):.1f} ms; {idle_queries[0]} queries   "
        f"(target <= {IDLE_TARGET_MS:.0f} ms)"
    )
    say(
        f"Queries per batch:       1 (claim + update + events + tally + business notices in "
        "one statement); "
        f"the {OVERDUE:,}-item sweep ran {batches} escalation batches in {log.total} queries."
    )
    fixed = {queries - batch_count for _, batch_count, queries in scaling}
    for backlog, batch_count, queries in scaling:
        say(
            f"  backlog {backlog:>6,}: {batch_count} batches, {queries} queries "
            f"= {queries - batch_count} fixed + {batch_count} x 1"
        )
    constant = len(fixed) == 1
    say(f"  fixed part constant: {'yes' if constant else 'NO'}")
    if os.environ.get("BENCH_VERBOSE"):
        say(f"Seconds by statement kind: { {k: round(v, 3) for k, v in log.seconds.items()} }")
        for elapsed, statement in sorted(log.slowest, reverse=True)[:8]:
            say(f"  {elapsed * 1000:8.1f} ms  {statement}")
    say("Same end state as the baseline: yes")

    ok = ratio <= SWEEP_TARGET_RATIO and min(idle_ms) <= IDLE_TARGET_MS and constant
    say("All targets met." if ok else "A target was missed.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
