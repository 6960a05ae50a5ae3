"""Real concurrency on PostgreSQL: two connections, two threads, committed data.

transactional_db commits for real; tests/conftest.py puts back the reference data (categories,
outcomes, policies) that the flush after each such test removes.
"""

import threading

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from engagement import services as engagement_services
from engagement.models import Concern, ConcernEvent, OutboundEmail
from escalation import services
from escalation.models import Sweep, Theme
from escalation.services import sweep as sweep_services
from tests import factories

from .conftest import make_overdue

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("transactional_db")]

TIMEOUT = 30


def in_thread(target, *args):
    """Run target in its own thread (so its own database connection); re-raise its error."""
    outcome = {}

    def run():
        try:
            outcome["result"] = target(*args)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def finish(thread, outcome):
    thread.join(TIMEOUT)
    assert not thread.is_alive(), "the thread is stuck"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


def test_two_sweeps_at_once_move_every_item_exactly_once(chain, business, group_member):
    concerns = [make_overdue(factories.ConcernFactory(business=business)) for _ in range(60)]
    start = threading.Barrier(2, timeout=TIMEOUT)

    def sweep():
        start.wait()
        return services.sweep_run(batch_size=7)

    runs = [in_thread(sweep) for _ in range(2)]
    reports = [finish(*run) for run in runs]

    assert sum(report.escalated_total for report in reports) == 60
    assert Concern.objects.filter(pk__in=[c.pk for c in concerns], tier=2).count() == 60
    events = ConcernEvent.objects.filter(kind=ConcernEvent.Kind.ESCALATED)
    assert events.count() == 60
    assert not events.values("concern").annotate(n=Count("pk")).filter(n__gt=1).exists()
    # One email for both runs, announcing each move once.
    [email] = OutboundEmail.objects.filter(to=group_member.email)
    assert email.subject.split()[0] == "60"


def test_an_officer_resolving_while_the_sweep_runs_wins(chain, business, npt_officer):
    concern = make_overdue(factories.ConcernFactory(business=business))
    opened, swept = threading.Event(), threading.Event()

    def officer_resolves():
        with transaction.atomic():
            # The officer's resolve has the row (concern_resolve locks it the same way).
            Concern.objects.select_for_update().get(pk=concern.pk)
            opened.set()
            assert swept.wait(TIMEOUT)
            engagement_services.concern_resolve(
                concern=concern, actor=npt_officer, outcome=factories.outcome()
            )

    officer = in_thread(officer_resolves)
    assert opened.wait(TIMEOUT)
    during = services.sweep_run()
    swept.set()
    finish(*officer)
    after = services.sweep_run()

    concern.refresh_from_db()
    assert (during.escalated_total, after.escalated_total) == (0, 0)
    assert concern.status == Concern.Status.RESOLVED
    assert concern.tier == Concern.Tier.NPT
    assert not concern.events.filter(kind=ConcernEvent.Kind.ESCALATED).exists()


def test_an_officer_resolving_just_after_the_sweep_took_the_row_still_resolves_it(
    chain, business, npt_officer
):
    concern = make_overdue(factories.ConcernFactory(business=business))
    moved, release = threading.Event(), threading.Event()

    def sweep_batch():
        # The sweep's batch statement, held open before it commits.
        with transaction.atomic():
            now = timezone.now()
            plan = sweep_services.arrival_plan(now, None)
            sweep = Sweep.objects.create(started_at=now)
            result = sweep_services.run_batch(
                Concern, sweep_services.ESCALATE, now, sweep.pk, 100, plan
            )
            moved.set()
            assert release.wait(TIMEOUT)
        return result

    sweep = in_thread(sweep_batch)
    assert moved.wait(TIMEOUT)
    officer = in_thread(
        lambda: engagement_services.concern_resolve(
            concern=concern, actor=npt_officer, outcome=factories.outcome()
        )
    )
    release.set()
    assert finish(*sweep) == {2: 1}
    finish(*officer)

    concern.refresh_from_db()
    # The officer waited for the row, then resolved it: the outcome is never lost.
    assert concern.status == Concern.Status.RESOLVED
    kinds = list(concern.events.order_by("pk").values_list("kind", flat=True))
    assert kinds == [ConcernEvent.Kind.ESCALATED, ConcernEvent.Kind.RESOLVED]
    assert services.sweep_run().escalated_total == 0


def test_two_theme_detections_at_once_open_one_theme(chain, area):
    for n in range(3):
        factories.ConcernFactory(business=factories.BusinessFactory(npt_area=area, name=f"S{n}"))
    start = threading.Barrier(2, timeout=TIMEOUT)

    def detect():
        start.wait()
        return services.theme_detect()

    runs = [in_thread(detect) for _ in range(2)]
    reports = [finish(*run) for run in runs]

    assert Theme.objects.count() == 1
    assert sum(len(report.created) for report in reports) == 1
    assert Theme.objects.get().concerns.count() == 3
