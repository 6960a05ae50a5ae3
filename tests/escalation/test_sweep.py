import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagement import deadlines
from engagement.models import Concern, ConcernEvent, OutboundEmail
from escalation import services
from escalation.models import Sweep, SweepTally, Theme, ThemeEvent
from tests import factories

from .conftest import concern_at_tier, make_overdue


def emails_to(address):
    return list(OutboundEmail.objects.filter(to=address).order_by("pk"))


def test_it_moves_an_overdue_concern_up_one_tier_with_fresh_deadlines(
    chain, overdue_concern, time_machine
):
    now = timezone.now()
    services.sweep_run(now=now)

    concern = Concern.objects.get(pk=overdue_concern.pk)
    assert concern.tier == Concern.Tier.GROUP
    assert concern.tier_entered_at == now
    expected = deadlines.deadlines_for(tier=2, priority="normal", start=now)
    assert concern.resolution_due_at == expected["resolution_due_at"]
    assert concern.first_response_due_at == expected["first_response_due_at"]
    assert concern.resolution_warn_at == expected["resolution_warn_at"]
    assert concern.first_responded_at is None


def test_it_writes_exactly_one_event_for_each_move(chain, overdue_concern):
    report = services.sweep_run()

    event = ConcernEvent.objects.get(concern=overdue_concern, kind=ConcernEvent.Kind.ESCALATED)
    assert (event.from_tier, event.to_tier) == (1, 2)
    assert event.actor is None
    assert event.rule == services.RULE_OVERDUE
    assert event.sweep_id == report.sweep_id
    assert "deadline passed" in event.detail


def test_it_moves_a_concern_at_the_group_up_to_the_partnership(chain, business):
    concern = make_overdue(concern_at_tier(business, Concern.Tier.GROUP))

    services.sweep_run()

    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.PARTNERSHIP
    assert concern.events.get(kind=ConcernEvent.Kind.ESCALATED).from_tier == 2


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Concern.Status.RESOLVED},
        {"status": Concern.Status.CLOSED},
        {"status": Concern.Status.UNCONFIRMED},
        {"status": Concern.Status.WAITING, "paused_at": dt.datetime(2026, 1, 5, tzinfo=dt.UTC)},
    ],
    ids=["resolved", "closed", "unconfirmed", "waiting for the business"],
)
def test_it_leaves_closed_and_paused_concerns_where_they_are(chain, concern, fields):
    make_overdue(concern, **fields)

    report = services.sweep_run()

    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.NPT
    assert not concern.events.exists()
    assert report.escalated_total == 0


def test_it_leaves_a_concern_that_is_not_yet_due(chain, concern):
    Concern.objects.filter(pk=concern.pk).update(
        resolution_due_at=timezone.now() + dt.timedelta(minutes=1)
    )

    services.sweep_run()

    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.NPT


def test_it_flags_an_overdue_item_at_the_top_to_the_chair_once(chain, business):
    concern = make_overdue(concern_at_tier(business, Concern.Tier.PARTNERSHIP))

    first = services.sweep_run()
    second = services.sweep_run()

    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.PARTNERSHIP
    assert concern.overdue_flagged_at is not None
    assert (first.flagged, second.flagged) == (1, 0)
    assert concern.events.filter(kind=ConcernEvent.Kind.FLAGGED).count() == 1
    chair_emails = emails_to("chair@example.org")
    assert len(chair_emails) == 1
    assert concern.reference in chair_emails[0].body_text
    assert "Overdue at the Partnership" in chair_emails[0].subject


def test_it_warns_the_assigned_officer_once_at_the_warning_point(chain, concern, npt_officer):
    Concern.objects.filter(pk=concern.pk).update(
        assigned_officer=npt_officer,
        resolution_warn_at=timezone.now() - dt.timedelta(minutes=5),
        resolution_due_at=timezone.now() + dt.timedelta(days=1),
    )

    first = services.sweep_run()
    second = services.sweep_run()

    concern.refresh_from_db()
    assert (first.warned, second.warned) == (1, 0)
    assert concern.resolution_warned_at is not None
    assert concern.tier == Concern.Tier.NPT
    warnings = emails_to(npt_officer.email)
    assert len(warnings) == 1
    assert concern.reference in warnings[0].body_text
    assert "outcome due" in warnings[0].body_text
    assert concern.events.filter(kind=ConcernEvent.Kind.WARNED).count() == 1


def test_it_warns_every_officer_of_the_npt_when_nobody_is_assigned(
    chain, concern, npt_officer, area
):
    second_officer = factories.OfficerFactory(area=area, email="pcso.poole@example.org")
    Concern.objects.filter(pk=concern.pk).update(
        first_response_warn_at=timezone.now() - dt.timedelta(minutes=5)
    )

    services.sweep_run()

    for officer in (npt_officer, second_officer):
        [warning] = emails_to(officer.email)
        assert "first response due" in warning.body_text


def test_it_does_not_warn_about_a_first_response_already_given(chain, concern, npt_officer):
    Concern.objects.filter(pk=concern.pk).update(
        first_response_warn_at=timezone.now() - dt.timedelta(minutes=5),
        first_responded_at=timezone.now() - dt.timedelta(hours=1),
    )

    report = services.sweep_run()

    assert report.warned == 0
    assert emails_to(npt_officer.email) == []


def test_it_warns_again_at_the_next_tier(chain, overdue_concern, group_member, time_machine):
    services.sweep_run()  # to tier 2, with a fresh warning point
    concern = Concern.objects.get(pk=overdue_concern.pk)
    time_machine.move_to(concern.resolution_warn_at + dt.timedelta(minutes=1))

    report = services.sweep_run()

    # Both warning points of tier 2 have passed: first response and resolution, in one email.
    assert report.warned == 2
    [warning] = [e for e in emails_to(group_member.email) if e.subject.startswith("Deadline")]
    assert "2 deadlines" in warning.body_text


def test_it_warns_the_partnership_before_an_item_at_the_top_is_flagged(
    chain, business, partnership_member
):
    concern = concern_at_tier(business, Concern.Tier.PARTNERSHIP)
    Concern.objects.filter(pk=concern.pk).update(
        resolution_warn_at=timezone.now() - dt.timedelta(minutes=5)
    )

    services.sweep_run()

    [warning] = emails_to(partnership_member.email)
    assert concern.reference in warning.body_text
    assert "after that it is flagged to the Partnership chair" in warning.body_text


def test_it_sends_each_receiving_body_one_email_listing_what_arrived(
    chain, business, other_business, group_member, other_group_member, partnership_member
):
    poole = [make_overdue(factories.ConcernFactory(business=business)) for _ in range(3)]
    dorchester = make_overdue(factories.ConcernFactory(business=other_business))
    to_partnership = make_overdue(concern_at_tier(business, Concern.Tier.GROUP))

    services.sweep_run()

    [bcp_email] = emails_to(group_member.email)
    assert bcp_email.subject == "3 items escalated to the BCP Business Co-ordinating Group"
    for concern in poole:
        assert concern.reference in bcp_email.body_text
    assert dorchester.reference not in bcp_email.body_text
    [dorset_email] = emails_to(other_group_member.email)
    assert dorchester.reference in dorset_email.body_text
    [partnership_email] = emails_to(partnership_member.email)
    assert to_partnership.reference in partnership_email.body_text
    assert "1 item escalated" in partnership_email.subject


def test_it_never_notifies_the_same_move_twice(chain, overdue_concern, group_member):
    services.sweep_run()
    services.sweep_notify_pending()
    services.sweep_run()

    assert len(emails_to(group_member.email)) == 1
    assert Sweep.objects.get().notified_at is not None


def test_it_sends_the_notifications_of_a_run_that_died_half_way(
    chain, concern, group_member, time_machine
):
    # A run committed a move and died before notifying (no finished_at).
    dead = Sweep.objects.create(started_at=timezone.now())
    Concern.objects.filter(pk=concern.pk).update(tier=2)
    ConcernEvent.objects.create(
        concern=concern, kind="escalated", from_tier=1, to_tier=2, rule="overdue", sweep=dead
    )
    SweepTally.objects.create(
        sweep=dead,
        kind="escalated",
        rule="overdue",
        tier=2,
        npt_area=concern.npt_area,
        items=1,
        sample=[concern.pk],
    )

    services.sweep_run()
    assert emails_to(group_member.email) == []  # it may still be running

    time_machine.move_to(timezone.now() + services.SWEEP_STALE_AFTER + dt.timedelta(minutes=1))
    services.sweep_run()
    [email] = emails_to(group_member.email)
    assert concern.reference in email.body_text


def test_it_lists_the_first_items_and_counts_the_rest(chain, business, group_member):
    for _ in range(services.NOTIFY_LIST_LIMIT + 3):
        make_overdue(factories.ConcernFactory(business=business))

    services.sweep_run()

    [email] = emails_to(group_member.email)
    assert f"{services.NOTIFY_LIST_LIMIT + 3} items escalated" in email.subject
    assert "and 3 more." in email.body_text


def test_it_tells_the_chair_about_an_npt_no_group_covers(chair, business):
    concern = make_overdue(factories.ConcernFactory(business=business))  # area has no group

    services.sweep_run()

    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.GROUP
    [email] = emails_to(chair.email)
    assert concern.reference in email.body_text


def test_it_escalates_an_overdue_theme_as_one_item(chain, area, partnership_member):
    theme = make_overdue(factories.ThemeFactory(npt_area=area))

    report = services.sweep_run()

    theme.refresh_from_db()
    assert theme.tier == Concern.Tier.PARTNERSHIP
    assert report.escalated_themes == 1
    event = theme.events.get(kind=ThemeEvent.Kind.ESCALATED)
    assert (event.from_tier, event.to_tier, event.rule) == (2, 3, services.RULE_OVERDUE)
    [email] = emails_to(partnership_member.email)
    assert theme.reference in email.body_text


def test_it_leaves_a_resolved_theme_alone(chain, area):
    theme = make_overdue(factories.ThemeFactory(npt_area=area), status=Theme.Status.RESOLVED)

    services.sweep_run()

    theme.refresh_from_db()
    assert theme.tier == Concern.Tier.GROUP


def test_it_works_through_a_backlog_in_batches(chain, business):
    concerns = [make_overdue(factories.ConcernFactory(business=business)) for _ in range(7)]

    report = services.sweep_run(batch_size=3)

    assert report.escalated == {2: 7}
    assert Concern.objects.filter(pk__in=[c.pk for c in concerns], tier=2).count() == 7
    assert ConcernEvent.objects.filter(kind="escalated").count() == 7


def test_it_writes_nothing_when_nothing_is_due(chain, concern):
    report = services.sweep_run()

    assert report.sweep_id is None
    assert not Sweep.objects.exists()
    assert not OutboundEmail.objects.exists()


def _sweep_queries(batch_size):
    with CaptureQueriesContext(connection) as captured:
        services.sweep_run(batch_size=batch_size)
    return captured.captured_queries


def test_it_runs_the_same_queries_for_one_overdue_concern_as_for_fifty(
    chain, business, other_business
):
    make_overdue(factories.ConcernFactory(business=business))
    one = len(_sweep_queries(batch_size=100))

    for _ in range(50):
        make_overdue(factories.ConcernFactory(business=business))
    fifty = len(_sweep_queries(batch_size=100))

    assert fifty == one


def test_it_adds_a_constant_number_of_queries_per_batch(chain, business):
    for _ in range(4):
        make_overdue(factories.ConcernFactory(business=business))
    three_batches = len(_sweep_queries(batch_size=2))  # 2 + 2 + the empty one that ends it
    for _ in range(8):
        make_overdue(factories.ConcernFactory(business=business))
    five_batches = len(_sweep_queries(batch_size=2))  # 2 + 2 + 2 + 2 + the empty one

    # A batch is a savepoint (the test's transaction is around it), its statements and the
    # release. PostgreSQL: one statement claims, updates, inserts the events and the tally and
    # adds to the run's counters and writes the businesses' notices. Elsewhere: the claim, the
    # update, the insert of the events, the insert of the tally, the insert of the businesses'
    # notices and the update of the run's counters.
    per_batch = 3 if connection.vendor == "postgresql" else 8
    assert five_batches - three_batches == 2 * per_batch


def test_the_command_runs_the_sweep_once_and_says_what_it_did(chain, overdue_concern, capsys):
    call_command("escalate_overdue")

    out = capsys.readouterr().out
    assert "Escalated 1 overdue item(s) up one tier" in out
    assert "1 to a Business Co-ordinating Group" in out
    assert "Queued 1 notification email(s)." in out
    assert Concern.objects.get(pk=overdue_concern.pk).tier == Concern.Tier.GROUP


def test_the_command_says_when_nothing_was_due(db, capsys):
    call_command("escalate_overdue")

    assert "Nothing was due." in capsys.readouterr().out
