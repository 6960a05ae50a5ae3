"""A real worker and a real beat on Redis, against the test database, end to end.

Beat (with a two-second schedule, beat_settings.py) publishes the sweep to Redis; the worker
runs it against the test database (committed data: transactional_db) and then sends the
notification email the sweep queued. Nothing here runs in-process or eagerly.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from engagement.models import Concern, ConcernEvent, OutboundEmail

from .conftest import make_overdue

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.usefixtures("transactional_db"),
]

ROOT = Path(__file__).resolve().parents[2]
PATIENCE = 90  # seconds: worker start-up, beat's first tick, the sweep, the email


def database_url_of_the_test_database() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


def start(args, env, log):
    return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "celery", "-A", "dorset_bcp", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def test_beat_and_a_worker_escalate_and_notify_through_redis(
    chain, concern, group_member, tmp_path
):
    make_overdue(concern)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.escalation.beat_settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": database_url_of_the_test_database(),
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": os.environ["REDIS_URL"],
        "DJANGO_VAR_DIR": str(tmp_path),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    worker_log = (tmp_path / "worker.log").open("w")
    beat_log = (tmp_path / "beat.log").open("w")
    worker = start(
        ["worker", "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle"],
        env,
        worker_log,
    )
    beat = start(
        [
            "beat",
            "--loglevel=INFO",
            f"--schedule={tmp_path / 'beat-schedule'}",
            f"--pidfile={tmp_path / 'beat.pid'}",
        ],
        env,
        beat_log,
    )
    try:
        deadline = time.monotonic() + PATIENCE
        sent = None
        while time.monotonic() < deadline:
            sent = OutboundEmail.objects.filter(
                to=group_member.email, sent_at__isnull=False
            ).first()
            if sent is not None:
                break
            assert worker.poll() is None, "the worker died"
            assert beat.poll() is None, "beat died"
            time.sleep(0.5)
        else:
            pytest.fail("No notification was sent within the time allowed.")
    except BaseException:
        worker_log.flush()
        beat_log.flush()
        print("worker:\n" + (tmp_path / "worker.log").read_text()[-5000:])
        print("beat:\n" + (tmp_path / "beat.log").read_text()[-3000:])
        raise
    finally:
        stop(beat)
        stop(worker)
        worker_log.close()
        beat_log.close()

    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.GROUP
    assert concern.events.filter(kind=ConcernEvent.Kind.ESCALATED).count() == 1
    assert concern.reference in sent.body_text
    # Beat kept publishing every two seconds; later runs found nothing more to do.
    assert OutboundEmail.objects.filter(to=group_member.email).count() == 1
