"""Management commands turn a lost database into one line and a non-zero exit, retrying once."""

import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import OperationalError

from escalation.services import sweep as sweep_services

pytestmark = pytest.mark.faults

COMMANDS = ["escalate_overdue", "detect_themes", "seed_demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_it_prints_one_line_and_exits_non_zero_when_the_database_is_unreachable(command):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_DEBUG": "1",
        "DJANGO_PRODUCTION": "0",
        "DJANGO_VAR_DIR": str(settings.VAR_DIR),
        # Nothing listens on port 1: the connection is refused at once, as when PostgreSQL
        # is restarting.
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/dorset_bcp",
    }
    result = subprocess.run(  # noqa: S603 - this interpreter and manage.py, no shell
        [sys.executable, str(settings.BASE_DIR / "manage.py"), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr  # "trying once more", then the one-line failure
    assert "trying once more" in lines[0]
    assert lines[1].startswith("CommandError: The database is unavailable")


def test_it_retries_a_dropped_connection_once_and_succeeds(db, monkeypatch):
    real_sweep = sweep_services.sweep_run
    calls = []

    def drops_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_sweep(**kwargs)

    monkeypatch.setattr(sweep_services, "sweep_run", drops_once)
    call_command("escalate_overdue")
    assert len(calls) == 2


def test_it_gives_up_after_the_second_drop(db, monkeypatch):
    def always_drops(**kwargs):
        raise OperationalError("server closed the connection\nunexpectedly")

    monkeypatch.setattr(sweep_services, "sweep_run", always_drops)
    one_line = r"^The database is unavailable \(server closed the connection unexpectedly\)\. "
    with pytest.raises(CommandError, match=one_line):
        call_command("escalate_overdue")
