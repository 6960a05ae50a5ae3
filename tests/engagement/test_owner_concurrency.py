"""A report withdrawn twice at once, and withdrawn while an officer resolves it, on real
PostgreSQL connections in two threads: one change wins, one event, one email."""

import pytest

from engagement import services
from engagement.models import Concern, ConcernEvent, OutboundEmail
from tests import factories
from tests.resources.test_concurrency import run_together

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def open_concern(transactional_db):
    area = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    officer = factories.OfficerFactory(area=area)
    owner = factories.UserFactory()
    concern = factories.ConcernFactory(
        business=factories.BusinessFactory(owner=owner, npt_area=area), reporter=owner
    )
    services.concern_assign(concern=concern, officer=officer, actor=officer)
    return concern, owner, officer


@pytest.mark.parametrize("round_", range(3))
def test_it_withdraws_once_when_asked_twice_at_once(open_concern, round_):
    concern, owner, officer = open_concern

    results = run_together(
        *[
            lambda: services.concern_withdraw(concern=concern, author=owner, reason="Sorted.")
            for _ in range(2)
        ]
    )

    assert sorted(withdrawn for _, withdrawn in results) == [False, True]
    assert concern.events.filter(kind=ConcernEvent.Kind.WITHDRAWN).count() == 1
    told = OutboundEmail.objects.filter(to=officer.email, subject__contains="withdrawn")
    assert told.count() == 1


@pytest.mark.parametrize("round_", range(3))
def test_a_withdrawal_and_an_outcome_at_once_leave_one_of_them(open_concern, round_):
    concern, owner, officer = open_concern

    run_together(
        lambda: services.concern_withdraw(concern=concern, author=owner, reason="Sorted."),
        lambda: services.concern_resolve(
            concern=concern, actor=officer, outcome=factories.outcome()
        ),
    )

    concern.refresh_from_db()
    kinds = set(concern.events.values_list("kind", flat=True))
    if concern.status == Concern.Status.CLOSED:
        assert ConcernEvent.Kind.WITHDRAWN in kinds and ConcernEvent.Kind.RESOLVED not in kinds
    else:
        assert concern.status == Concern.Status.RESOLVED
        assert ConcernEvent.Kind.RESOLVED in kinds and ConcernEvent.Kind.WITHDRAWN not in kinds
