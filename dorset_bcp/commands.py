"""The base of every management command: a lost database or broker is one line, not a trace.

Commands run from cron, systemd timers and people's shells. A dropped connection is retried
once (every command here is safe to run again: each works from the database and claims what it
changes); if it fails again, the command prints one line and exits non-zero.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError, connections
from kombu.exceptions import OperationalError as BrokerOperationalError

TRANSIENT = (OperationalError, InterfaceError, BrokerOperationalError)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _what(exc: BaseException) -> str:
    return "the message broker" if isinstance(exc, BrokerOperationalError) else "the database"


class PoliteCommand(BaseCommand):
    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except TRANSIENT as exc:
            self.stderr.write(f"Lost {_what(exc)} ({_one_line(exc)}); trying once more.")
        # A broken connection is not reused: Django opens a fresh one on the next query.
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close()
        try:
            return super().execute(*args, **options)
        except TRANSIENT as exc:
            raise CommandError(
                f"{_what(exc).capitalize()} is unavailable ({_one_line(exc)}). Nothing more was "
                "done; it is safe to run the command again."
            ) from exc
