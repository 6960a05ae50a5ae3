"""The fan-out jobs at county scale: a Watch scheme alert, the weekly digest, the outbox, the purge.

`python -m benchmarks.fanout` uses a benchmark database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/dorset_bcp_bench_fanout, created if missing; it empties the
Watch scheme, alert and outbox tables, so it refuses a database whose name lacks "bench"), or
with BENCH_DATABASE=sqlite a fresh SQLite file in a temporary folder. It seeds two schemes of
BENCH_MEMBERS members (default 5,000), one wanting every alert and one the weekly digest, and
times, through the same code the portal runs:

1. posting an alert through the coordinator's form (the Django test client, the whole
   middleware stack): p50 and p95 of thirty posts, and the queries of one;
2. the send task writing the alert's deliveries and emails (alert_send_immediate);
3. the outbox sending those emails to a local SMTP sink in its own process (email_deliver_many,
   what the deliver task runs), counting duplicates; then the same emails again from two
   processes at once, as a worker with --concurrency=2 runs the tasks of one alert;
4. the weekly digest to BENCH_MEMBERS members, its statements, and a second run sending nothing;
5. the purge of BENCH_PURGE (default 100,000) sent emails, in a subprocess whose peak resident
   memory is read from getrusage.

BENCH_JOBS picks some of them by name (post, send, outbox, digest, purge; comma-separated,
default all): BENCH_JOBS=outbox seeds, queues one alert's emails and times only the drains.

`job_rows()` returns the rows (label, figure, target, verdict) for a caller that prints its own
table; run as a module it prints them, each ending `met` or `missed`.
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dorset_bcp_bench_fanout"
MEMBERS = int(os.environ.get("BENCH_MEMBERS", "5000"))
PURGE_ROWS = int(os.environ.get("BENCH_PURGE", "100000"))
JOBS = os.environ.get("BENCH_JOBS", "post,send,outbox,digest,purge").split(",")

POST_TARGET_MS = 300
DIGEST_TARGET_S = 10
DRAIN_TARGET_PER_S = 1000
PURGE_TARGET_MB = 150

SINK = """
import sys
sys.path.insert(0, {base!r})
from tests.faults.smtp_sink import SmtpSink
sink = SmtpSink().start()
print(sink.port, flush=True)
sys.stdin.readline()
counts = sink.count_by_message_id()
print(len(sink.messages), sum(n - 1 for n in counts.values()), flush=True)
"""

# Peak resident memory from /proc (VmHWM): getrusage's ru_maxrss would carry over the peak of
# the process that started this one, which Linux keeps across exec.
PURGE = """
import os, sys, time
sys.path.insert(0, {base!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dorset_bcp.settings")
import django
django.setup()
from engagement.emails import email_purge_sent
from engagement.models import OutboundEmail

def peak_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

OutboundEmail.objects.exists()  # connected, as a worker is
before = peak_mb()
started = time.perf_counter()
deleted = email_purge_sent()
took = time.perf_counter() - started
print(deleted, took, before, peak_mb(), OutboundEmail.objects.count(), flush=True)
"""


# One sender of several: set up, say so, wait for the word, send its share, say how it went.
SENDER = """
import json, os, sys, time
sys.path.insert(0, {base!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dorset_bcp.settings")
import django
django.setup()
from django.conf import settings
settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", {port}, False
settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
from engagement.emails import email_deliver_many
from engagement.models import OutboundEmail
ids = json.loads(sys.stdin.readline())
OutboundEmail.objects.exists()
print("ready", flush=True)
sys.stdin.readline()
started = time.perf_counter()
sent = email_deliver_many(email_ids=ids)
print(sent, time.perf_counter() - started, flush=True)
"""


def say(line: str = "") -> None:
    print(line, flush=True)


def verdict(met: bool) -> str:
    return "met" if met else "missed"


# The database


def database_url(tmp: str) -> str:
    if os.environ.get("BENCH_DATABASE") == "sqlite":
        return f"sqlite:///{tmp}/bench.sqlite3"
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    name = urlparse(url).path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"The benchmark empties tables in its database; name one *bench*, not {name!r}.")
    return url


def create_database_if_missing(url: str) -> None:
    if not url.startswith("postgres"):
        return
    from benchmarks.run import create_database_if_missing as create

    create(url)


def setup_django(url: str, tmp: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_VAR_DIR"] = tmp
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dorset_bcp.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    from django.conf import settings

    from dorset_bcp.celery import app

    # Tasks published after commit stay in this process; each job is run here, in turn.
    app.conf.update(broker_url="memory://", broker_transport_options={})
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def empty_tables() -> None:
    from dorset_bcp.event_log import event_erasure
    from engagement.models import OutboundEmail
    from resources.models import (
        Alert,
        AlertDelivery,
        CommunityEvent,
        SchemeMembership,
        WatchScheme,
    )

    coordinators = WatchScheme.coordinators.through
    # The benchmark's own rows: its events go too, through the audited exception.
    with event_erasure(reason="benchmark reset of Watch scheme tables"):
        for model in (
            CommunityEvent,
            AlertDelivery,
            Alert,
            SchemeMembership,
            coordinators,
            WatchScheme,
        ):
            model.objects.all()._raw_delete(model.objects.db)
    OutboundEmail.objects.all()._raw_delete(OutboundEmail.objects.db)


def seed(members: int):
    """Two schemes of `members` businesses each, every one with its own contact."""
    from django.utils import timezone

    from engagement.models import Business, BusinessMembership, NPTArea, User
    from resources.models import SchemeMembership, WatchScheme

    area, _ = NPTArea.objects.get_or_create(slug="bench-fanout", defaults={"name": "Bench"})
    coordinator, _ = User.objects.get_or_create(
        email="coordinator@fanout.bench.test", defaults={"full_name": "Cora Coordinator"}
    )
    joined = timezone.now() - timezone.timedelta(days=60)
    schemes = {}
    for preference in ("every", "digest"):
        scheme = WatchScheme.objects.create(
            name=f"Bench {preference} watch", slug=f"bench-{preference}", summary="Bench"
        )
        scheme.coordinators.add(coordinator)
        batch = uuid.uuid4().hex[:8]
        users = User.objects.bulk_create(
            [
                User(email=f"m{i}-{batch}@fanout.bench.test", full_name=f"Member {i}")
                for i in range(members)
            ]
        )
        businesses = Business.objects.bulk_create(
            [
                Business(
                    name=f"Shop {i} & Sons",
                    sector="retail",
                    size_band="micro",
                    address_line1="1 High Street",
                    town="Poole",
                    postcode="BH15 1AA",
                    npt_area=area,
                )
                for i in range(members)
            ]
        )
        BusinessMembership.objects.bulk_create(
            [BusinessMembership(user=u, business=b) for u, b in zip(users, businesses, strict=True)]
        )
        SchemeMembership.objects.bulk_create(
            [
                SchemeMembership(
                    scheme=scheme,
                    business=b,
                    contact=u,
                    status="approved",
                    alert_preference=preference,
                    applied_at=joined,
                    decided_at=joined,
                )
                for u, b in zip(users, businesses, strict=True)
            ]
        )
        schemes[preference] = scheme
    return coordinator, schemes


class Statements:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def counted(function):
    from django.db import connection

    log = Statements()
    started, cpu = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(log):
        result = function()
    counted.cpu = time.process_time() - cpu  # this process's share, beside the wall time
    return result, time.perf_counter() - started, log.count


class SinkProcess:
    """The test suite's SMTP sink, in a process of its own as a relay would be."""

    def __enter__(self):
        self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list
            [sys.executable, "-c", SINK.format(base=str(BASE_DIR))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self.process.stdout.readline())
        return self

    def counts(self) -> tuple[int, int]:
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        received, duplicated = self.process.stdout.readline().split()
        return int(received), int(duplicated)

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()


def use_sink(port: int) -> None:
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""


# The jobs


def post_alerts(coordinator, scheme, posts=30):
    """The coordinator's form, through the whole stack: (p50 and slowest seconds, queries,
    deliveries written in the request)."""
    from django.test import Client
    from django.urls import reverse

    from resources.models import AlertDelivery
    from tests.factories import force_login_with_second_factor

    client = Client()
    # Signed in as after both sign-in steps, as a coordinator posting an alert is.
    force_login_with_second_factor(client, coordinator)
    url = reverse("resources:alert_new", args=[scheme.slug])
    # The manage page renders the same form: templates are loaded before the first post.
    client.get(reverse("resources:scheme_manage", args=[scheme.slug]))
    timings = []
    cpu = []
    queries = 0
    for n in range(posts):
        data = {
            "title": f"Bench alert {n}",
            "body": "Two men taking razor blades, around 4pm.",
            "urgency": "routine",
            "expires_at": "",
            "submission_key": str(uuid.uuid4()),
        }
        response, took, queries = counted(lambda data=data: client.post(url, data))
        assert response.status_code == 302, response.status_code
        timings.append(took)
        cpu.append(counted.cpu)
    p95 = statistics.quantiles(timings, n=20)[-1]
    post_alerts.cpu_p50 = statistics.median(cpu)
    return statistics.median(timings), p95, queries, AlertDelivery.objects.count()


def job_rows() -> list[tuple[str, str, str, str]]:
    """Run each job in JOBS once on freshly seeded data and return the rows (label, figure,
    target, verdict). Call it with Django set up on a benchmark database (setup_django): it
    empties the Watch scheme, alert and outbox tables first."""
    from resources import services

    rows = []
    empty_tables()
    coordinator, schemes = seed(MEMBERS)
    if "post" in JOBS:
        rows.append(post_row(coordinator, schemes["every"]))
    else:  # the alert the other jobs send
        services.alert_post(
            scheme=schemes["every"], actor=coordinator, title="Bench alert", body="Lock up."
        )
    if {"send", "outbox"} & set(JOBS):
        send = send_row()
        rows += [send] if "send" in JOBS else []
    if "outbox" in JOBS:
        rows += drain_rows()
    if "digest" in JOBS:
        rows.append(digest_row(coordinator, schemes["digest"]))
    if "purge" in JOBS:
        rows.append(purge_row())
    return rows


def post_row(coordinator, scheme):
    p50, p95, queries, in_request = post_alerts(coordinator, scheme)
    return (
        f"alert POST to {MEMBERS:,} members, p95 of 30 (p50 {p50 * 1000:.0f} ms, CPU "
        f"{post_alerts.cpu_p50 * 1000:.0f} ms; {queries} queries, {in_request} deliveries "
        "in the request)",
        f"{p95 * 1000:.0f} ms",
        f"<= {POST_TARGET_MS} ms",
        verdict(p95 * 1000 <= POST_TARGET_MS and in_request == 0),
    )


def send_row():
    from resources import services
    from resources.models import Alert

    alert = Alert.objects.order_by("pk").first()
    queued, took, statements = counted(lambda: services.alert_send_immediate(alert=alert))
    again = services.alert_send_immediate(alert=alert)
    return (
        f"alert task: {queued:,} deliveries and emails ({statements} statements, CPU "
        f"{counted.cpu:.2f} s; run again: {again} more)",
        f"{took:.2f} s",
        "in batches, none twice",
        verdict(queued == MEMBERS and again == 0),
    )


def drain_rows():
    from engagement import emails
    from engagement.models import OutboundEmail

    rows = []
    ids = list(OutboundEmail.objects.order_by("pk").values_list("pk", flat=True))
    with SinkProcess() as sink:
        use_sink(sink.port)
        cpu = time.process_time()
        sent, took, statements = counted(lambda: emails.email_deliver_many(email_ids=ids))
        cpu = time.process_time() - cpu
        received, duplicated = sink.counts()
    rate = sent / took
    rows.append(
        (
            f"outbox drain, {sent:,} emails to an SMTP sink in its own process, one sender "
            f"({statements} statements; {sent / cpu:,.0f} per CPU-second; "
            f"{received:,} received, {duplicated} twice)",
            f"{rate:,.0f} emails/s",
            f">= {DRAIN_TARGET_PER_S:,}/s",
            verdict(rate >= DRAIN_TARGET_PER_S and duplicated == 0 and received == len(ids)),
        )
    )

    sent, took, received, duplicated = drain_with_senders(ids, senders=2)
    rate = sent / took
    rows.append(
        (
            f"outbox drain, the same {sent:,} emails again, two senders as a worker with "
            f"--concurrency=2 runs the deliver tasks ({received:,} received, {duplicated} twice)",
            f"{rate:,.0f} emails/s",
            f">= {DRAIN_TARGET_PER_S:,}/s",
            verdict(rate >= DRAIN_TARGET_PER_S and duplicated == 0 and received == len(ids)),
        )
    )
    return rows


def digest_row(coordinator, scheme):
    from resources import services

    services.alert_post(scheme=scheme, actor=coordinator, title="Counterfeit notes", body="Check.")
    services.alert_post(scheme=scheme, actor=coordinator, title="Van thefts", body="Lock up.")
    digests, took, statements = counted(lambda: services.alert_digest_send())
    cpu = counted.cpu
    again = services.alert_digest_send()
    return (
        f"weekly digest to {digests:,} members ({statements} statements, CPU {cpu:.2f} s; "
        f"run again: {again} more)",
        f"{took:.2f} s",
        f"<= {DIGEST_TARGET_S} s",
        verdict(took <= DIGEST_TARGET_S and digests == MEMBERS and again == 0),
    )


def purge_row():
    empty_tables()
    seed_sent_emails(PURGE_ROWS)
    deleted, took, before_mb, peak_mb, left = purge_in_subprocess()
    return (
        f"purge of {deleted:,} sent emails (peak RSS of the process; {before_mb:.0f} MB "
        f"before; {left:,} unsent left)",
        f"{peak_mb:.0f} MB, {took:.1f} s",
        f"<= {PURGE_TARGET_MB} MB",
        verdict(peak_mb <= PURGE_TARGET_MB and deleted == PURGE_ROWS and left == 10),
    )


def drain_with_senders(ids: list[int], *, senders: int):
    """Make the emails unsent again (with new Message-IDs) and send them from `senders`
    processes at once, each its share of the deliver tasks; (sent, seconds, received, twice)."""
    import json

    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat
    from django.utils import timezone

    from engagement.models import OutboundEmail

    OutboundEmail.objects.filter(pk__in=ids).update(
        sent_at=None,
        attempts=0,
        next_attempt_at=timezone.now(),
        message_id=Concat(Value("<again-"), Cast("pk", CharField()), Value("@bench>")),
    )
    shares = [ids[n::senders] for n in range(senders)]
    with SinkProcess() as sink:
        processes = [
            subprocess.Popen(  # noqa: S603 - a fixed argument list
                [sys.executable, "-c", SENDER.format(base=str(BASE_DIR), port=sink.port)],
                cwd=BASE_DIR,
                env=os.environ,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in shares
        ]
        for process, share in zip(processes, shares, strict=True):
            process.stdin.write(json.dumps(share) + "\n")
            process.stdin.flush()
        for process in processes:
            assert process.stdout.readline().strip() == "ready"
        started = time.perf_counter()
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        results = [process.stdout.readline().split() for process in processes]
        took = time.perf_counter() - started
        for process in processes:
            process.wait()
        received, duplicated = sink.counts()
    return sum(int(sent) for sent, _ in results), took, received, duplicated


def seed_sent_emails(rows: int) -> None:
    """`rows` emails sent 40 days ago, each with realistic bodies, and 10 still to send."""
    from django.utils import timezone

    from engagement.models import OutboundEmail

    body = "A sent email's body, as long as an alert's. " * 40
    sent_at = timezone.now() - timezone.timedelta(days=40)
    for start in range(0, rows, 10_000):
        OutboundEmail.objects.bulk_create(
            [
                OutboundEmail(
                    to=f"p{i}@example.org",
                    subject="Bench",
                    body_text=body,
                    body_html=f"<p>{body}</p>",
                    sent_at=sent_at,
                    created_at=sent_at,
                    message_id=f"<{i}@bench>",
                )
                for i in range(start, min(rows, start + 10_000))
            ]
        )
    OutboundEmail.objects.bulk_create(
        [OutboundEmail(to=f"u{i}@example.org", subject="Unsent", body_text="x") for i in range(10)]
    )


def purge_in_subprocess():
    result = subprocess.run(  # noqa: S603 - a fixed argument list
        [sys.executable, "-c", PURGE.format(base=str(BASE_DIR))],
        cwd=BASE_DIR,
        env=os.environ,
        capture_output=True,
        text=True,
        check=True,
    )
    deleted, took, before, peak, left = result.stdout.split()
    return int(deleted), float(took), float(before), float(peak), int(left)


def print_rows(rows) -> None:
    width = max(len(label) for label, *_ in rows)
    for label, figure, target, outcome in rows:
        say(f"{label:<{width}}  {figure:>16}  target {target:<24} {outcome}")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        url = database_url(tmp)
        create_database_if_missing(url)
        setup_django(url, tmp)
        from django.db import connection

        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        say(
            f"Fan-out jobs on {connection.vendor}, {MEMBERS:,} members, {PURGE_ROWS:,} to purge "
            f"(load average {load} on {os.cpu_count()} cores)"
        )
        rows = job_rows()
        print_rows(rows)
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        say(f"(this process peaked at {maxrss:.0f} MB)")
    return 0 if all(row[-1] == "met" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
