"""Fault scenarios from issue 12, each asserting what reached the relay and the database.

`pytest -m faults` (part of `make test`; CI runs it with DATABASE_URL, REDIS_URL and
REQUIRE_SERVICES=1). Redis servers are started by the fixtures on their own ports; the SMTP
relay is tests/faults/smtp_sink.py. Counts asserted throughout: reports lost 0, emails lost 0,
emails duplicated 0, double escalations 0.

1. A frozen, killed or refusing Redis: test_broker.py
2. The database connection lost after the relay accepted: test_email_delivery.py
3. A six-hour relay outage, and three days of it: test_email_delivery.py
4. A relay that confirms slowly, or too late: test_email_delivery.py
5. Two sweeps at once; a sweep that dies half-way: test_sweeps.py
6. Commands losing the database or broker: test_commands.py
7. SIGTERM to a real worker's process group while it sends: test_worker_shutdown.py
8. 500 emails at 50/s or more: test_outbox_throughput.py (benchmarks/outbox.py: a real worker)
"""
