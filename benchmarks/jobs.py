"""The county benchmark's job rows: alert fan-out, the weekly digest, the outbox, the purge.

Each job is run the way production runs it (the alert through its POST, the others through
their Celery task functions, called in this process) on rows made for it here and removed
afterwards, so the seeded database stays as it was:

- 5,000 businesses with a contact each, members of two Watch schemes: one wanting every alert
  (the alert POST), one a weekly digest (the digest, after one alert is posted to it);
- BENCH_OUTBOX_EMAILS (default 20,000) due emails drained to a local SMTP sink
  (tests/faults/smtp_sink.py) in a process of its own, counted from the first send to the last;
- BENCH_PURGE_EMAILS (default 100,000) sent emails past retention, purged in a fresh process
  whose peak resident memory is read from the kernel.

It empties engagement_outboundemail before and after: only a benchmark database has it.
"""

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

MEMBERS = int(os.environ.get("BENCH_MEMBERS", "5000"))
OUTBOX_EMAILS = int(os.environ.get("BENCH_OUTBOX_EMAILS", "20000"))
PURGE_EMAILS = int(os.environ.get("BENCH_PURGE_EMAILS", "100000"))
ALERT_POSTS = 3

ALERT_POST_MS = 300
DIGEST_SECONDS = 10
OUTBOX_PER_SECOND = 1_000
PURGE_PEAK_MB = 150

EVERY_SLUG = "county-bench-every"
DIGEST_SLUG = "county-bench-digest"
COORDINATOR = "coordinator@jobs.bench"
BASE_DIR = Path(__file__).resolve().parent.parent


def _clean() -> None:
    from django.db import connection

    from dorset_bcp.event_log import event_erasure
    from engagement.models import Business, User
    from resources.models import WatchScheme

    # The benchmark's own schemes take their events with them, through the audited exception.
    with event_erasure(reason="benchmark reset of its own Watch schemes"):
        WatchScheme.objects.filter(slug__in=[EVERY_SLUG, DIGEST_SLUG]).delete()
        Business.objects.filter(name__startswith="Jobs bench ").delete()
        User.objects.filter(email__endswith="@jobs.bench").delete()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE engagement_outboundemail CASCADE")


def _members() -> None:
    """MEMBERS businesses and contacts, approved in both schemes; the coordinator of both."""
    from django.db import connection
    from django.utils import timezone

    from engagement.models import NPTArea, User
    from resources.models import WatchScheme

    coordinator = User.objects.create_user(email=COORDINATOR, full_name="Jo Coordinator")
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM engagement_user")
        user_base = cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(max(id), 0) FROM engagement_business")
        business_base = cursor.fetchone()[0]
        areas = list(NPTArea.objects.values_list("pk", flat=True))
        params = {
            "n": MEMBERS,
            "users": user_base,
            "businesses": business_base,
            "areas": areas,
            "now": now,
        }
        cursor.execute(
            """
            INSERT INTO engagement_user (id, password, is_superuser, email, full_name, phone,
                is_staff, is_active, date_joined, session_version)
            SELECT %(users)s + n, '!', false, 'member' || n || '@jobs.bench', 'Member ' || n,
                '', false, true, %(now)s, 0
            FROM generate_series(1, %(n)s) AS n
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO engagement_business (id, name, sector, size_band, address_line1,
                address_line2, town, postcode, npt_area_id, is_rural, bid_member, created_at)
            SELECT %(businesses)s + n, 'Jobs bench ' || n, 'retail', 'micro', n || ' High Street',
                '', 'Poole', 'BH15 1AA',
                (%(areas)s::bigint[])[1 + n %% cardinality(%(areas)s::bigint[])], false, false,
                %(now)s
            FROM generate_series(1, %(n)s) AS n
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO engagement_businessmembership (user_id, business_id, role, created_at)
            SELECT %(users)s + n, %(businesses)s + n, 'owner', %(now)s
            FROM generate_series(1, %(n)s) AS n
            """,
            params,
        )
        for slug, preference in ((EVERY_SLUG, "every"), (DIGEST_SLUG, "digest")):
            scheme = WatchScheme.objects.create(
                name=f"County bench {preference}", slug=slug, summary="Benchmark scheme."
            )
            scheme.coordinators.add(coordinator)
            cursor.execute(
                """
                INSERT INTO resources_schememembership (scheme_id, business_id, contact_id,
                    status, alert_preference, application_note, applied_at, decided_at,
                    decided_by_id, decision_reason, left_at)
                SELECT %(scheme)s, %(businesses)s + n, %(users)s + n, 'approved',
                    %(preference)s, '', %(now)s - interval '1 day', %(now)s - interval '1 day',
                    NULL, '', NULL
                FROM generate_series(1, %(n)s) AS n
                """,
                {**params, "scheme": scheme.pk, "preference": preference},
            )
        cursor.execute("ANALYZE engagement_user, engagement_business, resources_schememembership")


def alert_post_row(row):
    """POST an alert to a scheme whose 5,000 members want every alert, ALERT_POSTS times."""
    from engagement.models import User

    from .pages import client_for

    coordinator = User.objects.get(email=COORDINATOR)
    client = client_for(coordinator.email)
    url = f"/watch-schemes/{EVERY_SLUG}/manage/alerts/"
    timings, statuses = [], set()
    for number in range(ALERT_POSTS):
        data = {
            "title": f"Distraction thefts on the High Street ({number + 1})",
            "body": "Two people working together: one distracts staff at the till.",
            "urgency": "routine",
            "expires_at": "",
            "submission_key": str(uuid.uuid4()),
        }
        started = time.perf_counter()
        response = client.post(url, data)
        timings.append((time.perf_counter() - started) * 1000)
        statuses.add(response.status_code)
    ok = statuses == {302}
    return row(
        name=f"alert POST to {MEMBERS:,} members ({ALERT_POSTS} posts)",
        measured=f"p50 {statistics.median(timings):7,.0f} ms  max {max(timings):7,.0f} ms",
        target=f"max <= {ALERT_POST_MS} ms",
        met=ok and max(timings) <= ALERT_POST_MS,
        note="" if ok else f"HTTP {sorted(statuses)}",
    )


def digest_row(row):
    from engagement.models import User
    from resources import services, tasks
    from resources.models import WatchScheme

    scheme = WatchScheme.objects.get(slug=DIGEST_SLUG)
    services.alert_post(
        scheme=scheme,
        actor=User.objects.get(email=COORDINATOR),
        title="Card fraud in Poole",
        body="Cards cloned at a fuel station; check your terminals.",
    )
    started = time.perf_counter()
    sent = tasks.send_alert_digests()
    seconds = time.perf_counter() - started
    return row(
        name=f"weekly digest to {MEMBERS:,} members",
        measured=f"{seconds:7.1f} s",
        target=f"<= {DIGEST_SECONDS} s",
        met=seconds <= DIGEST_SECONDS and sent >= MEMBERS,
        note=f"{sent:,} digests queued",
    )


def _insert_emails(count: int, *, sent: bool) -> None:
    """Emails of a realistic size (a text and an HTML body), due now or sent long ago."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE engagement_outboundemail CASCADE")
        cursor.execute(
            """
            INSERT INTO engagement_outboundemail ("to", subject, body_text, body_html,
                contains_secret, created_at, sent_at, attempts, next_attempt_at,
                attempt_started_at, failed_at, message_id, claim_token, last_error)
            SELECT 'person' || n || '@example.org', 'Watch scheme alert: distraction thefts',
                repeat('Two people working together distract staff at the till. ', 25),
                '<p>' || repeat('Two people working together distract staff at the till. ',
                    50) || '</p>',
                false, %(created)s, %(sent)s, %(attempts)s, %(created)s, NULL, NULL,
                CASE WHEN %(attempts)s > 0 THEN '<' || n || '@jobs.bench>' ELSE '' END, '', ''
            FROM generate_series(1, %(count)s) AS n
            """,
            {
                "count": count,
                "created": now - timezone.timedelta(days=400 if sent else 0, minutes=1),
                "sent": now - timezone.timedelta(days=400) if sent else None,
                "attempts": 1 if sent else 0,
            },
        )
        cursor.execute("ANALYZE engagement_outboundemail")


def outbox_row(row):
    from django.test import override_settings

    from engagement import tasks
    from engagement.models import OutboundEmail

    from .fanout import SinkProcess

    _insert_emails(OUTBOX_EMAILS, sent=False)
    # The relay runs in a process of its own, as a real one does: in this process its thread
    # would take turns with the sender for the interpreter lock. What it received is counted
    # (and parsed) after the clock stops.
    with (
        SinkProcess() as sink,
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=sink.port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
        ),
    ):
        unsent = OutboundEmail.objects.filter(sent_at__isnull=True)
        started = time.perf_counter()
        deadline = started + max(300, OUTBOX_EMAILS / 20)
        while unsent.exists() and time.perf_counter() < deadline:
            if not tasks.deliver_pending_emails():
                break
        seconds = time.perf_counter() - started
        received, duplicated = sink.counts()
    rate = received / seconds if seconds else 0.0
    return row(
        name=f"outbox draining {OUTBOX_EMAILS:,} emails to an SMTP sink",
        measured=f"{rate:7,.0f} emails/s",
        target=f">= {OUTBOX_PER_SECOND:,} emails/s",
        met=rate >= OUTBOX_PER_SECOND and received == OUTBOX_EMAILS and not duplicated,
        note=f"{received:,} received in {seconds:.1f} s, {duplicated} duplicated",
    )


PURGE_SCRIPT = """
import resource, sys
sys.path.insert(0, {base!r})
from benchmarks import county
county.setup_django({url!r})
from engagement import tasks
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
deleted = tasks.purge_sent_emails()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(deleted, before, after)
"""


def purge_row(row):
    from django.db import connection

    _insert_emails(PURGE_EMAILS, sent=True)
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    url = f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    script = PURGE_SCRIPT.format(base=str(BASE_DIR), url=url)
    connection.close()
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - this interpreter and a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=BASE_DIR
    )
    seconds = time.perf_counter() - started
    try:
        deleted, before, after = (int(part) for part in result.stdout.split()[-3:])
    except ValueError:
        return row(
            name=f"purge of {PURGE_EMAILS:,} sent emails",
            measured="failed",
            target=f"peak <= {PURGE_PEAK_MB} MB",
            met=False,
            note=(result.stderr.strip().splitlines() or ["no output"])[-1][:80],
        )
    # ru_maxrss is in KiB on Linux. The target is the purge's own peak, above what the process
    # held once Django and the apps were loaded (100-160 MB here, whatever the purge does).
    growth_mb = (after - before) / 1024
    return row(
        name=f"purge of {PURGE_EMAILS:,} sent emails, peak memory",
        measured=f"{growth_mb:7,.0f} MB above start",
        target=f"<= {PURGE_PEAK_MB} MB",
        met=growth_mb <= PURGE_PEAK_MB and deleted == PURGE_EMAILS,
        note=(
            f"process peak {after / 1024:,.0f} MB, {before / 1024:,.0f} MB before the purge; "
            f"{deleted:,} deleted in {seconds:.1f} s"
        ),
    )


def job_rows(row):
    """Measure each job, on rows made for it and removed afterwards; a failure is a row."""
    _clean()
    try:
        _members()
        for measure in (alert_post_row, digest_row, outbox_row, purge_row):
            try:
                yield measure(row)
            except Exception as exc:  # noqa: BLE001 - the table reports it and goes on
                yield row(
                    name=measure.__name__.replace("_row", ""),
                    measured="failed",
                    target="",
                    met=False,
                    note=f"{type(exc).__name__}: {exc}"[:100],
                )
    finally:
        _clean()
