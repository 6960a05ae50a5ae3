"""The business is emailed when its concern moves tier: who has it now and by when they aim to
reply. Manual moves email once after commit; the sweep's moves go out one email per business
contact per sweep, set-based and claimed, so nobody hears twice."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import dateformat, timezone

from engagement import deadlines
from engagement.models import Concern, OutboundEmail
from escalation import services, tasks
from escalation.models import SweepBusinessNotice
from escalation.services import notifications as notify_services
from escalation.services import sweep as sweep_services
from tests import factories

from .conftest import make_overdue

# A Tuesday afternoon in winter (GMT), frozen: the dates in words are fixed.
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def in_words(moment) -> str:
    return dateformat.format(timezone.localtime(moment), "l j F Y")


def business_emails(address):
    return list(OutboundEmail.objects.filter(to=address).order_by("pk"))


@pytest.fixture
def concern(chain, business, owner, npt_officer):
    return factories.ConcernFactory(business=business, reporter=owner, assigned_officer=npt_officer)


# Manual moves


def test_an_officer_escalating_tells_the_business_who_has_it_and_by_when(
    client, concern, owner, npt_officer, django_capture_on_commit_callbacks
):
    client.force_login(npt_officer)
    url = reverse("admin:engagement_concern_triage", args=[concern.pk, "escalate"])

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"escalate-reason": "Three shops on the street are affected."})

    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.GROUP
    [email] = business_emails(owner.email)
    assert email.subject == (
        f"Your concern {concern.reference} is now with the BCP Business Co-ordinating Group"
    )
    due = deadlines.deadlines_for(tier=2, priority=concern.priority, start=NOW)
    assert concern.first_response_due_at == due["first_response_due_at"]
    assert (
        f"They aim to reply by {in_words(due['first_response_due_at'])} and to give an outcome "
        f"by {in_words(due['resolution_due_at'])}."
    ) in email.body_text
    # Five working days at normal priority from Tuesday 1 December.
    assert "They aim to reply by Tuesday 8 December 2026" in email.body_text
    assert concern.get_absolute_url() in email.body_text
    # The officer's reason is for the partners, not for the business.
    assert "Three shops" not in email.body_text


def test_a_group_escalating_tells_the_business_the_partnership_has_it(
    chain, business, owner, group_member
):
    concern = factories.concern_at(business, tier=2, reporter=owner)

    services.item_escalate(item=concern, actor=group_member, reason="County-wide.", from_tier=2)

    [email] = business_emails(owner.email)
    assert "is now with the Dorset Business Safety Partnership" in email.subject
    assert "which covers all of Dorset" in email.body_text


@pytest.mark.parametrize(
    "tier, now_with",
    [
        (2, "the Poole Neighbourhood Policing Team"),
        (3, "the BCP Business Co-ordinating Group"),
    ],
)
def test_a_return_tells_the_business_who_has_it_now(
    chain, business, owner, group_member, partnership_member, tier, now_with
):
    concern = factories.concern_at(business, tier=tier, reporter=owner)
    actor = group_member if tier == 2 else partnership_member

    services.item_return(item=concern, actor=actor, guidance="Visit with the warden.")

    [email] = business_emails(owner.email)
    assert email.subject == f"Your concern {concern.reference} is now with {now_with}"
    assert "handed back, with guidance" in email.body_text
    assert "warden" not in email.body_text


def test_a_manual_move_emails_the_business_once_and_only_after_commit(
    concern, owner, npt_officer, django_capture_on_commit_callbacks
):
    factories.published_tasks()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.item_escalate(item=concern, actor=npt_officer, reason="Wider problem.")
        assert factories.published_tasks() == []

    for callback in callbacks:
        callback()
    [email] = business_emails(owner.email)
    assert ("engagement.tasks.deliver_email", [email.pk]) in factories.published_tasks()


def test_a_rolled_back_move_emails_nobody(
    concern, owner, npt_officer, django_capture_on_commit_callbacks
):
    factories.published_tasks()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.item_escalate(item=concern, actor=npt_officer, reason="Wider problem.")
        raise RuntimeError("something later in the same transaction failed")

    assert callbacks == []
    assert factories.published_tasks() == []
    assert business_emails(owner.email) == []


def test_a_guest_hears_at_their_address_without_the_private_link(chain, business, npt_officer):
    concern = factories.ConcernFactory(business=business, contact_email="guest.owner@example.org")

    services.item_escalate(item=concern, actor=npt_officer, reason="Wider problem.")

    [email] = business_emails("guest.owner@example.org")
    assert "Follow it with the private link in your confirmation email." in email.body_text
    assert "/track/" not in email.body_text and "/my/" not in email.body_text


def test_a_theme_moving_does_not_email_its_businesses(chain, area, business, group_member):
    theme = factories.ThemeFactory(npt_area=area)
    theme.concerns.add(factories.ConcernFactory(business=business, contact_email="a@example.org"))

    services.item_escalate(item=theme, actor=group_member, reason="County-wide.", from_tier=2)

    assert business_emails("a@example.org") == []


# The sweep


@pytest.fixture(params=["database", "portable"])
def batch_path(request, monkeypatch):
    """Each sweep test runs on the database's own path and on the portable ORM path."""
    if request.param == "portable":
        monkeypatch.setattr(sweep_services, "run_batch_postgresql", sweep_services.run_batch_orm)
    return request.param


def overdue(business, reporter=None, **fields):
    return make_overdue(factories.ConcernFactory(business=business, reporter=reporter, **fields))


def sweep_and_tell(**kwargs):
    services.sweep_run(**kwargs)
    return services.sweep_notify_businesses()


def test_the_sweep_sends_one_email_per_business_listing_its_concerns_that_moved(
    batch_path, chain, business, other_business, owner, other_owner
):
    ours = [overdue(business, owner) for _ in range(3)]
    theirs = overdue(other_business, other_owner)
    staying = factories.ConcernFactory(business=business, reporter=owner)

    told = sweep_and_tell(batch_size=2)  # the three of ours move in two batches

    assert told == 2
    [email] = business_emails(owner.email)
    assert email.subject == "3 of your concerns have moved on"
    for concern in ours:
        assert concern.reference in email.body_text
    assert staying.reference not in email.body_text
    assert email.body_text.count("is now with the BCP Business Co-ordinating Group") == 3
    due = deadlines.deadlines_for(tier=2, priority="normal", start=NOW)
    assert f"They aim to reply by {in_words(due['first_response_due_at'])}" in email.body_text
    [their_email] = business_emails(other_owner.email)
    assert theirs.reference in their_email.body_text
    assert "the Dorset Business Co-ordinating Group" in their_email.body_text
    assert ours[0].reference not in their_email.body_text


def test_the_sweep_tells_each_business_once_however_often_it_runs(
    batch_path, chain, business, owner
):
    overdue(business, owner)

    sweep_and_tell()
    assert sweep_and_tell() == 0
    assert services.sweep_notify_businesses() == 0

    assert len(business_emails(owner.email)) == 1
    assert not SweepBusinessNotice.objects.filter(notified_at__isnull=True).exists()


def test_a_second_sweep_later_tells_the_business_again_about_the_next_move(
    batch_path, chain, business, owner, time_machine
):
    concern = overdue(business, owner)
    sweep_and_tell()
    time_machine.move_to(
        Concern.objects.get(pk=concern.pk).resolution_due_at + dt.timedelta(hours=1)
    )

    sweep_and_tell()

    first, second = business_emails(owner.email)
    assert "Business Co-ordinating Group" in first.subject
    assert "Business Safety Partnership" in second.subject


def test_the_sweep_does_not_tell_of_a_concern_resolved_before_the_notice(
    batch_path, chain, business, owner, group_member
):
    concern = overdue(business, owner)
    services.sweep_run()
    services.item_resolve(
        item=Concern.objects.get(pk=concern.pk),
        actor=group_member,
        outcome=factories.outcome("advice-given"),
    )

    assert services.sweep_notify_businesses() == 0
    subjects = [email.subject for email in business_emails(owner.email)]
    assert subjects and not any("is now with" in subject for subject in subjects)


def test_the_sweep_tells_a_guest_without_the_private_link(batch_path, chain, business):
    overdue(business, contact_email="guest.owner@example.org")

    sweep_and_tell()

    [email] = business_emails("guest.owner@example.org")
    assert "Follow it with the private link in your confirmation email." in email.body_text


def test_the_businesses_are_told_in_a_fixed_number_of_queries(
    batch_path, chain, business, owner, area
):
    overdue(business, owner)
    services.sweep_run()
    with CaptureQueriesContext(connection) as one:
        assert services.sweep_notify_businesses() == 1
    for n in range(20):
        other = factories.UserFactory(email=f"shop{n}@example.org")
        overdue(factories.BusinessFactory(owner=other, npt_area=area), other)
    services.sweep_run()
    with CaptureQueriesContext(connection) as twenty:
        assert services.sweep_notify_businesses() == 20

    assert len(twenty) == len(one)


def test_the_periodic_task_and_the_command_tell_the_businesses(
    chain, business, other_business, owner, other_owner, capsys
):
    overdue(business, owner)
    tasks.escalate_overdue()
    assert len(business_emails(owner.email)) == 1

    overdue(other_business, other_owner)
    call_command("escalate_overdue")

    assert len(business_emails(other_owner.email)) == 1
    assert "Told 1 business contact(s) that their concern moved." in capsys.readouterr().out


def shops(area, count):
    """`count` businesses' owners, each with one overdue concern."""
    people = []
    for n in range(count):
        person = factories.UserFactory(email=f"shop{n}@example.org")
        overdue(factories.BusinessFactory(owner=person, npt_area=area), person)
        people.append(person)
    return people


def test_a_backlog_is_told_in_batches_and_a_failed_batch_keeps_the_ones_before(
    chain, area, monkeypatch
):
    people = shops(area, 5)
    services.sweep_run()
    real_queue_many = notify_services.email_queue_many
    calls = []

    def fails_on_the_second_batch(*, emails):
        calls.append(len(emails))
        if len(calls) == 2:
            raise RuntimeError("the worker's time limit")
        return real_queue_many(emails=emails)

    monkeypatch.setattr(notify_services, "email_queue_many", fails_on_the_second_batch)
    with pytest.raises(RuntimeError):
        services.sweep_notify_businesses(batch_size=2)
    # The first batch's two addresses were told in their own transaction and stay told.
    told = [p.email for p in people if business_emails(p.email)]
    assert told == ["shop0@example.org", "shop1@example.org"]
    assert SweepBusinessNotice.objects.filter(notified_at__isnull=True).count() == 3

    monkeypatch.setattr(notify_services, "email_queue_many", real_queue_many)
    assert services.sweep_notify_businesses(batch_size=2) == 3
    assert [len(business_emails(p.email)) for p in people] == [1] * 5


def test_a_backlog_is_told_over_several_calls_when_the_time_budget_is_spent(chain, area):
    people = shops(area, 5)
    services.sweep_run()
    no_time = dt.timedelta(0)

    # At least one batch a call, so each beat makes headway.
    told = [services.sweep_notify_businesses(batch_size=2, budget=no_time) for _ in range(4)]

    assert told == [2, 2, 1, 0]
    assert [len(business_emails(p.email)) for p in people] == [1] * 5


def test_a_run_that_starts_while_the_notices_go_out_is_told_when_it_finishes(
    chain, business, owner
):
    from escalation.models import Sweep

    first = overdue(business, owner)
    services.sweep_run()
    second = factories.ConcernFactory(business=business, reporter=owner)
    started = {}

    def a_run_starts_after_the_check(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if 'heartbeat_at" >=' in sql and not started:
            # Right after the notifier looked for a running sweep: one starts and commits the
            # first batch of its moves.
            started["run"] = Sweep.objects.create(started_at=timezone.now())
            SweepBusinessNotice.objects.create(
                sweep=started["run"], email=owner.email, concerns=[second.pk]
            )
        return result

    with connection.execute_wrapper(a_run_starts_after_the_check):
        assert services.sweep_notify_businesses() == 1
    assert started
    [email] = business_emails(owner.email)
    assert first.reference in email.body_text
    assert second.reference not in email.body_text  # its run is still going

    Sweep.objects.filter(pk=started["run"].pk).update(finished_at=timezone.now())
    assert services.sweep_notify_businesses() == 1
    _, later = business_emails(owner.email)
    assert second.reference in later.body_text and first.reference not in later.body_text
