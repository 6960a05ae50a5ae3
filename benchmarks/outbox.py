"""How fast the zero-setup default drains the outbox: a real Celery worker, SQLite, files.

`python -m benchmarks.outbox` makes a fresh SQLite database and Celery folder in a temporary
directory, migrates it, queues BENCH_EMAILS emails (default 1,000) the way the portal does
(each in its transaction, a deliver task published after commit to kombu's filesystem
transport), then starts `celery worker --concurrency=2` (Procfile.dev's) against it with a
local SMTP sink (tests/faults/smtp_sink.py) as the relay and times how long the sink takes to
receive them. It prints emails per second, counted from the first message to the last, and
the duplicates (there must be none). Target: at least 50 emails/s.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from tests.faults.smtp_sink import SmtpSink  # noqa: E402

EMAILS = int(os.environ.get("BENCH_EMAILS", "1000"))
TARGET_PER_SECOND = 50
PYTHON = sys.executable

QUEUE = """
from django.db import transaction
from engagement.emails import email_queue
for i in range({n}):
    with transaction.atomic():
        email_queue(to=f"person{{i}}@example.org", template="outbox_summary",
                    context={{"failed": 1, "oldest_pending_hours": 1, "admin_url": "x"}})
"""


def main() -> None:
    sink = SmtpSink().start()
    with tempfile.TemporaryDirectory(prefix="outbox-bench-") as tmp:
        env = {
            **os.environ,
            "DJANGO_DEBUG": "1",
            "DJANGO_VAR_DIR": tmp,
            "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
            "REDIS_URL": "",
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(sink.port),
            "EMAIL_USE_TLS": "0",
        }

        def manage(*args):
            subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)  # noqa: S603

        manage("migrate", "--verbosity=0")
        started = time.monotonic()
        manage("shell", "-c", QUEUE.format(n=EMAILS))
        print(f"Queued {EMAILS} emails in {time.monotonic() - started:.1f} s.", flush=True)
        worker = subprocess.Popen(  # noqa: S603 - a fixed argument list
            [PYTHON, "-m", "celery", "-A", "dorset_bcp", "worker", "--concurrency=2",
             "--loglevel=" + os.environ.get("BENCH_LOGLEVEL", "WARNING"),
             "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=BASE_DIR,
            env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + max(120, EMAILS / 5)
            first = None
            while len(sink.messages) < EMAILS and time.monotonic() < deadline:
                if first is None and sink.messages:
                    first = time.monotonic()
                time.sleep(0.01)
            last = time.monotonic()
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    received = len(sink.messages)
    duplicated = sum(count - 1 for count in sink.count_by_message_id().values())
    took = last - (first or last)
    rate = (received - 1) / took if took else 0.0
    print(f"Received {received} of {EMAILS} emails, {duplicated} duplicated.")
    print(f"Drained {rate:.0f} emails/s (target {TARGET_PER_SECOND}).")
    sink.stop()
    if received < EMAILS or duplicated or rate < TARGET_PER_SECOND:
        sys.exit(1)


if __name__ == "__main__":
    main()
