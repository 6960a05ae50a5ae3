import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from engagement import deadlines
from engagement.models import Concern, ConcernEvent, OutboundEmail
from escalation import services
from escalation.models import Action, PartnerOrganisation, Theme, ThemeEvent
from tests import factories

from .conftest import concern_at_tier


def triage_url(concern, action="escalate"):
    return reverse("admin:engagement_concern_triage", args=[concern.pk, action])


def test_an_officer_escalates_from_the_admin_with_a_reason(
    client, chain, concern, npt_officer, group_member
):
    client.force_login(npt_officer)

    response = client.post(
        triage_url(concern), {"escalate-reason": "Three shops on the street are affected."}
    )

    assert response.status_code == 302
    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.GROUP
    event = concern.events.get(kind=ConcernEvent.Kind.ESCALATED)
    assert event.actor == npt_officer
    assert event.detail == "Three shops on the street are affected."
    assert (event.from_tier, event.to_tier) == (1, 2)
    [email] = OutboundEmail.objects.filter(to=group_member.email)
    assert "Three shops on the street" in email.body_text
    assert email.subject.startswith(f"Escalated to you: {concern.reference}")


def test_an_officer_cannot_escalate_without_a_reason(client, chain, concern, npt_officer):
    client.force_login(npt_officer)

    response = client.post(triage_url(concern), {"escalate-reason": "   "})

    assert response.status_code == 400
    assert b"Give a reason for escalating." in response.content
    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.NPT
    assert not concern.events.exists()


def test_an_officer_of_another_npt_cannot_escalate_it(client, chain, concern, other_npt_officer):
    client.force_login(other_npt_officer)

    response = client.post(triage_url(concern), {"escalate-reason": "Not mine."})

    assert response.status_code == 404
    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.NPT


def test_the_admin_does_not_escalate_a_concern_that_already_moved(
    client, chain, business, npt_officer
):
    concern = concern_at_tier(business, Concern.Tier.GROUP)
    client.force_login(npt_officer)

    response = client.post(triage_url(concern), {"escalate-reason": "Again."})

    assert response.status_code == 400
    assert b"has moved since you opened it" in response.content
    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.GROUP


def test_the_admin_shows_the_tier_and_the_body_that_owns_it(client, chain, business, npt_officer):
    concern = concern_at_tier(business, Concern.Tier.GROUP)
    client.force_login(npt_officer)

    response = client.get(reverse("admin:engagement_concern_change", args=[concern.pk]))

    assert response.status_code == 200
    assert b"BCP Business Co-ordinating Group" in response.content
    # Nothing to settle from the NPT's admin once the group holds it: no tier-1 forms.
    assert b"they decide what happens next" in response.content
    assert b"Escalate to the Business Co-ordinating Group" not in response.content


def test_a_group_member_escalates_further_to_the_partnership(
    chain, business, group_member, partnership_member
):
    concern = concern_at_tier(business, Concern.Tier.GROUP)

    services.item_escalate(
        item=concern, actor=group_member, reason="Needs a county-wide answer.", from_tier=2
    )

    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.PARTNERSHIP
    assert concern.events.get(kind="escalated").actor == group_member
    [email] = OutboundEmail.objects.filter(to=partnership_member.email)
    assert "county-wide" in email.body_text


def test_nothing_is_above_the_partnership(chain, business, partnership_member):
    concern = concern_at_tier(business, Concern.Tier.PARTNERSHIP)

    with pytest.raises(ValidationError, match="top of the chain"):
        services.item_escalate(item=concern, actor=partnership_member, reason="Up?")


def test_it_returns_an_item_to_the_tier_below_with_guidance_and_a_fresh_deadline(
    chain, business, group_member, npt_officer, time_machine
):
    # A Tuesday afternoon, frozen: the fresh deadline is computed from the moment of the return.
    now = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
    time_machine.move_to(now, tick=False)
    concern = concern_at_tier(business, Concern.Tier.GROUP, assigned_officer=npt_officer)

    services.item_return(
        item=concern,
        actor=group_member,
        guidance="The council will move the bins; please visit the shop with the BID warden.",
        from_tier=2,
    )

    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.NPT
    due = deadlines.deadlines_for(tier=1, priority=concern.priority, start=now)
    assert concern.resolution_due_at == due["resolution_due_at"]
    # 20 working days at normal priority, Christmas Day and the Boxing Day substitute skipped.
    assert concern.resolution_due_at == dt.datetime(2026, 12, 31, 15, 0, tzinfo=dt.UTC)
    assert concern.first_response_due_at == due["first_response_due_at"]
    event = concern.events.get(kind=ConcernEvent.Kind.RETURNED)
    assert (event.from_tier, event.to_tier, event.actor) == (2, 1, group_member)
    assert "BID warden" in event.detail
    [email] = OutboundEmail.objects.filter(to=npt_officer.email)
    assert email.subject.startswith("Returned to you")
    assert "BID warden" in email.body_text


def test_it_needs_guidance_to_return_an_item(chain, business, group_member):
    concern = concern_at_tier(business, Concern.Tier.GROUP)

    with pytest.raises(ValidationError, match="guidance"):
        services.item_return(item=concern, actor=group_member, guidance="")


def test_it_refuses_to_move_an_item_with_an_outcome(chain, business, group_member):
    concern = concern_at_tier(business, Concern.Tier.GROUP, status=Concern.Status.RESOLVED)

    with pytest.raises(ValidationError, match="outcome"):
        services.item_escalate(item=concern, actor=group_member, reason="Up.")
    with pytest.raises(ValidationError, match="outcome"):
        services.item_return(item=concern, actor=group_member, guidance="Down.")


def test_the_partnership_refers_a_concern_to_a_national_body(
    chain, business, owner, partnership_member
):
    concern = concern_at_tier(business, Concern.Tier.PARTNERSHIP, reporter=owner)

    services.item_resolve(
        item=concern,
        actor=partnership_member,
        outcome=factories.outcome("referred-nbcc"),
        note="The same group is active in three counties.",
    )

    concern.refresh_from_db()
    assert concern.status == Concern.Status.RESOLVED
    assert concern.outcome.name == "Referred to the National Business Crime Centre"
    assert concern.events.get(kind="resolved").actor == partnership_member
    [email] = OutboundEmail.objects.filter(to=owner.email)
    assert "National Business Crime Centre" in email.body_text


@pytest.mark.parametrize(
    "slug", ["referred-nbcc", "referred-action-fraud", "referred-ncsc", "referred-national"]
)
def test_every_national_body_is_an_outcome(db, slug):
    assert factories.outcome(slug).is_active


def test_a_group_records_a_decision_with_actions_owners_and_due_dates(
    chain, business, group_member
):
    concern = concern_at_tier(business, Concern.Tier.GROUP)
    council = PartnerOrganisation.objects.get(slug="bcp-council")
    bids = PartnerOrganisation.objects.get(slug="bids")

    decision = services.decision_record(
        item=concern,
        actor=group_member,
        summary="Joint visit and better lighting in the service lane.",
        actions=[
            services.ActionSpec("Repair the lane lighting", council, dt.date(2026, 7, 1)),
            services.ActionSpec("Warden patrol at 4pm", bids, dt.date(2026, 6, 15), "Sam"),
        ],
    )

    assert decision.tier == Concern.Tier.GROUP
    assert decision.made_by == group_member
    assert [a.owner for a in decision.actions.order_by("due_on")] == [bids, council]
    event = concern.events.get(kind=ConcernEvent.Kind.DECISION)
    assert "2 action(s) agreed" in event.detail
    concern.refresh_from_db()
    assert concern.first_responded_at is not None  # the group's response at its tier


def test_an_action_is_completed_once_and_shows_on_the_timeline(chain, business, group_member):
    concern = concern_at_tier(business, Concern.Tier.GROUP)
    decision = services.decision_record(
        item=concern,
        actor=group_member,
        summary="Lighting.",
        actions=[
            services.ActionSpec(
                "Repair the lane lighting",
                PartnerOrganisation.objects.get(slug="bcp-council"),
                dt.date(2026, 7, 1),
            )
        ],
    )
    action = decision.actions.get()

    services.action_complete(action=action, actor=group_member, note="Done on 20 June.")
    services.action_complete(action=Action.objects.get(pk=action.pk), actor=group_member)

    action.refresh_from_db()
    assert action.is_done and action.completion_note == "Done on 20 June."
    assert concern.events.filter(kind=ConcernEvent.Kind.ACTION_DONE).count() == 1


def test_a_decision_needs_a_summary(chain, business, group_member):
    concern = concern_at_tier(business, Concern.Tier.GROUP)

    with pytest.raises(ValidationError):
        services.decision_record(item=concern, actor=group_member, summary=" ")


def test_a_theme_moves_and_records_decisions_like_a_concern(
    chain, area, group_member, partnership_member
):
    theme = factories.ThemeFactory(npt_area=area)

    services.decision_record(item=theme, actor=group_member, summary="Ask the Partnership.")
    services.item_escalate(item=theme, actor=group_member, reason="County-wide.", from_tier=2)
    services.item_return(item=theme, actor=partnership_member, guidance="Group to lead.")

    theme.refresh_from_db()
    assert theme.tier == Concern.Tier.GROUP
    kinds = list(theme.events.values_list("kind", flat=True))
    assert kinds == [ThemeEvent.Kind.DECISION, ThemeEvent.Kind.ESCALATED, ThemeEvent.Kind.RETURNED]
    assert theme.decisions.count() == 1
    assert Theme.objects.get(pk=theme.pk).status == Theme.Status.OPEN


@pytest.mark.parametrize(
    "tier, expected",
    [
        (1, "With the Poole Neighbourhood Policing Team"),
        (2, "With the BCP Business Co-ordinating Group, which brings police, councils"),
        (3, "With the Business Safety Partnership, which covers all of Dorset"),
    ],
)
def test_the_business_sees_in_plain_words_where_its_concern_is(
    client, chain, business, owner, tier, expected
):
    concern = concern_at_tier(business, tier, reporter=owner)
    client.force_login(owner)

    response = client.get(concern.get_absolute_url())

    assert expected in response.content.decode()


def test_the_business_sees_the_outcome_in_the_end(client, chain, business, owner, group_member):
    concern = concern_at_tier(business, Concern.Tier.GROUP, reporter=owner)
    services.item_resolve(
        item=concern, actor=group_member, outcome=factories.outcome("referred-action-fraud")
    )
    client.force_login(owner)

    response = client.get(concern.get_absolute_url())

    content = response.content.decode()
    assert "An outcome has been given" in content
    assert "Referred to Action Fraud / NFIB" in content
