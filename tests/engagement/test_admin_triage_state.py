"""The admin's triage forms follow the concern's state: what is offered, stale forms, outcomes."""

import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from engagement import services
from engagement.models import Concern, ConcernEvent, ConcernUpdate, OutboundEmail
from escalation import services as chain
from tests import factories

MOVED_ON = "they decide what happens next"


@pytest.fixture
def officer_client(client, npt_officer):
    client.force_login(npt_officer)
    return client


def change_url(item):
    return reverse("admin:engagement_concern_change", args=[item.pk])


def triage_url(item, action):
    return reverse("admin:engagement_concern_triage", args=[item.pk, action])


def seen_on(page: str, action: str) -> str:
    """The hidden record of what the officer saw, from one triage form on the page."""
    return re.search(rf'name="{action}-seen" value="([^"]*)"', page).group(1).replace("&amp;", "&")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_it_preselects_the_concerns_current_priority(officer_client, business, owner):
    concern = factories.ConcernFactory(business=business, reporter=owner, priority="urgent")
    page = officer_client.get(change_url(concern)).content.decode()
    select = re.search(r'<select name="priority-priority".*?</select>', page, re.DOTALL).group(0)
    assert re.search(r'<option value="urgent" selected>', select)
    assert not re.search(r'<option value="low" selected>', select)


def test_it_offers_only_updates_and_notes_on_a_resolved_concern(
    officer_client, concern, npt_officer
):
    services.concern_resolve(concern=concern, actor=npt_officer, outcome=factories.outcome())
    page = officer_client.get(change_url(concern)).content.decode()
    for action in ("assign", "priority", "question", "resolve", "escalate"):
        assert f'id="triage-form-{action}"' not in page, action
    for action in ("update", "note"):
        assert f'id="triage-form-{action}"' in page, action
    assert "This concern has an outcome: Advice given." in page


def test_it_offers_no_tier_one_action_once_the_group_holds_the_concern(
    officer_client, concern, npt_officer, area
):
    area.group = factories.CoordinatingGroupFactory(name="BCP Business Co-ordinating Group")
    area.save(update_fields=["group"])
    chain.item_escalate(item=concern, actor=npt_officer, reason="Wider problem.", from_tier=1)
    page = officer_client.get(change_url(concern)).content.decode()
    assert 'id="triage-form-resolve"' not in page
    assert 'id="triage-form-escalate"' not in page
    assert f"is with BCP Business Co-ordinating Group; {MOVED_ON}" in page


def test_it_refuses_to_resolve_a_resolved_concern_rather_than_claim_success(
    officer_client, concern, npt_officer
):
    services.concern_resolve(concern=concern, actor=npt_officer, outcome=factories.outcome())
    response = officer_client.post(
        triage_url(concern, "resolve"),
        {"resolve-outcome": factories.outcome("action-taken").pk, "resolve-note": "Again"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This concern has an outcome already (Outcome given); nothing was recorded." in page
    assert "the business has been told the outcome" not in page
    assert concern.events.filter(kind=ConcernEvent.Kind.RESOLVED).count() == 1
    concern.refresh_from_db()
    assert concern.outcome.slug == "advice-given"


def test_it_refuses_a_stale_form_saying_what_changed_then_lets_it_be_sent_again(
    officer_client, concern, area
):
    seen = seen_on(officer_client.get(change_url(concern)).content.decode(), "priority")
    colleague = factories.OfficerFactory(area=area, full_name="PC Colin Other")
    services.concern_assign(concern=concern, officer=colleague, actor=colleague)

    response = officer_client.post(
        triage_url(concern, "priority"), {"priority-priority": "urgent", "priority-seen": seen}
    )

    assert response.status_code == 409
    page = response.content.decode()
    assert "Nothing was recorded: this concern changed since you opened the page" in page
    assert "status is now In progress (it was New)" in page
    assert "assigned officer is now PC Colin Other (it was nobody)" in page
    concern.refresh_from_db()
    assert concern.priority == Concern.Priority.NORMAL
    # The form comes back as the concern stands now: sending it again goes ahead.
    again = officer_client.post(
        triage_url(concern, "priority"),
        {"priority-priority": "urgent", "priority-seen": seen_on(page, "priority")},
    )
    assert again.status_code == 302
    concern.refresh_from_db()
    assert concern.priority == Concern.Priority.URGENT


def test_it_keeps_a_stale_messages_text_for_sending_again(officer_client, concern, npt_officer):
    seen = seen_on(officer_client.get(change_url(concern)).content.decode(), "update")
    services.concern_set_priority(concern=concern, priority="high", actor=npt_officer)
    response = officer_client.post(
        triage_url(concern, "update"),
        {"update-body": "Patrols on the Quay tonight.", "update-seen": seen},
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "priority is now High (it was Normal)" in page
    assert "Patrols on the Quay tonight.</textarea>" in page
    assert not concern.updates.exists()


def test_it_says_nothing_changed_when_the_priority_is_set_to_what_it_is(officer_client, concern):
    response = officer_client.post(triage_url(concern, "priority"), {"priority-priority": "normal"})
    assert response.status_code == 302
    assert messages_of(response) == ["The priority is already Normal; nothing changed."]
    assert not concern.events.exists()


def test_it_says_nothing_changed_when_assigning_the_assigned_officer(
    officer_client, concern, npt_officer
):
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    response = officer_client.post(
        triage_url(concern, "assign"), {"assign-officer": npt_officer.pk}
    )
    assert messages_of(response) == [f"It is already assigned to {npt_officer}; nothing changed."]
    assert concern.events.count() == 1


def test_it_shows_the_history_in_words(officer_client, concern, npt_officer, area):
    area.group = factories.CoordinatingGroupFactory()
    area.save(update_fields=["group"])
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    chain.item_escalate(item=concern, actor=npt_officer, reason="Wider problem.", from_tier=1)
    page = officer_client.get(change_url(concern)).content.decode()
    history = page[page.index("History (every state change)") :]
    assert "In progress" in history
    assert "Business Co-ordinating Group" in history
    assert ">in_progress<" not in history


# After "not resolved" or an escalation, the outcome shown is the current one only


@pytest.fixture
def reopened(concern, npt_officer, owner):
    services.concern_resolve(
        concern=concern, actor=npt_officer, outcome=factories.outcome(), note="Lock the till."
    )
    services.concern_feedback(concern=concern, author=owner, resolved=False, comment="Still going")
    concern.refresh_from_db()
    assert concern.status == Concern.Status.IN_PROGRESS
    return concern


def test_the_owner_sees_no_outcome_on_a_reopened_concern(client, owner, reopened):
    client.force_login(owner)
    page = client.get(reopened.get_absolute_url()).content.decode()
    assert "Outcome: Advice given" not in page
    assert "Lock the till." not in page
    dashboard = client.get(reverse("engagement:my_dashboard")).content.decode()
    assert "Advice given" not in dashboard


def test_the_admin_shows_no_outcome_on_a_reopened_concern_but_keeps_it_in_history(
    officer_client, reopened
):
    page = officer_client.get(change_url(reopened)).content.decode()
    outcome_row = re.search(
        r"<label>Outcome:</label>\s*<div class=\"readonly\">(.*?)</div>", page, re.DOTALL
    )
    assert outcome_row.group(1).strip() == "-"
    history = page[page.index("History (every state change)") :]
    assert "Advice given" in history


def test_the_group_sees_no_outcome_on_a_reopened_concern_escalated_to_it(
    client, reopened, npt_officer, area
):
    group = factories.CoordinatingGroupFactory(name="BCP Business Co-ordinating Group")
    area.group = group
    area.save(update_fields=["group"])
    member = factories.GroupMemberFactory(group=group)
    chain.item_escalate(item=reopened, actor=npt_officer, reason="Still going.", from_tier=1)
    client.force_login(member)
    page = client.get(reverse("escalation:item", args=["concern", reopened.pk])).content.decode()
    assert reopened.reference in page
    assert '<dt class="col-sm-3">Outcome</dt>' not in page


# The admin's tier-1 actions stop once the Group or the Partnership holds the concern


CHANGELIST = "/admin/engagement/concern/"
MOVED = "This concern is now with the {}; they decide what happens next."


def move_to_tier(concern, tier):
    Concern.objects.filter(pk=concern.pk).update(tier=tier)
    concern.refresh_from_db()
    return concern


def snapshot(concern):
    concern.refresh_from_db()
    return (
        concern.status,
        concern.priority,
        concern.assigned_officer_id,
        concern.outcome_id,
        concern.tier,
        ConcernUpdate.objects.filter(concern=concern).count(),
        ConcernEvent.objects.filter(concern=concern).count(),
        OutboundEmail.objects.count(),
    )


def tier_one_actions(officer):
    return {
        "resolve": {"resolve-outcome": factories.outcome().pk, "resolve-note": "Done."},
        "priority": {"priority-priority": "urgent"},
        "question": {"question-body": "Do you have CCTV?"},
        "assign": {"assign-officer": officer.pk},
        "escalate": {"escalate-reason": "Needs the group."},
    }


@pytest.mark.parametrize("tier", [Concern.Tier.GROUP, Concern.Tier.PARTNERSHIP])
@pytest.mark.parametrize("action", ["resolve", "priority", "question", "assign", "escalate"])
def test_it_refuses_an_officers_tier_1_action_once_the_concern_has_moved_up(
    client, npt_officer, concern, tier, action
):
    move_to_tier(concern, tier)
    client.force_login(npt_officer)
    before = snapshot(concern)
    response = client.post(triage_url(concern, action), tier_one_actions(npt_officer)[action])
    assert response.status_code == 400
    page = response.content.decode()
    if action == "escalate":  # escalation's own guard says the same in its words
        assert "now with" in page
    else:
        assert MOVED.format(Concern.Tier(tier).label) in page
    assert snapshot(concern) == before


@pytest.mark.parametrize("action", ["resolve", "priority", "question", "assign"])
def test_it_refuses_a_superusers_tier_1_action_at_tier_3_too(
    client, superuser, npt_officer, concern, action
):
    move_to_tier(concern, Concern.Tier.PARTNERSHIP)
    client.force_login(superuser)
    before = snapshot(concern)
    response = client.post(triage_url(concern, action), tier_one_actions(npt_officer)[action])
    assert response.status_code == 400
    assert MOVED.format("Business Safety Partnership") in response.content.decode()
    assert snapshot(concern) == before


@pytest.mark.parametrize("action", ["resolve", "priority", "question", "assign", "escalate"])
def test_it_lets_an_officer_act_at_tier_1(client, npt_officer, concern, action):
    client.force_login(npt_officer)
    before = snapshot(concern)
    response = client.post(triage_url(concern, action), tier_one_actions(npt_officer)[action])
    assert response.status_code == 302
    assert snapshot(concern) != before


@pytest.mark.parametrize("action", ["update", "note"])
def test_it_still_lets_an_officer_update_or_note_a_concern_at_tier_3(
    client, npt_officer, concern, action
):
    move_to_tier(concern, Concern.Tier.PARTNERSHIP)
    client.force_login(npt_officer)
    response = client.post(triage_url(concern, action), {f"{action}-body": "Still on it."})
    assert response.status_code == 302
    assert ConcernUpdate.objects.filter(concern=concern, body="Still on it.").exists()


def test_it_checks_the_tier_on_the_locked_row_not_the_callers_copy(npt_officer, concern):
    stale = Concern.objects.get(pk=concern.pk)  # read while still at tier 1
    move_to_tier(concern, Concern.Tier.GROUP)
    assert stale.tier == Concern.Tier.NPT
    with pytest.raises(ValidationError, match="Business Co-ordinating Group"):
        services.concern_resolve(
            concern=stale, actor=npt_officer, outcome=factories.outcome(), from_tier=1
        )
    concern.refresh_from_db()
    assert concern.is_open
    # Without from_tier (the Group's own resolve) the tier is not in question.
    services.concern_resolve(concern=stale, actor=npt_officer, outcome=factories.outcome())
    concern.refresh_from_db()
    assert concern.status == Concern.Status.RESOLVED


def test_it_assigns_to_me_only_the_concerns_still_at_tier_1(client, npt_officer, business, owner):
    at_npt = factories.ConcernFactory(business=business, reporter=owner)
    moved = move_to_tier(factories.ConcernFactory(business=business, reporter=owner), 2)
    client.force_login(npt_officer)
    response = client.post(
        CHANGELIST,
        {"action": "assign_to_me", "_selected_action": [at_npt.pk, moved.pk]},
        follow=True,
    )
    assert "1 concern(s) assigned to you." in response.content.decode()
    at_npt.refresh_from_db()
    moved.refresh_from_db()
    assert at_npt.assigned_officer == npt_officer
    assert moved.assigned_officer is None


# 6. A double-click on a triage message posts it once


@pytest.mark.parametrize("action", ["update", "question", "note"])
def test_it_posts_a_triage_message_once_when_the_form_is_sent_twice(
    client, npt_officer, concern, action
):
    client.force_login(npt_officer)
    page = client.get(f"{CHANGELIST}{concern.pk}/change/").content.decode()
    match = re.search(
        rf'<form id="triage-form-{action}".*?'
        rf'<input type="hidden" name="{action}-submission_key" value="([0-9a-f-]+)"',
        page,
        re.DOTALL,
    )
    assert match, "the triage form carries a hidden one-time key"
    data = {f"{action}-body": "Patrols tonight.", f"{action}-submission_key": match.group(1)}
    assert client.post(triage_url(concern, action), data).status_code == 302
    assert client.post(triage_url(concern, action), data).status_code == 302
    assert ConcernUpdate.objects.filter(concern=concern, body="Patrols tonight.").count() == 1
    emailed = 0 if action == "note" else 1
    assert OutboundEmail.objects.count() == emailed


def test_it_refuses_a_one_time_key_reused_on_another_concern(npt_officer, concern, business, owner):
    key = uuid.uuid4()
    services.concern_post_update(concern=concern, actor=npt_officer, body="A", submission_key=key)
    other = factories.ConcernFactory(business=business, reporter=owner)
    with pytest.raises(ValidationError):
        services.concern_post_update(concern=other, actor=npt_officer, body="B", submission_key=key)
    assert not other.updates.exists()


@pytest.mark.parametrize(
    "seen",
    [
        "status=new&tier=1&priority=normal&assigned_officer=abc",
        "status=new&tier=x&priority=normal&assigned_officer=",
        "status=new&tier=1&priority=normal&assigned_officer=1%00",
    ],
)
def test_a_tampered_record_of_what_was_seen_is_refused_not_a_500(officer_client, concern, seen):
    response = officer_client.post(
        triage_url(concern, "priority"), {"priority-priority": "urgent", "priority-seen": seen}
    )

    assert response.status_code == 409
    assert "Nothing was recorded" in response.content.decode()
    concern.refresh_from_db()
    assert concern.priority != "urgent"
