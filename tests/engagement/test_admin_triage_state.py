"""The admin's triage forms follow the concern's state: what is offered, stale forms, outcomes."""

import re

import pytest
from django.urls import reverse

from engagement import services
from engagement.models import Concern, ConcernEvent
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
