"""Deadlines from the editable policy in working days: weekends, bank holidays and pauses."""

import datetime as dt
import uuid

import pytest

from engagement import deadlines
from engagement import services as engagement_services
from engagement.models import Concern
from escalation import services
from escalation.models import DeadlinePolicy
from tests import factories

from .conftest import at, policy_concern


@pytest.mark.parametrize(
    "tier, priority, start, expected",
    [
        # Tier 2, high (3, 15, warn 2) from a plain Monday.
        (
            2,
            "high",
            at(2026, 6, 1),
            (at(2026, 6, 4), at(2026, 6, 2), at(2026, 6, 22), at(2026, 6, 18)),
        ),
        # Tier 2, normal (5, 20, warn 3) from Christmas Eve: Christmas Day, the substitute Boxing
        # Day (Monday 28th) and New Year's Day are skipped as well as the weekends.
        (
            2,
            "normal",
            at(2026, 12, 24),
            (at(2027, 1, 5), at(2026, 12, 30), at(2027, 1, 26), at(2027, 1, 21)),
        ),
        # Tier 3, urgent (3, 15, warn 2) from the Thursday before Easter 2027.
        (
            3,
            "urgent",
            at(2027, 3, 25, 15),
            (at(2027, 4, 1, 15), at(2027, 3, 30, 15), at(2027, 4, 19, 15), at(2027, 4, 15, 15)),
        ),
        # Arriving on a Saturday counts from 09:00 on Monday.
        (
            2,
            "normal",
            at(2026, 6, 6, 14),
            (at(2026, 6, 15, 9), at(2026, 6, 10, 9), at(2026, 7, 6, 9), at(2026, 7, 1, 9)),
        ),
    ],
)
def test_it_takes_deadlines_and_warning_points_from_the_policy(db, tier, priority, start, expected):
    due = deadlines.deadlines_for(tier=tier, priority=priority, start=start)

    assert (
        due["first_response_due_at"],
        due["first_response_warn_at"],
        due["resolution_due_at"],
        due["resolution_warn_at"],
    ) == expected


def test_it_has_no_separate_warning_for_a_deadline_inside_the_warning_point(db):
    # Tier 1 urgent: first response in 1 working day, warning point 1 day before.
    due = deadlines.deadlines_for(tier=1, priority="urgent", start=at(2026, 6, 1))

    assert due["first_response_due_at"] == at(2026, 6, 2)
    assert due["first_response_warn_at"] is None
    assert due["resolution_warn_at"] == at(2026, 6, 5)


def test_it_uses_the_policy_as_edited_in_the_admin(business, owner, time_machine):
    DeadlinePolicy.objects.filter(tier=1, priority="normal").update(
        first_response_days=1, resolution_days=2, warning_days=1
    )
    time_machine.move_to(at(2026, 6, 5, 16), tick=False)  # a Friday afternoon

    concern, _ = engagement_services.concern_submit(
        business=business,
        reporter=owner,
        submission_key=uuid.uuid4(),
        details=engagement_services.ConcernDetails(
            category=factories.category(),
            description="Stock taken again.",
            occurred_on=dt.date(2026, 6, 5),
            location="1 High Street",
            impact="some",
            contact_name="Olive Owner",
            contact_email=owner.email,
        ),
    )

    assert concern.first_response_due_at == at(2026, 6, 8, 16)
    assert concern.resolution_due_at == at(2026, 6, 9, 16)
    assert concern.resolution_warn_at == at(2026, 6, 8, 16)


def test_it_falls_back_to_the_defaults_for_a_deleted_policy_row(db):
    DeadlinePolicy.objects.filter(tier=3, priority="low").delete()

    due = deadlines.deadlines_for(tier=3, priority="low", start=at(2026, 6, 1))

    assert due["resolution_due_at"] == deadlines.add_working_days(at(2026, 6, 1), 40)


def test_it_escalates_at_the_deadline_and_not_a_minute_before(chain, business, time_machine):
    time_machine.move_to(at(2026, 6, 1), tick=False)
    concern = factories.ConcernFactory(business=business)
    # Tier 1 normal is 20 working days: Monday 29 June at 10:00.
    assert concern.resolution_due_at == at(2026, 6, 29)

    time_machine.move_to(at(2026, 6, 29, 9, 59), tick=False)
    services.sweep_run()
    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.NPT

    time_machine.move_to(at(2026, 6, 29, 10, 1), tick=False)
    services.sweep_run()
    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.GROUP
    # Arrived at 10:01 on Monday 29 June; tier 2 normal is 5 and 20 working days.
    assert concern.first_response_due_at == at(2026, 7, 6, 10, 1)
    assert concern.resolution_due_at == at(2026, 7, 27, 10, 1)


def test_it_counts_the_new_tier_across_the_christmas_bank_holidays(chain, business, time_machine):
    time_machine.move_to(at(2026, 12, 24, 10), tick=False)
    concern = factories.ConcernFactory(business=business)
    Concern.objects.filter(pk=concern.pk).update(resolution_due_at=at(2026, 12, 24, 9))

    services.sweep_run()

    concern.refresh_from_db()
    assert concern.first_response_due_at == at(2027, 1, 5, 10)
    assert concern.resolution_due_at == at(2027, 1, 26, 10)


def test_it_stops_the_clock_while_waiting_for_the_business(
    chain, business, owner, npt_officer, time_machine
):
    time_machine.move_to(at(2026, 6, 1), tick=False)
    concern = policy_concern(business, reporter=owner)
    services.sweep_run()  # nothing due yet

    # Asked on Wednesday 24 June, five days before the deadline of Monday 29 June.
    time_machine.move_to(at(2026, 6, 24, 11), tick=False)
    engagement_services.concern_ask_question(concern=concern, actor=npt_officer, body="When?")

    # The deadline passes while they think about it: nothing moves.
    time_machine.move_to(at(2026, 7, 1, 12), tick=False)
    services.sweep_run()
    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.NPT
    assert concern.resolution_warned_at is None

    # They answer on Wednesday 1 July: five working days paused push the deadline to 6 July.
    engagement_services.concern_reply(concern=concern, author=owner, body="At 4pm.")
    concern.refresh_from_db()
    assert concern.paused_at is None
    assert concern.resolution_due_at == at(2026, 7, 6)
    assert concern.resolution_warn_at == at(2026, 7, 2)

    time_machine.move_to(at(2026, 7, 6, 9), tick=False)
    services.sweep_run()
    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.NPT

    time_machine.move_to(at(2026, 7, 6, 10, 5), tick=False)
    services.sweep_run()
    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.GROUP


def test_it_restarts_the_pause_at_the_new_tier_when_moved_while_waiting(
    chain, business, owner, npt_officer, time_machine
):
    time_machine.move_to(at(2026, 6, 1), tick=False)
    concern = factories.ConcernFactory(business=business, reporter=owner)
    engagement_services.concern_ask_question(concern=concern, actor=npt_officer, body="When?")

    time_machine.move_to(at(2026, 6, 8), tick=False)
    services.item_escalate(item=concern, actor=npt_officer, reason="Needs the council.")
    concern.refresh_from_db()
    assert concern.paused_at == at(2026, 6, 8)
    arrived_due = concern.resolution_due_at

    time_machine.move_to(at(2026, 6, 10), tick=False)
    engagement_services.concern_reply(concern=concern, author=owner, body="At 4pm.")
    concern.refresh_from_db()
    # Two working days waiting at tier 2 (9 and 10 June), not the week before it moved.
    assert concern.resolution_due_at == deadlines.add_working_days(arrived_due, 2)


def test_it_recalculates_deadlines_at_the_current_tier_when_the_priority_changes(
    chain, business, npt_officer, time_machine
):
    time_machine.move_to(at(2026, 6, 1), tick=False)
    concern = factories.ConcernFactory(business=business)
    services.item_escalate(item=concern, actor=npt_officer, reason="Wider problem.")

    time_machine.move_to(at(2026, 6, 3), tick=False)
    engagement_services.concern_set_priority(concern=concern, priority="urgent", actor=npt_officer)

    concern.refresh_from_db()
    # Tier 2 urgent is 10 working days from arrival at tier 2 (1 June), not from today.
    assert concern.resolution_due_at == at(2026, 6, 15)
