"""A SIGTERM to a real worker's whole process group while it sends: no email lost or doubled.

systemd's default KillMode=control-group signals the main process and every pool process at
once; deploy/systemd uses KillMode=mixed, but the worker must survive the default too. The
worker runs as a subprocess (with its embedded beat, as a small server runs it) against the
test's own Redis and the test database on PostgreSQL, sending to the local SMTP sink.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from engagement.models import OutboundEmail
from tests.faults.test_email_delivery import queue

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
EMAILS = 40


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(redis_url, sink, var_dir, log):
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "DJANGO_VAR_DIR": str(var_dir),
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_USE_TLS": "0",
    }
    return subprocess.Popen(  # noqa: S603 - a fixed argument list
        [sys.executable, "-m", "celery", "-A", "dorset_bcp", "worker", "--beat",
         "--concurrency=2", "--loglevel=INFO", "--without-gossip", "--without-mingle",
         f"--schedule={var_dir}/celerybeat-schedule"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a systemd unit's cgroup
    )  # fmt: skip


def wait_for(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_sigterm_to_the_workers_process_group_sends_each_email_exactly_once(
    celery_on_redis, smtp_sink, tmp_path
):
    smtp_sink.confirm_delay = 0.1  # a relay taking its time: the batch is in flight for 4 s
    rows = queue(EMAILS)  # each publishes its deliver task to the test's Redis after commit
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = start_worker(celery_on_redis.url, smtp_sink, tmp_path, log)
        try:
            assert wait_for(lambda: len(smtp_sink.messages) >= 5, 60), log_path.read_text()
            os.killpg(worker.pid, signal.SIGTERM)  # every process in the group, at once
            worker.wait(timeout=60)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
        at_shutdown = len(smtp_sink.messages)
        assert set(smtp_sink.count_by_message_id().values()) == {1}
        unsent_at_shutdown = OutboundEmail.objects.filter(sent_at__isnull=True).count()
        # Nothing was left claimed with an unknown outcome (that would wait half an hour).
        held = OutboundEmail.objects.filter(sent_at__isnull=True, attempt_started_at__isnull=False)
        assert not held.exists(), log_path.read_text()[-3000:]

        worker = start_worker(celery_on_redis.url, smtp_sink, tmp_path, log)
        try:
            delivered = wait_for(lambda: len(smtp_sink.messages) >= EMAILS, 90)
            time.sleep(1)  # anything doubled would arrive now
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)
    print(
        f"SIGTERM to the group after {at_shutdown} of {EMAILS} emails; {unsent_at_shutdown} "
        f"handed back; {len(smtp_sink.messages)} received after the restart"
    )
    assert delivered, log_path.read_text()[-3000:]
    by_id = smtp_sink.count_by_message_id()
    assert sorted(by_id) == sorted(OutboundEmail.objects.get(pk=r.pk).message_id for r in rows)
    assert set(by_id.values()) == {1}, "an email reached the relay twice"
    assert not OutboundEmail.objects.filter(sent_at__isnull=True).exists(), "an email was lost"
    assert 0 < at_shutdown < EMAILS
