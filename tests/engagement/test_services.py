import base64
import datetime as dt
import hashlib
import re
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from engagement import deadlines, services
from engagement.models import (
    Attachment,
    Business,
    BusinessMembership,
    Concern,
    ConcernEvent,
    ConcernUpdate,
    OutboundEmail,
)
from tests import factories

LONDON = ZoneInfo("Europe/London")
MONDAY_1_JUNE_2026 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=LONDON)
FRIDAY_5_JUNE_2026 = dt.datetime(2026, 6, 5, 10, 0, tzinfo=LONDON)


def details(**overrides) -> services.ConcernDetails:
    values = {
        "category": factories.category("theft"),
        "description": "Two people took bottles of gin from the shelf by the door.",
        "occurred_on": timezone.localdate() - dt.timedelta(days=1),
        "location": "1 High Street, Poole",
        "impact": Concern.Impact.SOME,
        "contact_name": "Olive Owner",
        "contact_email": "owner@example.org",
    }
    values.update(overrides)
    return services.ConcernDetails(**values)


def submit(business, reporter, **kwargs) -> Concern:
    kwargs.setdefault("submission_key", uuid.uuid4())
    kwargs.setdefault("details", details())
    concern, _ = services.concern_submit(business=business, reporter=reporter, **kwargs)
    return concern


def guest_submit(**kwargs):
    kwargs.setdefault("submission_key", uuid.uuid4())
    kwargs.setdefault("details", details(contact_email="guest@example.org"))
    return services.guest_concern_submit(
        business_name="Quay Gifts", sector="retail", postcode="bh15 1hj", town="Poole", **kwargs
    )


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 costs ~0.1 s a user; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def kinds(concern) -> list[str]:
    return list(concern.events.order_by("pk").values_list("kind", flat=True))


@pytest.fixture
def waiting_concern(concern, npt_officer):
    services.concern_ask_question(concern=concern, actor=npt_officer, body="Which door?")
    concern.refresh_from_db()
    return concern


@pytest.fixture
def resolved_concern(concern, npt_officer):
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    services.concern_resolve(concern=concern, actor=npt_officer, outcome=factories.outcome())
    concern.refresh_from_db()
    return concern


# Businesses


def test_it_routes_a_new_business_to_the_npt_for_its_postcode(owner, area, other_area):
    business = services.business_create(
        owner=owner,
        name="Dorchester Books",
        sector="retail",
        size_band="micro",
        address_line1="2 South Street",
        town="Dorchester",
        postcode="dt1 1bb",
    )
    assert business.npt_area == other_area
    assert business.postcode == "DT1 1BB"
    membership = BusinessMembership.objects.get(business=business)
    assert (membership.user, membership.role) == (owner, BusinessMembership.Role.OWNER)


def test_it_refuses_a_valid_postcode_outside_dorset_with_a_way_forward(owner, area):
    with pytest.raises(services.NotCoveredError) as raised:
        services.business_create(
            owner=owner,
            name="Westminster Shop",
            sector="retail",
            size_band="micro",
            address_line1="1 Parliament Square",
            town="London",
            postcode="SW1A 1AA",
        )
    message = raised.value.messages[0]
    assert "SW1A 1AA is not in an area Dorset Police covers" in message
    assert "101" in message
    assert not Business.objects.exists()


def test_it_refuses_a_malformed_postcode_as_invalid_not_as_uncovered(owner, area):
    with pytest.raises(ValidationError) as raised:
        services.npt_for_postcode("not a postcode")
    assert not isinstance(raised.value, services.NotCoveredError)


def test_it_routes_a_business_again_when_its_postcode_changes(business, other_area):
    services.business_update(business=business, postcode="dt2 7aa", town="Dorchester")
    business.refresh_from_db()
    assert (business.postcode, business.npt_area) == ("DT2 7AA", other_area)


# Submitting a concern


def test_it_records_a_concern_at_tier_1_with_the_business_npt(time_machine, owner, business):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    concern = submit(business, owner)
    concern.refresh_from_db()
    assert re.fullmatch(r"DBC-2026-\d{6}", concern.reference)
    assert concern.reference == f"DBC-2026-{concern.pk:06d}"
    assert concern.tier == Concern.Tier.NPT == 1
    assert concern.npt_area == business.npt_area
    assert concern.status == Concern.Status.NEW
    assert concern.priority == Concern.Priority.NORMAL
    assert concern.created_at == MONDAY_1_JUNE_2026


def test_it_sets_deadlines_in_working_days(time_machine, owner, business):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    concern = submit(business, owner)
    # Normal priority: first response in 3 working days, resolution in 20.
    assert concern.first_response_due_at == dt.datetime(2026, 6, 4, 10, 0, tzinfo=LONDON)
    assert concern.resolution_due_at == dt.datetime(2026, 6, 29, 10, 0, tzinfo=LONDON)


def test_it_writes_one_submitted_event(owner, business):
    concern = submit(business, owner)
    event = ConcernEvent.objects.get(concern=concern)
    assert (event.kind, event.actor, event.to_status) == ("submitted", owner, "new")


def test_it_queues_the_confirmation_email_and_publishes_it_only_after_commit(
    django_capture_on_commit_callbacks, owner, business
):
    factories.published_tasks()  # start from an empty broker queue
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        concern = submit(business, owner)
        email = OutboundEmail.objects.get()
        assert email.to == "owner@example.org"
        assert concern.reference in email.subject
        assert factories.published_tasks() == []
    assert factories.published_tasks() == []  # still nothing: the transaction has not committed
    for callback in callbacks:
        callback()
    assert factories.published_tasks() == [("engagement.tasks.deliver_email", [email.pk])]


def test_it_gives_back_the_same_concern_for_the_same_submission_key(owner, business):
    key = uuid.uuid4()
    first, _ = services.concern_submit(
        business=business, reporter=owner, details=details(), submission_key=key
    )
    second, token = services.concern_submit(
        business=business,
        reporter=owner,
        details=details(description="Submitted again"),
        submission_key=key,
        attachments=[_checked(factories.png_upload())],
    )
    assert second.pk == first.pk
    assert token is None
    assert Concern.objects.count() == 1
    assert ConcernEvent.objects.count() == 1
    assert OutboundEmail.objects.count() == 1
    assert not Attachment.objects.exists()


def _checked(upload):
    from engagement.forms import accepted_attachment

    return accepted_attachment(upload)


def test_it_stores_attachments_under_a_random_name_keeping_the_original(owner, business):
    upload = _checked(factories.png_upload("till <cctv>.png"))
    concern = submit(business, owner, attachments=[upload])
    attachment = concern.attachments.get()
    assert attachment.original_name == "till <cctv>.png"
    assert attachment.content_type == "image/png"
    assert re.fullmatch(r"attachments/\d{4}/\d{2}/[0-9a-f]{32}\.png", attachment.file.name)
    assert attachment.uploaded_by == owner


def test_it_refuses_an_attachment_the_form_did_not_check(owner, business):
    with pytest.raises(ValidationError):
        submit(business, owner, attachments=[factories.png_upload()])
    assert not Concern.objects.exists()


# Guests


def test_it_holds_a_guest_report_until_it_is_confirmed(area):
    concern, token = guest_submit()
    assert concern.status == Concern.Status.UNCONFIRMED
    assert concern.reporter is None
    assert concern.npt_area == area
    assert concern.first_response_due_at is None and concern.resolution_due_at is None
    assert concern.business.postcode == "BH15 1HJ"
    assert not concern.business.memberships.exists()


def test_it_gives_a_guest_an_unguessable_token_and_stores_only_its_hash(area):
    concern, token = guest_submit()
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    concern.refresh_from_db()
    assert concern.tracking_token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = " ".join(str(value) for value in Concern.objects.values().get(pk=concern.pk).values())
    assert token not in stored
    assert services.concern_for_token(token) == concern


def test_it_gives_every_guest_a_different_token(area):
    tokens = {guest_submit()[1] for _ in range(5)}
    assert len(tokens) == 5


def test_it_emails_the_guest_the_private_link_and_nothing_else(area):
    concern, token = guest_submit()
    email = OutboundEmail.objects.get()
    assert email.to == "guest@example.org"
    assert f"/report/track/{token}/" in email.body_text
    assert kinds(concern) == ["submitted"]


def test_it_confirms_a_guest_report_once(time_machine, area):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    concern, _ = guest_submit()
    time_machine.move_to(MONDAY_1_JUNE_2026 + dt.timedelta(days=1), tick=False)
    assert services.concern_confirm_guest(concern=concern) is True
    assert services.concern_confirm_guest(concern=concern) is False
    concern.refresh_from_db()
    assert concern.status == Concern.Status.NEW
    assert concern.confirmed_at == MONDAY_1_JUNE_2026 + dt.timedelta(days=1)
    # The clock starts when the guest confirms: Tuesday + 3 working days.
    assert concern.first_response_due_at == dt.datetime(2026, 6, 5, 10, 0, tzinfo=LONDON)
    assert kinds(concern) == ["submitted", "confirmed"]
    assert list(OutboundEmail.objects.values_list("subject", flat=True)) == [
        f"Confirm your report {concern.reference}",
        f"We have your report {concern.reference}",
    ]


def test_it_does_not_email_an_unconfirmed_guest_about_triage(area, npt_officer):
    concern, _ = guest_submit()
    services.concern_add_note(concern=concern, actor=npt_officer, body="Spam?")
    assert OutboundEmail.objects.count() == 1  # only the confirmation link


def test_it_refuses_tokens_that_are_empty_wrong_or_huge(area):
    guest_submit()
    assert services.concern_for_token("") is None
    assert services.concern_for_token("x" * 43) is None
    assert services.concern_for_token("x" * 100_000) is None


def test_it_refuses_a_guest_business_outside_dorset(area):
    with pytest.raises(services.NotCoveredError):
        services.guest_concern_submit(
            business_name="London Shop",
            sector="retail",
            postcode="SW1A 1AA",
            town="London",
            details=details(),
            submission_key=uuid.uuid4(),
        )
    assert not Business.objects.exists()


def test_it_purges_old_unconfirmed_guest_reports_with_their_placeholder_business(
    time_machine, area
):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    stale, _ = guest_submit()
    confirmed, _ = guest_submit()
    services.concern_confirm_guest(concern=confirmed)
    time_machine.move_to(MONDAY_1_JUNE_2026 + dt.timedelta(days=8), tick=False)
    fresh, _ = guest_submit()
    assert services.concern_purge_unconfirmed() == 1
    assert set(Concern.objects.values_list("pk", flat=True)) == {confirmed.pk, fresh.pk}
    assert not Business.objects.filter(pk=stale.business_id).exists()


# Triage


def test_it_assigns_an_officer_of_the_concern_npt(concern, npt_officer):
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    concern.refresh_from_db()
    assert concern.assigned_officer == npt_officer
    assert concern.status == Concern.Status.IN_PROGRESS
    event = concern.events.get()
    assert (event.kind, event.actor, event.from_status, event.to_status) == (
        "assigned",
        npt_officer,
        "new",
        "in_progress",
    )


def test_it_does_nothing_when_assigning_the_same_officer_again(concern, npt_officer):
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    assert kinds(concern) == ["assigned"]


def test_it_refuses_to_assign_an_officer_of_another_npt(concern, npt_officer, other_npt_officer):
    with pytest.raises(ValidationError):
        services.concern_assign(concern=concern, officer=other_npt_officer, actor=npt_officer)
    concern.refresh_from_db()
    assert concern.assigned_officer is None
    assert concern.status == Concern.Status.NEW
    assert not concern.events.exists()


def test_it_sets_priority_and_recalculates_deadlines_from_arrival(
    time_machine, owner, business, npt_officer
):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    concern = submit(business, owner)
    time_machine.move_to(MONDAY_1_JUNE_2026 + dt.timedelta(days=2), tick=False)
    services.concern_set_priority(concern=concern, priority="urgent", actor=npt_officer)
    concern.refresh_from_db()
    assert concern.priority == "urgent"
    assert concern.first_response_due_at == dt.datetime(2026, 6, 2, 10, 0, tzinfo=LONDON)
    assert concern.resolution_due_at == dt.datetime(2026, 6, 8, 10, 0, tzinfo=LONDON)
    event = concern.events.get(kind="priority")
    assert (event.actor, event.detail) == (npt_officer, "Normal → Urgent")


def test_it_refuses_an_unknown_priority(concern, npt_officer):
    with pytest.raises(ValidationError):
        services.concern_set_priority(concern=concern, priority="whenever", actor=npt_officer)
    assert not concern.events.exists()


def test_it_posts_a_public_update_and_emails_the_reporter(concern, npt_officer):
    update = services.concern_post_update(
        concern=concern, actor=npt_officer, body="We will patrol your street tonight."
    )
    concern.refresh_from_db()
    assert update.kind == ConcernUpdate.Kind.PUBLIC
    assert concern.status == Concern.Status.IN_PROGRESS
    assert concern.first_responded_at is not None
    assert kinds(concern) == ["update"]
    email = OutboundEmail.objects.get()
    assert email.to == concern.contact_email
    assert "We will patrol your street tonight." in email.body_text


def test_it_adds_an_internal_note_without_emailing_anyone(concern, npt_officer):
    note = services.concern_add_note(
        concern=concern, actor=npt_officer, body="Known shoplifters; see intel log."
    )
    concern.refresh_from_db()
    assert note.kind == ConcernUpdate.Kind.INTERNAL
    assert concern.status == Concern.Status.NEW
    assert kinds(concern) == ["note"]
    assert not OutboundEmail.objects.exists()


def test_it_asks_a_question_and_pauses_the_clock(time_machine, concern, npt_officer):
    time_machine.move_to(FRIDAY_5_JUNE_2026, tick=False)
    question = services.concern_ask_question(
        concern=concern, actor=npt_officer, body="Do you have CCTV of the door?"
    )
    concern.refresh_from_db()
    assert question.kind == ConcernUpdate.Kind.QUESTION
    assert concern.status == Concern.Status.WAITING
    assert concern.paused_at == FRIDAY_5_JUNE_2026
    assert concern.first_responded_at == FRIDAY_5_JUNE_2026
    event = concern.events.get()
    assert (event.kind, event.from_status, event.to_status) == ("question", "new", "waiting")
    email = OutboundEmail.objects.get()
    assert "Do you have CCTV of the door?" in email.body_text
    assert email.to == concern.contact_email


def test_it_refuses_a_question_on_a_concern_with_an_outcome(resolved_concern, npt_officer):
    before = kinds(resolved_concern)
    with pytest.raises(ValidationError):
        services.concern_ask_question(concern=resolved_concern, actor=npt_officer, body="?")
    assert kinds(resolved_concern) == before


def test_it_resumes_the_clock_on_reply_and_pushes_deadlines_by_the_working_days_paused(
    time_machine, owner, business, npt_officer
):
    time_machine.move_to(FRIDAY_5_JUNE_2026, tick=False)
    concern = submit(business, owner)
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    services.concern_ask_question(concern=concern, actor=npt_officer, body="Which door?")
    concern.refresh_from_db()
    resolution_due = concern.resolution_due_at
    first_response_due = concern.first_response_due_at
    # Asked on Friday, answered on Tuesday: Monday and Tuesday were spent waiting.
    time_machine.move_to(dt.datetime(2026, 6, 9, 11, 0, tzinfo=LONDON), tick=False)
    services.concern_reply(concern=concern, author=owner, body="The side door.")
    concern.refresh_from_db()
    assert concern.status == Concern.Status.IN_PROGRESS
    assert concern.paused_at is None
    assert concern.resolution_due_at == deadlines.add_working_days(resolution_due, 2)
    # The question was the first response, so that deadline is met and stays put.
    assert concern.first_response_due_at == first_response_due
    event = concern.events.get(kind="replied")
    assert (event.actor, event.from_status, event.to_status) == (owner, "waiting", "in_progress")
    officer_email = OutboundEmail.objects.get(to=npt_officer.email)
    assert "The side door." in officer_email.body_text


def test_it_does_not_move_deadlines_for_a_reply_over_the_same_weekend(
    time_machine, owner, business, npt_officer
):
    time_machine.move_to(FRIDAY_5_JUNE_2026, tick=False)
    concern = submit(business, owner)
    services.concern_ask_question(concern=concern, actor=npt_officer, body="Which door?")
    concern.refresh_from_db()
    resolution_due = concern.resolution_due_at
    time_machine.move_to(dt.datetime(2026, 6, 7, 20, 0, tzinfo=LONDON), tick=False)  # Sunday
    services.concern_reply(concern=concern, author=owner, body="The side door.")
    concern.refresh_from_db()
    assert concern.resolution_due_at == resolution_due


def test_it_records_a_reply_to_a_concern_that_was_not_waiting(concern, owner):
    services.concern_reply(concern=concern, author=owner, body="One more thing.")
    concern.refresh_from_db()
    assert concern.status == Concern.Status.NEW
    assert kinds(concern) == ["replied"]
    assert not OutboundEmail.objects.exists()  # nobody assigned yet to tell


def test_it_resolves_with_an_outcome_and_tells_the_business(concern, npt_officer):
    services.concern_resolve(
        concern=concern, actor=npt_officer, outcome=factories.outcome("action-taken")
    )
    concern.refresh_from_db()
    assert concern.status == Concern.Status.RESOLVED
    assert concern.outcome.slug == "action-taken"
    assert concern.resolved_at is not None and concern.first_responded_at is not None
    event = concern.events.get()
    assert (event.kind, event.from_status, event.to_status) == ("resolved", "new", "resolved")
    assert OutboundEmail.objects.get().subject == f"Outcome of your concern {concern.reference}"


@pytest.mark.parametrize("note", ["", "   \n "])
def test_it_requires_a_note_for_outcomes_that_need_explaining(concern, npt_officer, note):
    with pytest.raises(ValidationError) as raised:
        services.concern_resolve(
            concern=concern,
            actor=npt_officer,
            outcome=factories.outcome("no-further-action"),
            note=note,
        )
    assert "Explain the outcome" in raised.value.messages[0]
    concern.refresh_from_db()
    assert concern.status == Concern.Status.NEW
    assert not concern.events.exists()


def test_it_resolves_with_a_note_when_the_outcome_needs_one(concern, npt_officer):
    services.concern_resolve(
        concern=concern,
        actor=npt_officer,
        outcome=factories.outcome("no-further-action"),
        note="There is no footage and no suspect.",
    )
    concern.refresh_from_db()
    assert concern.outcome_note == "There is no footage and no suspect."


def test_it_resolves_a_waiting_concern_and_stops_its_pause(waiting_concern, npt_officer):
    services.concern_resolve(
        concern=waiting_concern, actor=npt_officer, outcome=factories.outcome()
    )
    waiting_concern.refresh_from_db()
    assert waiting_concern.status == Concern.Status.RESOLVED
    assert waiting_concern.paused_at is None


def test_it_does_not_resolve_twice(resolved_concern, npt_officer):
    before = kinds(resolved_concern)
    services.concern_resolve(
        concern=resolved_concern, actor=npt_officer, outcome=factories.outcome()
    )
    assert kinds(resolved_concern) == before


def test_it_closes_a_concern_the_business_says_is_resolved(resolved_concern, owner):
    services.concern_feedback(concern=resolved_concern, author=owner, resolved=True)
    resolved_concern.refresh_from_db()
    assert resolved_concern.status == Concern.Status.CLOSED
    assert resolved_concern.reporter_satisfied is True
    assert resolved_concern.closed_at is not None
    event = resolved_concern.events.order_by("pk").last()
    assert (event.kind, event.from_status, event.to_status) == ("closed", "resolved", "closed")


def test_it_reopens_a_concern_the_business_says_is_not_resolved_with_a_fresh_deadline(
    time_machine, resolved_concern, owner, npt_officer
):
    time_machine.move_to(dt.datetime(2026, 7, 1, 12, 0, tzinfo=LONDON), tick=False)
    services.concern_feedback(
        concern=resolved_concern, author=owner, resolved=False, comment="They came back today."
    )
    resolved_concern.refresh_from_db()
    assert resolved_concern.status == Concern.Status.IN_PROGRESS
    assert resolved_concern.reporter_satisfied is False
    assert resolved_concern.resolved_at is None
    assert resolved_concern.resolution_due_at == deadlines.add_working_days(
        dt.datetime(2026, 7, 1, 12, 0, tzinfo=LONDON), 20
    )
    event = resolved_concern.events.order_by("pk").last()
    assert (event.kind, event.detail) == ("reopened", "They came back today.")
    assert resolved_concern.updates.get(kind="reply").body == "They came back today."
    officer_email = OutboundEmail.objects.get(to=npt_officer.email)
    assert "They came back today." in officer_email.body_text


def test_it_ignores_feedback_on_a_concern_without_an_outcome(concern, owner):
    services.concern_feedback(concern=concern, author=owner, resolved=False)
    concern.refresh_from_db()
    assert concern.status == Concern.Status.NEW
    assert not concern.events.exists()


STATE_CHANGES = {
    "assign": lambda c, officer, owner: services.concern_assign(
        concern=c, officer=officer, actor=officer
    ),
    "priority": lambda c, officer, owner: services.concern_set_priority(
        concern=c, priority="high", actor=officer
    ),
    "update": lambda c, officer, owner: services.concern_post_update(
        concern=c, actor=officer, body="Update"
    ),
    "note": lambda c, officer, owner: services.concern_add_note(
        concern=c, actor=officer, body="Note"
    ),
    "question": lambda c, officer, owner: services.concern_ask_question(
        concern=c, actor=officer, body="Question"
    ),
    "replied": lambda c, officer, owner: services.concern_reply(
        concern=c, author=owner, body="Reply"
    ),
    "resolved": lambda c, officer, owner: services.concern_resolve(
        concern=c, actor=officer, outcome=factories.outcome()
    ),
}


@pytest.mark.parametrize("change", STATE_CHANGES)
def test_it_writes_exactly_one_event_for_each_state_change(change, concern, npt_officer, owner):
    STATE_CHANGES[change](concern, npt_officer, owner)
    assert concern.events.count() == 1


@pytest.mark.parametrize("resolved, kind", [(True, "closed"), (False, "reopened")])
def test_it_writes_exactly_one_event_for_feedback(resolved, kind, resolved_concern, owner):
    before = resolved_concern.events.count()
    services.concern_feedback(concern=resolved_concern, author=owner, resolved=resolved)
    assert resolved_concern.events.count() == before + 1
    assert resolved_concern.events.order_by("pk").last().kind == kind


def test_it_refuses_to_save_an_event_again(concern, npt_officer):
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    event = concern.events.get()
    event.detail = "Rewritten history"
    event.kind = ConcernEvent.Kind.CLOSED
    with pytest.raises(ValidationError):
        event.save()
    event.refresh_from_db()
    assert (event.kind, event.detail) == ("assigned", f"Assigned to {npt_officer}")


# A racing duplicate guest submission leaves no placeholder business


def test_it_leaves_no_orphan_business_when_a_duplicate_guest_submission_races(monkeypatch, area):
    key = uuid.uuid4()
    real_deadlines_for = services.deadlines.deadlines_for
    raced = []

    def the_other_request_wins(**kwargs):
        # Between this request's "already submitted?" check and its insert, the other request
        # with the same key submits and commits.
        if not raced:
            raced.append(True)
            monkeypatch.setattr(services.deadlines, "deadlines_for", real_deadlines_for)
            guest_submit(submission_key=key)
        return real_deadlines_for(**kwargs)

    monkeypatch.setattr(services.deadlines, "deadlines_for", the_other_request_wins)
    concern, token = guest_submit(submission_key=key)
    assert raced
    assert token is None  # the duplicate path
    assert Concern.objects.get() == concern
    assert Business.objects.count() == 1
    assert Business.objects.get() == concern.business
