"""The county page table: each page's p50/p95 through the whole WSGI stack, beside its target.

Run by benchmarks/county.py once the data is there. Every request goes through Django's test
client: the real handler, every middleware, sessions, CSRF, the cached template loader, with
DEBUG off. Each row is warmed up first, then timed over BENCH_REQUESTS (default 30) sequential
requests, and ends with `met` or `missed`. Targets are issue 13's, on the 2-core machine at
1,000,000 concerns; they are printed at every size so growth shows.
"""

import datetime as dt
import os
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))
WARM_UP = int(os.environ.get("BENCH_WARM_UP", "3"))
# Requests per round of the form-versus-bare-view comparison (five rounds, interleaved).
THROUGHPUT_REQUESTS = int(os.environ.get("BENCH_THROUGHPUT_REQUESTS", "40"))

CHANGELIST_P95_MS = 150
ADMIN_CHANGE_P95_MS = 100
QUEUE_P95_MS = 150
INSIGHT_P95_MS = 250
CSV_P95_MS = 500
MY_P95_MS = 100
FORM_RATIO = 0.25

CHANGELIST = "/admin/engagement/concern/"
QUEUE = "/partnership/"
INSIGHT = "/partnership/insight/"
# The insight page's period and area choice, as plain GET parameters (issue 13, point 8). A
# page that does not take them yet answers with its default: the row then times that.
INSIGHT_PERIOD = {"start": "2024-01-01", "end": "2024-12-31"}
# The longest period there is: every day of the five years seeded, edge days and all.
_TODAY = dt.date.today()
INSIGHT_ALL_YEARS = {
    "start": (_TODAY - dt.timedelta(days=5 * 365 - 1)).isoformat(),
    "end": (_TODAY - dt.timedelta(days=1)).isoformat(),
}


def say(line: str = "") -> None:
    print(line, flush=True)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: of 30 timings, p95 is the 29th smallest."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


@dataclass
class Row:
    name: str
    measured: str
    target: str
    met: bool
    note: str = ""

    def line(self) -> str:
        verdict = "met" if self.met else "missed"
        note = f"  ({self.note})" if self.note else ""
        return f"{self.name:<46} {self.measured:<30} {self.target:<20}{note}  {verdict}"


@dataclass
class Timing:
    milliseconds: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Counter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def fetch(client, url: str, timing: Timing | None = None) -> None:
    from django.db import connection

    counter = Counter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        elapsed = (time.perf_counter() - started) * 1000
    if timing is None:
        return
    timing.milliseconds.append(elapsed)
    timing.queries.append(counter.count)
    timing.sizes.append(len(body))
    if response.status_code != 200:
        timing.failures.append(f"HTTP {response.status_code}")


def time_urls(client, urls: list[str], requests: int | None = None) -> Timing:
    """Warm up on each URL, then `requests` sequential GETs cycling through the URLs."""
    requests = requests or REQUESTS
    for url in urls:
        for _ in range(WARM_UP):
            fetch(client, url)
    timing = Timing()
    for index in range(requests):
        fetch(client, urls[index % len(urls)], timing)
    return timing


def latency_row(name: str, timing: Timing, target_ms: float) -> Row:
    p50 = statistics.median(timing.milliseconds)
    p95 = percentile(timing.milliseconds, 0.95)
    queries = max(timing.queries)
    size = max(timing.sizes) / 1024
    note = f"{queries} queries, {size:,.0f} KB"
    if timing.failures:
        note += f", {len(timing.failures)} failed: {timing.failures[0]}"
    return Row(
        name=name,
        measured=f"p50 {p50:7,.0f} ms  p95 {p95:7,.0f} ms",
        target=f"p95 <= {target_ms:,.0f} ms",
        met=p95 <= target_ms and not timing.failures,
        note=note,
    )


def throughput_row(name: str, client, url: str, bare_url: str) -> Row:
    """Requests per second of `url` and of the bare view from the same client (so through the
    same middleware, session and all), one process; five interleaved rounds, the best of each
    compared, so a burst of load from elsewhere on the machine does not decide the ratio."""
    for _ in range(WARM_UP * 3):
        fetch(client, url)
        fetch(client, bare_url)
    rates = {url: [], bare_url: []}
    failures = []
    for _ in range(5):
        for target in (url, bare_url):
            timing = Timing()
            started = time.perf_counter()
            for _ in range(THROUGHPUT_REQUESTS):
                fetch(client, target, timing)
            rates[target].append(THROUGHPUT_REQUESTS / (time.perf_counter() - started))
            failures += timing.failures
    page_rate, bare_rate = max(rates[url]), max(rates[bare_url])
    ratio = page_rate / bare_rate
    note = f"best rounds {page_rate:,.0f} vs {bare_rate:,.0f} req/s"
    if failures:
        note += f", {len(failures)} failed: {failures[0]}"
    return Row(
        name=name,
        measured=f"{ratio:.2f}x the bare view",
        target=f">= {FORM_RATIO}x",
        met=ratio >= FORM_RATIO and not failures,
        note=note,
    )


@dataclass
class Fixtures:
    """Real values from the seeded data for the searches and the pages that take an id."""

    business_name: str
    reference: str
    postcode: str
    word: str
    concern_id: int
    area_id: int


def fixtures() -> Fixtures:
    from django.db import connection

    with connection.cursor() as cursor:
        # A concern in the officer's NPTs from the middle of the five years, with an update.
        cursor.execute(
            """
            WITH candidates AS (
                SELECT c.id, c.reference, b.name, b.postcode, c.npt_area_id
                FROM engagement_concern c
                JOIN engagement_business b ON b.id = c.business_id
                WHERE c.npt_area_id IN (
                    SELECT o.area_id FROM engagement_nptofficer o
                    JOIN engagement_user u ON u.id = o.user_id WHERE u.email = %s
                ) AND EXISTS (SELECT 1 FROM engagement_concernupdate u WHERE u.concern_id = c.id)
            )
            SELECT * FROM candidates
            ORDER BY id
            -- A tiny county (the test's) may have fewer candidates than that: its last.
            OFFSET LEAST(
                (SELECT count(*) / 2 FROM engagement_concern) / 10,
                (SELECT count(*) FROM candidates) - 1
            ) LIMIT 1
            """,
            ["npt@demo.test"],
        )
        concern_id, reference, business_name, postcode, area_id = cursor.fetchone()
    return Fixtures(
        business_name=business_name,
        reference=reference,
        postcode=postcode,
        word="graffiti",
        concern_id=concern_id,
        area_id=area_id,
    )


def client_for(email: str | None):
    from django.test import Client

    from engagement.models import User
    from tests.factories import force_login_with_second_factor

    client = Client()
    if email:
        # Signed in as after both sign-in steps: the pages are timed as people use them.
        force_login_with_second_factor(client, User.objects.get(email=email))
    return client


def page_rows() -> list[tuple[str, callable]]:
    """Each row's name and how to measure it (so a row can be picked with BENCH_ROWS)."""
    from escalation import insight

    found = fixtures()
    officer = client_for("npt@demo.test")
    group = client_for("group@demo.test")
    partnership = client_for("partnership@demo.test")
    owner = client_for("owner@demo.test")
    guest = client_for(None)

    def changelist(**query):
        return f"{CHANGELIST}?{urlencode(query)}" if query else CHANGELIST

    def latency(name, client, urls, target):
        return name, lambda: latency_row(name, time_urls(client, urls), target)

    csv_urls = [f"{INSIGHT}{name}.csv" for name in insight.DATASETS]
    csv_requests = max(REQUESTS, -(-REQUESTS // len(csv_urls)) * len(csv_urls))
    return [
        latency("officer changelist", officer, [changelist()], CHANGELIST_P95_MS),
        latency(
            "changelist, search a business name",
            officer,
            [changelist(q=found.business_name)],
            CHANGELIST_P95_MS,
        ),
        latency(
            "changelist, search a reference",
            officer,
            [changelist(q=found.reference)],
            CHANGELIST_P95_MS,
        ),
        latency(
            "changelist, search a postcode",
            officer,
            [changelist(q=found.postcode)],
            CHANGELIST_P95_MS,
        ),
        latency(
            "changelist, search a word of the description",
            officer,
            [changelist(q=found.word)],
            CHANGELIST_P95_MS,
        ),
        latency(
            "changelist filtered status=new",
            officer,
            [changelist(status__exact="new")],
            CHANGELIST_P95_MS,
        ),
        latency(
            "admin change page of a concern",
            officer,
            [f"{CHANGELIST}{found.concern_id}/change/"],
            ADMIN_CHANGE_P95_MS,
        ),
        latency("partnership queue, group member", group, [QUEUE], QUEUE_P95_MS),
        latency("partnership queue, partnership member", partnership, [QUEUE], QUEUE_P95_MS),
        latency("insight page, group member", group, [INSIGHT], INSIGHT_P95_MS),
        latency("insight page, partnership member", partnership, [INSIGHT], INSIGHT_P95_MS),
        latency(
            "insight page, partnership, a year chosen",
            partnership,
            [f"{INSIGHT}?{urlencode(INSIGHT_PERIOD)}"],
            INSIGHT_P95_MS,
        ),
        latency(
            "insight page, partnership, five years chosen",
            partnership,
            [f"{INSIGHT}?{urlencode(INSIGHT_ALL_YEARS)}"],
            INSIGHT_P95_MS,
        ),
        latency(
            "insight page, partnership, one NPT area",
            partnership,
            [f"{INSIGHT}?{urlencode({'where': f'area-{found.area_id}'})}"],
            INSIGHT_P95_MS,
        ),
        (
            f"insight CSV exports ({len(csv_urls)}, in turn)",
            lambda: latency_row(
                f"insight CSV exports ({len(csv_urls)}, in turn)",
                time_urls(partnership, csv_urls, csv_requests),
                CSV_P95_MS,
            ),
        ),
        latency("/my/ for an owner with 1,000 concerns", owner, ["/my/"], MY_P95_MS),
        (
            "GET /report/new/ vs a bare view",
            lambda: throughput_row(
                "GET /report/new/ vs a bare view", owner, "/report/new/", "/bench/bare/"
            ),
        ),
        (
            "GET /report/guest/ vs a bare view",
            lambda: throughput_row(
                "GET /report/guest/ vs a bare view", guest, "/report/guest/", "/bench/bare/"
            ),
        ),
    ]


def run(total: int) -> int:
    """Print the page table for the seeded database; 0 if every target is met."""
    from django.conf import settings
    from django.db import connection
    from django.test import override_settings

    with override_settings(ROOT_URLCONF="benchmarks.urls"):
        return _run(total, settings, connection)


def _run(total, settings, connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM engagement_concernevent")
        events = cursor.fetchone()[0]
    say()
    say(
        f"County page table at {total:,} concerns ({events:,} events), PostgreSQL {version}, "
        f"{os.cpu_count()} CPU cores, DEBUG {settings.DEBUG}; {WARM_UP} warm-up requests, then "
        f"{REQUESTS} timed, sequential, through the test client. Targets are for 1,000,000."
    )
    wanted = [part.strip() for part in os.environ.get("BENCH_ROWS", "").split(",") if part.strip()]
    rows = []
    for name, measure in page_rows():
        if wanted and not any(part in name for part in wanted):
            continue
        row = measure()
        rows.append(row)
        say(row.line())
    if os.environ.get("BENCH_JOBS", "1") != "0" and (not wanted or "jobs" in wanted):
        from benchmarks import jobs

        for row in jobs.job_rows(Row):
            rows.append(row)
            say(row.line())
    missed = [row.name for row in rows if not row.met]
    say(f"Page targets: {len(rows) - len(missed)} met, {len(missed)} missed.")
    return 1 if missed else 0
