"""Two arrivals of the same concern at once (a redelivered task, a double confirmation) refer it
to each team once and tell each member once: PostgreSQL, two connections, committed data."""

import threading

import pytest
from django.db import connection

from engagement import services
from engagement.models import OutboundEmail, SpecialistReferral
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("transactional_db")]

TIMEOUT = 30


def test_two_referrals_at_once_tell_each_member_once(business, owner, cyber_specialist):
    concern = factories.ConcernFactory(
        business=business, reporter=owner, category=factories.category("cyber")
    )
    start = threading.Barrier(2, timeout=TIMEOUT)
    results, errors = [], []

    def refer():
        try:
            start.wait()
            results.append(len(services.concern_refer_to_specialists(concern=concern)))
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=refer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert errors == []
    assert sorted(results) == [0, 1]
    assert SpecialistReferral.objects.filter(concern=concern).count() == 1
    assert OutboundEmail.objects.filter(to=cyber_specialist.email).count() == 1
