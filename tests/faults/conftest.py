"""Fixtures for the fault scenarios: a Redis of the test's own, and a local SMTP relay.

Each Redis is started by the fixture on its own free port on 127.0.0.1 and stopped by it, so
a test may freeze (SIGSTOP) or kill it without touching anyone else's server.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
from django.conf import settings as django_settings
from kombu import pools

from dorset_bcp.celery import app as celery_app
from engagement import emails
from tests.conftest import skip_or_fail
from tests.faults.smtp_sink import SmtpSink


def _free_port(start: int = 6390) -> int:
    for port in range(start, start + 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for a test Redis")


class RedisServer:
    def __init__(self, tmp_path):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tmp_path
        self.process = None

    def start(self):
        self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list, no shell
            [
                shutil.which("redis-server"),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self._dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the test Redis did not start")

    def freeze(self):
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.thaw()
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    if not shutil.which("redis-server"):
        skip_or_fail("needs redis-server on the PATH: apt-get install redis-server")
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def _reset_publisher():
    # Celery caches its connection and producer pools; a test that changes the broker must
    # drop them so the next publish connects to the new one.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    pools.reset()


@pytest.fixture
def celery_on_redis(redis_server):
    """Publish to the test's own Redis with the production transport options."""
    saved = celery_app.conf.broker_url, celery_app.conf.broker_transport_options
    _reset_publisher()
    emails._broker_failed_at = None
    celery_app.conf.broker_url = redis_server.url
    celery_app.conf.broker_transport_options = dict(django_settings.REDIS_BROKER_TRANSPORT_OPTIONS)
    yield redis_server
    redis_server.thaw()
    _reset_publisher()
    emails._broker_failed_at = None
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved


@pytest.fixture
def smtp_sink(settings):
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.stop()
