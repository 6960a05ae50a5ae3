"""`make bench`, second part: five years of a county's data and how fast each page answers.

    python -m benchmarks.county              # seed (or reuse) and print the page table
    python -m benchmarks.county --seed-only  # seed (or reuse) and stop

BENCH_CONCERNS (default 1,000,000) concerns over five years in the ten NPT areas of the demo
geography, with businesses (one for every 20 concerns, so 50,000 at 1M), their owners, about
two events per concern, public updates, themes with their linked concerns, decisions with
actions, and the demo accounts of `seed_demo`: npt@demo.test posted to Bournemouth and Poole,
group@demo.test in the BCP group, partnership@demo.test, and owner@demo.test with 1,000
concerns. Everything bulk is inserted set-based in SQL (generate_series, INSERT ... SELECT), so a
million concerns seed in a few minutes; the values are pseudo-random but the same every time.

Each size has its own database, named after DATABASE_URL's with the size appended
(dorset_bcp_bench -> dorset_bcp_bench_1m, _100k, _10k), or BENCH_COUNTY_DATABASE_URL exactly.
A database seeded to the same size by the same seeder version is reused (migrations are still
applied); anything else there is dropped and seeded afresh, so the name must contain "bench".

The page table times each page through Django's whole WSGI stack (the test client, DEBUG off,
the cached template loader, every middleware) after a warm-up: p50 and p95 over BENCH_REQUESTS
(default 30) sequential requests, each printed beside its target and ending `met` or `missed`.
"""

import argparse
import io
import os
import sys
import time
import warnings
from dataclasses import dataclass
from urllib.parse import urlparse, urlunparse

from benchmarks.run import admin_connection

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dorset_bcp_bench"
# Bump when the seeded data changes shape: a database seeded by another version is redone.
SEED_VERSION = 1
YEARS = 5
OWNER_CONCERNS = 1_000
DEMO_PASSWORD = "dorset-demo-2026"  # noqa: S105 - seed_demo's documented demo password
OFFICER_EMAIL = "npt@demo.test"
GROUP_EMAIL = "group@demo.test"
PARTNERSHIP_EMAIL = "partnership@demo.test"
OWNER_EMAIL = "owner@demo.test"


def say(line: str = "") -> None:
    print(line, flush=True)


def total_concerns() -> int:
    return int(os.environ.get("BENCH_CONCERNS", "1000000"))


def size_label(total: int) -> str:
    if total % 1_000_000 == 0:
        return f"{total // 1_000_000}m"
    if total % 1_000 == 0:
        return f"{total // 1_000}k"
    return str(total)


def county_database_url(total: int) -> str:
    """The database for this size: BENCH_COUNTY_DATABASE_URL, or DATABASE_URL's name + size."""
    url = os.environ.get("BENCH_COUNTY_DATABASE_URL")
    if not url:
        base = urlparse(os.environ.get("DATABASE_URL") or DEFAULT_URL)
        url = urlunparse(base._replace(path=f"{base.path}_{size_label(total)}"))
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not parsed.scheme.startswith("postgres"):
        sys.exit(f"The county benchmark needs PostgreSQL; the database URL is {parsed.scheme}://.")
    if "bench" not in name:
        sys.exit(
            f"The county benchmark drops and reseeds its database; {name!r} does not look like a "
            "benchmark database. Name one *bench*."
        )
    return url


def seeded_size(url: str) -> int | None:
    """How many concerns this seeder version put in the database, or None if it did not."""
    import psycopg2

    parsed = urlparse(url)
    try:
        connection = psycopg2.connect(
            dbname=parsed.path.lstrip("/"),
            user=parsed.username or None,
            password=parsed.password or None,
            host=parsed.hostname or None,
            port=parsed.port or None,
        )
    except psycopg2.OperationalError:
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('bench_county_seed')")
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute(
                "SELECT concerns FROM bench_county_seed WHERE version = %s", [SEED_VERSION]
            )
            row = cursor.fetchone()
            return row[0] if row else None
    finally:
        connection.close()


def recreate_database(url: str) -> None:
    from psycopg2 import sql

    name = urlparse(url).path.lstrip("/")
    admin = admin_connection(url)
    with admin.cursor() as cursor:
        cursor.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()


def setup_django(url: str) -> None:
    """Production-like settings: DEBUG off, the cached template loader, every middleware."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "county-benchmark-only-" + "k" * 40)
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    # seed_demo's accounts are refused in production; this database is a benchmark's.
    os.environ["DJANGO_PRODUCTION"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dorset_bcp.settings")
    import django
    from django.conf import settings

    # WhiteNoise looks for collectstatic's folder; the pages, not static files, are measured.
    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    # The pages, not the static files, are measured: no collectstatic manifest needed.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from dorset_bcp.celery import app

    # Tasks published after commit stay in this process.
    app.conf.update(broker_url="memory://", broker_transport_options={}, task_always_eager=False)


# --- seeding -------------------------------------------------------------------------------


def _r(k: int, var: str = "i") -> str:
    """SQL for a pseudo-random number in [0, 1), fixed for each (row, k): no setseed needed."""
    return f"((hashint8({var}::bigint * 16 + {k}) & 2147483647)::float8 / 2147483648.0)"


PREFIXES = [
    "Harbour", "Quay", "Market", "Old Town", "Westover", "Castle", "Abbey", "Station",
    "Seafront", "Mill", "Bridge", "Church", "Victoria", "Royal", "High Street", "Corner",
    "Riverside", "Hillside", "Chine", "Pier", "Square", "Lantern", "Anchor", "Heath",
    "Forest", "Downs", "Cliff", "Lighthouse", "Meadow", "Orchard", "Granary", "Tithe Barn",
    "Priory", "Minster", "Vale", "Cove", "Bay", "Dene", "Oak", "Ashley",
]  # fmt: skip
KINDS = [
    ("Stores", "retail"), ("Café", "hospitality"), ("Pharmacy", "retail"),
    ("Newsagent", "retail"), ("Bakery", "retail"), ("Inn", "hospitality"),
    ("Hotel", "accommodation"), ("Guest House", "accommodation"), ("Farm", "farm"),
    ("Stables", "equestrian"), ("Garage", "trades"), ("Builders", "trades"),
    ("Solicitors", "office"), ("Accountants", "office"), ("Butchers", "retail"),
    ("Florist", "retail"), ("Wine Bar", "hospitality"), ("Fish Bar", "hospitality"),
    ("Hardware", "retail"), ("Bookshop", "retail"), ("Launderette", "other"),
    ("Vets", "other"), ("Dental Practice", "office"), ("Boatyard", "trades"),
    ("Deli", "retail"),
]  # fmt: skip
STREETS = [
    "High Street", "Old Christchurch Road", "Commercial Road", "Station Road", "The Quay",
    "Market Street", "Church Lane", "West Street", "East Street", "Mill Lane",
    "Bridge Street", "South Street", "North Street", "Castle Street", "Victoria Road",
    "Poole Road", "Ashley Road", "Wimborne Road", "Christchurch Road", "Sea Road",
]  # fmt: skip
WHO = [
    "Two people", "A man", "A woman", "A group of teenagers", "Someone", "A regular customer",
    "A driver", "Three men", "A caller", "An email sender",
]  # fmt: skip
WHAT = [
    "took alcohol from the shelves", "sprayed graffiti on the shutters",
    "broke the back door lock", "shouted abuse at staff", "sent a fake supplier invoice",
    "stole a bicycle from the yard", "damaged the outside lights", "left needles by the bins",
    "tried to use a stolen card", "took fuel from the farm tank", "cut through the fence",
    "threatened the manager", "phoned pretending to be the bank", "stole tools from a van",
]  # fmt: skip
WHEN = [
    "late in the evening", "just after opening", "around 4pm", "overnight",
    "during the lunchtime rush", "at the weekend", "while staff were on the till",
    "several times this month",
]  # fmt: skip


def _pick(array: str, k: int, var: str = "i") -> str:
    """SQL picking one id of the bigint[] parameter `array`, pseudo-randomly per row."""
    ids = f"%({array})s::bigint[]"
    return f"({ids})[1 + floor({_r(k, var)} * cardinality({ids}))::int]"


def _sql_array(values) -> str:
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"(ARRAY[{quoted}])"


@dataclass
class Seeded:
    total: int
    businesses: int
    events: int
    updates: int
    themes: int
    decisions: int
    seconds: float


def seed_county(total: int) -> Seeded:
    """Seed the demo accounts and geography, then the county's bulk rows in SQL."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    started = time.perf_counter()
    call_command("seed_demo", password=DEMO_PASSWORD, verbosity=0, stdout=io.StringIO())
    businesses = max(100, total // 20)
    owner_concerns = min(OWNER_CONCERNS, max(total // 10, 1))
    now = timezone.now().replace(microsecond=0)
    start = now - timezone.timedelta(days=365 * YEARS + 1)
    span = (now - start).total_seconds()
    with connection.cursor() as cursor:

        def run(label: str, statement: str, params=None) -> int:
            step = time.perf_counter()
            cursor.execute(statement, params or {})
            say(f"  {label}: {cursor.rowcount:,} rows in {time.perf_counter() - step:.1f} s")
            return cursor.rowcount

        def scalar(statement: str, params=None):
            cursor.execute(statement, params or [])
            return cursor.fetchone()[0]

        # Compiling these one-off statements' many expressions costs seconds and saves none.
        cursor.execute("SET jit = off")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '256MB'")
        cursor.execute("SET work_mem = '64MB'")
        officer_id = scalar("SELECT id FROM engagement_user WHERE email = %s", [OFFICER_EMAIL])
        group_user_id = scalar("SELECT id FROM engagement_user WHERE email = %s", [GROUP_EMAIL])
        owner_id = scalar("SELECT id FROM engagement_user WHERE email = %s", [OWNER_EMAIL])
        officer_areas = [
            row[0]
            for row in _rows(
                cursor, "SELECT area_id FROM engagement_nptofficer WHERE user_id = %s", [officer_id]
            )
        ]
        cursor.execute("DROP TABLE IF EXISTS bench_area")
        cursor.execute(
            """
            CREATE TEMP TABLE bench_area AS
            SELECT (row_number() OVER (ORDER BY a.id) - 1)::int AS idx, a.id AS area_id,
                   a.name AS town, array_agg(d.code ORDER BY d.code) AS districts
            FROM engagement_nptarea a JOIN engagement_postcodedistrict d ON d.area_id = a.id
            GROUP BY a.id, a.name
            """
        )
        areas = scalar("SELECT count(*) FROM bench_area")
        user_base = scalar("SELECT coalesce(max(id), 0) FROM engagement_user")
        business_base = scalar("SELECT coalesce(max(id), 0) FROM engagement_business")
        concern_base = scalar("SELECT coalesce(max(id), 0) FROM engagement_concern")
        theme_base = scalar("SELECT coalesce(max(id), 0) FROM escalation_theme")
        params = {
            "total": total,
            "businesses": businesses,
            "areas": areas,
            "user_base": user_base,
            "business_base": business_base,
            "concern_base": concern_base,
            "theme_base": theme_base,
            "now": now,
            "start": start,
            "span": span,
            "officer": officer_id,
            "officer_areas": officer_areas,
            "group_user": group_user_id,
            # Half the category x area x quarter cells at county scale, fewer when smaller.
            "theme_share": 0.5 * min(1.0, total / 100_000),
        }
        say(f"Seeding {total:,} concerns and {businesses:,} businesses over {YEARS} years:")
        run(
            "business owners",
            """
            INSERT INTO engagement_user (id, password, last_login, is_superuser, email, full_name,
                phone, is_staff, is_active, date_joined, session_version)
            SELECT %(user_base)s + b, '!', NULL, false, 'owner' || b || '@county.bench',
                'Owner ' || b, '', false, true, %(start)s, 0
            FROM generate_series(1, %(businesses)s) AS b
            """,
            params,
        )
        kinds = [kind for kind, _ in KINDS]
        sectors = [sector for _, sector in KINDS]
        run(
            "businesses",
            f"""
            INSERT INTO engagement_business (id, name, sector, size_band, address_line1,
                address_line2, town, postcode, npt_area_id, is_rural, bid_member, created_at)
            SELECT %(business_base)s + b,
                {_sql_array(PREFIXES)}[1 + b %% {len(PREFIXES)}] || ' '
                    || {_sql_array(kinds)}[1 + (b / {len(PREFIXES)}) %% {len(KINDS)}],
                {_sql_array(sectors)}[1 + (b / {len(PREFIXES)}) %% {len(KINDS)}],
                (ARRAY['sole', 'micro', 'small', 'medium', 'large'])[1 + (b / 7) %% 5],
                (1 + b %% 200) || ' ' || {_sql_array(STREETS)}[1 + (b / 11) %% {len(STREETS)}],
                '', a.town,
                a.districts[1 + (b / %(areas)s) %% cardinality(a.districts)] || ' '
                    || (1 + b %% 9) || chr(65 + (b / 9) %% 26) || chr(65 + (b / 234) %% 26),
                a.area_id, b %% 7 = 0, b %% 5 = 0,
                %(start)s::timestamptz + (b::float8 / %(businesses)s) * interval '30 days'
            FROM generate_series(1, %(businesses)s) AS b
            JOIN bench_area a ON a.idx = b %% %(areas)s
            """,  # noqa: S608 - only constants and _r() are formatted in
            params,
        )
        run(
            "owners' memberships",
            """
            INSERT INTO engagement_businessmembership (user_id, business_id, role, created_at)
            SELECT %(user_base)s + b, %(business_base)s + b, 'owner', %(start)s
            FROM generate_series(1, %(businesses)s) AS b
            """,
            params,
        )
        categories = [row[0] for row in _rows(cursor, "SELECT id FROM engagement_concerncategory")]
        outcomes = [row[0] for row in _rows(cursor, "SELECT id FROM engagement_outcome")]
        params.update({"categories": categories, "outcomes": outcomes})
        # Recent concerns are mostly open, older ones mostly settled, as in a live service.
        run(
            "concerns",
            f"""
            INSERT INTO engagement_concern (id, reference, business_id, reporter_id, contact_name,
                contact_email, contact_phone, contact_preference, category_id, description,
                occurred_on, occurred_time, location, existing_reference, impact,
                impact_details, priority, status, npt_area_id, assigned_officer_id, tier,
                tier_entered_at, first_response_due_at, resolution_due_at, first_responded_at,
                first_response_warn_at, first_response_warned_at, resolution_warn_at,
                resolution_warned_at, overdue_flagged_at, paused_at, resolved_at, outcome_id,
                outcome_note, reporter_satisfied, closed_at, tracking_token_hash, confirmed_at,
                submission_key, created_at, updated_at, legal_hold, legal_hold_reason)
            SELECT %(concern_base)s + i,
                'DBC-' || extract(year FROM created)::int || '-'
                    || lpad(id_text, greatest(6, length(id_text)), '0'),
                biz.id, CASE WHEN guest THEN NULL ELSE %(user_base)s + b END,
                'Owner ' || b, 'owner' || b || '@county.bench', '', 'email',
                {_pick("categories", 2)},
                {_sql_array(WHO)}[1 + floor({_r(3)} * {len(WHO)})::int] || ' '
                    || {_sql_array(WHAT)}[1 + floor({_r(4)} * {len(WHAT)})::int] || ' '
                    || {_sql_array(WHEN)}[1 + floor({_r(5)} * {len(WHEN)})::int] || '.',
                (created - floor({_r(6)} * 3) * interval '1 day')::date, NULL,
                biz.address_line1, '',
                (ARRAY['little', 'some', 'serious', 'severe'])[1 + floor({_r(7)} * 4)::int], '',
                CASE WHEN {_r(8)} < 0.15 THEN 'low' WHEN {_r(8)} < 0.75 THEN 'normal'
                     WHEN {_r(8)} < 0.95 THEN 'high' ELSE 'urgent' END,
                status, biz.npt_area_id,
                CASE WHEN biz.npt_area_id = ANY(%(officer_areas)s::bigint[]) AND {_r(9)} < 0.2
                     THEN %(officer)s END,
                tier,
                CASE WHEN tier > 1 THEN created + interval '10 days' END,
                CASE WHEN tier > 1 THEN created + interval '13 days'
                     ELSE created + interval '3 days' END,
                CASE WHEN tier > 1 THEN created + interval '30 days'
                     ELSE created + interval '20 days' END,
                CASE WHEN status <> 'new' THEN created + {_r(10)} * interval '4 days' END,
                created + interval '2 days', NULL,
                CASE WHEN tier > 1 THEN created + interval '28 days'
                     ELSE created + interval '18 days' END,
                NULL, NULL,
                CASE WHEN status = 'waiting' THEN created + interval '5 days' END,
                CASE WHEN settled THEN resolved END,
                CASE WHEN settled
                     THEN {_pick("outcomes", 11)}
                END,
                CASE WHEN settled THEN 'Recorded, patrols increased and advice given.' ELSE '' END,
                CASE WHEN status = 'closed' THEN {_r(12)} < 0.8 END,
                CASE WHEN status = 'closed' THEN least(resolved + interval '3 days', %(now)s) END,
                CASE WHEN guest THEN encode(sha256(('county-' || i)::bytea), 'hex') END,
                created, md5('county-' || i)::uuid, created, created, false, ''
            FROM generate_series(1, %(total)s) AS i
            CROSS JOIN LATERAL (SELECT (%(concern_base)s + i)::text AS id_text) AS ids
            CROSS JOIN LATERAL (
                SELECT 1 + floor({_r(0)} * %(businesses)s)::int AS b, {_r(1)} < 0.3 AS guest,
                    %(start)s::timestamptz
                        + ((i - 1)::float8 / %(total)s * %(span)s) * interval '1 second' AS created
            ) AS base
            JOIN engagement_business biz ON biz.id = %(business_base)s + b
            CROSS JOIN LATERAL (
                SELECT extract(epoch FROM %(now)s - created) / 86400 AS age, {_r(13)} AS roll
            ) AS aged
            CROSS JOIN LATERAL (
                SELECT CASE
                    WHEN age < 14 THEN CASE WHEN roll < 0.4 THEN 'new'
                        WHEN roll < 0.75 THEN 'in_progress' WHEN roll < 0.85 THEN 'waiting'
                        WHEN roll < 0.95 THEN 'resolved' ELSE 'closed' END
                    WHEN age < 90 THEN CASE WHEN roll < 0.1 THEN 'new'
                        WHEN roll < 0.25 THEN 'in_progress' WHEN roll < 0.3 THEN 'waiting'
                        WHEN roll < 0.75 THEN 'resolved' ELSE 'closed' END
                    ELSE CASE WHEN roll < 0.002 THEN 'new' WHEN roll < 0.01 THEN 'in_progress'
                        WHEN roll < 0.015 THEN 'waiting' WHEN roll < 0.6 THEN 'resolved'
                        ELSE 'closed' END
                    END AS status,
                    CASE WHEN {_r(14)} < 0.8 THEN 1 WHEN {_r(14)} < 0.95 THEN 2 ELSE 3 END AS tier,
                    least(created + (1 + {_r(15)} * 40) * interval '1 day', %(now)s) AS resolved
            ) AS state
            CROSS JOIN LATERAL (SELECT status IN ('resolved', 'closed') AS settled) AS done
            """,  # noqa: S608 - only constants and _r() are formatted in
            params,
        )
        # The joins below need the planner to know the new rows.
        cursor.execute("ANALYZE engagement_business, engagement_concern")
        # owner@demo.test reports a share of them for the three businesses seed_demo gave them.
        run(
            "owner@demo.test's concerns",
            """
            WITH mine AS (
                SELECT b.id, b.npt_area_id, b.address_line1,
                       (row_number() OVER (ORDER BY b.id) - 1)::int AS k
                FROM engagement_business b
                JOIN engagement_businessmembership m ON m.business_id = b.id
                WHERE m.user_id = %(owner)s
            ), picked AS (
                SELECT c.id, (row_number() OVER (ORDER BY c.id) - 1)::int AS n
                FROM engagement_concern c
                WHERE c.id > %(concern_base)s
                  AND (c.id - %(concern_base)s) %% %(every)s = 0
                LIMIT %(count)s
            )
            UPDATE engagement_concern c
            SET business_id = mine.id, npt_area_id = mine.npt_area_id, reporter_id = %(owner)s,
                location = mine.address_line1, tracking_token_hash = NULL,
                contact_name = 'Sam Harper', contact_email = %(owner_email)s
            FROM picked JOIN mine ON mine.k = picked.n %% (SELECT count(*) FROM mine)
            WHERE c.id = picked.id
            """,
            {
                **params,
                "owner": owner_id,
                "owner_email": OWNER_EMAIL,
                "every": max(total // owner_concerns, 1),
                "count": owner_concerns,
            },
        )
        events = run(
            "events",
            """
            INSERT INTO engagement_concernevent (concern_id, kind, actor_id, rule, from_status,
                to_status, from_tier, to_tier, detail, created_at, sweep_id)
            SELECT c.id, e.kind, e.actor, e.rule, e.from_status, e.to_status, e.from_tier,
                   e.to_tier, e.detail, e.at, NULL
            FROM engagement_concern c
            CROSS JOIN LATERAL (VALUES
                ('submitted', c.reporter_id, '', '', 'new', NULL::int, NULL::int, '',
                 c.created_at, true),
                ('assigned', %(officer)s, '', '', '', NULL, NULL, '',
                 c.created_at + interval '2 hours', c.assigned_officer_id IS NOT NULL),
                ('escalated', NULL, 'overdue', '', '', 1, 2,
                 'The resolution deadline passed, so it moved up one tier.',
                 c.created_at + interval '10 days', c.tier >= 2),
                ('escalated', %(group_user)s, '', '', '', 2, 3,
                 'Needs a county-wide answer.', c.created_at + interval '15 days', c.tier = 3),
                ('resolved', NULL, '', 'in_progress', 'resolved', NULL, NULL, '',
                 c.resolved_at, c.resolved_at IS NOT NULL),
                ('closed', c.reporter_id, '', 'resolved', 'closed', NULL, NULL, '',
                 c.closed_at, c.closed_at IS NOT NULL)
            ) AS e (kind, actor, rule, from_status, to_status, from_tier, to_tier, detail, at,
                    happened)
            WHERE c.id > %(concern_base)s AND e.happened
            """,
            params,
        )
        updates = run(
            "public updates",
            f"""
            INSERT INTO engagement_concernupdate (concern_id, author_id, kind, body, created_at,
                submission_key)
            SELECT c.id, %(officer)s, 'public',
                'Thank you for telling us. We have added your street to our patrols and will '
                || 'let you know what we find.', c.created_at + interval '2 days', NULL
            FROM engagement_concern c
            WHERE c.id > %(concern_base)s AND c.status <> 'new' AND {_r(1, "c.id")} < 0.3
            """,  # noqa: S608 - only constants and _r() are formatted in
            params,
        )
        # Themes: in about half of the category x area pairs, one per quarter, the last still
        # open unless that pair already has one (at most one open theme per pair).
        themes = run(
            "themes",
            f"""
            INSERT INTO escalation_theme (id, reference, title, category_id, npt_area_id,
                priority, status, tier, tier_entered_at, first_response_due_at,
                first_response_warn_at, first_response_warned_at, first_responded_at,
                resolution_due_at, resolution_warn_at, resolution_warned_at,
                overdue_flagged_at, outcome_id, outcome_note, resolved_at, resolved_by_id,
                created_at, updated_at)
            SELECT %(theme_base)s + n,
                'THM-' || extract(year FROM created)::int || '-'
                    || lpad((%(theme_base)s + n)::text,
                            greatest(5, length((%(theme_base)s + n)::text)), '0'),
                cat.name || ' in ' || a.town, cat.id, a.area_id, 'normal',
                CASE WHEN still_open THEN 'open' ELSE 'resolved' END,
                CASE WHEN (n %% 5) = 0 THEN 3 ELSE 2 END, created,
                created + interval '5 days', created + interval '4 days', NULL,
                created + interval '2 days', created + interval '30 days',
                created + interval '28 days', NULL, NULL,
                CASE WHEN NOT still_open THEN (%(outcomes)s::bigint[])[1] END,
                CASE WHEN NOT still_open THEN 'Joint patrols and advice to every business.'
                     ELSE '' END,
                CASE WHEN NOT still_open THEN created + interval '25 days' END,
                CASE WHEN NOT still_open THEN %(group_user)s END,
                created, created
            FROM (
                SELECT row_number() OVER (ORDER BY q, a.idx, cat.id)::int AS n, q, a.idx,
                       cat.id AS category_id,
                       %(start)s::timestamptz + (q + 0.5) * %(span)s / 20 * interval '1 second'
                           AS created
                FROM generate_series(0, 19) AS q
                CROSS JOIN bench_area a
                CROSS JOIN engagement_concerncategory cat
                WHERE {_r(3, "(q * 1000 + a.idx * 50 + cat.id)")} < %(theme_share)s
            ) AS t
            JOIN bench_area a ON a.idx = t.idx
            JOIN engagement_concerncategory cat ON cat.id = t.category_id
            CROSS JOIN LATERAL (
                SELECT t.q = 19 AND NOT EXISTS (
                    SELECT 1 FROM escalation_theme o
                    WHERE o.status = 'open' AND o.category_id = cat.id
                      AND o.npt_area_id = a.area_id
                ) AS still_open
            ) AS s
            """,  # noqa: S608 - only constants and _r() are formatted in
            params,
        )
        run(
            "theme links",
            """
            INSERT INTO escalation_themeconcern (theme_id, concern_id, linked_at)
            SELECT t.id, c.id, t.created_at
            FROM escalation_theme t
            CROSS JOIN LATERAL (
                SELECT c.id FROM engagement_concern c
                WHERE c.created_at BETWEEN t.created_at - interval '28 days' AND t.created_at
                  AND c.category_id = t.category_id AND c.npt_area_id = t.npt_area_id
                ORDER BY c.created_at LIMIT 5
            ) AS c
            WHERE t.id > %(theme_base)s
            """,
            params,
        )
        run(
            "theme events",
            """
            INSERT INTO escalation_themeevent (theme_id, kind, actor_id, rule, from_status,
                to_status, from_tier, to_tier, detail, created_at, sweep_id)
            SELECT t.id, e.kind, NULL, e.rule, '', e.to_status, NULL, e.to_tier, '', e.at, NULL
            FROM escalation_theme t
            CROSS JOIN LATERAL (VALUES
                ('created', 'theme_detect', 'open', 2, t.created_at, true),
                ('resolved', '', 'resolved', NULL, t.resolved_at, t.resolved_at IS NOT NULL)
            ) AS e (kind, rule, to_status, to_tier, at, happened)
            WHERE t.id > %(theme_base)s AND e.happened
            """,
            params,
        )
        decisions = run(
            "decisions",
            f"""
            INSERT INTO escalation_decision (concern_id, theme_id, tier, summary, made_by_id,
                created_at)
            SELECT c.id, NULL, 2,
                'Joint evening visits by the NPT and the council; the BID to share CCTV.',
                %(group_user)s, c.created_at + interval '12 days'
            FROM engagement_concern c
            WHERE c.id > %(concern_base)s AND c.tier >= 2 AND {_r(2, "c.id")} < 0.5
            """,  # noqa: S608 - only constants and _r() are formatted in
            params,
        )
        partners = [
            row[0] for row in _rows(cursor, "SELECT id FROM escalation_partnerorganisation")
        ]
        run(
            "actions",
            f"""
            INSERT INTO escalation_action (decision_id, description, owner_id, owner_contact,
                due_on, completed_at, completed_by_id, completion_note, created_at)
            SELECT d.id, 'Two joint evening visits a week for four weeks',
                {_pick("partners", 4, "d.id")},
                '', (d.created_at + interval '28 days')::date,
                CASE WHEN c.resolved_at IS NOT NULL THEN c.resolved_at END,
                CASE WHEN c.resolved_at IS NOT NULL THEN %(group_user)s END,
                CASE WHEN c.resolved_at IS NOT NULL THEN 'Done.' ELSE '' END, d.created_at
            FROM escalation_decision d JOIN engagement_concern c ON c.id = d.concern_id
            WHERE c.id > %(concern_base)s
            """,  # noqa: S608 - only constants and _r() are formatted in
            {**params, "partners": partners},
        )
        for table in [
            "engagement_user",
            "engagement_business",
            "engagement_concern",
            "escalation_theme",
        ]:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
        cursor.execute("DROP TABLE bench_area")
        cursor.execute("RESET jit")
    with connection.cursor() as cursor:
        step = time.perf_counter()
        cursor.execute("VACUUM (ANALYZE)")
        say(f"  vacuum and analyze: {time.perf_counter() - step:.1f} s")
    return Seeded(
        total=total,
        businesses=businesses,
        events=events,
        updates=updates,
        themes=themes,
        decisions=decisions,
        seconds=time.perf_counter() - started,
    )


def mark_seeded(total: int) -> None:
    """Remember what is in the database, so the next run reuses it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_county_seed (version int, concerns int, "
            "seeded_at timestamptz)"
        )
        cursor.execute("DELETE FROM bench_county_seed")
        cursor.execute(
            "INSERT INTO bench_county_seed VALUES (%s, %s, now())", [SEED_VERSION, total]
        )


def _rows(cursor, statement, params=None):
    cursor.execute(statement, params or [])
    return cursor.fetchall()


def prepare(total: int) -> str:
    """Make sure the size's database holds the county data; returns its URL, Django set up."""
    url = county_database_url(total)
    name = urlparse(url).path.lstrip("/")
    reuse = seeded_size(url) == total
    if not reuse:
        say(f"Creating database {name} afresh.")
        recreate_database(url)
    setup_django(url)
    from django.core.management import call_command

    step = time.perf_counter()
    call_command("migrate", verbosity=0)
    say(f"Migrations applied in {time.perf_counter() - step:.1f} s.")
    if reuse:
        say(f"Reusing {name}: already seeded with {total:,} concerns (seeder v{SEED_VERSION}).")
    else:
        seeded = seed_county(total)
        mark_seeded(total)
        say(
            f"Seeded {name} in {seeded.seconds:.0f} s: {seeded.total:,} concerns, "
            f"{seeded.businesses:,} businesses, {seeded.events:,} events, {seeded.updates:,} "
            f"updates, {seeded.themes:,} themes, {seeded.decisions:,} decisions."
        )
    refresh_summaries(rebuild=not reuse)
    return url


def refresh_summaries(*, rebuild: bool) -> None:
    """Rebuild what the portal keeps beside the rows: the insight roll-up.

    The seeder writes in SQL, past the services, as an import would; the portal's nightly
    rebuild is what catches that, so it is run here: after seeding, or when it never ran.
    """
    from escalation import insight, rollup

    if rebuild or insight.as_of() is None:
        step = time.perf_counter()
        rollup.insight_refresh(full=True)
        say(f"Insight roll-up rebuilt in {time.perf_counter() - step:.1f} s.")


# --- the page table ------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seed-only", action="store_true", help="Seed (or reuse) the database and stop."
    )
    args = parser.parse_args(argv)
    total = total_concerns()
    prepare(total)
    if args.seed_only:
        return 0
    from benchmarks import pages

    return pages.run(total)


if __name__ == "__main__":
    sys.exit(main())
