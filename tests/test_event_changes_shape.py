"""Events record what they changed as structured old and new values (dorset_bcp.event_changes):
each service that changes a concern or a theme, and the helpers this needs beyond those
tests/test_event_changes_words.py covers."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from dorset_bcp.event_changes import as_value, change, changes_between, field_choices, rows
from engagement import services
from engagement.models import Concern, ConcernEvent
from escalation import services as escalation
from escalation.models import ThemeEvent
from tests import factories

MONDAY_1_JUNE_2026 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


def last_event(concern, kind) -> ConcernEvent:
    return concern.events.filter(kind=kind).latest("pk")


# The helpers


def test_a_related_row_is_its_id_and_the_words_it_was_shown_as(npt_officer):
    assert as_value(npt_officer) == {"id": npt_officer.pk, "label": str(npt_officer)}


def test_a_moment_is_kept_as_iso_8601():
    moment = dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.UTC)
    assert as_value(moment) == "2026-06-01T09:30:00+00:00"
    assert as_value(dt.date(2026, 6, 1)) == "2026-06-01"


def test_only_the_fields_that_differ_are_recorded():
    before = {"priority": "normal", "status": "new"}
    after = {"priority": "high", "status": "new"}
    assert changes_between(before, after) == {"priority": {"from": "normal", "to": "high"}}


def test_a_models_choices_read_as_their_labels():
    recorded = change("priority", "normal", "high")
    assert rows(recorded, {"priority": "Priority"}, field_choices(Concern)) == [
        ("Priority", "Normal", "High")
    ]


def test_rows_read_a_redacted_change_as_changed():
    assert rows({"postcode": {"changed": True}}) == [("Postcode", "(not recorded)", "changed")]


def test_rows_read_yes_and_no():
    assert rows(change("legal_hold", False, True)) == [("Legal hold", "No", "Yes")]


# Concern events


@pytest.fixture
def now():
    with time_machine.travel(MONDAY_1_JUNE_2026, tick=False):
        yield timezone.now()


def test_assigning_records_the_officer_and_the_status_it_moved_between(concern, npt_officer):
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)

    event = last_event(concern, ConcernEvent.Kind.ASSIGNED)
    assert event.changes == {
        "assigned_officer": {"from": None, "to": {"id": npt_officer.pk, "label": str(npt_officer)}}
    }
    # The status is the event's own from/to columns, as every item event's (and the sweep's).
    assert (event.from_status, event.to_status) == ("new", "in_progress")


def test_reassigning_records_the_officer_it_was_with(concern, npt_officer, area):
    colleague = factories.OfficerFactory(area=area, full_name="PC Carol Colleague")
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    services.concern_assign(concern=concern, officer=colleague, actor=npt_officer)

    event = last_event(concern, ConcernEvent.Kind.ASSIGNED)
    assert event.changes == {
        "assigned_officer": {
            "from": {"id": npt_officer.pk, "label": str(npt_officer)},
            "to": {"id": colleague.pk, "label": "PC Carol Colleague"},
        }
    }


def test_priority_records_its_values_and_the_deadlines_it_moved(now, concern, npt_officer):
    before = Concern.objects.get(pk=concern.pk)
    services.concern_set_priority(concern=concern, priority="urgent", actor=npt_officer)

    after = Concern.objects.get(pk=concern.pk)
    event = last_event(concern, ConcernEvent.Kind.PRIORITY)
    assert event.changes["priority"] == {"from": "normal", "to": "urgent"}
    assert event.changes["resolution_due_at"] == {
        "from": as_value(before.resolution_due_at),
        "to": as_value(after.resolution_due_at),
    }


def test_a_legal_hold_records_on_and_off_with_its_reason(concern, npt_officer):
    services.concern_set_legal_hold(
        concern=concern, hold=True, reason="Case 55/1234", actor=npt_officer
    )
    services.concern_set_legal_hold(concern=concern, hold=False, reason="", actor=npt_officer)

    placed, lifted = concern.events.filter(kind=ConcernEvent.Kind.LEGAL_HOLD).order_by("pk")
    assert placed.changes == {
        "legal_hold": {"from": False, "to": True},
        "legal_hold_reason": {"from": "", "to": "Case 55/1234"},
    }
    assert lifted.changes == {
        "legal_hold": {"from": True, "to": False},
        "legal_hold_reason": {"from": "Case 55/1234", "to": ""},
    }


def test_resolving_records_the_status_and_outcome(concern, npt_officer):
    outcome = factories.outcome()
    services.concern_resolve(concern=concern, actor=npt_officer, outcome=outcome)

    event = last_event(concern, ConcernEvent.Kind.RESOLVED)
    assert event.changes == {
        "outcome": {"from": None, "to": {"id": outcome.pk, "label": str(outcome)}},
    }
    assert (event.from_status, event.to_status) == ("new", "resolved")


def test_reopening_and_closing_record_the_status(concern, npt_officer, owner):
    services.concern_resolve(concern=concern, actor=npt_officer, outcome=factories.outcome())
    services.concern_feedback(concern=concern, author=owner, resolved=False, comment="Not yet")
    reopened = last_event(concern, ConcernEvent.Kind.REOPENED)
    assert (reopened.from_status, reopened.to_status) == ("resolved", "in_progress")

    services.concern_resolve(concern=concern, actor=npt_officer, outcome=factories.outcome())
    services.concern_feedback(concern=concern, author=owner, resolved=True)
    closed = last_event(concern, ConcernEvent.Kind.CLOSED)
    assert (closed.from_status, closed.to_status) == ("resolved", "closed")
    assert closed.changes is None


def test_marking_a_duplicate_records_the_concern_it_joined(concern, business, npt_officer):
    original = factories.ConcernFactory(business=business)
    services.concern_mark_duplicate(concern=concern, original=original, actor=npt_officer)

    event = last_event(concern, ConcernEvent.Kind.DUPLICATE)
    assert (event.from_status, event.to_status) == ("new", "closed")
    assert event.changes["duplicate_of"] == {
        "from": None,
        "to": {"id": original.pk, "label": original.reference},
    }
    assert event.changes["outcome"]["to"]["label"] == "Duplicate"


def test_withdrawing_records_the_status_and_outcome_not_the_reason(concern, owner):
    services.concern_withdraw(concern=concern, author=owner, reason="Zebedee found it")

    event = last_event(concern, ConcernEvent.Kind.WITHDRAWN)
    assert (event.from_status, event.to_status) == ("new", "closed")
    assert event.changes["outcome"]["to"]["label"] == "Withdrawn by the reporter"
    assert "Zebedee" not in str(event.changes)


def test_asking_and_replying_record_the_status(concern, npt_officer, owner):
    services.concern_ask_question(concern=concern, actor=npt_officer, body="When?")
    services.concern_reply(concern=concern, author=owner, body="Tuesday")

    asked = last_event(concern, ConcernEvent.Kind.QUESTION_ASKED)
    replied = last_event(concern, ConcernEvent.Kind.REPLIED)
    assert (asked.from_status, asked.to_status, asked.changes) == ("new", "waiting", None)
    assert (replied.from_status, replied.to_status) == ("waiting", "in_progress")


def test_a_note_changes_nothing_and_records_no_changes(concern, npt_officer):
    services.concern_add_note(concern=concern, actor=npt_officer, body="Seen")
    assert last_event(concern, ConcernEvent.Kind.NOTE_ADDED).changes is None


# Moves and themes


def test_escalating_records_the_tier_and_the_new_deadlines(now, concern, npt_officer):
    before = Concern.objects.get(pk=concern.pk)
    escalation.item_escalate(item=concern, actor=npt_officer, reason="Needs the group")

    after = Concern.objects.get(pk=concern.pk)
    event = last_event(concern, ConcernEvent.Kind.ESCALATED)
    assert (event.from_tier, event.to_tier) == (1, 2)
    assert "tier" not in event.changes  # the tier is the event's own from/to columns
    moved = {
        name: {"from": as_value(getattr(before, name)), "to": as_value(getattr(after, name))}
        for name in ("first_response_due_at", "resolution_due_at")
        if getattr(before, name) != getattr(after, name)
    }
    assert moved  # the group's deadlines are not the team's
    assert {name: event.changes[name] for name in moved} == moved


def test_resolving_a_theme_records_it_on_the_theme_and_each_open_concern(concern, npt_officer):
    theme = factories.ThemeFactory(npt_area=concern.npt_area, category=concern.category)
    theme.concerns.add(concern)
    outcome = factories.outcome()
    escalation.theme_resolve(theme=theme, actor=npt_officer, outcome=outcome)

    theme_event = theme.events.get(kind=ThemeEvent.Kind.RESOLVED)
    outcome_given = {"outcome": {"from": None, "to": {"id": outcome.pk, "label": str(outcome)}}}
    assert theme_event.changes == outcome_given
    assert (theme_event.from_status, theme_event.to_status) == ("open", "resolved")
    concern_event = last_event(concern, ConcernEvent.Kind.RESOLVED)
    assert concern_event.changes == outcome_given
    assert (concern_event.from_status, concern_event.to_status) == ("new", "resolved")
