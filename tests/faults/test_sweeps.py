"""Sweeps at once and sweeps that die: each body hears once, each move is told once, the record
is right. Counts asserted: double escalations 0, notifications per body and kind 1.
"""

import datetime as dt
import re
import threading
from collections import Counter

import pytest
import time_machine
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from engagement.models import Concern, ConcernEvent, OutboundEmail
from escalation import services
from escalation.models import Sweep, SweepTally
from escalation.services import sweep as sweep_services
from tests import factories
from tests.escalation.conftest import (  # noqa: F401 - fixtures the chain is made of
    chain,
    chair,
    concern_at_tier,
    group,
    group_member,
    make_overdue,
    other_group,
    other_group_member,
    partnership_member,
)

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

TIMEOUT = 60


def in_thread(target):
    outcome = {}

    def run():
        try:
            outcome["result"] = target()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def finish(thread, outcome):
    thread.join(TIMEOUT)
    assert not thread.is_alive(), "a sweep is stuck"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def overdue_across_the_chain(business, other_business):
    """Items for four bodies: both groups (arrivals), the Partnership (arrivals), the chair."""
    moves = Counter()
    for _ in range(25):
        make_overdue(factories.ConcernFactory(business=business))
        make_overdue(factories.ConcernFactory(business=other_business))
    moves["to groups"] = 50
    for _ in range(12):
        make_overdue(concern_at_tier(business, Concern.Tier.GROUP))
    moves["to the partnership"] = 12
    for _ in range(8):
        make_overdue(concern_at_tier(other_business, Concern.Tier.PARTNERSHIP))
    moves["flagged"] = 8
    return moves


def notices():
    """(recipient, subject without its count) → emails, and the counts the subjects announce."""
    per_body = Counter()
    announced = 0
    for to, subject in OutboundEmail.objects.values_list("to", "subject"):
        per_body[(to, re.sub(r"\d+", "N", subject))] += 1
        announced += int(re.search(r"\d+", subject).group())
    return per_body, announced


def assert_no_double_escalation():
    doubled = (
        ConcernEvent.objects.filter(kind__in=["escalated", "flagged"])
        .values("concern", "to_tier", "kind")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert doubled.count() == 0, "double escalations"


@pytest.mark.postgres
def test_two_sweeps_at_once_send_each_receiving_body_one_notification(
    business, other_business, request
):
    people = request.getfixturevalue("chain")
    moves = overdue_across_the_chain(business, other_business)
    start = threading.Barrier(2, timeout=TIMEOUT)

    def sweep():
        start.wait()
        return services.sweep_run(batch_size=7)

    runs = [in_thread(sweep) for _ in range(2)]
    reports = [finish(*run) for run in runs]
    services.sweep_notify_pending()  # a third notifier afterwards finds nothing to tell

    assert (
        sum(r.escalated_total for r in reports) == moves["to groups"] + moves["to the partnership"]
    )
    assert sum(r.flagged for r in reports) == moves["flagged"]
    assert_no_double_escalation()
    per_body, announced = notices()
    print(f"two sweeps at once: {sum(per_body.values())} notification(s) to {len(per_body)} bodies")
    assert per_body and set(per_body.values()) == {1}, per_body
    recipients = {to for to, _ in per_body}
    assert recipients >= {
        people["group_member"].email,
        people["other_group_member"].email,
        people["partnership_member"].email,
        people["chair"].email,
    }
    # Every move told exactly once across the bodies that hear of it (the chair also hears
    # of Partnership arrivals as a Partnership member would, hence at least).
    assert announced >= sum(moves.values())
    assert not SweepTally.objects.filter(notified_at__isnull=True).exists()
    for sweep in Sweep.objects.all():
        assert sweep.escalated + sweep.flagged == sweep.concern_events.count()


@pytest.mark.usefixtures("chain")
def test_a_sweep_that_dies_half_way_leaves_a_true_record_and_is_told_once_later(
    business, other_business, monkeypatch
):
    moves = overdue_across_the_chain(business, other_business)
    real_batch = sweep_services.run_batch
    batches = []
    seen_at_death = {}

    class Killed(BaseException):
        """The process dies: nothing after this point runs in it."""

    def dies_on_the_fourth_batch(spec, sweep_pass, now, sweep_id, batch_size, plan):
        if len(batches) == 3:
            # What a SIGKILL here would leave: the record as the committed batches wrote it.
            sweep = Sweep.objects.get(pk=sweep_id)
            seen_at_death.update(
                escalated=sweep.escalated,
                events=ConcernEvent.objects.filter(sweep_id=sweep_id).count(),
            )
            raise Killed()
        batches.append(sweep_pass.name)
        return real_batch(spec, sweep_pass, now, sweep_id, batch_size, plan)

    started = timezone.now()
    with time_machine.travel(started, tick=False) as clock:
        monkeypatch.setattr(sweep_services, "run_batch", dies_on_the_fourth_batch)
        with pytest.raises(Killed):
            services.sweep_run(batch_size=7)
        monkeypatch.setattr(sweep_services, "run_batch", real_batch)
        dead = Sweep.objects.get()
        Sweep.objects.filter(pk=dead.pk).update(finished_at=None)  # killed: no finally ran
        assert seen_at_death["escalated"] == seen_at_death["events"] == 21
        dead.refresh_from_db()
        assert dead.escalated == 21 and dead.finished_at is None

        clock.move_to(started + dt.timedelta(minutes=1))
        services.sweep_notify_pending()  # it may still be running: its notices wait
        assert OutboundEmail.objects.count() == 0

        clock.move_to(started + services.SWEEP_STALE_AFTER + dt.timedelta(minutes=1))
        services.sweep_run()  # the next beat: finishes the work and tells both runs' moves
        services.sweep_run()
    assert_no_double_escalation()
    assert Concern.objects.filter(tier=Concern.Tier.NPT).count() == 0
    per_body, announced = notices()
    assert set(per_body.values()) == {1}, per_body
    assert announced >= sum(moves.values())
    for sweep in Sweep.objects.all():
        assert sweep.escalated + sweep.flagged == sweep.concern_events.count()


def moved_on_notices() -> Counter:
    """Emails telling a business its concerns moved, per address."""
    return Counter(
        OutboundEmail.objects.filter(body_text__contains="is now with").values_list("to", flat=True)
    )


def overdue_for_businesses(business, other_business, owner, other_owner) -> dict[str, set[str]]:
    """Overdue concerns from three business contacts, a few each, at tiers 1 and 2."""
    third = factories.UserFactory(email="third.shop@example.org")
    third_business = factories.BusinessFactory(owner=third, npt_area=business.npt_area)
    references = {}
    for person, their_business, count in [
        (owner, business, 20),
        (other_owner, other_business, 15),
        (third, third_business, 9),
    ]:
        concerns = [
            make_overdue(factories.ConcernFactory(business=their_business, reporter=person))
            for _ in range(count)
        ]
        concerns.append(
            make_overdue(concern_at_tier(their_business, Concern.Tier.GROUP, reporter=person))
        )
        references[person.email] = {concern.reference for concern in concerns}
    return references


@pytest.mark.postgres
def test_two_sweeps_at_once_send_each_business_one_email(
    business, other_business, owner, other_owner, request
):
    request.getfixturevalue("chain")
    moved = overdue_for_businesses(business, other_business, owner, other_owner)
    start = threading.Barrier(2, timeout=TIMEOUT)

    def sweep_then_tell():
        # What the periodic task does: the sweep, then the businesses' notices.
        start.wait()
        services.sweep_run(batch_size=7)
        return services.sweep_notify_businesses()

    runs = [in_thread(sweep_then_tell) for _ in range(2)]
    told = sum(finish(*run) for run in runs)
    assert services.sweep_notify_businesses() == 0  # a third notifier finds nothing untold

    assert_no_double_escalation()
    per_business = moved_on_notices()
    print(f"two sweeps at once: {sum(per_business.values())} email(s) to {len(moved)} businesses")
    assert told == len(moved)
    assert per_business == dict.fromkeys(moved, 1)
    for address, references in moved.items():
        [email] = OutboundEmail.objects.filter(to=address, body_text__contains="is now with")
        assert {ref for ref in references if ref in email.body_text} == references


@pytest.mark.postgres
def test_two_notifiers_at_once_tell_each_business_once(
    business, other_business, owner, other_owner, request
):
    request.getfixturevalue("chain")
    moved = overdue_for_businesses(business, other_business, owner, other_owner)
    services.sweep_run(batch_size=7)
    start = threading.Barrier(2, timeout=TIMEOUT)

    def tell():
        start.wait()
        return services.sweep_notify_businesses()

    runs = [in_thread(tell) for _ in range(2)]
    counts = sorted(finish(*run) for run in runs)

    assert counts == [0, len(moved)]
    assert moved_on_notices() == dict.fromkeys(moved, 1)
